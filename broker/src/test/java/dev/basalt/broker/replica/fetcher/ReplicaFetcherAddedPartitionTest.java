package dev.basalt.broker.replica.fetcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.broker.rpc.ReplicaRpc;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.OffsetForLeaderEpochResponse;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A partition this broker starts following from a leader it already fetches from (the leader of a
 * partition moved here, as when a broker is killed) is fetched at once, not after the fetch
 * already parked at that leader for other partitions has waited out replica.fetch.wait.max.ms.
 * The new leader's high watermark, and so every acks=all write to it (an offset commit at a group's
 * new coordinator, the coordinator's own load of the group), waits for that fetch. Found probing
 * coordinator failover: after a kill -9 of a group's coordinator, commits waited ~0.5-0.9 s at
 * the new coordinator for its follower to pick up the partition.
 *
 * <p>Real transport (the ReplicaFetchSession stream over in-process gRPC); the leader is a stub
 * that parks a fetch for its max_wait_ms, as the leader's purgatory does when nothing is new.
 */
class ReplicaFetcherAddedPartitionTest {
    /** Far longer than the test waits for the added partition: only an early end of the parked fetch passes. */
    private static final int FETCH_WAIT_MAX_MS = 10_000;

    @TempDir
    Path dir;

    @Test
    void aPartitionAddedWhileAFetchIsParkedAtItsLeaderIsFetchedAtOnce() throws Exception {
        LinkedBlockingQueue<Set<Integer>> requests = new LinkedBlockingQueue<>();
        try (Rig rig = new Rig((purgatory, req, respond) -> {
            requests.add(partitionsOf(req));
            // nothing new for anyone: parked for the request's whole wait, as the leader's purgatory does
            purgatory.schedule(() -> respond.accept(nothingNew(req)), req.getMaxWaitMs(), TimeUnit.MILLISECONDS);
        })) {
            LogManager logs = rig.logs;
            ReplicaFetcher fetcher = rig.fetcher;
            fetcher.start();
            fetcher.add(follower(logs, 0), 0);
            assertEquals(Set.of(0), requests.poll(10, TimeUnit.SECONDS), "the first fetch");
            Thread.sleep(200); // parked at the leader now

            long addedNanos = System.nanoTime();
            fetcher.add(follower(logs, 1), 0); // the leader of partition 1 moved to broker 1
            Set<Integer> next = requests.poll(5, TimeUnit.SECONDS);
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - addedNanos);
            assertNotNull(next, "no fetch for the added partition within 5 s: it waited for the parked fetch ("
                    + FETCH_WAIT_MAX_MS + " ms)");
            assertEquals(Set.of(0, 1), next, "the next fetch asks for both partitions");
            assertTrue(tookMs < 2_000, "the added partition was fetched " + tookMs + " ms after it was added");
            // Ending the parked fetch is not a failure of the leader: nothing is reported unreachable.
            assertEquals(0, fetcher.unreachableForMs(System.currentTimeMillis()));
        }
    }

    /**
     * The leader refuses the first fetch of a newly followed partition (UNKNOWN_LEADER_EPOCH: it has
     * not learnt of its leadership yet, the usual race right after a failover): the partition backs
     * off for replica.fetch.backoff.ms, and the fetch for the others that goes out meanwhile waits
     * at the leader no longer than that back-off, so the partition is asked for again when it ends
     * (found probing: a group's new coordinator loaded 530 ms after it became leader).
     */
    @Test
    void aPartitionBackingOffIsNotHeldByTheFetchForTheOthersParkedAtTheLeader() throws Exception {
        LinkedBlockingQueue<Set<Integer>> requests = new LinkedBlockingQueue<>();
        java.util.concurrent.atomic.AtomicBoolean refused = new java.util.concurrent.atomic.AtomicBoolean();
        try (Rig rig = new Rig((purgatory, req, respond) -> {
            Set<Integer> asked = partitionsOf(req);
            requests.add(asked);
            if (asked.contains(1) && refused.compareAndSet(false, true)) {
                ReplicaFetchResponse.Builder b = nothingNew(req).toBuilder();
                for (int i = 0; i < req.getPartitionsCount(); i++) {
                    if (req.getPartitions(i).getPartition() == 1) {
                        b.setPartitions(i, b.getPartitions(i).toBuilder().setErrorCode(ErrorCode.UNKNOWN_LEADER_EPOCH));
                    }
                }
                respond.accept(b.build());
                return;
            }
            purgatory.schedule(() -> respond.accept(nothingNew(req)), req.getMaxWaitMs(), TimeUnit.MILLISECONDS);
        })) {
            LogManager logs = rig.logs;
            ReplicaFetcher fetcher = rig.fetcher;
            fetcher.start();
            fetcher.add(follower(logs, 0), 0);
            assertEquals(Set.of(0), requests.poll(10, TimeUnit.SECONDS), "the first fetch");
            Thread.sleep(200);

            long addedNanos = System.nanoTime();
            fetcher.add(follower(logs, 1), 0);
            Set<Integer> refusedOne = requests.poll(5, TimeUnit.SECONDS);
            assertEquals(Set.of(0, 1), refusedOne, "the fetch the leader refuses for partition 1");
            Set<Integer> next;
            do {
                next = requests.poll(5, TimeUnit.SECONDS); // fetches for partition 0 alone while 1 backs off
            } while (next != null && !next.contains(1));
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - addedNanos);
            assertNotNull(next, "partition 1 not asked for again within 5 s of its refusal: it waited for the fetch parked for"
                    + " partition 0 (" + FETCH_WAIT_MAX_MS + " ms)");
            assertTrue(tookMs < 2_000, "partition 1 was asked for again " + tookMs + " ms after it was added (back-off 100 ms)");
        }
    }

    /**
     * A partition catching up for a reassignment that has used up its rate waits for the throttle's
     * next grant, but that wait does not cut the fetch for the others short: it parks at the leader
     * for replica.fetch.wait.max.ms as usual. Found by review: the grant's time capped the fetch's
     * wait, so beside a throttled reassignment (grants a millisecond or two apart) every fetch of
     * the ISR partitions became a poll.
     */
    @Test
    void aThrottledPartitionWaitingForItsRate_doesNotShortenTheOthersFetch() throws Exception {
        LinkedBlockingQueue<ReplicaFetchRequest> requests = new LinkedBlockingQueue<>();
        ReassignmentThrottle throttle = new ReassignmentThrottle();
        throttle.setRate(1); // its bucket starts empty: the first grant is 1 s away
        throttle.setThrottled(new TopicPartition("t", 1), true);
        java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
        try (Rig rig = new Rig(throttle, (purgatory, req, respond) -> {
            requests.add(req);
            if (first.getAndSet(false)) {
                respond.accept(nothingNew(req)); // answered at once: the next round starts while partition 1 still waits
                return;
            }
            purgatory.schedule(() -> respond.accept(nothingNew(req)), req.getMaxWaitMs(), TimeUnit.MILLISECONDS);
        })) {
            rig.fetcher.add(follower(rig.logs, 0), 0);
            rig.fetcher.add(follower(rig.logs, 1), 0);
            rig.fetcher.start();
            ReplicaFetchRequest one = requests.poll(10, TimeUnit.SECONDS);
            long firstNanos = System.nanoTime();
            assertNotNull(one, "no fetch within 10 s");
            assertEquals(Set.of(0), partitionsOf(one), "the throttled partition waits for its grant");
            ReplicaFetchRequest two = requests.poll(10, TimeUnit.SECONDS);
            assertNotNull(two, "no second fetch within 10 s");
            if (partitionsOf(two).equals(Set.of(0))) {
                assertEquals(FETCH_WAIT_MAX_MS, two.getMaxWaitMs(), "the fetch for the ISR partition parks as usual while"
                        + " the throttled one waits for its grant");
            } else {
                // only if this host took the second to its next round: the grant was due, nothing to show
                long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - firstNanos);
                assertTrue(tookMs >= 900, "partition 1 fetched " + tookMs + " ms into a 1 s throttle wait");
                assertEquals(Set.of(0, 1), partitionsOf(two));
            }
        }
    }

    /** How the stub leader answers a fetch; {@code purgatory} parks an answer as the leader's purgatory does. */
    @FunctionalInterface
    private interface StubLeader {
        void fetch(ScheduledExecutorService purgatory, ReplicaFetchRequest req, java.util.function.Consumer<ReplicaFetchResponse> respond);
    }

    /** The stub leader (broker 1) over in-process gRPC, and broker 2's fetcher of it (not started); closed together. */
    private final class Rig implements AutoCloseable {
        final LogManager logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(),
                FileLayer.DEFAULT);
        final ScheduledExecutorService purgatory = Executors.newSingleThreadScheduledExecutor();
        final Server server;
        final ManagedChannel channel;
        final ReplicaClient client;
        final ReplicaFetcher fetcher;

        Rig(StubLeader leader) throws java.io.IOException {
            this(new ReassignmentThrottle(), leader);
        }

        Rig(ReassignmentThrottle throttle, StubLeader leader) throws java.io.IOException {
            String name = InProcessServerBuilder.generateName();
            server = InProcessServerBuilder.forName(name).directExecutor().addService(ReplicaRpc.service(
                    (req, respond) -> leader.fetch(purgatory, req, respond),
                    req -> OffsetForLeaderEpochResponse.getDefaultInstance())).build().start();
            channel = InProcessChannelBuilder.forName(name).directExecutor().build();
            client = ReplicaRpc.clients(target -> channel).connect(1, "in-process", 0);
            ReplicaConfig config = new ReplicaConfig(2, Map.of(), 10_000, 1_000, FETCH_WAIT_MAX_MS, 10, 1, 1 << 20, 10 << 20, 100,
                    10_000, 5_000);
            fetcher = new ReplicaFetcher(2, 1, UUID::randomUUID, client, config, Clock.systemUTC(), p -> { }, throttle);
        }

        @Override
        public void close() {
            fetcher.close();
            client.close();
            channel.shutdownNow();
            server.shutdownNow();
            purgatory.shutdownNow();
            logs.close();
        }
    }

    private static Set<Integer> partitionsOf(ReplicaFetchRequest req) {
        return req.getPartitionsList().stream().map(ReplicaFetchRequest.PartitionData::getPartition).collect(Collectors.toSet());
    }

    /** A follower (broker 2) of broker 1 in leader epoch 0, empty. */
    private static Partition follower(LogManager logs, int p) {
        TopicPartition tp = new TopicPartition("t", p);
        Partition partition = new Partition(tp, "id", 2, logs.getOrCreate(tp, LogConfig.DEFAULT));
        partition.update(new Partition.State(1, 0, 0, List.of(1, 2), List.of(1, 2), 1, false), LogConfig.DEFAULT,
                System.currentTimeMillis());
        return partition;
    }

    private static ReplicaFetchResponse nothingNew(ReplicaFetchRequest req) {
        ReplicaFetchResponse.Builder b = ReplicaFetchResponse.newBuilder();
        for (ReplicaFetchRequest.PartitionData pd : req.getPartitionsList()) {
            b.addPartitions(ReplicaFetchResponse.PartitionResponse.newBuilder().setHighWatermark(pd.getFetchOffset())
                    .setLogEndOffset(pd.getFetchOffset()).setLogStartOffset(0));
        }
        return b.build();
    }
}
