package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.compaction.CleaningGate;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.log.testkit.TestBatches.Rec;
import dev.basalt.log.testkit.TestBatches.Stored;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When compaction runs a pass (min.cleanable.dirty.ratio, max.compaction.lag.ms, due tombstones):
 * before, every tick of the cleaner re-read every cleanable segment of every compacted log, so a
 * large idle compacted topic was read whole every log.cleaner.backoff.ms. Reproduce with
 * {@code ./mvnw -B -ntp -o -pl log-engine -am verify -Dtest=CompactionGateTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class CompactionGateTest {
    static final TopicPartition TP = new TopicPartition("t", 0);
    static final String PAD = "p".repeat(100);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(10_000_000);
    LogConfig compact = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "2048", LogConfig.INDEX_INTERVAL_BYTES, "200",
            LogConfig.CLEANUP_POLICY, "compact", LogConfig.DELETE_RETENTION_MS, "1000"));
    LogManager manager;

    @BeforeEach
    void open() {
        manager = LogManager.open(dir, compact, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
    }

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    /** Writes one record per key for keys {@code from..to-1}, one batch each, and makes all of it cleanable. */
    private void writeKeys(PartitionLog log, int from, int to, String tag) {
        for (int k = from; k < to; k++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k" + k, tag + PAD))), 1);
        }
        log.roll();
        log.updateHighWatermark(log.logEndOffset());
    }

    private static long countOfKey(PartitionLog log, String key) {
        return LogTestSupport.readAll(log, 0).stream().filter(s -> s.key().equals(key)).count();
    }

    @Test
    void aLittleNewData_waitsForTheDirtyRatio_andEnoughIsCleaned() {
        PartitionLog log = manager.getOrCreate(TP, compact); // default ratio 0.5
        writeKeys(log, 0, 40, "a");
        manager.compactOnce(TP, clock.millis());
        assertEquals(1, log.compactionPasses(), "a log nothing has cleaned since it opened is cleaned at its first tick");
        long cleanedEnd = log.cleaningMemory().cleanedEndOffset();
        assertEquals(40, cleanedEnd, "everything cleanable was covered");

        writeKeys(log, 0, 5, "b"); // 5 of 45 records dirty
        assertEquals(0, manager.compactOnce(TP, clock.millis()));
        assertEquals(1, log.compactionPasses());
        assertEquals(1, log.compactionPassesSkipped());
        assertEquals(2, countOfKey(log, "k0"), "the superseded value waits for the ratio");

        writeKeys(log, 0, 40, "c"); // 45 of 85 dirty: past half
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertEquals(2, log.compactionPasses());
        assertEquals(1, countOfKey(log, "k0"));
        assertEquals(40, LogTestSupport.readAll(log, 0).size(), "one record per key: every superseded value went");
        assertTrue(LogTestSupport.readAll(log, 0).stream().allMatch(s -> s.value().startsWith("c")));
        assertEquals(85, log.cleaningMemory().cleanedEndOffset());

        assertEquals(0, manager.compactOnce(TP, clock.millis()), "nothing written since: no pass");
        assertEquals(2, log.compactionPasses());
    }

    /**
     * The last pass's memory survives a clean restart (as Kafka's cleaner-offset-checkpoint):
     * before, a log opened with nothing known to be clean, so the first tick after every restart
     * re-read and rewrote every compacted log whole. After a crash the log is cleaned whole again
     * (its recovery may have cut it, and the memory is not kept in any state but a clean close's).
     */
    @Test
    void theLastPassesMemory_survivesACleanRestart_butNotACrash() {
        PartitionLog log = manager.getOrCreate(TP, compact);
        writeKeys(log, 0, 40, "a");
        manager.compactOnce(TP, clock.millis());
        assertEquals(1, log.compactionPasses());
        writeKeys(log, 0, 1, "t"); // 1 of 41 dirty: below the ratio, the pass waits
        CleaningGate.Memory before = log.cleaningMemory();
        assertEquals(40, before.cleanedEndOffset());

        manager.close();
        manager = LogManager.open(dir, compact, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        PartitionLog reopened = manager.get(TP);
        assertEquals(before, reopened.cleaningMemory(), "what the last pass left, kept across the clean restart");
        assertEquals(null, manager.index().readCleaningCheckpoint(TP.dirName()), "a checkpoint serves the next open only");
        assertEquals(0, manager.compactOnce(TP, clock.millis()), "nothing to clean but the one dirty record");
        assertEquals(0, reopened.compactionPasses());
        assertEquals(1, reopened.compactionPassesSkipped());

        // a crash: the next open recovers the log and knows nothing clean
        manager.crash();
        manager = LogManager.open(dir, compact, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        PartitionLog recovered = manager.get(TP);
        assertEquals(CleaningGate.Memory.NONE, recovered.cleaningMemory());
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0, "a log recovered after a crash is cleaned whole");
        assertEquals(1, countOfKey(recovered, "k0"));
    }

    /**
     * A checkpoint names the partition and the log end of the close that wrote it: one that does not
     * match the state the open loads (a leftover, another creation of the partition) is not
     * trusted, and the log is cleaned whole.
     */
    @Test
    void aCheckpointOfAnotherClose_isNotTrusted() {
        PartitionLog log = manager.getOrCreate(TP, compact);
        writeKeys(log, 0, 40, "a");
        manager.compactOnce(TP, clock.millis());
        writeKeys(log, 0, 1, "t");
        long partitionId = log.partitionId();
        long end = log.logEndOffset();
        manager.close();
        // replace the close's own checkpoint by one of another close (its log end differs)
        dev.basalt.log.index.IndexStore index = dev.basalt.log.index.IndexStore.open(dir.resolve(LogManager.INDEX_DIR));
        try {
            index.saveCleaningCheckpoint(TP.dirName(),
                    new dev.basalt.log.index.CleaningCheckpoint(partitionId, end - 1, 40, Long.MAX_VALUE, Long.MAX_VALUE));
            index.syncWal();
        } finally {
            index.close();
        }
        manager = LogManager.open(dir, compact, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        assertEquals(CleaningGate.Memory.NONE, manager.get(TP).cleaningMemory(), "closed at another log end: not this close's");
    }

    @Test
    void cleaningCheckpoint_roundTrips_andRefusesWhatCannotBeOne() {
        var c = new dev.basalt.log.index.CleaningCheckpoint(7, 120, 100, 5_000_000L, Long.MAX_VALUE);
        assertEquals(c, dev.basalt.log.index.CleaningCheckpoint.decode(c.encode()));
        assertThrows(IllegalStateException.class, () -> dev.basalt.log.index.CleaningCheckpoint.decode(new byte[40]));
        byte[] past = new dev.basalt.log.index.CleaningCheckpoint(7, 120, 121, 0, Long.MAX_VALUE).encode();
        assertThrows(IllegalStateException.class, () -> dev.basalt.log.index.CleaningCheckpoint.decode(past),
                "a cleaned end past the log end");
    }

    @Test
    void aRatioOfZero_cleansAnyDirtySegment_butAnIdleLogIsNotReRead() {
        LogConfig cfg = compact.withOverrides(Map.of(LogConfig.MIN_CLEANABLE_DIRTY_RATIO, "0"));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        writeKeys(log, 0, 40, "a");
        manager.compactOnce(TP, clock.millis());
        writeKeys(log, 0, 1, "b");
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertEquals(1, countOfKey(log, "k0"));
        for (int i = 0; i < 5; i++) {
            manager.compactOnce(TP, clock.millis());
        }
        assertEquals(2, log.compactionPasses());
        assertEquals(5, log.compactionPassesSkipped());
    }

    @Test
    void maxCompactionLag_cleansASmallDirtySegment_onceItsFirstRecordIsThatOld() {
        LogConfig cfg = compact.withOverrides(Map.of(LogConfig.MAX_COMPACTION_LAG_MS, "60000"));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        writeKeys(log, 0, 40, "a");
        manager.compactOnce(TP, clock.millis());
        writeKeys(log, 0, 1, "b");
        clock.advance(59_999);
        manager.compactOnce(TP, clock.millis());
        assertEquals(2, countOfKey(log, "k0"), "below the ratio, and not yet max.compaction.lag.ms old");
        clock.advance(1);
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertEquals(1, countOfKey(log, "k0"), "max.compaction.lag.ms after it was written, whatever the ratio");
    }

    /** Review finding: segments roll only on an append, so an idle topic's active segment was never compacted. */
    @Test
    void maxCompactionLag_sealsAnIdleActiveSegment_andCleansIt() {
        LogConfig cfg = compact.withOverrides(Map.of(LogConfig.MAX_COMPACTION_LAG_MS, "60000"));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k", "1"))), 1);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k", "2"))), 1);
        log.updateHighWatermark(log.logEndOffset());
        manager.compactOnce(TP, clock.millis());
        assertEquals(2, countOfKey(log, "k"), "young, and in the active segment");
        clock.advance(60_000);
        manager.compactOnce(TP, clock.millis());
        assertEquals(List.of(0L, 2L), log.segmentBaseOffsets(), "sealed; a new active segment at the log end");
        assertEquals(List.of(new Stored(1, 10_000_000, "k", "2")), LogTestSupport.readAll(log, 0));
        assertEquals(2, log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k", "3"))), 1).firstOffset());
    }

    /**
     * Review finding: the key map was built from the log's first cleanable segment on, so a log
     * with more keys than the map holds had the same first segments cleaned on every pass and the
     * rest never. As in Kafka's cleaner, the map holds the dirty segments' keys, and each pass
     * takes the next stretch.
     */
    @Test
    void moreKeysThanTheMapHolds_areCleanedAStretchPerPass() {
        manager.close();
        manager = LogManager.open(dir, compact, clock, new LogManagerOptions(2, 2, 300_000, 15_000, 1_000, 5_000, 15, false,
                60_000), FileLayer.DEFAULT);
        PartitionLog log = manager.getOrCreate(TP, compact.withOverrides(Map.of(LogConfig.MIN_CLEANABLE_DIRTY_RATIO, "0")));
        writeKeys(log, 0, 40, "a");
        writeKeys(log, 0, 40, "b");
        assertTrue(log.segmentBaseOffsets().size() > 6, "many segments: " + log.segmentBaseOffsets());
        for (int pass = 0; pass < 30 && LogTestSupport.readAll(log, 0).size() > 40; pass++) {
            manager.compactOnce(TP, clock.millis());
        }
        List<Stored> left = LogTestSupport.readAll(log, 0);
        assertEquals(40, left.size(), "every superseded value went, 15 keys of map at a time");
        assertTrue(left.stream().allMatch(r -> r.value().startsWith("b")));
        long passes = log.compactionPasses();
        manager.compactOnce(TP, clock.millis());
        assertEquals(passes, log.compactionPasses(), "and then nothing is dirty");
    }

    @Test
    void maxCompactionLag_rollsTheActiveSegment_ofACompactedTopicOnly() {
        LogConfig lag = compact.withOverrides(Map.of(LogConfig.MAX_COMPACTION_LAG_MS, "1000"));
        PartitionLog log = manager.getOrCreate(TP, lag);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k", "1"))), 1);
        clock.advance(1000);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k", "2"))), 1);
        assertEquals(List.of(0L, 1L), log.segmentBaseOffsets(), "rolled after max.compaction.lag.ms, before segment.ms");

        TopicPartition other = new TopicPartition("d", 0);
        PartitionLog delete = manager.getOrCreate(other, lag.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "delete")));
        delete.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k", "1"))), 1);
        clock.advance(1000);
        delete.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k", "2"))), 1);
        assertEquals(List.of(0L), delete.segmentBaseOffsets(), "a delete topic rolls on segment.ms alone");
    }

    @Test
    void aKeptTombstone_goesAtItsHorizon_withNothingDirty() {
        LogConfig cfg = compact.withOverrides(Map.of(LogConfig.MIN_CLEANABLE_DIRTY_RATIO, "1"));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        long now = clock.millis();
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", "1"))), 1);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", null))), 1);
        writeKeys(log, 0, 10, "x");
        manager.compactOnce(TP, now);
        assertEquals(List.of(new Stored(1, now, "a", null)), LogTestSupport.readAll(log, 0).subList(0, 1));
        assertEquals(now + 1000, log.cleaningMemory().tombstoneDueMs());
        clock.advance(999);
        manager.compactOnce(TP, clock.millis());
        assertEquals(1, log.compactionPasses(), "not due yet, and nothing dirty");
        clock.advance(1);
        manager.compactOnce(TP, clock.millis());
        assertEquals(2, log.compactionPasses());
        assertEquals(0, countOfKey(log, "a"), "the deletion outlived delete.retention.ms by no more than a tick");
        assertEquals(Long.MAX_VALUE, log.cleaningMemory().tombstoneDueMs());
    }

    @Test
    void aTombstoneHeldForAReplica_isTakenUpWhenTheReplicaHasIt_notEveryTickBefore() {
        PartitionLog log = manager.getOrCreate(TP, compact);
        log.tombstoneBoundOffset(0);
        long now = clock.millis();
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", "1"))), 1);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", null))), 1);
        writeKeys(log, 0, 10, "x");
        manager.compactOnce(TP, now);
        clock.advance(5000);
        manager.compactOnce(TP, clock.millis()); // due: kept, as offset 1 is not held by every replica
        assertEquals(2, log.compactionPasses());
        assertEquals(1, log.cleaningMemory().tombstoneHeldFromOffset());
        assertEquals(1, countOfKey(log, "a"));
        for (int i = 0; i < 3; i++) {
            manager.compactOnce(TP, clock.millis());
        }
        log.tombstoneBoundOffset(1);
        manager.compactOnce(TP, clock.millis());
        assertEquals(2, log.compactionPasses(), "no pass while the bound stays at or below the tombstone");
        log.tombstoneBoundOffset(2);
        manager.compactOnce(TP, clock.millis());
        assertEquals(3, log.compactionPasses());
        assertEquals(0, countOfKey(log, "a"));
    }

    @Test
    void truncationBelowTheCleanedEnd_makesWhatFollowsDirty_andACleanRestartKeepsWhatThePassAfterLeft() {
        PartitionLog log = manager.getOrCreate(TP, compact);
        writeKeys(log, 0, 40, "a");
        manager.compactOnce(TP, clock.millis());
        assertEquals(40, log.cleaningMemory().cleanedEndOffset());
        log.truncateTo(30);
        long activeBase = log.segmentBaseOffsets().get(log.segmentBaseOffsets().size() - 1);
        assertTrue(activeBase < 30, "the cut segment takes appends again: " + log.segmentBaseOffsets());
        assertEquals(activeBase, log.cleaningMemory().cleanedEndOffset(), "none of the segment appended to again counts as clean");
        writeKeys(log, 0, 30, "b"); // 30 of 60 dirty
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertEquals(30, LogTestSupport.readAll(log, 0).size());

        manager.close();
        manager = LogManager.open(dir, compact, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        PartitionLog reopened = manager.get(TP);
        assertEquals(60, reopened.cleaningMemory().cleanedEndOffset(), "the pass after the truncation, kept by the clean close");
        manager.compactOnce(TP, clock.millis());
        assertEquals(0, reopened.compactionPasses(), "nothing written since that pass");
    }

    @Test
    void theCleanerThread_countsItsPasses_andLeavesAnIdleLogAlone() throws Exception {
        manager.close();
        // every 10 ms, on the manager's own scheduler, as a node runs it
        manager = LogManager.open(dir, compact, clock, new LogManagerOptions(2, 2, 300_000, 10, 1_000, 5_000, 1_000_000, true,
                60_000), FileLayer.DEFAULT);
        PartitionLog log = manager.getOrCreate(TP, compact.withOverrides(Map.of(LogConfig.MIN_CLEANABLE_DIRTY_RATIO, "0")));
        writeKeys(log, 0, 40, "a");
        writeKeys(log, 0, 40, "b");
        long deadline = System.nanoTime() + 10_000_000_000L;
        // the counters are added once a log's tick returns, just after its last swap
        while ((LogTestSupport.readAll(log, 0).size() > 40 || manager.compactionProgress()[1] == 0) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(40, LogTestSupport.readAll(log, 0).size(), "the cleaner compacted the log to one record per key");
        long passes = manager.compactionProgress()[0];
        assertTrue(passes >= 1 && manager.compactionProgress()[1] > 0, "counted: " + java.util.Arrays.toString(manager.compactionProgress()));
        Thread.sleep(300); // some 30 ticks with nothing written
        assertEquals(passes, manager.compactionProgress()[0], "an idle compacted log is not passed over again");
    }

    @Test
    void config_refusesABadRatio_andAMaxLagBelowTheMinLag() {
        for (String bad : List.of("-0.1", "1.01", "NaN", "half", "")) {
            InvalidConfigException e = assertThrows(InvalidConfigException.class,
                    () -> compact.withOverrides(Map.of(LogConfig.MIN_CLEANABLE_DIRTY_RATIO, bad)), bad);
            assertTrue(e.getMessage().contains(LogConfig.MIN_CLEANABLE_DIRTY_RATIO), e.getMessage());
        }
        assertThrows(InvalidConfigException.class, () -> compact.withOverrides(Map.of(LogConfig.MAX_COMPACTION_LAG_MS, "0")));
        InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> compact.withOverrides(
                Map.of(LogConfig.MIN_COMPACTION_LAG_MS, "5000", LogConfig.MAX_COMPACTION_LAG_MS, "4000")).checkRules());
        assertTrue(e.getMessage().contains("min.compaction.lag.ms"), e.getMessage());
        LogConfig ok = compact.withOverrides(Map.of(LogConfig.MIN_CLEANABLE_DIRTY_RATIO, "0.25", LogConfig.MAX_COMPACTION_LAG_MS, "9000"));
        assertEquals(0.25, ok.minCleanableDirtyRatio());
        assertEquals(ok, LogConfig.parse(ok.toMap()), "round-trips through its string form");
        assertEquals(0.5, LogConfig.DEFAULT.minCleanableDirtyRatio(), "Kafka's default");
        assertEquals(Long.MAX_VALUE, LogConfig.DEFAULT.maxCompactionLagMs());
        List<String> keys = new ArrayList<>(LogConfig.DEFAULT.toMap().keySet());
        assertTrue(keys.containsAll(List.of(LogConfig.MIN_CLEANABLE_DIRTY_RATIO, LogConfig.MAX_COMPACTION_LAG_MS)));
    }
}
