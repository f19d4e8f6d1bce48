package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.log.testkit.TestBatches.Rec;
import dev.basalt.log.testkit.TestBatches.Stored;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention (retention.ms, retention.bytes: whole segments, below the high watermark, advancing
 * the log start offset) and compaction (latest record per key, tombstones after
 * delete.retention.ms, offsets kept) against a simple model, through run-once hooks at chosen
 * times. Reproduce with {@code ./mvnw -B -ntp -pl log-engine -am verify
 * -Dtest=RetentionAndCompactionTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class RetentionAndCompactionTest {
    static final TopicPartition TP = new TopicPartition("t", 0);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(10_000_000);
    LogConfig base = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "2048", LogConfig.INDEX_INTERVAL_BYTES, "200"));
    LogManager manager;

    @BeforeEach
    void open() {
        manager = LogManager.open(dir, base, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void retentionMs_deletesOnlyExpiredSealedSegments_belowHighWatermark() throws Exception {
        PartitionLog log = manager.getOrCreate(TP, base.withOverrides(Map.of(LogConfig.RETENTION_MS, "60000")));
        for (int i = 0; i < 100; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis() + i * 1000L, "k", "v" + i))), 1);
        }
        List<Long> segs = log.segmentBaseOffsets();
        assertTrue(segs.size() > 3);
        clock.advance(10 * 60_000);
        assertEquals(0, manager.runRetentionOnce(clock.millis()), "nothing below the high watermark");
        log.updateHighWatermark(log.logEndOffset());
        log.flush(); // waits out background roll flushes, which pin segments while they fsync
        int deleted = manager.runRetentionOnce(clock.millis());
        assertEquals(segs.size() - 1, deleted, "all but the active segment");
        assertEquals(segs.get(segs.size() - 1), log.logStartOffset());
        assertThrows(OffsetOutOfRangeException.class, () -> log.read(0, 100, Long.MAX_VALUE));
        assertEquals(100 - log.logStartOffset(), LogTestSupport.readAll(log, log.logStartOffset()).size());
        try (var files = Files.list(log.directory())) {
            assertEquals(1, files.count(), "deleted segment files are gone");
        }
    }

    @Test
    void retentionMs_keepsSegmentsWithRecentRecords() {
        PartitionLog log = manager.getOrCreate(TP, base.withOverrides(Map.of(LogConfig.RETENTION_MS, "60000")));
        for (int i = 0; i < 100; i++) {
            // the second half is recent
            long ts = i < 50 ? clock.millis() - 3_600_000 : clock.millis();
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(ts, "k", "v" + i))), 1);
        }
        log.updateHighWatermark(log.logEndOffset());
        manager.runRetentionOnce(clock.millis());
        assertTrue(log.logStartOffset() > 0 && log.logStartOffset() <= 50, "start " + log.logStartOffset());
        List<Stored> left = LogTestSupport.readAll(log, log.logStartOffset());
        assertEquals("v" + log.logStartOffset(), left.get(0).value());
    }

    @Test
    void retentionBytes_keepsTheLogUnderTheLimit() {
        PartitionLog log = manager.getOrCreate(TP, base.withOverrides(Map.of(LogConfig.RETENTION_BYTES, "5000")));
        for (int i = 0; i < 200; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k", "value-" + i))), 1);
        }
        log.updateHighWatermark(log.logEndOffset());
        long before = log.sizeBytes();
        assertTrue(manager.runRetentionOnce(clock.millis()) > 0);
        assertTrue(log.sizeBytes() >= 5000 - 2048 && log.sizeBytes() < before, "size " + log.sizeBytes());
        assertTrue(log.sizeBytes() - 2048 < 5000);
    }

    @Test
    void retention_neverAppliesUnderCompactOnly() {
        PartitionLog log = manager.getOrCreate(TP, base.withOverrides(Map.of(LogConfig.RETENTION_BYTES, "100",
                LogConfig.CLEANUP_POLICY, "compact")));
        for (int i = 0; i < 100; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k" + i, "v"))), 1);
        }
        log.updateHighWatermark(log.logEndOffset());
        assertEquals(0, manager.runRetentionOnce(clock.millis()));
        assertEquals(0, log.logStartOffset());
    }

    @Test
    void compaction_keepsLatestPerKey_dropsOldTombstones_keepsOffsets() {
        LogConfig cfg = base.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "compact", LogConfig.DELETE_RETENTION_MS, "1000"));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        SplittableRandom rnd = new SplittableRandom(42);
        Map<String, Stored> model = new LinkedHashMap<>();
        long offset = 0;
        for (int i = 0; i < 300; i++) {
            List<Rec> batch = new ArrayList<>();
            int n = 1 + rnd.nextInt(4);
            for (int j = 0; j < n; j++) {
                String key = "key-" + rnd.nextInt(25);
                String value = rnd.nextInt(10) == 0 ? null : "v" + i + "." + j;
                batch.add(new Rec(clock.millis(), key, value));
                model.remove(key);
                model.put(key, new Stored(offset++, clock.millis(), key, value));
            }
            log.appendAsLeader(TestBatches.batch(batch), 1);
        }
        log.roll();
        log.updateHighWatermark(log.logEndOffset());
        long sizeBefore = log.sizeBytes();
        // Tombstones are still young: they stay.
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertEquals(sorted(model.values()), LogTestSupport.readAll(log, 0));
        assertTrue(log.sizeBytes() < sizeBefore);
        // After delete.retention.ms the tombstones go too.
        clock.advance(1001);
        manager.compactOnce(TP, clock.millis());
        List<Stored> expected = sorted(model.values()).stream().filter(s -> s.value() != null).toList();
        assertEquals(expected, LogTestSupport.readAll(log, 0));
        // Offsets past the removed ones still read (gaps), appends continue after the old end.
        assertEquals(offset, log.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "x", "y"))), 1).firstOffset());
        // Survives a clean reopen and an index rebuild.
        manager.close();
        LogTestSupport.deleteRecursively(dir.resolve(LogManager.INDEX_DIR));
        manager = LogManager.open(dir, cfg, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        List<Stored> reread = LogTestSupport.readAll(manager.get(TP), 0);
        assertEquals(expected, reread.subList(0, reread.size() - 1));
        for (Stored s : expected) {
            try (FetchSlice slice = manager.get(TP).read(s.offset(), 1, Long.MAX_VALUE)) {
                assertTrue(TestBatches.decode(slice.records()).contains(s), "offset " + s.offset());
            }
        }
    }

    @Test
    void compaction_whileAppending_neverLosesAppendedRecords() throws Exception {
        LogConfig cfg = base.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "compact,delete"));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        for (int i = 0; i < 200; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k" + (i % 10), "v" + i))), 1);
        }
        log.updateHighWatermark(log.logEndOffset());
        Thread appender = new Thread(() -> {
            for (int i = 200; i < 400; i++) {
                log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k" + (i % 10), "v" + i))), 1);
            }
        });
        appender.start();
        manager.compactOnce(TP, clock.millis());
        appender.join();
        List<Stored> all = LogTestSupport.readAll(log, 0);
        // Everything appended after the high watermark is intact and in order.
        List<Stored> tail = all.stream().filter(s -> s.offset() >= 200).toList();
        assertEquals(200, tail.size());
        for (int i = 0; i < 200; i++) {
            assertEquals("v" + (200 + i), tail.get(i).value());
        }
    }

    private static List<Stored> sorted(java.util.Collection<Stored> values) {
        return values.stream().sorted(java.util.Comparator.comparingLong(Stored::offset)).toList();
    }
}
