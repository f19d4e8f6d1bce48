package dev.basalt.broker.http;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.broker.gateway.RecordGateway;
import dev.basalt.broker.server.AdminHandler;
import dev.basalt.broker.server.ListOffsetsHandler;
import dev.basalt.proto.v1.FetchRecordsRequest;
import dev.basalt.proto.v1.FetchRecordsResponse;
import dev.basalt.proto.v1.ListOffsetsRequest;
import dev.basalt.proto.v1.ListOffsetsResponse;
import dev.basalt.proto.v1.ConfigResource;
import dev.basalt.proto.v1.DescribeClusterRequest;
import dev.basalt.proto.v1.DescribeClusterResponse;
import dev.basalt.proto.v1.DescribeConfigsRequest;
import dev.basalt.proto.v1.DescribeConfigsResponse;
import dev.basalt.proto.v1.DescribeQuorumResponse;
import dev.basalt.proto.v1.DescribeTopicsRequest;
import dev.basalt.proto.v1.DescribeTopicsResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ListTopicsRequest;
import dev.basalt.proto.v1.ListTopicsResponse;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The cluster part of the versioned JSON API on the HTTP admin port (docs/http-api.md). Each
 * answer is the protobuf message the gRPC AdminService gives for the same question, printed with
 * protobuf's {@link JsonFormat} (lowerCamelCase names, 64-bit integers as strings, enums by name,
 * fields with default values included), so the JSON and the gRPC API cannot drift apart:
 * <ul>
 *   <li>{@code GET /v1/cluster}: DescribeClusterResponse (fenced brokers included);</li>
 *   <li>{@code GET /v1/brokers}, {@code /v1/brokers/{id}}: its brokers;
 *       {@code /v1/brokers/{id}/configs}: DescribeConfigsResponse.Result of the broker, on that
 *       broker's own admin port only (421 on another's);</li>
 *   <li>{@code GET /v1/quorum}: DescribeQuorumResponse;</li>
 *   <li>{@code GET /v1/topics[?internal=true]}: ListTopicsResponse;</li>
 *   <li>{@code GET /v1/topics/{name}}: DescribeTopicsResponse.TopicDescription (partitions,
 *       leaders, replicas, ISR) plus {@code localReplicas}: this node's replicas of the topic with
 *       their log start/end offsets, high watermark, size and segment count (sizes are per node:
 *       ask each node, or scrape {@code basalt_topic_log_size_bytes});</li>
 *   <li>{@code GET /v1/topics/{name}/configs}: DescribeConfigsResponse.Result of the topic (every
 *       key with its source);</li>
 *   <li>{@code GET /v1/topics/{name}/partitions/{p}/records?offset=&limit=} (or
 *       {@code ?timestamp=ms}): FetchRecordsResponse, read through the record gateway (any node
 *       routes to the leader); by timestamp the offset is looked up on this node, which must lead
 *       the partition (else 503 NOT_LEADER naming the leader).</li>
 * </ul>
 * Errors are JSON ({@link HttpAdminServer#jsonError}) with the status the error code implies
 * ({@link #httpStatus}): an unknown topic is 404, a malformed id 400, an unknown path 404. Until
 * the node has caught up on the metadata log once since it started, cluster, brokers and topics
 * answer 503 BROKER_NOT_AVAILABLE (its image may be empty or old; ask again, or another node).
 *
 * <p>Thread-safety: thread-safe (reads the node's current metadata image per request).
 */
public final class ClusterHttpApi {
    public static final String PREFIX = "/v1/";
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().alwaysPrintFieldsWithNoPresence();

    private final AdminHandler admin;
    private final ReplicaManager replicas;
    private final Supplier<DescribeQuorumResponse> quorum;
    private final RecordGateway gateway;
    private final ListOffsetsHandler offsets;
    /** Records per browse request, at most (the console shows a page). */
    static final int RECORDS_LIMIT_MAX = 500;
    static final long RECORDS_WAIT_MS = 10_000;

    /** {@code admin}, {@code replicas}, {@code gateway} and {@code offsets} are null on a controller-only node (only /v1/quorum then). */
    public ClusterHttpApi(AdminHandler admin, ReplicaManager replicas, Supplier<DescribeQuorumResponse> quorum, RecordGateway gateway,
                          ListOffsetsHandler offsets) {
        this.admin = admin;
        this.replicas = replicas;
        this.quorum = quorum;
        this.gateway = gateway;
        this.offsets = offsets;
    }

    public HttpAdminServer.Reply handle(String path, Map<String, String> query) {
        if (!path.startsWith(PREFIX) && !path.equals("/v1")) {
            return notFound(path); // routed by its decoded form ("/v1%2Fcluster"): not a path of ours as sent
        }
        String rest = path.substring(Math.min(path.length(), PREFIX.length()));
        if (rest.endsWith("/")) {
            rest = rest.substring(0, rest.length() - 1);
        }
        List<String> parts = new ArrayList<>();
        if (!rest.isEmpty()) {
            // the path arrives raw: split, then decode each segment
            for (String seg : rest.split("/", 8)) {
                parts.add(HttpAdminServer.decodeSegment(seg));
            }
        }
        if (parts.isEmpty()) {
            return ok(index());
        }
        String resource = parts.get(0);
        if (resource.equals("quorum") && parts.size() == 1) {
            return ok(proto(quorum.get()));
        }
        // groups: a broker's GroupsHttpApi answers them before this; here only on a controller-only node
        if (admin == null && (resource.equals("cluster") || resource.equals("brokers") || resource.equals("topics")
                || resource.equals("groups"))) {
            return error(404, "NOT_A_BROKER", "this node is controller-only; ask a broker's admin port for " + path);
        }
        String waiting = admin == null ? null : admin.notCaughtUp();
        if (waiting != null && (resource.equals("cluster") || resource.equals("brokers") || resource.equals("topics"))) {
            // an empty or old image: "no topics", "no such topic" and "no brokers" would each look final
            return error(503, ErrorCode.BROKER_NOT_AVAILABLE.name(), waiting);
        }
        return switch (resource) {
            case "cluster" -> parts.size() == 1 ? ok(proto(cluster())) : notFound(path);
            case "brokers" -> brokers(parts, path);
            case "topics" -> topics(parts, query, path);
            default -> notFound(path);
        };
    }

    private JsonElement index() {
        JsonObject o = new JsonObject();
        JsonArray paths = new JsonArray();
        for (String p : List.of("/v1/cluster", "/v1/brokers", "/v1/brokers/{id}", "/v1/brokers/{id}/configs", "/v1/quorum",
                "/v1/topics", "/v1/topics/{name}", "/v1/topics/{name}/configs",
                "/v1/topics/{name}/partitions/{p}/records?offset=&limit=&timestamp=", "/v1/groups", "/v1/groups/{group}",
                "/v1/groups/{group}/status", "/v1/groups/{group}/lag")) {
            paths.add(p);
        }
        o.add("endpoints", paths);
        return o;
    }

    private DescribeClusterResponse cluster() {
        return admin.describeCluster(DescribeClusterRequest.newBuilder().setIncludeFencedBrokers(true).build());
    }

    private HttpAdminServer.Reply brokers(List<String> parts, String path) {
        DescribeClusterResponse c = cluster();
        if (parts.size() == 1) {
            JsonObject o = new JsonObject();
            JsonArray arr = new JsonArray();
            c.getBrokersList().forEach(b -> arr.add(proto(b)));
            o.add("brokers", arr);
            return ok(o);
        }
        int id;
        if (!parts.get(1).matches("-?[0-9]+")) {
            return error(400, ErrorCode.INVALID_REQUEST.name(), "broker id must be a number, got '" + parts.get(1) + "'");
        }
        try {
            id = Integer.parseInt(parts.get(1));
        } catch (NumberFormatException e) {
            return error(404, ErrorCode.BROKER_NOT_AVAILABLE.name(), "no registered broker " + parts.get(1)
                    + " (broker ids are 32-bit integers)");
        }
        var broker = c.getBrokersList().stream().filter(b -> b.getNode().getId() == id).findFirst();
        if (broker.isEmpty()) {
            return error(404, ErrorCode.BROKER_NOT_AVAILABLE.name(), "no registered broker " + id);
        }
        if (parts.size() == 2) {
            return ok(proto(broker.get()));
        }
        if (parts.size() == 3 && parts.get(2).equals("configs")) {
            if (id != replicas.brokerId()) {
                // its file's keys are known only to that node (421: ask the node the answer is about)
                // its registered HTTP endpoint, fenced or not (a stopped broker's address is still where to go)
                String there = replicas.image().cluster().broker(id).flatMap(b -> b.endpoints().stream()
                        .filter(e -> e.name().equals(GroupsHttpApi.HTTP_ENDPOINT)).findFirst())
                        .map(e -> e.host() + ":" + e.port()).orElse(null);
                return error(421, "MISDIRECTED_REQUEST", "this is broker " + replicas.brokerId() + "; broker " + id
                        + "'s configs are served by its own admin port" + (there == null ? "" : ", http://" + there + path));
            }
            return configs(ConfigResource.Type.BROKER, Integer.toString(id));
        }
        return notFound(path);
    }

    private HttpAdminServer.Reply topics(List<String> parts, Map<String, String> query, String path) {
        if (parts.size() == 1) {
            String internalText = query.getOrDefault("internal", "false");
            if (!internalText.equalsIgnoreCase("true") && !internalText.equalsIgnoreCase("false")) {
                return error(400, ErrorCode.INVALID_REQUEST.name(), "internal must be true or false, got '" + internalText + "'");
            }
            boolean internal = Boolean.parseBoolean(internalText);
            ListTopicsResponse r = admin.listTopics(ListTopicsRequest.newBuilder().setIncludeInternal(internal).build());
            return r.getErrorCode() == ErrorCode.NONE ? ok(proto(r)) : error(r.getErrorCode(), r.getErrorMessage());
        }
        String name = parts.get(1);
        if (parts.size() == 3 && parts.get(2).equals("configs")) {
            return configs(ConfigResource.Type.TOPIC, name);
        }
        if (parts.size() == 5 && parts.get(2).equals("partitions") && parts.get(4).equals("records")) {
            return records(name, parts.get(3), query);
        }
        if (parts.size() != 2) {
            return notFound(path);
        }
        DescribeTopicsResponse r = admin.describeTopics(DescribeTopicsRequest.newBuilder().addNames(name).build());
        if (r.getErrorCode() != ErrorCode.NONE) {
            return error(r.getErrorCode(), r.getErrorMessage());
        }
        DescribeTopicsResponse.TopicDescription t = r.getTopics(0);
        if (t.getErrorCode() != ErrorCode.NONE) {
            return error(t.getErrorCode(), t.getErrorMessage());
        }
        JsonObject o = proto(t).getAsJsonObject();
        o.add("localReplicas", localReplicas(name));
        return ok(o);
    }

    /** The records endpoint's query parameters. */
    private static final List<String> RECORDS_PARAMETERS = List.of("offset", "limit", "timestamp");

    private HttpAdminServer.Reply records(String topic, String partitionText, Map<String, String> query) {
        int partition;
        long offset;
        int limit;
        Long timestamp = null;
        // found probing: unknown parameters were ignored, and offset with timestamp read by timestamp
        for (String key : query.keySet()) {
            if (!key.isEmpty() && !RECORDS_PARAMETERS.contains(key)) { // "records?" and a trailing '&' are fine
                return error(400, ErrorCode.INVALID_REQUEST.name(), "unknown parameter '" + key + "': records take "
                        + String.join(", ", RECORDS_PARAMETERS));
            }
        }
        if (query.containsKey("offset") && query.containsKey("timestamp")) {
            return error(400, ErrorCode.INVALID_REQUEST.name(), "give offset or timestamp, not both");
        }
        String field = "partition";
        try {
            partition = Integer.parseInt(partitionText);
            field = "offset";
            offset = Long.parseLong(query.getOrDefault("offset", "-2"));
            field = "limit";
            limit = Integer.parseInt(query.getOrDefault("limit", "50"));
            if (query.containsKey("timestamp")) {
                field = "timestamp";
                timestamp = Long.parseLong(query.get("timestamp"));
            }
        } catch (NumberFormatException e) {
            String given = field.equals("partition") ? partitionText : query.get(field);
            return error(400, ErrorCode.INVALID_REQUEST.name(), field + " must be a whole number, not '" + given + "'");
        }
        if (partition < 0 || limit < 1 || limit > RECORDS_LIMIT_MAX || offset < -2 || (timestamp != null && timestamp < 0)) {
            return error(400, ErrorCode.INVALID_REQUEST.name(), "need partition >= 0, 1 <= limit <= " + RECORDS_LIMIT_MAX
                    + ", offset >= -2 (-2 = oldest, -1 = latest), timestamp >= 0");
        }
        if (timestamp != null) {
            ListOffsetsResponse lo = offsets.handle(ListOffsetsRequest.newBuilder().addTopics(ListOffsetsRequest.TopicData.newBuilder()
                    .setName(topic).addPartitions(ListOffsetsRequest.PartitionData.newBuilder().setPartition(partition)
                            .setTimestamp(timestamp))).build());
            if (lo.getErrorCode() != ErrorCode.NONE) {
                return error(lo.getErrorCode(), lo.getErrorMessage());
            }
            ListOffsetsResponse.PartitionResponse pr = lo.getTopics(0).getPartitions(0);
            if (pr.getErrorCode() != ErrorCode.NONE) {
                boolean named = pr.getErrorMessage().contains("leader is ");
                return error(pr.getErrorCode(), pr.getErrorMessage() + (pr.hasLeaderIdHint() && !named ? " (leader: broker "
                        + pr.getLeaderIdHint() + ")" : ""));
            }
            offset = pr.getOffset() < 0 ? -1 : pr.getOffset(); // no record that late: from the end
        }
        java.util.concurrent.CompletableFuture<FetchRecordsResponse> answer = new java.util.concurrent.CompletableFuture<>();
        gateway.fetch(FetchRecordsRequest.newBuilder().setTopic(topic).setPartition(partition).setOffset(offset)
                .setMaxRecords(limit).setMaxWaitMs(0).build(), answer::complete);
        FetchRecordsResponse r;
        try {
            r = answer.get(RECORDS_WAIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return error(ErrorCode.REQUEST_TIMED_OUT, "no answer from the partition's leader within " + RECORDS_WAIT_MS + " ms");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(503, ErrorCode.REQUEST_TIMED_OUT.name(), "interrupted");
        }
        if (r.getErrorCode() != ErrorCode.NONE) {
            return error(r.getErrorCode(), r.getErrorMessage());
        }
        return ok(proto(r));
    }

    private JsonArray localReplicas(String topic) {
        List<Partition> mine = new ArrayList<>();
        replicas.partitions().forEach((tp, p) -> {
            if (tp.topic().equals(topic)) {
                mine.add(p);
            }
        });
        mine.sort(Comparator.comparingInt(p -> p.topicPartition().partition()));
        JsonArray arr = new JsonArray();
        for (Partition p : mine) {
            var log = p.log();
            JsonObject j = new JsonObject();
            j.addProperty("partition", p.topicPartition().partition());
            j.addProperty("brokerId", replicas.brokerId());
            j.addProperty("leader", p.isLeader());
            j.addProperty("leaderEpoch", p.leaderEpoch());
            j.addProperty("logStartOffset", log.logStartOffset());
            j.addProperty("logEndOffset", log.logEndOffset());
            j.addProperty("highWatermark", p.highWatermark());
            j.addProperty("sizeBytes", log.sizeBytes());
            j.addProperty("segments", log.segmentBaseOffsets().size());
            j.addProperty("offline", log.isOffline());
            arr.add(j);
        }
        return arr;
    }

    private HttpAdminServer.Reply configs(ConfigResource.Type type, String name) {
        DescribeConfigsResponse r = admin.describeConfigs(DescribeConfigsRequest.newBuilder().setIncludeDocumentation(true)
                .addResources(DescribeConfigsRequest.Query.newBuilder()
                        .setResource(ConfigResource.newBuilder().setType(type).setName(name))).build());
        if (r.getErrorCode() != ErrorCode.NONE) {
            return error(r.getErrorCode(), r.getErrorMessage());
        }
        DescribeConfigsResponse.Result res = r.getResources(0);
        if (res.getErrorCode() != ErrorCode.NONE) {
            return error(res.getErrorCode(), res.getErrorMessage());
        }
        return ok(proto(res));
    }

    /** The HTTP status a domain error code implies. */
    public static int httpStatus(ErrorCode code) {
        return switch (code) {
            case NONE -> 200;
            case UNKNOWN_TOPIC, UNKNOWN_TOPIC_ID, GROUP_ID_NOT_FOUND, INVALID_PARTITION, BROKER_NOT_AVAILABLE -> 404;
            case INVALID_REQUEST, INVALID_TOPIC, INVALID_CONFIG, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR -> 400;
            case OFFSET_OUT_OF_RANGE -> 416;
            case REQUEST_TIMED_OUT -> 504;
            case NOT_CONTROLLER, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, REPLICA_NOT_AVAILABLE,
                 THROTTLED, NOT_LEADER -> 503;
            default -> 500;
        };
    }

    static JsonElement proto(MessageOrBuilder m) {
        try {
            return JsonParser.parseString(PRINTER.print(m));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("cannot print " + m.getClass().getSimpleName() + " as JSON", e);
        }
    }

    static HttpAdminServer.Reply ok(JsonElement body) {
        return new HttpAdminServer.Reply(200, "application/json", new GsonBuilder().setPrettyPrinting().serializeNulls().create()
                .toJson(body) + "\n");
    }

    static HttpAdminServer.Reply error(ErrorCode code, String message) {
        return error(httpStatus(code), code.name(), message);
    }

    static HttpAdminServer.Reply error(int status, String code, String message) {
        return new HttpAdminServer.Reply(status, "application/json", HttpAdminServer.jsonError(status, code, message));
    }

    static HttpAdminServer.Reply notFound(String path) {
        return error(404, "NOT_FOUND", HttpAdminServer.noSuchResource(path) + " (GET /v1/ lists the endpoints)");
    }
}
