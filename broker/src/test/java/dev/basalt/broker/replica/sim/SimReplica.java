package dev.basalt.broker.replica.sim;

import dev.basalt.broker.replica.state.FollowerTruncation;
import dev.basalt.broker.replica.state.IsrChange;
import dev.basalt.broker.replica.state.LeaderState;
import dev.basalt.log.EpochEndOffset;
import dev.basalt.metadata.controller.AlterPartitionRequest;
import dev.basalt.metadata.image.PartitionRegistration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * One broker's replica of one partition: the shell the broker's {@code Partition} will be, around the
 * real pure rules. As leader it appends produced batches, answers follower fetches and
 * offset-for-leader-epoch, and lets {@link LeaderState} decide the high watermark and the ISR
 * changes it proposes to the controller; it acknowledges acks=all writes once the HW passes them.
 * As follower it truncates by {@link FollowerTruncation} (KIP-101/279) before fetching, then fetches,
 * appends, flushes (group commit) and takes the HW from the leader. Not thread-safe; owned by its
 * {@link SimBroker}, lives for one incarnation of it.
 */
final class SimReplica {
    enum Role { NONE, LEADER, FOLLOWER }

    /** Why a produce or fetch was refused (the wire error codes of the Replica and Produce services). */
    enum Error { NOT_LEADER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, OFFSET_OUT_OF_RANGE, NOT_ENOUGH_REPLICAS,
        REQUEST_TIMED_OUT }

    record FetchAnswer(Error error, List<SimLog.Batch> batches, long highWatermark) {
    }

    record ProduceAnswer(Error error, long baseOffset) {
    }

    /** The leader's OffsetForLeaderEpoch answer: an error, or its end offset for the asked epoch. */
    record EpochAnswer(Error error, EpochEndOffset endOffset) {
    }

    private record Parked(SimLog.Batch batch, Consumer<ProduceAnswer> reply) {
    }

    private final SimBroker broker;
    private final ReplicationSimulation sim;
    private final int partition;
    private final UUID topicId;
    private final SimLog log;
    private final String name;
    private long highWatermark;
    private Role role = Role.NONE;
    private int leaderEpoch = -1;
    private int leaderId = PartitionRegistration.NO_LEADER;
    private LeaderState leader;
    private long alterPartitionSentMs;
    private final List<Parked> purgatory = new ArrayList<>();
    private boolean flushScheduled;
    private long requestToken;
    private boolean stopped;

    SimReplica(SimBroker broker, int partition, UUID topicId, SimLog log) {
        this.broker = broker;
        this.sim = broker.sim;
        this.partition = partition;
        this.topicId = topicId;
        this.log = log;
        this.name = "broker " + broker.id + " p" + partition;
        this.highWatermark = Math.min(log.checkpointedHighWatermark(), log.logEndOffset());
    }

    Role role() {
        return role;
    }

    int leaderEpoch() {
        return leaderEpoch;
    }

    int partition() {
        return partition;
    }

    long highWatermark() {
        return highWatermark;
    }

    SimLog log() {
        return log;
    }

    /** The process is gone: parked produces get no answer (their connections are closed). */
    void stop() {
        stopped = true;
        purgatory.clear();
    }

    // ------------------------------------------------------------------ metadata

    void applyRegistration(PartitionRegistration p) {
        if (p.leaderEpoch() < leaderEpoch) {
            throw new IllegalStateException(name + " got leader epoch " + p.leaderEpoch() + " after " + leaderEpoch);
        }
        if (p.leader() == broker.id) {
            if (role != Role.LEADER || p.leaderEpoch() != leaderEpoch) {
                becomeLeader(p);
            } else if (leader.applyCommittedIsr(p.partitionEpoch(), p.isr())) {
                onLeaderStateChanged();
            }
        } else if (role != Role.FOLLOWER || p.leaderEpoch() != leaderEpoch) {
            becomeFollower(p);
        }
    }

    private void becomeLeader(PartitionRegistration p) {
        role = Role.LEADER;
        leaderEpoch = p.leaderEpoch();
        leaderId = broker.id;
        requestToken++;
        sim.invariants.checkBecomeLeader(name, broker.id, broker.incarnation(), partition, leaderEpoch, log);
        leader = new LeaderState(broker.id, leaderEpoch, log.logEndOffset(), p.partitionEpoch(), p.replicas(), p.isr(),
                sim.params().minInsyncReplicas(), sim.params().durableAcks(), highWatermark, log.flushedOffset(),
                sim.nowMs());
        LeaderState mine = leader;
        broker.timer(sim.params().isrCheckIntervalMs(), () -> isrLoop(mine));
        scheduleFlush();
    }

