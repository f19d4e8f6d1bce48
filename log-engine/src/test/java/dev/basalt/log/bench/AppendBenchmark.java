package dev.basalt.log.bench;

import dev.basalt.log.AppendInfo;
import dev.basalt.log.LogManager;
import dev.basalt.log.PartitionLog;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Leader append throughput of 1 KiB records without fsync (page cache; the OS writes back), in
 * 16 KiB and 64 KiB batches. Each op is one {@code appendAsLeader} of one batch, including the
 * full validation (CRC32C, record parse) the broker does; bytes/s = ops/s × batchBytes. The log
 * is recreated every iteration so the disk never fills. Run: see BENCHMARKS.md.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 4, time = 4)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-XX:+UseParallelGC"})
@State(Scope.Benchmark)
public class AppendBenchmark {
    @Param({"16384", "65536"})
    public int batchBytes;

    private Path dir;
    private LogManager manager;
    private PartitionLog log;
    private ByteBuffer batch;

    @Setup(Level.Iteration)
    public void setUp() {
        dir = BenchLogs.newDataDir();
        manager = BenchLogs.open(dir, Map.of());
        log = BenchLogs.create(manager, Map.of());
        batch = BenchLogs.batch(batchBytes);
    }

    @TearDown(Level.Iteration)
    public void tearDown() {
        BenchLogs.remove(manager, dir);
    }

    @Benchmark
    @Threads(1)
    public AppendInfo appendNoFsync() {
        return log.appendAsLeader(batch.duplicate(), 1);
    }
}
