package dev.basalt.broker.replica;

import com.google.protobuf.ByteString;
import dev.basalt.broker.purgatory.DelayedOperation;
import dev.basalt.log.FetchSlice;
import dev.basalt.log.LogStorageException;
import dev.basalt.log.OffsetOutOfRangeException;
import dev.basalt.log.TopicPartition;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.OffsetForLeaderEpochRequest;
import dev.basalt.proto.v1.OffsetForLeaderEpochResponse;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader side of replica.proto: answers followers' ReplicaFetch (recording their progress in
 * each partition's {@code LeaderState}, which moves the HW and makes ISR expansions due) and
 * OffsetForLeaderEpoch. A ReplicaFetch that finds nothing new parks in the fetch purgatory until
 * an append, a HW move or a leadership change on one of its partitions, or its max_wait_ms.
 *
 * <p>Records are copied from the segment mapping into the answer ({@code bytes} field): one copy
 * per replicated byte. The zero-copy {@code FetchReply} path of consumer fetches is not used here
 * yet (its marshaller writes FetchResponse's layout).
 *
 * <p>Thread-safety: stateless apart from collaborators; runs on request threads and, for parked
 * fetches, on appending threads and the purgatory timer.
 */
public final class ReplicaRequestHandler {
    private static final Logger log = LoggerFactory.getLogger(ReplicaRequestHandler.class);
    /** Partitions in one replica request (a loop over peer input is bounded). */
    public static final int PARTITIONS_MAX = 100_000;

    private final ReplicaManager replicas;
    private final int waitMsMax;

    /** @param waitMsMax upper bound of a follower's max_wait_ms (the broker's fetch.wait.ms.max) */
    public ReplicaRequestHandler(ReplicaManager replicas, int waitMsMax) {
        this.replicas = replicas;
        this.waitMsMax = waitMsMax;
    }

    /**
     * A fetch's answer channel that can tell when nobody waits for the answer any more: the
     * follower abandoned the fetch (it cancels the session stream when it starts following another
     * partition from this broker). A parked fetch whose follower went then neither reads the log
     * nor records the follower's progress from its old request (found by review: a stale request's
     * offsets lowered the follower's recorded progress for a moment).
     */
    public interface Responder extends Consumer<ReplicaFetchResponse> {
        boolean abandoned();
    }

    public void handleFetch(ReplicaFetchRequest req, Consumer<ReplicaFetchResponse> respond) {
        if (replicas.isClosed()) {
            respond.accept(ReplicaFetchResponse.newBuilder().setErrorCode(ErrorCode.BROKER_NOT_AVAILABLE)
                    .setErrorMessage("broker " + replicas.brokerId() + " is shutting down").build());
            return;
        }
        String invalid = validate(req);
        if (invalid != null) {
            respond.accept(ReplicaFetchResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(invalid).build());
            return;
        }
        Optional<BrokerRegistration> reg = replicas.image().cluster().broker(req.getReplicaId());
        if (reg.isEmpty() || !reg.get().incarnationId().toString().equals(req.getBrokerIncarnationId())) {
            respond.accept(ReplicaFetchResponse.newBuilder().setErrorCode(ErrorCode.STALE_BROKER_INCARNATION)
                    .setErrorMessage("broker " + req.getReplicaId() + " incarnation " + req.getBrokerIncarnationId()
                            + " is not the registered one " + reg.map(r -> r.incarnationId().toString()).orElse("(none)"))
                    .build());
            return;
        }
        ReplicaFetchResponse first = read(req);
        if (ready(req, first)) {
            respond.accept(first);
            return;
        }
        Set<TopicPartition> keys = new HashSet<>();
        for (ReplicaFetchRequest.PartitionData pd : req.getPartitionsList()) {
            replicas.partitionById(pd.getTopicId(), pd.getPartition()).ifPresent(p -> keys.add(p.topicPartition()));
        }
        DelayedReplicaFetch op = new DelayedReplicaFetch(req, respond);
        if (!replicas.fetchWaiters().tryWatch(op, keys, Math.min(req.getMaxWaitMs(), waitMsMax))) {
            // No room to park. An empty answer would bring the follower straight back (a hot loop);
            // THROTTLED makes it back off. Its progress was recorded by the first read all the same.
            respond.accept(ReplicaFetchResponse.newBuilder().setErrorCode(ErrorCode.THROTTLED)
                    .setErrorMessage("fetch.inflight.max fetches already wait on broker " + replicas.brokerId()).build());
        }
    }

    private static String validate(ReplicaFetchRequest req) {
        if (req.getMaxWaitMs() < 0 || req.getMinBytes() < 0 || req.getMaxBytes() < 0) {
            return "max_wait_ms, min_bytes and max_bytes must be >= 0";
        }
        if (req.getPartitionsCount() > PARTITIONS_MAX) {
            return req.getPartitionsCount() + " partitions in one request; at most " + PARTITIONS_MAX;
        }
        Set<String> seen = new HashSet<>();
        for (ReplicaFetchRequest.PartitionData p : req.getPartitionsList()) {
            if (p.getFetchOffset() < 0 || p.getPartitionMaxBytes() < 0 || p.getPartition() < 0) {
                return "negative fetch_offset, partition or partition_max_bytes";
            }
            if (p.getLogStartOffset() < 0 || p.getLogStartOffset() > p.getFetchOffset()) {
                return "log_start_offset " + p.getLogStartOffset() + " outside [0, fetch_offset " + p.getFetchOffset() + "]";
            }
            if (p.getFlushedOffset() > p.getFetchOffset()) {
                return "flushed_offset " + p.getFlushedOffset() + " above fetch_offset " + p.getFetchOffset();
            }
            if (!seen.add(p.getTopicId() + "/" + p.getPartition())) {
                return "partition " + p.getTopicId() + "/" + p.getPartition() + " appears twice";
            }
        }
        return null;
    }

    private static boolean ready(ReplicaFetchRequest req, ReplicaFetchResponse resp) {
        if (req.getMaxWaitMs() == 0 || resp.getErrorCode() != ErrorCode.NONE) {
            return true;
        }
        long bytes = 0;
        for (int i = 0; i < resp.getPartitionsCount(); i++) {
            ReplicaFetchResponse.PartitionResponse pr = resp.getPartitions(i);
            if (pr.getErrorCode() != ErrorCode.NONE || pr.getHighWatermark() > req.getPartitions(i).getKnownHighWatermark()) {
                return true;
            }
            bytes += pr.getRecords().size();
        }
        return bytes >= Math.max(1, req.getMinBytes());
    }

    /** One pass: records each partition's progress and reads what follows it. */
    private ReplicaFetchResponse read(ReplicaFetchRequest req) {
        ReplicaFetchResponse.Builder b = ReplicaFetchResponse.newBuilder();
        long budget = req.getMaxBytes() == 0 ? Integer.MAX_VALUE : req.getMaxBytes();
        long total = 0;
        long nowMs = replicas.clock().millis();
        for (ReplicaFetchRequest.PartitionData pd : req.getPartitionsList()) {
            ReplicaFetchResponse.PartitionResponse.Builder pb = b.addPartitionsBuilder().setTopicId(pd.getTopicId())
                    .setPartition(pd.getPartition()).setHighWatermark(-1).setLogStartOffset(-1).setLogEndOffset(-1);
            Optional<Partition> found = replicas.partitionById(pd.getTopicId(), pd.getPartition());
            if (found.isEmpty()) {
                notFound(pd.getTopicId(), pd.getPartition(), pb);
                continue;
            }
            Partition p = found.get();
            int partitionMax = pd.getPartitionMaxBytes() == 0 ? 1 << 20 : pd.getPartitionMaxBytes();
            // After the budget is spent, later partitions still report progress but read ~nothing.
            int maxBytes = (int) Math.max(1, Math.min(partitionMax, budget - total));
            Partition.FollowerRead r;
            try {
                r = p.readForFollower(req.getReplicaId(), pd.getFetchOffset(), pd.getFlushedOffset(), pd.getLogStartOffset(),
                        pd.getCurrentLeaderEpoch(), total >= budget ? 1 : maxBytes, nowMs);
            } catch (OffsetOutOfRangeException e) {
                pb.setErrorCode(ErrorCode.OFFSET_OUT_OF_RANGE).setErrorMessage(e.getMessage())
                        .setLogStartOffset(e.logStartOffset()).setLogEndOffset(e.logEndOffset());
                continue;
            } catch (dev.basalt.log.CorruptLogException e) {
                pb.setErrorCode(ErrorCode.CORRUPT_STORED_DATA).setErrorMessage(e.getMessage());
                continue;
            } catch (dev.basalt.log.UnknownPartitionException e) {
                // closed under the read (taken offline or deleted): not a reason to fail every partition's answer
                pb.setErrorCode(ErrorCode.NOT_LEADER).setErrorMessage(e.getMessage() + " (closed under the read)");
                continue;
            } catch (LogStorageException e) {
                dev.basalt.broker.storage.StorageErrorLog.report(log, "Storage error serving a follower fetch of", p.topicPartition(),
                        p.log().isOffline(), e);
                pb.setErrorCode(ErrorCode.STORAGE_ERROR).setErrorMessage(e.getMessage());
                continue;
            }
            if (r.hwMoved()) {
                replicas.onHighWatermarkMoved(p.topicPartition());
            } else if (r.followerStartMoved()) {
                replicas.onFollowerLogStartMoved(p.topicPartition());
            }
            r.isrChange().ifPresent(c -> replicas.sendIsrChange(p, c));
            pb.setErrorCode(r.error()).setErrorMessage(r.message()).setHighWatermark(r.highWatermark())
                    .setLogStartOffset(r.logStartOffset()).setLogEndOffset(r.logEndOffset()).setAllReplicasOffset(r.allReplicasOffset())
                    .setTombstonesRemovedEnd(r.tombstonesRemovedEnd());
            if (r.error() == ErrorCode.NOT_LEADER || r.error() == ErrorCode.FENCED_LEADER_EPOCH) {
                Lookup l = replicas.leaderFor(p.topicPartition().topic(), p.topicPartition().partition());
                if (l.leaderHint() >= 0) {
                    pb.setLeaderIdHint(l.leaderHint()).setLeaderEpochHint(l.leaderEpochHint());
                }
            }
            if (r.slice() != null) {
                try (FetchSlice slice = r.slice()) {
                    if (!slice.isEmpty() && total < budget) {
                        pb.setRecords(ByteString.copyFrom(slice.records().duplicate()));
                        total += slice.sizeBytes();
                    }
                }
            }
        }
        return b.build();
    }

    private void notFound(String topicId, int partition, ReplicaFetchResponse.PartitionResponse.Builder pb) {
        TopicImage t = topicById(topicId);
        if (t == null) {
            pb.setErrorCode(ErrorCode.UNKNOWN_TOPIC_ID).setErrorMessage("no topic with id " + topicId);
        } else {
            Lookup l = replicas.leaderFor(t.name(), partition);
            pb.setErrorCode(l.ok() ? ErrorCode.REPLICA_NOT_AVAILABLE : l.error()).setErrorMessage(l.message());
            if (l.leaderHint() >= 0) {
                pb.setLeaderIdHint(l.leaderHint()).setLeaderEpochHint(l.leaderEpochHint());
            }
        }
    }

    private TopicImage topicById(String topicId) {
        try {
            return replicas.image().topics().topicsById().get(UUID.fromString(topicId));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** OffsetForLeaderEpoch: per partition, where the requested epoch ended in this leader's log. */
    public OffsetForLeaderEpochResponse handleOffsetForLeaderEpoch(OffsetForLeaderEpochRequest req) {
        if (replicas.isClosed()) {
            return OffsetForLeaderEpochResponse.newBuilder().setErrorCode(ErrorCode.BROKER_NOT_AVAILABLE)
                    .setErrorMessage("broker " + replicas.brokerId() + " is shutting down").build();
        }
        if (req.getPartitionsCount() > PARTITIONS_MAX) {
            return OffsetForLeaderEpochResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage("at most " + PARTITIONS_MAX + " partitions").build();
        }
        Set<String> seen = new HashSet<>();
        for (OffsetForLeaderEpochRequest.PartitionData pd : req.getPartitionsList()) {
            if (!seen.add(pd.getTopicId() + "/" + pd.getPartition())) {
                return OffsetForLeaderEpochResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                        .setErrorMessage("partition " + pd.getTopicId() + "/" + pd.getPartition() + " appears twice").build();
            }
        }
        OffsetForLeaderEpochResponse.Builder b = OffsetForLeaderEpochResponse.newBuilder();
        for (OffsetForLeaderEpochRequest.PartitionData pd : req.getPartitionsList()) {
            OffsetForLeaderEpochResponse.PartitionResponse.Builder pb = b.addPartitionsBuilder().setTopicId(pd.getTopicId())
                    .setPartition(pd.getPartition()).setLeaderEpoch(-1).setEndOffset(-1);
            Optional<Partition> p = replicas.partitionById(pd.getTopicId(), pd.getPartition());
            if (p.isEmpty()) {
                TopicImage t = topicById(pd.getTopicId());
                pb.setErrorCode(t == null ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.NOT_LEADER)
                        .setErrorMessage(t == null ? "no topic with id " + pd.getTopicId() : "no local replica");
                continue;
            }
            try {
                Partition.OffsetForEpoch r = p.get().endOffsetForFollower(req.getReplicaId(), pd.getCurrentLeaderEpoch(),
                        pd.getLeaderEpoch());
                pb.setErrorCode(r.error()).setErrorMessage(r.message()).setLeaderEpoch(r.endOffset().leaderEpoch())
                        .setEndOffset(r.endOffset().endOffset());
            } catch (LogStorageException e) {
                pb.setErrorCode(ErrorCode.STORAGE_ERROR).setErrorMessage(e.getMessage());
            }
        }
        return b.build();
    }

    /** A parked ReplicaFetch: ready when a partition has data past its fetch offset, a higher HW, or changed role. */
    private final class DelayedReplicaFetch extends DelayedOperation {
        private final ReplicaFetchRequest req;
        private final Consumer<ReplicaFetchResponse> respond;

        DelayedReplicaFetch(ReplicaFetchRequest req, Consumer<ReplicaFetchResponse> respond) {
            this.req = req;
            this.respond = respond;
        }

        @Override
        public boolean tryComplete() {
            // Cheap: volatile reads per partition, no log read (that happens once, in onComplete).
            for (ReplicaFetchRequest.PartitionData pd : req.getPartitionsList()) {
                Optional<Partition> p = replicas.partitionById(pd.getTopicId(), pd.getPartition());
                if (p.isEmpty() || !p.get().isLeader() || p.get().leaderEpoch() != pd.getCurrentLeaderEpoch()
                        || p.get().log().logEndOffset() > pd.getFetchOffset()
                        || p.get().highWatermark() > pd.getKnownHighWatermark()) {
                    return forceComplete();
                }
            }
            return false;
        }

        @Override
        protected void onComplete(boolean expired) {
            if (respond instanceof Responder r && r.abandoned()) {
                return; // nobody waits: no read, no progress recorded from this old request
            }
            respond.accept(read(req));
        }
    }
}