    private void becomeFollower(PartitionRegistration p) {
        failPurgatory(Error.NOT_LEADER);
        role = Role.FOLLOWER;
        leader = null;
        leaderEpoch = p.leaderEpoch();
        leaderId = p.leader();
        requestToken++;
        if (leaderId != PartitionRegistration.NO_LEADER) {
            truncateThenFetch();
        }
    }

    // ------------------------------------------------------------------ leader: produce

    void handleProduce(long batchId, int count, Consumer<ProduceAnswer> reply) {
        if (role != Role.LEADER) {
            reply.accept(new ProduceAnswer(Error.NOT_LEADER, -1));
            return;
        }
        if (!leader.hasMinIsr()) {
            sim.stats.notEnoughReplicas++;
            reply.accept(new ProduceAnswer(Error.NOT_ENOUGH_REPLICAS, -1));
            return;
        }
        SimLog.Batch b = new SimLog.Batch(log.logEndOffset(), count, leaderEpoch, batchId);
        sim.invariants.checkAppend(name, partition, b);
        log.append(b);
        Parked parked = new Parked(b, reply);
        purgatory.add(parked);
        broker.timer(sim.params().requestTimeoutMs(), () -> {
            if (purgatory.remove(parked)) {
                reply.accept(new ProduceAnswer(Error.REQUEST_TIMED_OUT, -1));
            }
        });
        if (leader.updateLeaderLog(log.logEndOffset(), log.flushedOffset())) {
            onLeaderStateChanged();
        }
        planted();
        scheduleFlush();
    }

    private void failPurgatory(Error error) {
        List<Parked> parked = new ArrayList<>(purgatory);
        purgatory.clear();
        for (Parked p : parked) {
            p.reply.accept(new ProduceAnswer(error, -1));
        }
    }

    /** Group commit: one fsync covers everything appended since the last one. */
    private void scheduleFlush() {
        if (flushScheduled) {
            return;
        }
        flushScheduled = true;
        broker.timer(sim.params().flushDelayMs(), () -> {
            flushScheduled = false;
            if (stopped) {
                return;
            }
            log.flush(highWatermark);
            if (role == Role.LEADER && leader.updateLeaderLog(log.logEndOffset(), log.flushedOffset())) {
                onLeaderStateChanged();
            }
            planted();
        });
    }

    /** The rules moved the HW (or may have): apply it and complete what it passed. */
    private void onLeaderStateChanged() {
        if (sim.params().bug() == ReplicationSimulation.Bug.HW_IGNORES_ISR) {
            return; // the planted bug replaces the rules' HW (see planted())
        }
        long hw = leader.highWatermark();
        sim.invariants.checkLeaderHighWatermark(name, leaderEpoch, highWatermark, hw);
        advanceHighWatermark(hw);
    }

    /** Planted bug HW_IGNORES_ISR: the harness overrides the rules' HW with the leader's own progress. */
    private void planted() {
        if (role == Role.LEADER && sim.params().bug() == ReplicationSimulation.Bug.HW_IGNORES_ISR) {
            advanceHighWatermark(sim.params().durableAcks() ? log.flushedOffset() : log.logEndOffset());
        }
    }

    private void advanceHighWatermark(long hw) {
        if (hw <= highWatermark) {
            return;
        }
        sim.invariants.checkHighWatermark(name, partition, leaderEpoch, log, highWatermark, hw);
        highWatermark = hw;
        if (role != Role.LEADER) {
            return;
        }
        for (Iterator<Parked> it = purgatory.iterator(); it.hasNext(); ) {
            Parked p = it.next();
            if (p.batch.nextOffset() <= highWatermark) {
                it.remove();
                sim.invariants.recordAck(name, partition, p.batch, highWatermark);
                sim.noteAck(partition);
                sim.checkIsrHolds(partition, p.batch.baseOffset());
                if (sim.controller.leaderEpoch(topicId, partition) > leaderEpoch) {
                    sim.stats.staleLeaderAcks++;
                }
                p.reply.accept(new ProduceAnswer(null, p.batch.baseOffset()));
            }
        }
    }

    // ------------------------------------------------------------------ leader: ISR changes

    private void isrLoop(LeaderState state) {
        if (leader != state || stopped) {
            return;
        }
        if (leader.pendingIsrChange().isPresent() && sim.nowMs() - alterPartitionSentMs >= sim.params().requestTimeoutMs()) {
            // No answer: as the broker does on a timeout, the change failed with its outcome unknown
            // (an expansion's joiners stay unresolved), and the rules pick the next one: the same
            // change again, or a fence.
            leader.failPendingIsrChange(leader.pendingIsrChange().get());
        }
        if (leader.pendingIsrChange().isEmpty()) {
            leader.maybeProposeIsrChange(sim.nowMs(), sim.params().lagTimeMaxMs()).ifPresent(this::sendAlterPartition);
        }
        broker.timer(sim.params().isrCheckIntervalMs(), () -> isrLoop(state));
    }

