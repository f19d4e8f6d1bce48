package dev.basalt.client.internal;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/**
 * A producer's running totals for {@code Producer.metrics()}: what was acknowledged (records,
 * bytes, batches), retried and failed, and the latency of acknowledged batches from the moment the
 * batch was opened by its first record until the broker's answer (the latency its first record
 * saw: queueing, linger, the request and any retries).
 *
 * <p>Thread-safety: thread-safe; the sender thread adds (striped adders, no lock, no allocation),
 * any thread reads.
 */
public final class ProducerStats {
    private final long startMs;
    private final LongAdder records = new LongAdder();
    private final LongAdder bytes = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAccumulator batchBytesMax = new LongAccumulator(Math::max, 0);
    private final LongAdder latencyMsSum = new LongAdder();
    private final LongAccumulator latencyMsMax = new LongAccumulator(Math::max, 0);
    private final LongAdder retries = new LongAdder();
    private final LongAdder failedRecords = new LongAdder();
    private final LongAdder splits = new LongAdder();
    private volatile String lastRetriedError;

    public ProducerStats(long startMs) {
        this.startMs = startMs;
    }

    /** A batch was acknowledged (or, for acks=0, handed to the transport) at nowMs (monotonic). */
    void completed(ProducerBatch b, long nowMs) {
        records.add(b.recordCount());
        bytes.add(b.sizeInBytes());
        batches.increment();
        batchBytesMax.accumulate(b.sizeInBytes());
        long latency = Math.max(0, nowMs - b.createdMs());
        latencyMsSum.add(latency);
        latencyMsMax.accumulate(latency);
    }

    /** A batch is sent again after {@code error} (its message; shown by progress reports). */
    void retried(String error) {
        retries.increment();
        lastRetriedError = error;
    }

    /** The error of the latest retry, or null before any. */
    public String lastRetriedError() {
        return lastRetriedError;
    }

    /** A batch too large for its topic's lowered max.message.bytes was split (refused, or found at drain). */
    void split() {
        splits.increment();
    }

    void failed(ProducerBatch b) {
        failedRecords.add(b.recordCount());
    }

    /**
     * Kafka-style names, units last: totals, rates per second since the producer started, batch
     * averages and the latency of acknowledged batches.
     */
    public Map<String, Double> snapshot(long nowMs) {
        double seconds = Math.max(1e-3, (nowMs - startMs) / 1000.0);
        long n = batches.sum();
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("record-send-total", (double) records.sum());
        m.put("record-send-rate", records.sum() / seconds);
        m.put("byte-send-total", (double) bytes.sum());
        m.put("byte-send-rate", bytes.sum() / seconds);
        m.put("batch-send-total", (double) n);
        m.put("batch-size-avg-bytes", n == 0 ? 0 : bytes.sum() / (double) n);
        m.put("batch-size-max-bytes", (double) batchBytesMax.get());
        m.put("records-per-batch-avg", n == 0 ? 0 : records.sum() / (double) n);
        m.put("record-retry-total", (double) retries.sum());
        m.put("batch-split-total", (double) splits.sum());
        m.put("record-error-total", (double) failedRecords.sum());
        m.put("record-latency-avg-ms", n == 0 ? 0 : latencyMsSum.sum() / (double) n);
        m.put("record-latency-max-ms", (double) latencyMsMax.get());
        return m;
    }
}
