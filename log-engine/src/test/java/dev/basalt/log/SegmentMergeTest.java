package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.segment.Segment;
import dev.basalt.log.testkit.FaultyFileLayer;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.log.testkit.TestBatches.Rec;
import dev.basalt.log.testkit.TestBatches.Stored;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A compacted log's small segments are merged (a compaction pass groups adjacent sealed segments
 * below the high watermark whose sizes add up to at most segment.bytes into the first of them):
 * every record stays at its offset and readable from any offset, across clean and unclean
 * restarts, and a stop at any point of the swap loses nothing (the next open finishes the merge
 * or finds the segments intact). Reproduce with {@code ./mvnw -B -ntp -pl log-engine -am verify
 * -Dtest=SegmentMergeTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class SegmentMergeTest {
    static final TopicPartition TP = new TopicPartition("merged", 0);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(10_000_000);
    FaultyFileLayer files = new FaultyFileLayer();
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "4096", LogConfig.INDEX_INTERVAL_BYTES, "200",
            LogConfig.CLEANUP_POLICY, "compact", LogConfig.MIN_CLEANABLE_DIRTY_RATIO, "0")); // merges, not the gate
    LogManager manager;

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    private LogManager open() {
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), files);
        return manager;
    }

    /** The latest record of each key, in offset order: what compaction leaves. */
    private static List<Stored> latestPerKey(List<Stored> all) {
        Map<String, Stored> latest = new LinkedHashMap<>();
        for (Stored s : all) {
            latest.remove(s.key());
            latest.put(s.key(), s);
        }
        List<Stored> out = new ArrayList<>(latest.values());
        out.sort(java.util.Comparator.comparingLong(Stored::offset));
        return out;
    }

    private List<String> filesOf(PartitionLog log) throws IOException {
        try (Stream<Path> s = Files.list(log.directory())) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".log")).sorted().toList();
        }
    }

    /** Every read from every offset returns the records at or after it, in order. */
    private static void assertReadsFromEveryOffset(PartitionLog log, List<Stored> expected) {
        for (long from = 0; from <= log.logEndOffset(); from++) {
            long f = from;
            assertEquals(expected.stream().filter(s -> s.offset() >= f).toList(), LogTestSupport.readAll(log, from), "from " + from);
        }
    }

    @Test
    void smallSegmentsLeftByCompaction_areMergedUpToSegmentBytes_everyRecordInPlace() throws Exception {
        PartitionLog log = open().getOrCreate(TP, config);
        for (int i = 0; i < 300; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k" + (i % 12), "v" + i + "-" + "x".repeat(60)))), 1);
        }
        log.roll();
        log.updateHighWatermark(log.logEndOffset());
        List<Stored> expected = latestPerKey(LogTestSupport.readAll(log, 0));
        int before = log.segmentBaseOffsets().size();
        assertTrue(before > 8, "many segments: " + log.segmentBaseOffsets());

        assertTrue(manager.compactOnce(TP, clock.millis()) > 0);
        assertEquals(expected, LogTestSupport.readAll(log, 0));
        // 12 records of ~100 bytes fit in one segment: the sealed ones are now one, before the active one.
        assertEquals(2, log.segmentBaseOffsets().size(), log.segmentBaseOffsets().toString());
        assertEquals(0L, log.segmentBaseOffsets().get(0), "the first segment keeps its base (the log start)");
        assertTrue(log.segmentsMerged() >= 1, "compaction removed the segments it emptied; the rest were merged");
        assertEquals(List.of(Segment.fileName(0), Segment.fileName(300)), filesOf(log), "no leftover file");
        assertReadsFromEveryOffset(log, expected);
        assertEquals(0, manager.compactOnce(TP, clock.millis()), "nothing left to do");
        assertEquals(2, log.segmentBaseOffsets().size());

        manager.close(); // clean restart
        log = open().get(TP);
        assertEquals(expected, LogTestSupport.readAll(log, 0));
        assertEquals(300, log.logEndOffset());
        LogTestHooks.crash(manager); // unclean, index lost: rebuilt from the merged files
        manager = null;
        LogTestSupport.deleteRecursively(dir.resolve(LogManager.INDEX_DIR));
        log = open().get(TP);
        assertReadsFromEveryOffset(log, expected);
        assertEquals(300, log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k0", "new"))), 1).firstOffset());
    }

    @Test
    void onlySealedSegmentsBelowTheHighWatermark_merge_andAGroupNeverPassesSegmentBytes() {
        PartitionLog log = open().getOrCreate(TP, config);
        for (int i = 0; i < 8; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k" + i, "v" + i + "-" + "y".repeat(1500)))), 1);
            log.roll(); // one ~1.6 KB record per segment: two fit in 4096 bytes, three do not
        }
        log.updateHighWatermark(5); // the segments at 0..4 lie below it (the one at 4 ends at 5)
        List<Stored> all = LogTestSupport.readAll(log, 0);
        manager.compactOnce(TP, clock.millis());
        assertEquals(List.of(0L, 2L, 4L, 5L, 6L, 7L, 8L), log.segmentBaseOffsets(), "pairs below the HW; 4 has no partner there");
        assertEquals(all, LogTestSupport.readAll(log, 0));
        log.updateHighWatermark(log.logEndOffset());
        manager.compactOnce(TP, clock.millis());
        assertEquals(List.of(0L, 2L, 4L, 6L, 8L), log.segmentBaseOffsets(), "the active segment (8) is never merged");
        assertEquals(all, LogTestSupport.readAll(log, 0));
    }

    @Test
    void aDeletePolicyLog_isNeverMerged() {
        config = config.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "delete"));
        PartitionLog log = open().getOrCreate(TP, config);
        for (int i = 0; i < 4; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k", "v" + i))), 1);
            log.roll();
        }
        log.updateHighWatermark(log.logEndOffset());
        assertEquals(0, manager.compactOnce(TP, clock.millis()));
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), log.segmentBaseOffsets());
    }

    /**
     * Readers running through merges never skip a record: a read that held the first segment of a
     * group from before the swap must not step from it to the segment after the group. Each
     * segment holds a record of its own key and one of a key every later segment supersedes, so
     * compaction leaves a gap at each segment's end, where such a read steps on.
     */
    @Test
    void readsDuringMerges_neverSkipARecord() throws Exception {
        PartitionLog log = open().getOrCreate(TP, config);
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicLong passes = new java.util.concurrent.atomic.AtomicLong();
        PartitionLog reading = log;
        Thread reader = new Thread(() -> {
            try {
                while (!done.get()) {
                    long hw = reading.highWatermark();
                    long next = 0;
                    List<Long> own = new ArrayList<>();
                    while (next < hw) {
                        try (FetchSlice slice = reading.read(next, 128, hw)) {
                            if (slice.isEmpty()) {
                                break;
                            }
                            for (Stored st : TestBatches.decode(slice.records())) {
                                if (st.offset() >= next && !st.key().equals("dup")) {
                                    own.add(st.offset());
                                }
                            }
                            next = slice.nextOffset();
                        }
                    }
                    List<Long> expected = java.util.stream.LongStream.range(0, hw / 2).map(i -> 2 * i).boxed().toList();
                    assertEquals(expected, own, "every record of its own key below the high watermark " + hw);
                    passes.incrementAndGet();
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "merge-reader");
        reader.start();
        try {
            for (int i = 0; i < 400 && failure.get() == null; i++) {
                log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k" + i, "v" + i))), 1);
                log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "dup", "d" + i))), 1);
                log.roll();
                log.updateHighWatermark(log.logEndOffset());
                if (i % 5 == 4) {
                    manager.compactOnce(TP, clock.millis());
                }
            }
        } finally {
            done.set(true);
            reader.join(10_000);
        }
        if (failure.get() != null) {
            throw new AssertionError("a reader during merges: " + failure.get(), failure.get());
        }
        assertTrue(log.segmentsMerged() > 300, "merges ran: " + log.segmentsMerged());
        assertTrue(passes.get() > 0);
    }

    /**
     * Six one-record segments merge in one swap of seven renames: the merged file to its swap name,
     * five segments to their deleted names, the swap over the first. A failure before the first
     * leaves the segments as they were (the log stays online); one after it takes the log offline,
     * and the next open finishes the merge. Nothing is lost either way.
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 6})
    void aStopAtAnyRenameOfTheSwap_losesNothing(int renamesThatWork) throws Exception {
        PartitionLog log = open().getOrCreate(TP, config);
        for (int i = 0; i < 6; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(clock.millis(), "k" + i, "v" + i))), 1);
            log.roll(); // distinct keys: compaction has nothing to remove, only the merge renames
        }
        log.updateHighWatermark(log.logEndOffset());
        List<Stored> all = LogTestSupport.readAll(log, 0);
        files.failMovesAfter(renamesThatWork);
        assertThrows(LogStorageException.class, () -> manager.compactOnce(TP, clock.millis()));
        files.failMoves(false);
        if (renamesThatWork == 0) {
            assertFalse(log.isOffline());
            assertEquals(all, LogTestSupport.readAll(log, 0));
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L), log.segmentBaseOffsets());
            assertTrue(filesOf(log).stream().noneMatch(n -> n.endsWith(Segment.MERGING_SUFFIX) || n.endsWith(Segment.SWAP_SUFFIX)),
                    filesOf(log).toString());
            manager.compactOnce(TP, clock.millis());
            assertEquals(List.of(0L, 6L), log.segmentBaseOffsets(), "merged on the next pass");
            assertEquals(all, LogTestSupport.readAll(log, 0));
            return;
        }
        assertTrue(log.isOffline(), "a swap begun and not finished takes the log offline");
        assertTrue(filesOf(log).contains(Segment.swapFileName(0, 5)), filesOf(log).toString());
        LogTestHooks.crash(manager);
        manager = null;
        log = open().get(TP);
        assertEquals(List.of(0L, 6L), log.segmentBaseOffsets(), "the open finished the merge");
        assertEquals(List.of(Segment.fileName(0), Segment.fileName(6)), filesOf(log));
        assertReadsFromEveryOffset(log, all);
        assertEquals(6, log.logEndOffset());
    }
}
