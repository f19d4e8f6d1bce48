package dev.basalt.client.internal;

import dev.basalt.client.admin.AlterConfigOp;
import dev.basalt.client.admin.ClusterDescription;
import dev.basalt.client.admin.ConfigEntry;
import dev.basalt.client.admin.ConfigResource;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.admin.QuorumDescription;
import dev.basalt.client.admin.TopicCreated;
import dev.basalt.client.admin.TopicDescription;
import dev.basalt.client.admin.TopicListing;
import dev.basalt.client.BasaltException;
import dev.basalt.client.ClientTimeoutException;
import dev.basalt.client.ConnectionException;
import dev.basalt.client.DefiniteException;
import dev.basalt.client.IndeterminateException;
import dev.basalt.client.UnknownServerException;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.AlterConfigsRequest;
import dev.basalt.proto.v1.AlterConfigsResponse;
import dev.basalt.proto.v1.CreatePartitionsRequest;
import dev.basalt.proto.v1.CreatePartitionsResponse;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.CreateTopicsResponse;
import dev.basalt.proto.v1.DeleteTopicsRequest;
import dev.basalt.proto.v1.DeleteTopicsResponse;
import dev.basalt.proto.v1.ErrorCode;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The admin client's request plumbing: picks a broker from the bootstrap list, retries definite
 * retriable failures with backoff until default.api.timeout.ms, and maps per-entity answers to
 * futures. Any broker serves admin requests (it forwards mutations to the active controller), so
 * a broker that cannot help right now is simply replaced by the next address of the list: one
 * that cannot be reached (at once, within the same attempt), one that answers NOT_CONTROLLER or
 * BROKER_NOT_AVAILABLE, or one whose read timed out (at the next attempt, after the backoff).
 * Conversions of the query rpcs live in {@link AdminQueries}.
 *
 * <p>Thread-safety: thread-safe; the admin's executor threads run calls concurrently (the address
 * rotation is atomic, everything else is immutable); the futures it completes may be awaited from
 * any thread.
 */
public final class AdminCalls {
    /** One entity's answer: an error code (NONE = success) and, on success, the value. */
    public record EntityResult(ErrorCode code, String message, Object value) {
    }

    private final ChannelPool channels;
    private final List<HostPort> bootstrap;
    private final int requestTimeoutMs;
    private final long retryBackoffMs;
    private final int apiTimeoutMs;
    private final Time time;
    private final AdminQueries queries;
    /** Rotates through the bootstrap list; shared by the admin's threads. */
    private final java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();

    public AdminCalls(ChannelPool channels, List<HostPort> bootstrap, int requestTimeoutMs, long retryBackoffMs, int apiTimeoutMs,
                      Time time) {
        this.channels = channels;
        this.bootstrap = List.copyOf(bootstrap);
        this.requestTimeoutMs = requestTimeoutMs;
        this.retryBackoffMs = retryBackoffMs;
        this.apiTimeoutMs = apiTimeoutMs;
        this.time = time;
        this.queries = new AdminQueries(this);
    }

    /** The broker-side timeout: a little inside the call deadline, so the broker can say REQUEST_TIMED_OUT first. */
    int brokerTimeoutMs() {
        return Math.max(1, requestTimeoutMs - Math.min(1_000, requestTimeoutMs / 10));
    }

