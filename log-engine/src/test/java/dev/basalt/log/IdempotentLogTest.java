package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.producer.InvalidProducerEpochException;
import dev.basalt.log.producer.OutOfOrderSequenceException;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.record.Header;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The producer state inside a partition log (issue 11): a leader answers a retry with the original
 * offsets and writes nothing, refuses gaps and stale epochs before writing; a follower builds the
 * same state from what it replicates; truncation forgets truncated batches (their retry is written
 * again); the state survives a clean restart (snapshot) and a crash (snapshot at or below the
 * recovery point plus replay), also with the index's snapshots deleted; expiry forgets idle
 * producers. Reproduce with {@code ./mvnw -B -ntp -o -pl log-engine -am verify -Dtest=IdempotentLogTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class IdempotentLogTest {
    static final TopicPartition TP = new TopicPartition("idem", 0);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(5_000_000);
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "4096", LogConfig.INDEX_INTERVAL_BYTES, "300"));
    LogManager manager;

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    PartitionLog open(Path at) {
        manager = LogManager.open(at, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        return manager.getOrCreate(TP, config);
    }

    /** A batch of {@code count} records of producer {@code pid}/{@code epoch} starting at sequence {@code seq}. */
    static ByteBuffer batch(long pid, int epoch, int seq, int count, long timestamp) {
        ByteBuffer buf = ByteBuffer.allocate(RecordBatch.HEADER_SIZE_BYTES + count * 64);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, timestamp);
        for (int i = 0; i < count; i++) {
            b.tryAppend(timestamp, null, ("v" + (seq + i)).getBytes(StandardCharsets.UTF_8), List.<Header>of());
        }
        b.producer(pid, (short) epoch, seq);
        b.build();
        return buf.flip();
    }

    @Test
    void leader_retryOfAStoredBatch_isAnsweredWithItsOffsets_andWritesNothing() {
        PartitionLog log = open(dir);
        assertEquals(0, log.appendAsLeader(batch(7, 0, 0, 3, 1000), 1).firstOffset());
        assertEquals(3, log.appendAsLeader(batch(7, 0, 3, 2, 1001), 1).firstOffset());
        AppendInfo retry = log.appendAsLeader(batch(7, 0, 0, 3, 1000), 1);
        assertTrue(retry.duplicate());
        assertEquals(0, retry.firstOffset());
        assertEquals(2, retry.lastOffset());
        assertEquals(5, log.logEndOffset(), "nothing written for the retry");
        assertThrows(OutOfOrderSequenceException.class, () -> log.appendAsLeader(batch(7, 0, 9, 1, 1002), 1));
        assertThrows(InvalidProducerEpochException.class, () -> {
            log.appendAsLeader(batch(7, 1, 0, 1, 1003), 1); // bump to epoch 1 is fine ...
            log.appendAsLeader(batch(7, 0, 5, 1, 1004), 1); // ... then epoch 0 is stale
        });
        assertEquals(6, log.logEndOffset(), "only the epoch bump was written");
        assertEquals(1, log.producerStateSize());
    }

    @Test
    void follower_buildsTheSameState_byReplicating() {
        PartitionLog leader = open(dir.resolve("a"));
        for (int i = 0; i < 6; i++) {
            leader.appendAsLeader(batch(11, 0, i * 2, 2, 1000 + i), 1);
        }
        List<ByteBuffer> replicated = new java.util.ArrayList<>();
        try (FetchSlice s = leader.read(0, 1 << 20, Long.MAX_VALUE)) {
            ByteBuffer copy = ByteBuffer.allocate(s.sizeBytes());
            copy.put(s.records()).flip();
            replicated.add(copy);
        }
        LogManager leaderManager = manager;
        PartitionLog follower = open(dir.resolve("b"));
        follower.appendAsFollower(replicated.get(0));
        assertEquals(leader.producerState(11), follower.producerState(11));
        // the follower, become leader, recognises a retry the old leader accepted
        AppendInfo retry = follower.appendAsLeader(batch(11, 0, 8, 2, 1004), 2);
        assertTrue(retry.duplicate());
        assertEquals(8, retry.firstOffset());
        leaderManager.close();
    }

    @Test
    void truncation_forgetsTruncatedBatches_soTheirRetryIsWrittenAgain() {
        PartitionLog log = open(dir);
        log.appendAsLeader(batch(3, 0, 0, 1, 1000), 1);
        log.appendAsLeader(batch(3, 0, 1, 1, 1001), 1);
        log.appendAsLeader(batch(3, 0, 2, 1, 1002), 1);
        log.flush();
        assertEquals(1, log.truncateTo(1));
        AppendInfo again = log.appendAsLeader(batch(3, 0, 1, 1, 1001), 2);
        assertFalse(again.duplicate(), "the batch at offset 1 is gone: its retry must be written, not answered with offset 1");
        assertEquals(1, again.firstOffset());
        assertTrue(log.appendAsLeader(batch(3, 0, 0, 1, 1000), 2).duplicate(), "the kept batch is still recognised");
    }

    @Test
    void state_survivesACleanRestart_andACrash_fromSnapshotsAndReplay() {
        PartitionLog log = open(dir);
        // enough batches for several segments of 4 KiB, so snapshots are taken at rolls
        for (int i = 0; i < 200; i++) {
            log.appendAsLeader(batch(100 + (i % 4), 0, (i / 4) * 3, 3, 1000 + i), 1);
        }
        assertTrue(log.segmentBaseOffsets().size() > 3);
        log.flush();
        List<Long> snapshots = LogTestHooks.producerSnapshots(manager, TP);
        assertEquals(PartitionProducerState.SNAPSHOTS_KEPT, snapshots.size(), "one per rolled segment, the newest kept: " + snapshots);
        assertTrue(snapshots.get(snapshots.size() - 1) <= log.recoveryPoint(), "never ahead of the recovery point");
        var before = log.producerState(101);
        manager.close();
        manager = null;
        log = open(dir);
        assertEquals(before, log.producerState(101), "clean restart: from the snapshot at the end");
        for (int i = 200; i < 240; i++) {
            log.appendAsLeader(batch(100 + (i % 4), 0, (i / 4) * 3, 3, 1000 + i), 1);
        }
        log.flush();
        var beforeCrash = log.producerState(102);
        LogTestHooks.crash(manager);
        manager = null;
        log = open(dir);
        assertEquals(beforeCrash, log.producerState(102), "crash: snapshot at or below the recovery point plus replay");
        assertTrue(log.appendAsLeader(batch(103, 0, 59 * 3, 3, 1239), 2).duplicate());
        assertEquals(4, log.producerStateSize());
        // without any snapshot, the whole log is replayed to the same state
        LogTestHooks.deleteProducerSnapshots(manager, TP);
        LogTestHooks.crash(manager);
        manager = null;
        log = open(dir);
        assertEquals(beforeCrash, log.producerState(102), "rebuilt from the log alone");
    }

    /**
     * Retention that deletes the active segment too (an idle log past retention.ms) keeps the
     * producers' state across a crash: their next batch still follows their last sequence. Before,
     * the newest stored snapshot was from the deleted segment's start and nothing was left to
     * replay, so a producer that wrote there came back with an old sequence and was refused.
     */
    @Test
    void state_survivesACrashAfterRetentionEmptiedTheLog() {
        config = config.withOverrides(Map.of(LogConfig.RETENTION_MS, "60000"));
        PartitionLog log = open(dir);
        long t0 = clock.millis();
        log.appendAsLeader(batch(7, 0, 0, 3, t0), 1); // seq 0..2, in the first segment
        log.roll();
        log.appendAsLeader(batch(7, 0, 3, 3, t0), 1); // seq 3..5: the new segment's snapshot (at 3) knows 0..2
        log.appendAsLeader(batch(7, 0, 6, 3, t0), 1); // seq 6..8
        log.flush(); // the recovery point passes the snapshot at 3: it is stored
        log.updateHighWatermark(log.logEndOffset());
        clock.advance(120_000);
        assertEquals(2, manager.runRetentionOnce(clock.millis()), "both segments, the active one too");
        assertEquals(9, log.logStartOffset());
        LogTestHooks.crash(manager);
        manager = null;
        log = open(dir);
        assertEquals(9, log.logStartOffset());
        assertEquals(9, log.appendAsLeader(batch(7, 0, 9, 3, clock.millis()), 1).firstOffset(), "seq 9 follows 8");
        assertTrue(log.appendAsLeader(batch(7, 0, 9, 3, clock.millis()), 1).duplicate(), "its retry is a duplicate");
    }

    /**
     * Found probing: snapshots were listed with a RocksDB iterator at every store and the older ones
     * range-deleted; the deletions piled up until that seek took a follower's fetch thread whole.
     * The offsets are now kept in memory (read from the index once after a start) and old ones
     * deleted one by one: the index must still hold exactly the newest, across reopens and truncation.
     */
    @Test
    void snapshotRetention_keepsTheNewest_acrossAReopenAndATruncation() {
        PartitionLog log = open(dir);
        int seq = 0;
        for (int i = 0; i < 120; i++, seq += 3) {
            log.appendAsLeader(batch(7, 0, seq, 3, 1000 + i), 1);
        }
        log.flush();
        List<Long> first = LogTestHooks.producerSnapshots(manager, TP);
        assertEquals(PartitionProducerState.SNAPSHOTS_KEPT, first.size(), first.toString());
        manager.close(); // stores one more at the log end
        manager = null;
        log = open(dir);
        for (int i = 120; i < 240; i++, seq += 3) {
            log.appendAsLeader(batch(7, 0, seq, 3, 1000 + i), 1);
        }
        log.flush();
        List<Long> second = LogTestHooks.producerSnapshots(manager, TP);
        assertEquals(PartitionProducerState.SNAPSHOTS_KEPT, second.size(), second.toString());
        assertTrue(second.get(0) > first.get(first.size() - 1), "only snapshots taken after the reopen are left: " + first
                + " then " + second);
        List<Long> bases = log.segmentBaseOffsets();
        assertTrue(second.get(second.size() - 1) <= log.recoveryPoint() && second.get(second.size() - 1) >= bases.get(bases.size() - 2),
                "the newest is the last rolled segment's: " + second + ", segments " + bases);

        // a truncation below the newest drops the ones above it; new rolls then fill up to the limit again
        long cut = second.get(1);
        log.truncateTo(cut);
        assertEquals(second.subList(0, 2), LogTestHooks.producerSnapshots(manager, TP));
        seq = (int) cut; // each batch holds 3 records, so a batch sequence equals its base offset
        for (int i = 0; i < 120; i++, seq += 3) {
            log.appendAsLeader(batch(7, 0, seq, 3, 5000 + i), 2);
        }
        log.flush();
        List<Long> third = LogTestHooks.producerSnapshots(manager, TP);
        assertEquals(PartitionProducerState.SNAPSHOTS_KEPT, third.size(), third.toString());
        assertTrue(third.get(0) > cut, third.toString());
    }

    @Test
    void expiry_forgetsIdleProducers() {
        PartitionLog log = open(dir);
        log.appendAsLeader(batch(1, 0, 0, 1, 1_000), 1);
        log.appendAsLeader(batch(2, 0, 0, 1, 50_000), 1);
        assertEquals(1, log.removeExpiredProducers(60_000, 30_000));
        assertTrue(log.producerState(1).isEmpty());
        assertFalse(log.appendAsLeader(batch(1, 0, 0, 1, 1_000), 1).duplicate(),
                "an expired producer is unknown: its old batch is accepted as new (Kafka's rule)");
        assertEquals(3, LogTestSupport.readAll(log, 0).size());
    }
}
