package dev.basalt.broker.group;

import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.ByteString;
import dev.basalt.broker.controller.ControllerChannel;
import dev.basalt.broker.group.state.GroupConfig;
import dev.basalt.broker.group.state.GroupRecord;
import dev.basalt.broker.group.state.GroupShard;
import dev.basalt.broker.group.state.Result;
import dev.basalt.broker.group.state.TopicsView;
import dev.basalt.broker.metadata.MetadataSubscriber;
import dev.basalt.broker.metadata.MetadataUpdate;
import dev.basalt.broker.replica.Lookup;
import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.broker.server.ProduceHandler;
import dev.basalt.log.FetchSlice;
import dev.basalt.log.OffsetOutOfRangeException;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.record.Batches;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The group coordinator of a broker: for each {@code __consumer_offsets} partition this broker
 * leads, a {@link GroupShard} driven by its own event loop (a sequential executor over a small
 * shared pool), loaded by replaying the partition and written through the normal produce path with
 * acks=all.
 *
 * <h2>Lifecycle of a partition</h2>
 * <pre>
 *  (not led) ──image: leader == me, epoch E──▶ LOADING ──replayed to the log end, HW there──▶ LOADED
 *      ▲                                          │                                            │
 *      └──────── image: leader != me (or a new epoch: unload, then load again) ◀───────────────┘
 *                                  a failed write: unload and load again (state ran ahead of the log)
 * </pre>
 * A decision's records are applied to the shard at once (so the next request on the loop sees
 * them) and its answer is sent once they are committed (HW past them); an answer without records
 * still waits for the partition's earlier writes, so no client reads state that could be lost.
 *
 * <p>{@code __consumer_offsets} is created on the first FindCoordinator ({@code
 * offsets.topic.num.partitions} partitions, RF = min(3, unfenced brokers), compacted).
 *
 * <p>Thread-safety: thread-safe. Metadata updates arrive on the publisher thread, requests on gRPC
 * threads; everything touching a shard runs on that shard's loop.
 */
