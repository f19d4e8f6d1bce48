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
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterTry;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;

/**
 * Stateful, model-based test of the partition log (DESIGN §8): random sequences of append,
 * read, read-by-timestamp, truncate, roll, retention, compaction, clean close/reopen and crash
 * (cut the newest segment at a random byte after the recovery point, or flip a random CRC'd
 * byte there), checked against an in-memory model (a list of records with offsets) after every
 * step: log start/end offsets, every record readable in order, reads at random offsets, reads by
 * timestamp, recovery ends exactly at the first damaged batch.
 *
 * <p>Reproduce: jqwik prints the failing seed and the shrunk action sequence; put the seed in
 * {@code @Property(seed = "...")} and run {@code ./mvnw -B -ntp -pl log-engine -am verify
 * -Dtest=PartitionLogModelProperties -Dsurefire.failIfNoSpecifiedTests=false}. The long run
 * ({@code -Plong-tests}) tries many more chains.
 */
class PartitionLogModelProperties {
    private static final TopicPartition TP = new TopicPartition("model", 0);
    private final List<LogUnderTest> opened = new ArrayList<>();

    @Property(tries = 15, shrinking = net.jqwik.api.ShrinkingMode.FULL)
    void logMatchesModel(@ForAll("chains") ActionChain<LogUnderTest> chain) {
        chain.run();
    }

    @Property(tries = 300)
    void logMatchesModelLong(@ForAll("longChains") ActionChain<LogUnderTest> chain) {
        // Only under -Plong-tests; otherwise the chains are never run (nothing is created).
        if (Boolean.getBoolean("basalt.long")) {
            chain.run();
        }
    }

    @AfterTry
    void cleanUp() {
        for (LogUnderTest t : opened) {
            t.dispose();
        }
        opened.clear();
    }

    @Provide
    Arbitrary<ActionChain<LogUnderTest>> chains() {
        return chain(30);
    }

    @Provide
    Arbitrary<ActionChain<LogUnderTest>> longChains() {
        return chain(120);
    }

    private Arbitrary<ActionChain<LogUnderTest>> chain(int steps) {
        return ActionChain.<LogUnderTest>startWith(() -> {
                    LogUnderTest t = new LogUnderTest();
                    opened.add(t);
                    return t;
                })
                .withAction(8, new Append())
                .withAction(3, new Read())
                .withAction(2, new ReadByTimestamp())
                .withAction(2, new Truncate())
                .withAction(1, new Roll())
                .withAction(1, new Retention())
                .withAction(2, new Compaction())
                .withAction(1, new Reopen())
                .withAction(2, new Crash())
                .withAction(2, new AdvanceClock())
                .withMaxTransformations(steps);
    }

    // ------------------------------------------------------------------ the system and its model