    /**
     * Runs a blocking rpc against some broker, moving to the next address while brokers cannot
     * be reached at all (definite). Any other failure is classified and thrown. Reads go through
     * {@link #hedgedRead} instead.
     */
    <T> T rpc(Function<AdminServiceGrpc.AdminServiceBlockingStub, T> call, boolean mutating, String what) {
        ConnectionException last = null;
        boolean everyOneNotAClientPort = true;
        for (int i = 0; i < bootstrap.size(); i++) {
            HostPort address = bootstrap.get(Math.floorMod(next.get(), bootstrap.size()));
            io.grpc.ManagedChannel channel = channels.channel(address);
            if (mutating) {
                lastMutationMs = time.monotonicMs(); // sent, or perhaps sent: reads stay with this broker a while
            }
            try {
                return call.apply(AdminServiceGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS));
            } catch (StatusRuntimeException e) {
                BasaltException b = classify(e, channel, address, mutating, what);
                if (b instanceof ClientTimeoutException) {
                    next.incrementAndGet(); // a read that timed out: the retry asks another broker
                }
                if (!(b instanceof ConnectionException c)) {
                    throw b;
                }
                last = c;
                everyOneNotAClientPort &= c instanceof NotAClientPortException;
                next.incrementAndGet();
            }
        }
        throw everyOneNotAClientPort ? last : (ConnectionException) NotAClientPortException.asOneOfSeveral(last);
    }

    /** A failed call at {@code address} as the client's typed exception; {@link ConnectionException} means "ask the next address". */
    private BasaltException classify(StatusRuntimeException e, io.grpc.ManagedChannel channel, HostPort address, boolean mutating,
                                     String what) {
        BasaltException b = Errors.forTransport(e, mutating, what + " via " + address);
        if (b instanceof dev.basalt.client.IndeterminateException && e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE
                && channels.neverReady(channel)) {
            // Found probing on a loaded host: a create whose connection set-up was cut
            // reported "outcome unknown" though nothing was ever sent; the next address is tried.
            b = new ConnectionException(what + " via " + address + ": no connection could be set up ("
                    + e.getStatus().getDescription() + "); nothing was sent", e);
        }
        if (e.getStatus().getCode() == io.grpc.Status.Code.UNIMPLEMENTED) {
            // Nothing was processed: the address serves gRPC but not the admin service (a
            // controller-only node's port in the bootstrap list): the next address may.
            b = new NotAClientPortException(what + " via " + address + ": the address does not serve this admin call ("
                    + e.getStatus().getDescription() + "): not a Basalt client port (a controller's port?), or a broker of an"
                    + " older version", e);
        }
        return b;
    }

    /**
     * How long a read may go unanswered before it is sent to the next bootstrap address as well:
     * a broker that accepts the request and does not answer (paused, overloaded, cut off with its
     * connection open) would otherwise hold the read for request.timeout.ms. Reads change nothing,
     * so asking a second broker is harmless; the first answer wins and the others are cancelled.
     */
    static final long READ_HEDGE_AFTER_MS = MetadataManager.HEDGE_AFTER_MS;

    /**
     * For this long after a mutation, reads are not hedged but go to the broker that took it, as
     * the admin API promises (a broker answers a mutation once it has applied it, so a read from
     * it right after sees the change; another broker may apply it a moment later).
     */
    static final long READ_YOUR_WRITES_MS = 10_000;

    /** When this client last sent a mutation (monotonic ms). */
    private volatile long lastMutationMs = Long.MIN_VALUE / 2;

    /**
     * Notes a change sent through {@link #rpc} as not mutating because it is safe to repeat (an
     * election, a decommission): reads right after it stay with its broker, as after a mutation.
     */
    void noteChange() {
        lastMutationMs = time.monotonicMs();
    }

    /**
     * A read-only rpc against some broker ({@link HedgedRead}): starts at the current address, asks
     * the next address too when one has not answered within {@link #READ_HEDGE_AFTER_MS} or cannot
     * be reached, and returns the first answer; later calls then start at the broker that gave it.
     * A failure other than "cannot be reached" or "timed out" ends the read at once. Within
     * {@link #READ_YOUR_WRITES_MS} of a mutation, as {@link #rpc} (not hedged).
     */
    <Q, R> R hedgedRead(io.grpc.MethodDescriptor<Q, R> method, Q request, String what) {
        return hedgedReadAnswer(method, request, what).value();
    }

    /** Whether this client sent a mutation within {@link #READ_YOUR_WRITES_MS}. */
    private boolean withinReadYourWrites() {
        long sinceMutationMs = time.monotonicMs() - lastMutationMs;
        return sinceMutationMs >= 0 && sinceMutationMs < READ_YOUR_WRITES_MS;
    }

    /** As {@link #hedgedRead}, with the index (in the bootstrap list) of the address that answered. */
    private <Q, R> HedgedRead.Answer<R> hedgedReadAnswer(io.grpc.MethodDescriptor<Q, R> method, Q request, String what) {
        if (withinReadYourWrites()) {
            // the broker that applied this client's change answers: another may not have applied it yet
            int[] at = new int[1];
            R r = rpc(stub -> {
                at[0] = Math.floorMod(next.get(), bootstrap.size());
                return io.grpc.stub.ClientCalls.blockingUnaryCall(stub.getChannel(), method, stub.getCallOptions(), request);
            }, false, what);
            return new HedgedRead.Answer<>(at[0], r);
        }
        int start = next.get();
        // written by sends and read by classify, which may run on gRPC and timer threads
        java.util.Map<HostPort, io.grpc.ManagedChannel> used = new java.util.concurrent.ConcurrentHashMap<>();
        HedgedRead.Answer<R> a = HedgedRead.ask(bootstrap, start, READ_HEDGE_AFTER_MS,
                address -> {
                    io.grpc.ManagedChannel channel = channels.channel(address);
                    used.put(address, channel);
                    return io.grpc.stub.ClientCalls.futureUnaryCall(channel.newCall(method,
                            io.grpc.CallOptions.DEFAULT.withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS)), request);
                },
                answer -> null,
                (address, e) -> classify(e, used.get(address), address, false, what),
                b -> b instanceof ConnectionException || b instanceof ClientTimeoutException);
        next.compareAndSet(start, a.index()); // unless another call moved on meanwhile
        return new HedgedRead.Answer<>(Math.floorMod(a.index(), bootstrap.size()), a.value());
    }

    /** How long {@link #hedgedReadPreferring} waits for the other brokers' answers. */
    static final long PREFERRED_ANSWER_WAIT_MS = 1_500;

    /**
     * As {@link #hedgedRead}; when the answer is not {@code good} (a broker cut off from the
     * controller quorum answers from the last state it saw), the other bootstrap addresses are asked
     * too, at once, for at most {@link #PREFERRED_ANSWER_WAIT_MS}, and the first good answer wins;
     * later reads then start at the broker that gave it. Found probing: with the active controller's
     * node isolated and first in the bootstrap list, `basalt cluster` said "Controller: none" while
     * the majority had elected one and fenced the isolated broker; the order of the list decided
     * which answer a user got.
     */
    <Q, R> R hedgedReadPreferring(io.grpc.MethodDescriptor<Q, R> method, Q request, String what, java.util.function.Predicate<R> good) {
        HedgedRead.Answer<R> first = hedgedReadAnswer(method, request, what);
        if (good.test(first.value()) || bootstrap.size() < 2) {
            return first.value();
        }
        // every other address at once; the first good answer wins (found by review: asked in turn,
        // one paused broker used the whole wait while another had answered)
        CompletableFuture<HedgedRead.Answer<R>> better = new CompletableFuture<>();
        List<com.google.common.util.concurrent.ListenableFuture<R>> asked = new ArrayList<>();
        for (int i = 0; i < bootstrap.size(); i++) {
            if (i == first.index()) {
                continue;
            }
            int index = i;
            com.google.common.util.concurrent.ListenableFuture<R> call;
            try {
                call = io.grpc.stub.ClientCalls.futureUnaryCall(channels.channel(bootstrap.get(i)).newCall(method,
                        io.grpc.CallOptions.DEFAULT.withDeadlineAfter(Math.min(requestTimeoutMs, PREFERRED_ANSWER_WAIT_MS),
                                TimeUnit.MILLISECONDS)), request);
            } catch (RuntimeException e) {
                continue; // this client is closing, or the address cannot be used: the first answer stands
            }
            asked.add(call);
            call.addListener(() -> {
                try {
                    R r = call.get();
                    if (good.test(r)) {
                        better.complete(new HedgedRead.Answer<>(index, r));
                    }
                } catch (Exception e) {
                    // no better answer from this one
                }
            }, com.google.common.util.concurrent.MoreExecutors.directExecutor());
        }
        try {
            HedgedRead.Answer<R> b = better.get(PREFERRED_ANSWER_WAIT_MS, TimeUnit.MILLISECONDS);
            if (!withinReadYourWrites()) {
                next.set(b.index()); // later reads there; not while they must stay with the broker of a change
            }
            return b.value();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return first.value();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return first.value();
        } finally {
            asked.forEach(f -> f.cancel(true));
        }
    }

    /** A blocking read-only rpc against the broker at {@code address} (answers about that broker only). */
    <T> T rpcAt(HostPort address, Function<AdminServiceGrpc.AdminServiceBlockingStub, T> call, String what) {
        try {
            return call.apply(AdminServiceGrpc.newBlockingStub(channels.channel(address))
                    .withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS));
        } catch (StatusRuntimeException e) {
            throw Errors.forTransport(e, false, what);
        }
    }

    /** The next attempt goes to the next bootstrap address (this one could not help right now). */
    private void moveToNextBroker() {
        next.incrementAndGet();
    }

    /** True for answers that mean "this broker cannot do it now, another may": no controller known, broker not ready. */
    private static boolean tryAnotherBroker(ErrorCode code) {
        return code == ErrorCode.NOT_CONTROLLER || code == ErrorCode.BROKER_NOT_AVAILABLE;
    }

    private static boolean tryAnotherBroker(BasaltException e) {
        return e instanceof dev.basalt.client.NotControllerException || e instanceof dev.basalt.client.BrokerNotAvailableException;
    }

    /** Runs a read with retries of definite retriable errors until default.api.timeout.ms. */
    public <T> CompletableFuture<T> read(Executor executor, Supplier<T> call) {
        CompletableFuture<T> f = new CompletableFuture<>();
        executor.execute(() -> {
            long deadline = time.monotonicMs() + apiTimeoutMs;
            while (true) {
                try {
                    f.complete(call.get());
                    return;
                } catch (BasaltException e) {
                    if (!transient_(e) || time.monotonicMs() + retryBackoffMs >= deadline) {
                        f.completeExceptionally(e);
                        return;
                    }
                    if (tryAnotherBroker(e)) {
                        moveToNextBroker();
                    }
                } catch (RuntimeException e) {
                    f.completeExceptionally(new UnknownServerException("admin call failed: " + e, e));
                    return;
                }
                if (!sleep(f)) {
                    return;
                }
            }
        });
        return f;
    }

    /**
     * Admin retries only what says "try again later" about the cluster as a whole (no controller,
     * broker starting, throttled, unreachable); UNKNOWN_TOPIC and the like are answers, not
     * transient states, for an administrator.
     */
    static boolean transient_(ErrorCode code) {
        return code == ErrorCode.NOT_CONTROLLER || code == ErrorCode.BROKER_NOT_AVAILABLE || code == ErrorCode.THROTTLED
                || code == ErrorCode.REPLICA_NOT_AVAILABLE;
    }

    static boolean transient_(BasaltException e) {
        // ClientTimeoutException comes only from reads: a mutation whose answer is late is indeterminate;
        // no address being a client port stays so
        return (e instanceof ConnectionException && !(e instanceof NotAClientPortException)) || e instanceof ClientTimeoutException
                || e instanceof dev.basalt.client.NotControllerException
                || e instanceof dev.basalt.client.BrokerNotAvailableException || e instanceof dev.basalt.client.ThrottledException;
    }

    private boolean sleep(CompletableFuture<?> f) {
        try {
            Thread.sleep(retryBackoffMs);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.completeExceptionally(new DefiniteException("admin client closed", false, e));
            return false;
        }
    }

    /**
     * Runs a per-entity mutation: entities whose answer is a definite retriable error (no
     * controller, broker not available) are sent again after a backoff until the deadline; a
     * whole-request definite retriable failure retries every pending entity.
     */
    public <T> Map<String, CompletableFuture<T>> perEntity(Executor executor, List<String> keys,
                                                          Function<Set<String>, Map<String, EntityResult>> attempt) {
        Map<String, CompletableFuture<T>> futures = new LinkedHashMap<>();
        for (String k : keys) {
            if (futures.put(k, new CompletableFuture<>()) != null) {
                throw new IllegalArgumentException("'" + k + "' appears twice in one request");
            }
        }
        executor.execute(() -> runPerEntity(futures, attempt));
        return futures;
    }

    @SuppressWarnings("unchecked")
    private <T> void runPerEntity(Map<String, CompletableFuture<T>> futures, Function<Set<String>, Map<String, EntityResult>> attempt) {
        long deadline = time.monotonicMs() + apiTimeoutMs;
        Set<String> pending = new LinkedHashSet<>(futures.keySet());
        while (!pending.isEmpty()) {
            boolean last = time.monotonicMs() + retryBackoffMs >= deadline;
            Map<String, EntityResult> results;
            try {
                results = attempt.apply(Set.copyOf(pending));
            } catch (RuntimeException e) {
                BasaltException b = e instanceof BasaltException be ? be : new UnknownServerException("admin call failed: " + e, e);
                if (transient_(b) && !last) {
                    if (tryAnotherBroker(b)) {
                        moveToNextBroker();
                    }
                    if (!sleep(futures.values().iterator().next())) {
                        failAll(futures, pending, new DefiniteException("admin client closed", false));
                        return;
                    }
                    continue;
                }
                failAll(futures, pending, b);
                return;
            }
            if (results.values().stream().anyMatch(r -> tryAnotherBroker(r.code()))) {
                moveToNextBroker();
            }
            for (String k : new ArrayList<>(pending)) {
                EntityResult r = results.get(k);
                if (r == null) {
                    futures.get(k).completeExceptionally(new IndeterminateException(k + ": the broker's answer did not mention it"));
                    pending.remove(k);
                } else if (r.code() == ErrorCode.NONE) {
                    futures.get(k).complete((T) r.value());
                    pending.remove(k);
                } else if (last || !transient_(r.code())) {
                    // an empty name is the broker default (configs --entity-default)
                    futures.get(k).completeExceptionally(Errors.forCode(r.code(), r.message(), k.isEmpty() ? "the broker default" : k));
                    pending.remove(k);
                }
            }
            if (!pending.isEmpty() && !sleep(futures.get(pending.iterator().next()))) {
                failAll(futures, pending, new DefiniteException("admin client closed", false));
                return;
            }
        }
    }

    private static <T> void failAll(Map<String, CompletableFuture<T>> futures, Collection<String> keys, BasaltException e) {
        keys.forEach(k -> futures.get(k).completeExceptionally(e));
    }

    private static ErrorCode wholeRequest(ErrorCode code, String message) {
        if (code != ErrorCode.NONE) {
            throw Errors.forCode(code, message, "request");
        }
        return code;
    }

    public Map<String, EntityResult> createTopics(Collection<NewTopic> topics, Set<String> pending, boolean validateOnly) {
        CreateTopicsRequest.Builder req = CreateTopicsRequest.newBuilder().setTimeoutMs(brokerTimeoutMs()).setValidateOnly(validateOnly);
        for (NewTopic t : topics) {
            if (pending.contains(t.name())) {
                req.addTopics(CreateTopicsRequest.NewTopic.newBuilder().setName(t.name()).setPartitions(t.partitions())
                        .setReplicationFactor(t.replicationFactor()).putAllConfigs(t.configs()));
            }
        }
        CreateTopicsResponse resp = rpc(s -> s.createTopics(req.build()), true, "create topics");
        wholeRequest(resp.getErrorCode(), resp.getErrorMessage());
        Map<String, EntityResult> out = new LinkedHashMap<>();
        for (CreateTopicsResponse.Result r : resp.getTopicsList()) {
            out.put(r.getName(), new EntityResult(r.getErrorCode(), r.getErrorMessage(),
                    new TopicCreated(r.getName(), r.getTopicId(), r.getPartitions(), r.getReplicationFactor())));
        }
        return out;
    }

    public Map<String, EntityResult> deleteTopics(Set<String> pending) {
        DeleteTopicsRequest req = DeleteTopicsRequest.newBuilder().addAllNames(pending).setTimeoutMs(brokerTimeoutMs()).build();
        DeleteTopicsResponse resp = rpc(s -> s.deleteTopics(req), true, "delete topics");
        wholeRequest(resp.getErrorCode(), resp.getErrorMessage());
        Map<String, EntityResult> out = new LinkedHashMap<>();
        resp.getTopicsList().forEach(r -> out.put(r.getName(), new EntityResult(r.getErrorCode(), r.getErrorMessage(), null)));
        return out;
    }

    public Map<String, EntityResult> createPartitions(Map<String, Integer> counts, Set<String> pending, boolean validateOnly) {
        CreatePartitionsRequest.Builder req = CreatePartitionsRequest.newBuilder().setTimeoutMs(brokerTimeoutMs())
                .setValidateOnly(validateOnly);
        counts.forEach((name, count) -> {
            if (pending.contains(name)) {
                req.addTopics(CreatePartitionsRequest.Increase.newBuilder().setName(name).setTotalCount(count));
            }
        });
        CreatePartitionsResponse resp = rpc(s -> s.createPartitions(req.build()), true, "create partitions");
        wholeRequest(resp.getErrorCode(), resp.getErrorMessage());
        Map<String, EntityResult> out = new LinkedHashMap<>();
        resp.getTopicsList().forEach(r -> out.put(r.getName(), new EntityResult(r.getErrorCode(), r.getErrorMessage(), null)));
        return out;
    }

    public Map<String, EntityResult> alterConfigs(Map<ConfigResource, List<AlterConfigOp>> changes, Set<String> pending,
                                                  boolean validateOnly) {
        AlterConfigsRequest.Builder req = AlterConfigsRequest.newBuilder().setValidateOnly(validateOnly).setTimeoutMs(brokerTimeoutMs());
        changes.forEach((res, ops) -> {
            if (!pending.contains(res.name())) {
                return;
            }
            AlterConfigsRequest.Change.Builder c = AlterConfigsRequest.Change.newBuilder().setResource(toProto(res));
            for (AlterConfigOp op : ops) {
                c.addOperations(AlterConfigsRequest.Operation.newBuilder().setName(op.name())
                        .setOp(op.op() == AlterConfigOp.Op.SET ? AlterConfigsRequest.Operation.Op.SET
                                : AlterConfigsRequest.Operation.Op.DELETE)
                        .setValue(op.value() == null ? "" : op.value()));
            }
            req.addResources(c);
        });
        AlterConfigsResponse resp = rpc(s -> s.alterConfigs(req.build()), true, "alter configs");
        wholeRequest(resp.getErrorCode(), resp.getErrorMessage());
        Map<String, EntityResult> out = new LinkedHashMap<>();
        resp.getResourcesList().forEach(r -> out.put(r.getResource().getName(),
                new EntityResult(r.getErrorCode(), r.getErrorMessage(), null)));
        return out;
    }

    static dev.basalt.proto.v1.ConfigResource toProto(ConfigResource r) {
        return dev.basalt.proto.v1.ConfigResource.newBuilder().setName(r.name())
                .setType(r.type() == ConfigResource.Type.TOPIC ? dev.basalt.proto.v1.ConfigResource.Type.TOPIC
                        : dev.basalt.proto.v1.ConfigResource.Type.BROKER).build();
    }

    public List<TopicListing> listTopics(boolean includeInternal) {
        return queries.listTopics(includeInternal);
    }

    public Map<String, TopicDescription> describeTopics(List<String> names) {
        return queries.describeTopics(names);
    }

    public Map<ConfigResource, List<ConfigEntry>> describeConfigs(List<ConfigResource> resources, List<String> names) {
        return queries.describeConfigs(resources, names);
    }

    /** DescribeStorage of the broker at {@code address} (not any broker: storage is per broker). */
    public dev.basalt.client.admin.StorageDescription describeStorage(HostPort address) {
        dev.basalt.proto.v1.DescribeStorageResponse r;
        try {
            r = AdminServiceGrpc.newBlockingStub(channels.channel(address)).withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS)
                    .describeStorage(dev.basalt.proto.v1.DescribeStorageRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
            throw Errors.forTransport(e, false, "describe storage of " + address);
        }
        check(r.getErrorCode(), r.getErrorMessage(), "describe storage of " + address);
        return new dev.basalt.client.admin.StorageDescription(r.getBrokerId(), r.getDataDir(), r.getUsableBytes(), r.getFreeBytesMin(),
                r.getDirectoryFailure(), r.getScrubBytesPerSecond(), r.getScrubBytesVerified(), r.getScrubPassesCompleted(),
                r.getScrubCorruptBatchesFound(), r.getOfflineReplicasList().stream().map(o ->
                        new dev.basalt.client.admin.BrokerDescription.OfflineReplica(o.getTopic(), o.getPartition(), o.getReason()))
                        .toList(), r.getReadCorruptBatchesFound(), r.getRefusingAppendsList().stream().map(o ->
                        new dev.basalt.client.admin.BrokerDescription.OfflineReplica(o.getTopic(), o.getPartition(), o.getReason()))
                        .toList(), r.getStartupCorruptPartitionsFound());
    }

    public ClusterDescription describeCluster(boolean includeFenced) {
        return queries.describeCluster(includeFenced);
    }

    public QuorumDescription describeQuorum() {
        return queries.describeQuorum();
    }

    /** For a whole-request error code of a read. */
    static void check(ErrorCode code, String message, String what) {
        if (code != ErrorCode.NONE) {
            throw Errors.forCode(code, message, what);
        }
    }
}
