package dev.basalt.broker.server;

import dev.basalt.broker.purgatory.DelayedOperation;
import dev.basalt.broker.replica.Lookup;
import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.common.TopicNames;
import dev.basalt.log.LogStorageException;
import dev.basalt.log.TopicPartition;
import dev.basalt.proto.v1.DeleteRecordsRequest;
import dev.basalt.proto.v1.DeleteRecordsResponse;
import dev.basalt.proto.v1.ErrorCode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Serves DeleteRecords (admin.proto) for the partitions this broker leads: each log's start moves
 * up to the offset asked for, and the answer waits, parked with the acks=all produces, until every
 * replica the leadership could pass to next (the ISR and the eligible leader replicas) reports a
 * log start at least as high, so a leader a clean election picks next does not serve the deleted
 * records again (an unclean election may).
 * Followers learn the leader's log start from their fetch answers and report their own with their
 * next fetch; each such report re-checks the waiters.
 *
 * <p>Thread-safety: thread-safe; runs on request threads, a parked request completes on the thread
 * of the follower fetch that completed it, on a leadership change, or on the purgatory's timer.
 */
public final class DeleteRecordsHandler {
    /** Partitions in one request (admin.proto). */
    public static final int PARTITIONS_MAX = 10_000;
    /** The wait when the request gives no timeout_ms. */
    static final int DEFAULT_TIMEOUT_MS = 30_000;

    private final ReplicaManager replicas;
    private final int timeoutMsMax;

    /** @param timeoutMsMax the broker's request.timeout.ms.max: the longest a request may wait */
    public DeleteRecordsHandler(ReplicaManager replicas, int timeoutMsMax) {
        this.replicas = replicas;
        this.timeoutMsMax = timeoutMsMax;
    }

    public void handle(DeleteRecordsRequest req, Consumer<DeleteRecordsResponse> respond) {
        DeleteRecordsResponse.Builder b = DeleteRecordsResponse.newBuilder();
        if (replicas.isClosed()) {
            respond.accept(b.setErrorCode(ErrorCode.BROKER_NOT_AVAILABLE)
                    .setErrorMessage("broker " + replicas.brokerId() + " is shutting down").build());
            return;
        }
        if (req.getPartitionsCount() > PARTITIONS_MAX || req.getTimeoutMs() < 0) {
            respond.accept(b.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(req.getTimeoutMs() < 0
                    ? "timeout_ms " + req.getTimeoutMs() + " < 0"
                    : req.getPartitionsCount() + " partitions in one request; at most " + PARTITIONS_MAX).build());
            return;
        }
        List<Waiting> waiting = new ArrayList<>();
        Set<TopicPartition> seen = new HashSet<>();
        for (DeleteRecordsRequest.Partition p : req.getPartitionsList()) {
            DeleteRecordsResponse.Partition.Builder pb = b.addPartitionsBuilder().setTopic(p.getTopic())
                    .setPartition(p.getPartition()).setLowWatermark(-1);
            Waiting w = start(p, pb, seen);
            if (w != null) {
                waiting.add(w);
            }
        }
        if (waiting.isEmpty()) {
            respond.accept(b.build());
            return;
        }
        long timeoutMs = Math.min(req.getTimeoutMs() == 0 ? DEFAULT_TIMEOUT_MS : req.getTimeoutMs(), timeoutMsMax);
        DelayedDeleteRecords op = new DelayedDeleteRecords(b, waiting, respond);
        Set<TopicPartition> keys = new HashSet<>();
        waiting.forEach(w -> keys.add(w.partition.topicPartition()));
        if (!replicas.produceWaiters().tryWatch(op, keys, timeoutMs)) {
            // No room to park: answer with where the replicas stand now.
            op.forceComplete();
        }
    }

