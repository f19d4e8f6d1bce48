package dev.basalt.broker.metrics;

import dev.basalt.broker.replica.Partition;
import dev.basalt.log.FsyncListener;
import dev.basalt.log.TopicPartition;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A node's Prometheus metrics (docs/metrics.md): one {@link PrometheusRegistry} per node, the
 * counters and histograms the request paths update, and the scrape that {@code GET /metrics}
 * serves (Prometheus text 0.0.4, or OpenMetrics 1.0 when the scraper asks for it).
 *
 * <p>Naming follows Prometheus' conventions: the {@code basalt_} prefix, base units in the name
 * ({@code _bytes}, {@code _seconds}), {@code _total} on counters. Label cardinality is bounded:
 * traffic and log metrics carry a {@code topic} label, plus {@code partition} only when
 * {@value #PARTITION_LABELS_KEY} is true (a node with 1,000 partitions then exports thousands
 * of series instead of one per topic); request metrics carry the gRPC method and, for errors, the
 * {@code ErrorCode} name. Gauges that describe state (partition counts, Raft, groups, log sizes)
 * are computed at scrape time by {@link NodeGauges}, never maintained on a hot path.
 *
 * <p>Hot paths: {@link #meters(Partition)} resolves a partition's label children once and caches
 * them on the partition ({@link TopicMeters}); a request then increments striped adders. Request
 * histograms are resolved once per gRPC method ({@link RpcMetrics}).
 *
 * <p>Thread-safety: thread-safe. Lifetime: the node's.
 */
public final class BrokerMetrics {
    /** Node config key: per-partition instead of per-topic series. */
    public static final String PARTITION_LABELS_KEY = "metrics.partition.labels.enable";
    /** Latency buckets of requests (seconds): 0.5 ms to 30 s, about x2.5 apart. */
    static final double[] REQUEST_SECONDS_BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
            5, 10, 30};
    /** fsync buckets (seconds): 50 µs (page cache on tmpfs) to 5 s (a stalled disk). */
    static final double[] FLUSH_SECONDS_BUCKETS = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
            0.1, 0.25, 0.5, 1, 5};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final ExpositionFormats formats = ExpositionFormats.init();
    private final boolean perPartition;
    private final Counter bytesIn;
    private final Counter recordsIn;
    private final Counter bytesOut;
    private final Counter recordsOut;
    private final DistributionDataPoint flushSeconds;
    /** By {@link FsyncListener.Trigger} ordinal: resolved once, so an fsync does no label lookup. */
    private final DistributionDataPoint[] fsyncSeconds;
    private final ConcurrentHashMap<TopicPartition, TopicMeters> meters = new ConcurrentHashMap<>();
    private final RpcMetrics rpc;
    private final RpcMetrics controllerRpc;

    /**
     * @param perPartition label traffic and log series with the partition too
     * @param jvm          also export the JVM and process metrics of the client library's
     *                     instrumentation (off for in-process test clusters, which share one JVM)
     */
    public BrokerMetrics(boolean perPartition, boolean jvm) {
        this.perPartition = perPartition;
        String[] labels = topicLabelNames();
        bytesIn = Counter.builder().name("basalt_topic_in_bytes_total").unit(Unit.BYTES)
                .help("Bytes of record batches producers appended on the leaders here (retried duplicates not counted)")
                .labelNames(labels).withoutExemplars().register(registry);
        recordsIn = Counter.builder().name("basalt_topic_in_records_total")
                .help("Records producers appended on the leaders here (retried duplicates not counted)")
                .labelNames(labels).withoutExemplars().register(registry);
        bytesOut = Counter.builder().name("basalt_topic_out_bytes_total").unit(Unit.BYTES)
                .help("Bytes of record batches sent to consumers (not to follower replicas)")
                .labelNames(labels).withoutExemplars().register(registry);
        recordsOut = Counter.builder().name("basalt_topic_out_records_total")
                .help("Records sent to consumers, counted per whole batch sent (a fetch from the middle of a batch counts"
                        + " the records before the fetch offset too)")
                .labelNames(labels).withoutExemplars().register(registry);
        flushSeconds = Histogram.builder().name("basalt_log_flush_seconds").unit(Unit.SECONDS)
                .help("Group-commit fsyncs of durable-acks partitions (one fsync covers every append before it)")
                .classicOnly().classicUpperBounds(FLUSH_SECONDS_BUCKETS).withoutExemplars().register(registry);
        Histogram fsync = Histogram.builder().name("basalt_log_fsync_seconds").unit(Unit.SECONDS)
                .help("Every fsync round of a partition's files by the log engine, by what asked for it (flush_messages,"
                        + " flush_ms, roll, requested, close)")
                .labelNames("trigger").classicOnly().classicUpperBounds(FLUSH_SECONDS_BUCKETS).withoutExemplars()
                .register(registry);
        FsyncListener.Trigger[] triggers = FsyncListener.Trigger.values();
        fsyncSeconds = new DistributionDataPoint[triggers.length];
        for (FsyncListener.Trigger t : triggers) {
            fsyncSeconds[t.ordinal()] = fsync.labelValues(t.name().toLowerCase(java.util.Locale.ROOT));
        }
        RpcMetrics.Families requests = new RpcMetrics.Families(registry);
        rpc = new RpcMetrics(requests, RpcMetrics.CLIENT);
        controllerRpc = new RpcMetrics(requests, RpcMetrics.CONTROLLER);
        if (jvm) {
            JvmMetrics.builder().register(registry);
        }
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    public boolean perPartition() {
        return perPartition;
    }

    /** {@code topic}, or {@code topic, partition} with per-partition labels. */
    String[] topicLabelNames() {
        return perPartition ? new String[] {"topic", "partition"} : new String[] {"topic"};
    }

    /** The label values of a partition's series under the configured labelling. */
    String[] topicLabelValues(TopicPartition tp) {
        return perPartition ? new String[] {tp.topic(), Integer.toString(tp.partition())} : new String[] {tp.topic()};
    }

    /** Request metrics of the client port (clients and follower replicas). */
    public RpcMetrics rpc() {
        return rpc;
    }

    /** Request metrics of the CONTROLLER port (Raft, controller and controller-admin services). */
    public RpcMetrics controllerRpc() {
        return controllerRpc;
    }

    /** The partition's traffic counters: resolved on its first use, then read from the partition. */
    public TopicMeters meters(Partition p) {
        TopicMeters m = p.meters();
        if (m == null) {
            TopicPartition tp = p.topicPartition();
            // One child per topic: every partition of a topic shares one TopicMeters in per-topic mode.
            TopicPartition key = perPartition ? tp : new TopicPartition(tp.topic(), 0);
            m = meters.computeIfAbsent(key, k -> {
                String[] v = topicLabelValues(tp);
                return new TopicMeters(bytesIn.labelValues(v), recordsIn.labelValues(v), bytesOut.labelValues(v),
                        recordsOut.labelValues(v));
            });
            p.meters(m);
        }
        return m;
    }

    /** A deleted topic's series disappear (and its cardinality with them). */
    public void removeTopic(String topic) {
        List<TopicPartition> gone = new ArrayList<>();
        meters.keySet().forEach(tp -> {
            if (tp.topic().equals(topic)) {
                gone.add(tp);
            }
        });
        for (TopicPartition tp : gone) {
            meters.remove(tp);
            String[] v = topicLabelValues(tp);
            bytesIn.remove(v);
            recordsIn.remove(v);
            bytesOut.remove(v);
            recordsOut.remove(v);
        }
    }

    /** One group-commit fsync took this long. */
    public void flushed(long nanos) {
        flushSeconds.observe(nanos / 1e9);
    }

    /** The log engine's fsyncs ({@code LogManager.onFsync}): every round, whatever asked for it. */
    public void fsynced(TopicPartition tp, FsyncListener.Trigger trigger, int segments, long durationNanos) {
        fsyncSeconds[trigger.ordinal()].observe(durationNanos / 1e9);
    }

    /** A scrape's answer. */
    public record Scrape(String contentType, byte[] body) {
    }

    /**
     * Collects every metric and writes them in the format {@code acceptHeader} asks for (the
     * Prometheus text format unless OpenMetrics is accepted).
     */
    public Scrape scrape(String acceptHeader) {
        ExpositionFormatWriter writer = formats.findWriter(acceptHeader);
        if (!writer.isAvailable()) {
            // The protobuf format needs an artifact we do not ship; fall back to text.
            writer = formats.getPrometheusTextFormatWriter();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 << 10);
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Scrape(writer.getContentType(), out.toByteArray());
    }
}