public final class GroupCoordinator implements MetadataSubscriber, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GroupCoordinator.class);
    public static final String TOPIC = dev.basalt.common.TopicNames.CONSUMER_OFFSETS;
    /** Bytes read per step while loading a partition. */
    static final int LOAD_READ_BYTES = 1 << 20;
    /** Retry delay while a partition waits to be readable (leadership applied, HW caught up). */
    static final long LOAD_RETRY_MS = 50;
    /** Retry interval of a load the partition's log refused (corrupt or offline copy). */
    static final long LOAD_FAILED_RETRY_MS = 1_000;
    /** Largest batch of records one decision may write (topic max.message.bytes). */
    static final int BATCH_BYTES_MAX = 8 << 20;

    /**
     * @param partitions         {@code offsets.topic.num.partitions}
     * @param replicationFactor  {@code offsets.topic.replication.factor} (capped at the live brokers)
     * @param segmentBytes       {@code offsets.topic.segment.bytes}: the topic's segment.bytes
     * @param pollIntervalMs     how often each shard checks sessions, topics and group expiry
     * @param writeTimeoutMs     how long a decision's records may take to commit
     */
    public record Settings(int partitions, int replicationFactor, int segmentBytes, GroupConfig group, long pollIntervalMs,
                           int writeTimeoutMs) {
    }

    /** A coordinator-level failure carrying the protocol error to answer. */
    public static final class CoordinatorException extends RuntimeException {
        private final ErrorCode code;

        public CoordinatorException(ErrorCode code, String message) {
            super(message, null, false, false);
            this.code = code;
        }

        public ErrorCode code() {
            return code;
        }
    }

    private final int brokerId;
    private final Settings settings;
    private final ReplicaManager replicas;
    private final ProduceHandler produce;
    private final ControllerChannel controller;
    private final Clock clock;
    private final ScheduledExecutorService timer;
    private final Executor pool;
    private final ConcurrentHashMap<Integer, Shard> shards = new ConcurrentHashMap<>();
    private final AtomicBoolean creatingTopic = new AtomicBoolean();
    private volatile MetadataImage image = MetadataImage.EMPTY;
    /**
     * Whether this broker's image has once caught up with the quorum since it started. Before, a
     * missing offsets topic or group may only be missing from a stale image: answered as such
     * (found probing: a restarting node said "__consumer_offsets does not exist yet" for seconds,
     * and would ask the controller to create it).
     */
    private volatile boolean metadataCaughtUp;
    private volatile TopicsView topicsView = TopicsView.EMPTY;
    private volatile boolean closed;
    private final List<CommitListener> commitListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Told of every committed offset commit (the lag monitor). Called on a shard's loop; must not block. */
    public interface CommitListener {
        void onCommitted(List<GroupRecord> records);

        /**
         * Records replayed from the log while a shard loads, in log order; {@code load} is the same
         * object for one whole load of one shard (a new load rebuilds what an earlier one told).
         */
        default void onReplayed(List<GroupRecord> records, Object load) {
        }
    }

    public GroupCoordinator(int brokerId, Settings settings, ReplicaManager replicas, ProduceHandler produce,
                            ControllerChannel controller, Clock clock, ScheduledExecutorService timer, Executor pool) {
        this.brokerId = brokerId;
        this.settings = settings;
        this.replicas = replicas;
        this.produce = produce;
        this.controller = controller;
        this.clock = clock;
        this.timer = timer;
        this.pool = pool;
    }

    public void addCommitListener(CommitListener l) {
        commitListeners.add(l);
    }

    public Settings settings() {
        return settings;
    }

    public TopicsView topics() {
        return topicsView;
    }

    public MetadataImage image() {
        return image;
    }

    // ------------------------------------------------------------------ routing

    /** The offsets partition of a group: Kafka's abs(hashCode) % partitions. */
    public static int partitionFor(String groupId, int partitions) {
        return (groupId.hashCode() & 0x7fffffff) % partitions;
    }

    /** The partition count of the offsets topic as it exists, or the configured one. */
    private int offsetsPartitions() {
        return image.topics().topic(TOPIC).map(TopicImage::partitionCount).orElse(settings.partitions());
    }

    /** FindCoordinator: where the group lives. Creates the offsets topic when missing. */
    public CompletableFuture<Coordinator> findCoordinator(String groupId) {
        if (!metadataCaughtUp) {
            return CompletableFuture.failedFuture(notCaughtUp());
        }
        MetadataImage img = image;
        Optional<TopicImage> topic = img.topics().topic(TOPIC);
        if (topic.isEmpty()) {
            maybeCreateTopic(img);
            return CompletableFuture.failedFuture(new CoordinatorException(ErrorCode.COORDINATOR_NOT_AVAILABLE,
                    TOPIC + " is being created"));
        }
        int p = partitionFor(groupId, topic.get().partitionCount());
        PartitionRegistration reg = topic.get().partition(p).orElseThrow();
        if (!reg.hasLeader()) {
            return CompletableFuture.failedFuture(new CoordinatorException(ErrorCode.COORDINATOR_NOT_AVAILABLE,
                    TOPIC + "-" + p + " has no leader"));
        }
        Optional<Endpoint> ep = img.cluster().broker(reg.leader()).flatMap(b -> b.endpoints().stream()
                .filter(e -> e.name().equals(ReplicaManager.REPLICATION_LISTENER)).findFirst());
        if (ep.isEmpty()) {
            return CompletableFuture.failedFuture(new CoordinatorException(ErrorCode.COORDINATOR_NOT_AVAILABLE,
                    "leader " + reg.leader() + " of " + TOPIC + "-" + p + " has no client endpoint"));
        }
        return CompletableFuture.completedFuture(new Coordinator(reg.leader(), ep.get().host(), ep.get().port(), p));
    }

    public record Coordinator(int nodeId, String host, int port, int partition) {
    }

    private void maybeCreateTopic(MetadataImage img) {
        if (!creatingTopic.compareAndSet(false, true)) {
            return;
        }
        int live = Math.max(1, img.cluster().unfencedBrokerIds().size());
        CreateTopicsRequest req = CreateTopicsRequest.newBuilder().setTimeoutMs(settings.writeTimeoutMs())
                .addTopics(CreateTopicsRequest.NewTopic.newBuilder().setName(TOPIC).setPartitions(settings.partitions())
                        .setReplicationFactor(Math.min(settings.replicationFactor(), live))
                        .putConfigs("cleanup.policy", "compact")
                        .putConfigs("segment.bytes", String.valueOf(settings.segmentBytes()))
                        .putConfigs("max.message.bytes", String.valueOf(BATCH_BYTES_MAX)))
                .build();
        // Not in the context of the client call that asked: that call is answered at once
        // (COORDINATOR_NOT_AVAILABLE) and its end would cancel the forwarded create.
        io.grpc.Context detached = io.grpc.Context.current().fork();
        io.grpc.Context previous = detached.attach();
        CompletableFuture<dev.basalt.proto.v1.CreateTopicsResponse> created;
        try {
            created = controller.createTopics(req);
        } finally {
            detached.detach(previous);
        }
        created.whenComplete((res, err) -> {
            creatingTopic.set(false);
            if (err != null) {
                log.warn("Creating {} failed: {}", TOPIC, err.toString());
            } else {
                log.info("Created {}: {}", TOPIC, res.getTopics(0).getErrorCode());
            }
        });
    }

    /**
     * Whether no group can exist: this broker caught up on the metadata log and the offsets topic
     * (created on the first group lookup) is not there. Read-only answers say "no such group"
     * then rather than "try again" (found probing: the lag of a mistyped group on a cluster that
     * never used a group was a 503 to retry).
     */
    public boolean noGroupCanExist() {
        return metadataCaughtUp && image.topics().topic(TOPIC).isEmpty();
    }

    /** The loaded shard of the group's partition, or the error to answer. */
    private Shard shardOf(String groupId) {
        if (!metadataCaughtUp) {
            throw notCaughtUp();
        }
        MetadataImage img = image;
        if (img.topics().topic(TOPIC).isEmpty()) {
            throw new CoordinatorException(ErrorCode.COORDINATOR_NOT_AVAILABLE, TOPIC + " does not exist yet");
        }
        int p = partitionFor(groupId, offsetsPartitions());
        Shard s = shards.get(p);
        if (s == null) {
            // The image may name this broker the partition's leader a moment before the shard is
            // loaded (found by a grpcurl-style client right after FindCoordinator created the
            // topic on one node): a retry here soon succeeds, another coordinator lookup would not help.
            boolean leads = img.topics().topic(TOPIC).flatMap(t -> t.partition(p)).map(r -> r.leader() == brokerId).orElse(false);
            if (leads) {
                throw new CoordinatorException(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "broker " + brokerId + " leads " + TOPIC
                        + "-" + p + " but has not loaded group " + groupId + "'s shard yet; retry");
            }
            throw new CoordinatorException(ErrorCode.NOT_COORDINATOR, "broker " + brokerId + " is not the coordinator of group "
                    + groupId + " (" + TOPIC + "-" + p + ")");
        }
        return s;
    }

    private CoordinatorException notCaughtUp() {
        return new CoordinatorException(ErrorCode.COORDINATOR_NOT_AVAILABLE, "broker " + brokerId
                + " has not caught up on the metadata log since it started; retry, or ask another broker");
    }

    // ------------------------------------------------------------------ operations

    /** Runs a decision on the group's shard; the answer completes once its records are committed. */
    public <T> CompletableFuture<T> write(String groupId, Function<GroupShard, Result<T>> op) {
        Shard s;
        try {
            s = shardOf(groupId);
        } catch (CoordinatorException e) {
            return CompletableFuture.failedFuture(e);
        }
        return s.submitWrite(op);
    }

    /** Runs a read on the group's shard; the answer waits for the shard's earlier writes. */
    public <T> CompletableFuture<T> read(String groupId, Function<GroupShard, T> op) {
        Shard s;
        try {
            s = shardOf(groupId);
        } catch (CoordinatorException e) {
            return CompletableFuture.failedFuture(e);
        }
        return s.submitRead(op);
    }

    /**
     * Runs a read on every shard of this broker, for listings: fails with
     * COORDINATOR_NOT_AVAILABLE before this node has caught up on the metadata log (it does not know
     * yet which shards it leads), and with COORDINATOR_LOAD_IN_PROGRESS while a shard loads (either
     * way "no groups" would be a lie; both are retriable). A shard handed to another broker while
     * the read ran is left out: its groups are listed by their new coordinator.
     */
    public <T> CompletableFuture<List<T>> readAll(Function<GroupShard, T> op) {
        return readAll(op, true);
    }

    /** As {@link #readAll(Function)}, but a loading shard is left out instead of failing the read (gauges). */
    public <T> CompletableFuture<List<T>> readAllLoaded(Function<GroupShard, T> op) {
        return readAll(op, false);
    }

    private <T> CompletableFuture<List<T>> readAll(Function<GroupShard, T> op, boolean failWhileLoading) {
        if (!metadataCaughtUp) {
            return CompletableFuture.failedFuture(notCaughtUp());
        }
        List<CompletableFuture<T>> all = new ArrayList<>();
        for (Shard s : new TreeMap<>(shards).values()) {
            all.add(s.submitRead(op).exceptionally(e -> {
                Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
                if (failWhileLoading && cause instanceof CoordinatorException ce && ce.code() == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
                    throw ce;
                }
                return null;
            }));
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(v -> {
            List<T> out = new ArrayList<>();
            for (CompletableFuture<T> f : all) {
                T t = f.join();
                if (t != null) {
                    out.add(t);
                }
            }
            return out;
        });
    }

    public long nowMs() {
        return clock.millis();
    }

    // ------------------------------------------------------------------ metadata

    @Override
    public void onMetadataUpdate(MetadataUpdate update) {
        MetadataImage img = update.image();
        image = img;
        if (update.caughtUp()) {
            metadataCaughtUp = true;
        }
        Map<String, Integer> counts = new TreeMap<>();
        img.topics().topicsByName().forEach((name, t) -> counts.put(name, t.partitionCount()));
        topicsView = TopicsView.of(counts);
        if (closed) {
            return;
        }
        Optional<TopicImage> offsets = img.topics().topic(TOPIC);
        Set<Integer> led = new TreeSet<>();
        offsets.ifPresent(t -> t.partitions().forEach((p, reg) -> {
            if (reg.leader() == brokerId) {
                led.add(p);
                Shard s = shards.get(p);
                if (s == null || s.leaderEpoch != reg.leaderEpoch()) {
                    if (s != null) {
                        s.unload("new leader epoch " + reg.leaderEpoch());
                    }
                    Shard fresh = new Shard(p, reg.leaderEpoch());
                    shards.put(p, fresh);
                    fresh.startLoading();
                }
            }
        }));
        for (Integer p : new ArrayList<>(shards.keySet())) {
            if (!led.contains(p)) {
                Shard s = shards.remove(p);
                if (s != null) {
                    s.unload("no longer the leader");
                }
            }
        }
        Set<String> removed = new TreeSet<>();
        for (TopicImage t : update.removedTopics()) {
            removed.add(t.name());
        }
        if (!removed.isEmpty()) {
            for (Shard s : shards.values()) {
                s.submitWrite(g -> g.removeTopicOffsets(removed, clock.millis())).exceptionally(e -> null);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Integer p : new ArrayList<>(shards.keySet())) {
            Shard s = shards.remove(p);
            if (s != null) {
                s.unload("shutting down");
            }
        }
    }

    // ------------------------------------------------------------------ one partition

    /** One offsets partition this broker leads: its loop, its state, its pending writes. Confined to {@link #loop}. */
    private final class Shard {
        final int partition;
        final int leaderEpoch;
        final Executor loop = MoreExecutors.newSequentialExecutor(pool);
        GroupShard state;
        boolean loaded;
        volatile boolean unloaded;
        long loadOffset;
        /** Records of this load skipped: not group records, or contradicting the group's state (see replayBatches). */
        long skippedRecords;
        /** Keys of the records of this load the group's state refused, restated once loaded (repairRefused). */
        final List<GroupRecord.Key> refusedKeys = new ArrayList<>();
        long loadTargetOffset = -1;
        /** The offset of the last empty read below a committed target (see skipCommittedGap), -1 if none. */
        long emptyReadAt = -1;
        /** Why this load cannot read the partition (retried every LOAD_FAILED_RETRY_MS), null while it can. */
        volatile String loadFailure;
        int generation;
        /** Names this load to the commit listeners (onReplayed). */
        private Object loadToken = new Object();
        CompletableFuture<Void> lastWrite = CompletableFuture.completedFuture(null);
        ScheduledFuture<?> poll;

        Shard(int partition, int leaderEpoch) {
            this.partition = partition;
            this.leaderEpoch = leaderEpoch;
        }

        void startLoading() {
            loop.execute(this::beginLoad);
        }

        private void beginLoad() {
            generation++;
            loadToken = new Object();
            state = new GroupShard(settings.group());
            loaded = false;
            loadOffset = 0;
            loadTargetOffset = -1;
            emptyReadAt = -1;
            skippedRecords = 0;
            refusedKeys.clear();
            lastWrite = CompletableFuture.completedFuture(null);
            loadStep(generation);
        }

        /** Reads the partition from its start to the log end it had as this leader began, once committed. */
        private void loadStep(int gen) {
            if (unloaded || gen != generation) {
                return;
            }
            Lookup l = replicas.leaderFor(TOPIC, partition);
            if (!l.ok() || l.partition().leaderEpoch() != leaderEpoch) {
                retryLoad(gen);
                return;
            }
            Partition p = l.partition();
            try {
                if (loadTargetOffset < 0) {
                    loadTargetOffset = p.log().logEndOffset();
                    loadOffset = p.log().logStartOffset();
                }
                long steps = 0;
                while (loadOffset < loadTargetOffset && steps++ < 64) {
                    long before = loadOffset;
                    // checksums verified: the group state is rebuilt from these batches, and a
                    // corrupt one is reported (leadership moves, or the copy is cut) instead of replayed
                    try (FetchSlice slice = p.readVerified(loadOffset, LOAD_READ_BYTES, "the group coordinator's load found it"
                            + " failing its CRC")) {
                        replayBatches(slice.records());
                        if (slice.isEmpty()) {
                            if (slice.highWatermark() >= loadTargetOffset) {
                                skipCommittedGap(p);
                            }
                            break; // else the HW is not there yet
                        }
                        loadOffset = Math.max(loadOffset, slice.nextOffset());
                    }
                    if (loadOffset == before) {
                        break;
                    }
                }
                loadFailure = null; // this step read what it could: a wait now is for the HW, not the damage
            } catch (OffsetOutOfRangeException e) {
                loadOffset = p.log().logStartOffset(); // retention or compaction moved the start
            } catch (dev.basalt.log.UnknownPartitionException e) {
                retryLoad(gen); // the log closed under the read (leadership moving): the epoch check above decides
                return;
            } catch (RuntimeException e) {
                // This copy cannot serve what the load needs (a corrupt only copy, an offline log,
                // anything else that fails a read): requests are refused naming it, and the load is
                // tried again (leadership may move to a healthy replica, or a restart cut the
                // damage). Found probing: a CorruptLogException escaped the loop and the shard
                // answered "loading" forever.
                String why = e.getMessage() == null ? e.toString() : e.getMessage();
                if (loadFailure == null) {
                    log.error("{}-{}: cannot load the group state: {}; retrying every {} ms", TOPIC, partition, why,
                            LOAD_FAILED_RETRY_MS);
                }
                loadFailure = why;
                retryLoad(gen, LOAD_FAILED_RETRY_MS);
                return;
            }
            if (loadOffset < loadTargetOffset) {
                retryLoad(gen);
                return;
            }
            state.onLoaded(clock.millis());
            loaded = true;
            log.info("Loaded {}-{} (leader epoch {}): {} groups", TOPIC, partition, leaderEpoch, state.groups().size());
            schedulePoll(gen);
            if (!refusedKeys.isEmpty()) {
                repairRefused();
            }
        }

        /**
         * An empty read below a committed target: no batch from {@link #loadOffset} to the target,
         * the offsets a gap (a corrupt only copy cut at load keeps its lost offsets unused; found
         * probing: the load waited for them for ever). Skipped only when a second read at the same
         * offset is empty too (a read that raced a segment swap or truncation is also empty, once),
         * and never past a corrupt batch found while running, whose bytes are still in the log: the
         * next read there fails and names it (found by review: in a compacted log the load could
         * jump over it and serve older offsets).
         */
        private void skipCommittedGap(Partition p) {
            if (emptyReadAt != loadOffset) {
                emptyReadAt = loadOffset;
                return;
            }
            dev.basalt.log.PartitionLog.CorruptAt bad = p.log().corruptFrom();
            long to = bad == null ? loadTargetOffset : Math.min(loadTargetOffset, bad.offset());
            loadOffset = Math.max(loadOffset, to);
        }

        /**
         * Restates each key whose record this load refused and drops assignments left without a
         * member (GroupShard#restate, #dropAssignmentsWithoutMember), one small batch each. A write
         * that fails reloads the shard as any failed write does.
         */
        private void repairRefused() {
            List<GroupRecord.Key> refused = new ArrayList<>(new java.util.LinkedHashSet<>(refusedKeys));
            refusedKeys.clear();
            long now = clock.millis();
            try {
                for (GroupRecord.Key k : refused) {
                    runWrite(g -> g.restate(k, now));
                }
                for (String groupId : new ArrayList<>(state.groups().keySet())) {
                    runWrite(g -> g.dropAssignmentsWithoutMember(groupId, now));
                }
            } catch (RuntimeException e) {
                log.error("{}-{}: restating the records its load refused failed; the next load tries again", TOPIC, partition, e);
            }
        }

        private void replayBatches(ByteBuffer records) {
            long now = clock.millis();
            List<GroupRecord> replayed = new ArrayList<>();
            try {
                replayBatches(records, now, replayed);
            } finally {
                if (!replayed.isEmpty()) {
                    for (CommitListener l : commitListeners) {
                        try {
                            l.onReplayed(replayed, loadToken);
                        } catch (RuntimeException e) {
                            log.warn("A commit listener failed on replayed records of {}-{}", TOPIC, partition, e);
                        }
                    }
                }
            }
        }

        private void replayBatches(ByteBuffer records, long now, List<GroupRecord> replayed) {
            for (RecordBatch batch : Batches.iterate(records)) {
                if (batch.nextOffset() <= loadOffset) {
                    continue;
                }
                for (Record r : batch.records()) {
                    if (r.offset() < loadOffset) {
                        continue;
                    }
                    GroupRecord decoded;
                    try {
                        if (!r.hasKey()) {
                            throw new IllegalStateException("no key");
                        }
                        decoded = GroupRecordCodec.decode(r.keyBytes(), r.isTombstone() ? null : r.valueBytes());
                    } catch (IllegalStateException notOurs) {
                        // Not a record the coordinator wrote (a client's produce before internal topics
                        // were refused to clients, found probing): skipped, or no group of this
                        // partition could ever load again, on any node.
                        skippedRecords++;
                        log.warn("{}-{} offset {} is not a group record and is skipped ({}); {} skipped in this load",
                                TOPIC, partition, r.offset(), notOurs.getMessage(), skippedRecords);
                        continue;
                    }
                    try {
                        state.replay(decoded, now);
                    } catch (IllegalStateException contradicts) { // a refusal; any other exception is a bug: it stops the load
                        // A group record the state refuses (an epoch going back, a partition owned
                        // twice: a write no coordinator of this build makes). Stopping here would keep
                        // every group of the partition loading for good, on every node; skipped, the
                        // other groups and this group's offsets load, and repairRefused restates the
                        // key once loaded.
                        skippedRecords++;
                        refusedKeys.add(decoded.key());
                        log.error("{}-{} offset {}: group {} record {} contradicts the group's state and is skipped ({}); "
                                        + "{} skipped in this load", TOPIC, partition, r.offset(), decoded.groupId(),
                                decoded.getClass().getSimpleName(), contradicts.getMessage(), skippedRecords);
                        continue;
                    }
                    if (decoded instanceof GroupRecord.OffsetCommit || decoded instanceof GroupRecord.Tombstone) {
                        replayed.add(decoded);
                    }
                }
                loadOffset = batch.nextOffset();
            }
        }

        private void retryLoad(int gen) {
            retryLoad(gen, LOAD_RETRY_MS);
        }

        private void retryLoad(int gen, long delayMs) {
            if (!unloaded) {
                timer.schedule(() -> loop.execute(() -> loadStep(gen)), delayMs, TimeUnit.MILLISECONDS);
            }
        }

        private void schedulePoll(int gen) {
            if (unloaded) {
                return;
            }
            poll = timer.schedule(() -> loop.execute(() -> {
                if (!unloaded && gen == generation && loaded) {
                    runWrite(g -> g.poll(topicsView, clock.millis()));
                    schedulePoll(gen);
                }
            }), settings.pollIntervalMs(), TimeUnit.MILLISECONDS);
        }

        void unload(String why) {
            unloaded = true;
            loop.execute(() -> {
                // A shard that never finished loading served nothing: DEBUG. Every restart replays
                // the metadata log from before it, in which this node still leads its offsets
                // partitions; the shards it began loading from that are dropped as the log catches
                // up (a restarted one-node cluster logged it once per offsets partition, 50 lines).
                if (loaded) {
                    log.info("Unloading {}-{} (leader epoch {}): {}", TOPIC, partition, leaderEpoch, why);
                } else {
                    log.debug("Unloading {}-{} (leader epoch {}) before it was loaded: {}", TOPIC, partition, leaderEpoch, why);
                }
                ScheduledFuture<?> f = poll;
                if (f != null) {
                    f.cancel(false);
                }
                state = null;
                loaded = false;
            });
        }

        <T> CompletableFuture<T> submitWrite(Function<GroupShard, Result<T>> op) {
            CompletableFuture<T> out = new CompletableFuture<>();
            loop.execute(() -> {
                try {
                    checkServing();
                    runWrite(op).whenComplete((v, e) -> {
                        if (e != null) {
                            out.completeExceptionally(e);
                        } else {
                            out.complete(v);
                        }
                    });
                } catch (RuntimeException e) {
                    out.completeExceptionally(e);
                }
            });
            return out;
        }

        <T> CompletableFuture<T> submitRead(Function<GroupShard, T> op) {
            CompletableFuture<T> out = new CompletableFuture<>();
            loop.execute(() -> {
                try {
                    checkServing();
                    T value = op.apply(state);
                    lastWrite.whenComplete((v, e) -> {
                        if (e != null) {
                            out.completeExceptionally(e);
                        } else {
                            out.complete(value);
                        }
                    });
                } catch (RuntimeException e) {
                    out.completeExceptionally(e);
                }
            });
            return out;
        }

        private void checkServing() {
            if (unloaded || state == null) {
                throw new CoordinatorException(ErrorCode.NOT_COORDINATOR, "broker " + brokerId + " no longer leads " + TOPIC + "-" + partition);
            }
            String failure = loadFailure;
            if (!loaded && failure != null) {
                throw new CoordinatorException(ErrorCode.COORDINATOR_NOT_AVAILABLE, TOPIC + "-" + partition
                        + " cannot be loaded on broker " + brokerId + ": " + failure);
            }
            if (!loaded) {
                throw new CoordinatorException(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, TOPIC + "-" + partition + " is loading");
            }
        }

        /** On the loop: decide, write the records, answer when committed. */
        private <T> CompletableFuture<T> runWrite(Function<GroupShard, Result<T>> op) {
            Result<T> r = op.apply(state);
            if (r.records().isEmpty()) {
                return lastWrite.thenApply(v -> r.response());
            }
            int gen = generation;
            CompletableFuture<Void> written = append(r.records());
            lastWrite = written;
            written.whenComplete((v, e) -> {
                if (e != null) {
                    // the state holds records the log may not: rebuild it from the log
                    loop.execute(() -> {
                        if (!unloaded && gen == generation) {
                            log.warn("Write to {}-{} failed ({}); reloading", TOPIC, partition, e.getMessage());
                            beginLoad();
                        }
                    });
                } else {
                    for (CommitListener l : commitListeners) {
                        l.onCommitted(r.records());
                    }
                }
            });
            return written.thenApply(v -> r.response());
        }

        private CompletableFuture<Void> append(List<GroupRecord> records) {
            List<GroupRecordCodec.Encoded> encoded = new ArrayList<>(records.size());
            int size = RecordBatch.HEADER_SIZE_BYTES;
            for (GroupRecord r : records) {
                GroupRecordCodec.Encoded e = GroupRecordCodec.encode(r);
                encoded.add(e);
                size += RecordBatchBuilder.estimateBatchSizeBytes(e.key(), e.value(), List.of()) + 32;
            }
            if (size > BATCH_BYTES_MAX) {
                return CompletableFuture.failedFuture(new CoordinatorException(ErrorCode.RECORD_TOO_LARGE,
                        "a group decision of " + records.size() + " records needs " + size + " bytes"));
            }
            ByteBuffer buf = ByteBuffer.allocate(size);
            long now = clock.millis();
            RecordBatchBuilder b = new RecordBatchBuilder(buf, now);
            for (GroupRecordCodec.Encoded e : encoded) {
                if (!b.tryAppend(now, e.key(), e.value(), List.of())) {
                    throw new IllegalStateException("batch estimate too small for " + records.size() + " records");
                }
            }
            RecordBatch batch = b.build();
            ByteBuffer bytes = batch.buffer();
            ProduceRequest req = ProduceRequest.newBuilder().setAcks(-1).setTimeoutMs(settings.writeTimeoutMs())
                    .addTopics(ProduceRequest.TopicData.newBuilder().setName(TOPIC).addPartitions(
                            ProduceRequest.PartitionData.newBuilder().setPartition(partition).setRecords(ByteString.copyFrom(bytes))))
                    .build();
            CompletableFuture<Void> done = new CompletableFuture<>();
            produce.handleInternal(req, (ProduceResponse res) -> {
                ErrorCode code = res.getErrorCode();
                String message = res.getErrorMessage();
                if (code == ErrorCode.NONE && res.getTopicsCount() > 0 && res.getTopics(0).getPartitionsCount() > 0) {
                    code = res.getTopics(0).getPartitions(0).getErrorCode();
                    message = res.getTopics(0).getPartitions(0).getErrorMessage();
                }
                if (code == ErrorCode.NONE) {
                    done.complete(null);
                } else {
                    done.completeExceptionally(new CoordinatorException(memberFacing(code), "writing to " + TOPIC + "-" + partition
                            + ": " + code + " " + message));
                }
            });
            return done;
        }
    }

    /**
     * What a member is told when the coordinator's write to its offsets partition failed with
     * {@code code}. The partition moved: NOT_COORDINATOR (look the coordinator up again). Anything
     * the partition may get over by itself (its ISR below min.insync.replicas while replicas
     * restart, a write timed out, storage refusing appends, a replica not available yet):
     * COORDINATOR_NOT_AVAILABLE, which clients retry. Found probing: NOT_ENOUGH_REPLICAS went to the
     * members as it was, and the Java consumer's poll() threw it (retriable, but not a code the
     * group protocol has) after two of three nodes were restarted. A write that may have been
     * appended (timed out, or appended with the ISR shrinking): REQUEST_TIMED_OUT, outcome unknown.
     * Too large: as it is (a commit's metadata too big). A malformed write is the coordinator's
     * bug: UNKNOWN_SERVER_ERROR.
     */
    static ErrorCode memberFacing(ErrorCode code) {
        return switch (code) {
            case NOT_LEADER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, NOT_REPLICA, UNKNOWN_TOPIC, INVALID_PARTITION ->
                    ErrorCode.NOT_COORDINATOR;
            // may have been written, and committed later: the member must not take it as not done
            // (found by review: a group deletion retried as "nothing was done" then read as no such group)
            case REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND -> ErrorCode.REQUEST_TIMED_OUT;
            case CORRUPT_RECORD, INVALID_RECORD, INVALID_REQUEST -> ErrorCode.UNKNOWN_SERVER_ERROR;
            case NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, RECORD_TOO_LARGE -> code;
            default -> ErrorCode.COORDINATOR_NOT_AVAILABLE;
        };
    }
}
