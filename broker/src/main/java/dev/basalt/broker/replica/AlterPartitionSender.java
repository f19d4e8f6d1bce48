package dev.basalt.broker.replica;

import dev.basalt.metadata.controller.AlterPartitionRequest;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.proto.v1.ErrorCode;
import java.util.concurrent.CompletableFuture;

/**
 * Sends a partition leader's ISR change to the active controller (the Controller gRPC service's
 * AlterPartition, wherever the controller runs). Implemented by the broker's lifecycle, which knows
 * the controller and this broker's incarnation.
 *
 * <p>The future completes with the outcome and never exceptionally: a transport failure or a
 * controller change is {@code ErrorCode.NOT_CONTROLLER} / {@code REQUEST_TIMED_OUT}, after which
 * the leader retries from the partition state the metadata then shows.
 */
public interface AlterPartitionSender {

    /** The outcome: NONE with the registration the controller committed, or an error code. */
    record Result(ErrorCode error, String message, PartitionRegistration registration) {
    }

    CompletableFuture<Result> alterPartition(AlterPartitionRequest request);
}
