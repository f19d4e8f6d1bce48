package dev.basalt.broker.replica.fetcher;

import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.OffsetForLeaderEpochRequest;
import dev.basalt.proto.v1.OffsetForLeaderEpochResponse;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;
import java.util.function.Function;

/**
 * A leader for fetcher tests: answers each fetch with {@code answer}'s partition response (after
 * 10 ms, so a fetcher loop does not spin), and OffsetForLeaderEpoch with epoch 0 ending at
 * {@code epochEndOffset}.
 */
final class ScriptedLeader implements ReplicaClient {
    private final Function<ReplicaFetchRequest, ReplicaFetchResponse.PartitionResponse.Builder> answer;
    private final long epochEndOffset;

    ScriptedLeader(Function<ReplicaFetchRequest, ReplicaFetchResponse.PartitionResponse.Builder> answer, long epochEndOffset) {
        this.answer = answer;
        this.epochEndOffset = epochEndOffset;
    }

    @Override
    public ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs) {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return ReplicaFetchResponse.newBuilder().setErrorCode(ErrorCode.NONE).addPartitions(answer.apply(request)).build();
    }

    @Override
    public OffsetForLeaderEpochResponse offsetForLeaderEpoch(OffsetForLeaderEpochRequest request, long timeoutMs) {
        return OffsetForLeaderEpochResponse.newBuilder().setErrorCode(ErrorCode.NONE)
                .addPartitions(OffsetForLeaderEpochResponse.PartitionResponse.newBuilder().setErrorCode(ErrorCode.NONE)
                        .setLeaderEpoch(0).setEndOffset(epochEndOffset))
                .build();
    }

    @Override
    public void close() {
    }
}