    /** Checks one partition and moves its log start; the wait for its replicas, or null once answered. */
    private Waiting start(DeleteRecordsRequest.Partition p, DeleteRecordsResponse.Partition.Builder pb, Set<TopicPartition> seen) {
        if (p.getPartition() < 0) {
            pb.setErrorCode(ErrorCode.INVALID_PARTITION).setErrorMessage("partition " + p.getPartition() + " < 0");
            return null;
        }
        if (!seen.add(new TopicPartition(p.getTopic(), p.getPartition()))) {
            pb.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(p.getTopic() + "-" + p.getPartition()
                    + " is named more than once");
            return null;
        }
        if (p.getOffset() < -1) {
            pb.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("offset " + p.getOffset()
                    + " is neither -1 (the high watermark) nor an offset");
            return null;
        }
        if (TopicNames.isInternal(p.getTopic())) {
            pb.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(p.getTopic() + " is an internal topic: its records"
                    + " cannot be deleted");
            return null;
        }
        Lookup lookup = replicas.leaderFor(p.getTopic(), p.getPartition());
        if (!lookup.ok()) {
            pb.setErrorCode(lookup.error()).setErrorMessage(lookup.message());
            if (lookup.leaderHint() >= 0) {
                pb.setLeaderIdHint(lookup.leaderHint());
            }
            return null;
        }
        Partition partition = lookup.partition();
        if (!partition.log().config().cleanupDelete()) {
            pb.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("topic " + p.getTopic() + " has cleanup.policy=compact:"
                    + " compaction decides which of its records stay, so DeleteRecords is refused (as Kafka does)");
            return null;
        }
        Partition.RecordDeletion d;
        long startBefore = partition.log().logStartOffset();
        try {
            d = partition.deleteRecordsAsLeader(p.getOffset());
        } catch (dev.basalt.log.UnknownPartitionException e) {
            pb.setErrorCode(ErrorCode.NOT_LEADER).setErrorMessage(e.getMessage() + " (closed under the request)");
            return null;
        } catch (LogStorageException e) {
            pb.setErrorCode(ErrorCode.STORAGE_ERROR).setErrorMessage(e.getMessage())
                    .setLogStartMoved(partition.log().logStartOffset() > startBefore);
            return null;
        }
        if (d.error() != ErrorCode.NONE) {
            pb.setErrorCode(d.error()).setErrorMessage(d.message());
            return null;
        }
        return new Waiting(pb, partition, d.targetOffset());
    }

    private record Waiting(DeleteRecordsResponse.Partition.Builder answer, Partition partition, long target) {
        boolean settled() {
            long low = partition.lowWatermark();
            return low < 0 || low >= target;
        }
    }

    /** Parked until every waiting partition's replicas start at its target, or it lost its leadership. */
    private final class DelayedDeleteRecords extends DelayedOperation {
        private final DeleteRecordsResponse.Builder response;
        private final List<Waiting> waiting;
        private final Consumer<DeleteRecordsResponse> respond;

        DelayedDeleteRecords(DeleteRecordsResponse.Builder response, List<Waiting> waiting, Consumer<DeleteRecordsResponse> respond) {
            this.response = response;
            this.waiting = waiting;
            this.respond = respond;
        }

        @Override
        public boolean tryComplete() {
            for (Waiting w : waiting) {
                if (!w.settled()) {
                    return false;
                }
            }
            return forceComplete();
        }

        @Override
        protected void onComplete(boolean expired) {
            for (Waiting w : waiting) {
                long low = w.partition.lowWatermark();
                if (low < 0) {
                    w.answer.setErrorCode(ErrorCode.NOT_LEADER).setErrorMessage("leadership of " + w.partition.topicPartition()
                            + " moved before its replicas followed the deletion: send it to the new leader").setLogStartMoved(true);
                    Lookup now = replicas.leaderFor(w.partition.topicPartition().topic(), w.partition.topicPartition().partition());
                    if (now.leaderHint() >= 0) {
                        w.answer.setLeaderIdHint(now.leaderHint());
                    }
                } else if (low >= w.target) {
                    w.answer.setLowWatermark(low);
                } else {
                    w.answer.setErrorCode(ErrorCode.REQUEST_TIMED_OUT).setLogStartMoved(true).setErrorMessage("the leader's log of "
                            + w.partition.topicPartition() + " starts at " + w.partition.log().logStartOffset()
                            + " but a replica it could hand leadership to still starts at " + low + " (below " + w.target
                            + "): it normally follows with its next fetch, but a leader change before then would undo the deletion;"
                            + " ask again to make sure");
                }
            }
            respond.accept(response.build());
        }
    }
}
