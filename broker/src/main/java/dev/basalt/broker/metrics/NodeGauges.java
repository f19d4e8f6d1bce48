package dev.basalt.broker.metrics;

import dev.basalt.broker.group.GroupCoordinator;
import dev.basalt.broker.group.state.ConsumerGroup;
import dev.basalt.broker.group.state.GroupRecord;
import dev.basalt.broker.group.state.GroupState;
import dev.basalt.broker.group.state.OffsetAndMetadata;
import dev.basalt.broker.group.state.PartitionKey;
import dev.basalt.broker.lag.LagMonitor;
import dev.basalt.broker.lag.state.GroupStatus;
import dev.basalt.broker.lag.state.LagEvaluator;
import dev.basalt.broker.lag.state.PartitionStatus;
import dev.basalt.broker.purgatory.Purgatory;
import dev.basalt.broker.replica.Partition;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.ClusterImage;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.DescribeQuorumResponse;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The state gauges of a node, computed when Prometheus scrapes (nothing on a request path): local
 * replicas and their logs, the cluster as the metadata image shows it, the metadata quorum, the
 * purgatories, and the consumer groups this broker coordinates with the lag monitor's verdicts.
 * Each {@code register*} call adds one area; a controller-only node registers no replica or group
 * area. Sources that walk many objects (local partitions, groups) are computed once per scrape:
 * a snapshot younger than {@link #SNAPSHOT_TTL_NANOS} is reused by every gauge of the area.
 *
 * <p>Thread-safety: thread-safe; callbacks run on the scraping HTTP thread.
 */
public final class NodeGauges {
    /** Gauges of one scrape share a snapshot: a scrape takes well under this (measured in docs/metrics.md). */
    static final long SNAPSHOT_TTL_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /** Groups exported with a {@code group} label; more are counted by state only (bounded cardinality). */
    static final int GROUPS_LABELLED_MAX = 1_000;
    /** How long a scrape waits for the group coordinator's loops. */
    static final long GROUPS_WAIT_MS = 2_000;

    private final BrokerMetrics metrics;
    private final PrometheusRegistry registry;

    public NodeGauges(BrokerMetrics metrics) {
        this.metrics = metrics;
        this.registry = metrics.registry();
    }

    /** A value recomputed at most once per {@link #SNAPSHOT_TTL_NANOS}. */
    static final class Memo<T> {
        private final Supplier<T> compute;
        private volatile T value;
        private volatile long atNanos;

        Memo(Supplier<T> compute) {
            this.compute = compute;
        }

        T get() {
            long now = System.nanoTime();
            T v = value;
            if (v == null || now - atNanos > SNAPSHOT_TTL_NANOS) {
                v = compute.get();
                value = v;
                atNanos = now;
            }
            return v;
        }
    }

    // ------------------------------------------------------------------ local replicas

    /** Per topic (or partition) log figures and the node's partition counts. */
    record LocalStats(SortedMap<List<String>, long[]> bySeries, long replicas, long leaders, long underReplicated,
                      long underMinIsr, long refusingAppends, long producerStates) {
        static final int SIZE = 0;
        static final int SEGMENTS = 1;
        static final int FOLLOWER_LAG = 2;
        static final int FETCH_LAG = 3;
    }

    /**
     * @param offlineReplicas the local replicas the node reports offline (its storage fault check,
     *                        as /ready counts them): a storage fault or corruption, a log that could
     *                        not be created, or a full disk. Not from {@code partitions}: a replica
     *                        only out of space has an intact log, and one never opened has none.
     */
    public void registerReplicas(Supplier<Collection<Partition>> partitions, LongSupplier offlineReplicas) {
        Memo<LocalStats> stats = new Memo<>(() -> localStats(partitions.get()));
        String[] labels = metrics.topicLabelNames();
        gauge("basalt_partitions", "Partition replicas on this broker", () -> stats.get().replicas());
        gauge("basalt_partitions_leader", "Partitions this broker leads", () -> stats.get().leaders());
        gauge("basalt_partitions_under_replicated", "Partitions led here whose ISR is smaller than the replication factor"
                + " (the replicas but those a reassignment is adding)",
                () -> stats.get().underReplicated());
        gauge("basalt_partitions_under_min_isr", "Partitions led here whose ISR is below min.insync.replicas (acks=all"
                + " produces fail)", () -> stats.get().underMinIsr());
        gauge("basalt_partitions_offline_replicas", "Replicas here the node reports offline: a storage fault, a log that"
                + " could not be created, or a full disk", offlineReplicas::getAsLong);
        gauge("basalt_partitions_refusing_appends_replicas", "Replicas here that were the only copy of a corrupt batch:"
                + " served up to it, appends refused until a restart accepts the loss or storage repair cuts the log",
                () -> stats.get().refusingAppends());
        gauge("basalt_producer_states", "Idempotent producers remembered over the local partitions",
                () -> stats.get().producerStates());
        GaugeWithCallback.builder().name("basalt_topic_log_size_bytes").unit(Unit.BYTES)
                .help("Bytes of the local replicas' segments").labelNames(labels)
                .callback(cb -> stats.get().bySeries().forEach((k, v) -> cb.call(v[LocalStats.SIZE], k.toArray(String[]::new))))
                .register(registry);
        GaugeWithCallback.builder().name("basalt_topic_log_segments").help("Segments of the local replicas")
                .labelNames(labels)
                .callback(cb -> stats.get().bySeries().forEach((k, v) -> cb.call(v[LocalStats.SEGMENTS], k.toArray(String[]::new))))
                .register(registry);
        GaugeWithCallback.builder().name("basalt_topic_follower_lag_records")
                .help("On the leader: records the slowest follower of the topic's partitions led here is behind the log end")
                .labelNames(labels)
                .callback(cb -> stats.get().bySeries().forEach((k, v) -> cb.call(v[LocalStats.FOLLOWER_LAG],
                        k.toArray(String[]::new))))
                .register(registry);
        GaugeWithCallback.builder().name("basalt_topic_replica_fetch_lag_records")
                .help("On a follower: records the furthest-behind replica of the topic here is behind the leader's log end"
                        + " (as of its last fetch answer)")
                .labelNames(labels)
                .callback(cb -> stats.get().bySeries().forEach((k, v) -> cb.call(v[LocalStats.FETCH_LAG],
                        k.toArray(String[]::new))))
                .register(registry);
    }

    private LocalStats localStats(Collection<Partition> partitions) {
        SortedMap<List<String>, long[]> series = new TreeMap<>((a, b) -> {
            for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
                int c = a.get(i).compareTo(b.get(i));
                if (c != 0) {
                    return c;
                }
            }
            return Integer.compare(a.size(), b.size());
        });
        long leaders = 0;
        long under = 0;
        long underMin = 0;
        long refusing = 0;
        long producers = 0;
        for (Partition p : partitions) {
            long[] v = series.computeIfAbsent(Arrays.asList(metrics.topicLabelValues(p.topicPartition())), k -> new long[4]);
            var log = p.log();
            v[LocalStats.SIZE] += log.sizeBytes();
            v[LocalStats.SEGMENTS] += log.segmentBaseOffsets().size();
            producers += log.producerStateSize();
            if (log.corruptFrom() != null) {
                refusing++;
            }
            v[LocalStats.FETCH_LAG] = Math.max(v[LocalStats.FETCH_LAG], p.followerFetchLagRecords());
            Partition.LeaderView lv = p.leaderView();
            if (lv != null) {
                leaders++;
                if (lv.isr() < lv.replicationFactor()) {
                    under++;
                }
                if (!lv.hasMinIsr()) {
                    underMin++;
                }
                v[LocalStats.FOLLOWER_LAG] = Math.max(v[LocalStats.FOLLOWER_LAG], lv.followerLagRecordsMax());
            }
        }
        return new LocalStats(series, partitions.size(), leaders, under, underMin, refusing, producers);
    }

    // ------------------------------------------------------------------ cluster (metadata image)

    record ClusterStats(long unfenced, long fenced, long topics, long partitions, long leaderless, long offline,
                        long underReplicated) {
    }

    /** Cluster-wide counts as this node's metadata image shows them (every node reports them; take the max). */
    public void registerCluster(Supplier<MetadataImage> image) {
        Memo<ClusterStats> stats = new Memo<>(() -> clusterStats(image.get()));
        GaugeWithCallback.builder().name("basalt_cluster_brokers").help("Registered brokers by state")
                .labelNames("state").callback(cb -> {
                    ClusterStats s = stats.get();
                    cb.call(s.unfenced(), "unfenced");
                    cb.call(s.fenced(), "fenced");
                }).register(registry);
        gauge("basalt_cluster_topics", "Topics in the cluster", () -> stats.get().topics());
        gauge("basalt_cluster_partitions", "Partitions in the cluster", () -> stats.get().partitions());
        gauge("basalt_cluster_partitions_leaderless", "Partitions without a leader", () -> stats.get().leaderless());
        gauge("basalt_cluster_partitions_offline", "Partitions without a leader and without an unfenced in-sync or eligible"
                + " replica to elect cleanly", () -> stats.get().offline());
        gauge("basalt_cluster_partitions_under_replicated", "Partitions whose ISR is smaller than the replication factor"
                + " (the replicas but those a reassignment is adding)",
                () -> stats.get().underReplicated());
    }

    static ClusterStats clusterStats(MetadataImage image) {
        ClusterImage cluster = image.cluster();
        long fenced = 0;
        for (BrokerRegistration b : cluster.brokers().values()) {
            if (b.fenced()) {
                fenced++;
            }
        }
        long partitions = 0;
        long leaderless = 0;
        long offline = 0;
        long under = 0;
        for (TopicImage t : image.topics().topicsById().values()) {
            for (PartitionRegistration p : t.partitions().values()) {
                partitions++;
                if (p.isr().size() < p.replicas().size() - p.addingReplicas().size()) { // replicas being added do not count
                    under++;
                }
                if (!p.hasLeader()) {
                    leaderless++;
                    boolean electable = p.isr().stream().anyMatch(cluster::isUnfenced) || p.elr().stream().anyMatch(cluster::isUnfenced);
                    if (!electable) {
                        offline++;
                    }
                }
            }
        }
        return new ClusterStats(cluster.brokers().size() - fenced, fenced, image.topics().topicsById().size(), partitions,
                leaderless, offline, under);
    }

    // ------------------------------------------------------------------ metadata and quorum

    /**
     * @param applied   the metadata index handed to this node's subscribers
     * @param committed the index the quorum has committed as this node knows it (the leader's
     *                  commit index on a voter, the controller's applied index on an observer)
     */
    public void registerMetadata(LongSupplier applied, LongSupplier committed) {
        gauge("basalt_metadata_applied_index", "Metadata log index applied to this node's image", applied::getAsLong);
        gauge("basalt_metadata_apply_lag_entries", "Committed metadata entries this node has not applied yet",
                () -> Math.max(0, committed.getAsLong() - applied.getAsLong()));
    }

    /** A voter's view of the Raft quorum; {@link #leaderChanged} is called by the quorum's leader listener. */
    public final class Raft {
        private final Counter leaderChanges;
        private final Histogram electionSeconds;
        private long leaderlessSinceNanos = -1; // guarded by this
        private int lastLeader = -2; // guarded by this

        Raft(Counter leaderChanges, Histogram electionSeconds) {
            this.leaderChanges = leaderChanges;
            this.electionSeconds = electionSeconds;
        }

        /** Raft's driver thread: a new leader or term (leaderId -1 = none known). */
        public synchronized void leaderChanged(long term, int leaderId) {
            long now = System.nanoTime();
            if (leaderId < 0) {
                if (leaderlessSinceNanos < 0) {
                    leaderlessSinceNanos = now;
                }
            } else {
                if (leaderlessSinceNanos >= 0) {
                    electionSeconds.observe((now - leaderlessSinceNanos) / 1e9);
                    leaderlessSinceNanos = -1;
                }
                if (lastLeader != -2 && leaderId != lastLeader) {
                    leaderChanges.inc();
                }
                lastLeader = leaderId;
            }
        }
    }

    /** A controller's quorum gauges; the returned {@link Raft} must be registered as a leader listener. */
    public Raft registerQuorum(Supplier<DescribeQuorumResponse> describe, BooleanSupplier activeController) {
        Memo<DescribeQuorumResponse> q = new Memo<>(describe);
        gauge("basalt_controller_active", "1 on the active controller (the Raft leader that has caught up), else 0",
                () -> activeController.getAsBoolean() ? 1 : 0);
        gauge("basalt_raft_term", "Current Raft term", () -> q.get().getTerm());
        gauge("basalt_raft_leader_id", "The Raft leader's node id, -1 when none is known", () -> q.get().getLeaderId());
        gauge("basalt_raft_commit_index", "Raft commit index of the metadata log", () -> q.get().getHighWatermark());
        GaugeWithCallback.builder().name("basalt_raft_voter_lag_entries")
                .help("On the leader: metadata entries each voter is behind the commit index").labelNames("voter")
                .callback(cb -> {
                    for (DescribeQuorumResponse.ReplicaState v : q.get().getVotersList()) {
                        if (v.getLag() >= 0) {
                            cb.call(v.getLag(), Integer.toString(v.getReplicaId()));
                        }
                    }
                }).register(registry);
        // A voter whose lag is unknown (silent) has no lag series: this one says how long it has been
        // silent, so an alert need not rely on a series going absent (found by review)
        GaugeWithCallback.builder().name("basalt_raft_voter_last_contact_seconds").unit(Unit.SECONDS)
                .help("On the leader: seconds since each other voter last answered it").labelNames("voter")
                .callback(cb -> {
                    DescribeQuorumResponse d = q.get();
                    long now = System.currentTimeMillis();
                    for (DescribeQuorumResponse.ReplicaState v : d.getVotersList()) {
                        if (v.getReplicaId() != d.getLeaderId() && v.getLastFetchTimestampMs() >= 0) {
                            cb.call(Math.max(0, now - v.getLastFetchTimestampMs()) / 1000.0, Integer.toString(v.getReplicaId()));
                        }
                    }
                }).register(registry);
        Counter changes = Counter.builder().name("basalt_raft_leader_changes_total")
                .help("Raft leader changes this voter has seen").withoutExemplars().register(registry);
        Histogram elections = Histogram.builder().name("basalt_raft_election_seconds").unit(Unit.SECONDS)
                .help("Time without a known Raft leader until one was known").classicOnly()
                .classicUpperBounds(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30).withoutExemplars().register(registry);
        return new Raft(changes, elections);
    }

    public void registerPurgatories(List<Purgatory<?>> purgatories) {
        GaugeWithCallback.builder().name("basalt_purgatory_operations")
                .help("Requests parked in a purgatory (produce: acks=all waiting for the ISR, fetch: long polls)")
                .labelNames("purgatory").callback(cb -> purgatories.forEach(p -> cb.call(p.inflight(), p.name())))
                .register(registry);
    }

    /** Log recovery at start-up (opening every partition log; a scan unless the last shutdown was clean). */
    public void registerLogRecovery(double seconds, boolean afterCleanShutdown) {
        gauge("basalt_log_recovery_seconds", "Time to open (and after a crash, recover) the partition logs at start",
                () -> seconds);
        gauge("basalt_log_clean_shutdown", "1 when the logs were opened after a clean shutdown, or new (no recovery scan)",
                () -> afterCleanShutdown ? 1 : 0);
    }

    /**
     * The data directory's file system: free bytes (as of the log engine's space check, every
     * 250 ms), the minimum below which appends stop, and whether they are stopped for lack of
     * space now (they resume only at 1.5 times the minimum, so free bytes above the minimum do
     * not mean appends are taken).
     */
    public void registerDataDirectory(LongSupplier usableBytes, LongSupplier freeBytesMin, BooleanSupplier full) {
        GaugeWithCallback.builder().name("basalt_log_dir_usable_bytes").unit(Unit.BYTES)
                .help("Free bytes for the node on the data directory's file system (-1 before the first check)")
                .callback(cb -> cb.call(usableBytes.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("basalt_log_dir_free_min_bytes").unit(Unit.BYTES)
                .help("log.dir.free.bytes.min: appends stop below this many free bytes")
                .callback(cb -> cb.call(freeBytesMin.getAsLong())).register(registry);
        gauge("basalt_log_dir_full", "1 while appends are refused for lack of space (disk full), else 0",
                () -> full.getAsBoolean() ? 1 : 0);
    }

    /**
     * Corrupt data this node found since it started, by who found it: {@code start} (partitions
     * found corrupt when the logs were opened), {@code scrub} and {@code read} (batches the
     * scrubber and fetches found). Each finding takes the replica out of service until it is rebuilt.
     */
    public void registerCorruptionFound(LongSupplier atStart, LongSupplier byScrub, LongSupplier byReads) {
        CounterWithCallback.builder().name("basalt_log_corrupt_found")
                .help("Corrupt data found since the node started: partitions at start, batches by the scrubber and by reads")
                .labelNames("found_by").callback(cb -> {
                    cb.call(atStart.getAsLong(), "start");
                    cb.call(byScrub.getAsLong(), "scrub");
                    cb.call(byReads.getAsLong(), "read");
                }).register(registry);
    }

    /**
     * The cleaner's work since the node started: compaction passes run (a tick with nothing due
     * runs none, see min.cleanable.dirty.ratio), segments rewritten by them, segments merged.
     */
    public void registerCompaction(java.util.function.Supplier<long[]> progress) {
        CounterWithCallback.builder().name("basalt_log_compaction_passes")
                .help("Compaction passes run since the node started (a cleaner tick with nothing due runs none)")
                .callback(cb -> cb.call(progress.get()[0])).register(registry);
        CounterWithCallback.builder().name("basalt_log_compaction_segments_rewritten")
                .help("Segments rewritten by compaction passes since the node started")
                .callback(cb -> cb.call(progress.get()[1])).register(registry);
        CounterWithCallback.builder().name("basalt_log_compaction_segments_merged")
                .help("Small cleaned segments merged into the one before them since the node started")
                .callback(cb -> cb.call(progress.get()[2])).register(registry);
    }

    // ------------------------------------------------------------------ groups

    record GroupSnapshot(String groupId, GroupState state, int members, SortedMap<PartitionKey, OffsetAndMetadata> offsets,
                         java.util.Set<PartitionKey> assigned) {
    }

    record GroupLag(String groupId, int members, long totalLag, long maxLag, double maxLagSeconds, GroupStatus status,
                    int assignedWithoutCommit, int lagUnknown) {
    }

    record GroupStats(Map<GroupState, Long> byState, List<GroupLag> groups) {
    }

    /** The groups this broker coordinates, with the lag monitor's evaluation; returns the rebalance counter's listener. */
    public GroupCoordinator.CommitListener registerGroups(GroupCoordinator coordinator, LagMonitor lag) {
        Memo<GroupStats> stats = new Memo<>(() -> groupStats(coordinator, lag));
        GaugeWithCallback.builder().name("basalt_groups").help("Consumer groups coordinated here, by state")
                .labelNames("state").callback(cb -> stats.get().byState().forEach((s, n) -> cb.call(n, s.name())))
                .register(registry);
        GaugeWithCallback.builder().name("basalt_group_members").help("Members of each group coordinated here")
                .labelNames("group").callback(cb -> stats.get().groups().forEach(g -> cb.call(g.members(), g.groupId())))
                .register(registry);
        GaugeWithCallback.builder().name("basalt_group_lag_records").help("Total lag of a group: log end minus committed"
                + " offset, summed over its partitions").labelNames("group")
                .callback(cb -> stats.get().groups().forEach(g -> cb.call(g.totalLag(), g.groupId()))).register(registry);
        GaugeWithCallback.builder().name("basalt_group_partitions_without_commit")
                .help("Partitions assigned to a group's members that the group has no committed offset for: their lag"
                        + " is not in basalt_group_lag_records (nothing to measure it from)")
                .labelNames("group").callback(cb -> stats.get().groups().forEach(g -> cb.call(g.assignedWithoutCommit(), g.groupId())))
                .register(registry);
        GaugeWithCallback.builder().name("basalt_group_partitions_lag_unknown")
                .help("Partitions of a group whose lag is unknown because their log end cannot be read (no leader, or"
                        + " the leader has not answered lately): not in basalt_group_lag_records; status UNKNOWN")
                .labelNames("group").callback(cb -> stats.get().groups().forEach(g -> cb.call(g.lagUnknown(), g.groupId())))
                .register(registry);
        GaugeWithCallback.builder().name("basalt_group_max_lag_records").help("The largest lag of one partition of a group")
                .labelNames("group").callback(cb -> stats.get().groups().forEach(g -> cb.call(g.maxLag(), g.groupId())))
                .register(registry);
        GaugeWithCallback.builder().name("basalt_group_max_lag_seconds").unit(Unit.SECONDS)
                .help("How far behind in time the slowest partition of a group is (the lag monitor's estimate)")
                .labelNames("group").callback(cb -> stats.get().groups().forEach(g -> cb.call(g.maxLagSeconds(), g.groupId())))
                .register(registry);
        GaugeWithCallback.builder().name("basalt_group_status")
                .help("The lag monitor's verdict on a group (Burrow's rules): 1 for the current status, 0 for the others")
                .labelNames("group", "status").callback(cb -> stats.get().groups().forEach(g -> {
                    for (GroupStatus s : GroupStatus.values()) {
                        cb.call(g.status() == s ? 1 : 0, g.groupId(), s.name());
                    }
                })).register(registry);
        Counter rebalances = Counter.builder().name("basalt_group_rebalances_total")
                .help("Group epoch bumps written by the groups coordinated here (each starts a rebalance, KIP-848; creation is none)")
                .withoutExemplars().register(registry);
        return records -> {
            for (GroupRecord r : records) {
                // A bump writes the new epoch as both group and target epoch (GroupShard); creation
                // writes epoch 0, and an assignor switch of a memberless group keeps its epochs.
                if (r instanceof GroupRecord.GroupMetadata m && m.groupEpoch() > 0 && m.targetAssignmentEpoch() == m.groupEpoch()) {
                    rebalances.inc();
                }
            }
        };
    }

    private static GroupStats groupStats(GroupCoordinator coordinator, LagMonitor lag) {
        List<List<GroupSnapshot>> shards;
        try {
            shards = coordinator.readAllLoaded(shard -> {
                List<GroupSnapshot> out = new ArrayList<>();
                for (ConsumerGroup g : shard.groups().values()) {
                    out.add(new GroupSnapshot(g.groupId(), g.state(), g.memberCount(), new TreeMap<>(g.offsets()),
                        java.util.Set.copyOf(g.owners().keySet())));
                }
                return out;
            }).get(GROUPS_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new GroupStats(Map.of(), List.of());
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return new GroupStats(Map.of(), List.of());
        }
        Map<GroupState, Long> byState = new TreeMap<>();
        for (GroupState s : GroupState.values()) {
            byState.put(s, 0L);
        }
        List<GroupLag> groups = new ArrayList<>();
        long now = coordinator.nowMs();
        for (List<GroupSnapshot> shard : shards) {
            for (GroupSnapshot g : shard) {
                byState.merge(g.state(), 1L, Long::sum);
                if (groups.size() >= GROUPS_LABELLED_MAX) {
                    continue;
                }
                long total = 0;
                long max = 0;
                double maxSeconds = -1; // -1: no partition's lag in seconds is known (as the HTTP API says it)
                int unknown = 0;
                List<PartitionStatus> statuses = new ArrayList<>();
                java.util.Set<PartitionKey> withoutCommit = new java.util.HashSet<>(g.assigned());
                for (LagMonitor.PartitionLag p : lag.evaluate(g.groupId(), g.offsets(), now)) {
                    withoutCommit.remove(p.partition());
                    statuses.add(p.status());
                    unknown += p.lagUnknown() ? 1 : 0;
                    total += Math.max(0, p.lag());
                    max = Math.max(max, p.lag());
                    maxSeconds = Math.max(maxSeconds, p.lagSeconds());
                }
                groups.add(new GroupLag(g.groupId(), g.members(), total, max, maxSeconds, LagEvaluator.groupStatus(statuses),
                        withoutCommit.size(), unknown));
            }
        }
        return new GroupStats(byState, groups);
    }

    private void gauge(String name, String help, java.util.function.DoubleSupplier value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsDouble())).register(registry);
    }
}
