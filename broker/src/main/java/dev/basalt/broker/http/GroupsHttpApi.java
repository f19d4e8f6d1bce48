package dev.basalt.broker.http;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
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
import dev.basalt.proto.v1.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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
 * An unknown group, or one coordinated by another broker, answers 404 with a JSON error (naming the
 * coordinator when known).
 *
 * <p>Thread-safety: thread-safe; handlers wait (bounded) on the coordinator's loops.
 */
public final class GroupsHttpApi {
    /** How long a request waits for the coordinator. */
    static final long TIMEOUT_MS = 5_000;
    public static final String PREFIX = "/v1/groups";

    private final GroupCoordinator coordinator;
    private final LagMonitor lag;
    private final int brokerId;

    public GroupsHttpApi(GroupCoordinator coordinator, LagMonitor lag, int brokerId) {
        this.coordinator = coordinator;
        this.lag = lag;
        this.brokerId = brokerId;
    }

    public HttpAdminServer.Reply handle(String path) {
        String rest = path.length() > PREFIX.length() ? path.substring(PREFIX.length()) : "";
        if (rest.isEmpty() || rest.equals("/")) {
            return ok(listGroups());
        }
        String[] parts = rest.substring(1).split("/");
        String group = parts[0]; // the path arrives decoded (URI.getPath): decoding again would turn "+" into a space
        if (parts.length > 2 || (parts.length == 2 && !parts[1].equals("status") && !parts[1].equals("lag"))) {
            return notFound("NOT_FOUND", "no such resource: " + path, -1);
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
            int hint = coordinator.findCoordinator(group).thenApply(GroupCoordinator.Coordinator::nodeId)
                    .exceptionally(x -> -1).getNow(-1);
            return notFound(ErrorCode.NOT_COORDINATOR.name(), e.getMessage(), hint);
        }
        if (s == null) {
            return notFound(ErrorCode.GROUP_ID_NOT_FOUND.name(), "group " + group + " does not exist", brokerId);
        }
        if (parts.length == 1) {
            return ok(describe(s));
        }
        return ok(lagJson(s, parts[1].equals("status")));
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
        LagMonitor.PartitionLag max = null;
        double complete = lags.isEmpty() ? 0 : 1;
        JsonArray partitions = new JsonArray();
        for (LagMonitor.PartitionLag p : lags) {
            statuses.add(p.status());
            total += Math.max(0, p.lag());
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
