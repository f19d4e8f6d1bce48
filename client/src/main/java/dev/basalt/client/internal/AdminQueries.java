package dev.basalt.client.internal;

import dev.basalt.client.Admin;
import dev.basalt.proto.v1.ConfigEntry;
import dev.basalt.proto.v1.DescribeClusterRequest;
import dev.basalt.proto.v1.DescribeClusterResponse;
import dev.basalt.proto.v1.DescribeConfigsRequest;
import dev.basalt.proto.v1.DescribeConfigsResponse;
import dev.basalt.proto.v1.DescribeQuorumRequest;
import dev.basalt.proto.v1.DescribeQuorumResponse;
import dev.basalt.proto.v1.DescribeTopicsRequest;
import dev.basalt.proto.v1.DescribeTopicsResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ListTopicsRequest;
import dev.basalt.proto.v1.ListTopicsResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The read-only admin rpcs and their wire → domain conversions.
 *
 * <p>Thread-safety: as {@link AdminCalls}, whose plumbing it uses.
 */
final class AdminQueries {
    private final AdminCalls calls;

    AdminQueries(AdminCalls calls) {
        this.calls = calls;
    }

    List<Admin.TopicListing> listTopics(boolean includeInternal) {
        ListTopicsResponse r = calls.rpc(s -> s.listTopics(ListTopicsRequest.newBuilder().setIncludeInternal(includeInternal).build()),
                false, "list topics");
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "list topics");
        List<Admin.TopicListing> out = new ArrayList<>();
        r.getTopicsList().forEach(t -> out.add(new Admin.TopicListing(t.getName(), t.getTopicId(), t.getIsInternal(), t.getPartitionCount())));
        return out;
    }

    Map<String, Admin.TopicDescription> describeTopics(List<String> names) {
        DescribeTopicsResponse r = calls.rpc(s -> s.describeTopics(DescribeTopicsRequest.newBuilder().addAllNames(names).build()),
                false, "describe topics");
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "describe topics");
        Map<String, Admin.TopicDescription> out = new LinkedHashMap<>();
        for (DescribeTopicsResponse.TopicDescription t : r.getTopicsList()) {
            if (t.getErrorCode() != ErrorCode.NONE) {
                throw Errors.forCode(t.getErrorCode(), t.getErrorMessage(), "topic " + t.getName());
            }
            List<Admin.PartitionDescription> parts = new ArrayList<>();
            t.getPartitionsList().forEach(p -> parts.add(new Admin.PartitionDescription(p.getPartition(), p.getLeaderId(),
                    p.getLeaderEpoch(), List.copyOf(p.getReplicasList()), List.copyOf(p.getIsrList()),
                    List.copyOf(p.getOfflineReplicasList()))));
            Map<String, String> configs = new LinkedHashMap<>();
            // the contract is "overrides only"; keep entries whose source says so (or is not given)
            t.getConfigsList().stream()
                    .filter(c -> c.getSource() == ConfigEntry.Source.TOPIC_CONFIG || c.getSource() == ConfigEntry.Source.SOURCE_UNSPECIFIED)
                    .forEach(c -> configs.put(c.getName(), c.hasValue() ? c.getValue() : null));
            out.put(t.getName(), new Admin.TopicDescription(t.getName(), t.getTopicId(), t.getIsInternal(), List.copyOf(parts),
                    configs));
        }
        return out;
    }

    Map<Admin.ConfigResource, List<Admin.ConfigEntry>> describeConfigs(List<Admin.ConfigResource> resources, List<String> names) {
        DescribeConfigsRequest.Builder req = DescribeConfigsRequest.newBuilder().setIncludeDocumentation(true);
        resources.forEach(res -> req.addResources(DescribeConfigsRequest.Query.newBuilder().setResource(AdminCalls.toProto(res))
                .addAllNames(names)));
        DescribeConfigsResponse r = calls.rpc(s -> s.describeConfigs(req.build()), false, "describe configs");
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "describe configs");
        Map<Admin.ConfigResource, List<Admin.ConfigEntry>> out = new LinkedHashMap<>();
        for (DescribeConfigsResponse.Result res : r.getResourcesList()) {
            Admin.ConfigResource key = new Admin.ConfigResource(res.getResource().getType() == dev.basalt.proto.v1.ConfigResource.Type.TOPIC
                    ? Admin.ConfigResource.Type.TOPIC : Admin.ConfigResource.Type.BROKER, res.getResource().getName());
            if (res.getErrorCode() != ErrorCode.NONE) {
                throw Errors.forCode(res.getErrorCode(), res.getErrorMessage(), key.type() + " " + key.name());
            }
            List<Admin.ConfigEntry> entries = new ArrayList<>();
            res.getEntriesList().forEach(e -> entries.add(new Admin.ConfigEntry(e.getName(), e.hasValue() ? e.getValue() : null,
                    e.getSource().name(), e.getReadOnly(), e.getSensitive(), e.getDocumentation())));
            out.put(key, List.copyOf(entries));
        }
        return out;
    }

    Admin.ClusterDescription describeCluster(boolean includeFenced) {
        DescribeClusterResponse r = calls.rpc(s -> s.describeCluster(
                DescribeClusterRequest.newBuilder().setIncludeFencedBrokers(includeFenced).build()), false, "describe cluster");
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "describe cluster");
        List<Admin.BrokerDescription> brokers = new ArrayList<>();
        r.getBrokersList().forEach(b -> brokers.add(new Admin.BrokerDescription(b.getNode().getId(), b.getNode().getHost(),
                b.getNode().getPort(), b.getNode().getRack(), b.getFenced(), b.getShuttingDown(), List.copyOf(b.getRolesList()))));
        return new Admin.ClusterDescription(r.getClusterId(), r.getControllerId(), List.copyOf(brokers));
    }

    Admin.QuorumDescription describeQuorum() {
        DescribeQuorumResponse r = calls.rpc(s -> s.describeQuorum(DescribeQuorumRequest.getDefaultInstance()), false,
                "describe quorum");
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "describe quorum");
        return new Admin.QuorumDescription(r.getLeaderId(), r.getTerm(), r.getHighWatermark(), replicas(r.getVotersList()),
                replicas(r.getObserversList()));
    }

    private static List<Admin.QuorumReplica> replicas(List<DescribeQuorumResponse.ReplicaState> states) {
        List<Admin.QuorumReplica> out = new ArrayList<>();
        states.forEach(s -> out.add(new Admin.QuorumReplica(s.getReplicaId(), s.getLogEndOffset(), s.getLag(),
                s.getLastFetchTimestampMs(), s.getLastCaughtUpTimestampMs())));
        return List.copyOf(out);
    }
}
