package dev.basalt.log.bench;

import dev.basalt.log.FetchSlice;
import dev.basalt.log.LogManager;
import dev.basalt.log.PartitionLog;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Reads from a 2 GiB log of 1 KiB records in 64 KiB batches across 21 segments of 100 MiB, all
 * in the page cache after the build: sequential 1 MiB fetches (each byte is read, 8 at a time, so
 * the zero-copy view is really consumed: bytes/s = ops/s × ~1 MiB), and single-offset lookups at
 * random offsets (RocksDB seek-for-prev + header scan + slice), sampled for p50/p99.
 */
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 4, time = 4)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-XX:+UseParallelGC"})
@State(Scope.Benchmark)
public class ReadBenchmark {
    static final long LOG_BYTES = 2L << 30;
    static final int FETCH_BYTES = 1 << 20;

    private Path dir;
    private LogManager manager;
    PartitionLog log;

    @Setup(Level.Trial)
    public void build() {
        dir = BenchLogs.newDataDir();
        manager = BenchLogs.open(dir, Map.of());
        log = BenchLogs.create(manager, Map.of());
        ByteBuffer batch = BenchLogs.batch(65536);
        for (long written = 0; written < LOG_BYTES; written += batch.remaining()) {
            log.appendAsLeader(batch.duplicate(), 1);
        }
        log.flush();
        System.out.println("# log: " + log.logEndOffset() + " records, " + log.sizeBytes() + " bytes, "
                + log.segmentBaseOffsets().size() + " segments");
    }

    @TearDown(Level.Trial)
    public void remove() {
        BenchLogs.remove(manager, dir);
    }

    @State(Scope.Thread)
    public static class Cursor {
        long next;
        final SplittableRandom random = new SplittableRandom(11);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(1)
    public long sequentialRead1MiB(Cursor c) {
        if (c.next >= log.logEndOffset()) {
            c.next = 0;
        }
        try (FetchSlice s = log.read(c.next, FETCH_BYTES, Long.MAX_VALUE)) {
            ByteBuffer b = s.records();
            long sum = 0;
            int end = b.limit() - 7;
            for (int i = 0; i < end; i += 8) {
                sum += b.getLong(i);
            }
            c.next = s.nextOffset();
            return sum + b.limit();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Threads(1)
    public void offsetLookup(Cursor c, Blackhole bh) {
        long offset = c.random.nextLong(log.logEndOffset());
        try (FetchSlice s = log.read(offset, 1, Long.MAX_VALUE)) {
            bh.consume(s.records().getLong(0));
        }
    }
}
