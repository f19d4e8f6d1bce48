package dev.basalt.client.bench;

import dev.basalt.client.DefaultPartitioner;
import dev.basalt.client.RecordMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.internal.BufferPool;
import dev.basalt.client.internal.FetchBuffer;
import dev.basalt.client.internal.ProducerBatch;
import dev.basalt.client.internal.RecordAccumulator;
import dev.basalt.record.Record;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * CPU cost per record of the client's hot paths, without the network: appending a 1 KiB record
 * to a batch (64 KiB batches, as in the benchmark configuration) including the batch's
 * completion and buffer recycling; hashing a key; decoding the records of a fetched batch.
 *
 * <p>Run by hand (not part of the test run):
 * <pre>
 * ./mvnw -B -ntp -pl client -am test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -cp client/target/test-classes:client/target/classes:proto/target/classes:$(cat client/target/cp.txt) \
 *     org.openjdk.jmh.Main ProducerPathBenchmark
 * </pre>
 *
 * <p>Thread-safety: JMH state, one per benchmark thread.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ProducerPathBenchmark {
    private static final TopicPartition TP = new TopicPartition("bench", 0);
    private RecordAccumulator accumulator;
    private byte[] value;
    private byte[] key;
    private ByteBuffer fetched;

    @Setup
    public void setup() throws InterruptedException {
        accumulator = new RecordAccumulator(new BufferPool(64L << 20, 65_536), 65_536, 0, 120_000);
        value = new byte[1024];
        new SplittableRandom(1).nextBytes(value);
        key = "key-123456".getBytes();
        RecordAccumulator acc = new RecordAccumulator(new BufferPool(1 << 20, 65_536), 65_536, 0, 120_000);
        for (int i = 0; i < 60; i++) {
            acc.append(TP, 1000 + i, null, value, List.of(), 0, false, 0);
        }
        ProducerBatch b = acc.drain(tp -> 1, Set.of(1), 1 << 20, 0).get(1).get(0);
        fetched = b.payload();
    }

    /** One 1 KiB record: append, and every 64th record drain, complete and recycle the full batch. */
    @Benchmark
    public CompletableFuture<RecordMetadata> append1KiB() throws InterruptedException {
        RecordAccumulator.AppendResult r = accumulator.append(TP, 1000, null, value, List.of(), 0, false, 0);
        if (r.batchIsFull()) {
            Map<Integer, List<ProducerBatch>> d = accumulator.drain(tp -> 1, Set.of(1), 1 << 20, 0);
            for (ProducerBatch b : d.get(1)) {
                b.complete(0, -1);
                accumulator.unmute(b.partition());
                accumulator.deallocate(b);
            }
        }
        return r.future();
    }

    @Benchmark
    public int murmur2Key() {
        return DefaultPartitioner.partitionForKey(key, 6);
    }

    /** Decoding a fetched 60-record batch (CRC check included), per batch. */
    @Benchmark
    public void decodeFetchedBatch(Blackhole bh) {
        FetchBuffer buf = new FetchBuffer(TP, 0, fetched, true);
        Record r;
        long position = 0;
        while ((r = buf.next(position)) != null) {
            bh.consume(r.valueBytes());
            position = r.offset() + 1;
        }
    }
}