    private void sendAlterPartition(IsrChange change) {
        alterPartitionSentMs = sim.nowMs();
        LeaderState state = leader;
        AlterPartitionRequest request = new AlterPartitionRequest(broker.id, broker.incarnationId(), topicId, partition,
                change.leaderEpoch(), change.basePartitionEpoch(), change.newIsr());
        Consumer<SimController.Reply<PartitionRegistration>> reply = broker.replyTo(SimController.NODE_ID, r -> {
            if (leader != state || stopped || state.pendingIsrChange().map(c -> !c.equals(change)).orElse(true)) {
                return; // another epoch, or an answer to an older attempt
            }
            PartitionRegistration p = r.response();
            if (r.ok() && p.leader() == broker.id && p.leaderEpoch() == leaderEpoch) {
                if (state.applyCommittedIsr(p.partitionEpoch(), p.isr())) {
                    onLeaderStateChanged();
                }
            } else {
                state.failPendingIsrChange(change); // refused: the metadata will show why; retry from it
            }
        });
        broker.send(SimController.NODE_ID, () -> reply.accept(sim.controller.alterPartition(request)));
    }

    // ------------------------------------------------------------------ leader: follower requests

    /** OffsetForLeaderEpoch from a follower in {@code currentLeaderEpoch}. */
    EpochAnswer handleOffsetForLeaderEpoch(int currentLeaderEpoch, int requestedEpoch) {
        Error e = checkEpoch(currentLeaderEpoch);
        return e != null ? new EpochAnswer(e, null) : new EpochAnswer(null, log.endOffsetForEpoch(requestedEpoch));
    }

    void handleFetch(int followerId, int currentLeaderEpoch, long fetchOffset, long flushedOffset,
                     Consumer<FetchAnswer> reply) {
        Error e = checkEpoch(currentLeaderEpoch);
        if (e == null && (fetchOffset > log.logEndOffset() || !log.isBoundary(fetchOffset))) {
            e = Error.OFFSET_OUT_OF_RANGE;
        }
        if (e != null) {
            reply.accept(new FetchAnswer(e, List.of(), -1));
            return;
        }
        if (leader.recordFollowerFetch(followerId, fetchOffset, flushedOffset, sim.nowMs())) {
            onLeaderStateChanged();
        }
        // As the broker's fetch path: the fetching follower's own expansion only (isrLoop judges lag).
        leader.maybeProposeJoin(followerId, id -> true).ifPresent(this::sendAlterPartition);
        reply.accept(new FetchAnswer(null, log.read(fetchOffset, sim.params().fetchBatchesMax()), highWatermark));
    }

    private Error checkEpoch(int requestEpoch) {
        if (role != Role.LEADER) {
            return Error.NOT_LEADER;
        }
        if (requestEpoch < leaderEpoch) {
            return Error.FENCED_LEADER_EPOCH;
        }
        return requestEpoch > leaderEpoch ? Error.UNKNOWN_LEADER_EPOCH : null;
    }

    // ------------------------------------------------------------------ follower

    private SimReplica leaderReplica(SimBroker target) {
        return target.replicas.get(partition);
    }

    /** Before fetching from a new leader: offset-for-leader-epoch rounds until the rule says done. */
    private void truncateThenFetch() {
        long token = ++requestToken;
        int latest = log.latestEpoch();
        if (latest == SimLog.NO_EPOCH || sim.params().bug() == ReplicationSimulation.Bug.FOLLOWER_SKIPS_TRUNCATION) {
            fetch();
            return;
        }
        int epoch = leaderEpoch;
        SimBroker target = sim.broker(leaderId);
        Consumer<EpochAnswer> reply = broker.replyTo(target.id, a -> onEpochAnswer(token, latest, a));
        broker.send(target.id, () -> {
            SimReplica l = leaderReplica(target);
            reply.accept(l == null ? new EpochAnswer(Error.NOT_LEADER, null) : l.handleOffsetForLeaderEpoch(epoch, latest));
        });
        broker.timer(sim.params().requestTimeoutMs(), () -> {
            if (requestToken == token) {
                truncateThenFetch();
            }
        });
    }

