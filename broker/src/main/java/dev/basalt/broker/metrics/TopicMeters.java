package dev.basalt.broker.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;

/**
 * The traffic counters of one topic (or, with {@code metrics.partition.labels.enable}, of one
 * partition): the label children are resolved once, when a {@link dev.basalt.broker.replica.Partition}
 * first produces or serves records, and kept on the partition; counting is then two adder
 * increments per partition and request (no lookup, no lock, no allocation).
 *
 * <p>Thread-safety: thread-safe (the data points are striped adders).
 */
public final class TopicMeters {
    private final CounterDataPoint bytesIn;
    private final CounterDataPoint recordsIn;
    private final CounterDataPoint bytesOut;
    private final CounterDataPoint recordsOut;

    TopicMeters(CounterDataPoint bytesIn, CounterDataPoint recordsIn, CounterDataPoint bytesOut, CounterDataPoint recordsOut) {
        this.bytesIn = bytesIn;
        this.recordsIn = recordsIn;
        this.bytesOut = bytesOut;
        this.recordsOut = recordsOut;
    }

    /** A producer's batches were appended on this leader (not counted for a duplicate retry). */
    public void produced(long bytes, long records) {
        bytesIn.inc(bytes);
        recordsIn.inc(records);
    }

    /** A consumer fetch answered with these batches. */
    public void fetched(long bytes, long records) {
        bytesOut.inc(bytes);
        recordsOut.inc(records);
    }
}
