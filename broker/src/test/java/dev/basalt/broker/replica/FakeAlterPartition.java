package dev.basalt.broker.replica;

import dev.basalt.metadata.controller.AlterPartitionRequest;
import dev.basalt.proto.v1.ErrorCode;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/** A test {@link AlterPartitionSender}: records requests, answers with a fixed refusal. Thread-safe. */
final class FakeAlterPartition implements AlterPartitionSender {
    final List<AlterPartitionRequest> requests = new CopyOnWriteArrayList<>();

    static FakeAlterPartition refusing() {
        return new FakeAlterPartition();
    }

    @Override
    public CompletableFuture<Result> alterPartition(AlterPartitionRequest request) {
        requests.add(request);
        return CompletableFuture.completedFuture(new Result(ErrorCode.NOT_CONTROLLER, "test: no controller", null));
    }
}