    /** The log under test plus the model it must match. Not thread-safe; one per chain. */
    static final class LogUnderTest {
        final Path dir;
        final ManualClock clock = new ManualClock(1_000_000);
        final LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "1024", LogConfig.INDEX_INTERVAL_BYTES,
                "128", LogConfig.CLEANUP_POLICY, "compact,delete", LogConfig.DELETE_RETENTION_MS, "5000",
                LogConfig.RETENTION_MS, "-1", LogConfig.MIN_CLEANABLE_DIRTY_RATIO, "0"));
        LogManager manager;
        PartitionLog log;
        /** Records by offset, each with the (base, last) offsets of its batch. */
        final List<long[]> batches = new ArrayList<>();
        final List<Stored> records = new ArrayList<>();
        /** Delete horizon of each tombstone a compaction pass has kept, by offset. */
        final Map<Long, Long> horizons = new HashMap<>();
        long logStart;
        long logEnd;
        int epoch = 1;

        LogUnderTest() {
            try {
                dir = Files.createTempDirectory("model-log");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            open();
            log = manager.getOrCreate(TP, config);
        }

        void open() {
            manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
            if (manager.partitions().contains(TP)) {
                log = manager.get(TP);
            }
        }

        void dispose() {
            if (manager != null) {
                manager.close();
                manager = null;
            }
            LogTestSupport.deleteRecursively(dir);
        }

        void dropRecordsFrom(long newEnd) {
            records.removeIf(r -> r.offset() >= newEnd);
            batches.removeIf(b -> b[0] >= newEnd);
            horizons.keySet().removeIf(o -> o >= newEnd);
            logEnd = newEnd;
        }

        void dropRecordsBefore(long newStart) {
            records.removeIf(r -> r.offset() < newStart);
            batches.removeIf(b -> b[1] < newStart);
            logStart = newStart;
        }

        void check() {
            assertEquals(logStart, log.logStartOffset(), "log start offset");
            assertEquals(logEnd, log.logEndOffset(), "log end offset");
            assertEquals(records, LogTestSupport.readAll(log, logStart), "all records");
            assertTrue(log.highWatermark() >= logStart && log.highWatermark() <= logEnd, "hw in range");
        }

        @Override
        public String toString() {
            return "LogUnderTest(start=" + logStart + ", end=" + logEnd + ", records=" + records.size() + ")";
        }
    }

    // ------------------------------------------------------------------ actions

    static final class Append implements Action.Independent<LogUnderTest> {
        @Override
        public Arbitrary<Transformer<LogUnderTest>> transformer() {
            // Now and then a timestamp far in the past (a skewed producer clock): its tombstone
            // must still live delete.retention.ms after compaction first keeps it.
            Arbitrary<Long> offsetMs = Arbitraries.frequencyOf(Tuple.of(9, Arbitraries.longs().between(-50, 200)),
                    Tuple.of(1, Arbitraries.longs().between(-100_000, -5_000)));
            Arbitrary<Rec> rec = Combinators.combine(offsetMs,
                    Arbitraries.integers().between(0, 6), Arbitraries.strings().alpha().ofMaxLength(40),
                    Arbitraries.integers().between(0, 9)).as((dt, k, v, tomb) -> new Rec(dt, "key" + k, tomb == 0 ? null : v));
            Arbitrary<List<List<Rec>>> payload = rec.list().ofMinSize(1).ofMaxSize(5).list().ofMinSize(1).ofMaxSize(3);
            return Combinators.combine(payload, Arbitraries.of(false, true))
                    .as((batches, newEpoch) -> Transformer.mutate("append " + batches.size() + " batches" + (newEpoch ? " (new epoch)" : ""),
                            t -> append(t, batches, newEpoch)));
        }

        private static void append(LogUnderTest t, List<List<Rec>> payload, boolean newEpoch) {
            List<List<Rec>> timed = new ArrayList<>();
            for (List<Rec> b : payload) {
                timed.add(b.stream().map(r -> new Rec(t.clock.millis() + r.timestamp(), r.key(), r.value())).toList());
            }
            if (newEpoch) {
                t.epoch++;
            }
            AppendInfo info = t.log.appendAsLeader(TestBatches.payload(timed), t.epoch);
            assertEquals(t.logEnd, info.firstOffset());
            long off = t.logEnd;
            for (List<Rec> b : timed) {
                t.batches.add(new long[] {off, off + b.size() - 1});
                for (Rec r : b) {
                    t.records.add(new Stored(off++, r.timestamp(), r.key(), r.value()));
                }
            }
            assertEquals(off - 1, info.lastOffset());
            t.logEnd = off;
            t.check();
        }
    }

    static final class Read implements Action.Independent<LogUnderTest> {
        @Override
        public Arbitrary<Transformer<LogUnderTest>> transformer() {
            return Combinators.combine(Arbitraries.doubles().between(0, 1), Arbitraries.integers().between(0, 3000))
                    .as((where, maxBytes) -> Transformer.mutate("read at " + where + " max " + maxBytes, t -> {
                        long offset = t.logStart + (long) (where * (t.logEnd - t.logStart));
                        try (FetchSlice s = t.log.read(offset, maxBytes, Long.MAX_VALUE)) {
                            List<Stored> got = TestBatches.decode(s.records());
                            List<Stored> expected = t.records.stream()
                                    .filter(r -> r.offset() >= offset && r.offset() < s.nextOffset()).toList();
                            assertEquals(expected, got.stream().filter(r -> r.offset() >= offset).toList());
                            if (t.records.stream().anyMatch(r -> r.offset() >= offset)) {
                                assertTrue(!s.isEmpty(), "a read below the end returns at least one batch");
                                assertTrue(s.sizeBytes() <= Math.max(maxBytes, firstBatchBytes(s)), "maxBytes respected");
                            }
                        }
                    }));
        }

        private static int firstBatchBytes(FetchSlice s) {
            ByteBuffer b = s.records();
            return b.getInt(8) + 12;
        }
    }

    static final class ReadByTimestamp implements Action.Independent<LogUnderTest> {
        @Override
        public Arbitrary<Transformer<LogUnderTest>> transformer() {
            return Arbitraries.longs().between(-100, 400).map(delta -> Transformer.mutate("offsetForTimestamp now+" + delta, t -> {
                long ts = t.clock.millis() + delta;
                Optional<TimestampOffset> expected = t.records.stream().filter(r -> r.timestamp() >= ts).findFirst()
                        .map(r -> new TimestampOffset(r.timestamp(), r.offset()));
                assertEquals(expected, t.log.offsetForTimestamp(ts));
            }));
        }
    }

    static final class Truncate implements Action.Independent<LogUnderTest> {
        @Override
        public Arbitrary<Transformer<LogUnderTest>> transformer() {
            return Arbitraries.doubles().between(0, 1).map(where -> Transformer.mutate("truncate at " + where, t -> {
                long offset = t.logStart + (long) (where * (t.logEnd - t.logStart));
                // The cut is at a batch boundary at or below offset, keeping every batch that ends below it.
                long upper = Math.min(offset, t.logEnd);
                long lower = t.logStart;
                for (long[] b : t.batches) {
                    if (b[0] <= offset && offset <= b[1]) {
                        upper = Math.min(upper, b[0]);
                    }
                    if (b[1] < offset) {
                        lower = Math.max(lower, b[1] + 1);
                    }
                }
                long expected = t.log.truncateTo(offset);
                assertTrue(expected >= Math.min(lower, upper) && expected <= upper,
                        "new end " + expected + " within [" + lower + ", " + upper + "]");
                t.dropRecordsFrom(expected);
                t.check();
            }));
        }
    }

    static final class Roll implements Action.Independent<LogUnderTest> {
        @Override
        public Arbitrary<Transformer<LogUnderTest>> transformer() {
            return Arbitraries.just(Transformer.mutate("roll", t -> {
                t.log.roll();
                t.check();
            }));
        }
    }

    static final class Retention implements Action.Independent<LogUnderTest> {
        @Override
        public Arbitrary<Transformer<LogUnderTest>> transformer() {
            return Combinators.combine(Arbitraries.integers().between(0, 6000), Arbitraries.doubles().between(0, 1))
                    .as((bytes, hwAt) -> Transformer.mutate("retention.bytes=" + bytes + " hw at " + hwAt, t -> {
                        long hw = t.log.updateHighWatermark(t.logStart + (long) (hwAt * (t.logEnd - t.logStart)));
                        t.log.updateConfig(t.config.withOverrides(Map.of(LogConfig.RETENTION_BYTES, Integer.toString(bytes))));
                        t.manager.runRetentionOnce(t.clock.millis());
                        t.log.updateConfig(t.config);
                        long start = t.log.logStartOffset();
                        assertTrue(start >= t.logStart && start <= hw, "start " + start + " within [old start, hw " + hw + "]");
                        t.dropRecordsBefore(start);
                        t.check();
                    }));
        }
    }

    static final class Compaction implements Action.Independent<LogUnderTest> {
        @Override
        public Arbitrary<Transformer<LogUnderTest>> transformer() {
            return Arbitraries.just(Transformer.mutate("roll + compact everything", t -> {
                t.log.roll();
                t.log.updateHighWatermark(t.logEnd);
                t.manager.compactOnce(TP, t.clock.millis());
                applyCompaction(t, t.clock.millis());
                t.check();
            }));
        }

        /**
         * The model's compaction: latest record per key; a tombstone goes at the first pass at or
         * after its horizon, which the first pass that keeps it sets to now + delete.retention.ms
         * (every segment is covered here, the pass runs after a roll with the whole log committed).
         */
        private static void applyCompaction(LogUnderTest t, long nowMs) {
            Map<String, Long> latest = new HashMap<>();
            for (Stored r : t.records) {
                latest.put(r.key(), r.offset());
            }
            t.records.removeIf(r -> latest.get(r.key()) != r.offset()
                    || (r.value() == null && nowMs >= t.horizons.getOrDefault(r.offset(), Long.MAX_VALUE)));
            t.horizons.keySet().retainAll(t.records.stream().map(Stored::offset).toList());
            for (Stored r : t.records) {
                if (r.value() == null) {
                    t.horizons.putIfAbsent(r.offset(), nowMs + t.config.deleteRetentionMs());
                }
            }
            t.batches.removeIf(b -> t.records.stream().noneMatch(r -> r.offset() >= b[0] && r.offset() <= b[1]));
        }
    }

    static final class Reopen implements Action.Independent<LogUnderTest> {
        @Override
        public Arbitrary<Transformer<LogUnderTest>> transformer() {
            return Arbitraries.just(Transformer.mutate("close + reopen", t -> {
                t.manager.close();
                t.open();
                t.check();
            }));
        }
    }

    static final class Crash implements Action.Independent<LogUnderTest> {
        @Override
        public Arbitrary<Transformer<LogUnderTest>> transformer() {
            return Combinators.combine(Arbitraries.of(false, true), Arbitraries.of(false, true), Arbitraries.doubles().between(0, 1))
                    .as((flushFirst, flip, where) -> Transformer.mutate(
                            "crash" + (flushFirst ? " after flush" : "") + (flip ? ", flip a byte" : ", cut the tail") + " at " + where,
                            t -> crash(t, flushFirst, flip, where)));
        }

        private static void crash(LogUnderTest t, boolean flushFirst, boolean flip, double where) {
            if (flushFirst) {
                t.log.flush();
            }
            List<Long> bases = t.log.segmentBaseOffsets();
            Path newest = t.log.directory().resolve(Segment.fileName(bases.get(bases.size() - 1)));
            LogTestHooks.crash(t.manager);
            // Read after the crash: a flush started by a roll may have finished while stopping.
            long recoveryPoint = t.log.recoveryPoint();
            // Damage only what was never fsynced: batches at or after the recovery point.
            List<long[]> unflushed = LogTestSupport.batchPositions(newest).stream().filter(b -> b[1] >= recoveryPoint).toList();
            long expectedEnd = t.logEnd;
            if (!unflushed.isEmpty()) {
                long[] victim = unflushed.get((int) (where * unflushed.size()) % unflushed.size());
                damage(newest, victim, flip, where);
                expectedEnd = victim[1];
            }
            t.open();
            assertEquals(expectedEnd, t.log.logEndOffset(), "recovery ends at the first damaged batch");
            assertTrue(t.log.logEndOffset() >= recoveryPoint, "nothing fsynced is lost");
            t.dropRecordsFrom(expectedEnd);
            t.check();
        }

        /** Cuts the file inside the victim batch, or flips one of its CRC-covered bytes. */
        private static void damage(Path file, long[] victim, boolean flip, double where) {
            long start = victim[0];
            long end = victim[2];
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                if (flip) {
                    long pos = start + 21 + (long) (where * (end - start - 21 - 1));
                    ByteBuffer b = ByteBuffer.allocate(1);
                    ch.read(b, pos);
                    b.put(0, (byte) (b.get(0) ^ 0x20)).rewind();
                    ch.write(b, pos);
                } else {
                    ch.truncate(start + (long) (where * (end - start - 1)));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static final class AdvanceClock implements Action.Independent<LogUnderTest> {
        @Override
        public Arbitrary<Transformer<LogUnderTest>> transformer() {
            return Arbitraries.longs().between(1, 4000).map(ms -> Transformer.mutate("advance clock " + ms + " ms", t -> t.clock.advance(ms)));
        }
    }
}
