package dev.basalt.broker.replica;

import dev.basalt.broker.config.TopicConfigs;
import dev.basalt.broker.metadata.MetadataSubscriber;
import dev.basalt.broker.metadata.MetadataUpdate;
import dev.basalt.broker.purgatory.Purgatory;
import dev.basalt.broker.replica.fetcher.ReassignmentThrottle;
import dev.basalt.broker.replica.fetcher.ReplicaClient;
import dev.basalt.broker.replica.fetcher.ReplicaFetcherManager;
import dev.basalt.broker.replica.state.IsrChange;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.PartitionLog;
import dev.basalt.log.TopicPartition;
import dev.basalt.metadata.controller.AlterPartitionRequest;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.ErrorCode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this broker's partition replicas in step with the metadata, acting only on what each
 * {@link MetadataUpdate} changed: creates the log of every partition assigned here, makes each
 * replica leader or follower per leader epoch (starting and stopping fetchers), applies ISR and
 * config changes, and deletes the data of topics that were removed (or replaced by a new topic of
 * the same name: the topic id decides, so a re-created topic never sees the old data).
 *
 * <p>As leader it proposes ISR changes (followers lagging more than replica.lag.time.max.ms leave,
 * caught-up ones rejoin) through the {@link AlterPartitionSender}, one pending change per
 * partition; fsyncs durable-acks partitions on its flusher thread (group commit); and wakes the
 * produce and fetch purgatories whenever a HW, a log end or a leadership moves.
 *
 * <p>Data safety: the topic id of each partition's data is kept in
 * {@code <partition dir>/partition.metadata}. Nothing is deleted before the update says
 * {@code caughtUp}: right after a restart the image replays and a topic missing from it may simply
 * not be replayed yet. Conflicting or orphaned logs seen before then are neither served nor
 * deleted; the first caught-up update settles them (one scan of the data dir, once).
 *
 * <p>Thread-safety: {@link #onMetadataUpdate} runs on the metadata publisher's one thread
 * (serialized with {@code this}'s lock); lookups run concurrently on request threads and see either
 * the old or the new partition map; ISR checks and HW checkpoints run on the manager's scheduler
 * thread; fsyncs on the flusher thread.
 */
public final class ReplicaManager implements MetadataSubscriber, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReplicaManager.class);
    /** The listener brokers replicate over: the client listener (DESIGN.md §6). */
    public static final String REPLICATION_LISTENER = "PLAINTEXT";

    private final ReplicaConfig config;
    private final int brokerId;
    private final LogManager logs;
    private final Purgatory<TopicPartition> fetchWaiters;
    private final Purgatory<TopicPartition> produceWaiters;
    private final AlterPartitionSender alterPartition;
    private final Supplier<UUID> incarnationId;
    private final Clock clock;
    private final ReplicaFetcherManager fetchers;
    private final Flusher flusher;
    private final ReassignmentThrottle throttle = new ReassignmentThrottle();
    private final ConcurrentMap<TopicPartition, Partition> partitions = new ConcurrentHashMap<>();
    /** Partitions whose on-disk data belongs to another topic id, waiting for a caught-up image. Guarded by this. */
    private final Set<TopicPartition> deferred = new HashSet<>();
    private boolean orphansSettled; // guarded by this
    /**
     * Replicas whose latest metadata step failed for a reason that passes (the index refusing
     * writes on a full disk; not a replica known offline): a replica not opened, or a leadership
     * change cut short (the new epoch not persisted). Applied again by {@link #retryFailedApplies}:
     * applying a registration is idempotent and completes a transition cut short. Each maps to why
     * it failed the first time (kept, not updated per retry: a replica never opened is reported to
     * the controller with it, and a new text would be a new metadata record). Guarded by this.
     */
    private final Map<TopicPartition, String> applyFailed = new HashMap<>();
    /**
     * The replicas of {@link #applyFailed} that have no log open here (a replica of a topic created
     * while the disk was full): they serve nothing, so the heartbeat reports them offline, and their
     * leadership moves to an in-sync replica that can serve. Published after every change of
     * {@link #applyFailed} for the storage fault check's thread.
     */
    private volatile Map<TopicPartition, String> notOpened = Map.of();
    /** HW checkpoints fail for every replica while the disk is full: one summary line, not one WARN each. */
    private final dev.basalt.log.FailureSummaryLog hwCheckpointErrors = new dev.basalt.log.FailureSummaryLog(log, "checkpoint the HW");
    /** The caughtUp flag of the latest metadata step (retried opens run with it). Guarded by this. */
    private boolean lastCaughtUp;
    private ScheduledExecutorService scheduler;
    /** The current image with the metadata log index it holds, published as one value. */
    private volatile ImageAt imageAt = new ImageAt(MetadataImage.EMPTY, -1);
    private volatile boolean closed;

    /**
     * @param config         replication settings (ReplicaConfig.from(NodeConfig) in production)
     * @param logs           the data dir's logs
     * @param fetchWaiters   parked consumer and follower fetches, woken on appends and HW moves
     * @param produceWaiters parked acks=all produces, woken on HW moves and leadership changes
     * @param alterPartition how ISR changes reach the active controller
     * @param incarnationId  this broker process's incarnation (sent on every follower fetch)
     * @param clients        connections to other brokers' ReplicaService
     * @param clock          time for lag tracking and back-offs
     */
    public ReplicaManager(ReplicaConfig config, LogManager logs, Purgatory<TopicPartition> fetchWaiters,
                          Purgatory<TopicPartition> produceWaiters, AlterPartitionSender alterPartition,
                          Supplier<UUID> incarnationId, ReplicaClient.Factory clients, Clock clock) {
        this.config = config;
        this.brokerId = config.brokerId();
        this.logs = logs;
        this.fetchWaiters = fetchWaiters;
        this.produceWaiters = produceWaiters;
        this.alterPartition = alterPartition;
        this.incarnationId = incarnationId;
        this.clock = clock;
        this.fetchers = new ReplicaFetcherManager(brokerId, incarnationId, clients, config, clock, fetchWaiters::checkAndComplete,
                throttle);
        this.flusher = new Flusher(p -> onHighWatermarkMoved(p.topicPartition()));
    }

    /** Starts the flusher and the scheduler (ISR checks, HW checkpoints). Fetchers start with metadata. */
    public synchronized void start() {
        if (scheduler != null) {
            return;
        }
        flusher.start();
        ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "basalt-replica-scheduler");
            t.setDaemon(true);
            return t;
        });
        s.setRemoveOnCancelPolicy(true);
        scheduler = s;
        scheduler.scheduleWithFixedDelay(this::checkIsrs, config.isrCheckIntervalMs(), config.isrCheckIntervalMs(),
                TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(this::checkpointHighWatermarks, config.hwCheckpointIntervalMs(),
                config.hwCheckpointIntervalMs(), TimeUnit.MILLISECONDS);
    }

    /**
     * An image with the index of the last metadata log entry it holds ({@code appliedIndex}, -1 when
     * not known): the log is one sequence for the whole cluster, so a client can tell an older
     * broker's answer from a newer one.
     */
    public record ImageAt(MetadataImage image, long appliedIndex) {
    }

    /** The current image and its metadata log index, as one consistent pair. */
    public ImageAt imageAt() {
        return imageAt;
    }

    public MetadataImage image() {
        return imageAt.image();
    }

    /** True once {@link #close} began: replica requests are answered BROKER_NOT_AVAILABLE. */
    public boolean isClosed() {
        return closed;
    }

    public int brokerId() {
        return brokerId;
    }

    public ReplicaConfig config() {
        return config;
    }

    public Clock clock() {
        return clock;
    }

    public Supplier<UUID> incarnationId() {
        return incarnationId;
    }

    // ------------------------------------------------------------------ lookups (request threads)

    /** Finds the local leader replica of {@code topic}/{@code partition}, or the error to answer. */
    public Lookup leaderFor(String topic, int partition) {
        MetadataImage img = image(); // one snapshot for both steps: a concurrent update must not split them
        Lookup any = replicaFor(img, topic, partition);
        if (!any.ok() || any.partition().isLeader()) {
            return any;
        }
        PartitionRegistration r = img.topics().topic(topic).flatMap(t -> t.partition(partition)).orElseThrow();
        if (r.leader() == brokerId) {
            // The image names this broker, but its replica does not serve as leader: say why
            // rather than "broker N does not lead (leader is N)".
            return Lookup.notLeader(selfLeaderNotServing(any.partition(), topic, partition, r.leaderEpoch()), r.leader(),
                    r.leaderEpoch());
        }
        return Lookup.notLeader("broker " + brokerId + " does not lead " + topic + "-" + partition
                + (r.hasLeader() ? " (leader is " + r.leader() + ")" : " (no leader)"), r.leader(), r.leaderEpoch());
    }

    /**
     * Why a replica the metadata makes leader here does not serve as leader: its log is offline (a
     * storage fault; the heartbeat reports it and the controller moves leadership to another
     * in-sync replica, if there is one), or this broker has not taken its election over yet.
     */
    String selfLeaderNotServing(Partition p, String topic, int partition, int leaderEpoch) {
        String tp = topic + "-" + partition;
        if (p.log().isOffline()) {
            return "broker " + brokerId + " leads " + tp + " but cannot serve it: " + p.log().offlineReason()
                    + "; leadership moves to another in-sync replica if there is one";
        }
        return "broker " + brokerId + " leads " + tp + " from leader epoch " + leaderEpoch + " but has not taken over yet"
                + " (its replica is at epoch " + p.leaderEpoch() + "); retry";
    }

    /** Finds the local replica (leader or follower) of {@code topic}/{@code partition}, or the error to answer. */
    public Lookup replicaFor(String topic, int partition) {
        return replicaFor(image(), topic, partition);
    }

    private Lookup replicaFor(MetadataImage img, String topic, int partition) {
        if (img == MetadataImage.EMPTY) {
            // Found probing: a broker restarted while the quorum had no leader could not register,
            // so its image stayed empty (RegisteredBrokerGate), and produce and fetch answered
            // UNKNOWN_TOPIC for existing topics, which clients take as "deleted" and fail sends on.
            return Lookup.error(ErrorCode.BROKER_NOT_AVAILABLE, "broker " + brokerId + " has not caught up on the metadata"
                    + " log since it started (it is not registered with an active controller yet); retry, or ask another broker");
        }
        Optional<TopicImage> t = img.topics().topic(topic);
        if (t.isEmpty()) {
            return Lookup.error(ErrorCode.UNKNOWN_TOPIC, "unknown topic '" + topic + "'");
        }
        Optional<PartitionRegistration> reg = t.get().partition(partition);
        if (reg.isEmpty()) {
            return Lookup.error(ErrorCode.INVALID_PARTITION, "topic '" + topic + "' has " + t.get().partitionCount()
                    + " partitions; " + partition + " is not one of them");
        }
        PartitionRegistration r = reg.get();
        if (!r.replicas().contains(brokerId)) {
            return Lookup.notLeader("broker " + brokerId + " holds no replica of " + topic + "-" + partition
                    + (r.hasLeader() ? " (leader is " + r.leader() + ")" : " (no leader)"), r.leader(), r.leaderEpoch());
        }
        Partition p = partitions.get(new TopicPartition(topic, partition));
        if (p == null || !p.topicId().equals(t.get().id().toString())) {
            TopicPartition tp = new TopicPartition(topic, partition);
            String offline = logs.offlineReason(tp);
            if (offline == null && p == null) {
                offline = notOpened.get(tp); // not "still loading": it would stay so until the disk has room
            }
            return Lookup.error(ErrorCode.REPLICA_NOT_AVAILABLE, "replica of " + topic + "-" + partition + " on broker " + brokerId
                    + (offline != null ? " is offline: " + offline : " is still loading"));
        }
        return Lookup.found(p);
    }

    /** The local replica of the topic with id {@code topicId}, partition {@code partition}, if any. */
    public Optional<Partition> partitionById(String topicId, int partition) {
        UUID id;
        try {
            id = UUID.fromString(topicId);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        TopicImage t = image().topics().topicsById().get(id);
        if (t == null) {
            return Optional.empty();
        }
        Partition p = partitions.get(new TopicPartition(t.name(), partition));
        return p != null && p.topicId().equals(topicId) ? Optional.of(p) : Optional.empty();
    }

    /** The rack of {@code brokerId} in the image, if it has one. */
    public Optional<String> rackOf(int broker) {
        return image().cluster().broker(broker).flatMap(BrokerRegistration::rack);
    }

    /** Wakes fetches (consumers, followers) waiting on {@code tp} after an append. */
    public void notifyAppended(TopicPartition tp) {
        fetchWaiters.checkAndComplete(tp);
    }

    /**
     * After a leader append (request thread): wakes waiters, and with durable acks asks the flusher
     * to fsync (the HW then moves on the flusher thread; acks=1 never waits for it).
     */
    public void onLeaderAppend(Partition p, Partition.AppendOutcome outcome) {
        if (outcome.hwMoved()) {
            onHighWatermarkMoved(p.topicPartition());
        } else {
            fetchWaiters.checkAndComplete(p.topicPartition());
        }
        if (p.state().durableAcks()) {
            flusher.request(p);
        }
    }

    /** A HW moved: acks=all produces and consumer long polls on {@code tp} may complete. */
    public void onHighWatermarkMoved(TopicPartition tp) {
        produceWaiters.checkAndComplete(tp);
        fetchWaiters.checkAndComplete(tp);
    }

    /** A follower reported a higher log start: a DeleteRecords parked with the produces may be complete. */
    public void onFollowerLogStartMoved(TopicPartition tp) {
        produceWaiters.checkAndComplete(tp);
    }

    /** Reports the duration of each group-commit fsync (nanoseconds) to {@code timer} (metrics). */
    public void onFlushTimed(java.util.function.LongConsumer timer) {
        flusher.flushNanos = timer;
    }

    public Purgatory<TopicPartition> fetchWaiters() {
        return fetchWaiters;
    }

    public Purgatory<TopicPartition> produceWaiters() {
        return produceWaiters;
    }

    // ------------------------------------------------------------------ metadata (publisher thread)

    /**
     * Applies one metadata step: removed topics, changed partitions, changed topic configs, and
     * (on clusterChanged) leaders' endpoints. Nothing is deleted unless {@code update.caughtUp()}.
     */
    @Override
    public synchronized void onMetadataUpdate(MetadataUpdate update) {
        if (closed) {
            return; // stopping: a start applies the whole image again
        }
        MetadataImage next = update.image();
        long nowMs = clock.millis();
        boolean caughtUp = update.caughtUp();
        // Lookups see the new image first: a replica becoming follower below must not be found as
        // leader by an image that already names another leader.
        // One write: whoever sees the new image sees its index too (the Metadata answer names it)
        imageAt = new ImageAt(next, update.appliedIndex());
        for (TopicImage removed : update.removedTopics()) {
            for (int idx : removed.partitions().keySet()) {
                TopicPartition tp = new TopicPartition(removed.name(), idx);
                Partition p = partitions.get(tp);
                if (p != null && p.topicId().equals(removed.id().toString())) {
                    dropReplica(tp, caughtUp, "topic " + removed.id() + " was deleted");
                }
            }
        }
        Set<String> touchedTopics = new HashSet<>();
        lastCaughtUp = caughtUp;
        if (!createNewLogs(next, update.changedPartitions())) {
            log.info("Interrupted creating new replica logs: the rest of this metadata update is left to the next start");
            return;
        }
        for (MetadataUpdate.PartitionChange c : update.changedPartitions()) {
            if (closed) {
                // Stopping: a start re-applies the whole image (found probing: a node applying 10,000
                // new partitions went on for minutes after SIGTERM, until it was killed).
                log.info("Stopping: the rest of this metadata update is left to the next start");
                return;
            }
            TopicPartition tp = new TopicPartition(c.topic().name(), c.partition());
            try {
                applyPartition(next, c.topic(), c.partition(), c.registration(), caughtUp, nowMs);
                applyFailed.remove(tp);
            } catch (dev.basalt.log.LogStorageException e) {
                // An offline replica (lost directory, corrupt data): the others still get their roles.
                boolean offline = logs.offlineReason(tp) != null && !logs.onlyOutOfSpace(tp);
                dev.basalt.broker.storage.StorageErrorLog.report(log, "Cannot open or update replica", c.topic().name() + "-" + c.partition(),
                        offline, e);
                if (!offline) {
                    applyFailed.putIfAbsent(tp, applyFailure(e));
                }
            }
            touchedTopics.add(c.topic().name());
        }
        publishNotOpened();
        Set<String> localTopics = new HashSet<>();
        for (TopicPartition tp : partitions.keySet()) {
            localTopics.add(tp.topic());
        }
        for (String topic : localTopics) {
            if (!touchedTopics.contains(topic) && update.configChanged(ConfigResource.topic(topic))) {
                next.topics().topic(topic).ifPresent(t -> t.partitions().forEach((idx, reg) -> {
                    if (partitions.containsKey(new TopicPartition(topic, idx))) {
                        applyPartition(next, t, idx, reg, caughtUp, nowMs);
                    }
                }));
            }
        }
        if (update.clusterChanged()) {
            refollowMovedLeaders(next);
        }
        if (update.configChanged(new ConfigResource(ConfigResource.Type.BROKER, ""))
                || update.configChanged(new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(brokerId)))) {
            updateThrottleRate(next);
        }
        if (caughtUp && !orphansSettled) {
            settleOnDiskState(next, nowMs);
            orphansSettled = true;
        }
    }

    /** Fewest new local logs in one update that are created in parallel ({@link #createNewLogs}). */
    static final int PARALLEL_CREATE_MIN = 8;
    /** Threads that create new logs in parallel. */
    static final int CREATE_THREADS_MAX = 8;

    /**
     * Creates the logs (and topic-id files) of the update's new local replicas in parallel, before
     * {@link #applyPartition} takes each in turn and finds its log there. A log costs several
     * fsyncs to create (its directory, the data directory, its first segment, the index's id, the
     * topic-id files): one after another about 6 ms each, so a 1,000-partition create kept this
     * node, and the create's answer, waiting 6 s (found probing). Only replicas with nothing on
     * disk are created here; any failure is logged and left to applyPartition, which meets it again
     * and handles it as it always did.
     *
     * @return false if interrupted (stopping): the creations in flight finish, none is started
     */
    private boolean createNewLogs(MetadataImage img, List<MetadataUpdate.PartitionChange> changes) {
        List<java.util.concurrent.Callable<Void>> work = new ArrayList<>();
        for (MetadataUpdate.PartitionChange c : changes) {
            TopicPartition tp = new TopicPartition(c.topic().name(), c.partition());
            if (!c.registration().replicas().contains(brokerId) || partitions.containsKey(tp) || logs.hasLog(tp)) {
                continue;
            }
            LogConfig cfg = logConfig(img.configs().configs(ConfigResource.topic(c.topic().name())));
            String topicId = c.topic().id().toString();
            work.add(() -> {
                if (!closed) {
                    try {
                        writeTopicId(logs.getOrCreate(tp, cfg).directory(), topicId);
                    } catch (RuntimeException e) {
                        log.info("Creating the log of {} failed ({}); tried again as the partition is applied", tp, e.toString());
                    }
                }
                return null;
            });
        }
        if (work.size() < PARALLEL_CREATE_MIN) {
            return true;
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
                Math.min(CREATE_THREADS_MAX, work.size()), r -> {
                    Thread t = new Thread(r, "basalt-log-create");
                    t.setDaemon(true);
                    return t;
                });
        long startNanos = System.nanoTime();
        List<java.util.concurrent.Future<Void>> done = new ArrayList<>();
        try {
            for (java.util.concurrent.Callable<Void> w : work) {
                done.add(pool.submit(w));
            }
            for (java.util.concurrent.Future<Void> f : done) {
                f.get(); // the tasks catch their own failures
            }
        } catch (InterruptedException e) {
            // Stopping. Creations in flight are not interrupted (an interrupt mid-fsync closes the
            // channel and leaves a directory no later attempt adopts); those not started never start.
            done.forEach(f -> f.cancel(false));
            Thread.currentThread().interrupt();
            return false;
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("a log creation task threw", e.getCause());
        } finally {
            pool.shutdown();
        }
        log.info("Created the logs of {} new replicas in {} ms ({} threads)", work.size(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), Math.min(CREATE_THREADS_MAX, work.size()));
        return true;
    }

    private void applyPartition(MetadataImage img, TopicImage topic, int idx, PartitionRegistration reg, boolean caughtUp, long nowMs) {
        TopicPartition tp = new TopicPartition(topic.name(), idx);
        String topicId = topic.id().toString();
        Partition p = partitions.get(tp);
        if (!reg.replicas().contains(brokerId)) {
            if (p != null) {
                dropReplica(tp, caughtUp, "broker " + brokerId + " is no longer a replica");
            }
            return;
        }
        if (p != null && !p.topicId().equals(topicId)) {
            dropReplica(tp, caughtUp, "topic id changed from " + p.topicId() + " to " + topicId);
            p = null;
        }
        Map<String, String> topicConfig = img.configs().configs(ConfigResource.topic(topic.name()));
        LogConfig cfg = logConfig(topicConfig);
        if (p == null) {
            // hasLog, not partitions().contains: a copy of every partition per partition applied made
            // a node's start quadratic (found probing: 11,000 partitions took hours to apply)
            TopicIdFile.Read disk = logs.hasLog(tp) ? readTopicIdFile(tp) : null;
            String diskId = disk == null ? null : disk.topicId();
            boolean notOurs = diskId != null && !diskId.equals(topicId) || disk != null && !adoptable(disk, reg);
            if (notOurs) {
                if (!caughtUp) {
                    deferred.add(tp); // data of an older topic of the same name: settled once caught up
                    return;
                }
                log.info("Deleting replica {} of {} (now topic {}){}", tp, diskId != null ? "the older topic " + diskId
                        : "a topic its damaged topic id file cannot name", topicId,
                        diskId != null ? "" : ": the other replicas rebuild it");
                logs.delete(tp);
            }
            PartitionLog plog = logs.getOrCreate(tp, cfg);
            writeTopicId(plog.directory(), topicId);
            p = new Partition(tp, topicId, brokerId, plog);
            // KIP-841: never propose a fenced broker (dead, or not yet caught up on metadata) into the
            // ISR, nor one that reported this replica offline (a storage fault, a full disk): it can
            // look caught up on an idle partition, and each accepted expansion would be undone by
            // its offline report, again and again.
            java.util.UUID id = topic.id();
            int partitionIndex = tp.partition();
            p.isrEligibility(r -> image().cluster().isUnfenced(r)
                    && !image().cluster().broker(r).map(b -> b.isOffline(id, partitionIndex)).orElse(true));
            partitions.put(tp, p);
            deferred.remove(tp);
        }
        // Only a replica being added that has not joined the ISR yet is throttled; ISR members never are.
        throttle.setThrottled(tp, reg.addingReplicas().contains(brokerId) && !reg.isr().contains(brokerId));
        p.addingReplicas(reg.addingReplicas().size());
        Partition.State state = Partition.State.of(reg, TopicConfigs.minInsyncReplicas(topicConfig, config.topicDefaults()),
                TopicConfigs.durableAcks(topicConfig, config.topicDefaults()));
        Partition.Transition t = p.update(state, cfg, nowMs);
        switch (t) {
            case BECAME_LEADER -> {
                fetchers.unfollow(tp);
                if (state.durableAcks() && p.log().recoveryPoint() < p.log().logEndOffset()) {
                    flusher.request(p); // a tail a restart left unflushed: the HW waits on it, even with no new append
                }
            }
            case BECAME_OFFLINE -> fetchers.unfollow(tp);
            case BECAME_FOLLOWER -> follow(img, p, reg);
            case NONE -> {
                if (!p.isLeader() && reg.hasLeader() && !fetchers.isFollowing(tp)) {
                    follow(img, p, reg); // its leader's endpoint was unknown before
                }
            }
        }
        if (t != Partition.Transition.NONE) {
            log.info("{}: {} in leader epoch {} (leader {}, ISR {})", tp, t, reg.leaderEpoch(), reg.leader(), reg.isr());
        }
        if (t == Partition.Transition.BECAME_LEADER && reg.leaderRecovering()) {
            // The topic allows unclean election and no in-sync replica was left: this replica leads
            // with what it has. Records the old ISR acknowledged beyond its log end are gone.
            log.warn("Unclean leader election for {}: broker {} leads from outside the ISR at log end offset {} in"
                    + " leader epoch {}; records acknowledged by the previous ISR at or above that offset are lost",
                    tp, brokerId, p.log().logEndOffset(), reg.leaderEpoch());
        }
        // Leadership or ISR changed: acks=all waiters fail or complete, long polls re-check.
        onHighWatermarkMoved(tp);
    }

    /**
     * Rebuilds replicas whose data was found corrupt (at load, by a read or the scrubber, or whose
     * files were deleted or cut while the node ran) from a healthy replica: once another broker
     * leads the partition and the controller has taken this one out of the ISR and the ELR (after
     * the offline report), the local log is cut at its first corrupt batch and the replica follows
     * the leader again, which refetches the rest (KIP-858's "the replica is rebuilt"). When this broker holds the only
     * in-sync copy, it serves the offsets before the corruption instead (see
     * {@link dev.basalt.log.LogManager#serveIntactPrefix}); a partition whose other in-sync replicas
     * have no leader yet waits for one.
     *
     * @return the partitions repaired
     */
    public synchronized List<TopicPartition> repairCorruptReplicas() {
        List<TopicPartition> repaired = new java.util.ArrayList<>();
        MetadataImage img = image();
        for (TopicPartition tp : logs.corruptPartitions()) {
            Optional<TopicImage> topic = img.topics().topic(tp.topic());
            PartitionRegistration reg = topic.map(t -> t.partitions().get(tp.partition())).orElse(null);
            if (reg != null && reg.isr().stream().allMatch(id -> id == brokerId) && reg.elr().stream().allMatch(id -> id == brokerId)
                    && img.cluster().isUnfenced(brokerId)) {
                // (An eligible leader replica, KIP-966, holds every committed record: not the only copy.)
                // The only in-sync copy: nothing can rebuild it. Serve what lies before the corruption
                // (the cut is kept aside, appends are refused until a restart accepts the loss).
                // Its lost offsets stay a gap (never given to new records) only while it is the sole
                // replica: a follower out of the ISR may hold some of them, would keep them past a
                // gap, and the copies would differ below the high watermark.
                logs.serveIntactPrefix(tp, logConfig(img.configs().configs(ConfigResource.topic(tp.topic()))),
                        reg.replicas().size() == 1);
                if (partitions.remove(tp) != null) {
                    fetchers.unfollow(tp);
                }
                applyPartition(img, topic.get(), tp.partition(), reg, true, clock.millis());
                repaired.add(tp);
                continue;
            }
            if (reg == null || !reg.hasLeader() || reg.leader() == brokerId) {
                continue;
            }
            if (reg.isr().contains(brokerId) || reg.elr().contains(brokerId)) {
                // Not before the controller has taken it out of the ISR and the ELR (this broker's
                // heartbeat reports it offline): the rebuild discards the log, and a member of either
                // could be elected leader with the little it had refetched, losing acknowledged records.
                continue;
            }
            LogConfig cfg = logConfig(img.configs().configs(ConfigResource.topic(tp.topic())));
            // The whole log is re-verified (the scrubber may have found the damage below the
            // recovery point's segment, which a restart's recovery would trust).
            logs.repairFully(tp, cfg);
            if (partitions.remove(tp) != null) {
                fetchers.unfollow(tp); // its Partition held the quarantined (closed) log
            }
            applyPartition(img, topic.get(), tp.partition(), reg, true, clock.millis());
            log.warn("{}: corrupt replica cut at its first corrupt batch and following leader {} to refetch the rest", tp,
                    reg.leader());
            repaired.add(tp);
        }
        return repaired;
    }

    /**
     * The reassignment throttle: this broker's own {@code reassignment.throttle.bytes.per.second}, else
     * the cluster-wide broker default; absent, unparsable or 0 = unlimited.
     */
    private void updateThrottleRate(MetadataImage img) {
        String value = img.configs().configs(new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(brokerId)))
                .get(ReassignmentThrottle.CONFIG_KEY);
        if (value == null) {
            value = img.configs().configs(new ConfigResource(ConfigResource.Type.BROKER, "")).get(ReassignmentThrottle.CONFIG_KEY);
        }
        long rate = 0;
        if (value != null) {
            try {
                rate = Math.max(0, Long.parseLong(value.trim()));
            } catch (NumberFormatException e) {
                log.warn("Ignoring {}={}: not a number of bytes per second", ReassignmentThrottle.CONFIG_KEY, value);
            }
        }
        if (rate != throttle.rateBytesPerSecond()) {
            log.info("Reassignment catch-up throttle: {}", rate == 0 ? "unlimited" : rate + " bytes/s");
            throttle.setRate(rate);
        }
    }

    /** This broker's reassignment throttle (progress reports, tests). */
    public ReassignmentThrottle throttle() {
        return throttle;
    }

    private void follow(MetadataImage img, Partition p, PartitionRegistration reg) {
        if (p.log().isOffline()) {
            // Nothing can be appended to an offline log; the broker reports it to the controller instead.
            fetchers.unfollow(p.topicPartition());
            return;
        }
        Optional<Endpoint> ep = replicationEndpoint(img, reg.leader());
        if (ep.isEmpty()) {
            log.warn("{}: leader {} has no {} endpoint in the metadata yet; not fetching", p.topicPartition(), reg.leader(),
                    REPLICATION_LISTENER);
            fetchers.unfollow(p.topicPartition());
            return;
        }
        fetchers.follow(p, reg.leader(), reg.leaderEpoch(), ep.get().host(), ep.get().port());
    }

    private static Optional<Endpoint> replicationEndpoint(MetadataImage img, int broker) {
        return img.cluster().broker(broker).flatMap(b -> b.endpoints().stream()
                .filter(e -> e.name().equals(REPLICATION_LISTENER)).findFirst());
    }

    /** A leader re-registered (restart, maybe on another port): follow it at its new endpoint. */
    private void refollowMovedLeaders(MetadataImage img) {
        Map<TopicPartition, Integer> following = fetchers.following();
        for (Partition p : partitions.values()) {
            Partition.State s = p.state();
            if (p.isLeader() || s.leaderId() < 0) {
                continue;
            }
            if (!following.containsKey(p.topicPartition())) {
                img.topics().topic(p.topicPartition().topic()).flatMap(t -> t.partition(p.topicPartition().partition()))
                        .ifPresent(reg -> follow(img, p, reg));
            }
        }
        fetchers.refreshEndpoints(b -> replicationEndpoint(img, b).map(e -> e.host() + ":" + e.port()));
    }

    /**
     * Once caught up: logs on disk that no partition of the image claims (deleted while this broker
     * was down), and deferred conflicts, are settled now.
     */
    private void settleOnDiskState(MetadataImage img, long nowMs) {
        for (TopicPartition tp : new ArrayList<>(deferred)) {
            img.topics().topic(tp.topic()).ifPresent(t -> t.partition(tp.partition())
                    .ifPresent(reg -> applyPartition(img, t, tp.partition(), reg, true, nowMs)));
        }
        deferred.clear();
        for (TopicPartition tp : logs.partitions()) {
            if (partitions.containsKey(tp)) {
                continue;
            }
            Optional<TopicImage> t = img.topics().topic(tp.topic());
            TopicIdFile.Read disk = readTopicIdFile(tp);
            String diskId = disk == null ? null : disk.topicId();
            Optional<PartitionRegistration> reg = t.flatMap(x -> x.partition(tp.partition()));
            boolean claimed = reg.map(r -> r.replicas().contains(brokerId)).orElse(false)
                    && (diskId == null ? disk == null || adoptable(disk, reg.get()) : t.get().id().toString().equals(diskId));
            if (!claimed) {
                log.warn("Deleting replica {}: no topic of the metadata claims it (topic id on disk {})", tp, diskId);
                logs.delete(tp);
            }
        }
        // Replicas found corrupt at load (or whose directory vanished) of topics deleted meanwhile,
        // or no longer assigned here: nothing would ever repair them, and they would keep the node
        // not ready. (A topic id that cannot be read, e.g. a vanished directory, is not a mismatch.)
        for (TopicPartition tp : logs.corruptPartitions()) {
            Optional<TopicImage> t = img.topics().topic(tp.topic());
            String diskId = readTopicId(tp);
            boolean claimed = t.isPresent() && t.get().partition(tp.partition()).map(r -> r.replicas().contains(brokerId)).orElse(false)
                    && (diskId == null || t.get().id().toString().equals(diskId));
            if (!claimed) {
                log.warn("Deleting corrupt replica {}: no topic of the metadata claims it (topic id on disk {})", tp, diskId);
                logs.delete(tp);
            }
        }
    }

    private void dropReplica(TopicPartition tp, boolean delete, String why) {
        Partition p = partitions.remove(tp);
        fetchers.unfollow(tp);
        throttle.setThrottled(tp, false);
        if (p != null) {
            onHighWatermarkMoved(tp);
        }
        if (delete) {
            log.info("Deleting replica {}: {}", tp, why);
            logs.delete(tp);
        } else {
            log.info("Not serving replica {} ({}); its data is kept until the metadata has caught up", tp, why);
        }
    }

    // ------------------------------------------------------------------ ISR changes (leader)

    /**
     * Applies again the metadata of replicas whose application failed for a passing reason (see
     * {@link #applyFailed}), once the data directory takes writes again: a replica opened late, or a
     * leadership completed late, then serves, follows and rejoins the ISR as any other. Runs with
     * the ISR check.
     */
    synchronized void retryFailedApplies() {
        if (applyFailed.isEmpty() || logs.noSpace() != null) {
            return;
        }
        try {
            retryFailedApplies(clock.millis());
        } finally {
            publishNotOpened();
        }
    }

    private void retryFailedApplies(long nowMs) {
        for (java.util.Iterator<TopicPartition> it = applyFailed.keySet().iterator(); it.hasNext(); ) {
            TopicPartition tp = it.next();
            java.util.Optional<TopicImage> topic = image().topics().topic(tp.topic());
            PartitionRegistration reg = topic.map(t -> t.partitions().get(tp.partition())).orElse(null);
            if (reg == null || !reg.replicas().contains(brokerId)) {
                it.remove();
                continue;
            }
            try {
                applyPartition(image(), topic.get(), tp.partition(), reg, lastCaughtUp, nowMs);
                it.remove();
                if (partitions.containsKey(tp)) {
                    log.info("{}: metadata applied on a retry (leader epoch {}, leader {}): its first application failed", tp,
                            reg.leaderEpoch(), reg.leader());
                } // else deferred until the metadata has caught up, which opens it then
            } catch (dev.basalt.log.LogStorageException e) {
                boolean offline = logs.offlineReason(tp) != null && !logs.onlyOutOfSpace(tp);
                if (offline) {
                    it.remove(); // now known offline: reported and handled as such
                }
                dev.basalt.broker.storage.StorageErrorLog.report(log, "Cannot open or update replica (retried every ISR check)", tp, offline, e);
            } catch (RuntimeException e) {
                it.remove(); // not a storage failure: retrying will not help
                log.error("{}: retrying the replica's open failed; not retried again", tp, e);
            }
        }
    }

    /**
     * Why a metadata step could not be applied to a replica, as the heartbeat and produce errors
     * give it for a replica with no log open. It must not start with
     * {@link dev.basalt.common.OfflineReasons#OUT_OF_SPACE}: such a replica serves no reads either,
     * and the controller would keep it leading.
     */
    private String applyFailure(RuntimeException e) {
        String full = logs.noSpace();
        return "its log could not be created or opened" + (full == null ? "" : " (" + full + ")") + ": " + e.getMessage()
                + "; retried on every ISR check once the directory takes writes";
    }

    /**
     * Publishes {@link #notOpened} from {@link #applyFailed}: replicas the image still assigns here
     * (the retry, which prunes the others, waits for room). Caller holds this.
     */
    private void publishNotOpened() {
        Map<TopicPartition, String> now = new HashMap<>();
        applyFailed.forEach((tp, why) -> {
            boolean assigned = image().topics().topic(tp.topic()).map(t -> t.partitions().get(tp.partition()))
                    .map(r -> r.replicas().contains(brokerId)).orElse(false);
            if (assigned && !partitions.containsKey(tp)) {
                now.put(tp, why);
            }
        });
        if (!now.equals(notOpened)) {
            notOpened = Map.copyOf(now);
        }
    }

    /**
     * Replicas assigned here whose log could not be created or opened (a full disk, an I/O error),
     * and why; retried by {@link #retryFailedApplies}. Thread-safe.
     */
    public Map<TopicPartition, String> notOpened() {
        return notOpened;
    }

    /** The scheduled check: every led partition's due ISR change (shrinks of laggards first). */
    void checkIsrs() {
        try {
            retryFailedApplies();
        } catch (RuntimeException e) {
            log.error("Retrying replica opens failed", e);
        }
        try {
            long nowMs = clock.millis();
            for (Partition p : partitions.values()) {
                if (p.isLeader()) {
                    p.maybeProposeIsrChange(nowMs, config.lagTimeMaxMs()).ifPresent(c -> sendIsrChange(p, c));
                }
            }
        } catch (RuntimeException e) {
            log.error("ISR check failed", e);
        }
    }

    /**
     * Sends {@code change} of {@code p} to the controller (compare-and-set on its partition epoch)
     * and applies the answer. Never blocks the caller.
     */
    public void sendIsrChange(Partition p, IsrChange change) {
        UUID topicId = UUID.fromString(p.topicId());
        AlterPartitionRequest req = new AlterPartitionRequest(brokerId, incarnationId.get(), topicId, p.topicPartition().partition(),
                change.leaderEpoch(), change.basePartitionEpoch(), change.newIsr());
        log.info("{}: proposing ISR {} ({}) at partition epoch {}", p.topicPartition(), change.newIsr(),
                change.shrink() ? "shrink" : change.newIsr().equals(p.leaderIsr()) ? "fence against a failed expansion" : "expand",
                change.basePartitionEpoch());
        alterPartition.alterPartition(req).whenComplete((result, error) -> {
            PartitionRegistration committed = null;
            if (error != null) {
                log.warn("{}: AlterPartition failed: {}", p.topicPartition(), error.toString());
            } else if (result.error() != ErrorCode.NONE) {
                log.info("{}: AlterPartition refused: {} {}", p.topicPartition(), result.error(), result.message());
            } else {
                committed = result.registration();
            }
            if (p.onIsrChangeResult(change, committed, clock.millis(), config.fetchBackoffMs())) {
                onHighWatermarkMoved(p.topicPartition());
            }
        });
    }

    /** Writes every replica's HW to the index (scheduled every hw checkpoint interval, and at close). */
    void checkpointHighWatermarks() {
        for (Partition p : partitions.values()) {
            try {
                p.log().checkpointHighWatermark();
            } catch (RuntimeException e) {
                hwCheckpointErrors.failed(p.topicPartition(), e);
            }
        }
        hwCheckpointErrors.endRound(clock.millis());
    }

    // ------------------------------------------------------------------ configs, files

    /**
     * Topic-level config = broker defaults overridden by the topic's own keys; only log keys.
     *
     * <p>Never throws for a topic the controller accepted: a key this broker refuses (a node of
     * another version, another limit) is left out, keeping every other key and every broker
     * default, with one warning per topic config. Throwing would stop this broker applying the
     * rest of the metadata update, leaving every partition after it without its role.
     */
    public LogConfig logConfig(Map<String, String> topicOverrides) {
        Map<String, String> own = logKeys(topicOverrides);
        Map<String, String> defaults = logKeys(config.topicDefaults());
        for (int dropped = 0; ; dropped++) {
            Map<String, String> merged = new HashMap<>(defaults);
            merged.putAll(own);
            try {
                return LogConfig.parse(merged);
            } catch (dev.basalt.log.InvalidConfigException e) {
                if (!own.containsKey(e.key()) || dropped >= LogConfig.KEYS.size()) {
                    throw e; // this broker's own defaults: checked at start, not reached
                }
                if (refusedTopicConfigs.size() < REFUSED_TOPIC_CONFIGS_MAX && refusedTopicConfigs.add(topicOverrides + e.key())) {
                    log.warn("Topic config {} is refused by this broker ({}); using its default for {} instead", own,
                            e.getMessage(), e.key());
                }
                own.remove(e.key());
            }
        }
    }

    /** Topic configs already warned about (bounded: a warning each, not one per metadata request). */
    private final Set<String> refusedTopicConfigs = ConcurrentHashMap.newKeySet();
    private static final int REFUSED_TOPIC_CONFIGS_MAX = 1024;

    private static Map<String, String> logKeys(Map<String, String> configs) {
        Map<String, String> out = new HashMap<>();
        configs.forEach((k, v) -> {
            if (LogConfig.KEYS.contains(k)) {
                out.put(k, v);
            }
        });
        return out;
    }

    public Optional<Partition> partition(TopicPartition tp) {
        return Optional.ofNullable(partitions.get(tp));
    }

    public Map<TopicPartition, Partition> partitions() {
        return Map.copyOf(partitions);
    }

    /**
     * Leader brokers this broker's followers have failed to reach for replica.lag.time.max.ms or
     * longer (heartbeats report them: controller.proto's unreachable_leaders).
     */
    public java.util.SortedSet<Integer> unreachableLeaders() {
        return fetchers.unreachableLeaders(config.lagTimeMaxMs());
    }

    /** The leader broker each followed partition fetches from (describe, tests). */
    public Map<TopicPartition, Integer> following() {
        return fetchers.following();
    }

    /** The topic id the partition's data belongs to, or null when there is none to go by (for messages). */
    private String readTopicId(TopicPartition tp) {
        TopicIdFile.Read r = readTopicIdFile(tp);
        return r == null ? null : r.topicId();
    }

    /** The partition's {@link TopicIdFile}, or null when it cannot be read (an I/O error, warned). */
    private TopicIdFile.Read readTopicIdFile(TopicPartition tp) {
        Path dir = logs.dataDir().resolve(tp.dirName());
        try {
            TopicIdFile.Read r = TopicIdFile.read(dir);
            if (r.damaged()) {
                log.warn("{}: {} is damaged ({})", tp, dir.resolve(TopicIdFile.NAME), r.damage());
            }
            return r;
        } catch (IOException e) {
            log.warn("Cannot read {}: {}", dir.resolve(TopicIdFile.NAME), e.toString());
            return null;
        }
    }

    /**
     * Whether data whose topic id file is damaged is taken for the current topic's: only as the
     * partition's sole replica or sole in-sync one (nothing else could rebuild it; a topic deleted and created again
     * while this node was away, with this file damaged too, would be served as the new one's, two
     * faults at once). With other replicas it is deleted and rebuilt from them, as data of another
     * topic would be (taken for the new topic's, an older topic's records below the new leader's end
     * would never be truncated: its epochs start again at 0). A readable, intact file is adoptable.
     */
    private boolean adoptable(TopicIdFile.Read disk, PartitionRegistration reg) {
        return !disk.damaged() || reg.replicas().size() == 1 || reg.isr().stream().allMatch(id -> id == brokerId);
    }

    private static void writeTopicId(Path dir, String topicId) {
        try {
            TopicIdFile.write(dir, topicId);
        } catch (IOException e) {
            throw new dev.basalt.log.LogStorageException("cannot write the topic id", dir.resolve(TopicIdFile.NAME), e);
        }
    }

    /** Stops fetchers, the flusher and the scheduler; expires parked requests; checkpoints HWs. */
    @Override
    public void close() {
        closed = true;
        ScheduledExecutorService s;
        synchronized (this) {
            s = scheduler;
            scheduler = null;
        }
        if (s != null) {
            s.shutdownNow();
        }
        fetchers.close();
        flusher.close();
        produceWaiters.expireAll();
        fetchWaiters.expireAll();
        checkpointHighWatermarks();
        partitions.clear();
    }

    /** Ids of the local partitions that lead, for tests and describe. */
    List<TopicPartition> ledPartitions() {
        List<TopicPartition> out = new ArrayList<>();
        partitions.forEach((tp, p) -> {
            if (p.isLeader()) {
                out.add(tp);
            }
        });
        return out;
    }
}
