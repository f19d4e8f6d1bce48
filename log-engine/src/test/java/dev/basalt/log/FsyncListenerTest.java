package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.FsyncListener.Trigger;
import dev.basalt.log.testkit.FaultyFileLayer;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.log.testkit.TestBatches.Rec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: every fsync the log engine performs reaches {@link LogManager#onFsync} once, with what
 * asked for it (flush.messages, flush.ms, a roll, an explicit flush, a clean close) and a
 * duration covering the fsync; a flush with nothing to sync and a failed fsync report nothing.
 *
 * <p>Method: a {@link FaultyFileLayer} makes every fsync take at least {@value #FORCE_DELAY_MS}
 * ms, so the reported duration must be at least that; a manual clock drives flush.ms.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl log-engine -am verify -Dtest=FsyncListenerTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class FsyncListenerTest {
    static final TopicPartition TP = new TopicPartition("fsyncs", 0);
    static final long FORCE_DELAY_MS = 20;

    record Event(TopicPartition tp, Trigger trigger, int segments, long durationNanos) {
    }

    @TempDir
    Path dir;
    final ManualClock clock = new ManualClock(1_000);
    final FaultyFileLayer files = new FaultyFileLayer();
    final List<Event> events = new CopyOnWriteArrayList<>();
    LogManager manager;

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    PartitionLog open(Map<String, String> overrides) {
        LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "4096")).withOverrides(overrides);
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), files);
        manager.onFsync((tp, trigger, segments, nanos) -> events.add(new Event(tp, trigger, segments, nanos)));
        files.forceDelayMs(FORCE_DELAY_MS);
        return manager.getOrCreate(TP, config);
    }

    static java.nio.ByteBuffer one(String v) {
        return TestBatches.batch(List.of(new Rec(1, "k", v)));
    }

    private void assertOneEvent(Trigger trigger) {
        assertEquals(1, events.size(), "events: " + events);
        Event e = events.get(0);
        assertEquals(TP, e.tp());
        assertEquals(trigger, e.trigger());
        assertEquals(1, e.segments());
        assertTrue(e.durationNanos() >= FORCE_DELAY_MS * 1_000_000, "duration covers the fsync: " + e);
        events.clear();
    }

    @Test
    void flushMessages_reportsOneFsyncPerFlush() {
        PartitionLog log = open(Map.of(LogConfig.FLUSH_MESSAGES, "2"));
        log.appendAsLeader(one("a"), 1);
        assertEquals(List.of(), events, "no fsync before flush.messages records");
        log.appendAsLeader(one("b"), 1);
        assertOneEvent(Trigger.FLUSH_MESSAGES);
    }

    @Test
    void flushMs_reportsTheSchedulersFsync() {
        PartitionLog log = open(Map.of(LogConfig.FLUSH_MS, "1000"));
        log.appendAsLeader(one("a"), 1);
        clock.advance(999);
        assertEquals(0, manager.runFlushCheckOnce(clock.millis()));
        assertEquals(List.of(), events);
        clock.advance(1);
        assertEquals(1, manager.runFlushCheckOnce(clock.millis()));
        assertOneEvent(Trigger.FLUSH_MS);
    }

    @Test
    void explicitFlush_isReported_onlyWhenThereIsSomethingToSync() {
        PartitionLog log = open(Map.of());
        log.appendAsLeader(one("a"), 1);
        log.flush();
        assertOneEvent(Trigger.REQUESTED);
        log.flush(); // already durable: no fsync, nothing reported
        assertEquals(List.of(), events);
    }

    @Test
    void failedFsync_isNotReported() {
        PartitionLog log = open(Map.of());
        log.appendAsLeader(one("a"), 1);
        files.failNextForces(1);
        assertThrows(LogStorageException.class, log::flush);
        assertEquals(List.of(), events);
    }

    @Test
    void roll_reportsTheBackgroundFsyncOfTheSealedSegment() throws InterruptedException {
        PartitionLog log = open(Map.of());
        log.appendAsLeader(one("a"), 1);
        log.roll();
        assertEquals(2, log.segmentBaseOffsets().size());
        for (int i = 0; i < 10_000 && events.isEmpty(); i++) {
            Thread.sleep(1);
        }
        assertTrue(!events.isEmpty(), "the roll's fsync was reported within 10 s");
        Event e = events.get(0);
        assertEquals(Trigger.ROLL, e.trigger());
        assertTrue(e.durationNanos() >= FORCE_DELAY_MS * 1_000_000, e.toString());
    }

    @Test
    void cleanClose_reportsTheClosingFsync() {
        PartitionLog log = open(Map.of());
        log.appendAsLeader(one("a"), 1);
        manager.close();
        manager = null;
        assertTrue(events.stream().anyMatch(e -> e.trigger() == Trigger.CLOSE && e.tp().equals(TP)), "events: " + events);
    }
}
