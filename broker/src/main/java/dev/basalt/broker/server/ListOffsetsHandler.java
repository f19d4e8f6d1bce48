package dev.basalt.broker.server;

import dev.basalt.broker.replica.Lookup;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.log.LogStorageException;
import dev.basalt.log.PartitionLog;
import dev.basalt.log.TimestampOffset;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ListOffsetsRequest;
import dev.basalt.proto.v1.ListOffsetsResponse;
import java.util.Optional;

/**
 * Serves ListOffsets: earliest (-2) is the log start offset, latest (-1) the high watermark (what a
 * consumer can read up to), any other timestamp the first offset whose record timestamp is at
 * or after it (through the time index), or -1 when there is none below the high watermark.
 *
 * <p>Thread-safety: stateless; runs on request threads.
 */
public final class ListOffsetsHandler {
    public static final long EARLIEST = -2L;
    public static final long LATEST = -1L;

    private final ReplicaManager replicas;

    public ListOffsetsHandler(ReplicaManager replicas) {
        this.replicas = replicas;
    }

    public ListOffsetsResponse handle(ListOffsetsRequest req) {
        ListOffsetsResponse.Builder b = ListOffsetsResponse.newBuilder();
        for (ListOffsetsRequest.TopicData t : req.getTopicsList()) {
            ListOffsetsResponse.TopicResponse.Builder tb = b.addTopicsBuilder().setName(t.getName());
            for (ListOffsetsRequest.PartitionData p : t.getPartitionsList()) {
                ListOffsetsResponse.PartitionResponse.Builder pb = tb.addPartitionsBuilder().setPartition(p.getPartition())
                        .setOffset(-1).setTimestamp(-1);
                Lookup lookup = p.getPartition() < 0
                        ? Lookup.error(ErrorCode.INVALID_PARTITION, "partition " + p.getPartition() + " < 0")
                        : replicas.leaderFor(t.getName(), p.getPartition());
                if (!lookup.ok()) {
                    pb.setErrorCode(lookup.error()).setErrorMessage(lookup.message());
                    if (lookup.leaderHint() >= 0) {
                        pb.setLeaderIdHint(lookup.leaderHint());
                    }
                    continue;
                }
                // list_offsets.proto promises the same epoch fencing as Fetch.
                ErrorCode epochError = lookup.partition().checkClientLeaderEpoch(
                        p.hasCurrentLeaderEpoch() ? p.getCurrentLeaderEpoch() : -1);
                if (epochError != ErrorCode.NONE) {
                    pb.setErrorCode(epochError).setErrorMessage("current_leader_epoch " + p.getCurrentLeaderEpoch() + " vs the leader's "
                            + lookup.partition().leaderEpoch()).setLeaderIdHint(replicas.brokerId());
                    continue;
                }
                PartitionLog log = lookup.partition().log();
                pb.setLeaderEpoch(lookup.partition().state().leaderEpoch());
                try {
                    answer(log, p.getTimestamp(), pb);
                } catch (dev.basalt.log.CorruptLogException e) {
                    pb.setErrorCode(ErrorCode.CORRUPT_STORED_DATA).setErrorMessage(e.getMessage());
                } catch (dev.basalt.log.UnknownPartitionException e) {
                    // closed under the lookup (taken offline or deleted): as Fetch answers it
                    pb.setErrorCode(ErrorCode.NOT_LEADER).setErrorMessage(e.getMessage() + " (closed under the lookup)");
                } catch (LogStorageException e) {
                    pb.setErrorCode(ErrorCode.STORAGE_ERROR).setErrorMessage(e.getMessage());
                }
            }
        }
        return b.build();
    }

    private static void answer(PartitionLog log, long timestamp, ListOffsetsResponse.PartitionResponse.Builder pb) {
        long hw = log.highWatermark();
        if (timestamp == EARLIEST) {
            pb.setOffset(log.logStartOffset());
        } else if (timestamp == LATEST) {
            pb.setOffset(hw);
        } else if (timestamp < 0) {
            pb.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("timestamp " + timestamp
                    + " is neither -2 (earliest), -1 (latest) nor a time in ms");
        } else {
            Optional<TimestampOffset> found = log.offsetForTimestamp(timestamp);
            if (found.isPresent() && found.get().offset() < hw) {
                pb.setOffset(found.get().offset()).setTimestamp(found.get().timestamp());
            }
        }
    }
}
