package dev.basalt.client.testkit;

import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.AlterConfigsRequest;
import dev.basalt.proto.v1.AlterConfigsResponse;
import dev.basalt.proto.v1.ConfigEntry;
import dev.basalt.proto.v1.ConfigResource;
import dev.basalt.proto.v1.CreatePartitionsRequest;
import dev.basalt.proto.v1.CreatePartitionsResponse;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.CreateTopicsResponse;
import dev.basalt.proto.v1.DeleteRecordsRequest;
import dev.basalt.proto.v1.DeleteRecordsResponse;
import dev.basalt.proto.v1.DeleteTopicsRequest;
import dev.basalt.proto.v1.DeleteTopicsResponse;
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
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The admin service of a {@link FakeBroker}: topics, partitions, topic configs (validated
 * against the keys in {@link FakeCluster#TOPIC_CONFIG_DEFAULTS}), cluster and a synthetic
 * one-voter quorum (broker 1 is the controller); DeleteRecords at each partition's leader.
 *
 * <p>Thread-safety: thread-safe; every handler synchronizes on the cluster.
 */
final class FakeAdminService extends AdminServiceGrpc.AdminServiceImplBase {
    private final FakeCluster cluster;
    private final FakeBroker broker;

    FakeAdminService(FakeCluster cluster, FakeBroker broker) {
        this.cluster = cluster;
        this.broker = broker;
    }

    private static <T> void reply(StreamObserver<T> out, T value) {
        out.onNext(value);
        out.onCompleted();
    }

    @Override
    public void createTopics(CreateTopicsRequest req, StreamObserver<CreateTopicsResponse> out) {
        CreateTopicsResponse.Builder resp = CreateTopicsResponse.newBuilder();
        broker.adminRequests.incrementAndGet();
        cluster.lastCreateTopicsTimeoutMs = req.getTimeoutMs();
        try {
            cluster.awaitCreateTopicsReleased();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        synchronized (cluster) {
            for (CreateTopicsRequest.NewTopic nt : req.getTopicsList()) {
                resp.addTopics(broker.notController()
                        ? CreateTopicsResponse.Result.newBuilder().setName(nt.getName()).setErrorCode(ErrorCode.NOT_CONTROLLER)
                                .setErrorMessage("fake broker " + broker.id() + " cannot reach the controller").build()
                        : create(nt, req.getValidateOnly()));
            }
        }
        reply(out, resp.build());
    }

    private CreateTopicsResponse.Result create(CreateTopicsRequest.NewTopic nt, boolean validateOnly) {
        FakeCluster.PlannedFault fault = cluster.adminFaults.poll();
        if (fault != null && fault.kind() == FakeCluster.Fault.ERROR_BEFORE_APPEND) {
            return CreateTopicsResponse.Result.newBuilder().setName(nt.getName()).setErrorCode(fault.code())
                    .setErrorMessage("fake: injected").build();
        }
        CreateTopicsResponse.Result r = doCreate(nt, validateOnly);
        if (fault != null && r.getErrorCode() == ErrorCode.NONE) {
            return r.toBuilder().setErrorCode(fault.code()).setErrorMessage("fake: created, then " + fault.code()).build();
        }
        return r;
    }

    private CreateTopicsResponse.Result doCreate(CreateTopicsRequest.NewTopic nt, boolean validateOnly) {
        int partitions = nt.getPartitions() <= 0 ? 1 : nt.getPartitions();
        int rf = nt.getReplicationFactor() <= 0 ? 1 : nt.getReplicationFactor();
        CreateTopicsResponse.Result.Builder r = CreateTopicsResponse.Result.newBuilder().setName(nt.getName());
        ErrorCode err = cluster.validateNewTopic(nt.getName(), partitions, rf);
        if (err != ErrorCode.NONE) {
            return r.setErrorCode(err).setErrorMessage("fake: " + err).build();
        }
        for (Map.Entry<String, String> c : nt.getConfigsMap().entrySet()) {
            String problem = FakeCluster.validateConfig(c.getKey(), c.getValue());
            if (problem != null) {
                return r.setErrorCode(ErrorCode.INVALID_CONFIG).setErrorMessage(problem).build();
            }
        }
        r.setPartitions(partitions).setReplicationFactor(rf);
        if (validateOnly) {
            return r.build();
        }
        FakeCluster.Topic t = new FakeCluster.Topic(nt.getName(), UUID.randomUUID().toString());
        for (int p = 0; p < partitions; p++) {
            t.partitions.add(cluster.newPartition(p, rf));
        }
        t.configs.putAll(nt.getConfigsMap());
        cluster.topics.put(t.name, t);
        cluster.metadataChanges++;
        return r.setTopicId(t.id).build();
    }

    @Override
    public void deleteTopics(DeleteTopicsRequest req, StreamObserver<DeleteTopicsResponse> out) {
        DeleteTopicsResponse.Builder resp = DeleteTopicsResponse.newBuilder();
        broker.adminRequests.incrementAndGet();
        synchronized (cluster) {
            for (String name : req.getNamesList()) {
                DeleteTopicsResponse.Result.Builder r = DeleteTopicsResponse.Result.newBuilder().setName(name);
                FakeCluster.PlannedFault fault = broker.notController() ? null : cluster.adminFaults.poll();
                if (broker.notController()) {
                    r.setErrorCode(ErrorCode.NOT_CONTROLLER);
                } else if (fault != null && fault.kind() == FakeCluster.Fault.ERROR_BEFORE_APPEND) {
                    r.setErrorCode(fault.code()).setErrorMessage("fake: injected");
                } else if (cluster.hasTopic(name)) {
                    cluster.deleteTopic(name);
                    if (fault != null) {
                        r.setErrorCode(fault.code()).setErrorMessage("fake: deleted, then " + fault.code());
                    }
                } else {
                    r.setErrorCode(ErrorCode.UNKNOWN_TOPIC);
                }
                resp.addTopics(r);
            }
        }
        reply(out, resp.build());
    }

    @Override
    public void listTopics(ListTopicsRequest req, StreamObserver<ListTopicsResponse> out) {
        ListTopicsResponse.Builder resp = ListTopicsResponse.newBuilder();
        broker.adminRequests.incrementAndGet();
        if (!cluster.awaitAdminReadsReleased(broker.id())) {
            return;
        }
        synchronized (cluster) {
            new TreeMap<>(cluster.topics).values().forEach(t -> resp.addTopics(ListTopicsResponse.Listing.newBuilder()
                    .setName(t.name).setTopicId(t.id).setPartitionCount(t.partitions.size())));
        }
        reply(out, resp.build());
    }

    @Override
    public void describeTopics(DescribeTopicsRequest req, StreamObserver<DescribeTopicsResponse> out) {
        DescribeTopicsResponse.Builder resp = DescribeTopicsResponse.newBuilder();
        broker.adminRequests.incrementAndGet();
        if (!cluster.awaitAdminReadsReleased(broker.id())) {
            return;
        }
        synchronized (cluster) {
            List<String> names = req.getNamesCount() == 0 ? new ArrayList<>(new TreeMap<>(cluster.topics).keySet()) : req.getNamesList();
            for (String name : names) {
                resp.addTopics(describe(name));
            }
        }
        reply(out, resp.build());
    }

    private DescribeTopicsResponse.TopicDescription describe(String name) {
        DescribeTopicsResponse.TopicDescription.Builder d = DescribeTopicsResponse.TopicDescription.newBuilder().setName(name);
        FakeCluster.Topic t = cluster.topics.get(name);
        if (t == null) {
            return d.setErrorCode(ErrorCode.UNKNOWN_TOPIC).build();
        }
        d.setTopicId(t.id);
        int minIsr = Integer.parseInt(t.configs.getOrDefault("min.insync.replicas",
                FakeCluster.TOPIC_CONFIG_DEFAULTS.get("min.insync.replicas")));
        for (int p = 0; p < t.partitions.size(); p++) {
            FakeCluster.PartitionLog log = t.partitions.get(p);
            d.addPartitions(DescribeTopicsResponse.PartitionDescription.newBuilder().setPartition(p).setLeaderId(log.leaderId)
                    .setLeaderEpoch(log.leaderEpoch).addAllReplicas(log.replicas).addAllIsr(log.isr)
                    .addAllOfflineReplicas(cluster.offline(name, p, log)).addAllEligibleLeaderReplicas(log.elr)
                    .addAllAddingReplicas(log.addingReplicas).addAllRemovingReplicas(log.removingReplicas)
                    .setPartitionEpoch(log.partitionEpoch).setMinInsyncReplicas(minIsr));
        }
        FakeCluster.TOPIC_CONFIG_DEFAULTS.forEach((k, def) -> d.addConfigs(ConfigEntry.newBuilder().setName(k)
                .setValue(t.configs.getOrDefault(k, def))
                .setSource(t.configs.containsKey(k) ? ConfigEntry.Source.TOPIC_CONFIG : ConfigEntry.Source.DEFAULT_CONFIG)));
        return d.build();
    }

    @Override
    public void createPartitions(CreatePartitionsRequest req, StreamObserver<CreatePartitionsResponse> out) {
        CreatePartitionsResponse.Builder resp = CreatePartitionsResponse.newBuilder();
        broker.adminRequests.incrementAndGet();
        synchronized (cluster) {
            for (CreatePartitionsRequest.Increase inc : req.getTopicsList()) {
                CreatePartitionsResponse.Result.Builder r = CreatePartitionsResponse.Result.newBuilder().setName(inc.getName());
                FakeCluster.Topic t = cluster.topics.get(inc.getName());
                if (broker.notController()) {
                    r.setErrorCode(ErrorCode.NOT_CONTROLLER);
                } else if (t == null) {
                    r.setErrorCode(ErrorCode.UNKNOWN_TOPIC);
                } else if (inc.getTotalCount() <= t.partitions.size()) {
                    r.setErrorCode(ErrorCode.INVALID_PARTITIONS).setErrorMessage("topic has " + t.partitions.size() + " partitions");
                } else if (!req.getValidateOnly()) {
                    for (int p = t.partitions.size(); p < inc.getTotalCount(); p++) {
                        t.partitions.add(cluster.newPartition(p, t.partitions.get(0).replicas.size()));
                    }
                    cluster.metadataChanges++;
                }
                resp.addTopics(r);
            }
        }
        reply(out, resp.build());
    }

    @Override
    public void describeConfigs(DescribeConfigsRequest req, StreamObserver<DescribeConfigsResponse> out) {
        DescribeConfigsResponse.Builder resp = DescribeConfigsResponse.newBuilder();
        synchronized (cluster) {
            for (DescribeConfigsRequest.Query q : req.getResourcesList()) {
                DescribeConfigsResponse.Result.Builder r = DescribeConfigsResponse.Result.newBuilder().setResource(q.getResource());
                FakeCluster.Topic t = cluster.topics.get(q.getResource().getName());
                if (q.getResource().getType() == ConfigResource.Type.BROKER) {
                    // as a real broker: its own id (or "") only, answered with its id
                    String name = q.getResource().getName();
                    if (!name.isEmpty() && !name.equals(Integer.toString(broker.id()))) {
                        r.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("this is broker " + broker.id());
                    } else {
                        r.addEntries(ConfigEntry.newBuilder().setName("node.id").setValue(Integer.toString(broker.id()))
                                .setSource(ConfigEntry.Source.STATIC_BROKER_CONFIG));
                    }
                } else if (q.getResource().getType() != ConfigResource.Type.TOPIC) {
                    r.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("fake broker describes topic configs only");
                } else if (t == null) {
                    r.setErrorCode(ErrorCode.UNKNOWN_TOPIC);
                } else {
                    FakeCluster.TOPIC_CONFIG_DEFAULTS.forEach((k, def) -> {
                        if (q.getNamesCount() == 0 || q.getNamesList().contains(k)) {
                            boolean set = t.configs.containsKey(k);
                            String brokers = cluster.brokerDefaults.get(k);
                            r.addEntries(ConfigEntry.newBuilder().setName(k).setValue(set ? t.configs.get(k) : brokers != null ? brokers : def)
                                    .setSource(set ? ConfigEntry.Source.TOPIC_CONFIG : brokers != null
                                            ? ConfigEntry.Source.STATIC_BROKER_CONFIG : ConfigEntry.Source.DEFAULT_CONFIG));
                        }
                    });
                }
                resp.addResources(r);
            }
        }
        reply(out, resp.build());
    }

    @Override
    public void alterConfigs(AlterConfigsRequest req, StreamObserver<AlterConfigsResponse> out) {
        AlterConfigsResponse.Builder resp = AlterConfigsResponse.newBuilder();
        broker.adminRequests.incrementAndGet();
        synchronized (cluster) {
            for (AlterConfigsRequest.Change c : req.getResourcesList()) {
                resp.addResources(broker.notController()
                        ? AlterConfigsResponse.Result.newBuilder().setResource(c.getResource()).setErrorCode(ErrorCode.NOT_CONTROLLER).build()
                        : alter(c, req.getValidateOnly()));
            }
        }
        reply(out, resp.build());
    }

    private AlterConfigsResponse.Result alter(AlterConfigsRequest.Change c, boolean validateOnly) {
        AlterConfigsResponse.Result.Builder r = AlterConfigsResponse.Result.newBuilder().setResource(c.getResource());
        FakeCluster.Topic t = cluster.topics.get(c.getResource().getName());
        if (t == null) {
            return r.setErrorCode(ErrorCode.UNKNOWN_TOPIC).build();
        }
        for (AlterConfigsRequest.Operation op : c.getOperationsList()) {
            String problem = op.getOp() == AlterConfigsRequest.Operation.Op.SET ? FakeCluster.validateConfig(op.getName(), op.getValue())
                    : FakeCluster.TOPIC_CONFIG_DEFAULTS.containsKey(op.getName()) ? null : "unknown config " + op.getName();
            if (problem != null) {
                return r.setErrorCode(ErrorCode.INVALID_CONFIG).setErrorMessage(problem).build();
            }
        }
        if (!validateOnly) {
            for (AlterConfigsRequest.Operation op : c.getOperationsList()) {
                if (op.getOp() == AlterConfigsRequest.Operation.Op.SET) {
                    t.configs.put(op.getName(), op.getValue());
                } else {
                    t.configs.remove(op.getName());
                }
            }
            cluster.metadataChanges++;
        }
        return r.build();
    }

    @Override
    public void describeCluster(DescribeClusterRequest req, StreamObserver<DescribeClusterResponse> out) {
        broker.adminRequests.incrementAndGet();
        if (!cluster.awaitAdminReadsReleased(broker.id())) {
            return;
        }
        DescribeClusterResponse.Builder resp = DescribeClusterResponse.newBuilder().setClusterId(cluster.clusterId());
        synchronized (cluster) {
            resp.setControllerId(broker.isolated() ? -1 : cluster.controllerId());
            cluster.brokers().stream().filter(b -> req.getIncludeFencedBrokers() || !cluster.fenced.contains(b.id()))
                    .forEach(b -> resp.addBrokers(DescribeClusterResponse.Broker.newBuilder().setNode(b.node())
                            .setFenced(cluster.fenced.contains(b.id())).addRoles("broker")
                            .addAllRoles(b.id() == 1 ? List.of("controller") : List.of())
                            .addAllOfflineReplicas(offlineReplicas(b.id()))));
        }
        reply(out, resp.build());
    }

    private List<DescribeClusterResponse.OfflineReplica> offlineReplicas(int brokerId) {
        List<DescribeClusterResponse.OfflineReplica> out = new java.util.ArrayList<>();
        cluster.offlineReplicas.getOrDefault(brokerId, java.util.Map.of()).forEach((tp, reason) -> {
            int dash = tp.lastIndexOf('-');
            out.add(DescribeClusterResponse.OfflineReplica.newBuilder().setTopic(tp.substring(0, dash))
                    .setPartition(Integer.parseInt(tp.substring(dash + 1))).setReason(reason).build());
        });
        return out;
    }

    @Override
    public void describeQuorum(DescribeQuorumRequest req, StreamObserver<DescribeQuorumResponse> out) {
        broker.adminRequests.incrementAndGet();
        if (broker.notController()) {
            reply(out, DescribeQuorumResponse.newBuilder().setErrorCode(ErrorCode.NOT_CONTROLLER).build());
            return;
        }
        long leo;
        synchronized (cluster) {
            leo = cluster.metadataChanges;
        }
        long now = System.currentTimeMillis();
        DescribeQuorumResponse.Builder resp = DescribeQuorumResponse.newBuilder().setLeaderId(1).setTerm(1).setHighWatermark(leo)
                .addVoters(DescribeQuorumResponse.ReplicaState.newBuilder().setReplicaId(1).setLogEndOffset(leo).setLag(0)
                        .setLastFetchTimestampMs(now).setLastCaughtUpTimestampMs(now));
        cluster.brokers().stream().filter(b -> b.id() != 1).forEach(b -> resp.addObservers(
                DescribeQuorumResponse.ReplicaState.newBuilder().setReplicaId(b.id()).setLogEndOffset(leo).setLag(0)
                        .setLastFetchTimestampMs(now).setLastCaughtUpTimestampMs(now)));
        reply(out, resp.build());
    }

    /**
     * As admin.proto's DeleteRecords: each partition at its leader only (NOT_LEADER with the leader
     * as hint elsewhere); -1 is the high watermark (the fake's is the log end); an offset above it
     * is OFFSET_OUT_OF_RANGE; an offset below -1, a partition named twice or a topic whose
     * cleanup.policy lacks delete is INVALID_REQUEST. The log start moves at once (the fake has no
     * followers to wait for) and the answer is the new log start; faults from
     * {@link FakeCluster#injectDeleteRecordsError}.
     */
    @Override
    public void deleteRecords(DeleteRecordsRequest req, StreamObserver<DeleteRecordsResponse> out) {
        DeleteRecordsResponse.Builder resp = DeleteRecordsResponse.newBuilder();
        synchronized (cluster) {
            cluster.lastDeleteRecordsTimeoutMs = req.getTimeoutMs();
            if (req.getPartitionsCount() > 10_000) {
                reply(out, resp.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("more than 10000 partitions").build());
                return;
            }
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (DeleteRecordsRequest.Partition p : req.getPartitionsList()) {
                cluster.deleteRecordsRequests.add(broker.id() + ":" + p.getTopic() + "-" + p.getPartition() + "@" + p.getOffset());
                resp.addPartitions(deleteRecords(p, seen));
            }
        }
        reply(out, resp.build());
    }

    private DeleteRecordsResponse.Partition deleteRecords(DeleteRecordsRequest.Partition p, java.util.Set<String> seen) {
        DeleteRecordsResponse.Partition.Builder r = DeleteRecordsResponse.Partition.newBuilder().setTopic(p.getTopic())
                .setPartition(p.getPartition()).setLowWatermark(-1);
        FakeCluster.Topic t = cluster.topics.get(p.getTopic());
        if (!seen.add(p.getTopic() + "-" + p.getPartition())) {
            return r.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("partition named twice").build();
        }
        if (t == null) {
            return r.setErrorCode(ErrorCode.UNKNOWN_TOPIC).build();
        }
        if (p.getPartition() < 0 || p.getPartition() >= t.partitions.size()) {
            return r.setErrorCode(ErrorCode.INVALID_PARTITION).build();
        }
        FakeCluster.PartitionLog log = t.partitions.get(p.getPartition());
        if (log.leaderId != broker.id()) {
            if (log.leaderId >= 0) {
                r.setLeaderIdHint(log.leaderId);
            }
            return r.setErrorCode(ErrorCode.NOT_LEADER).setErrorMessage("fake broker " + broker.id() + " does not lead it").build();
        }
        if (p.getOffset() < -1) {
            return r.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("offset " + p.getOffset() + " is below -1").build();
        }
        String policy = t.configs.getOrDefault("cleanup.policy", FakeCluster.TOPIC_CONFIG_DEFAULTS.get("cleanup.policy"));
        if (!policy.contains("delete")) {
            return r.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("cleanup.policy is " + policy
                    + ": compaction decides what the topic keeps").build();
        }
        FakeCluster.PlannedFault fault = cluster.deleteRecordsFaults.poll();
        if (fault != null && fault.kind() == FakeCluster.Fault.ERROR_BEFORE_APPEND) {
            return r.setErrorCode(fault.code()).setErrorMessage("fake: injected").build();
        }
        long highWatermark = log.logEndOffset;
        long offset = p.getOffset() == -1 ? highWatermark : p.getOffset();
        if (offset > highWatermark) {
            return r.setErrorCode(ErrorCode.OFFSET_OUT_OF_RANGE).setErrorMessage("offset " + offset + " is above the high watermark "
                    + highWatermark).build();
        }
        if (offset > log.logStartOffset) {
            cluster.truncateLogStart(p.getTopic(), p.getPartition(), offset);
        }
        if (fault != null) {
            return r.setErrorCode(fault.code()).setLogStartMoved(true).setErrorMessage("fake: log start moved, then " + fault.code()).build();
        }
        return r.setLowWatermark(log.logStartOffset).build();
    }

    FakeBroker broker() {
        return broker;
    }
}
