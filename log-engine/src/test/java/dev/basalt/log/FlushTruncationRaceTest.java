package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.testkit.FaultyFileLayer;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.log.testkit.TestBatches.Rec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: a flush round never advances the recovery point over records appended after a truncation
 * that ran while the round's fsync was in progress. The round read the log end before the fsync;
 * if the log is cut below that end and appended again meanwhile, the new records are not
 * synced, and a recovery point above them would claim they are (after a crash that loses them the
 * node finds its log ending below its recovery point and takes the replica offline). Found by the
 * Jepsen-style suite's lost-unfsynced-all nemesis (seed 623434670790).
 *
 * <p>Method: the {@link FaultyFileLayer} holds the flusher's fsync at a gate; meanwhile the test
 * truncates the log and appends again, then opens the gate.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl log-engine -am verify -Dtest=FlushTruncationRaceTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class FlushTruncationRaceTest {
    static final TopicPartition TP = new TopicPartition("race", 0);

    @TempDir
    Path dir;
    final ManualClock clock = new ManualClock(1_000);
    final FaultyFileLayer files = new FaultyFileLayer();
    final ExecutorService flusher = Executors.newSingleThreadExecutor();
    LogManager manager;

    @AfterEach
    void close() {
        flusher.shutdownNow();
        if (manager != null) {
            manager.close();
        }
    }

    static java.nio.ByteBuffer one(String v) {
        return TestBatches.batch(List.of(new Rec(1, "k", v)));
    }

    @Test
    void truncationDuringFsync_recoveryPointStaysAtOrBelowTheCut() throws Exception {
        LogConfig config = LogConfig.parse(Map.of());
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), files);
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 5; i++) {
            log.appendAsLeader(one("a" + i), 1);
        }
        assertEquals(5, log.logEndOffset());

        CountDownLatch gate = new CountDownLatch(1);
        files.holdForcesUntil(gate);
        Future<?> round = flusher.submit(log::flush);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (files.forcesWaiting() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertEquals(1, files.forcesWaiting(), "the flush round is inside its fsync");

        // Later fsyncs (the truncation syncs its cut) pass; only the round's stays held.
        files.holdForcesUntil(null);
        log.truncateTo(3);
        log.appendAsLeader(one("b3"), 2);
        log.appendAsLeader(one("b4"), 2);
        assertEquals(5, log.logEndOffset());

        gate.countDown();
        round.get(10, TimeUnit.SECONDS);
        assertTrue(log.recoveryPoint() <= 3,
                "records 3-4 were appended after the cut, during the fsync, and are not synced; recovery point "
                        + log.recoveryPoint());

        log.flush();
        assertEquals(5, log.recoveryPoint(), "the next round syncs them");
    }
}
