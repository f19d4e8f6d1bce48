package dev.basalt.broker.replica.fetcher;

import com.google.protobuf.ByteString;
import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.broker.replica.state.FollowerTruncation;
import dev.basalt.log.AppendInfo;
import dev.basalt.log.EpochEndOffset;
import dev.basalt.log.LogStorageException;
import dev.basalt.log.OffsetOutOfRangeException;
import dev.basalt.log.PartitionLog;
import dev.basalt.log.StaleLeaderEpochException;
import dev.basalt.log.TopicPartition;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.OffsetForLeaderEpochRequest;
import dev.basalt.proto.v1.OffsetForLeaderEpochResponse;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;
import dev.basalt.record.CorruptRecordException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fetch loop of this broker towards one leader broker: one thread, every partition this broker
 * follows from that leader multiplexed into one ReplicaFetch per round (replica.proto).
 *
 * <p>Per partition, per leader epoch: first truncate by OffsetForLeaderEpoch
 * ({@link FollowerTruncation}, KIP-101/279), then fetch from the log end offset, append with
 * {@link PartitionLog#appendAsFollower}, fsync (durable-acks topics; one fsync per partition per
 * round covers every batch of the round: group commit), and report the new log end and flushed
 * offsets in the next request. The leader's HW comes back with every answer; the replica
 * manager checkpoints it periodically.
 *
 * <p>Errors back off the affected partition for replica.fetch.backoff.ms; a transport failure
 * backs off the whole loop. A partition whose leader or epoch changes is removed and re-added by
 * the replica manager, which restarts it at truncation.
 *
 * <p>Thread-safety: {@link #add}, {@link #remove} and {@link #close} may be called from any
 * thread (the metadata publisher); everything else runs on the fetcher's own thread.
 */
public final class ReplicaFetcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReplicaFetcher.class);
    /** KIP-279 rounds before falling back to the HW; each round lowers our latest epoch, so real logs need few. */
    static final int TRUNCATION_ROUNDS_MAX = 64;
    /**
     * known_high_watermark when no consumer reads this follower: the leader then answers a parked
     * fetch for records or when it expires (replica.fetch.hw.wait.max.ms while this follower holds
     * records above its HW, else replica.fetch.wait.max.ms), never for a HW move alone.
     */
    static final long NO_HIGH_WATERMARK_PUSH = Long.MAX_VALUE;
    /**
     * How long after its HW last moved a follower keeps chasing it with short-wait fetches
     * (replica.fetch.hw.wait.max.ms). A HW held back longer (an ISR below min.insync.replicas, a
     * slow ISR member) is then learned with records or at replica.fetch.wait.max.ms, not with a
     * fetch every few milliseconds, whatever the writes do.
     */
    public static final long HW_CHASE_MS = 500;

    private final int localBrokerId;
    private final int sourceBrokerId;
    private final Supplier<UUID> incarnationId;
    private final ReplicaClient client;
    private final ReplicaConfig config;
    private final Clock clock;
    private final Consumer<TopicPartition> onProgress;
    private final ReassignmentThrottle throttle;
    private final Object monitor = new Object();
    private final Map<TopicPartition, Target> targets = new LinkedHashMap<>(); // guarded by monitor
    private final Thread thread;
    private volatile boolean running = true;
    /**
     * Since when every request to the source broker has failed in transport or gone unanswered
     * (clock millis), or -1 while it answers. Written by the fetcher thread.
     */
    private volatile long failingSinceMs = -1;
    /** Whether the current run of failures was logged as a warning (fetcher thread only). */
    private boolean failureWarned;
    /** When the latest request to the source broker went out (fetcher thread only). */
    private long requestSentMs = Long.MAX_VALUE;
    /**
     * Completed by {@link #add} to give up the fetch of the current round (guarded by monitor; a
     * new one per round, made as the round picks its partitions): a fetch parked at the leader for
     * the partitions it names would otherwise hold a partition added meanwhile for up to
     * replica.fetch.wait.max.ms. That partition's leadership just moved to the source broker, whose
     * high watermark (and every acks=all write there) waits for this follower to fetch it (found
     * probing: after a kill -9 of a group's coordinator, commits waited ~0.5-0.9 s at the new one).
     */
    private CompletableFuture<Void> roundAbandon;

    /** One followed partition in one leader epoch. Confined to the fetcher thread once added. */
    private static final class Target {
        final Partition partition;
        final int leaderEpoch;
        boolean truncated;
        int truncationRounds;
        long backoffUntilMs;
        /**
         * When {@link #backoffUntilMs} was set: a clock now before it went back (a wall-clock step),
         * and the back-off is over. Found by the Jepsen-style suite: a follower whose clock jumped
         * 513 s ahead and back waited out the jump before fetching again, and its partition stayed
         * out of the ISR past the recovery timeout.
         */
        long backoffSetAtMs;
        /**
         * Whether the back-off is a wait for the reassignment throttle's next grant, not after an
         * error: a fetch does not shorten its wait at the leader for it (a grant is often 1-2 ms
         * away, which turned every fetch of the partitions beside it into a poll; found by review).
         */
        boolean throttleWait;
        /** When this partition's HW last moved here (or this leadership began); see HW_CHASE_MS. */
        long hwMovedAtMs;
        /** Whether the first answer was checked for tombstones removed past our log end (see handlePartition). */
        boolean removalsChecked;

        Target(Partition partition, int leaderEpoch, long nowMs) {
            this.partition = partition;
            this.leaderEpoch = leaderEpoch;
            this.hwMovedAtMs = nowMs;
        }
    }

    /**
     * @param onProgress called on the fetcher thread after a partition's log end or HW moved (the
     *                   replica manager wakes consumer fetches parked on a follower)
     */
    public ReplicaFetcher(int localBrokerId, int sourceBrokerId, Supplier<UUID> incarnationId, ReplicaClient client,
                          ReplicaConfig config, Clock clock, Consumer<TopicPartition> onProgress) {
        this(localBrokerId, sourceBrokerId, incarnationId, client, config, clock, onProgress, new ReassignmentThrottle());
    }

    /** @param throttle the broker's limit on reassignment catch-up (shared by all its fetchers) */
    public ReplicaFetcher(int localBrokerId, int sourceBrokerId, Supplier<UUID> incarnationId, ReplicaClient client,
                          ReplicaConfig config, Clock clock, Consumer<TopicPartition> onProgress,
                          ReassignmentThrottle throttle) {
        this.throttle = throttle;
        this.localBrokerId = localBrokerId;
        this.sourceBrokerId = sourceBrokerId;
        this.incarnationId = incarnationId;
        this.client = client;
        this.config = config;
        this.clock = clock;
        this.onProgress = onProgress;
        this.thread = new Thread(this::runLoop, "basalt-replica-fetcher-" + sourceBrokerId);
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    public int sourceBrokerId() {
        return sourceBrokerId;
    }

    /**
     * How long every request to the source broker has failed in transport or gone unanswered, as
     * of {@code nowMs}; 0 while it answers (any answer, errors included: the broker is reachable).
     * The broker reports a leader unreachable this long to the controller (controller.proto).
     */
    public long unreachableForMs(long nowMs) {
        long since = failingSinceMs;
        return since < 0 ? 0 : Math.max(0, nowMs - since);
    }

    private void answered() {
        if (failingSinceMs >= 0) {
            if (failureWarned) {
                log.info("Broker {} answers replica requests again, after {} ms of failures", sourceBrokerId,
                        clock.millis() - failingSinceMs);
            }
            failingSinceMs = -1;
            failureWarned = false;
        }
    }

    private void failed(ReplicaClient.ReplicaClientException e) {
        if (e.leaderAnswered()) {
            answered(); // an error status from the leader: it is reachable
            return;
        }
        long now = clock.millis();
        if (failingSinceMs < 0) {
            // from when the failed request went out: a request without an answer fails only at its
            // deadline (replica.fetch.wait.max.ms + replica.request.timeout.ms)
            failingSinceMs = Math.min(now, requestSentMs);
        }
        if (!failureWarned && now - failingSinceMs >= config.lagTimeMaxMs()) {
            failureWarned = true;
            log.warn("Cannot reach leader broker {} for {} ms (every replica request failed; last: {}); its partitions followed"
                    + " here fall out of sync, and the controller is told in heartbeats", sourceBrokerId, now - failingSinceMs,
                    e.getMessage());
        }
    }

    /** Follows {@code partition} from this fetcher's broker in {@code leaderEpoch}: truncate first. */
    public void add(Partition partition, int leaderEpoch) {
        CompletableFuture<Void> abandon;
        synchronized (monitor) {
            targets.put(partition.topicPartition(), new Target(partition, leaderEpoch, clock.millis()));
            monitor.notifyAll();
            abandon = roundAbandon;
        }
        if (abandon != null) {
            abandon.complete(null); // outside the monitor: it ends the fetch on this thread
        }
    }

    public void remove(TopicPartition tp) {
        synchronized (monitor) {
            targets.remove(tp);
        }
    }

    public boolean isEmpty() {
        synchronized (monitor) {
            return targets.isEmpty();
        }
    }

    /** The partitions followed now. */
    public List<TopicPartition> partitions() {
        synchronized (monitor) {
            return List.copyOf(targets.keySet());
        }
    }

    /** The followed partitions and the leader epoch each follows in. */
    public Map<Partition, Integer> targets() {
        synchronized (monitor) {
            Map<Partition, Integer> out = new java.util.HashMap<>();
            targets.values().forEach(t -> out.put(t.partition, t.leaderEpoch));
            return out;
        }
    }

    private boolean current(TopicPartition tp, Target t) {
        synchronized (monitor) {
            return targets.get(tp) == t;
        }
    }

    private void runLoop() {
        while (running) {
            try {
                long now = clock.millis();
                Round round = new Round();
                List<Target> toTruncate = new ArrayList<>();
                CompletableFuture<Void> abandon = new CompletableFuture<>();
                synchronized (monitor) {
                    roundAbandon = abandon; // a partition added from now on ends this round's fetch
                    for (Target t : targets.values()) {
                        if (!round.place(t, now)) {
                            toTruncate.add(t);
                        }
                    }
                    if (toTruncate.isEmpty() && round.toFetch.isEmpty()) {
                        long waitMs = round.nextWakeMs == Long.MAX_VALUE ? config.fetchBackoffMs() : Math.max(1, round.nextWakeMs - now);
                        monitor.wait(Math.min(waitMs, config.fetchBackoffMs()));
                        continue;
                    }
                }
                if (!toTruncate.isEmpty()) {
                    truncate(toTruncate);
                    // Fetched in this round, with the others: the next round may come only after this
                    // round's fetch has waited at the leader (replica.fetch.wait.max.ms) for the others.
                    long after = clock.millis();
                    for (Target t : toTruncate) {
                        if (current(t.partition.topicPartition(), t) && !round.place(t, after)) {
                            round.dueAt(after); // another truncation round, at once
                        }
                    }
                }
                // A partition added meanwhile (its truncation, say) gave this round up already: the
                // next round asks for it with the others, rather than send a fetch only to cancel it.
                if (!round.toFetch.isEmpty() && !abandon.isDone()) {
                    fetch(round.toFetch, abandon, round.othersDueMs);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ReplicaClient.ReplicaClientException e) {
                if (running) {
                    failed(e);
                    log.debug("Replica request to broker {} failed: {}", sourceBrokerId, e.toString());
                    pause();
                }
            } catch (dev.basalt.log.UnknownPartitionException e) {
                if (running) {
                    // a local log closed under a truncation (quarantined for a rebuild, deleted): not a fault
                    log.info("Fetcher towards broker {}: {}; backing off", sourceBrokerId, e.getMessage());
                    pause();
                }
            } catch (RuntimeException e) {
                if (running) {
                    log.error("Fetcher towards broker {} failed; backing off", sourceBrokerId, e);
                    pause();
                }
            }
        }
    }

    /** The partitions one round fetches, and when those it leaves out are due (fetcher thread only). */
    private static final class Round {
        final List<Target> toFetch = new ArrayList<>();
        /** When the first partition left out is due (Long.MAX_VALUE: none). */
        long nextWakeMs = Long.MAX_VALUE;
        /** As nextWakeMs, throttle waits left out: how long this round's fetch may wait at the leader. */
        long othersDueMs = Long.MAX_VALUE;

        /** Takes {@code t} into this round's fetch or notes when it is due; false if it must be truncated first. */
        boolean place(Target t, long now) {
            if (backingOff(t, now)) {
                nextWakeMs = Math.min(nextWakeMs, t.backoffUntilMs);
                if (!t.throttleWait) {
                    othersDueMs = Math.min(othersDueMs, t.backoffUntilMs);
                }
                return true;
            }
            if (t.truncated) {
                toFetch.add(t);
                return true;
            }
            return false;
        }

        void dueAt(long ms) {
            nextWakeMs = Math.min(nextWakeMs, ms);
            othersDueMs = Math.min(othersDueMs, ms);
        }
    }

    /** Whether {@code t} waits out a back-off at {@code now} (one set at a later time, before a clock step back, is over). */
    private static boolean backingOff(Target t, long now) {
        return t.backoffUntilMs > now && now >= t.backoffSetAtMs;
    }

    private void pause() {
        synchronized (monitor) {
            try {
                monitor.wait(config.fetchBackoffMs());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }

    private void backoff(Target t, String why) {
        t.backoffSetAtMs = clock.millis();
        t.backoffUntilMs = t.backoffSetAtMs + config.fetchBackoffMs();
        t.throttleWait = false;
        log.debug("{} from broker {}: {}; retrying in {} ms", t.partition.topicPartition(), sourceBrokerId, why,
                config.fetchBackoffMs());
    }

    // ------------------------------------------------------------------ truncation (KIP-101/279)

    private void truncate(List<Target> batch) throws ReplicaClient.ReplicaClientException {
        OffsetForLeaderEpochRequest.Builder req = OffsetForLeaderEpochRequest.newBuilder().setReplicaId(localBrokerId);
        List<Target> asked = new ArrayList<>();
        for (Target t : batch) {
            PartitionLog plog = t.partition.log();
            int latest = plog.latestEpoch();
            if (latest == EpochEndOffset.UNDEFINED_EPOCH) {
                // No epoch in our log: nothing we hold can be an unreplicated tail of an old epoch
                // except what lies above the HW (KIP-101's fallback).
                applyTruncation(t, FollowerTruncation.decide(plog.logEndOffset(), plog.highWatermark(), latest,
                        EpochEndOffset.UNDEFINED, e -> EpochEndOffset.UNDEFINED));
                continue;
            }
            req.addPartitions(OffsetForLeaderEpochRequest.PartitionData.newBuilder().setTopicId(t.partition.topicId())
                    .setPartition(t.partition.topicPartition().partition()).setCurrentLeaderEpoch(t.leaderEpoch)
                    .setLeaderEpoch(latest));
            asked.add(t);
        }
        if (asked.isEmpty()) {
            return;
        }
        requestSentMs = clock.millis();
        OffsetForLeaderEpochResponse resp = client.offsetForLeaderEpoch(req.build(), config.requestTimeoutMs());
        answered();
        if (resp.getErrorCode() != ErrorCode.NONE || resp.getPartitionsCount() != asked.size()) {
            asked.forEach(t -> backoff(t, "OffsetForLeaderEpoch " + resp.getErrorCode() + " " + resp.getErrorMessage()));
            return;
        }
        for (int i = 0; i < asked.size(); i++) {
            Target t = asked.get(i);
            OffsetForLeaderEpochResponse.PartitionResponse pr = resp.getPartitions(i);
            int requested = req.getPartitions(i).getLeaderEpoch();
            if (pr.getErrorCode() != ErrorCode.NONE) {
                backoff(t, "OffsetForLeaderEpoch " + pr.getErrorCode() + " " + pr.getErrorMessage());
                continue;
            }
            if (!current(t.partition.topicPartition(), t)) {
                continue;
            }
            PartitionLog plog = t.partition.log();
            EpochEndOffset answer = new EpochEndOffset(pr.getLeaderEpoch(), pr.getEndOffset());
            FollowerTruncation.Decision d;
            if (++t.truncationRounds > TRUNCATION_ROUNDS_MAX) {
                d = FollowerTruncation.decide(plog.logEndOffset(), plog.highWatermark(), requested, EpochEndOffset.UNDEFINED,
                        e -> EpochEndOffset.UNDEFINED);
            } else {
                d = FollowerTruncation.decide(plog.logEndOffset(), plog.highWatermark(), requested, answer, plog::endOffsetFor);
            }
            applyTruncation(t, d);
        }
    }

    private void applyTruncation(Target t, FollowerTruncation.Decision d) {
        PartitionLog plog = t.partition.log();
        long before = plog.logEndOffset();
        try {
            if (!t.partition.truncateAsFollower(d.truncateToOffset(), t.leaderEpoch)) {
                // the role moved on; the replica manager re-adds the partition. Backed off meanwhile,
                // or every round would ask the leader again at once (found by review)
                backoff(t, "its role moved on before truncation");
                return;
            }
        } catch (OffsetOutOfRangeException e) {
            t.partition.restartAsFollowerAt(d.truncateToOffset(), t.leaderEpoch);
        }
        if (plog.logEndOffset() < before) {
            log.info("{}: truncated from {} to {} before following broker {} in leader epoch {}", plog.topicPartition(), before,
                    plog.logEndOffset(), sourceBrokerId, t.leaderEpoch);
        }
        if (!d.askAgain()) {
            t.truncated = true;
        }
    }

    // ------------------------------------------------------------------ fetching

    /**
     * @param othersDueMs when a partition left out of this fetch (backing off, or truncating again)
     *                    is due (Long.MAX_VALUE: none): the fetch waits at the leader no longer, or
     *                    the partition would wait for it (found probing: a partition refused
     *                    UNKNOWN_LEADER_EPOCH by a leader not yet aware of its leadership backed off
     *                    100 ms, then waited 500 ms for the fetch parked for the others)
     */
    private void fetch(List<Target> candidates, CompletableFuture<Void> abandon, long othersDueMs)
            throws ReplicaClient.ReplicaClientException {
        ReplicaFetchRequest.Builder req = ReplicaFetchRequest.newBuilder().setReplicaId(localBrokerId)
                .setBrokerIncarnationId(incarnationId.get().toString()).setMaxWaitMs(config.fetchWaitMaxMs())
                .setMinBytes(config.fetchMinBytes()).setMaxBytes(config.fetchResponseMaxBytes());
        List<Target> batch = new ArrayList<>(candidates.size());
        long[] granted = new long[candidates.size()]; // throttle grant per fetched partition, -1 = not throttled
        long nowMs = clock.millis();
        boolean uncommittedTail = false;
        long[] hwBefore = new long[candidates.size()];
        for (Target t : candidates) {
            if (!flushIdleTail(t)) {
                continue;
            }
            int maxBytes = config.fetchMaxBytes();
            if (throttle.isThrottled(t.partition.topicPartition())) {
                long grant = throttle.reserve(nowMs, maxBytes);
                if (grant == 0) {
                    t.backoffSetAtMs = nowMs;
                    t.backoffUntilMs = throttle.nextGrantMs(nowMs); // reassignment catch-up over its rate
                    t.throttleWait = true;
                    continue;
                }
                granted[batch.size()] = grant;
                maxBytes = (int) grant;
            } else {
                granted[batch.size()] = -1;
            }
            batch.add(t);
            PartitionLog plog = t.partition.log();
            long leo = plog.logEndOffset();
            long hw = plog.highWatermark();
            boolean pushed = t.partition.servesFollowerReads(nowMs);
            hwBefore[batch.size() - 1] = hw;
            uncommittedTail |= !pushed && hw < leo && nowMs - t.hwMovedAtMs <= HW_CHASE_MS;
            req.addPartitions(ReplicaFetchRequest.PartitionData.newBuilder().setTopicId(t.partition.topicId())
                    .setPartition(t.partition.topicPartition().partition()).setFetchOffset(leo)
                    .setFlushedOffset(Math.min(plog.recoveryPoint(), leo)).setLogStartOffset(Math.min(plog.logStartOffset(), leo))
                    .setCurrentLeaderEpoch(t.leaderEpoch)
                    .setPartitionMaxBytes(maxBytes).setKnownHighWatermark(pushed ? hw : NO_HIGH_WATERMARK_PUSH));
        }
        if (batch.isEmpty()) {
            return;
        }
        if (uncommittedTail) {
            // Records whose commit we have not learned: the leader does not push HW moves to us, so
            // a short wait bounds how stale our HW (the one we would start from as leader) gets
            // once writes stop; while they flow, the next records bring the HW sooner.
            req.setMaxWaitMs(Math.min(config.fetchWaitMaxMs(), config.fetchHwWaitMaxMs()));
        }
        if (othersDueMs != Long.MAX_VALUE) {
            req.setMaxWaitMs((int) Math.min(req.getMaxWaitMs(), Math.max(0, othersDueMs - clock.millis())));
        }
        ReplicaFetchResponse resp;
        try {
            requestSentMs = clock.millis();
            resp = client.fetch(req.build(), config.fetchWaitMaxMs() + config.requestTimeoutMs(), abandon);
            answered();
        } catch (ReplicaClient.ReplicaClientException e) {
            settleThrottle(granted, batch.size(), null);
            if (e.abandoned()) {
                // a partition was added: the next round asks for it with the others, at once
                log.debug("Fetch from broker {} abandoned: a partition was added", sourceBrokerId);
                return;
            }
            throw e;
        } catch (RuntimeException e) {
            settleThrottle(granted, batch.size(), null);
            throw e;
        }
        settleThrottle(granted, batch.size(), resp);
        if (resp.getErrorCode() != ErrorCode.NONE || resp.getPartitionsCount() != batch.size()) {
            batch.forEach(t -> backoff(t, "ReplicaFetch " + resp.getErrorCode() + " " + resp.getErrorMessage()));
            return;
        }
        List<Target> appended = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            Target t = batch.get(i);
            if (!current(t.partition.topicPartition(), t)) {
                continue;
            }
            ReplicaFetchResponse.PartitionResponse pr = resp.getPartitions(i);
            if (handlePartition(t, req.getPartitions(i).getFetchOffset(), pr)) {
                appended.add(t);
            }
            if (t.partition.log().highWatermark() > hwBefore[i]) {
                t.hwMovedAtMs = clock.millis();
            }
        }
        // Group commit: one fsync per partition covers every batch of this round; the flushed
        // offset reaches the leader in the next request (durable acks count only that).
        for (Target t : appended) {
            if (t.partition.state().durableAcks()) {
                t.partition.log().flush();
            }
            onProgress.accept(t.partition.topicPartition());
        }
    }

    /**
     * Flushes a tail left unflushed with nothing new to append (every round flushes what it
     * appended, so only a restart or a config change leaves one): with durable acks the leader
     * waits for it, and an idle partition would wait forever. False (and a back-off) if the fsync
     * failed.
     */
    private boolean flushIdleTail(Target t) {
        PartitionLog plog = t.partition.log();
        if (plog.recoveryPoint() >= plog.logEndOffset() || !t.partition.state().durableAcks()) {
            return true;
        }
        try {
            plog.flush();
            return true;
        } catch (LogStorageException e) {
            dev.basalt.broker.storage.StorageErrorLog.report(log, "Storage error flushing as follower", t.partition.topicPartition(),
                    plog.isOffline(), e);
            backoff(t, e.getMessage());
            return false;
        }
    }

    /** Returns unused throttle grants, or charges the overshoot; {@code resp} null = nothing received. */
    private void settleThrottle(long[] granted, int fetched, ReplicaFetchResponse resp) {
        for (int i = 0; i < fetched; i++) {
            if (granted[i] >= 0) {
                boolean answered = resp != null && resp.getErrorCode() == ErrorCode.NONE && i < resp.getPartitionsCount();
                throttle.settle(granted[i], answered ? resp.getPartitions(i).getRecords().size() : 0);
            }
        }
    }

    /**
     * Whether a follower beginning to follow at {@code fetchOffset} may hold a value whose
     * tombstone the leader has removed: it kept records below its fetch offset (from before this
     * leadership began), and the leader removed a tombstone at or above that offset. The leaders'
     * tombstone bound (what every replica has fsynced) never lets that happen to a caught-up
     * replica, so this is one that was away while out of the replicas, or one still copying the
     * partition from its start when it restarted or the leader changed (then the refetch may be
     * needless; it cannot be told apart).
     */
    static boolean missedRemovedTombstones(PartitionLog followerLog, long fetchOffset, long leaderTombstonesRemovedEnd) {
        return followerLog.logStartOffset() < fetchOffset && fetchOffset < leaderTombstonesRemovedEnd;
    }

    /** Applies one partition's answer; returns whether its log or HW moved. */
    private boolean handlePartition(Target t, long fetchOffset, ReplicaFetchResponse.PartitionResponse pr) {
        ErrorCode code = pr.getErrorCode();
        if (code == ErrorCode.OFFSET_OUT_OF_RANGE) {
            if (pr.getLogStartOffset() > fetchOffset) {
                // The leader deleted what we would fetch next (retention): start over at its log start.
                log.warn("{}: leader's log starts at {} past our end {}; restarting our log there", t.partition.topicPartition(),
                        pr.getLogStartOffset(), fetchOffset);
                t.partition.restartAsFollowerAt(pr.getLogStartOffset(), t.leaderEpoch);
            } else {
                t.truncated = false; // we are past its end: truncate again
                t.truncationRounds = 0;
            }
            return false;
        }
        if (code != ErrorCode.NONE) {
            backoff(t, code + " " + pr.getErrorMessage());
            return false;
        }
        if (!t.removalsChecked) {
            t.removalsChecked = true;
            if (missedRemovedTombstones(t.partition.log(), fetchOffset, pr.getTombstonesRemovedEnd())) {
                log.warn("{}: the leader removed tombstones below offset {}, past our log end {}, and we kept records from"
                        + " before (our log was behind while the leader compacted: this replica was down, out of the partition's"
                        + " replicas, or its log was cut back at corrupt data): a deletion of a value we hold"
                        + " may be gone from the leader; refetching the whole log from {}", t.partition.topicPartition(),
                        pr.getTombstonesRemovedEnd(), fetchOffset, pr.getLogStartOffset());
                t.partition.restartAsFollowerAt(pr.getLogStartOffset(), t.leaderEpoch);
                return false;
            }
        }
        ByteString records = pr.getRecords();
        long hwBefore = t.partition.highWatermark();
        // Metrics: how far this follower is behind. Set before the append, so that a replica whose
        // appends fail shows its lag growing (found probing: a follower refusing every append
        // showed 0, the leader's end as of its last good append).
        t.partition.leaderLogEndSeen(pr.getLogEndOffset());
        try {
            AppendInfo info = t.partition.appendAsFollower(records.asReadOnlyByteBuffer(), t.leaderEpoch, pr.getHighWatermark(),
                    pr.getAllReplicasOffset(), pr.getTombstonesRemovedEnd(), pr.getLogStartOffset());
            return info != null || t.partition.highWatermark() != hwBefore;
        } catch (StaleLeaderEpochException | CorruptRecordException e) {
            long straddled = straddledBase(records, t.partition.log().logEndOffset());
            if (straddled >= 0 && straddled < t.partition.log().logStartOffset()
                    && t.partition.log().logEndOffset() == t.partition.log().logStartOffset()) {
                // Our (empty) log starts inside the leader's first batch: a deletion cut the leader's
                // log mid-batch while we were behind it. Truncation cannot go below our start (found
                // probing: the follower truncated to nothing and asked again, ~1,700 times a second,
                // for good): start over at the batch's base and copy it whole.
                try {
                    AppendInfo info = t.partition.restartInsideBatchAsFollower(straddled, records.asReadOnlyByteBuffer(),
                            t.leaderEpoch, pr.getHighWatermark(), pr.getAllReplicasOffset(), pr.getTombstonesRemovedEnd(),
                            pr.getLogStartOffset());
                    if (info != null) {
                        log.info("{}: the leader's log starts at {}, inside its batch at offset {}: our log now starts at the"
                                + " batch and copied it whole", t.partition.topicPartition(), pr.getLogStartOffset(), straddled);
                        return true;
                    }
                } catch (StaleLeaderEpochException | CorruptRecordException | LogStorageException
                         | dev.basalt.log.UnknownPartitionException again) {
                    // (thrown inside this catch clause, the outer try's other handlers would not see it)
                    log.warn("{}: cannot copy the leader's batch at offset {} ({})", t.partition.topicPartition(), straddled,
                            again.getMessage());
                }
                backoff(t, e.getMessage());
                return false;
            }
            if (straddled >= 0 && t.partition.truncateAsFollower(straddled, t.leaderEpoch)) {
                // The leader's first batch starts below our log end and ends past it: our log ends
                // inside one of the leader's batches, which no sound copy does (a damaged base
                // offset, which the CRC does not cover, shifted our records). Truncation by epoch
                // keeps that end, and fetching from it returns this batch again: found probing, a
                // follower looped on this for good, across restarts. Cut back to the leader's batch.
                log.warn("{}: our log ends at {}, inside the leader's batch at offset {} ({}); truncating to {} to copy it whole",
                        t.partition.topicPartition(), t.partition.log().logEndOffset(), straddled, e.getMessage(), straddled);
                return false;
            }
            // Overlapping our log or an older epoch than ours: our log diverged; truncate again.
            log.warn("{}: cannot append the leader's batches ({}); truncating again", t.partition.topicPartition(), e.getMessage());
            t.truncated = false;
            t.truncationRounds = 0;
            backoff(t, e.getMessage());
            return false;
        } catch (LogStorageException e) {
            dev.basalt.broker.storage.StorageErrorLog.report(log, "Storage error appending as follower to", t.partition.topicPartition(),
                    t.partition.log().isOffline(), e);
            backoff(t, e.getMessage());
            return false;
        } catch (dev.basalt.log.UnknownPartitionException e) {
            // Our log was closed under the fetch (quarantined for a rebuild, deleted): the replica
            // manager follows again with the new log; the other partitions go on.
            log.info("{}: local log closed under the fetch ({}); this partition waits", t.partition.topicPartition(), e.getMessage());
            backoff(t, e.getMessage());
            return false;
        }
    }

    /**
     * Stops the loop without interrupting its thread: an interrupt during the follower's fsync or
     * append would close the log's FileChannel (ClosedByInterruptException) and take a healthy
     * replica offline. Closing the client fails the request in flight instead, and the loop sees
     * {@code running} false.
     */
    @Override
    public void close() {
        running = false;
        synchronized (monitor) {
            monitor.notifyAll();
        }
        client.close();
        try {
            thread.join(config.fetchWaitMaxMs() + config.requestTimeoutMs());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The base offset of the payload's first batch if it starts below {@code logEnd} and ends at
     * or past it (our log ends inside it), else -1.
     */
    static long straddledBase(ByteString records, long logEnd) {
        java.nio.ByteBuffer buf = records.asReadOnlyByteBuffer();
        if (buf.remaining() < dev.basalt.record.RecordBatch.HEADER_SIZE_BYTES) {
            return -1;
        }
        dev.basalt.record.RecordBatch first;
        try {
            first = dev.basalt.record.RecordBatch.wrap(buf.slice());
        } catch (CorruptRecordException e) {
            return -1;
        }
        long base = first.baseOffset();
        long last = first.lastOffset();
        return base < logEnd && last >= logEnd ? base : -1;
    }
}
