package dev.basalt.client;

import dev.basalt.client.admin.AlterConfigOp;
import dev.basalt.client.admin.ClusterDescription;
import dev.basalt.client.admin.ConfigEntry;
import dev.basalt.client.admin.ConfigResource;
import dev.basalt.client.admin.DecommissionProgress;
import dev.basalt.client.admin.DeletedRecords;
import dev.basalt.client.admin.LeaderElectionResult;
import dev.basalt.client.admin.PartitionReassignment;
import dev.basalt.client.admin.ReassignmentMove;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.admin.QuorumDescription;
import dev.basalt.client.admin.TopicCreated;
import dev.basalt.client.admin.TopicDescription;
import dev.basalt.client.admin.TopicListing;
import dev.basalt.client.internal.AdminCalls;
import dev.basalt.client.internal.ChannelPool;
import dev.basalt.client.internal.ConfigDef;
import dev.basalt.client.internal.HostPort;
import dev.basalt.client.internal.MetadataManager;
import dev.basalt.client.internal.ReassignmentCalls;
import dev.basalt.client.internal.RecordDeletion;
import dev.basalt.client.internal.Time;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Administers a Basalt cluster: topics, partitions, configs, cluster and metadata-quorum
 * status. Every operation is asynchronous and returns futures; {@link #get} waits for one and
 * unwraps its typed exception.
 *
 * <p>Mutations (create, delete, add partitions, alter configs) answer per topic or resource, so
 * that a partial failure names what failed; reads answer as a whole. Any broker answers (it
 * forwards mutations to the active controller); definite retriable errors are retried with
 * backoff up to {@code default.api.timeout.ms}, on the next broker of the bootstrap list when
 * the one asked cannot be reached, answers NOT_CONTROLLER or BROKER_NOT_AVAILABLE, or let a read
 * time out. A mutation whose answer was lost fails with {@link IndeterminateException} instead of
 * being repeated. The value types are in {@code dev.basalt.client.admin}.
 *
 * <p>Partition reassignment, broker decommission and preferred-leader election are here too
 * ({@link #alterPartitionReassignments} and the following methods), and so is the deletion of a
 * partition's records below an offset ({@link #deleteRecords}), which, unlike the rest, each
 * partition's leader answers: it is sent there, as the consumer sends ListOffsets.
 *
 * <p>Consumer-group administration (list/describe groups, lag, offset resets and deletes) is in
 * {@link GroupAdmin}.
 *
 * <p>Thread-safety: thread-safe. Calls run on up to {@value #CALL_THREADS} threads of the admin's own, at once
 * and in no set order with each other: await a call before issuing one that depends on it.
 */
public final class Admin implements AutoCloseable {
    private final ChannelPool channels;
    private final ExecutorService executor;
    /**
     * Calls that run at once, each blocking one thread on its rpcs: a slow call (a create waiting
     * for the controller, a read retried until default.api.timeout.ms) delays later calls only
     * once this many are running. Calls are not ordered with each other: await a call's future
     * before issuing one that depends on it. Threads start as calls need them and end after 30 s
     * idle. 16, not 4: `basalt cluster` asks every broker at once, and with 4 a few unreachable
     * brokers kept the healthy ones from being asked before the deadline.
     */
    static final int CALL_THREADS = 16;
    private final AdminCalls calls;
    private final ReassignmentCalls reassignments;
    /** Where partitions' leaders are, for the calls their leaders answer ({@link #deleteRecords}). */
    private final MetadataManager metadata;
    private final RecordDeletion recordDeletion;
    private final int apiTimeoutMs;

    /** The offset {@link #deleteRecords} reads as "below the high watermark": every committed record. */
    public static final long HIGH_WATERMARK = RecordDeletion.HIGH_WATERMARK;

    public Admin(Map<String, ?> configs) {
        this(AdminConfig.parse(configs));
    }

    public Admin(Properties props) {
        this(Producer.toMap(props));
    }

    private Admin(ConfigDef.Parsed c) {
        List<HostPort> bootstrap = HostPort.parseList(c.getList(AdminConfig.BOOTSTRAP_SERVERS), AdminConfig.BOOTSTRAP_SERVERS);
        this.channels = CommonClientConfigs.channelPool(c);
        java.util.concurrent.atomic.AtomicInteger threads = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(CALL_THREADS, CALL_THREADS,
                30, TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "basalt-admin-" + threads.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, (r, e) -> {
                    // found probing: a call after close() threw the pool's RejectedExecutionException
                    throw new IllegalStateException("admin client is closed");
                });
        pool.allowCoreThreadTimeOut(true); // an idle admin client holds no threads
        this.executor = pool;
        this.calls = new AdminCalls(channels, bootstrap, c.getInt(AdminConfig.REQUEST_TIMEOUT_MS),
                c.getLong(AdminConfig.RETRY_BACKOFF_MS), c.getInt(AdminConfig.DEFAULT_API_TIMEOUT_MS), Time.SYSTEM);
        this.reassignments = new ReassignmentCalls(calls, channels, c.getInt(AdminConfig.REQUEST_TIMEOUT_MS));
        this.metadata = new MetadataManager(channels, bootstrap, c.getInt(AdminConfig.REQUEST_TIMEOUT_MS),
                c.getLong(AdminConfig.RETRY_BACKOFF_MS), c.getLong(CommonClientConfigs.METADATA_MAX_AGE_MS), Time.SYSTEM);
        this.recordDeletion = new RecordDeletion(metadata, channels, c.getInt(AdminConfig.REQUEST_TIMEOUT_MS),
                c.getLong(AdminConfig.RETRY_BACKOFF_MS), Time.SYSTEM);
        this.apiTimeoutMs = c.getInt(AdminConfig.DEFAULT_API_TIMEOUT_MS);
    }

    /** Creates topics; one future per topic name, failing with e.g. TopicExistsException or InvalidTopicException. */
    public Map<String, CompletableFuture<TopicCreated>> createTopics(Collection<NewTopic> topics, boolean validateOnly) {
        return calls.perEntity(executor, topics.stream().map(NewTopic::name).toList(),
                pending -> calls.createTopics(topics, pending, validateOnly));
    }

    /** Deletes topics; one future per name. */
    public Map<String, CompletableFuture<Void>> deleteTopics(Collection<String> names) {
        return calls.perEntity(executor, List.copyOf(names), pending -> calls.deleteTopics(pending));
    }

    /** Grows topics to the given total partition counts; one future per topic. */
    public Map<String, CompletableFuture<Void>> createPartitions(Map<String, Integer> totalCounts, boolean validateOnly) {
        return calls.perEntity(executor, List.copyOf(totalCounts.keySet()),
                pending -> calls.createPartitions(totalCounts, pending, validateOnly));
    }

    /** Lists topics sorted by name. */
    public CompletableFuture<List<TopicListing>> listTopics(boolean includeInternal) {
        return calls.read(executor, () -> calls.listTopics(includeInternal));
    }

    /** Describes the named topics (empty = every non-internal topic); fails on the first topic in error. */
    public CompletableFuture<Map<String, TopicDescription>> describeTopics(Collection<String> names) {
        return calls.read(executor, () -> calls.describeTopics(List.copyOf(names)));
    }

    /** Describes configs; empty names = every key of the resource. */
    public CompletableFuture<Map<ConfigResource, List<ConfigEntry>>> describeConfigs(Collection<ConfigResource> resources,
                                                                                    Collection<String> names) {
        return calls.read(executor, () -> calls.describeConfigs(List.copyOf(resources), List.copyOf(names)));
    }

    /** Applies incremental config changes; one future per resource (keyed by resource name). */
    public Map<String, CompletableFuture<Void>> alterConfigs(Map<ConfigResource, List<AlterConfigOp>> changes, boolean validateOnly) {
        java.util.Set<String> names = new java.util.HashSet<>();
        for (ConfigResource r : changes.keySet()) {
            if (!names.add(r.name())) {
                // the answer is keyed by name: a topic and a broker of one name could not be told apart
                throw new IllegalArgumentException("a topic and a broker both named '" + r.name()
                        + "': alter them in separate calls (the results are keyed by name)");
            }
        }
        return calls.perEntity(executor, changes.keySet().stream().map(ConfigResource::name).toList(),
                pending -> calls.alterConfigs(changes, pending, validateOnly));
    }

    public CompletableFuture<ClusterDescription> describeCluster(boolean includeFenced) {
        return calls.read(executor, () -> calls.describeCluster(includeFenced));
    }

    /**
     * The storage of the broker at {@code host}:{@code port} (each broker describes its own: data
     * directory, free space, scrubbing progress and findings, offline replicas).
     */
    public CompletableFuture<dev.basalt.client.admin.StorageDescription> describeStorage(String host, int port) {
        dev.basalt.client.internal.HostPort address = new dev.basalt.client.internal.HostPort(host, port);
        return calls.read(executor, () -> calls.describeStorage(address));
    }

    public CompletableFuture<QuorumDescription> describeQuorum() {
        return calls.read(executor, calls::describeQuorum);
    }

    // ------------------------------------------------------------------ reassignment (KIP-455)

    /**
     * Starts (target present), replaces or cancels (target empty) partition reassignments; one future
     * per partition, keyed {@code topic-partition}, completing once the start or cancel is committed.
     * Refusals fail with {@link ReassignmentException}. Reducing or raising the replication factor is
     * a reassignment to a shorter or longer list.
     */
    public Map<String, CompletableFuture<Void>> alterPartitionReassignments(
            Map<TopicPartition, Optional<List<Integer>>> targets) {
        return calls.perEntity(executor, targets.keySet().stream().map(ReassignmentCalls::key).toList(),
                pending -> reassignments.alter(targets, pending));
    }

    /** Reassignments in progress (empty topics = all), with every reachable broker's replica progress. */
    public CompletableFuture<List<PartitionReassignment>> listPartitionReassignments(Collection<String> topics) {
        return calls.read(executor, () -> reassignments.list(List.copyOf(topics)));
    }

    /**
     * As {@link #listPartitionReassignments(Collection)}; with {@code progress} false only the
     * broker answering is asked (one request; progress only of the replicas it holds), so an
     * unreachable broker does not delay the answer.
     */
    public CompletableFuture<List<PartitionReassignment>> listPartitionReassignments(Collection<String> topics, boolean progress) {
        return calls.read(executor, () -> reassignments.list(List.copyOf(topics), progress));
    }

    /** A balanced plan for the topics over the brokers that moves as few replicas as possible (nothing changes). */
    public CompletableFuture<List<ReassignmentMove>> generateReassignmentPlan(Collection<String> topics,
                                                                           Collection<Integer> brokers) {
        return calls.read(executor, () -> reassignments.generate(List.copyOf(topics), List.copyOf(brokers)));
    }

    /** Decommissions (drains) a broker; idempotent: calling again reports progress. */
    public CompletableFuture<DecommissionProgress> decommissionBroker(int brokerId) {
        return calls.read(executor, () -> reassignments.decommission(brokerId, true));
    }

    /** Puts a decommissioned broker back in service; idempotent. */
    public CompletableFuture<DecommissionProgress> recommissionBroker(int brokerId) {
        return calls.read(executor, () -> reassignments.decommission(brokerId, false));
    }

    /** Moves leadership to preferred replicas where safe (empty = every partition); idempotent. */
    public CompletableFuture<LeaderElectionResult> electPreferredLeaders(Collection<TopicPartition> partitions) {
        return calls.read(executor, () -> reassignments.electPreferredLeaders(List.copyOf(partitions)));
    }

    // ------------------------------------------------------------------ records (KIP-107)

    /**
     * Deletes each partition's records below its offset ({@link #HIGH_WATERMARK}, -1: every
     * committed record), as Kafka's {@code deleteRecords}: the partition's log start moves up to
     * the offset, consumers and ListOffsets EARLIEST start there, and sealed segments wholly below
     * it are removed from disk (the segment holding the offset keeps its bytes, unreadable, until
     * it rolls and retention removes it). Bounded by {@code default.api.timeout.ms}; see
     * {@link #deleteRecords(Map, Duration)}.
     */
    public Map<TopicPartition, CompletableFuture<DeletedRecords>> deleteRecords(Map<TopicPartition, Long> beforeOffsets) {
        return deleteRecords(beforeOffsets, Duration.ofMillis(apiTimeoutMs));
    }

    /**
     * As {@link #deleteRecords(Map)}, within {@code timeout}. One future per partition, completing
     * with the partition's low watermark once its leader and every in-sync (and eligible) replica
     * start at or above the offset, so that a leader a clean election picks next does not serve the
     * deleted records again. Each partition is sent to its leader (this client's metadata says which, refreshed for
     * the call); NOT_LEADER and the other retriable answers, an unreachable leader or a lost answer
     * are sent again (the call is idempotent) after a metadata refresh until the timeout. A future
     * fails with:
     * <ul>
     *   <li>{@link UnknownTopicException}, {@link InvalidPartitionException}: the topic or partition
     *       does not exist;
     *   <li>{@link OffsetOutOfRangeException}: the offset is above the high watermark (only committed
     *       records can be deleted);
     *   <li>{@link InvalidRequestException}: the topic is internal, or its cleanup.policy does not
     *       include delete;
     *   <li>{@link IndeterminateException}: REQUEST_TIMED_OUT, the leader moved its log start but a
     *       replica had not followed in time (they normally do with their next fetch, but a leader
     *       change before then would undo the deletion; asking again waits for them), the last
     *       request's answer was lost at the timeout, or at the timeout the last answer was an error
     *       from a leader that had moved the log start first (leadership moved while it waited, a
     *       storage error midway);
     *   <li>{@link ClientTimeoutException}: nothing could be done before the timeout (no leader, the
     *       leader unreachable or refusing, e.g. STORAGE_ERROR); its cause is the last error.
     * </ul>
     *
     * @throws IllegalArgumentException an offset below -1, a null partition or offset, or a timeout
     *                                  that is not positive (nothing is sent); a negative partition
     *                                  cannot be named ({@link TopicPartition} refuses it)
     */
    public Map<TopicPartition, CompletableFuture<DeletedRecords>> deleteRecords(Map<TopicPartition, Long> beforeOffsets,
                                                                               Duration timeout) {
        Map<TopicPartition, Long> offsets = RecordDeletion.checked(beforeOffsets);
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("deleteRecords: the timeout must be positive, not " + timeout);
        }
        Map<TopicPartition, CompletableFuture<DeletedRecords>> futures = new java.util.LinkedHashMap<>();
        offsets.keySet().forEach(tp -> futures.put(tp, new CompletableFuture<>()));
        // at most about 24 days (a longer Duration would overflow the deadline's arithmetic)
        long timeoutMs = timeout.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) > 0 ? Integer.MAX_VALUE : timeout.toMillis();
        if (!offsets.isEmpty()) {
            executor.execute(() -> recordDeletion.delete(offsets, futures, timeoutMs));
        }
        return java.util.Collections.unmodifiableMap(futures);
    }

    /** Waits for a future, unwrapping a {@link BasaltException}. */
    public static <T> T get(CompletableFuture<T> f, Duration timeout) {
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof BasaltException b) {
                throw b;
            }
            throw new UnknownServerException("admin call failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new ClientTimeoutException("no answer within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DefiniteException("interrupted", false, e);
        }
    }

    /**
     * Waits for every future of a per-entity result (a change: create, delete, alter), throwing the
     * first failure in key order. A change with no answer in time may still be applied (its request
     * may sit with a controller that comes back): that is an {@link IndeterminateException} saying so.
     */
    public static <T> Map<String, T> getAll(Map<String, CompletableFuture<T>> futures, Duration timeout) {
        Map<String, T> out = new java.util.LinkedHashMap<>();
        futures.forEach((k, f) -> {
            try {
                out.put(k, get(f, timeout));
            } catch (ClientTimeoutException e) {
                throw unansweredChange(k, e);
            }
        });
        return out;
    }

    /** What a change to {@code entity} with no answer in time is: it may still be applied. */
    public static IndeterminateException unansweredChange(String entity, ClientTimeoutException e) {
        return new IndeterminateException(entity + ": " + e.getMessage() + "; the change may still be applied (e.g. once the"
                + " controller quorum is back): check its state before retrying", e);
    }

    @Override
    public void close() {
        executor.shutdownNow();
        channels.close(5_000);
    }
}