    private void onEpochAnswer(long token, int requestedEpoch, EpochAnswer answer) {
        if (token != requestToken || role != Role.FOLLOWER) {
            return;
        }
        if (answer.error() != null) {
            later(sim.params().fetchBackoffMs(), this::truncateThenFetch);
            return;
        }
        FollowerTruncation.Decision d = FollowerTruncation.decide(log.logEndOffset(), highWatermark, requestedEpoch,
                answer.endOffset(), log::endOffsetForEpoch);
        if (d.truncateToOffset() < log.logEndOffset()) {
            sim.stats.divergentTruncations++;
        }
        truncate(d.truncateToOffset());
        if (d.askAgain()) {
            sim.stats.extraTruncationRounds++;
            truncateThenFetch();
        } else {
            fetch();
        }
    }

    /**
     * The follower's next step after a pause, unless anything happened meanwhile (a new request, a
     * role or epoch change: each takes a new token), so a stale timer never fetches for an old role.
     */
    private void later(long delayMs, Runnable step) {
        long token = ++requestToken;
        broker.timer(delayMs, () -> {
            if (requestToken == token && role == Role.FOLLOWER) {
                step.run();
            }
        });
    }

    private void truncate(long offset) {
        sim.invariants.checkTruncate(name, role == Role.LEADER, highWatermark, offset, log.logEndOffset());
        log.truncateTo(offset);
        highWatermark = Math.min(highWatermark, log.logEndOffset());
        if (sim.inCommittedIsr(broker.id, partition)) {
            sim.invariants.checkIsrMemberHoldsAcked(name, partition, log, offset);
        }
    }

    private void fetch() {
        long token = ++requestToken;
        int epoch = leaderEpoch;
        long fetchOffset = log.logEndOffset();
        long flushed = log.flushedOffset();
        SimBroker target = sim.broker(leaderId);
        Consumer<FetchAnswer> reply = broker.replyTo(target.id, a -> onFetchAnswer(token, fetchOffset, a));
        broker.send(target.id, () -> {
            SimReplica l = leaderReplica(target);
            if (l == null) {
                reply.accept(new FetchAnswer(Error.NOT_LEADER, List.of(), -1));
            } else {
                l.handleFetch(broker.id, epoch, fetchOffset, flushed, reply);
            }
        });
        broker.timer(sim.params().requestTimeoutMs(), () -> {
            if (requestToken == token) {
                fetch();
            }
        });
    }

    private void onFetchAnswer(long token, long fetchOffset, FetchAnswer a) {
        if (token != requestToken || role != Role.FOLLOWER) {
            return;
        }
        if (a.error() == Error.OFFSET_OUT_OF_RANGE) {
            if (sim.params().bug() == ReplicationSimulation.Bug.FOLLOWER_SKIPS_TRUNCATION) {
                truncate(highWatermark); // the pre-KIP-101 behaviour the planted bug falls back to
                fetch();
            } else {
                truncateThenFetch();
            }
            return;
        }
        if (a.error() != null) {
            later(sim.params().fetchBackoffMs(), this::fetch);
            return;
        }
        if (fetchOffset != log.logEndOffset()) {
            // one request at a time and every truncation takes a new token: a harness bug if it happens
            throw new IllegalStateException(name + " log end moved from " + fetchOffset + " to " + log.logEndOffset()
                    + " under a fetch");
        }
        for (SimLog.Batch b : a.batches()) {
            sim.invariants.checkAppend(name, partition, b);
            log.append(b);
        }
        if (!a.batches().isEmpty() || log.flushedOffset() < log.logEndOffset()) {
            // Also a tail a kill -9 left unflushed with nothing new to append: with durable acks the
            // leader waits for it (an idle partition below min ISR would wait forever).
            scheduleFlush();
        }
        advanceHighWatermark(Math.min(a.highWatermark(), log.logEndOffset()));
        if (a.batches().isEmpty()) {
            later(sim.params().fetchBackoffMs(), this::fetch); // a long poll's wait, without the parking
        } else {
            fetch();
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("p").append(partition).append(' ').append(role).append(" epoch=")
                .append(leaderEpoch).append(" leader=").append(leaderId).append(" HW=").append(highWatermark)
                .append(" LEO=").append(log.logEndOffset()).append(" flushed=").append(log.flushedOffset())
                .append(" epochs=").append(epochs());
        if (leader != null) {
            sb.append(' ').append(leader);
        }
        return sb.toString();
    }

    private String epochs() {
        StringBuilder sb = new StringBuilder("[");
        int last = Integer.MIN_VALUE;
        for (SimLog.Batch b : log.batches()) {
            if (b.leaderEpoch() != last) {
                sb.append(sb.length() > 1 ? " " : "").append(b.leaderEpoch()).append('@').append(b.baseOffset());
                last = b.leaderEpoch();
            }
        }
        return sb.append(']').toString();
    }
}
