package dev.basalt.client.internal;

import dev.basalt.client.TopicPartition;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.record.RecordBatch;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/**
 * A consumer's fetch totals for {@code Consumer.metrics()}: answers, records and bytes fetched,
 * fetch latency, and the fetch lag per partition: the partition's high watermark minus the offset
 * after the records this answer brought (what the consumer is still behind once it has handled
 * them), as of the partition's latest answer.
 *
 * <p>Thread-safety: thread-safe; gRPC's callback threads add, any thread reads.
 */
public final class FetchStats {
    private final long startMs;
    private final LongAdder answers = new LongAdder();
    private final LongAdder records = new LongAdder();
    private final LongAdder bytes = new LongAdder();
    private final LongAdder latencyMsSum = new LongAdder();
    private final LongAccumulator latencyMsMax = new LongAccumulator(Math::max, 0);
    private final ConcurrentHashMap<TopicPartition, Long> lag = new ConcurrentHashMap<>();

    public FetchStats(long startMs) {
        this.startMs = startMs;
    }

    /** One answer part to a fetch sent at sentMs with these fetch offsets, received at nowMs. */
    void answered(FetchResponse r, Map<TopicPartition, Long> offsets, long sentMs, long nowMs) {
        answers.increment();
        long latency = Math.max(0, nowMs - sentMs);
        latencyMsSum.add(latency);
        latencyMsMax.accumulate(latency);
        for (FetchResponse.TopicResponse t : r.getTopicsList()) {
            for (FetchResponse.PartitionResponse p : t.getPartitionsList()) {
                if (p.getErrorCode() != ErrorCode.NONE || p.getHighWatermark() < 0) {
                    continue;
                }
                TopicPartition tp = new TopicPartition(t.getName(), p.getPartition());
                Long asked = offsets.get(tp);
                if (asked == null) {
                    continue;
                }
                long next = asked;
                if (!p.getRecords().isEmpty()) {
                    ByteBuffer buf = p.getRecords().asReadOnlyByteBuffer();
                    bytes.add(buf.remaining());
                    next = Math.max(next, walk(buf));
                }
                lag.put(tp, Math.max(0, p.getHighWatermark() - next));
            }
        }
    }

    /** Counts the records of whole batches and returns the offset after the last one (0 if none). */
    private long walk(ByteBuffer b) {
        long after = 0;
        int pos = b.position();
        int limit = b.limit();
        while (pos + RecordBatch.RECORDS_OFFSET <= limit) {
            int length = b.getInt(pos + RecordBatch.LENGTH_OFFSET);
            int end = pos + RecordBatch.LOG_OVERHEAD_BYTES + length;
            if (length <= 0 || end > limit || end < pos) {
                break;
            }
            records.add(Math.max(0, b.getInt(pos + RecordBatch.RECORD_COUNT_OFFSET)));
            after = b.getLong(pos + RecordBatch.BASE_OFFSET_OFFSET) + b.getInt(pos + RecordBatch.LAST_OFFSET_DELTA_OFFSET) + 1;
            pos = end;
        }
        return after;
    }

    /** Totals, rates per second since the consumer was created, latency and lag. */
    public Map<String, Double> snapshot(long nowMs) {
        double seconds = Math.max(1e-3, (nowMs - startMs) / 1000.0);
        long n = answers.sum();
        long lagMax = 0;
        long lagSum = 0;
        for (long l : lag.values()) {
            lagMax = Math.max(lagMax, l);
            lagSum += l;
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("fetch-total", (double) n);
        m.put("records-fetched-total", (double) records.sum());
        m.put("records-fetched-rate", records.sum() / seconds);
        m.put("bytes-fetched-total", (double) bytes.sum());
        m.put("bytes-fetched-rate", bytes.sum() / seconds);
        m.put("fetch-latency-avg-ms", n == 0 ? 0 : latencyMsSum.sum() / (double) n);
        m.put("fetch-latency-max-ms", (double) latencyMsMax.get());
        m.put("records-lag-max", (double) lagMax);
        m.put("records-lag-sum", (double) lagSum);
        return m;
    }
}
