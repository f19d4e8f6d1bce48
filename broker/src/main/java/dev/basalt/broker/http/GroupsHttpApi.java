package dev.basalt.broker.http;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.basalt.broker.group.GroupCoordinator;
import dev.basalt.broker.group.state.Assignment;
import dev.basalt.broker.group.state.ConsumerGroup;
import dev.basalt.broker.group.state.ConsumerGroupMember;
import dev.basalt.broker.group.state.OffsetAndMetadata;
import dev.basalt.broker.group.state.PartitionKey;
import dev.basalt.broker.lag.LagMonitor;
import dev.basalt.broker.lag.state.GroupStatus;
import dev.basalt.broker.lag.state.LagEvaluator;
import dev.basalt.broker.lag.state.PartitionStatus;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.ClusterImage;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.proto.v1.ErrorCode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The groups JSON API on the HTTP admin port, for the groups this broker coordinates:
 * <ul>
 *   <li>{@code GET /v1/groups}: every group here with its state and member count;</li>
 *   <li>{@code GET /v1/groups/{group}}: state, epochs, assignor, members with their assignments;</li>
 *   <li>{@code GET /v1/groups/{group}/status}: Burrow's group status, {@code totallag},
 *       {@code maxlag}, {@code complete}, and only the partitions worse than OK;</li>
 *   <li>{@code GET /v1/groups/{group}/lag}: every partition: committed offset, log end and start
 *       offsets, lag in records and seconds, status, records lost to retention.</li>
 * </ul>
 * Any broker answers for every group: a request for a group another broker coordinates is
 * forwarded to that broker's HTTP admin port (registered with the controller as the {@value
 * #HTTP_ENDPOINT} endpoint) and its answer returned as is; the list asks every other registered,
 * unfenced broker for its groups and merges them, naming the brokers that did not answer in
 * {@code "unreachable"}. Forwarded requests carry {@code local=true} and are never forwarded again;
 * they carry this node's {@code http.auth.token}, so a cluster with tokens uses one token on every
 * node. An unknown group answers 404; a coordinator that cannot be reached, 502 (both JSON errors
 * naming the coordinator when known).
 *
 * <p>Thread-safety: thread-safe; handlers wait (bounded) on the coordinator's loops and on other
 * brokers' answers.
 */
public final class GroupsHttpApi {
    /** How long a request waits for the coordinator. */
    static final long TIMEOUT_MS = 5_000;
    public static final String PREFIX = "/v1/groups";
    /** Name of the broker registration endpoint holding the HTTP admin port. */
    public static final String HTTP_ENDPOINT = "HTTP";
    /** How long a forwarded request waits for the other broker's answer. */
    static final long FORWARD_TIMEOUT_MS = 5_000;

    private final GroupCoordinator coordinator;
    private final LagMonitor lag;
    private final int brokerId;
    private final Supplier<Map<Integer, String>> peers;
    private final String token;
    private final HttpClient http;

