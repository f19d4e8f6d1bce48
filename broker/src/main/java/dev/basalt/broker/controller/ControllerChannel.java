package dev.basalt.broker.controller;

import dev.basalt.proto.v1.AlterConfigsRequest;
import dev.basalt.proto.v1.AlterPartitionReassignmentsRequest;
import dev.basalt.proto.v1.AlterPartitionReassignmentsResponse;
import dev.basalt.proto.v1.DecommissionBrokerRequest;
import dev.basalt.proto.v1.DecommissionBrokerResponse;
import dev.basalt.proto.v1.ElectLeadersRequest;
import dev.basalt.proto.v1.ElectLeadersResponse;
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

    /** Starts, replaces or cancels partition reassignments (KIP-455). */
    CompletableFuture<AlterPartitionReassignmentsResponse> alterPartitionReassignments(
            AlterPartitionReassignmentsRequest request);

    /** Decommissions a broker (drains it); the answer reports how much it still holds. */
    CompletableFuture<DecommissionBrokerResponse> decommissionBroker(DecommissionBrokerRequest request);

    /** Puts a decommissioned broker back in service. */
    CompletableFuture<DecommissionBrokerResponse> recommissionBroker(DecommissionBrokerRequest request);

    /** Preferred-leader election for some or all partitions. */
    CompletableFuture<ElectLeadersResponse> electLeaders(ElectLeadersRequest request);
}
