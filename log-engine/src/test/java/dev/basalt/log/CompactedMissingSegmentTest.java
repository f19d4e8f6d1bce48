package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.log.testkit.TestBatches.Rec;
import dev.basalt.log.testkit.TestBatches.Stored;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Found probing: a compacted replica whose middle segment file was deleted (or moved away) loaded
 * as healthy after a clean stop, rejoined the ISR and, once it led, served 251 keys without their
 * latest values: a log with gaps cannot tell a missing segment from offsets compaction removed.
 * The index lists every sealed segment, so one listed between two present files without its own
 * file is a lost one: the load fails as corruption (a replica then refetches from its leader), a
 * repair cuts the log where it was. Segments compaction removed or merged away are never taken
 * for lost, across restarts. Reproduce with {@code ./mvnw -B -ntp -pl log-engine -am verify
 * -Dtest=CompactedMissingSegmentTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class CompactedMissingSegmentTest {
    static final TopicPartition TP = new TopicPartition("compacted", 0);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(10_000_000);
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "4096", LogConfig.CLEANUP_POLICY, "compact",
            LogConfig.MIN_CLEANABLE_DIRTY_RATIO, "0"));
    LogManager manager;

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    private LogManager open() {
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        return manager;
    }

    /** Appends {@code count} one-record batches with keys k0..k(keys-1) in turn; returns the log. */
    private PartitionLog fill(int count, int keys) {
        PartitionLog log = open().getOrCreate(TP, config);
        for (int i = 0; i < count; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k" + (i % keys), "v" + i + "-" + "x".repeat(60)))), 1);
        }
        log.flush();
        return log;
    }

    @Test
    void aDeletedMiddleSegment_failsTheLoad_andARepairCutsTheLogWhereItWas() throws Exception {
        PartitionLog log = fill(200, 200);
        assertTrue(log.gapsPossible());
        List<Long> bases = log.segmentBaseOffsets();
        assertTrue(bases.size() >= 5, "several segments: " + bases);
        manager.close(); // a clean stop: the fast path would trust the files
        Files.delete(dir.resolve(TP.dirName()).resolve(Segment.fileName(bases.get(2))));

        open();
        org.junit.jupiter.api.Assertions.assertThrows(UnknownPartitionException.class, () -> manager.get(TP), "not opened");
        assertTrue(manager.corruptPartitions().contains(TP), "reported corrupt: " + manager.corruptPartitions());

        PartitionLog repaired = manager.repairFully(TP, config);
        assertEquals(bases.get(2), repaired.logEndOffset(), "cut at the end of the segment before the lost one");
        assertEquals(bases.subList(0, 2), repaired.segmentBaseOffsets().subList(0, 2));
        List<Stored> kept = LogTestSupport.readAll(repaired, 0);
        assertEquals(bases.get(2).intValue(), kept.size());

        // the lost segment's entry went with the repair: the log grows past it and reopens cleanly
        for (int i = 0; i < 200; i++) {
            repaired.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "n" + i, "w" + i + "-" + "y".repeat(60)))), 1);
        }
        repaired.flush();
        long end = repaired.logEndOffset();
        assertTrue(end > bases.get(4), "past where the lost segment was");
        manager.close();
        PartitionLog again = open().get(TP);
        assertTrue(again != null && manager.corruptPartitions().isEmpty(), "reopened: " + manager.corruptPartitions());
        assertEquals(end, again.logEndOffset());
    }

    @Test
    void aSegmentMovedAway_afterAnUncleanStop_failsTheLoadToo() throws Exception {
        PartitionLog log = fill(200, 200);
        List<Long> bases = log.segmentBaseOffsets();
        LogTestHooks.crash(manager); // no clean close: the recovery path
        manager = null;
        Files.move(dir.resolve(TP.dirName()).resolve(Segment.fileName(bases.get(3))), dir.resolve("moved-away.log"));
        open();
        assertTrue(manager.corruptPartitions().contains(TP), "reported corrupt: " + manager.corruptPartitions());
    }

    @Test
    void segmentsCompactionRemovedOrMerged_areNeverTakenForLost() throws Exception {
        PartitionLog log = fill(300, 12); // most segments hold only superseded values
        log.roll();
        log.updateHighWatermark(log.logEndOffset());
        Map<String, String> latest = latestValues(LogTestSupport.readAll(log, 0));
        int before = log.segmentBaseOffsets().size();
        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertTrue(log.segmentBaseOffsets().size() < before - 3, "segments removed and merged: " + log.segmentBaseOffsets());
        for (int i = 0; i < 100; i++) { // the log grows past the bases of the removed segments
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k" + (i % 12), "later" + i))), 1);
            latest.put("k" + (i % 12), "later" + i);
        }
        log.flush();

        manager.close();
        log = open().get(TP);
        assertTrue(log != null && manager.corruptPartitions().isEmpty(), "clean restart: " + manager.corruptPartitions());
        assertEquals(latest, latestValues(LogTestSupport.readAll(log, 0)));
        LogTestHooks.crash(manager);
        manager = null;
        log = open().get(TP);
        assertTrue(log != null && manager.corruptPartitions().isEmpty(), "unclean restart: " + manager.corruptPartitions());
        assertEquals(latest, latestValues(LogTestSupport.readAll(log, 0)));
    }

    private static Map<String, String> latestValues(List<Stored> records) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Stored s : records) {
            out.put(s.key(), s.value());
        }
        return out;
    }
}