    /**
     * @param peers the HTTP admin addresses ({@code host:port}) of the other registered, unfenced
     *              brokers, by id ({@link #httpAddresses})
     * @param token this node's {@code http.auth.token} ("" for none), sent with forwarded requests
     */
    public GroupsHttpApi(GroupCoordinator coordinator, LagMonitor lag, int brokerId, Supplier<Map<Integer, String>> peers,
                         String token) {
        this.coordinator = coordinator;
        this.lag = lag;
        this.brokerId = brokerId;
        this.peers = peers;
        this.token = token == null ? "" : token;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(FORWARD_TIMEOUT_MS)).build();
    }

    /** The HTTP endpoints of the registered, unfenced brokers other than {@code self}. */
    public static Map<Integer, String> httpAddresses(ClusterImage cluster, int self) {
        Map<Integer, String> out = new TreeMap<>();
        for (BrokerRegistration b : cluster.brokers().values()) {
            if (b.brokerId() == self || b.fenced()) {
                continue;
            }
            for (Endpoint e : b.endpoints()) {
                if (e.name().equals(HTTP_ENDPOINT)) {
                    out.put(b.brokerId(), e.host() + ":" + e.port());
                }
            }
        }
        return out;
    }

    public HttpAdminServer.Reply handle(String path, Map<String, String> query) {
        String localParam = query.get("local");
        if (localParam != null && !localParam.equals("true") && !localParam.equals("false")) {
            return new HttpAdminServer.Reply(400, "application/json", HttpAdminServer.jsonError(400, "INVALID_REQUEST",
                    "local must be true or false, not '" + localParam + "'"));
        }
        boolean local = "true".equals(localParam);
        if (!path.equals(PREFIX) && !path.startsWith(PREFIX + "/")) {
            // routed by its decoded form ("/v1/groups%2Fg"): not a path of ours as sent
            return notFound("NOT_FOUND", HttpAdminServer.noSuchResource(path), -1);
        }
        String rest = path.length() > PREFIX.length() ? path.substring(PREFIX.length()) : "";
        if (rest.isEmpty() || rest.equals("/")) {
            try {
                return ok(local ? listGroups() : listAllGroups());
            } catch (GroupCoordinator.CoordinatorException e) {
                // not caught up on the metadata log yet, or a shard still loading: retry (another broker can answer)
                int status = ClusterHttpApi.httpStatus(e.code());
                return new HttpAdminServer.Reply(status, "application/json", HttpAdminServer.jsonError(status, e.code().name(),
                        e.getMessage()));
            }
        }
        String[] parts = rest.substring(1).split("/");
        // the path arrives raw (a group id may hold '/', sent as %2F): split, then decode
        String group = HttpAdminServer.decodeSegment(parts[0]);
        if (parts.length > 2 || (parts.length == 2 && !parts[1].equals("status") && !parts[1].equals("lag"))) {
            return notFound("NOT_FOUND", HttpAdminServer.noSuchResource(path), -1);
        }
        if (coordinator.noGroupCanExist()) {
            return notFound(ErrorCode.GROUP_ID_NOT_FOUND.name(), "group " + group + " does not exist (no group has been used"
                    + " on this cluster yet)", brokerId);
        }
        Snapshot s;
        try {
            s = await(coordinator.read(group, g -> Snapshot.of(g.group(group))));
        } catch (GroupCoordinator.CoordinatorException e) {
            if (e.code() != ErrorCode.NOT_COORDINATOR) {
                int status = ClusterHttpApi.httpStatus(e.code());
                return new HttpAdminServer.Reply(status, "application/json", HttpAdminServer.jsonError(status, e.code().name(),
                        e.getMessage()));
            }
            int hint = coordinatorOf(group);
            String address = hint >= 0 ? peers.get().get(hint) : null;
            if (local) {
                return notFound(ErrorCode.NOT_COORDINATOR.name(), e.getMessage(), hint);
            }
            if (address == null) {
                // the coordinator is moving (its partition has no leader yet, or this node has not learned it): retry
                return new HttpAdminServer.Reply(503, "application/json", HttpAdminServer.jsonError(503,
                        ErrorCode.COORDINATOR_NOT_AVAILABLE.name(), "the coordinator of group " + group + " is not available yet: "
                                + e.getMessage()));
            }
            return forward(hint, address, path);
        }
        if (s == null) {
            return notFound(ErrorCode.GROUP_ID_NOT_FOUND.name(), "group " + group + " does not exist", brokerId);
        }
        if (parts.length == 1) {
            return ok(describe(s));
        }
        return ok(lagJson(s, parts[1].equals("status")));
    }

    private int coordinatorOf(String group) {
        try {
            return coordinator.findCoordinator(group).thenApply(GroupCoordinator.Coordinator::nodeId)
                    .get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        } catch (ExecutionException | TimeoutException e) {
            return -1;
        }
    }

    private HttpRequest request(String address, String pathAndQuery) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + address + pathAndQuery))
                .timeout(Duration.ofMillis(FORWARD_TIMEOUT_MS)).GET();
        if (!token.isEmpty()) {
            b.header("Authorization", "Bearer " + token);
        }
        return b.build();
    }

    /** The coordinator's own answer to this request (status and body as it gave them). */
    private HttpAdminServer.Reply forward(int nodeId, String address, String path) {
        try {
            // the raw path, as this node received it (still %-encoded)
            HttpResponse<String> r = http.send(request(address, path + "?local=true"), HttpResponse.BodyHandlers.ofString());
            return new HttpAdminServer.Reply(r.statusCode(), "application/json", r.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return unreachable(nodeId, address, e);
        } catch (java.io.IOException e) {
            return unreachable(nodeId, address, e);
        }
    }

    private static HttpAdminServer.Reply unreachable(int nodeId, String address, Exception e) {
        JsonObject o = JsonParser.parseString(HttpAdminServer.jsonError(502, "COORDINATOR_NOT_AVAILABLE",
                "the group's coordinator, broker " + nodeId + " (" + address + "), did not answer: " + e)).getAsJsonObject();
        o.addProperty("coordinator", nodeId);
        return new HttpAdminServer.Reply(502, "application/json", o.toString());
    }

    /** This broker's groups and every other unfenced broker's, asked in parallel. */
    private JsonElement listAllGroups() {
        Map<Integer, CompletableFuture<HttpResponse<String>>> asked = new TreeMap<>();
        peers.get().forEach((id, address) -> asked.put(id, http.sendAsync(request(address, PREFIX + "?local=true"),
                HttpResponse.BodyHandlers.ofString())));
        JsonObject all = listGroups().getAsJsonObject();
        JsonArray groups = all.getAsJsonArray("groups");
        JsonArray unreachable = new JsonArray();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(FORWARD_TIMEOUT_MS);
        for (Map.Entry<Integer, CompletableFuture<HttpResponse<String>>> e : asked.entrySet()) {
            try {
                HttpResponse<String> r = e.getValue().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (r.statusCode() != 200) {
                    unreachable.add(e.getKey());
                    continue;
                }
                JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonArray("groups").forEach(groups::add);
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
                unreachable.add(e.getKey());
            } catch (ExecutionException | TimeoutException | RuntimeException x) {
                e.getValue().cancel(true);
                unreachable.add(e.getKey());
            }
        }
        List<JsonElement> sorted = new ArrayList<>(groups.asList());
        sorted.sort(java.util.Comparator.comparing(g -> g.getAsJsonObject().get("group").getAsString()));
        JsonArray out = new JsonArray();
        sorted.forEach(out::add);
        all.add("groups", out);
        all.add("unreachable", unreachable);
        return all;
    }

    /** What the HTTP answer needs of a group, copied on its coordinator's loop. */
    private record Snapshot(String groupId, String state, int groupEpoch, int targetEpoch, String assignor,
                            List<ConsumerGroupMember> members, SortedMap<String, Assignment> targets,
                            SortedMap<PartitionKey, OffsetAndMetadata> offsets, SortedMap<PartitionKey, String> owners) {
        static Snapshot of(ConsumerGroup g) {
            if (g == null) {
                return null;
            }
            return new Snapshot(g.groupId(), g.state().name(), g.groupEpoch(), g.targetAssignmentEpoch(), g.assignor(),
                    new ArrayList<>(g.members().values()), new TreeMap<>(g.targetAssignment()), new TreeMap<>(g.offsets()),
                    new TreeMap<>(g.owners()));
        }
    }

    private JsonElement listGroups() {
        List<List<JsonObject>> all = await(coordinator.readAll(shard -> {
            List<JsonObject> out = new ArrayList<>();
            shard.groups().values().forEach(g -> {
                JsonObject o = new JsonObject();
                o.addProperty("group", g.groupId());
                o.addProperty("state", g.state().name());
                o.addProperty("members", g.memberCount());
                o.addProperty("coordinator", brokerId);
                out.add(o);
            });
            return out;
        }));
        JsonArray groups = new JsonArray();
        all.forEach(l -> l.forEach(groups::add));
        JsonObject o = new JsonObject();
        o.add("groups", groups);
        return o;
    }

    private JsonElement describe(Snapshot s) {
        JsonObject o = new JsonObject();
        o.addProperty("group", s.groupId());
        o.addProperty("state", s.state());
        o.addProperty("groupEpoch", s.groupEpoch());
        o.addProperty("targetAssignmentEpoch", s.targetEpoch());
        o.addProperty("assignor", s.assignor());
        o.addProperty("coordinator", brokerId);
        JsonArray members = new JsonArray();
        for (ConsumerGroupMember m : s.members()) {
            JsonObject j = new JsonObject();
            j.addProperty("memberId", m.memberId());
            j.addProperty("instanceId", m.instanceId());
            j.addProperty("clientId", m.metadata().clientId());
            j.addProperty("host", m.metadata().clientHost());
            j.addProperty("memberEpoch", m.memberEpoch());
            j.addProperty("state", m.leftTemporarily() ? "LEFT" : m.state().name());
            JsonArray topics = new JsonArray();
            m.metadata().topicNames().forEach(topics::add);
            j.add("subscribedTopics", topics);
            j.addProperty("subscribedRegex", m.metadata().topicRegex());
            j.add("assignment", partitions(m.assigned()));
            j.add("pendingRevocation", partitions(m.pendingRevocation()));
            j.add("targetAssignment", partitions(s.targets().getOrDefault(m.memberId(), Assignment.EMPTY)));
            members.add(j);
        }
        o.add("members", members);
        return o;
    }

    private JsonElement lagJson(Snapshot s, boolean onlyBad) {
        long now = coordinator.nowMs();
        List<LagMonitor.PartitionLag> lags = lag.evaluate(s.groupId(), s.offsets(), now);
        JsonObject o = new JsonObject();
        o.addProperty("group", s.groupId());
        List<PartitionStatus> statuses = new ArrayList<>();
        long total = 0;
        long unknown = 0;
        LagMonitor.PartitionLag max = null;
        double complete = lags.isEmpty() ? 0 : 1;
        JsonArray partitions = new JsonArray();
        for (LagMonitor.PartitionLag p : lags) {
            statuses.add(p.status());
            total += Math.max(0, p.lag());
            unknown += p.lagUnknown() ? 1 : 0;
            if (max == null || p.lag() > max.lag()) {
                max = p;
            }
            complete = Math.min(complete, p.complete());
            if (!onlyBad || p.status() != PartitionStatus.OK) {
                partitions.add(partitionJson(p, s.owners().get(p.partition())));
            }
        }
        GroupStatus status = LagEvaluator.groupStatus(statuses);
        o.addProperty("status", status.name());
        o.addProperty("complete", complete);
        o.addProperty("totallag", total);
        o.add("maxlag", max == null ? null : partitionJson(max, s.owners().get(max.partition())));
        o.addProperty("partitionCount", lags.size());
        // partitions whose log end could not be read (status UNKNOWN): not in totallag or maxlag
        o.addProperty("lagUnknown", unknown);
        // Assigned partitions with no committed offset are not evaluated (nothing to compare):
        // counted here, so that "OK" with no commits at all does not read as "caught up".
        java.util.Set<PartitionKey> evaluated = new java.util.HashSet<>();
        lags.forEach(p -> evaluated.add(p.partition()));
        o.addProperty("assignedWithoutCommit", s.owners().keySet().stream().filter(k -> !evaluated.contains(k)).count());
        o.add("partitions", partitions);
        return o;
    }

    private static JsonObject partitionJson(LagMonitor.PartitionLag p, String owner) {
        JsonObject j = new JsonObject();
        j.addProperty("topic", p.partition().topic());
        j.addProperty("partition", p.partition().partition());
        j.addProperty("owner", owner);
        j.addProperty("committedOffset", p.committedOffset());
        j.addProperty("commitTimestampMs", p.commitTimestampMs());
        j.addProperty("logEndOffset", p.logEndOffset());
        j.addProperty("logStartOffset", p.logStartOffset());
        j.addProperty("lag", p.lag());
        j.addProperty("lagSeconds", p.lagSeconds());
        j.addProperty("status", p.status().name());
        j.addProperty("recordsLost", p.recordsLost());
        j.addProperty("complete", p.complete());
        return j;
    }

    private static JsonArray partitions(Assignment a) {
        JsonArray out = new JsonArray();
        a.byTopic().forEach((topic, ps) -> {
            JsonObject t = new JsonObject();
            t.addProperty("topic", topic);
            JsonArray arr = new JsonArray();
            ps.forEach(arr::add);
            t.add("partitions", arr);
            out.add(t);
        });
        return out;
    }

    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GroupCoordinator.CoordinatorException ce) {
                throw ce;
            }
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new GroupCoordinator.CoordinatorException(ErrorCode.REQUEST_TIMED_OUT, "the coordinator did not answer in "
                    + TIMEOUT_MS + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static HttpAdminServer.Reply ok(JsonElement body) {
        return new HttpAdminServer.Reply(200, "application/json", new GsonBuilder().serializeNulls().create().toJson(body) + "\n");
    }

    private static HttpAdminServer.Reply notFound(String code, String message, int coordinatorHint) {
        JsonObject o = new JsonObject();
        o.addProperty("error", message);
        o.addProperty("code", code);
        o.addProperty("status", 404);
        if (coordinatorHint >= 0) {
            o.addProperty("coordinator", coordinatorHint);
        }
        return new HttpAdminServer.Reply(404, "application/json", o + "\n");
    }
}
