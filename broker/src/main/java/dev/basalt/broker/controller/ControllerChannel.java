package dev.basalt.broker.controller;

import dev.basalt.proto.v1.AlterConfigsRequest;
import dev.basalt.proto.v1.AlterConfigsResponse;
import dev.basalt.proto.v1.CreatePartitionsRequest;
import dev.basalt.proto.v1.CreatePartitionsResponse;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.CreateTopicsResponse;
import dev.basalt.proto.v1.DeleteTopicsRequest;
import dev.basalt.proto.v1.DeleteTopicsResponse;
import java.util.concurrent.CompletableFuture;

/**
 * Where the broker sends metadata changes: the active controller. Each future completes only
 * after the change's records are committed in the metadata quorum and applied to this node's
 * image (so a client that sees success can immediately use the topic here), or with the
 * per-item errors the controller decided. Implementations are thread-safe.
 */
public interface ControllerChannel {
    CompletableFuture<CreateTopicsResponse> createTopics(CreateTopicsRequest request);

    CompletableFuture<DeleteTopicsResponse> deleteTopics(DeleteTopicsRequest request);

    CompletableFuture<CreatePartitionsResponse> createPartitions(CreatePartitionsRequest request);

    CompletableFuture<AlterConfigsResponse> alterConfigs(AlterConfigsRequest request);
}
