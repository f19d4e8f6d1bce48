package dev.basalt.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.serialization.StringDeserializer;
import dev.basalt.client.testkit.FakeCluster;
import dev.basalt.client.testkit.FakeGroupService;
import dev.basalt.proto.v1.Assignment;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ConsumerGroupHeartbeatRequest;
import dev.basalt.proto.v1.ConsumerGroupHeartbeatResponse;
import dev.basalt.proto.v1.TopicPartitions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The consumer as a group member (KIP-848, the member's side) against a scripted coordinator
 * ({@link FakeGroupService}): what its heartbeats report as owned while the poll thread reconciles,
 * and {@link Consumer#enforceRebalance()}.
 *
 * <p>Method: the coordinator's answers are scripted, and the rebalance listener blocks on a latch,
 * so the member is held at an exact step of its reconciliation while its heartbeat thread goes on;
 * the assertions are about what the coordinator was told at that step (no sleeps decide an outcome;
 * waits are bounded latches). Reproduce: {@code ./mvnw -B -ntp -o -pl client -am verify
 * -Dtest=ConsumerGroupMemberTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ConsumerGroupMemberTest {
    private static final long WAIT_MS = 15_000;
    private FakeCluster cluster;
    private FakeGroupService groups;

    @BeforeEach
    void start() throws Exception {
        cluster = FakeCluster.start(1);
        cluster.createTopic("t", 2);
        groups = cluster.groups();
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private Consumer<String, String> member() {
        return member(Map.of());
    }

    private Consumer<String, String> member(Map<String, Object> overrides) {
        Map<String, Object> cfg = new HashMap<>(overrides);
        cfg.put("bootstrap.servers", cluster.bootstrap());
        cfg.put("group.id", "g");
        cfg.putIfAbsent("fetch.max.wait.ms", 50);
        cfg.putIfAbsent("retry.backoff.ms", 10);
        cfg.putIfAbsent("default.api.timeout.ms", 5_000);
        cfg.putIfAbsent("auto.offset.reset", "earliest");
        return new Consumer<>(cfg, new StringDeserializer(), new StringDeserializer());
    }

    private static Assignment assignment(int... partitions) {
        TopicPartitions.Builder t = TopicPartitions.newBuilder().setTopic("t");
        for (int p : partitions) {
            t.addPartitions(p);
        }
        return partitions.length == 0 ? Assignment.getDefaultInstance() : Assignment.newBuilder().addTopics(t).build();
    }

    private static ConsumerGroupHeartbeatResponse answer(ConsumerGroupHeartbeatRequest req, int epoch, Assignment a) {
        return ConsumerGroupHeartbeatResponse.newBuilder().setMemberId(req.getMemberId()).setMemberEpoch(epoch)
                .setHeartbeatIntervalMs(5).setAssignment(a).build();
    }

    private static boolean reports(ConsumerGroupHeartbeatRequest req, int partition) {
        return req.getOwned().getTopicsList().stream().anyMatch(t -> t.getTopic().equals("t") && t.getPartitionsList().contains(partition));
    }

    /**
     * KIP-848: "the coordinator assigns a partition to its new owner only once the previous owner's
     * heartbeat no longer lists it" — which is safe only if the member lists every partition it may
     * consume. Here the member is granted t-0 and, while its poll thread is still taking it (inside
     * onPartitionsAssigned), the coordinator revokes it. Heartbeats that keep flowing meanwhile must
     * still list t-0; the first one without it must come after onPartitionsRevoked. Before the fix the
     * member reported only what it had acknowledged, so the first heartbeat after the revocation
     * "confirmed" it while the member held t-0 (GroupWorkloadE2ETest: "events-9 assigned to m9 while
     * m8 owns it").
     */
    @Test
    void aPartitionBeingTaken_isReportedOwned_untilItIsRevoked() throws Exception {
        AtomicBoolean holds = new AtomicBoolean();
        AtomicBoolean revokeNow = new AtomicBoolean();
        AtomicReference<Boolean> confirmedWhileHeld = new AtomicReference<>();
        CountDownLatch inAssign = new CountDownLatch(1);
        CountDownLatch releaseAssign = new CountDownLatch(1);
        CountDownLatch confirmed = new CountDownLatch(1);
        AtomicBoolean revocationSent = new AtomicBoolean();
        groups.setCoordinator(req -> {
            if (req.getMemberEpoch() == 0 || !revokeNow.get()) {
                return answer(req, 1, assignment(0));
            }
            if (!revocationSent.getAndSet(true)) {
                return answer(req, 1, assignment()); // KIP-848: t-0 pending revocation, the member keeps epoch 1
            }
            if (confirmedWhileHeld.get() == null && !reports(req, 0)) {
                confirmedWhileHeld.set(holds.get()); // the coordinator would now give t-0 to another member
                confirmed.countDown();
            }
            return confirmedWhileHeld.get() != null ? answer(req, 2, assignment()) : answer(req, 1, assignment());
        });
        List<Throwable> errors = new ArrayList<>();
        AtomicBoolean running = new AtomicBoolean(true);
        Thread poller = new Thread(() -> {
            try (Consumer<String, String> c = member()) {
                c.subscribe(List.of("t"), new ConsumerRebalanceListener() {
                    @Override
                    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                        holds.set(false);
                    }

                    @Override
                    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                        holds.set(true);
                        inAssign.countDown();
                        try {
                            releaseAssign.await(WAIT_MS, TimeUnit.MILLISECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                });
                while (running.get()) {
                    c.poll(Duration.ofMillis(20));
                }
            } catch (Throwable t) {
                synchronized (errors) {
                    errors.add(t);
                }
            }
        }, "member-poll");
        poller.start();
        try {
            assertTrue(inAssign.await(WAIT_MS, TimeUnit.MILLISECONDS), "t-0 was never assigned");
            revokeNow.set(true);
            // the heartbeat thread goes on while the poll thread is held inside onPartitionsAssigned
            int seen = groups.heartbeats().size();
            assertTrue(groups.awaitHeartbeats(seen + 5, WAIT_MS), "heartbeats stopped");
            releaseAssign.countDown();
            assertTrue(confirmed.await(WAIT_MS, TimeUnit.MILLISECONDS), "the member never confirmed the revocation of t-0");
            assertFalse(confirmedWhileHeld.get(), "a heartbeat omitted t-0 while the member still held it (before onPartitionsRevoked)");
        } finally {
            releaseAssign.countDown();
            running.set(false);
            poller.join(WAIT_MS);
        }
        synchronized (errors) {
            assertEquals(List.of(), errors);
        }
    }

    /**
     * A revocation is acknowledged even when its commit fails: the listener still runs, the partition
     * is dropped and the next heartbeat confirms, so the coordinator does not wait forever; the poll
     * that revoked throws the commit's error.
     */
    @Test
    void aFailedRevocationCommit_stillRevokesAndConfirms() throws Exception {
        AtomicBoolean revokeNow = new AtomicBoolean();
        CountDownLatch confirmed = new CountDownLatch(1);
        groups.setCoordinator(req -> {
            if (req.getMemberEpoch() == 0 || !revokeNow.get()) {
                return answer(req, 1, assignment(0, 1));
            }
            if (!reports(req, 1)) {
                confirmed.countDown();
                return answer(req, 2, assignment(0));
            }
            return answer(req, 1, assignment(0));
        });
        List<TopicPartition> revoked = new ArrayList<>();
        try (Consumer<String, String> c = member()) {
            c.subscribe(List.of("t"), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    revoked.addAll(partitions);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                }
            });
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            while (c.assignment().size() < 2 && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(20));
            }
            assertEquals(2, c.assignment().size());
            c.position(new TopicPartition("t", 1)); // a position, so the revocation commits it
            groups.failCommits(true);
            revokeNow.set(true);
            BasaltException thrown = null;
            while (revoked.isEmpty() && System.nanoTime() < deadline) {
                try {
                    c.poll(Duration.ofMillis(20));
                } catch (BasaltException e) {
                    thrown = e;
                }
            }
            assertEquals(List.of(new TopicPartition("t", 1)), revoked);
            assertTrue(thrown instanceof CommitFailedException, "the revoking poll throws the commit failure: " + thrown);
            assertTrue(confirmed.await(WAIT_MS, TimeUnit.MILLISECONDS), "the revocation was never confirmed");
            assertEquals(java.util.Set.of(new TopicPartition("t", 0)), c.assignment());
            groups.failCommits(false);
        }
    }

    /**
     * Found probing: commitSync() before the first assignment sent an empty commit, which the
     * coordinator refused (GROUP_ID_NOT_FOUND, UNKNOWN_MEMBER_ID): CommitFailedException. As
     * Kafka's, a commit of nothing sends nothing.
     */
    /**
     * Found probing: with two of three nodes restarting, the coordinator's write to its offsets
     * partition failed NOT_ENOUGH_REPLICAS, the (then unmapped) code reached the member, and
     * poll() threw it. A retriable answer the group protocol does not list is asked again; a
     * non-retriable one still ends poll().
     */
    @Test
    void aRetriableHeartbeatAnswer_isAskedAgain_notThrownByPoll() throws Exception {
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        groups.setCoordinator(req -> refused.getAndIncrement() < 5
                ? ConsumerGroupHeartbeatResponse.newBuilder().setErrorCode(dev.basalt.proto.v1.ErrorCode.NOT_ENOUGH_REPLICAS)
                        .setErrorMessage("writing to __consumer_offsets-3: ISR [1] is smaller than min.insync.replicas=2").build()
                : answer(req, 1, assignment(0)));
        try (Consumer<String, String> c = member()) {
            c.subscribe(List.of("t"));
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            while (c.assignment().isEmpty() && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(50)); // must not throw
            }
            assertEquals(java.util.Set.of(new TopicPartition("t", 0)), c.assignment());
            assertTrue(refused.get() > 5, "asked again after the refusals: " + refused.get());
        }
        groups.setCoordinator(req -> ConsumerGroupHeartbeatResponse.newBuilder()
                .setErrorCode(dev.basalt.proto.v1.ErrorCode.GROUP_MAX_SIZE_REACHED).setErrorMessage("full").build());
        try (Consumer<String, String> c = member()) {
            c.subscribe(List.of("t"));
            assertThrows(dev.basalt.client.BasaltException.class, () -> {
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
                while (System.nanoTime() < deadline) {
                    c.poll(Duration.ofMillis(50));
                }
            }, "a non-retriable answer still ends poll()");
        }
    }

    /**
     * After a rebalance, the committed offsets of the partitions just assigned are looked up within
     * the poll's own timeout: with the coordinator holding OffsetFetch (paused, connection open),
     * polls of 50 ms stay short and the listener has run; the commit applies once it answers. Found
     * by review: reconcile looked them up synchronously for up to default.api.timeout.ms, so a
     * poll(50 ms) right after a rebalance blocked that long.
     */
    @Test
    void afterARebalance_pollsStayWithinTheirTimeout_whileTheCommittedLookupWaits() throws Exception {
        produce(0, 4);
        groups.commit("t", 0, 2);
        groups.setCoordinator(req -> answer(req, 1, assignment(0)));
        groups.holdCommitsOn(1);
        java.util.concurrent.atomic.AtomicBoolean assigned = new java.util.concurrent.atomic.AtomicBoolean();
        try (Consumer<String, String> c = member(Map.of("default.api.timeout.ms", 20_000))) {
            c.subscribe(List.of("t"), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
                    assigned.set(true);
                }
            });
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            long longestMs = 0;
            int polls = 0;
            while ((!assigned.get() || polls < 20) && System.nanoTime() < deadline) {
                long start = System.nanoTime();
                assertTrue(c.poll(Duration.ofMillis(50)).isEmpty(), "nothing is read before the commit is known");
                longestMs = Math.max(longestMs, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                polls += assigned.get() ? 1 : 0;
            }
            assertTrue(assigned.get(), "the listener ran while the lookup waits");
            assertTrue(longestMs < 2_000, "a poll(50 ms) took " + longestMs + " ms while OffsetFetch was held");
            groups.releaseCommits();
            assertEquals(2, firstOffsetPolled(c, WAIT_MS), "read from the commit once the coordinator answered");
        }
    }

    /**
     * A committed-offset lookup replaced by a newer one (the group added a partition while the
     * coordinator held the first lookup) is cancelled, not left waiting on the coordinator: at most
     * one lookup thread waits for it, and once it answers both partitions start at their commits.
     * Found by review: replaced lookups ran on for up to default.api.timeout.ms, each holding a
     * lookup thread, so a few assignment steps queued the next lookup behind them.
     */
    @Test
    void aReplacedCommittedLookup_isCancelled_andTheNewOnePositionsEveryPartition() throws Exception {
        produce(0, 4);
        produce(1, 4);
        groups.commit("t", 0, 1);
        groups.commit("t", 1, 3);
        java.util.concurrent.atomic.AtomicInteger epoch = new java.util.concurrent.atomic.AtomicInteger(1);
        groups.setCoordinator(req -> answer(req, epoch.get(), epoch.get() == 1 ? assignment(0) : assignment(0, 1)));
        groups.holdCommitsOn(1);
        try (Consumer<String, String> c = member(Map.of("default.api.timeout.ms", 20_000))) {
            c.subscribe(List.of("t"));
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            while (c.assignment().size() < 1 && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(20));
            }
            c.poll(Duration.ofMillis(100)); // the lookup for t-0 is in flight, held
            epoch.set(2); // the group adds t-1
            while (c.assignment().size() < 2 && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(20));
            }
            for (int i = 0; i < 10; i++) {
                c.poll(Duration.ofMillis(20)); // the lookup for both replaces the first
            }
            assertEquals(2, c.assignment().size());
            long waitingLookups = 0;
            for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); System.nanoTime() < until; ) {
                waitingLookups = Thread.getAllStackTraces().entrySet().stream()
                        .filter(e -> e.getKey().getName().equals("basalt-consumer-committed-lookup"))
                        .filter(e -> java.util.Arrays.stream(e.getValue()).anyMatch(f -> f.getMethodName().equals("awaitAtCoordinator")))
                        .count();
                if (waitingLookups <= 1) {
                    break;
                }
                Thread.sleep(20);
            }
            assertEquals(1, waitingLookups, "lookup threads waiting on the coordinator: the replaced one was not cancelled");
            groups.releaseCommits();
            java.util.Map<Integer, Long> first = new java.util.HashMap<>();
            while (first.size() < 2 && System.nanoTime() < deadline) {
                for (var r : c.poll(Duration.ofMillis(50))) {
                    first.putIfAbsent(r.partition(), r.offset());
                }
            }
            assertEquals(java.util.Map.of(0, 1L, 1, 3L), first, "each partition from its commit");
        }
    }

    /**
     * The group assigns a partition of a topic this member's metadata says does not exist (created
     * after the member last looked, or deleted and not yet revoked): polls go on without an error
     * past the grace, and the partition is read once the topic is there (GroupsCliE2ETest: consume
     * --group ended with "topic doomed does not exist" as its deleted topic was created again).
     */
    @Test
    void aPartitionOfATopicNotInTheMembersMetadata_doesNotFailPoll() throws Exception {
        groups.setCoordinator(req -> ConsumerGroupHeartbeatResponse.newBuilder().setMemberId("m").setMemberEpoch(1)
                .setHeartbeatIntervalMs(5).setAssignment(Assignment.newBuilder()
                        .addTopics(TopicPartitions.newBuilder().setTopic("u").addPartitions(0))).build());
        try (Consumer<String, String> c = member()) {
            c.subscribe(List.of("u"));
            long start = System.nanoTime();
            while (System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(Consumer.UNKNOWN_TOPIC_GRACE_MS + 1_000)) {
                assertTrue(c.poll(Duration.ofMillis(100)).isEmpty());
            }
            assertEquals(java.util.Set.of(new TopicPartition("u", 0)), c.assignment());
            cluster.createTopic("u", 1);
            try (dev.basalt.client.Producer<String, String> p = new dev.basalt.client.Producer<>(
                    Map.of("bootstrap.servers", cluster.bootstrap()), new dev.basalt.client.serialization.StringSerializer(),
                    new dev.basalt.client.serialization.StringSerializer())) {
                dev.basalt.client.Producer.await(p.send(new ProducerRecord<>("u", 0, "k", "u0")), Duration.ofSeconds(30));
            }
            List<String> got = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            while (got.isEmpty() && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(100)).forEach(r -> got.add(r.value()));
            }
            assertEquals(List.of("u0"), got);
        }
    }

    private void produce(int partition, int count) throws Exception {
        try (dev.basalt.client.Producer<String, String> p = new dev.basalt.client.Producer<>(
                Map.of("bootstrap.servers", cluster.bootstrap()), new dev.basalt.client.serialization.StringSerializer(),
                new dev.basalt.client.serialization.StringSerializer())) {
            for (int i = 0; i < count; i++) {
                dev.basalt.client.Producer.await(p.send(new ProducerRecord<>("t", partition, "k", "v" + i)), Duration.ofSeconds(30));
            }
        }
    }

    /** The offset of the first record polls return within the wait, or -1. */
    private static long firstOffsetPolled(Consumer<String, String> c, long waitMs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
        while (System.nanoTime() < deadline) {
            for (var r : c.poll(Duration.ofMillis(100))) {
                return r.offset();
            }
        }
        return -1;
    }

    /**
     * Found probing: when the committed-offset lookup of newly assigned partitions failed (a
     * coordinator outage longer than default.api.timeout.ms), poll threw once and the partitions
     * then started where auto.offset.reset said: with "latest", every record past the commit was
     * skipped. Now they stay unread, poll throws nothing, and the lookup is asked again until it
     * answers: reading starts at the commit.
     */
    @Test
    void aFailedCommittedLookup_leavesThePartitionUnread_untilTheCommitIsKnown() throws Exception {
        produce(0, 10);
        groups.commit("t", 0, 5);
        groups.setCoordinator(req -> answer(req, 1, assignment(0)));
        // about 1.5 s of COORDINATOR_NOT_AVAILABLE at a 10 ms back-off: several failed lookups of 150 ms
        groups.failOffsetFetches(java.util.Collections.nCopies(150, ErrorCode.COORDINATOR_NOT_AVAILABLE));
        try (Consumer<String, String> c = member(Map.of("auto.offset.reset", "latest", "default.api.timeout.ms", 150))) {
            c.subscribe(List.of("t"));
            long first = -1;
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            while (first < 0 && System.nanoTime() < deadline) {
                var records = c.poll(Duration.ofMillis(100)); // throws nothing meanwhile
                if (!records.isEmpty()) {
                    // the 151st lookup is the first answered: asked again after each failure, nothing read before
                    assertTrue(groups.offsetFetches() > 150, "read after " + groups.offsetFetches() + " lookups");
                    first = records.iterator().next().offset();
                }
            }
            assertEquals(5, first, "read from the committed offset (\"latest\" would have read nothing: 10 records, no more)");
        }
    }

    /** As Kafka's consumer: assign() with a group.id starts each new partition at the group's commit, if any. */
    @Test
    void assign_withAGroupId_startsAtTheCommittedOffsets() throws Exception {
        produce(0, 4);
        produce(1, 4);
        groups.commit("t", 1, 3);
        try (Consumer<String, String> c = member(Map.of("auto.offset.reset", "latest"))) {
            c.assign(List.of(new TopicPartition("t", 0), new TopicPartition("t", 1)));
            assertEquals(3, c.position(new TopicPartition("t", 1)), "the commit");
            assertEquals(4, c.position(new TopicPartition("t", 0)), "none committed: auto.offset.reset");
            c.assign(List.of(new TopicPartition("t", 1)));
            groups.commit("t", 1, 1);
            assertEquals(3, c.position(new TopicPartition("t", 1)), "a partition kept keeps its position");
            assertEquals(3, firstOffsetPolled(c, WAIT_MS));
        }
        try (Consumer<String, String> c = member(Map.of("auto.offset.reset", "latest"))) {
            c.assign(List.of(new TopicPartition("t", 1)));
            c.seek(new TopicPartition("t", 1), 0);
            assertEquals(0, firstOffsetPolled(c, WAIT_MS), "a seek before the first poll wins over the commit");
        }
    }

    /**
     * Found by review: the committed-offset lookup was bounded by each poll's timeout, so a loop of
     * poll(Duration.ZERO) sent lookups that could never be answered in time and never read. The
     * lookup now stays in flight across polls.
     */
    @Test
    void pollsOfZero_positionAtTheCommit_andPartitionsNeedingOnlyAResetAreReadMeanwhile() throws Exception {
        produce(0, 4);
        produce(1, 4);
        groups.commit("t", 1, 2);
        groups.holdCommitsOn(1); // OffsetFetch answers are held: the coordinator is slow
        try (Consumer<String, String> c = member(Map.of("auto.offset.reset", "latest"))) {
            TopicPartition t0 = new TopicPartition("t", 0);
            TopicPartition t1 = new TopicPartition("t", 1);
            c.assign(List.of(t0, t1));
            c.seekToBeginning(List.of(t0)); // needs only a reset: read while t-1 waits for its commit
            List<String> got = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            while (got.size() < 4 && System.nanoTime() < deadline) {
                c.poll(Duration.ZERO).forEach(r -> got.add(r.topic() + "-" + r.partition() + "@" + r.offset()));
                Thread.sleep(5);
            }
            assertEquals(List.of("t-0@0", "t-0@1", "t-0@2", "t-0@3"), got, "t-0 read while the lookup waits");
            groups.releaseCommits();
            long first = -1;
            while (first < 0 && System.nanoTime() < deadline) {
                for (var r : c.poll(Duration.ZERO)) {
                    first = r.offset();
                    assertEquals(1, r.partition());
                    break;
                }
                Thread.sleep(5);
            }
            assertEquals(2, first, "t-1 from its commit, by polls of zero");
        }
    }

    /**
     * Found by review: a lookup answered while nobody waited for it (the application had sought)
     * was later applied to the partition assigned again, which took "none committed" read before
     * the commit existed and started at "latest" past it. An answer applies only to the partition
     * state it was asked for.
     */
    @Test
    void anOldCommittedAnswer_isNotAppliedToThePartitionAssignedAgain() throws Exception {
        produce(0, 4);
        TopicPartition t0 = new TopicPartition("t", 0);
        try (Consumer<String, String> c = member(Map.of("auto.offset.reset", "latest"))) {
            c.assign(List.of(t0));
            c.poll(Duration.ZERO); // starts the lookup: nothing committed yet
            Thread.sleep(300); // it is answered ("none"), unread
            c.seek(t0, 0);
            groups.commit("t", 0, 3);
            c.assign(List.of());
            c.assign(List.of(t0)); // a new state, waiting for the commit now there
            assertEquals(3, firstOffsetPolled(c, WAIT_MS));
        }
    }

    @Test
    void commitSync_withNothingAssigned_sendsNothingAndSucceeds() {
        groups.setCoordinator(req -> answer(req, 1, assignment(0, 1)));
        groups.failCommits(true);
        try (Consumer<String, String> c = member()) {
            c.subscribe(List.of("t"));
            c.commitSync();
            c.commitSync(Map.of());
            assertEquals(0, groups.commits(), "no commit request");
        }
    }

    /**
     * A rebalance moves the member's epoch while a commitSync is on its way (the member keeps its
     * partitions): the coordinator answers STALE_MEMBER_EPOCH. Found probing: commitSync threw
     * CommitFailedException, which applications read as "partitions lost". It waits for the
     * heartbeat carrying the new epoch and commits again with it.
     */
    @Test
    void commitSync_refusedForAStaleEpoch_goesAgainWithTheNewEpoch() throws Exception {
        java.util.concurrent.atomic.AtomicInteger epoch = new java.util.concurrent.atomic.AtomicInteger(1);
        groups.setCoordinator(req -> answer(req, epoch.get(), assignment(0, 1)));
        try (Consumer<String, String> c = member()) {
            c.subscribe(List.of("t"));
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            while (c.assignment().size() < 2 && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(20));
            }
            assertEquals(2, c.assignment().size());
            groups.failCommits(true);
            Thread rebalance = new Thread(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    return;
                }
                epoch.set(2);
                groups.failCommits(false);
            });
            rebalance.start();
            c.commitSync(Map.of(new TopicPartition("t", 0), new OffsetAndMetadata(7)));
            rebalance.join();
            assertEquals(7L, groups.committed("t", 0), "committed with the new epoch");
        }
    }

    /**
     * Found probing: a consumer closed while its first (join) heartbeat was still on its way sent
     * its leave at once; the coordinator refused the leave (no such member yet), then created the
     * member from the join, and that member held every partition for the session timeout. The
     * leave now waits for the heartbeat in flight.
     */
    @Test
    void close_whileTheJoinIsInFlight_leavesAfterTheJoinIsAnswered() throws Exception {
        java.util.concurrent.CountDownLatch joinArrived = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean joinAnswered = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<Boolean> leaveAfterJoin = new java.util.concurrent.atomic.AtomicReference<>();
        groups.setBeforeHeartbeat(req -> {
            if (req.getMemberEpoch() == 0) {
                joinArrived.countDown();
                try {
                    Thread.sleep(500); // a coordinator busy for a moment; a leave may come meanwhile
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        groups.setCoordinator(req -> {
            if (req.getMemberEpoch() == -1) {
                leaveAfterJoin.compareAndSet(null, joinAnswered.get());
                return answer(req, -1, assignment());
            }
            if (req.getMemberEpoch() == 0) {
                joinAnswered.set(true);
            }
            return answer(req, 1, assignment(0, 1));
        });
        Consumer<String, String> c = member();
        c.subscribe(List.of("t"));
        assertTrue(joinArrived.await(WAIT_MS, TimeUnit.MILLISECONDS), "no join heartbeat");
        c.close();
        assertEquals(Boolean.TRUE, leaveAfterJoin.get(), "the leave reached the coordinator before the join was answered"
                + " (null: no leave at all)");
    }

    /**
     * Found probing: close() left the group before the commitAsync calls still queued were sent, so
     * the coordinator refused them (UNKNOWN_MEMBER_ID) and a restarted consumer read those records
     * again. They are sent before the leave now.
     */
    @Test
    void close_sendsQueuedAsyncCommits_beforeLeaving() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean left = new java.util.concurrent.atomic.AtomicBoolean();
        groups.setCoordinator(req -> {
            if (req.getMemberEpoch() == -1) {
                left.set(true);
            }
            return answer(req, req.getMemberEpoch() == -1 ? -1 : 1, assignment(0, 1));
        });
        groups.setCommitCheck(req -> {
            try {
                Thread.sleep(10); // commits take a moment, as over a network
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return left.get() ? ErrorCode.UNKNOWN_MEMBER_ID : ErrorCode.NONE;
        });
        java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        try (Consumer<String, String> c = member(Map.of("enable.auto.commit", false))) {
            c.subscribe(List.of("t"));
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            while (c.assignment().size() < 2 && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(20));
            }
            assertEquals(2, c.assignment().size());
            for (int i = 1; i <= 20; i++) {
                c.commitAsync(Map.of(new TopicPartition("t", 0), new OffsetAndMetadata(i)), (offsets, e) -> {
                    if (e != null) {
                        failed.incrementAndGet();
                    }
                });
            }
        }
        assertTrue(left.get(), "the member left");
        assertEquals(0, failed.get(), "async commits refused");
        assertEquals(20L, groups.committed("t", 0));
    }

    /**
     * {@link Consumer#enforceRebalance()} (Kafka's semantics): the member's next heartbeat — sent at
     * once, without waiting for poll — asks the coordinator for a new assignment; exactly one
     * heartbeat carries the request once it was answered.
     */
    @Test
    void enforceRebalance_asksOnTheNextHeartbeatOnce() throws Exception {
        groups.setCoordinator(req -> answer(req, 1, assignment(0, 1)));
        try (Consumer<String, String> c = member()) {
            assertThrows(IllegalStateException.class, c::enforceRebalance, "not subscribed");
            c.subscribe(List.of("t"));
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            while (c.assignment().size() < 2 && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(20));
            }
            assertEquals(2, c.assignment().size());
            assertEquals(0, groups.heartbeats().stream().filter(ConsumerGroupHeartbeatRequest::getRebalanceRequested).count());
            c.enforceRebalance();
            int seen = groups.heartbeats().size();
            // no poll: the heartbeat thread sends it
            assertTrue(groups.awaitHeartbeats(seen + 5, WAIT_MS));
            List<ConsumerGroupHeartbeatRequest> all = groups.heartbeats();
            assertEquals(1, all.stream().filter(ConsumerGroupHeartbeatRequest::getRebalanceRequested).count(),
                    "heartbeats asking for a rebalance");
            assertTrue(all.get(all.size() - 1).getMemberEpoch() == 1 && !all.get(all.size() - 1).getRebalanceRequested());
        }
    }

    /**
     * Kafka's poll timer (max.poll.interval.ms, KIP-62; KIP-848's consumer keeps it): an application
     * that stops calling poll is taken out of the group by the heartbeat thread — it sends a leave
     * (epoch -1) no earlier than max.poll.interval.ms after its last poll, then nothing until the
     * application polls again; a commit meanwhile is refused by the coordinator (the member is gone:
     * UNKNOWN_MEMBER_ID) and fails with CommitFailedException; the next poll reports the partitions
     * lost (not revoked: another member may have them) and rejoins with epoch 0.
     */
    @Test
    void noPollWithinMaxPollInterval_leavesTheGroup_commitFails_nextPollRejoins() throws Exception {
        int maxPollIntervalMs = 400;
        java.util.Set<String> left = java.util.concurrent.ConcurrentHashMap.newKeySet();
        groups.setCoordinator(req -> {
            if (req.getMemberEpoch() < 0) {
                left.add(req.getMemberId());
                return ConsumerGroupHeartbeatResponse.newBuilder().setMemberId(req.getMemberId()).setMemberEpoch(req.getMemberEpoch())
                        .build();
            }
            left.remove(req.getMemberId()); // epoch 0: a join
            return answer(req, req.getMemberEpoch() == 0 ? 7 : req.getMemberEpoch(), assignment(0, 1));
        });
        groups.setCommitCheck(req -> left.contains(req.getMemberId()) ? dev.basalt.proto.v1.ErrorCode.UNKNOWN_MEMBER_ID
                : dev.basalt.proto.v1.ErrorCode.NONE);
        List<String> callbacks = new java.util.concurrent.CopyOnWriteArrayList<>();
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("max.poll.interval.ms", maxPollIntervalMs);
        try (Consumer<String, String> c = member(cfg)) {
            c.subscribe(List.of("t"), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    callbacks.add("revoked " + partitions.size());
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    callbacks.add("assigned " + partitions.size());
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> partitions) {
                    callbacks.add("lost " + partitions.size());
                }
            });
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            long lastPollNanos = System.nanoTime(); // no later than the poll timer's last restart
            while (c.assignment().size() < 2 && System.nanoTime() < deadline) {
                lastPollNanos = System.nanoTime();
                c.poll(Duration.ofMillis(20));
            }
            assertEquals(2, c.assignment().size());
            // the application stops polling; heartbeats go on until the poll timer expires
            ConsumerGroupHeartbeatRequest leave = null;
            while (leave == null && System.nanoTime() < deadline) {
                leave = groups.heartbeats().stream().filter(h -> h.getMemberEpoch() == -1).findFirst().orElse(null);
                Thread.sleep(5);
            }
            long leftAfterMs = (System.nanoTime() - lastPollNanos) / 1_000_000;
            assertTrue(leave != null, "no leave heartbeat within " + WAIT_MS + " ms without polls");
            // the client's clock is System.nanoTime in whole ms: 1 ms of rounding
            assertTrue(leftAfterMs >= maxPollIntervalMs - 1, "left after " + leftAfterMs + " ms, before max.poll.interval.ms");
            assertEquals(c.memberId(), leave.getMemberId());
            int afterLeave = groups.heartbeats().size();
            Thread.sleep(200); // a stale member sends nothing more until the application polls
            assertEquals(afterLeave, groups.heartbeats().size(), "heartbeats after the leave: "
                    + groups.heartbeats().subList(afterLeave, groups.heartbeats().size()));
            assertEquals(2, c.assignment().size(), "the partitions are dropped by the next poll, on the application's thread");
            assertThrows(CommitFailedException.class, () -> c.commitSync(Map.of(new TopicPartition("t", 0), new OffsetAndMetadata(1))),
                    "a commit of a member that left is refused");
            assertEquals(List.of("assigned 2"), callbacks);
            // the next poll: partitions lost (not revoked), then a rejoin with epoch 0 and the assignment again
            while (callbacks.size() < 3 && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(20));
            }
            assertEquals(List.of("assigned 2", "lost 2", "assigned 2"), callbacks);
            List<ConsumerGroupHeartbeatRequest> all = groups.heartbeats();
            assertEquals(0, all.get(afterLeave).getMemberEpoch(), "the first heartbeat after the leave rejoins");
            assertEquals(2, c.assignment().size());
            c.commitSync(Map.of(new TopicPartition("t", 0), new OffsetAndMetadata(1))); // a member again: accepted
        }
    }
}
