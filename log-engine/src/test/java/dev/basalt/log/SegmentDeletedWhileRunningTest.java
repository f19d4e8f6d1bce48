package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A segment file deleted from outside ({@code rm}) while the running log holds it open and mapped.
 * Found probing a cluster: nothing noticed until the next start, so reads kept serving the
 * unlinked file and appends to a deleted active segment were acknowledged into it and lost at the
 * restart. Now the active segment's file is checked every second (with the data directory) and
 * each sealed one by the scrubber; a deleted one is reported like corrupt data from its base
 * offset (a replica with a healthy copy elsewhere is rebuilt; here, the only copy, appends are
 * refused). The log's own deletions (retention, truncation, rolls) are not findings.
 */
class SegmentDeletedWhileRunningTest {
    static final TopicPartition TP = new TopicPartition("gone", 0);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(1_000_000);
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "65536"));
    LogManager manager;
    final List<Long> found = new ArrayList<>();
    final List<CorruptLogException> errors = new ArrayList<>();

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    PartitionLog fill(LogConfig cfg, int batches) {
        manager = LogManager.open(dir, cfg, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        manager.corruptionHandler(this::onCorruption);
        return LogTestSupport.fillOneRecordBatches(manager, TP, cfg, batches, 300);
    }

    void onCorruption(PartitionLog log, long offset, CorruptLogException e) {
        found.add(offset);
        errors.add(e);
        log.markCorruptFrom(offset, e);
    }

    void scrubAPass() {
        for (int i = 0; i < 20; i++) {
            manager.scrubNow(1 << 30, 1 << 20, this::onCorruption);
        }
    }

    @Test
    void aDeletedActiveSegment_isFoundWithinACheck_andAppendsAreRefusedNotLost() throws IOException {
        PartitionLog log = fill(config, 600);
        List<Long> bases = log.segmentBaseOffsets();
        long activeBase = bases.get(bases.size() - 1);
        manager.checkActiveSegmentFiles();
        assertEquals(List.of(), found, "an intact log");

        Files.delete(log.directory().resolve(Segment.fileName(activeBase)));
        manager.checkActiveSegmentFiles();
        assertEquals(List.of(activeBase), found);
        assertTrue(errors.get(0).getMessage().contains("deleted while the node ran"), errors.get(0).getMessage());
        manager.checkActiveSegmentFiles();
        assertEquals(1, found.size(), "reported once");

        long end = log.logEndOffset();
        AppendRefusedException refused = assertThrows(AppendRefusedException.class,
                () -> log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1, "k", "into the deleted file"))), 1));
        assertTrue(refused.getMessage().contains("refuses appends"), refused.getMessage());
        assertEquals(end, log.logEndOffset(), "nothing appended");
        // what lies before the deleted segment is still served
        long next = 0;
        while (next < activeBase) {
            try (FetchSlice slice = log.read(next, 1 << 20, Long.MAX_VALUE)) {
                next = slice.nextOffset();
            }
        }
        assertEquals(activeBase, next);
        assertThrows(CorruptLogException.class, () -> log.read(activeBase, 1 << 20, Long.MAX_VALUE));
    }

    /**
     * Found probing: {@code rm -rf} of a follower's partition directory went unnoticed until its next
     * segment roll (none for a long time with large segments); its acks=all copies were unlinked
     * files lost at the next start. Now the same once-a-second check takes the log offline; a
     * partition the node deletes itself is not a finding.
     */
    @Test
    void aDeletedPartitionDirectory_takesTheLogOfflineWithinACheck_butTheNodesOwnDeletionDoesNot() throws IOException {
        PartitionLog log = fill(config, 50);
        TopicPartition other = new TopicPartition("other", 0);
        PartitionLog deleted = LogTestSupport.fillOneRecordBatches(manager, other, config, 5, 300);
        manager.delete(other);
        // the check may still hold the log when the node deletes it: closed first, it is no finding
        assertFalse(Files.isDirectory(deleted.directory()));
        assertFalse(deleted.offlineIfDirectoryDeleted(), "a deletion by the node itself");
        manager.checkActiveSegmentFiles();
        assertTrue(manager.offlinePartitions().isEmpty(), "a deletion by the node itself: " + manager.offlinePartitions());

        try (var walk = Files.walk(log.directory())) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        manager.checkActiveSegmentFiles();
        assertTrue(log.isOffline(), "not taken offline");
        String why = manager.offlinePartitions().get(TP);
        assertTrue(why != null && why.contains("was deleted while the node ran"), String.valueOf(manager.offlinePartitions()));
        // ... and handed to the corruption handler from the log's start (the broker's sets a replica
        // with a healthy copy elsewhere aside and rebuilds it from the leader), once.
        assertEquals(List.of(log.logStartOffset()), found);
        assertTrue(errors.get(0).getMessage().contains("partition directory was deleted while the node ran"), errors.get(0).getMessage());
        manager.checkActiveSegmentFiles();
        assertEquals(1, found.size(), "reported once");
        assertThrows(LogStorageException.class,
                () -> log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1, "k", "into the deleted directory"))), 1));
    }

    /**
     * {@code truncate -s} of the active segment under the running node: found within a check, from
     * the first offset past the cut, whether or not the segment was ever mapped (a follower's
     * active segment is written, never read). Before, nothing noticed it while the node ran; its
     * later appends landed past a hole of zeros that the next start read as the end of the log.
     */
    @Test
    void anActiveSegmentCutShortFromOutside_isFoundWithinACheck_fromTheFirstOffsetPastTheCut() throws IOException {
        for (boolean readFirst : new boolean[] {false, true}) {
            TopicPartition tp = new TopicPartition(readFirst ? "cut-read" : "cut-unread", 0);
            if (manager == null) {
                manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
                manager.corruptionHandler(this::onCorruption);
            }
            found.clear();
            errors.clear();
            PartitionLog log = LogTestSupport.fillOneRecordBatches(manager, tp, config, 40, 300);
            assertEquals(List.of(0L), log.segmentBaseOffsets(), "one active segment");
            if (readFirst) {
                try (FetchSlice slice = log.read(0, 1 << 20, Long.MAX_VALUE)) {
                    assertTrue(slice.nextOffset() > 0);
                }
            }
            Path file = log.directory().resolve(Segment.fileName(0));
            manager.checkActiveSegmentFiles();
            assertEquals(List.of(), found, "an intact log");

            // Batch ends from the headers (a batch's length field at byte 8 counts the bytes after byte 12).
            List<Long> ends = new ArrayList<>();
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ,
                    java.nio.file.StandardOpenOption.WRITE)) {
                java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(12);
                long pos = 0;
                while (ends.size() < log.logEndOffset()) { // one record per batch: offsets 0, 1, 2, ...
                    header.clear();
                    ch.read(header, pos);
                    pos += 12 + header.getInt(8);
                    ends.add(pos);
                }
                long cut = ends.get(ends.size() - 1) / 2;
                ch.truncate(cut);
            }
            long cut = ends.get(ends.size() - 1) / 2;
            long wholeBelowCut = ends.stream().filter(e -> e <= cut).count();
            manager.checkActiveSegmentFiles();
            assertEquals(List.of(wholeBelowCut), found, (readFirst ? "mapped" : "never mapped") + ": " + errors);
            assertTrue(errors.get(0).getMessage().contains("cut short while the node ran"), errors.get(0).getMessage());
            assertEquals(cut, errors.get(0).position());
            manager.checkActiveSegmentFiles();
            assertEquals(1, found.size(), "reported once");
        }
    }

    @Test
    void aDeletedSealedSegment_isFoundByTheScrubber_atItsBaseOffset() throws IOException {
        PartitionLog log = fill(config, 600);
        List<Long> bases = log.segmentBaseOffsets();
        assertTrue(bases.size() >= 3, "several segments: " + bases);
        scrubAPass();
        assertEquals(List.of(), found, "an intact log");

        Files.delete(log.directory().resolve(Segment.fileName(bases.get(1))));
        manager.checkActiveSegmentFiles();
        assertEquals(List.of(), found, "the active segment is intact");
        scrubAPass();
        assertEquals(List.of(bases.get(1)), found);
        assertEquals(log.directory().resolve(Segment.fileName(bases.get(1))), errors.get(0).file());
        assertTrue(errors.get(0).getMessage().contains("deleted while the node ran"), errors.get(0).getMessage());
    }

    @Test
    void retentionRollsAndTruncation_deleteFilesWithoutAFinding() {
        LogConfig small = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "8192", LogConfig.RETENTION_BYTES, "20000"));
        PartitionLog log = fill(small, 300);
        log.updateHighWatermark(log.logEndOffset());
        int before = log.segmentBaseOffsets().size();
        assertTrue(manager.runRetentionOnce(clock.millis()) > 0);
        assertTrue(log.segmentBaseOffsets().size() < before, "retention deleted segments");
        long end = log.logEndOffset();
        log.truncateTo(end - 40);
        log.truncateFullyAndStartAt(end + 1_000);
        LogTestSupport.fillOneRecordBatches(manager, TP, small, 100, 300);
        manager.checkActiveSegmentFiles();
        scrubAPass();
        assertEquals(List.of(), found, "the log's own deletions are not findings: " + errors);
    }
}
