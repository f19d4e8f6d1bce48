package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.recovery.LogVerifier;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.record.RecordBatchBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A base offset lies outside its batch's CRC, and without the index a log's gap state is unknown,
 * so a damaged base offset that jumps ahead "follows" the batch before it. Found probing
 * (2026-12-07): with the index deleted, {@code storage check} blamed the batch after the damaged
 * one, and {@code storage repair} kept the damaged batch: the log then ended at offset
 * 281474976664000. Now the damaged batch is the one refused: the batch after it starts inside its
 * jump, or it reaches where the next segment starts. Reproduce with {@code ./mvnw -B -ntp -pl
 * log-engine -am verify -Dtest=DamagedBaseOffsetWithoutIndexTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class DamagedBaseOffsetWithoutIndexTest {
    static final TopicPartition TP = new TopicPartition("noindex", 0);
    @TempDir
    Path dir;
    final ManualClock clock = new ManualClock(1_000_000);
    final LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "4096"));
    LogManager manager;

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    private LogManager open() {
        return LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
    }

    /** 150 one-record batches over several sealed segments, closed cleanly; the segment files by base offset. */
    private List<Path> filledThenClosed() {
        manager = open();
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 150; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "value-" + i + "-" + "x".repeat(60)))), 1);
        }
        log.flush();
        List<Path> segments = log.segmentBaseOffsets().stream().map(b -> log.directory().resolve(Segment.fileName(b))).toList();
        assertTrue(segments.size() >= 4, "several segments: " + segments);
        manager.close();
        manager = null;
        return segments;
    }

    /** Adds {@code delta} to the base offset of the batch at {@code position}. */
    private static void raiseBaseOffset(Path file, long position, long delta) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(8);
            ch.read(b, position);
            b.flip();
            ByteBuffer out = ByteBuffer.allocate(8).putLong(0, b.getLong(0) + delta);
            ch.write(out, position);
        }
    }

    private void deleteIndex() throws IOException {
        try (Stream<Path> walk = Files.walk(dir.resolve("index"))) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void aBaseOffsetRaisedMidSegment_isTheBatchCut_notTheOneAfterIt() throws Exception {
        List<Path> segments = filledThenClosed();
        // the last segment, as the probe's (no next segment bounds its offsets)
        Path active = segments.get(segments.size() - 1);
        assertTrue(LogTestSupport.batchPositions(active).size() >= 5, "room for a batch after the victim");
        long[] victim = LogTestSupport.batchPositions(active).get(3); // {position, base offset, end}
        raiseBaseOffset(active, victim[0], 281_474_976_710_656L - 46_656); // the probe's 2^48-ish value
        deleteIndex();

        LogVerifier.Report report = LogVerifier.verify(active.getParent(), FileLayer.DEFAULT);
        assertNotNull(report.corruption(), "found");
        assertEquals(victim[1], report.corruption().offset(), report.corruption().reason());
        assertEquals((int) victim[0], report.corruption().position());
        assertTrue(report.corruption().reason().contains("jump ahead"), report.corruption().reason());

        manager = open();
        assertEquals(java.util.Set.of(TP), manager.corruptPartitions(), "damage after a clean stop: not loaded");
        PartitionLog repaired = manager.repair(TP, config);
        assertEquals(victim[1], repaired.logEndOffset(), "cut at the damaged batch, not after it");
        List<TestBatches.Stored> kept = LogTestSupport.readAll(repaired, 0);
        assertEquals(victim[1], kept.size());
        for (TestBatches.Stored r : kept) {
            assertEquals("k" + r.offset(), r.key(), "every record kept is at its own offset");
        }
    }

    @Test
    void aSegmentsLastBatchRaised_reachesTheNextSegmentsBase_andIsCut() throws Exception {
        List<Path> segments = filledThenClosed();
        Path sealed = segments.get(1);
        List<long[]> batches = LogTestSupport.batchPositions(sealed);
        long[] victim = batches.get(batches.size() - 1);
        raiseBaseOffset(sealed, victim[0], 1L << 40);
        deleteIndex();

        LogVerifier.Report report = LogVerifier.verify(sealed.getParent(), FileLayer.DEFAULT);
        assertNotNull(report.corruption());
        assertEquals(victim[1], report.corruption().offset(), report.corruption().reason());
        assertTrue(report.corruption().reason().contains("where the next segment starts"), report.corruption().reason());

        manager = open();
        PartitionLog repaired = manager.repair(TP, config);
        assertEquals(victim[1], repaired.logEndOffset());
    }

    /**
     * A raise smaller than the batch's own span (found by review): the batch after it starts inside
     * the raised batch's range, and the raised batch, started where it should, would end right
     * before it: the raised one is cut.
     */
    @Test
    void aBaseOffsetRaisedLessThanItsBatchSpans_isTheBatchCut() throws Exception {
        manager = open();
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 30; i++) {
            List<TestBatches.Rec> five = new java.util.ArrayList<>();
            for (int r = 0; r < 5; r++) {
                five.add(new TestBatches.Rec(1000 + i, "k" + (i * 5 + r), "v"));
            }
            log.appendAsLeader(TestBatches.batch(five), 1);
        }
        log.flush();
        Path segment = log.directory().resolve(Segment.fileName(log.segmentBaseOffsets().get(0)));
        manager.close();
        manager = null;
        long[] victim = LogTestSupport.batchPositions(segment).get(2); // offsets 10..14
        assertEquals(10, victim[1]);
        raiseBaseOffset(segment, victim[0], 2); // 12..16: the next batch (15..19) starts inside it

        LogVerifier.Report report = LogVerifier.verify(segment.getParent(), FileLayer.DEFAULT);
        assertNotNull(report.corruption());
        assertEquals(10, report.corruption().offset(), report.corruption().reason());
        assertTrue(report.corruption().reason().contains("jump ahead"), report.corruption().reason());
    }

    /**
     * A compacted log's real gap before a batch, and the batch after it with a lowered base offset
     * that lands in the gap (found by review): the lowered one is cut, not the one after the gap,
     * since the batch after the lowered one sides with the latter.
     */
    @Test
    void aBaseOffsetLoweredIntoARealGap_isTheLoweredBatchCut() throws Exception {
        Path partitionDir = followerWithGaps(new long[][] {{0, 2}, {5, 1}, {9, 1}, {100, 3}, {200, 2}, {300, 1}});
        long[] lowered = LogTestSupport.batchPositions(partitionDir.resolve(Segment.fileName(0))).get(4); // 200..201
        raiseBaseOffset(partitionDir.resolve(Segment.fileName(0)), lowered[0], 50 - 200); // now 50: inside 10..99

        LogVerifier.Report report = LogVerifier.verify(partitionDir, FileLayer.DEFAULT);
        assertNotNull(report.corruption());
        assertEquals(103, report.corruption().offset(), "cut after 100..102, which is kept: " + report.corruption().reason());
    }

    /**
     * A follower's log holding batches at these {base offset, records}, each appended on its own
     * (so segments roll at segment.bytes); closed; its directory.
     */
    private Path followerWithGaps(long[][] batches) {
        manager = open();
        PartitionLog follower = manager.getOrCreate(TP, config);
        for (long[] b : batches) {
            ByteBuffer payload = ByteBuffer.allocate(8192);
            RecordBatchBuilder builder = new RecordBatchBuilder(payload, 1000).baseOffset(b[0]).partitionLeaderEpoch(1);
            for (int i = 0; i < b[1]; i++) {
                assertTrue(builder.tryAppend(1000, ("k" + (b[0] + i)).getBytes(), ("v" + (b[0] + i) + "-" + "x".repeat(100)).getBytes(),
                        List.of()));
            }
            follower.appendAsFollower(builder.build().buffer());
        }
        follower.flush();
        Path dir = follower.directory();
        manager.close();
        manager = null;
        return dir;
    }

    /** A follower of a compacted leader has real gaps: with the index gone they are still not damage. */
    @Test
    void realGaps_withTheIndexGone_areNotDamage() throws Exception {
        // base offset, records: 2..4, 6..8 and 10..99 compacted away, then gaps of 7 over several segments
        List<long[]> batches = new java.util.ArrayList<>(List.of(new long[] {0, 2}, new long[] {5, 1}, new long[] {9, 1},
                new long[] {100, 3}));
        for (long base = 110; base < 110 + 60 * 10; base += 10) {
            batches.add(new long[] {base, 3});
        }
        Path partitionDir = followerWithGaps(batches.toArray(long[][]::new));
        assertTrue(segmentFiles(partitionDir) >= 3, "several segments: " + segmentFiles(partitionDir));
        deleteIndex();

        List<Long> offsets = new java.util.ArrayList<>();
        for (long[] b : batches) {
            for (int i = 0; i < b[1]; i++) {
                offsets.add(b[0] + i);
            }
        }
        LogVerifier.Report report = LogVerifier.verify(partitionDir, FileLayer.DEFAULT);
        assertTrue(report.clean(), String.valueOf(report.corruption()));
        assertEquals(offsets.get(offsets.size() - 1) + 1, report.nextOffset());
        manager = open();
        assertFalse(manager.corruptPartitions().contains(TP));
        assertEquals(offsets, LogTestSupport.readAll(manager.get(TP), 0).stream().map(TestBatches.Stored::offset).toList());
    }

    private static long segmentFiles(Path partitionDir) throws IOException {
        try (Stream<Path> files = Files.list(partitionDir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".log")).count();
        }
    }
}
