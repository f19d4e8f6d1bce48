package dev.basalt.broker.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.replica.state.IsrChange;
import dev.basalt.log.FetchSlice;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.PartitionLog;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.index.LeaderEpochCache;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.record.Batches;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: a {@link Partition}'s role rules per leader epoch: the epoch check and the append are one
 * step (issue 9 §1: an epoch change between them once made the epoch cache drop the newer epoch),
 * a follower's append or truncation decided in an old epoch is refused, and clients' and
 * followers' leader epochs are fenced as fetch.proto and replica.proto promise.
 *
 * <p>Method: partitions over real logs in a temp dir; one concurrency test races appends against
 * epoch changes. Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=PartitionTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class PartitionTest {
    @TempDir
    Path dir;
    private LogManager logs;
    private Partition p;

    @BeforeEach
    void open() {
        logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        TopicPartition tp = new TopicPartition("t", 0);
        p = new Partition(tp, "id", 1, logs.getOrCreate(tp, LogConfig.DEFAULT));
    }

    @AfterEach
    void close() {
        logs.close();
    }

    private static Partition.State leader(int epoch, List<Integer> isr) {
        return new Partition.State(1, epoch, epoch, List.of(1, 2, 3), isr, 1, false);
    }

    private static Partition.State leaderAt(int epoch, int partitionEpoch, List<Integer> isr) {
        return new Partition.State(1, epoch, partitionEpoch, List.of(1, 2, 3), isr, 1, false);
    }

    private static Partition.State follower(int leaderId, int epoch) {
        return new Partition.State(leaderId, epoch, epoch, List.of(1, 2, 3), List.of(1, 2, 3), 1, false);
    }

    private static ByteBuffer batch() {
        ByteBuffer buf = ByteBuffer.allocate(256);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 0L);
        b.tryAppend(1L, "k".getBytes(), "v".getBytes(), List.of());
        return b.build().buffer();
    }

    private static List<RecordBatch> batches(PartitionLog log) {
        try (FetchSlice s = log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE)) {
            ByteBuffer copy = ByteBuffer.allocate(s.records().remaining());
            copy.put(s.records().duplicate()).flip();
            return Batches.parseStrict(copy, Integer.MAX_VALUE, Integer.MAX_VALUE);
        }
    }

    @Test
    void appendsRacingEpochChanges_areStampedWithTheEpochCheckedUnderTheSameLock() throws Exception {
        p.update(leader(0, List.of(1)), LogConfig.DEFAULT, 0);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        java.util.concurrent.CountDownLatch appending = new java.util.concurrent.CountDownLatch(1);
        Thread appender = new Thread(() -> {
            try {
                while (!stop.get()) {
                    assertEquals(ErrorCode.NONE, p.appendAsLeader(batch(), 1).error());
                    appending.countDown();
                }
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                appending.countDown();
            }
        });
        appender.start();
        // The epochs change while appends run: on a busy machine the thread could otherwise start
        // only after the 200 changes, leaving nothing to check (and an empty log to read back).
        assertTrue(appending.await(30, java.util.concurrent.TimeUnit.SECONDS), "the appender never appended");
        for (int epoch = 1; epoch <= 200; epoch++) {
            p.update(leader(epoch, List.of(1)), LogConfig.DEFAULT, epoch);
        }
        stop.set(true);
        appender.join();
        if (failure.get() != null) {
            throw new AssertionError("an append failed while epochs changed", failure.get());
        }
        // Every batch carries the epoch that covers its offset in the cache, and epochs never go back.
        List<LeaderEpochCache.EpochEntry> entries = p.log().epochEntries();
        int last = -1;
        for (RecordBatch b : batches(p.log())) {
            assertTrue(b.partitionLeaderEpoch() >= last, "epochs go back at offset " + b.baseOffset());
            last = b.partitionLeaderEpoch();
            int covering = -1;
            for (LeaderEpochCache.EpochEntry e : entries) {
                if (e.startOffset() <= b.baseOffset()) {
                    covering = e.epoch();
                }
            }
            assertEquals(covering, b.partitionLeaderEpoch(), "batch at " + b.baseOffset() + " vs cache " + entries);
        }
        assertEquals(200, p.log().latestEpoch());
    }

    @Test
    void appendAsLeader_refusedWhenNotLeader_andBelowMinIsrForAcksAll() {
        p.update(follower(2, 0), LogConfig.DEFAULT, 0);
        assertEquals(ErrorCode.NOT_LEADER, p.appendAsLeader(batch(), 1).error());
        p.update(new Partition.State(1, 1, 1, List.of(1, 2, 3), List.of(1), 2, false), LogConfig.DEFAULT, 0);
        assertEquals(ErrorCode.NOT_ENOUGH_REPLICAS, p.appendAsLeader(batch(), -1).error());
        assertEquals(0, p.log().logEndOffset(), "nothing appended");
        assertEquals(ErrorCode.NONE, p.appendAsLeader(batch(), 1).error(), "acks=1 does not need min ISR");
        Partition.AppendOutcome shrunk = p.appendAsLeader(batch(), -1);
        assertFalse(shrunk.message().contains("cannot succeed"), "replicas may rejoin: " + shrunk.message());
        // min.insync.replicas above the replica count: no ISR can ever satisfy it, and the answer says so.
        p.update(new Partition.State(1, 2, 2, List.of(1, 2), List.of(1, 2), 3, false), LogConfig.DEFAULT, 0);
        Partition.AppendOutcome hopeless = p.appendAsLeader(batch(), -1);
        assertEquals(ErrorCode.NOT_ENOUGH_REPLICAS, hopeless.error());
        assertTrue(hopeless.message().contains("min.insync.replicas=3, which is more than the partition's 2 replicas: acks=all"
                + " cannot succeed"), hopeless.message());
    }

    /**
     * Found probing with every replica's disk full: the ISR shrank to the leader, and acks=all
     * producers were told NOT_ENOUGH_REPLICAS, sending the operator to look at replication. A
     * leader whose own log refuses appends now says so first.
     */
    @Test
    void appendAsLeader_belowMinIsr_onAFullDisk_isRefusedForTheFullDisk() {
        p.update(new Partition.State(1, 1, 1, List.of(1, 2, 3), List.of(1), 2, false), LogConfig.DEFAULT, 0);
        assertEquals(ErrorCode.NOT_ENOUGH_REPLICAS, p.appendAsLeader(batch(), -1).error(), "space left: replication is the cause");
        logs.enforceFreeSpace(Long.MAX_VALUE / 4);
        logs.checkSpace();
        dev.basalt.log.AppendRefusedException e = org.junit.jupiter.api.Assertions.assertThrows(
                dev.basalt.log.AppendRefusedException.class, () -> p.appendAsLeader(batch(), -1));
        assertTrue(e.getMessage().contains("disk full"), e.getMessage());
        assertEquals(0, p.log().logEndOffset(), "nothing appended");
    }

    @Test
    void followerWorkDecidedInAnOldEpoch_isRefused() {
        p.update(follower(2, 3), LogConfig.DEFAULT, 0);
        p.update(follower(3, 4), LogConfig.DEFAULT, 0);
        assertNull(p.appendAsFollower(batch(), 3, 10, 0, 0), "the fetch was made in epoch 3; the partition follows epoch 4 now");
        assertFalse(p.truncateAsFollower(0, 3));
        assertEquals(0, p.log().logEndOffset());
        assertTrue(p.isFollowing(3, 4));
    }

    @Test
    void transitions_tellTheReplicaManagerWhatToStartOrStop() {
        assertEquals(Partition.Transition.BECAME_FOLLOWER, p.update(follower(2, 0), LogConfig.DEFAULT, 0));
        assertEquals(Partition.Transition.NONE, p.update(follower(2, 0), LogConfig.DEFAULT, 0));
        assertEquals(Partition.Transition.BECAME_FOLLOWER, p.update(follower(3, 1), LogConfig.DEFAULT, 0), "new leader: truncate again");
        assertEquals(Partition.Transition.BECAME_LEADER, p.update(leader(2, List.of(1, 2)), LogConfig.DEFAULT, 0));
        assertEquals(Partition.Transition.NONE, p.update(new Partition.State(1, 2, 3, List.of(1, 2, 3), List.of(1, 2, 3), 1, false),
                LogConfig.DEFAULT, 0), "an ISR change in the same epoch keeps the role");
        assertEquals(List.of(1, 2, 3), p.leaderIsr());
        assertEquals(Partition.Transition.BECAME_OFFLINE,
                p.update(new Partition.State(-1, 3, 4, List.of(1, 2, 3), List.of(1), 1, false), LogConfig.DEFAULT, 0));
    }

    @Test
    void clientLeaderEpoch_olderIsFenced_newerIsUnknown() {
        p.update(leader(5, List.of(1)), LogConfig.DEFAULT, 0);
        assertEquals(ErrorCode.FENCED_LEADER_EPOCH, p.checkClientLeaderEpoch(4));
        assertEquals(ErrorCode.UNKNOWN_LEADER_EPOCH, p.checkClientLeaderEpoch(6));
        assertEquals(ErrorCode.NONE, p.checkClientLeaderEpoch(5));
        assertEquals(ErrorCode.NONE, p.checkClientLeaderEpoch(-1), "absent: no check");
    }

    /**
     * Found probing: a follower that cannot append a batch (its CRC fails: the leader's bytes
     * rotted) asks again every second, and the leader, which does not check CRCs when serving,
     * kept sending it until its scrubber came by. A fetch that asks again for what it was sent
     * has its batches checked, and a bad one goes to the corruption handler.
     */
    @Test
    void followerAskingAgainForWhatItWasSent_getsItsBatchesChecked_andACorruptOneIsReported() throws Exception {
        java.util.concurrent.LinkedBlockingQueue<Long> found = new java.util.concurrent.LinkedBlockingQueue<>();
        logs.corruptionHandler((log, offset, e) -> found.add(offset));
        p.update(leader(5, List.of(1, 2, 3)), LogConfig.DEFAULT, 0);
        for (int i = 0; i < 3; i++) {
            p.appendAsLeader(batch(), 1);
        }
        p.readForFollower(2, 0, 0, 5, 1 << 20, 1).slice().close();
        p.readForFollower(2, 0, 0, 5, 1 << 20, 2).slice().close(); // asked again: checked, all good
        assertEquals(null, found.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS), "good batches are not reported");

        long size;
        try (FetchSlice all = p.log().read(0, 1 << 20, Long.MAX_VALUE)) {
            size = all.sizeBytes();
        }
        flipByte(size - 2); // inside the last batch's record: covered by its CRC
        p.readForFollower(2, 1, 1, 5, 1 << 20, 4).slice().close(); // a fetch from further on: sent, not checked
        assertEquals(null, found.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS), "a first send is not checked");
        p.readForFollower(2, 1, 1, 5, 1 << 20, 5).slice().close(); // the follower could not append it: asks again
        assertEquals(2L, found.poll(5, java.util.concurrent.TimeUnit.SECONDS), "the corrupt batch (offset 2) is reported");
    }

    /**
     * Found probing (bytes flipped in a leader's segment): consumers failed on the batch until the
     * scrubber reached it. A consumer that found a batch failing its CRC asks for a check; the
     * leader then checks what it would send, reports a bad batch, and does not send it.
     */
    @Test
    void aConsumerAskingForChecks_getsACorruptBatchReported_notSent() throws Exception {
        java.util.concurrent.LinkedBlockingQueue<Long> found = new java.util.concurrent.LinkedBlockingQueue<>();
        logs.corruptionHandler((log, offset, e) -> found.add(offset));
        p.update(leader(5, List.of(1)), LogConfig.DEFAULT, 0);
        for (int i = 0; i < 3; i++) {
            p.appendAsLeader(batch(), 1);
        }
        long size;
        try (FetchSlice checked = p.readForConsumer(0, 1 << 20, true)) {
            assertFalse(checked.isEmpty(), "good batches are sent after the check");
            size = checked.sizeBytes();
        }
        assertEquals(null, found.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS), "good batches are not reported");

        flipByte(size - 2); // inside the last batch's record: covered by its CRC
        try (FetchSlice unchecked = p.readForConsumer(0, 1 << 20, false)) {
            assertEquals(size, unchecked.sizeBytes(), "without the ask, batches are sent as stored");
        }
        assertEquals(null, found.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS));
        dev.basalt.log.CorruptLogException e = org.junit.jupiter.api.Assertions.assertThrows(dev.basalt.log.CorruptLogException.class,
                () -> p.readForConsumer(0, 1 << 20, true));
        assertTrue(e.getMessage().contains("batch at offset 2 is corrupt (a consumer found it failing its CRC"), e.getMessage());
        assertFalse(e.getMessage().contains("at byte -1"), "no made-up position: " + e.getMessage());
        assertEquals(2L, found.poll(5, java.util.concurrent.TimeUnit.SECONDS), "the corrupt batch (offset 2) is reported");
    }

    /** XORs one byte of t-0's segment at {@code position}. */
    private void flipByte(long position) throws java.io.IOException {
        Path segment;
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dir.resolve("t-0"))) {
            segment = files.filter(f -> f.toString().endsWith(".log")).findFirst().orElseThrow();
        }
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(segment.toFile(), "rw")) {
            raf.seek(position);
            int b = raf.read();
            raf.seek(position);
            raf.write(b ^ 0x5a);
        }
    }

    @Test
    void followerFetch_isFencedByEpochReplicaAndOffset() {
        p.update(leader(5, List.of(1, 2, 3)), LogConfig.DEFAULT, 0);
        p.appendAsLeader(batch(), 1);
        assertEquals(ErrorCode.FENCED_LEADER_EPOCH, p.readForFollower(2, 0, 0, 4, 1024, 1).error());
        assertEquals(ErrorCode.UNKNOWN_LEADER_EPOCH, p.readForFollower(2, 0, 0, 6, 1024, 1).error());
        assertEquals(ErrorCode.NOT_REPLICA, p.readForFollower(4, 0, 0, 5, 1024, 1).error());
        assertEquals(ErrorCode.OFFSET_OUT_OF_RANGE, p.readForFollower(2, 2, 0, 5, 1024, 1).error());
        Partition.FollowerRead ok = p.readForFollower(2, 0, 0, 5, 1024, 1);
        try (FetchSlice s = ok.slice()) {
            assertEquals(ErrorCode.NONE, ok.error());
            assertFalse(s.isEmpty(), "followers read past the HW");
            assertEquals(0, ok.highWatermark(), "follower 3 has not fetched: the HW waits");
        }
        Partition.OffsetForEpoch oe = p.endOffsetForFollower(2, 5, 5);
        assertEquals(ErrorCode.NONE, oe.error());
        assertEquals(1, oe.endOffset().endOffset());
    }

    /**
     * Where tombstones were removed reaches followers of compacted topics only: a log that lost
     * its stored state takes it as its whole length, and a topic that never compacts must not send
     * its lagging followers into a full refetch for that.
     */
    @Test
    void followerFetch_sendsWhereTombstonesWereRemoved_forCompactedTopicsOnly() {
        p.update(leader(5, List.of(1, 2, 3)), LogConfig.DEFAULT, 0);
        p.appendAsLeader(batch(), 1);
        p.appendAsLeader(batch(), 1);
        p.log().inheritTombstonesRemovedEnd(2);
        Partition.FollowerRead plain = p.readForFollower(2, 1, 1, 5, 1024, 1);
        plain.slice().close();
        assertEquals(0, plain.tombstonesRemovedEnd(), "cleanup.policy delete");
        p.update(leader(5, List.of(1, 2, 3)), LogConfig.DEFAULT.withOverrides(java.util.Map.of(LogConfig.CLEANUP_POLICY, "compact")), 0);
        Partition.FollowerRead compacted = p.readForFollower(2, 1, 1, 5, 1024, 1);
        compacted.slice().close();
        assertEquals(2, compacted.tombstonesRemovedEnd(), "cleanup.policy compact");
        p.log().inheritTombstonesRemovedEnd(50); // copied from an earlier leader further on
        Partition.FollowerRead capped = p.readForFollower(2, 1, 1, 5, 1024, 1);
        capped.slice().close();
        assertEquals(2, capped.tombstonesRemovedEnd(), "at most this log's end: a follower caught up with it lacks nothing");
    }

    /**
     * Found probing: every partition a reassignment was copying onto a new broker counted as
     * under-replicated (and so in basalt_partitions_under_replicated) for the whole copy; as in
     * Kafka, replicas still being added are not part of the replication factor.
     */
    @Test
    void leaderView_countsTheReplicationFactorWithoutReplicasBeingAdded() {
        p.update(new Partition.State(1, 5, 5, List.of(1, 2, 3, 4), List.of(1, 2, 3), 1, false), LogConfig.DEFAULT, 0);
        assertEquals(4, p.leaderView().replicationFactor(), "no reassignment: every replica counts");
        p.addingReplicas(1); // 4 is being added
        assertEquals(3, p.leaderView().replicationFactor());
        assertEquals(3, p.leaderView().isr());
    }

    /**
     * Found probing: a leader just elected showed every follower it had not heard from yet as lagging
     * by the whole log (a spike in basalt_topic_follower_lag_records at each election).
     */
    @Test
    void followerLag_ofAnUnheardIsrMember_isAtMostTheLogAboveTheHighWatermark() {
        p.update(leader(5, List.of(1, 2, 3)), LogConfig.DEFAULT, 0);
        for (int i = 0; i < 4; i++) {
            p.appendAsLeader(batch(), 1);
        }
        p.readForFollower(2, 4, 4, 5, 1024, 1).slice().close();
        p.readForFollower(3, 4, 4, 5, 1024, 1).slice().close();
        assertEquals(4, p.highWatermark());
        p.appendAsLeader(batch(), 1);
        p.update(leader(6, List.of(1, 2, 3)), LogConfig.DEFAULT, 4); // re-elected: nothing heard in epoch 6
        assertEquals(1, p.leaderView().followerLagRecordsMax(), "an ISR member held the HW (4) of 5");
        p.update(leader(7, List.of(1, 2)), LogConfig.DEFAULT, 4); // 3 out of the ISR: nothing known of it
        assertEquals(5, p.leaderView().followerLagRecordsMax());
    }

    /**
     * Found probing: after a broker restart, each fetch by another follower of an idle partition
     * proposed the restarted broker (its offsets from before it stopped still equalled the HW) before
     * it had fetched that partition again; the periodic check then dropped it for its old caught-up
     * time, and the ISR flapped every few hundred milliseconds. A fetch proposes only the replica
     * that made it.
     */
    @Test
    void followerFetch_proposesOnlyTheFetchingReplica_notOneWithStaleOffsets() {
        long t = 1_764_000_000_000L;
        p.update(leader(5, List.of(1, 2, 3)), LogConfig.DEFAULT, t);
        p.appendAsLeader(batch(), 1);
        p.readForFollower(2, 1, 1, 5, 1024, t).slice().close();
        p.readForFollower(3, 1, 1, 5, 1024, t).slice().close();
        assertEquals(1, p.highWatermark());
        p.update(leaderAt(5, 8, List.of(1, 2)), LogConfig.DEFAULT, t + 1); // 3 stopped: out of the ISR
        long later = t + 11_000; // 3 restarted, unfenced, and has not fetched this partition yet
        Partition.FollowerRead by2 = p.readForFollower(2, 1, 1, 5, 1024, later);
        by2.slice().close();
        assertEquals(Optional.empty(), by2.isrChange(), "3's offsets are 11 s old");
        assertEquals(Optional.empty(), p.maybeProposeIsrChange(later, 10_000), "nor does the periodic check propose it");
        Partition.FollowerRead by3 = p.readForFollower(3, 1, 1, 5, 1024, later + 100);
        by3.slice().close();
        IsrChange expand = by3.isrChange().orElseThrow();
        assertEquals(List.of(1, 2, 3), expand.newIsr());
        p.update(leaderAt(5, 9, List.of(1, 2, 3)), LogConfig.DEFAULT, later + 150);
        assertEquals(Optional.empty(), p.maybeProposeIsrChange(later + 200, 10_000), "no shrink right after it joined");
    }

    /**
     * A failed expansion's joiner is left to the periodic ISR check (which judges its lag and fences
     * it off); a follower fetch, which judges no lag, does not propose it again.
     */
    @Test
    void followerFetch_doesNotReproposeTheJoinerOfAFailedExpansion() {
        p.update(leader(5, List.of(1, 3)), LogConfig.DEFAULT, 0);
        p.appendAsLeader(batch(), 1);
        p.readForFollower(3, 1, 1, 5, 1024, 1).slice().close();
        Partition.FollowerRead first = p.readForFollower(2, 1, 1, 5, 1024, 2);
        first.slice().close();
        IsrChange expand = first.isrChange().orElseThrow();
        assertEquals(List.of(1, 2, 3), expand.newIsr());
        p.onIsrChangeResult(expand, null, 3, 0);
        Partition.FollowerRead again = p.readForFollower(2, 1, 1, 5, 1024, 4);
        again.slice().close();
        assertEquals(Optional.empty(), again.isrChange(), "left to the periodic check");
        assertEquals(Optional.of(expand), p.maybeProposeIsrChange(5, 10_000), "which retries it while the joiner keeps up");
    }

    /**
     * Found by the Jepsen-style suite (clock-jump): a failed ISR change's retry back-off set while
     * the clock was far ahead lasted until the clock came round again once stepped back. A back-off
     * set at a time later than now is over.
     */
    @Test
    void anIsrRetryBackoffSetBeforeTheClockSteppedBack_isOver() {
        long jumped = 1_000_000 + 513_000;
        p.update(leader(5, List.of(1, 3)), LogConfig.DEFAULT, jumped);
        p.appendAsLeader(batch(), 1);
        p.readForFollower(3, 1, 1, 5, 1024, jumped).slice().close();
        Partition.FollowerRead first = p.readForFollower(2, 1, 1, 5, 1024, jumped + 1);
        first.slice().close();
        IsrChange expand = first.isrChange().orElseThrow();
        p.onIsrChangeResult(expand, null, jumped + 2, 1_000);
        assertEquals(Optional.empty(), p.maybeProposeIsrChange(jumped + 3, 10_000), "backing off");
        assertEquals(Optional.of(expand), p.maybeProposeIsrChange(1_000_000, 10_000), "the clock stepped back: over");
    }

    /**
     * Records acknowledged while a topic was not durable may be unsynced; switching the topic to
     * durable acks flushes them at once, since after a crash the broker counts such a topic as
     * having lost nothing (it stays an eligible leader replica).
     */
    @Test
    void switchingToDurableAcksFlushesWhatWasAppendedBefore() {
        p.update(new Partition.State(1, 1, 1, List.of(1), List.of(1), 1, false), LogConfig.DEFAULT, 0);
        for (int i = 0; i < 5; i++) {
            assertEquals(ErrorCode.NONE, p.appendAsLeader(batch(), 1).error());
        }
        long end = p.log().logEndOffset();
        assertTrue(p.log().recoveryPoint() < end, "not durable: nothing flushed yet");
        p.update(new Partition.State(1, 1, 1, List.of(1), List.of(1), 1, true), LogConfig.DEFAULT, 0);
        assertEquals(end, p.log().recoveryPoint(), "flushed on the switch to durable acks");
    }

    /**
     * DeleteRecords' wait counts every replica the leadership could pass to: the ISR and the
     * eligible leader replicas (KIP-966), each at the log start its last fetch in this leadership
     * reported; a new leadership forgets the reports.
     */
    @Test
    void lowWatermark_isTheSmallestReportedLogStartOfTheIsrAndTheEligibleLeaderReplicas() {
        // acks=1 appends of 10 records, committed by followers 2 and 3 reporting their log ends.
        p.update(new Partition.State(1, 0, 0, List.of(1, 2, 3), List.of(1, 2, 3), 1, false), LogConfig.DEFAULT, 0);
        for (int i = 0; i < 10; i++) {
            assertEquals(ErrorCode.NONE, p.appendAsLeader(batch(), 1).error());
        }
        for (int f = 2; f <= 3; f++) {
            p.readForFollower(f, 10, 10, 0, 0, 1 << 20, 0).slice().close();
        }
        assertEquals(10, p.highWatermark());
        Partition.RecordDeletion d = p.deleteRecordsAsLeader(6);
        assertEquals(ErrorCode.NONE, d.error(), d.message());
        assertEquals(6, d.targetOffset());
        assertEquals(6, p.log().logStartOffset());
        assertEquals(0, p.lowWatermark(), "the followers still report 0");
        p.readForFollower(2, 10, 10, 6, 0, 1 << 20, 0).slice().close();
        assertEquals(0, p.lowWatermark(), "follower 3 still reports 0");
        assertTrue(p.readForFollower(3, 10, 10, 6, 0, 1 << 20, 0).followerStartMoved());
        assertEquals(6, p.lowWatermark());

        // The ISR shrank below min ISR (2) without 3: 3 is an eligible leader replica and still counts.
        assertEquals(ErrorCode.NONE, p.deleteRecordsAsLeader(8).error());
        p.update(new Partition.State(1, 0, 1, List.of(1, 2, 3), List.of(1), 2, false, List.of(3)), LogConfig.DEFAULT, 0);
        p.readForFollower(2, 10, 10, 8, 0, 1 << 20, 0).slice().close();
        assertEquals(6, p.lowWatermark(), "ELR member 3 has not followed");
        p.update(new Partition.State(1, 0, 2, List.of(1, 2, 3), List.of(1), 2, false, List.of()), LogConfig.DEFAULT, 0);
        assertEquals(8, p.lowWatermark(), "with 3 no longer eligible, only the leader counts");

        assertEquals(ErrorCode.OFFSET_OUT_OF_RANGE, p.deleteRecordsAsLeader(11).error(), "above the HW");
        assertEquals(10, p.deleteRecordsAsLeader(-1).targetOffset(), "-1 is the HW");
        p.update(new Partition.State(1, 1, 3, List.of(1, 2, 3), List.of(1, 2, 3), 1, false), LogConfig.DEFAULT, 0);
        assertEquals(0, p.lowWatermark(), "a new leadership has no reports yet");
        p.update(follower(2, 2), LogConfig.DEFAULT, 0);
        assertEquals(-1, p.lowWatermark(), "not the leader");
        assertEquals(ErrorCode.NOT_LEADER, p.deleteRecordsAsLeader(10).error());
    }

    /**
     * A follower whose empty log starts inside the leader's first batch (a deletion mid-batch while
     * it was behind) starts over at the batch's base and copies it whole, then takes the leader's
     * start; also when the leader's own start is at or below the batch's base (a leader elected
     * before it followed the deletion). A log that is not empty is left alone.
     */
    @Test
    void restartInsideBatchAsFollower_copiesTheStraddlingBatchWhole() {
        ByteBuffer ten = ByteBuffer.allocate(1024);
        RecordBatchBuilder b = new RecordBatchBuilder(ten, 0L);
        for (int i = 0; i < 10; i++) {
            assertTrue(b.tryAppend(1L, "k".getBytes(), ("v" + i).getBytes(), List.of()));
        }
        ByteBuffer batch = b.build().buffer();
        p.update(follower(2, 0), LogConfig.DEFAULT, 0);
        p.log().truncateFullyAndStartAt(5);
        assertNull(p.restartInsideBatchAsFollower(0, batch.duplicate(), 1, 10, 0, 0, 5), "another epoch: nothing done");
        assertNotNull(p.restartInsideBatchAsFollower(0, batch.duplicate(), 0, 10, 0, 0, 5));
        assertEquals(10, p.log().logEndOffset());
        assertEquals(5, p.log().logStartOffset(), "the leader's start again");
        assertNull(p.restartInsideBatchAsFollower(0, batch.duplicate(), 0, 10, 0, 0, 5), "not empty: left alone");

        p.log().truncateFullyAndStartAt(5);
        assertNotNull(p.restartInsideBatchAsFollower(0, batch.duplicate(), 0, 10, 0, 0, 0), "leader starting at the base");
        assertEquals(0, p.log().logStartOffset());
        assertEquals(10, p.log().logEndOffset());
    }
}
