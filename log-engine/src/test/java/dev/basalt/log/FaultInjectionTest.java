package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.testkit.FaultyFileLayer;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.log.testkit.TestBatches.Rec;
import dev.basalt.log.testkit.TestBatches.Stored;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disk full, fsync errors, failed renames (through {@link FaultyFileLayer}), and durable mode's
 * group commit. Each fault must give a typed exception and leave the log readable with every
 * acknowledged record present, also after a crash and recovery. Reproduce with
 * {@code ./mvnw -B -ntp -pl log-engine -am verify -Dtest=FaultInjectionTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class FaultInjectionTest {
    static final TopicPartition TP = new TopicPartition("faults", 0);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(1_000);
    FaultyFileLayer files = new FaultyFileLayer();
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "4096"));
    LogManager manager;

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    LogManager open() {
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), files);
        return manager;
    }

    static java.nio.ByteBuffer one(String v) {
        return TestBatches.batch(List.of(new Rec(1, "k", v)));
    }

    /**
     * A new partition whose creation fails after its first segment was opened (here the fsync of
     * its directory) closes that segment: its file would otherwise stay open, and its space held
     * once the directory is removed, until the process ends. The next attempt creates it whole.
     */
    @Test
    void aFailedPartitionCreation_closesTheSegmentItOpened() {
        open();
        Path partitionDir = dir.resolve(TP.dirName());
        files.failDirectoryFsyncOf(partitionDir);
        LogStorageException e = assertThrows(LogStorageException.class, () -> manager.getOrCreate(TP, config));
        assertTrue(e.getMessage().contains("cannot load partition directory"), e.getMessage());
        assertEquals(0, files.openFiles(), "the segment opened for the new partition was closed");
        assertFalse(java.nio.file.Files.exists(partitionDir), "the half-made directory was removed");
        files.failDirectoryFsyncOf(null);
        PartitionLog log = manager.getOrCreate(TP, config);
        assertEquals(0, log.appendAsLeader(one("v"), 1).firstOffset());
        assertEquals(1, files.openFiles());
    }

    @Test
    void diskFull_failsTheAppend_logStaysReadable_andRecoversWhenSpaceReturns() {
        PartitionLog log = open().getOrCreate(TP, config);
        for (int i = 0; i < 5; i++) {
            log.appendAsLeader(one("ok-" + i), 1);
        }
        List<Stored> acked = LogTestSupport.readAll(log, 0);
        files.diskFullAfter(20);
        LogStorageException e = assertThrows(LogStorageException.class, () -> log.appendAsLeader(one("lost"), 1));
        assertTrue(e.file().toString().endsWith(".log"), "names the segment file: " + e.file());
        assertFalse(e instanceof AppendRefusedException, "the write began: the producer cannot be told nothing was written");
        assertEquals(5, log.logEndOffset());
        assertEquals(acked, LogTestSupport.readAll(log, 0));
        // Issue 10: from now on appends fail fast (nothing written) and the replica is reported offline ...
        LogStorageException fast = assertThrows(AppendRefusedException.class, () -> log.appendAsLeader(one("refused"), 1));
        assertTrue(fast.getMessage().contains("refuses appends") && fast.getMessage().contains("disk full"), fast.getMessage());
        assertTrue(manager.offlinePartitions().get(TP).contains("disk full"));
        assertEquals(acked, LogTestSupport.readAll(log, 0), "reads keep working");
        files.diskHasSpace();
        // ... until the space check sees free space again (every 250 ms in production)
        manager.checkSpace();
        assertEquals(null, manager.noSpace());
        assertTrue(manager.offlinePartitions().isEmpty());
        assertEquals(5, log.appendAsLeader(one("after"), 1).firstOffset());
        // The garbage prefix of the failed write was overwritten; a crash + recovery keeps all acked data.
        LogTestHooks.crash(manager);
        PartitionLog reopened = open().get(TP);
        List<Stored> all = LogTestSupport.readAll(reopened, 0);
        assertEquals(6, all.size());
        assertEquals(acked, all.subList(0, 5));
        assertEquals("after", all.get(5).value());
    }

    @Test
    void fsyncFailure_takesTheLogOffline_neitherAppendingNorServing_andRecoveryKeepsAckedData() {
        config = config.withOverrides(Map.of(LogConfig.FLUSH_MESSAGES, "1"));
        PartitionLog log = open().getOrCreate(TP, config);
        log.appendAsLeader(one("durable-0"), 1);
        log.appendAsLeader(one("durable-1"), 1);
        files.failNextForces(1);
        LogStorageException unsure = assertThrows(LogStorageException.class, () -> log.appendAsLeader(one("unsure"), 1));
        assertFalse(unsure instanceof AppendRefusedException, "the failed fsync came after the write");
        LogStorageException offline = assertThrows(AppendRefusedException.class, () -> log.appendAsLeader(one("refused"), 1));
        assertTrue(offline.getMessage().contains("offline"), offline.getMessage());
        // Issue 10: an offline replica serves nothing (its leadership moves to a healthy replica).
        assertThrows(LogStorageException.class, () -> log.read(0, 1 << 20, Long.MAX_VALUE));
        assertTrue(log.isOffline() && log.offlineReason().contains("fsync"), log.offlineReason());
        LogTestHooks.crash(manager);
        List<Stored> recovered = LogTestSupport.readAll(open().get(TP), 0);
        assertEquals(List.of("durable-0", "durable-1"), recovered.subList(0, 2).stream().map(Stored::value).toList());
    }

    @Test
    void failedRenameDuringCompaction_keepsTheOriginalSegment() {
        config = config.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "compact"));
        PartitionLog log = open().getOrCreate(TP, config);
        for (int i = 0; i < 100; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k" + (i % 3), "v" + i))), 1);
        }
        log.roll();
        log.updateHighWatermark(log.logEndOffset());
        List<Stored> before = LogTestSupport.readAll(log, 0);
        files.failMoves(true);
        assertThrows(LogStorageException.class, () -> manager.compactOnce(TP, clock.millis()));
        assertEquals(before, LogTestSupport.readAll(log, 0));
        files.failMoves(false);
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertEquals(3, LogTestSupport.readAll(log, 0).size());
    }

    @Test
    void durableMode_groupCommit_oneFsyncCoversEveryAppendQueuedBehindTheCurrentOne() throws Exception {
        config = config.withOverrides(Map.of(LogConfig.FLUSH_MESSAGES, "1", LogConfig.SEGMENT_BYTES, "1048576"));
        PartitionLog log = open().getOrCreate(TP, config);
        CountDownLatch gate = new CountDownLatch(1);
        files.holdForcesUntil(gate);
        long forcesBefore = files.forceCount();
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        List<Thread> appenders = new ArrayList<>();
        int threads = 8;
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    AppendInfo info = log.appendAsLeader(one("t" + id), 1);
                    // Durable: acknowledged only once fsynced.
                    if (log.recoveryPoint() <= info.lastOffset()) {
                        throw new AssertionError("acked offset " + info.lastOffset() + " above recovery point "
                                + log.recoveryPoint());
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            th.start();
            appenders.add(th);
            if (t == 0) {
                // The first appender's fsync is in progress (held at the gate) before the others append.
                awaitCondition(() -> files.forcesWaiting() == 1);
            }
        }
        awaitCondition(() -> log.logEndOffset() == threads);
        gate.countDown();
        for (Thread th : appenders) {
            th.join();
        }
        assertEquals(List.of(), errors);
        // The first fsync covered offset 0 only; the next one covers the 7 appends queued behind it.
        assertEquals(2, files.forceCount() - forcesBefore);
        assertEquals(threads, log.recoveryPoint());
    }

    /** Bounded wait for another thread to reach a state (10 s, then the test fails). */
    private static void awaitCondition(java.util.function.BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 10_000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(1);
        }
        assertTrue(condition.getAsBoolean(), "condition not reached within 10 s");
    }

    @Test
    void flushMs_flushesOnlyWhenDue() {
        config = config.withOverrides(Map.of(LogConfig.FLUSH_MS, "1000"));
        PartitionLog log = open().getOrCreate(TP, config);
        log.appendAsLeader(one("a"), 1);
        assertEquals(0, log.recoveryPoint());
        clock.advance(999);
        assertEquals(0, manager.runFlushCheckOnce(clock.millis()));
        clock.advance(1);
        assertEquals(1, manager.runFlushCheckOnce(clock.millis()));
        assertEquals(1, log.recoveryPoint());
    }

    @Test
    void flushMessages_flushesEveryN() {
        config = config.withOverrides(Map.of(LogConfig.FLUSH_MESSAGES, "3"));
        PartitionLog log = open().getOrCreate(TP, config);
        log.appendAsLeader(one("a"), 1);
        log.appendAsLeader(one("b"), 1);
        assertEquals(0, log.recoveryPoint());
        log.appendAsLeader(one("c"), 1);
        assertEquals(3, log.recoveryPoint());
    }
}
