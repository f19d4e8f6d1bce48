package dev.basalt.client.internal;

import dev.basalt.client.admin.BrokerDescription;
import dev.basalt.client.admin.ClusterDescription;
import dev.basalt.client.admin.ConfigEntry;
import dev.basalt.client.admin.ConfigResource;
import dev.basalt.client.admin.PartitionDescription;
import dev.basalt.client.admin.QuorumDescription;
import dev.basalt.client.admin.QuorumReplica;
import dev.basalt.client.admin.TopicDescription;
import dev.basalt.client.admin.TopicListing;
import dev.basalt.proto.v1.AdminServiceGrpc;
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

    List<TopicListing> listTopics(boolean includeInternal) {
        ListTopicsResponse r = calls.hedgedRead(AdminServiceGrpc.getListTopicsMethod(),
                ListTopicsRequest.newBuilder().setIncludeInternal(includeInternal).build(), "list topics");
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "list topics");
        List<TopicListing> out = new ArrayList<>();
        r.getTopicsList().forEach(t -> out.add(new TopicListing(t.getName(), t.getTopicId(), t.getIsInternal(), t.getPartitionCount())));
        return out;
    }

    Map<String, TopicDescription> describeTopics(List<String> names) {
        DescribeTopicsResponse r = calls.hedgedRead(AdminServiceGrpc.getDescribeTopicsMethod(),
                DescribeTopicsRequest.newBuilder().addAllNames(names).build(), "describe topics");
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "describe topics");
        Map<String, TopicDescription> out = new LinkedHashMap<>();
        for (DescribeTopicsResponse.TopicDescription t : r.getTopicsList()) {
            if (t.getErrorCode() != ErrorCode.NONE) {
                throw Errors.forCode(t.getErrorCode(), t.getErrorMessage(), "topic " + t.getName());
            }
            Map<String, String> configs = new LinkedHashMap<>();
            // the contract is "overrides only"; keep entries whose source says so (or is not given)
            t.getConfigsList().stream()
                    .filter(c -> c.getSource() == dev.basalt.proto.v1.ConfigEntry.Source.TOPIC_CONFIG
                            || c.getSource() == dev.basalt.proto.v1.ConfigEntry.Source.SOURCE_UNSPECIFIED)
                    .forEach(c -> configs.put(c.getName(), c.hasValue() ? c.getValue() : null));
            int topicMinIsr = minInsyncReplicas(configs);
            List<PartitionDescription> parts = new ArrayList<>();
            // a broker that does not report min_insync_replicas per partition leaves 0: then the
            // topic's override, if any, is the best this client knows
            t.getPartitionsList().forEach(p -> parts.add(new PartitionDescription(p.getPartition(), p.getLeaderId(),
                    p.getLeaderEpoch(), p.getReplicasList(), p.getIsrList(), p.getOfflineReplicasList(),
                    p.getEligibleLeaderReplicasList(), p.getPartitionEpoch(),
                    p.getMinInsyncReplicas() > 0 ? p.getMinInsyncReplicas() : topicMinIsr, p.getAddingReplicasList(),
                    p.getRemovingReplicasList())));
            out.put(t.getName(), new TopicDescription(t.getName(), t.getTopicId(), t.getIsInternal(), List.copyOf(parts),
                    configs));
        }
        return out;
    }

    private static int minInsyncReplicas(Map<String, String> configs) {
        String v = configs.get("min.insync.replicas");
        try {
            return v == null ? 0 : Math.max(0, Integer.parseInt(v.trim()));
        } catch (NumberFormatException e) {
            return 0; // not ours to validate; the broker refused bad values when they were set
        }
    }

    /**
     * Topics and the cluster-wide broker resource ("") are described by any broker; a broker id's
     * configs (its own file's keys) only by that broker, so those go to it (as Kafka's admin does).
     */
    Map<ConfigResource, List<ConfigEntry>> describeConfigs(List<ConfigResource> resources, List<String> names) {
        List<ConfigResource> anyBroker = new ArrayList<>();
        Map<Integer, List<ConfigResource>> byBroker = new java.util.TreeMap<>();
        for (ConfigResource res : resources) {
            if (res.type() == ConfigResource.Type.BROKER && res.name().matches("[0-9]{1,9}")) {
                byBroker.computeIfAbsent(Integer.parseInt(res.name()), k -> new ArrayList<>()).add(res);
            } else {
                anyBroker.add(res);
            }
        }
        Map<ConfigResource, List<ConfigEntry>> answers = new java.util.HashMap<>();
        if (!anyBroker.isEmpty()) {
            answers.putAll(describeConfigsAt(null, anyBroker, names));
        }
        if (!byBroker.isEmpty()) {
            ClusterDescription cluster = describeCluster(true);
            byBroker.forEach((id, res) -> {
                // an id no broker registered is a definite answer (retrying cannot make it exist)
                BrokerDescription b = cluster.brokers().stream().filter(x -> x.id() == id).findFirst()
                        .orElseThrow(() -> new dev.basalt.client.InvalidRequestException("describe configs of broker " + id
                                + ": no broker " + id + " is registered (brokers: " + cluster.brokers().stream()
                                .map(x -> Integer.toString(x.id())).collect(java.util.stream.Collectors.joining(", ")) + ")"));
                answers.putAll(describeConfigsAt(new HostPort(b.host(), b.port()), res, names));
            });
        }
        Map<ConfigResource, List<ConfigEntry>> out = new LinkedHashMap<>();
        resources.forEach(res -> out.put(res, answers.get(res)));
        return out;
    }

    /** DescribeConfigs at {@code address}, or at any broker when null. */
    private Map<ConfigResource, List<ConfigEntry>> describeConfigsAt(HostPort address, List<ConfigResource> resources,
                                                                     List<String> names) {
        DescribeConfigsRequest.Builder req = DescribeConfigsRequest.newBuilder().setIncludeDocumentation(true);
        resources.forEach(res -> req.addResources(DescribeConfigsRequest.Query.newBuilder().setResource(AdminCalls.toProto(res))
                .addAllNames(names)));
        DescribeConfigsResponse r = address == null ? calls.hedgedRead(AdminServiceGrpc.getDescribeConfigsMethod(), req.build(), "describe configs")
                : calls.rpcAt(address, s -> s.describeConfigs(req.build()), "describe configs at " + address);
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "describe configs");
        Map<ConfigResource, List<ConfigEntry>> out = new LinkedHashMap<>();
        for (DescribeConfigsResponse.Result res : r.getResourcesList()) {
            ConfigResource key = new ConfigResource(res.getResource().getType() == dev.basalt.proto.v1.ConfigResource.Type.TOPIC
                    ? ConfigResource.Type.TOPIC : ConfigResource.Type.BROKER, res.getResource().getName());
            if (res.getErrorCode() != ErrorCode.NONE) {
                throw Errors.forCode(res.getErrorCode(), res.getErrorMessage(), key.type() + " " + key.name());
            }
            List<ConfigEntry> entries = new ArrayList<>();
            res.getEntriesList().forEach(e -> entries.add(new ConfigEntry(e.getName(), e.hasValue() ? e.getValue() : null,
                    e.getSource().name(), e.getReadOnly(), e.getSensitive(), e.getDocumentation())));
            out.put(key, List.copyOf(entries));
        }
        return out;
    }

    ClusterDescription describeCluster(boolean includeFenced) {
        // an answer without an active controller may be an isolated broker's: another one may know better
        DescribeClusterResponse r = calls.hedgedReadPreferring(AdminServiceGrpc.getDescribeClusterMethod(),
                DescribeClusterRequest.newBuilder().setIncludeFencedBrokers(includeFenced).build(), "describe cluster",
                answer -> answer.getErrorCode() == dev.basalt.proto.v1.ErrorCode.NONE && answer.getControllerId() >= 0);
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "describe cluster");
        List<BrokerDescription> brokers = new ArrayList<>();
        r.getBrokersList().forEach(b -> brokers.add(new BrokerDescription(b.getNode().getId(), b.getNode().getHost(),
                b.getNode().getPort(), b.getNode().getRack(), b.getFenced(), b.getShuttingDown(), List.copyOf(b.getRolesList()),
                b.getOfflineReplicasList().stream().map(o -> new BrokerDescription.OfflineReplica(o.getTopic(), o.getPartition(),
                        o.getReason())).toList(), b.getDecommissioned())));
        return new ClusterDescription(r.getClusterId(), r.getControllerId(), List.copyOf(brokers));
    }

    QuorumDescription describeQuorum() {
        DescribeQuorumResponse r = calls.hedgedRead(AdminServiceGrpc.getDescribeQuorumMethod(), DescribeQuorumRequest.getDefaultInstance(),
                "describe quorum");
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "describe quorum");
        return new QuorumDescription(r.getLeaderId(), r.getTerm(), r.getHighWatermark(), replicas(r.getVotersList()),
                replicas(r.getObserversList()));
    }

    private static List<QuorumReplica> replicas(List<DescribeQuorumResponse.ReplicaState> states) {
        List<QuorumReplica> out = new ArrayList<>();
        states.forEach(s -> out.add(new QuorumReplica(s.getReplicaId(), s.getLogEndOffset(), s.getLag(),
                s.getLastFetchTimestampMs(), s.getLastCaughtUpTimestampMs())));
        return List.copyOf(out);
    }
}
