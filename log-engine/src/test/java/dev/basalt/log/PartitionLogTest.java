package dev.basalt.log;

import static dev.basalt.log.testkit.TestBatches.Rec;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.record.CorruptRecordException;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import dev.basalt.record.RecordTooLargeException;
import dev.basalt.record.TimestampType;
import dev.basalt.log.segment.FileLayer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unit tests of one partition log through the public API: append/read, maxBytes rules, offsets
 * out of range, reads by timestamp, truncation, the epoch cache (Kafka's KIP-101 semantics),
 * bad input. Deterministic: manual clock, no background tasks. Reproduce with
 * {@code ./mvnw -B -ntp -pl log-engine -am verify -Dtest=PartitionLogTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class PartitionLogTest {
    static final TopicPartition TP = new TopicPartition("orders", 0);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(1_000_000);
    LogManager manager;
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "4096", LogConfig.INDEX_INTERVAL_BYTES, "256"));

    @BeforeEach
    void open() {
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
    }

    @AfterEach
    void close() {
        manager.close();
    }

    static List<Rec> recs(long ts, String... values) {
        List<Rec> out = new ArrayList<>();
        for (String v : values) {
            out.add(new Rec(ts, "k-" + v, v));
        }
        return out;
    }

    @Test
    void append_assignsContiguousOffsets_andReadReturnsThem() {
        PartitionLog log = manager.getOrCreate(TP, config);
        AppendInfo a = log.appendAsLeader(TestBatches.batch(recs(5, "a", "b", "c")), 1);
        AppendInfo b = log.appendAsLeader(TestBatches.payload(List.of(recs(6, "d"), recs(7, "e", "f"))), 1);
        assertEquals(new AppendInfo(0, 2, -1, 0), a);
        assertEquals(new AppendInfo(3, 5, -1, 0), b);
        assertEquals(6, log.logEndOffset());
        List<TestBatches.Stored> all = LogTestSupport.readAll(log, 0);
        assertEquals(List.of("a", "b", "c", "d", "e", "f"), all.stream().map(TestBatches.Stored::value).toList());
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L), all.stream().map(TestBatches.Stored::offset).toList());
    }

    @Test
    void read_midBatch_returnsWholeBatchHoldingTheOffset() {
        PartitionLog log = manager.getOrCreate(TP, config);
        log.appendAsLeader(TestBatches.batch(recs(5, "a", "b", "c")), 1);
        try (FetchSlice s = log.read(1, 1 << 20, Long.MAX_VALUE)) {
            List<TestBatches.Stored> got = TestBatches.decode(s.records());
            assertEquals(0, got.get(0).offset());
            assertEquals(3, s.nextOffset());
            assertTrue(s.records().isReadOnly());
        }
    }

    @Test
    void read_firstBatchLargerThanMaxBytes_isReturnedWhole_laterBatchesRespectMaxBytes() {
        PartitionLog log = manager.getOrCreate(TP, config);
        log.appendAsLeader(TestBatches.batch(recs(5, "a", "b", "c")), 1);
        log.appendAsLeader(TestBatches.batch(recs(5, "d")), 1);
        try (FetchSlice s = log.read(0, 1, Long.MAX_VALUE)) {
            assertEquals(3, TestBatches.decode(s.records()).size());
            assertEquals(3, s.nextOffset());
        }
        try (FetchSlice s = log.read(0, 1 << 20, Long.MAX_VALUE)) {
            assertEquals(4, TestBatches.decode(s.records()).size());
        }
    }

    @Test
    void read_boundedByMaxOffset_likeAHighWatermark() {
        PartitionLog log = manager.getOrCreate(TP, config);
        log.appendAsLeader(TestBatches.batch(recs(5, "a")), 1);
        log.appendAsLeader(TestBatches.batch(recs(5, "b")), 1);
        try (FetchSlice s = log.read(0, 1 << 20, 1)) {
            assertEquals(1, TestBatches.decode(s.records()).size());
            assertEquals(1, s.nextOffset());
        }
        try (FetchSlice s = log.read(1, 1 << 20, 1)) {
            assertTrue(s.isEmpty());
            assertEquals(1, s.nextOffset());
        }
    }

    @Test
    void read_outOfRange_isTyped_andLogEndIsEmpty() {
        PartitionLog log = manager.getOrCreate(TP, config);
        log.appendAsLeader(TestBatches.batch(recs(5, "a")), 1);
        OffsetOutOfRangeException e = assertThrows(OffsetOutOfRangeException.class, () -> log.read(2, 100, Long.MAX_VALUE));
        assertEquals(0, e.logStartOffset());
        assertEquals(1, e.logEndOffset());
        assertThrows(OffsetOutOfRangeException.class, () -> log.read(-1, 100, Long.MAX_VALUE));
        try (FetchSlice s = log.read(1, 100, Long.MAX_VALUE)) {
            assertTrue(s.isEmpty());
        }
    }

    @Test
    void rolls_onSegmentBytes_andReadsAcrossSegments() {
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 100; i++) {
            log.appendAsLeader(TestBatches.batch(recs(i, "value-" + i)), 1);
        }
        assertTrue(log.segmentBaseOffsets().size() > 2, "segments: " + log.segmentBaseOffsets());
        List<TestBatches.Stored> all = LogTestSupport.readAll(log, 0);
        assertEquals(100, all.size());
        for (int i = 0; i < 100; i++) {
            assertEquals(i, all.get(i).offset());
            assertEquals("value-" + i, all.get(i).value());
        }
        // Every offset is readable on its own (index floor lookup + scan).
        for (int i = 0; i < 100; i++) {
            try (FetchSlice s = log.read(i, 1, Long.MAX_VALUE)) {
                assertEquals(i, TestBatches.decode(s.records()).get(0).offset());
            }
        }
    }

    /**
     * Found probing: logs open with the broker's default as their active segment's capacity, since
     * their topic's config arrives later from metadata. A topic with a smaller segment.bytes then
     * had a sparse active file of the default's size after every restart, and that segment grew
     * past segment.bytes by up to one append before it rolled. Now the file shrinks when the
     * topic's config is applied, and no segment passes segment.bytes (as in Kafka), whatever its
     * file's capacity.
     */
    @Test
    void theTopicsSegmentBytes_appliedAfterARestart_shrinksTheActiveFile_andBoundsEverySegment() throws IOException {
        LogConfig small = config.withOverrides(Map.of(LogConfig.SEGMENT_BYTES, "1024"));
        PartitionLog log = manager.getOrCreate(TP, small);
        for (int i = 0; i < 5; i++) {
            log.appendAsLeader(TestBatches.batch(recs(i, "before-" + i)), 1);
        }
        log.flush();
        LogTestHooks.crash(manager);
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        PartitionLog reopened = manager.get(TP);
        java.util.function.Supplier<Path> active = () -> reopened.directory().resolve(
                dev.basalt.log.segment.Segment.fileName(reopened.segmentBaseOffsets().get(reopened.segmentBaseOffsets().size() - 1)));
        try (FetchSlice held = reopened.read(0, 1 << 20, Long.MAX_VALUE)) { // maps the active segment at its capacity
            assertEquals(4096, java.nio.file.Files.size(active.get()), "opened with the broker's default as capacity");
            reopened.updateConfig(small);
            assertEquals(1024, java.nio.file.Files.size(active.get()), "the topic's segment.bytes, once known");
            // a slice taken before the shrink still reads (its bytes lie below the new end of file)
            assertEquals(5, TestBatches.decode(held.records()).size());
        }
        for (int i = 0; i < 60; i++) {
            reopened.appendAsLeader(TestBatches.batch(recs(i, "after-" + i)), 1);
        }
        List<Long> bases = reopened.segmentBaseOffsets();
        assertTrue(bases.size() > 3, "segments: " + bases);
        for (long base : bases) {
            Path file = reopened.directory().resolve(dev.basalt.log.segment.Segment.fileName(base));
            assertTrue(java.nio.file.Files.size(file) <= 1024, file + " is " + java.nio.file.Files.size(file) + " bytes");
        }
        List<TestBatches.Stored> all = LogTestSupport.readAll(reopened, 0);
        assertEquals(65, all.size());
        for (int i = 0; i < 65; i++) {
            assertEquals(i, all.get(i).offset());
        }
    }

    /**
     * The roll rule alone (the active file keeps a capacity above segment.bytes when the shrink
     * fails): no segment passes segment.bytes, whether appends come one batch at a time or as a
     * run of batches. Before, a segment rolled only once it had reached segment.bytes, and a run
     * filled the file's whole capacity.
     */
    @Test
    void everySegmentStaysWithinSegmentBytes_evenWhenItsFileIsLarger() throws IOException {
        dev.basalt.log.testkit.FaultyFileLayer faulty = new dev.basalt.log.testkit.FaultyFileLayer();
        manager.close();
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), faulty);
        PartitionLog log = manager.getOrCreate(TP, config); // capacity 4096
        log.appendAsLeader(TestBatches.batch(recs(0, "first")), 1);
        try (FetchSlice s = log.read(0, 1 << 20, Long.MAX_VALUE)) { // maps the active file, so grows it to 4096
            assertEquals(1, TestBatches.decode(s.records()).size());
        }
        faulty.failShrinks(true);
        log.updateConfig(config.withOverrides(Map.of(LogConfig.SEGMENT_BYTES, "1024"))); // the shrink fails: logged
        faulty.failShrinks(false);
        List<List<Rec>> run = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            run.add(recs(i, "run-" + i + "-" + "x".repeat(40)));
        }
        log.appendAsLeader(TestBatches.payload(run), 1); // one run of batches
        for (int i = 0; i < 30; i++) {
            log.appendAsLeader(TestBatches.batch(recs(i, "one-" + i + "-" + "x".repeat(40))), 1);
        }
        List<Long> bases = log.segmentBaseOffsets();
        assertTrue(bases.size() > 4, "segments: " + bases);
        for (int k = 0; k < bases.size() - 1; k++) {
            Path file = log.directory().resolve(dev.basalt.log.segment.Segment.fileName(bases.get(k)));
            assertTrue(java.nio.file.Files.size(file) <= 1024, file + " is " + java.nio.file.Files.size(file) + " bytes");
        }
        assertEquals(61, LogTestSupport.readAll(log, 0).size());
    }

    /**
     * Found probing (a data directory remounted read-only): the roll sealed the active segment,
     * could not create the next one, and left the log in service; every later append failed and the
     * leader kept its partitions. Now a log that cannot create a segment goes offline (reported, so
     * its leadership moves), except for a full disk, which refuses appends until space returns.
     */
    @Test
    void aRollThatCannotCreateItsSegment_takesTheLogOffline_butAFullDiskOrTooManyFilesOnlyFailTheAppend() throws IOException {
        dev.basalt.log.testkit.FaultyFileLayer faulty = new dev.basalt.log.testkit.FaultyFileLayer();
        manager.close();
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), faulty);
        LogConfig small = config.withOverrides(Map.of(LogConfig.SEGMENT_BYTES, "512"));
        PartitionLog full = manager.getOrCreate(new TopicPartition("full", 0), small);
        PartitionLog readOnly = manager.getOrCreate(new TopicPartition("ro", 0), small);
        String value = "x".repeat(200);
        for (PartitionLog log : List.of(full, readOnly)) {
            log.appendAsLeader(TestBatches.batch(recs(0, value)), 1);
            log.appendAsLeader(TestBatches.batch(recs(1, value)), 1); // the next one rolls
        }

        faulty.failCreates("No space left on device");
        assertThrows(LogStorageException.class, () -> full.appendAsLeader(TestBatches.batch(recs(2, value)), 1));
        assertFalse(full.isOffline(), "a full disk is not a reason to take the log offline");
        faulty.failCreates(null);
        manager.checkSpace(); // space is back (the manager noted the failed write as a full disk)
        full.appendAsLeader(TestBatches.batch(recs(2, value)), 1);
        assertEquals(3, LogTestSupport.readAll(full, 0).size());

        faulty.failCreates("Too many open files"); // may pass: not a reason to take the log offline either
        assertThrows(LogStorageException.class, () -> readOnly.appendAsLeader(TestBatches.batch(recs(2, value)), 1));
        assertFalse(readOnly.isOffline());

        faulty.failCreates("Read-only file system");
        LogStorageException e = assertThrows(LogStorageException.class,
                () -> readOnly.appendAsLeader(TestBatches.batch(recs(2, value)), 1));
        assertTrue(readOnly.isOffline(), "in service though no append can succeed");
        assertTrue(e.getMessage().contains("cannot create a new segment") && e.getMessage().contains("Read-only file system"),
                e.getMessage());
        faulty.failCreates(null);
        assertThrows(LogStorageException.class, () -> readOnly.appendAsLeader(TestBatches.batch(recs(2, value)), 1),
                "offline until a restart");
    }

    /** A batch larger than segment.bytes still gets a segment of its own, never refused or split. */
    @Test
    void aBatchLargerThanSegmentBytes_getsASegmentOfItsOwn() {
        PartitionLog log = manager.getOrCreate(TP, config.withOverrides(Map.of(LogConfig.SEGMENT_BYTES, "256")));
        log.appendAsLeader(TestBatches.batch(recs(1, "a")), 1);
        String big = "x".repeat(600);
        log.appendAsLeader(TestBatches.batch(recs(1, big)), 1);
        log.appendAsLeader(TestBatches.batch(recs(1, "c")), 1);
        assertEquals(List.of(0L, 1L, 2L), log.segmentBaseOffsets());
        assertEquals(List.of("a", big, "c"), LogTestSupport.readAll(log, 0).stream().map(TestBatches.Stored::value).toList());
    }

    @Test
    void rolls_onSegmentMs() {
        PartitionLog log = manager.getOrCreate(TP, config.withOverrides(Map.of(LogConfig.SEGMENT_MS, "1000")));
        log.appendAsLeader(TestBatches.batch(recs(1, "a")), 1);
        clock.advance(999);
        log.appendAsLeader(TestBatches.batch(recs(1, "b")), 1);
        assertEquals(1, log.segmentBaseOffsets().size());
        clock.advance(1);
        log.appendAsLeader(TestBatches.batch(recs(1, "c")), 1);
        assertEquals(List.of(0L, 2L), log.segmentBaseOffsets());
    }

    @Test
    void offsetForTimestamp_findsFirstRecordAtOrAfter() {
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 200; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(1000 + 10L * i, "k", "v" + i))), 1);
        }
        assertEquals(Optional.of(new TimestampOffset(1000, 0)), log.offsetForTimestamp(0));
        assertEquals(Optional.of(new TimestampOffset(1500, 50)), log.offsetForTimestamp(1500));
        assertEquals(Optional.of(new TimestampOffset(1510, 51)), log.offsetForTimestamp(1501));
        assertEquals(Optional.empty(), log.offsetForTimestamp(1000 + 10L * 200));
    }

    @Test
    void offsetForTimestamp_outOfOrderTimestamps_findsTheFirstLargeEnough() {
        PartitionLog log = manager.getOrCreate(TP, config);
        long[] ts = {100, 500, 200, 300, 900, 50, 600};
        for (long t : ts) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(t, "k", "v"))), 1);
        }
        assertEquals(1, log.offsetForTimestamp(400).orElseThrow().offset());
        assertEquals(4, log.offsetForTimestamp(700).orElseThrow().offset());
        assertEquals(0, log.offsetForTimestamp(60).orElseThrow().offset());
    }

    @Test
    void logAppendTime_stampsBrokerTime_andKeepsCrcValid() {
        PartitionLog log = manager.getOrCreate(TP, config.withOverrides(Map.of(LogConfig.MESSAGE_TIMESTAMP_TYPE, "LogAppendTime")));
        AppendInfo info = log.appendAsLeader(TestBatches.batch(recs(5, "a")), 1);
        assertEquals(clock.millis(), info.logAppendTimeMs());
        try (FetchSlice s = log.read(0, 1000, Long.MAX_VALUE)) {
            RecordBatch b = RecordBatch.wrap(s.records());
            b.validate(Integer.MAX_VALUE);
            assertEquals(TimestampType.LOG_APPEND_TIME, b.timestampType());
            assertEquals(clock.millis(), b.maxTimestamp());
        }
    }

    @Test
    void badInput_isRejectedWithTypedErrors_andNothingIsAppended() {
        PartitionLog log = manager.getOrCreate(TP, config.withOverrides(Map.of(LogConfig.MAX_MESSAGE_BYTES, "200")));
        ByteBuffer corrupt = TestBatches.batch(recs(5, "a"));
        corrupt.put(corrupt.limit() - 1, (byte) (corrupt.get(corrupt.limit() - 1) ^ 1));
        assertThrows(CorruptRecordException.class, () -> log.appendAsLeader(corrupt, 1));
        assertThrows(RecordTooLargeException.class, () -> log.appendAsLeader(TestBatches.batch(recs(5, "x".repeat(300))), 1));
        ByteBuffer truncated = TestBatches.batch(recs(5, "a"));
        truncated.limit(truncated.limit() - 3);
        assertThrows(CorruptRecordException.class, () -> log.appendAsLeader(truncated, 1));
        assertThrows(CorruptRecordException.class, () -> log.appendAsLeader(ByteBuffer.allocate(0), 1));
        assertEquals(0, log.logEndOffset());
        PartitionLog compacted = manager.getOrCreate(new TopicPartition("compacted", 0),
                config.withOverrides(Map.of(LogConfig.CLEANUP_POLICY, "compact")));
        assertThrows(CorruptRecordException.class,
                () -> compacted.appendAsLeader(TestBatches.batch(List.of(new Rec(1, null, "v"))), 1));
        assertEquals(0, compacted.logEndOffset());
    }

    @Test
    void followerAppend_refusesBatchesBelowItsLogEnd() {
        PartitionLog leader = manager.getOrCreate(TP, config);
        PartitionLog follower = manager.getOrCreate(new TopicPartition("orders", 1), config);
        leader.appendAsLeader(TestBatches.batch(recs(5, "a", "b")), 3);
        leader.appendAsLeader(TestBatches.batch(recs(5, "c")), 4);
        try (FetchSlice s = leader.read(0, 1 << 20, Long.MAX_VALUE)) {
            follower.appendAsFollower(s.records());
        }
        assertEquals(3, follower.logEndOffset());
        assertEquals(leader.epochEntries(), follower.epochEntries());
        try (FetchSlice s = leader.read(0, 1 << 20, Long.MAX_VALUE)) {
            assertThrows(CorruptRecordException.class, () -> follower.appendAsFollower(s.records()));
        }
        assertEquals(LogTestSupport.readAll(leader, 0), LogTestSupport.readAll(follower, 0));
    }

    /**
     * A compacted leader's log has gaps where whole batches were removed (probe, 2026-12-02: a new
     * replica stayed stuck at offset 0 behind a leader whose first batch was at 2, and never
     * joined the ISR). The follower keeps the gaps; a batch below its log end is still refused.
     */
    @Test
    void followerAppend_keepsTheGapsCompactionLeftOnTheLeader() {
        PartitionLog follower = manager.getOrCreate(TP, config);
        ByteBuffer payload = ByteBuffer.allocate(4096);
        for (long[] b : new long[][] {{2, 3}, {7, 1}, {20, 2}}) { // base offset, records
            RecordBatchBuilder builder = new RecordBatchBuilder(payload.slice(), 1000).baseOffset(b[0]).partitionLeaderEpoch(1);
            for (int i = 0; i < b[1]; i++) {
                assertTrue(builder.tryAppend(1000, ("k" + (b[0] + i)).getBytes(), ("v" + (b[0] + i)).getBytes(), List.of()));
            }
            payload.position(payload.position() + builder.build().sizeInBytes());
        }
        payload.flip();
        follower.appendAsFollower(payload.duplicate());
        assertEquals(22, follower.logEndOffset());
        assertEquals(List.of(2L, 3L, 4L, 7L, 20L, 21L),
                LogTestSupport.readAll(follower, 0).stream().map(TestBatches.Stored::offset).toList());
        assertThrows(CorruptRecordException.class, () -> follower.appendAsFollower(payload.duplicate()));
        assertEquals(22, follower.logEndOffset());
        manager.close();
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        PartitionLog reopened = manager.get(TP);
        assertEquals(22, reopened.logEndOffset());
        assertEquals(List.of(2L, 3L, 4L, 7L, 20L, 21L),
                LogTestSupport.readAll(reopened, 0).stream().map(TestBatches.Stored::offset).toList());
    }

    @Test
    void appendAsLeader_olderEpoch_isRefusedAndWritesNothing() {
        // Issue 9 §1: the epoch check and the append are one step; a deposed epoch leaves no trace.
        PartitionLog log = manager.getOrCreate(TP, config);
        log.appendAsLeader(TestBatches.batch(recs(1, "a")), 3);
        log.assignEpoch(5, log.logEndOffset());
        StaleLeaderEpochException e = assertThrows(StaleLeaderEpochException.class,
                () -> log.appendAsLeader(TestBatches.batch(recs(2, "stale")), 4));
        assertEquals(5, e.latestEpoch());
        assertEquals(1, log.logEndOffset());
        assertEquals(List.of(new dev.basalt.log.index.LeaderEpochCache.EpochEntry(3, 0),
                new dev.basalt.log.index.LeaderEpochCache.EpochEntry(5, 1)), log.epochEntries());
        assertThrows(StaleLeaderEpochException.class, () -> log.assignEpoch(4, 1));
        assertEquals(1, log.appendAsLeader(TestBatches.batch(recs(3, "b")), 5).firstOffset());
    }

    /**
     * Found probing: an RF-1 partition whose node restarted twice with no append between was led
     * in epochs 4 and 6 from the same log end; the records then acknowledged in epoch 6 were read
     * back as corrupt (their epoch field against the cache's epoch 4) and, as the only copy,
     * declared lost with appends refused.
     */
    @Test
    void aLeaderElectedTwiceAtTheSameLogEnd_readsBackWhatItThenWrites() {
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 5; i++) {
            log.appendAsLeader(TestBatches.batch(recs(i, "v" + i)), 2);
        }
        log.assignEpoch(4, log.logEndOffset());
        manager.close();
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        PartitionLog again = manager.get(TP);
        again.assignEpoch(6, again.logEndOffset());
        for (int i = 5; i < 10; i++) {
            again.appendAsLeader(TestBatches.batch(recs(i, "v" + i)), 6);
        }
        again.updateHighWatermark(again.logEndOffset());
        assertEquals(10, LogTestSupport.readAll(again, 0).size(), "every record reads back");
        assertEquals(null, again.offlineReason(), "nothing taken for damage");
        assertEquals(null, again.corruptFrom(), "no batch taken for damage");
        assertEquals(List.of(new dev.basalt.log.index.LeaderEpochCache.EpochEntry(2, 0),
                new dev.basalt.log.index.LeaderEpochCache.EpochEntry(6, 5)), again.epochEntries());
    }

    @Test
    void appendAsFollower_batchOfOlderEpochThanLog_isRefused() {
        PartitionLog leader = manager.getOrCreate(new TopicPartition("src", 0), config);
        leader.appendAsLeader(TestBatches.batch(recs(1, "a")), 2);
        PartitionLog follower = manager.getOrCreate(TP, config);
        follower.assignEpoch(3, 0); // the follower's own later epoch, never truncated away
        try (FetchSlice s = leader.read(0, 1 << 20, Long.MAX_VALUE)) {
            assertThrows(StaleLeaderEpochException.class, () -> follower.appendAsFollower(s.records()));
        }
        assertEquals(0, follower.logEndOffset());
    }

    /**
     * A former leader that wrote nothing in its own epoch, now a follower: the leader answers an
     * older epoch, the follower truncates to its log end, and that must drop its empty epoch (else
     * each OffsetForLeaderEpoch round asked about it again: 64 rounds, ~30 s in which the idle
     * partition fetched nothing and left the ISR, found probing a cluster after a leader rebalance).
     */
    @Test
    void truncateTo_theLogEnd_dropsAnEpochStartedThereWithNoRecords() {
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 10; i++) {
            log.appendAsLeader(TestBatches.batch(recs(i, "v" + i)), 0);
        }
        log.assignEpoch(1, log.logEndOffset()); // elected, nothing written in epoch 1
        assertEquals(1, log.latestEpoch());
        assertEquals(10, log.truncateTo(10));
        assertEquals(0, log.latestEpoch(), "the empty epoch 1 is gone");
        assertEquals(10, log.logEndOffset());
        manager.close();
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        assertEquals(0, manager.get(TP).latestEpoch(), "persisted");
    }

    @Test
    void truncateTo_removesTail_atBatchBoundary_andAppendsContinue() {
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 60; i++) {
            log.appendAsLeader(TestBatches.batch(recs(i, "v" + i, "w" + i)), 1);
        }
        long end = log.truncateTo(51); // inside the batch [50, 51]
        assertEquals(50, end);
        assertEquals(50, log.logEndOffset());
        log.appendAsLeader(TestBatches.batch(recs(99, "new")), 2);
        List<TestBatches.Stored> all = LogTestSupport.readAll(log, 0);
        assertEquals(51, all.size());
        assertEquals("new", all.get(50).value());
        assertEquals(50, all.get(50).offset());
        assertThrows(OffsetOutOfRangeException.class, () -> log.truncateTo(-1));
    }

    @Test
    void sequentialReads_startWhereTheLastEnded_andTruncationOrEarlierReadsAreNotMisled() {
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 40; i++) {
            log.appendAsLeader(TestBatches.batch(recs(i, "v" + i)), 1);
        }
        // one batch per read: every read after the first starts from where the previous ended
        long next = 0;
        for (int i = 0; i < 40; i++) {
            try (FetchSlice s = log.read(next, 1, Long.MAX_VALUE)) {
                List<TestBatches.Stored> got = TestBatches.decode(s.records());
                assertEquals(List.of("v" + i), got.stream().map(TestBatches.Stored::value).toList());
                assertEquals(i, got.get(0).offset());
                next = s.nextOffset();
            }
        }
        // a reader behind the remembered ends, and one in the middle of them
        try (FetchSlice s = log.read(5, 1, Long.MAX_VALUE)) {
            assertEquals("v5", TestBatches.decode(s.records()).get(0).value());
        }
        try (FetchSlice s = log.read(30, 1, Long.MAX_VALUE)) {
            assertEquals("v30", TestBatches.decode(s.records()).get(0).value());
        }
        // the read from 30 remembered where 31 starts; a truncation below it and appends of
        // differently sized batches move every batch, and the next read of 31 must see the new one
        log.truncateTo(28);
        for (int j = 0; j < 4; j++) {
            log.appendAsLeader(TestBatches.batch(recs(100 + j, "n" + j + "a", "n" + j + "b", "n" + j + "c")), 2);
        }
        try (FetchSlice s = log.read(31, 1, Long.MAX_VALUE)) {
            List<TestBatches.Stored> got = TestBatches.decode(s.records());
            assertEquals(31, got.get(0).offset());
            assertEquals(List.of("n1a", "n1b", "n1c"), got.stream().map(TestBatches.Stored::value).toList());
        }
        assertEquals(LogTestSupport.readAll(log, 0).stream().map(TestBatches.Stored::offset).toList(),
                java.util.stream.LongStream.range(0, 40).boxed().toList());
    }

    @Test
    void truncateFullyAndStartAt_emptiesLog() {
        PartitionLog log = manager.getOrCreate(TP, config);
        log.appendAsLeader(TestBatches.batch(recs(5, "a", "b")), 1);
        log.truncateFullyAndStartAt(1000);
        assertEquals(1000, log.logStartOffset());
        assertEquals(1000, log.logEndOffset());
        assertThrows(OffsetOutOfRangeException.class, () -> log.read(0, 100, Long.MAX_VALUE));
        AppendInfo a = log.appendAsLeader(TestBatches.batch(recs(5, "c")), 1);
        assertEquals(1000, a.firstOffset());
        assertEquals("c", LogTestSupport.readAll(log, 1000).get(0).value());
    }

    @Test
    void epochCache_followsKafkaOffsetForLeaderEpoch() {
        PartitionLog log = manager.getOrCreate(TP, config);
        log.appendAsLeader(TestBatches.batch(recs(5, "a", "b")), 1); // epoch 1: [0, 2)
        log.appendAsLeader(TestBatches.batch(recs(5, "c")), 3);      // epoch 3: [2, 3)
        log.appendAsLeader(TestBatches.batch(recs(5, "d")), 5);      // epoch 5: [3, ...)
        assertEquals(new EpochEndOffset(5, 4), log.endOffsetFor(5));
        assertEquals(new EpochEndOffset(3, 3), log.endOffsetFor(4));
        assertEquals(new EpochEndOffset(1, 2), log.endOffsetFor(1));
        assertEquals(new EpochEndOffset(0, 0), log.endOffsetFor(0));
        assertEquals(EpochEndOffset.UNDEFINED, log.endOffsetFor(6));
        log.truncateTo(2);
        assertEquals(new EpochEndOffset(1, 2), log.endOffsetFor(1));
        assertEquals(1, log.latestEpoch());
    }

    @Test
    void highWatermark_isClamped_andSurvivesReopen() {
        PartitionLog log = manager.getOrCreate(TP, config);
        log.appendAsLeader(TestBatches.batch(recs(5, "a", "b", "c")), 1);
        assertEquals(3, log.updateHighWatermark(10));
        assertEquals(2, log.updateHighWatermark(2));
        manager.close();
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        assertEquals(2, manager.get(TP).highWatermark());
        assertEquals(3, manager.get(TP).logEndOffset());
    }

    @Test
    void readOnlyPayload_isCopied_callerBufferUntouched() {
        PartitionLog log = manager.getOrCreate(TP, config);
        log.appendAsLeader(TestBatches.batch(recs(5, "a")), 1);
        ByteBuffer ro = TestBatches.batch(recs(5, "b")).asReadOnlyBuffer();
        byte[] before = new byte[ro.remaining()];
        ro.duplicate().get(before);
        assertEquals(1, log.appendAsLeader(ro, 1).firstOffset());
        byte[] after = new byte[ro.remaining()];
        ro.duplicate().get(after);
        assertArrayEquals(before, after);
        assertFalse(LogTestSupport.readAll(log, 0).isEmpty());
    }

    @Test
    void append_recordTimestampsOutsideConfiguredBounds_areInvalidRecord_andNothingIsAppended() {
        // clock at 1,000,000 ms; a record may be at most 1,000 ms older or 500 ms newer
        LogConfig bounded = config.withOverrides(Map.of(LogConfig.MESSAGE_TIMESTAMP_BEFORE_MAX_MS, "1000",
                LogConfig.MESSAGE_TIMESTAMP_AFTER_MAX_MS, "500"));
        PartitionLog log = manager.getOrCreate(TP, bounded);
        log.appendAsLeader(TestBatches.batch(recs(999_000, "oldest-ok")), 1);
        log.appendAsLeader(TestBatches.batch(recs(1_000_500, "newest-ok")), 1);
        assertThrows(dev.basalt.record.InvalidRecordException.class,
                () -> log.appendAsLeader(TestBatches.batch(recs(998_999, "too-old")), 1));
        assertThrows(dev.basalt.record.InvalidRecordException.class,
                () -> log.appendAsLeader(TestBatches.batch(recs(1_000_501, "too-new")), 1));
        assertThrows(dev.basalt.record.InvalidRecordException.class,
                () -> log.appendAsLeader(TestBatches.batch(recs(Long.MIN_VALUE + 5, "hostile")), 1));
        assertEquals(2, log.logEndOffset());
        // LogAppendTime topics stamp the broker's time: the bounds do not apply
        LogConfig appendTime = bounded.withOverrides(Map.of(LogConfig.MESSAGE_TIMESTAMP_TYPE, "LogAppendTime"));
        PartitionLog other = manager.getOrCreate(new TopicPartition("stamped", 0), appendTime);
        other.appendAsLeader(TestBatches.batch(recs(5, "ancient")), 1);
        assertEquals(1, other.logEndOffset());
    }

    /**
     * Found probing: a record stamped Long.MAX_VALUE was accepted, and would have kept its segment
     * from time retention for ever. The default bound is one hour ahead (Kafka 4's); every record
     * of a batch counts, not only the first or the header's maximum.
     */
    @Test
    void append_byDefault_refusesRecordsStampedMoreThanAnHourAhead_checkingEveryRecord() {
        assertEquals(3_600_000L, config.timestampAfterMaxMs());
        PartitionLog log = manager.getOrCreate(TP, config);
        long now = 1_000_000; // the manual clock
        log.appendAsLeader(TestBatches.batch(recs(now + 3_600_000, "an-hour-ahead")), 1);
        assertThrows(dev.basalt.record.InvalidRecordException.class,
                () -> log.appendAsLeader(TestBatches.batch(recs(Long.MAX_VALUE, "for-ever")), 1));
        List<Rec> mixed = new ArrayList<>(recs(now, "a"));
        mixed.addAll(recs(now + 3_600_001, "b")); // the middle record is the one too far ahead
        mixed.addAll(recs(now, "c"));
        dev.basalt.record.InvalidRecordException e = assertThrows(dev.basalt.record.InvalidRecordException.class,
                () -> log.appendAsLeader(TestBatches.batch(mixed), 1));
        assertTrue(e.getMessage().contains("record timestamp " + (now + 3_600_001)), e.getMessage());
        assertEquals(1, log.logEndOffset(), "nothing of a refused batch is appended");
        List<Rec> older = new ArrayList<>(recs(now, "d"));
        older.addAll(recs(3, "ancient")); // no bound on the past by default
        log.appendAsLeader(TestBatches.batch(older), 1);
        assertEquals(3, log.logEndOffset());
        // A batch marked LogAppendTime would be stored with the maxTimestamp it claims (review
        // finding): a CreateTime topic refuses it; a LogAppendTime topic stamps it as always.
        ByteBuffer marked = TestBatches.batch(recs(now, "e"));
        marked.putLong(RecordBatch.MAX_TIMESTAMP_OFFSET, Long.MAX_VALUE);
        marked.putShort(RecordBatch.ATTRIBUTES_OFFSET, (short) RecordBatch.TIMESTAMP_TYPE_MASK);
        TestBatches.reseal(marked);
        assertThrows(dev.basalt.record.InvalidRecordException.class, () -> log.appendAsLeader(marked.duplicate(), 1));
        assertEquals(3, log.logEndOffset());
        PartitionLog stamped = manager.getOrCreate(new TopicPartition("stamped-lat", 0),
                config.withOverrides(Map.of(LogConfig.MESSAGE_TIMESTAMP_TYPE, "LogAppendTime")));
        stamped.appendAsLeader(marked.duplicate(), 1);
        try (FetchSlice slice = stamped.read(0, 64 * 1024, Long.MAX_VALUE)) {
            assertEquals(now, RecordBatch.wrap(slice.records().duplicate()).maxTimestamp(), "the broker's time, not the claimed one");
        }
    }

    @Test
    void append_producerRulesApplyToLeaderAppendsOnly() {
        PartitionLog log = manager.getOrCreate(TP, config);
        ByteBuffer control = TestBatches.batch(recs(5, "a"));
        control.putShort(RecordBatch.ATTRIBUTES_OFFSET, (short) RecordBatch.CONTROL_MASK);
        TestBatches.reseal(control);
        assertThrows(dev.basalt.record.InvalidRecordException.class, () -> log.appendAsLeader(control.duplicate(), 1));
        assertEquals(0, log.logEndOffset());
        // a follower stores what its leader stored (a broker-written control batch, say)
        control.putLong(RecordBatch.BASE_OFFSET_OFFSET, 0);
        control.putInt(RecordBatch.PARTITION_LEADER_EPOCH_OFFSET, 1);
        log.appendAsFollower(control.duplicate());
        assertEquals(1, log.logEndOffset());
    }
}
