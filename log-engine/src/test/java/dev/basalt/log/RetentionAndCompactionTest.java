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
import dev.basalt.record.RecordBatch;
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
        long activeBase = segs.get(segs.size() - 1);
        log.updateHighWatermark(activeBase + 1); // every sealed segment below it, the active one not wholly
        log.flush(); // waits out background roll flushes, which pin segments while they fsync
        int deleted = manager.runRetentionOnce(clock.millis());
        assertEquals(segs.size() - 1, deleted, "all but the active segment, which holds records above the high watermark");
        assertEquals(activeBase, log.logStartOffset());
        assertThrows(OffsetOutOfRangeException.class, () -> log.read(0, 100, Long.MAX_VALUE));
        assertEquals(100 - log.logStartOffset(), LogTestSupport.readAll(log, log.logStartOffset()).size());
        try (var files = Files.list(log.directory())) {
            assertEquals(1, files.count(), "deleted segment files are gone");
        }
        // Found probing: an idle partition kept its last segment for good (segments roll only on an
        // append). Once the whole log is below the high watermark the expired active segment goes
        // too, replaced by an empty one at the log end, as in Kafka.
        log.updateHighWatermark(log.logEndOffset());
        assertEquals(1, manager.runRetentionOnce(clock.millis()), "the idle active segment");
        assertEquals(100, log.logStartOffset());
        assertEquals(100, log.logEndOffset());
        assertEquals(List.of(100L), log.segmentBaseOffsets());
        assertEquals(List.of(), LogTestSupport.readAll(log, 100));
        try (var files = Files.list(log.directory())) {
            assertEquals(List.of(dev.basalt.log.segment.Segment.fileName(100)), files.map(f -> f.getFileName().toString()).toList());
        }
        assertEquals(0, manager.runRetentionOnce(clock.millis()), "an empty active segment is never rolled for retention");
        assertEquals(100, log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k", "after"))), 1).firstOffset());
        manager.close();
        manager = LogManager.open(dir, base, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        assertEquals(100, manager.get(TP).logStartOffset(), "the emptied log's start survives a restart");
        assertEquals(101, manager.get(TP).logEndOffset());
    }

    /** Retention by size may take the active segment too, once the whole log is below the high watermark. */
    @Test
    void retentionBytesZero_emptiesAnIdleLog_butNotPastTheHighWatermark() {
        PartitionLog log = manager.getOrCreate(TP, base.withOverrides(Map.of(LogConfig.RETENTION_BYTES, "0")));
        for (int i = 0; i < 30; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k", "v" + i))), 1);
        }
        log.updateHighWatermark(29);
        log.flush();
        manager.runRetentionOnce(clock.millis());
        assertTrue(log.logStartOffset() < 29 && LogTestSupport.readAll(log, log.logStartOffset()).size() >= 1,
                "the active segment holds offset 29, above the high watermark: it stays");
        log.updateHighWatermark(30);
        manager.runRetentionOnce(clock.millis());
        assertEquals(30, log.logStartOffset());
        assertEquals(30, log.logEndOffset());
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
    void compaction_tombstoneWithAnOldTimestamp_livesDeleteRetentionAfterTheCleanerFirstKeepsIt() {
        long retentionMs = 60_000;
        LogConfig cfg = base.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "compact",
                LogConfig.DELETE_RETENTION_MS, Long.toString(retentionMs)));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        long now = clock.millis();
        long monthAgo = now - 30L * 24 * 3600 * 1000; // a producer whose clock is a month behind
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", "1"), new Rec(now + 1, "b", "1"))), 1);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(monthAgo, "a", null), new Rec(now + 2, "c", "1"))), 1);
        log.roll();
        log.updateHighWatermark(log.logEndOffset());
        List<Stored> afterFirst = List.of(new Stored(1, now + 1, "b", "1"), new Stored(2, monthAgo, "a", null),
                new Stored(3, now + 2, "c", "1"));

        // The first pass removes the superseded "a" but keeps the tombstone, however old its
        // timestamp, and writes the horizon into its batch; timestamps read back unchanged.
        assertTrue(manager.compactOnce(TP, now) > 0);
        assertEquals(afterFirst, LogTestSupport.readAll(log, 0));
        RecordBatch stamped = batchAt(log, 2);
        assertTrue(stamped.hasDeleteHorizon());
        assertEquals(now + retentionMs, stamped.deleteHorizonMs());
        assertEquals(now + 2, stamped.maxTimestamp());
        assertTrue(!batchAt(log, 1).hasDeleteHorizon(), "a batch without a tombstone gets no horizon");

        // A later pass does not move the horizon, and nothing changes before it.
        clock.advance(retentionMs - 1);
        assertEquals(0, manager.compactOnce(TP, clock.millis()));
        assertEquals(afterFirst, LogTestSupport.readAll(log, 0));

        // A follower copies the stamped batches as they are: the horizon travels with them.
        TopicPartition followerTp = new TopicPartition("follower", 0);
        PartitionLog follower = manager.getOrCreate(followerTp, cfg);
        try (FetchSlice slice = log.read(0, 64 * 1024, Long.MAX_VALUE)) {
            follower.appendAsFollower(slice.records());
        }
        assertEquals(afterFirst, LogTestSupport.readAll(follower, 0));
        assertEquals(now + retentionMs, batchAt(follower, 2).deleteHorizonMs());

        // The horizon survives a restart (it is in the segment, not in memory or the index).
        manager.close();
        LogTestSupport.deleteRecursively(dir.resolve(LogManager.INDEX_DIR));
        manager = LogManager.open(dir, cfg, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        log = manager.get(TP);
        follower = manager.get(followerTp);
        log.updateHighWatermark(log.logEndOffset());
        follower.roll();
        follower.updateHighWatermark(follower.logEndOffset());
        assertEquals(0, manager.compactOnce(TP, clock.millis()));
        assertEquals(afterFirst, LogTestSupport.readAll(log, 0));

        // At the horizon the tombstone goes, on the leader and on the follower alike.
        clock.advance(1);
        List<Stored> afterHorizon = List.of(new Stored(1, now + 1, "b", "1"), new Stored(3, now + 2, "c", "1"));
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertEquals(afterHorizon, LogTestSupport.readAll(log, 0));
        assertTrue(manager.compactOnce(followerTp, clock.millis()) > 0);
        assertEquals(afterHorizon, LogTestSupport.readAll(follower, 0));
    }

    @Test
    void compaction_keepsATombstoneNotYetHeldByEveryReplica_pastItsHorizon() {
        LogConfig cfg = base.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "compact", LogConfig.DELETE_RETENTION_MS, "1000"));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        log.tombstoneBoundOffset(0); // as a replica starts: nothing known to be held by the others
        long now = clock.millis();
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", "1"))), 1);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", null))), 1);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "b", "1"))), 1);
        log.roll();
        log.updateHighWatermark(log.logEndOffset());
        assertTrue(manager.compactOnce(TP, now) > 0);
        List<Stored> withTombstone = List.of(new Stored(1, now, "a", null), new Stored(2, now, "b", "1"));
        assertEquals(withTombstone, LogTestSupport.readAll(log, 0), "the superseded value goes at once");
        clock.advance(5_000);
        manager.compactOnce(TP, clock.millis());
        assertEquals(withTombstone, LogTestSupport.readAll(log, 0), "past its horizon, but a replica may not have it yet");
        log.tombstoneBoundOffset(1); // every replica holds offset 0 only
        manager.compactOnce(TP, clock.millis());
        assertEquals(withTombstone, LogTestSupport.readAll(log, 0));
        log.tombstoneBoundOffset(2); // every replica holds the tombstone
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertEquals(List.of(new Stored(2, now, "b", "1")), LogTestSupport.readAll(log, 0));
    }

    @Test
    void compaction_recordsDurablyWhereItRemovedTombstones_andAFollowerInheritsIt() {
        LogConfig cfg = base.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "compact", LogConfig.DELETE_RETENTION_MS, "1000"));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        log.tombstoneBoundOffset(0);
        long now = clock.millis();
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", "1"))), 1);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", null))), 1);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "b", "1"), new Rec(now, "c", "1"))), 1);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "b", null))), 1); // superseded below
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "b", "2"))), 1);
        log.roll();
        log.updateHighWatermark(log.logEndOffset());
        assertTrue(manager.compactOnce(TP, now) > 0);
        assertEquals(0, log.tombstonesRemovedEnd(), "superseded records (a=1, the tombstone of b) hide no deletion");
        clock.advance(5_000);
        log.tombstoneBoundOffset(log.logEndOffset());
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertEquals(List.of(new Stored(3, now, "c", "1"), new Stored(5, now, "b", "2")), LogTestSupport.readAll(log, 0));
        assertEquals(2, log.tombstonesRemovedEnd(), "the tombstone of a at offset 1 was removed");

        TopicPartition followerTp = new TopicPartition("follower", 0);
        PartitionLog follower = manager.getOrCreate(followerTp, cfg);
        assertEquals(0, follower.tombstonesRemovedEnd());
        follower.inheritTombstonesRemovedEnd(2);
        follower.inheritTombstonesRemovedEnd(1);
        assertEquals(2, follower.tombstonesRemovedEnd(), "it never decreases");
        follower.truncateFullyAndStartAt(7);
        assertEquals(2, follower.tombstonesRemovedEnd(), "a refetch from scratch copies a log that lacks them too");

        // Stored in the partition state (in the index): a restart keeps both.
        manager.close();
        manager = LogManager.open(dir, cfg, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        assertEquals(2, manager.get(TP).tombstonesRemovedEnd());
        assertEquals(2, manager.get(followerTp).tombstonesRemovedEnd());

        // The index lost (the partition states with it): where tombstones were removed is unknown,
        // so anywhere below the log end; a log with nothing in it lacks nothing.
        long end = manager.get(TP).logEndOffset();
        manager.close();
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(dir.resolve(LogManager.INDEX_DIR))) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.delete(f);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        manager = LogManager.open(dir, cfg, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        assertEquals(end, manager.get(TP).tombstonesRemovedEnd(), "unknown after the state was lost: the whole log");
        manager.get(TP).truncateTo(end - 1); // e.g. a crashed leader dropping its unreplicated tail as a follower
        assertTrue(manager.get(TP).tombstonesRemovedEnd() <= manager.get(TP).logEndOffset(),
                "nothing above the log end lacks a tombstone: " + manager.get(TP).tombstonesRemovedEnd());
        assertEquals(0, manager.get(followerTp).tombstonesRemovedEnd(), "an empty log (it was truncated to nothing)");
    }

    @Test
    void compaction_keepsTheTombstones_whenTheBoundFallsDuringTheRewrite() throws Exception {
        java.util.concurrent.atomic.AtomicReference<Runnable> onCleanedOpen = new java.util.concurrent.atomic.AtomicReference<>();
        FileLayer hooked = new FileLayer() {
            @Override
            public dev.basalt.log.segment.SegmentFile open(Path path, boolean create, boolean writable) throws java.io.IOException {
                Runnable hook = onCleanedOpen.getAndSet(null);
                if (hook != null && path.toString().endsWith(dev.basalt.log.segment.Segment.CLEANED_SUFFIX)) {
                    hook.run();
                }
                return FileLayer.super.open(path, create, writable);
            }
        };
        manager.close();
        manager = LogManager.open(dir, base, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), hooked);
        LogConfig cfg = base.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "compact", LogConfig.DELETE_RETENTION_MS, "1000"));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        log.tombstoneBoundOffset(0);
        long now = clock.millis();
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", null))), 1);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "b", "1"))), 1);
        log.roll();
        log.updateHighWatermark(log.logEndOffset());
        assertTrue(manager.compactOnce(TP, now) > 0); // sets the horizon
        clock.advance(5_000);
        log.tombstoneBoundOffset(2);
        List<Stored> withTombstone = List.of(new Stored(0, now, "a", null), new Stored(1, now, "b", "1"));
        // A replica joins while the copy without the tombstone is being written: the bound falls to 0.
        onCleanedOpen.set(() -> log.tombstoneBoundOffset(0));
        assertEquals(0, manager.compactOnce(TP, clock.millis()), "the copy was made under a bound no longer true");
        assertEquals(withTombstone, LogTestSupport.readAll(log, 0));
        assertEquals(0, log.cleaningMemory().cleanedEndOffset(), "the refused segment (and what follows) stays dirty (review:"
                + " taken for clean, a later pass's dirty-only key map would miss the values it still holds)");
        assertEquals(0, log.tombstonesRemovedEnd());
        try (var files = Files.list(log.directory())) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(dev.basalt.log.segment.Segment.CLEANED_SUFFIX)),
                    "the refused copy is deleted");
        }
        log.tombstoneBoundOffset(2); // the new replica fetched past it
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertEquals(List.of(new Stored(1, now, "b", "1")), LogTestSupport.readAll(log, 0));
        assertEquals(1, log.tombstonesRemovedEnd());
    }

    /** Found probing: segments compaction emptied stayed as 0-byte files (and index entries) for good. */
    @Test
    void compaction_removesASegmentItEmptied_butKeepsTheFirst_andReadsAndRestartsCrossTheGap() throws Exception {
        LogConfig cfg = base.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "compact"));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        long now = clock.millis();
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", "1"), new Rec(now, "b", "1"))), 1); // 0-1: first segment
        log.roll();
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "c", "1"), new Rec(now, "d", "1"))), 1); // 2-3
        log.roll();
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "e", "1"))), 1); // 4
        log.roll();
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "a", "2"), new Rec(now, "b", "2"), new Rec(now, "c", "2"),
                new Rec(now, "d", "2"))), 1); // 5-8: supersedes the first two segments entirely
        log.roll();
        log.updateHighWatermark(log.logEndOffset());
        log.flush(); // waits out background roll flushes, which pin segments while they fsync
        assertEquals(List.of(0L, 2L, 4L, 5L, 9L), log.segmentBaseOffsets());
        assertTrue(manager.compactOnce(TP, now) > 0);
        // The emptied segment at 2 went; the first stays, and the small ones left (0, 4 and 5) are
        // merged into it (SegmentMergeTest), so reads cross the gap inside one file.
        assertEquals(List.of(0L, 9L), log.segmentBaseOffsets(), "the emptied segment at 2 went; the first stays");
        try (var files = Files.list(log.directory())) {
            List<String> names = files.map(f -> f.getFileName().toString()).sorted().toList();
            assertTrue(names.stream().noneMatch(n -> n.startsWith("00000000000000000002")), names.toString());
        }
        List<Stored> expected = List.of(new Stored(4, now, "e", "1"), new Stored(5, now, "a", "2"), new Stored(6, now, "b", "2"),
                new Stored(7, now, "c", "2"), new Stored(8, now, "d", "2"));
        assertEquals(expected, LogTestSupport.readAll(log, 0));
        assertEquals(expected, LogTestSupport.readAll(log, 2), "a read from inside the removed segment goes on to the next");
        assertEquals(0, log.logStartOffset());

        // Clean restart, then an unclean one (index rebuilt from the segments): same log, same start.
        manager.close();
        manager = LogManager.open(dir, cfg, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        assertEquals(expected, LogTestSupport.readAll(manager.get(TP), 0));
        manager.close();
        LogTestSupport.deleteRecursively(dir.resolve(LogManager.INDEX_DIR));
        manager = LogManager.open(dir, cfg, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        log = manager.get(TP);
        assertEquals(expected, LogTestSupport.readAll(log, 0));
        assertEquals(0, log.logStartOffset());
        assertEquals(9, log.logEndOffset());
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(now, "f", "1"))), 1);
        assertEquals(9, LogTestSupport.readAll(log, 9).get(0).offset());
    }

    @Test
    void compaction_horizonSaturates_andAnUnstampedTombstoneAloneIsReasonEnoughToRewrite() {
        LogConfig cfg = base.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "compact",
                LogConfig.DELETE_RETENTION_MS, Long.toString(Long.MAX_VALUE)));
        PartitionLog log = manager.getOrCreate(TP, cfg);
        log.appendAsLeader(TestBatches.batch(List.of(new Rec(5, "k", null))), 1);
        log.roll();
        log.updateHighWatermark(log.logEndOffset());
        // Nothing is superseded; the pass still rewrites the segment, to set the horizon.
        assertEquals(1, manager.compactOnce(TP, clock.millis()));
        assertEquals(Long.MAX_VALUE, batchAt(log, 0).deleteHorizonMs());
        assertEquals(List.of(new Stored(0, 5, "k", null)), LogTestSupport.readAll(log, 0));
        clock.advance(365L * 24 * 3600 * 1000);
        assertEquals(0, manager.compactOnce(TP, clock.millis()));
        assertEquals(List.of(new Stored(0, 5, "k", null)), LogTestSupport.readAll(log, 0));
    }

    private static RecordBatch batchAt(PartitionLog log, long offset) {
        try (FetchSlice slice = log.read(offset, 1, Long.MAX_VALUE)) {
            // A copy: the slice's bytes may be unmapped once it is closed.
            java.nio.ByteBuffer copy = java.nio.ByteBuffer.allocate(slice.records().remaining()).put(slice.records()).flip();
            RecordBatch b = RecordBatch.wrap(copy);
            b.validate(Integer.MAX_VALUE);
            return b;
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
