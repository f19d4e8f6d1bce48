package dev.basalt.log.bench;

import dev.basalt.log.AppendInfo;
import dev.basalt.log.LogConfig;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Durable mode (flush.messages=1): every append of a 16 KiB batch of 1 KiB records returns only
 * after an fsync covering it. With 8 appenders group commit lets one fsync cover every append
 * that queued behind the previous one, so throughput should grow well beyond 1 appender's.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 4, time = 4)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-XX:+UseParallelGC"})
@State(Scope.Benchmark)
public class DurableAppendBenchmark {
    private Path dir;
    private LogManager manager;
    private PartitionLog log;
    private ThreadLocal<ByteBuffer> batch;

    @Setup(Level.Iteration)
    public void setUp() {
        dir = BenchLogs.newDataDir();
        manager = BenchLogs.open(dir, Map.of(LogConfig.FLUSH_MESSAGES, "1"));
        log = BenchLogs.create(manager, Map.of(LogConfig.FLUSH_MESSAGES, "1"));
        ByteBuffer template = BenchLogs.batch(16384);
        // Each appender stamps offsets into its own copy of the payload.
        batch = ThreadLocal.withInitial(() -> ByteBuffer.allocate(template.remaining()).put(template.duplicate()).flip());
    }

    @TearDown(Level.Iteration)
    public void tearDown() {
        BenchLogs.remove(manager, dir);
    }

    @Benchmark
    @Threads(1)
    public AppendInfo durable16k1Appender() {
        return log.appendAsLeader(batch.get().duplicate(), 1);
    }

    @Benchmark
    @Threads(8)
    public AppendInfo durable16k8Appenders() {
        return log.appendAsLeader(batch.get().duplicate(), 1);
    }
}
