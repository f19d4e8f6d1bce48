package dev.basalt.client.testkit;

import com.google.protobuf.ByteString;
import dev.basalt.proto.v1.BrokerNode;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.proto.v1.FetchServiceGrpc;
import dev.basalt.proto.v1.ListOffsetsRequest;
import dev.basalt.proto.v1.ListOffsetsResponse;
import dev.basalt.proto.v1.ListOffsetsServiceGrpc;
import dev.basalt.proto.v1.MetadataRequest;
import dev.basalt.proto.v1.MetadataResponse;
import dev.basalt.proto.v1.MetadataServiceGrpc;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.proto.v1.ProduceServiceGrpc;
import dev.basalt.record.CorruptRecordException;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordTooLargeException;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * One broker of a {@link FakeCluster}: a real gRPC server on 127.0.0.1 serving Produce, Fetch,
 * ListOffsets, Metadata, Admin ({@link FakeAdminService}) and Group ({@link FakeGroupService}) from the cluster's shared state,
 * answering NOT_LEADER (with a leader hint) for partitions it does not lead.
 *
 * <p>{@link #disconnect()} drops every connection (the server is shut down at once and
 * restarted on the same port), which a client sees as a connection lost mid-request.
 *
 * <p>Thread-safety: thread-safe; request handlers synchronize on the cluster.
 */
public final class FakeBroker {
    private final FakeCluster cluster;
    private final int id;
    private volatile int port;
    private volatile Server server;
    private volatile String rack = "";
    private volatile boolean stopped;
    private volatile boolean notController;
    final java.util.concurrent.atomic.AtomicInteger adminRequests = new java.util.concurrent.atomic.AtomicInteger();

    FakeBroker(FakeCluster cluster, int id) throws IOException {
        this.cluster = cluster;
        this.id = id;
        this.server = build(0).start();
        this.port = server.getPort();
    }

    private Server build(int bindPort) {
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", bindPort))
                .withOption(ChannelOption.SO_REUSEADDR, true)
                .maxInboundMessageSize(cluster.messageBytesMax)
                .addService(new Produce())
                .addService(new Fetch())
                .addService(new ListOffsets())
                .addService(new Metadata())
                .addService(new FakeAdminService(cluster, this))
                .addService(io.grpc.ServerInterceptors.intercept(cluster.groups(), new io.grpc.ServerInterceptor() {
                    @Override
                    public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, io.grpc.Metadata headers,
                                                                             io.grpc.ServerCallHandler<Q, R> next) {
                        // the group service is shared by the brokers: it learns which one a call reached
                        return io.grpc.Contexts.interceptCall(io.grpc.Context.current().withValue(BROKER_ID, id), call, headers, next);
                    }
                }))
                .build();
    }

    public int id() {
        return id;
    }

    /** In a call to the shared group service: the id of the broker it reached. */
    static final io.grpc.Context.Key<Integer> BROKER_ID = io.grpc.Context.key("fake-broker-id");

    public int port() {
        return port;
    }

    BrokerNode node() {
        return BrokerNode.newBuilder().setId(id).setHost("127.0.0.1").setPort(port).setRack(rack).build();
    }

    /** Sets this broker's broker.rack ("" = none). */
    public void setRack(String rack) {
        this.rack = rack;
    }

    public String rack() {
        return rack;
    }

    /** True once {@link #stop()} was called: the broker counts as offline. */
    public boolean stopped() {
        return stopped;
    }

    /**
     * While set, this broker answers admin mutations and DescribeQuorum with NOT_CONTROLLER (as a
     * broker that cannot reach the active controller would); other brokers are unaffected.
     */
    public void answerNotController(boolean on) {
        this.notController = on;
    }

    boolean notController() {
        return notController;
    }

    private volatile boolean isolated;

    /** While set, this broker's DescribeCluster names no active controller (cut off from the quorum, it saw none lately). */
    public void isolate(boolean on) {
        this.isolated = on;
    }

    boolean isolated() {
        return isolated;
    }

    /** Admin requests this broker received. */
    public int adminRequests() {
        return adminRequests.get();
    }

    /** Drops every connection now (no answers for in-flight calls), then listens again on the same port. */
    public synchronized void disconnect() {
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
            server = build(port).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the broker for good (connections then fail as refused). */
    public synchronized void stop() {
        stopped = true;
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Starts a stopped broker again on the same port (as a restarted process would). */
    public synchronized void restart() {
        try {
            server = build(port).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        stopped = false;
    }

    void close() {
        stop();
    }

    /** Leadership and existence check shared by produce, fetch and list offsets; NONE if fine. */
    private ErrorCode check(FakeCluster.Topic t, int partition) {
        if (t == null) {
            return ErrorCode.UNKNOWN_TOPIC;
        }
        if (partition < 0 || partition >= t.partitions.size()) {
            return ErrorCode.INVALID_PARTITION;
        }
        return t.partitions.get(partition).leaderId == id ? ErrorCode.NONE : ErrorCode.NOT_LEADER;
    }

    /**
     * Fetch checks: a planned fault for this broker first; then the leader or any other
     * replica serves (a follower only what its high watermark covers), and the request's
     * current_leader_epoch must match the partition's (older: FENCED_LEADER_EPOCH, newer:
     * UNKNOWN_LEADER_EPOCH), as fetch.proto promises.
     */
    private ErrorCode checkFetch(FakeCluster.Topic t, FetchRequest.PartitionData pd) {
        if (t == null) {
            return ErrorCode.UNKNOWN_TOPIC;
        }
        if (pd.getPartition() < 0 || pd.getPartition() >= t.partitions.size()) {
            return ErrorCode.INVALID_PARTITION;
        }
        java.util.Queue<ErrorCode> faults = cluster.fetchFaults.get(id);
        ErrorCode fault = faults == null ? null : faults.poll();
        if (fault != null) {
            return fault;
        }
        FakeCluster.PartitionLog log = t.partitions.get(pd.getPartition());
        if (log.leaderId != id && !log.replicas.contains(id)) {
            return ErrorCode.NOT_LEADER;
        }
        if (pd.hasCurrentLeaderEpoch() && pd.getCurrentLeaderEpoch() >= 0) {
            if (pd.getCurrentLeaderEpoch() < log.leaderEpoch) {
                return ErrorCode.FENCED_LEADER_EPOCH;
            }
            if (pd.getCurrentLeaderEpoch() > log.leaderEpoch) {
                return ErrorCode.UNKNOWN_LEADER_EPOCH;
            }
        }
        return ErrorCode.NONE;
    }

    private final class Produce extends ProduceServiceGrpc.ProduceServiceImplBase {
        @Override
        public void initProducerId(dev.basalt.proto.v1.InitProducerIdRequest req,
                                   StreamObserver<dev.basalt.proto.v1.InitProducerIdResponse> out) {
            FakeBroker.this.initProducerId(req, out);
        }

        /**
         * ProduceStream as the real broker serves it: requests handled one at a time in stream
         * order, each answer tagged with its correlation id; a request whose unary handling would
         * fail the call (a planned fault) fails the whole stream.
         */
        @Override
        public StreamObserver<ProduceRequest> produceStream(StreamObserver<ProduceResponse> out) {
            synchronized (cluster) {
                cluster.produceStreams++;
                if (cluster.produceStreamUnimplemented) {
                    return super.produceStream(out); // an older broker: UNIMPLEMENTED
                }
            }
            return new StreamObserver<>() {
                private boolean failed;

                @Override
                public void onNext(ProduceRequest req) {
                    produce(req, new StreamObserver<>() {
                        @Override
                        public void onNext(ProduceResponse r) {
                            synchronized (out) {
                                if (!failed) {
                                    out.onNext(r.toBuilder().setCorrelationId(req.getCorrelationId()).build());
                                }
                            }
                        }

                        @Override
                        public void onError(Throwable t) {
                            synchronized (out) {
                                if (!failed) {
                                    failed = true;
                                    out.onError(t);
                                }
                            }
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
                }

                @Override
                public void onError(Throwable t) {
                    synchronized (out) {
                        failed = true;
                    }
                }

                @Override
                public void onCompleted() {
                    synchronized (out) {
                        if (!failed) {
                            failed = true;
                            out.onCompleted();
                        }
                    }
                }
            };
        }

        @Override
        public void produce(ProduceRequest req, StreamObserver<ProduceResponse> out) {
            synchronized (cluster) {
                cluster.produceRequests++;
                cluster.produceTimeoutsMs.add(req.getTimeoutMs());
                cluster.producePartitionCounts.add(req.getTopicsList().stream().mapToInt(ProduceRequest.TopicData::getPartitionsCount).sum());
            }
            try {
                cluster.awaitProduceReleased(id);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            ProduceResponse.Builder resp = ProduceResponse.newBuilder();
            boolean disconnect = false;
            boolean failAfterAnswer = false;
            boolean isrStalled;
            synchronized (cluster) {
                isrStalled = cluster.isrStalled && req.getAcks() == -1;
                if (req.getAcks() < -1 || req.getAcks() > 1) {
                    out.onNext(resp.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("acks " + req.getAcks()).build());
                    out.onCompleted();
                    return;
                }
                for (ProduceRequest.TopicData td : req.getTopicsList()) {
                    ProduceResponse.TopicResponse.Builder tr = ProduceResponse.TopicResponse.newBuilder().setName(td.getName());
                    for (ProduceRequest.PartitionData pd : td.getPartitionsList()) {
                        FakeCluster.PlannedFault fault = cluster.produceFaults.poll();
                        disconnect |= fault != null && fault.kind() == FakeCluster.Fault.DISCONNECT_AFTER_APPEND;
                        failAfterAnswer |= fault != null && fault.kind() == FakeCluster.Fault.CALL_FAILS_AFTER_ANSWER;
                        tr.addPartitions(producePartition(td.getName(), pd, fault));
                    }
                    resp.addTopics(tr);
                }
            }
            if (disconnect) {
                new Thread(this::drop, "fake-broker-disconnect").start();
                return;
            }
            if (isrStalled) {
                answerWhenIsrTimesOut(req, resp, out);
                return;
            }
            out.onNext(resp.build());
            if (failAfterAnswer) {
                out.onError(io.grpc.Status.UNAVAILABLE.withDescription("fault: the call failed after its answer").asRuntimeException());
                return;
            }
            out.onCompleted();
        }

        /**
         * As a leader whose ISR does not acknowledge (followers paused, the quorum lost so the ISR
         * cannot shrink): what it appended (or found stored already) it answers REQUEST_TIMED_OUT,
         * after the request's timeout_ms; errors at once.
         */
        private void answerWhenIsrTimesOut(ProduceRequest req, ProduceResponse.Builder resp, StreamObserver<ProduceResponse> out) {
            boolean waits = false;
            for (ProduceResponse.TopicResponse.Builder t : resp.getTopicsBuilderList()) {
                for (ProduceResponse.PartitionResponse.Builder p : t.getPartitionsBuilderList()) {
                    if (p.getErrorCode() == ErrorCode.NONE || p.getErrorCode() == ErrorCode.DUPLICATE_SEQUENCE) {
                        waits = true;
                        p.setErrorCode(ErrorCode.REQUEST_TIMED_OUT).setBaseOffset(-1).setErrorMessage("fake broker " + id
                                + ": the ISR did not acknowledge the batch within timeout_ms; it is in the leader's log");
                    }
                }
            }
            ProduceResponse answer = resp.build();
            cluster.answerLater(waits ? req.getTimeoutMs() : 0, () -> {
                try {
                    out.onNext(answer);
                    out.onCompleted();
                } catch (RuntimeException e) {
                    // the client cancelled the call meanwhile (its deadline, or it closed)
                }
            });
        }

        private void drop() {
            disconnect();
        }

        private ProduceResponse.PartitionResponse producePartition(String topic, ProduceRequest.PartitionData pd,
                                                                   FakeCluster.PlannedFault fault) {
            ProduceResponse.PartitionResponse.Builder r = ProduceResponse.PartitionResponse.newBuilder()
                    .setPartition(pd.getPartition()).setBaseOffset(-1).setLogAppendTimeMs(-1).setLogStartOffset(-1);
            FakeCluster.Topic t = cluster.topics.get(topic);
            ErrorCode err = check(t, pd.getPartition());
            if (err == ErrorCode.NONE && fault != null && fault.kind() == FakeCluster.Fault.ERROR_BEFORE_APPEND) {
                err = fault.code();
            }
            if (err != ErrorCode.NONE) {
                r.setErrorCode(err).setErrorMessage("fake broker " + id);
                if (err == ErrorCode.NOT_LEADER && t != null) {
                    FakeCluster.PartitionLog log = t.partitions.get(pd.getPartition());
                    r.setLeaderIdHint(log.leaderId).setLeaderEpochHint(log.leaderEpoch);
                }
                return r.build();
            }
            try {
                FakeCluster.AppendResult a = cluster.appendIdempotent(t, pd.getPartition(), pd.getRecords().asReadOnlyByteBuffer());
                if (a.error() != ErrorCode.NONE && a.error() != ErrorCode.DUPLICATE_SEQUENCE) {
                    return r.setErrorCode(a.error()).setErrorMessage("fake broker " + id).build();
                }
                r.setErrorCode(a.error()).setBaseOffset(a.baseOffset())
                        .setLogStartOffset(t.partitions.get(pd.getPartition()).logStartOffset);
            } catch (RecordTooLargeException e) {
                return r.setErrorCode(ErrorCode.RECORD_TOO_LARGE).setErrorMessage(e.getMessage()).build();
            } catch (CorruptRecordException e) {
                return r.setErrorCode(ErrorCode.CORRUPT_RECORD).setErrorMessage(e.getMessage()).build();
            }
            if (fault != null && fault.kind() == FakeCluster.Fault.ERROR_AFTER_APPEND) {
                r.setErrorCode(fault.code()).setErrorMessage("fake: appended, then " + fault.code()).setBaseOffset(-1);
            }
            return r.build();
        }
    }

    /** Epoch bumps keep the id; a fresh id comes from the cluster's counter. */
    private void initProducerId(dev.basalt.proto.v1.InitProducerIdRequest req,
                                StreamObserver<dev.basalt.proto.v1.InitProducerIdResponse> out) {
        synchronized (cluster) {
            cluster.initProducerIdRequests++;
        }
        var b = dev.basalt.proto.v1.InitProducerIdResponse.newBuilder();
        ErrorCode fault = cluster.nextInitProducerIdError();
        if (fault != null) {
            out.onNext(b.setErrorCode(fault).setErrorMessage("injected").build());
            out.onCompleted();
            return;
        }
        if (req.getProducerId() >= 0) {
            b.setProducerId(req.getProducerId()).setProducerEpoch(req.getProducerEpoch() + 1);
        } else {
            b.setProducerId(cluster.nextProducerId()).setProducerEpoch(0);
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    private final class Fetch extends FetchServiceGrpc.FetchServiceImplBase {
        @Override
        public void fetch(FetchRequest req, StreamObserver<FetchResponse> out) {
            FetchResponse resp = answer(req);
            if (resp != null) {
                out.onNext(resp);
                out.onCompleted();
            }
        }

        /**
         * As the broker does: one fetch at a time in stream order, each answered with the parts
         * FetchInParts would send, tagged with its correlation id, the last one marked. A stopped
         * broker leaves the fetch unanswered.
         */
        @Override
        public StreamObserver<FetchRequest> fetchStream(StreamObserver<FetchResponse> out) {
            synchronized (cluster) {
                cluster.fetchStreams++;
                if (cluster.fetchStreamUnimplemented) {
                    return super.fetchStream(out); // an older broker: UNIMPLEMENTED
                }
            }
            return new StreamObserver<>() {
                @Override
                public void onNext(FetchRequest req) {
                    java.util.List<FetchResponse> parts = new java.util.ArrayList<>();
                    fetchInParts(req, new StreamObserver<>() {
                        @Override
                        public void onNext(FetchResponse r) {
                            parts.add(r);
                        }

                        @Override
                        public void onError(Throwable t) {
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
                    synchronized (out) {
                        for (int i = 0; i < parts.size(); i++) {
                            out.onNext(parts.get(i).toBuilder().setCorrelationId(req.getCorrelationId())
                                    .setLastPart(i == parts.size() - 1).build());
                        }
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    synchronized (out) {
                        out.onCompleted();
                    }
                }
            };
        }

        /** As the broker does: the answer cut into parts, here one partition per part. */
        @Override
        public void fetchInParts(FetchRequest req, StreamObserver<FetchResponse> out) {
            FetchResponse resp = answer(req);
            if (resp == null) {
                return;
            }
            if (resp.getTopicsCount() == 0) {
                out.onNext(resp);
            }
            for (FetchResponse.TopicResponse t : resp.getTopicsList()) {
                for (FetchResponse.PartitionResponse p : t.getPartitionsList()) {
                    out.onNext(resp.toBuilder().clearTopics().addTopics(t.toBuilder().clearPartitions().addPartitions(p)).build());
                }
            }
            out.onCompleted();
        }

        private FetchResponse answer(FetchRequest req) {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(req.getMaxWaitMs());
            FetchResponse resp;
            synchronized (cluster) {
                if (stopped) {
                    return null;
                }
                java.util.Map<String, Long> asked = new java.util.LinkedHashMap<>();
                req.getTopicsList().forEach(t -> t.getPartitionsList().forEach(
                        pd -> asked.put(t.getName() + "-" + pd.getPartition(), pd.getFetchOffset())));
                cluster.fetches.add(asked);
                while ((cluster.fetchHeld || cluster.fetchHeldOn.contains(id)) && !stopped) {
                    try {
                        cluster.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return null;
                    }
                }
                if (stopped) {
                    return null;
                }
                while (true) {
                    int[] bytes = new int[1];
                    boolean[] error = new boolean[1];
                    resp = read(req, bytes, error);
                    long left = deadline - System.nanoTime();
                    if (error[0] || bytes[0] >= Math.max(1, req.getMinBytes()) || left <= 0) {
                        break;
                    }
                    try {
                        TimeUnit.NANOSECONDS.timedWait(cluster, left);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return null;
                    }
                }
                resp.getTopicsList().forEach(t -> t.getPartitionsList().forEach(p -> {
                    if (p.getErrorCode() == ErrorCode.NONE) {
                        cluster.fetchedPartitions.merge(id, 1, Integer::sum);
                    }
                }));
            }
            return resp;
        }

        private FetchResponse read(FetchRequest req, int[] totalBytes, boolean[] anyError) {
            FetchResponse.Builder resp = FetchResponse.newBuilder();
            for (FetchRequest.TopicData td : req.getTopicsList()) {
                FakeCluster.Topic t = cluster.topics.get(td.getName());
                FetchResponse.TopicResponse.Builder tr = FetchResponse.TopicResponse.newBuilder().setName(td.getName());
                if (t != null) {
                    tr.setTopicId(t.id);
                }
                for (FetchRequest.PartitionData pd : td.getPartitionsList()) {
                    FetchResponse.PartitionResponse.Builder pr = FetchResponse.PartitionResponse.newBuilder()
                            .setPartition(pd.getPartition()).setHighWatermark(-1).setLogStartOffset(-1).setLastStableOffset(-1)
                            .setLogEndOffset(-1);
                    ErrorCode err = checkFetch(t, pd);
                    if (err == ErrorCode.NONE && !td.getTopicId().isEmpty() && !td.getTopicId().equals(t.id)) {
                        err = ErrorCode.UNKNOWN_TOPIC_ID;
                    }
                    if (err == ErrorCode.NONE && redirect(t.partitions.get(pd.getPartition()), req.getClientRack(), pr)) {
                        anyError[0] = true; // answer at once: the consumer moves to the replica
                    } else if (err == ErrorCode.NONE && pd.getVerifyChecksums()
                            && cluster.checkAndHeal(td.getName(), pd.getPartition(), pd.getFetchOffset())) {
                        err = ErrorCode.CORRUPT_STORED_DATA;
                        pr.setErrorMessage("fake broker " + id + ": a batch failed its CRC");
                    } else if (err == ErrorCode.NONE) {
                        err = readPartition(t.partitions.get(pd.getPartition()), pd, req.getMaxBytes() - totalBytes[0], pr);
                        totalBytes[0] += pr.getRecords().size();
                    }
                    if (err != ErrorCode.NONE) {
                        anyError[0] = true;
                        pr.setErrorCode(err);
                    }
                    tr.addPartitions(pr);
                }
                resp.addTopics(tr);
            }
            return resp.build();
        }

        /**
         * The leader, asked by a consumer in another rack, names an in-sync follower in the
         * consumer's rack as preferred read replica (KIP-392) and sends no records.
         */
        private boolean redirect(FakeCluster.PartitionLog log, String clientRack, FetchResponse.PartitionResponse.Builder pr) {
            if (clientRack.isEmpty() || log.leaderId != id || clientRack.equals(rack)) {
                return false;
            }
            for (int replica : log.isr) {
                if (replica != id && !cluster.fenced.contains(replica) && clientRack.equals(cluster.broker(replica).rack())) {
                    pr.setPreferredReadReplica(replica).setHighWatermark(log.logEndOffset).setLogStartOffset(log.logStartOffset)
                            .setLastStableOffset(log.logEndOffset).setLogEndOffset(log.logEndOffset);
                    return true;
                }
            }
            return false;
        }

        private ErrorCode readPartition(FakeCluster.PartitionLog log, FetchRequest.PartitionData pd, int budget,
                                        FetchResponse.PartitionResponse.Builder pr) {
            // a follower has the log up to its high watermark only (its log end, in this fake)
            long end = log.leaderId == id ? log.logEndOffset : log.followerHw();
            pr.setHighWatermark(end).setLogStartOffset(log.logStartOffset).setLastStableOffset(end).setLogEndOffset(end);
            long offset = pd.getFetchOffset();
            if (offset < log.logStartOffset || offset > end) {
                return ErrorCode.OFFSET_OUT_OF_RANGE;
            }
            ByteString.Output data = ByteString.newOutput();
            int limit = Math.min(pd.getPartitionMaxBytes(), Math.max(0, budget));
            for (FakeCluster.StoredBatch b : log.batches) {
                if (b.lastOffset() < offset) {
                    continue;
                }
                if (b.lastOffset() >= end) {
                    break;
                }
                if (data.size() > 0 && data.size() + b.bytes().length > limit) {
                    break;
                }
                if (data.size() == 0 && b.bytes().length > limit && budget <= 0) {
                    break;
                }
                data.write(b.bytes(), 0, b.bytes().length);
            }
            pr.setRecords(data.toByteString());
            return ErrorCode.NONE;
        }
    }

    private final class ListOffsets extends ListOffsetsServiceGrpc.ListOffsetsServiceImplBase {
        @Override
        public void listOffsets(ListOffsetsRequest req, StreamObserver<ListOffsetsResponse> out) {
            ListOffsetsResponse.Builder resp = ListOffsetsResponse.newBuilder();
            synchronized (cluster) {
                for (ListOffsetsRequest.TopicData td : req.getTopicsList()) {
                    FakeCluster.Topic t = cluster.topics.get(td.getName());
                    ListOffsetsResponse.TopicResponse.Builder tr = ListOffsetsResponse.TopicResponse.newBuilder().setName(td.getName());
                    for (ListOffsetsRequest.PartitionData pd : td.getPartitionsList()) {
                        tr.addPartitions(lookup(t, pd));
                    }
                    resp.addTopics(tr);
                }
            }
            out.onNext(resp.build());
            out.onCompleted();
        }

        private ListOffsetsResponse.PartitionResponse lookup(FakeCluster.Topic t, ListOffsetsRequest.PartitionData pd) {
            ListOffsetsResponse.PartitionResponse.Builder r = ListOffsetsResponse.PartitionResponse.newBuilder()
                    .setPartition(pd.getPartition()).setOffset(-1).setTimestamp(-1).setLeaderEpoch(-1);
            ErrorCode err = check(t, pd.getPartition());
            if (err != ErrorCode.NONE) {
                return r.setErrorCode(err).build();
            }
            FakeCluster.PartitionLog log = t.partitions.get(pd.getPartition());
            r.setLeaderEpoch(log.leaderEpoch);
            long ts = pd.getTimestamp();
            if (ts == -2) {
                return r.setOffset(log.logStartOffset).build();
            }
            if (ts == -1) {
                return r.setOffset(log.logEndOffset).build();
            }
            if (ts < -2) {
                return r.setErrorCode(ErrorCode.INVALID_REQUEST).build();
            }
            for (FakeCluster.StoredBatch b : log.batches) {
                if (b.maxTimestamp() < ts) {
                    continue;
                }
                for (Record rec : RecordBatch.wrap(ByteBuffer.wrap(b.bytes())).records()) {
                    if (rec.timestamp() >= ts && rec.offset() >= log.logStartOffset) {
                        return r.setOffset(rec.offset()).setTimestamp(rec.timestamp()).build();
                    }
                }
            }
            return r.build();
        }
    }

    private final class Metadata extends MetadataServiceGrpc.MetadataServiceImplBase {
        @Override
        public void metadata(MetadataRequest req, StreamObserver<MetadataResponse> out) {
            MetadataResponse.Builder resp = MetadataResponse.newBuilder().setClusterId(cluster.clusterId());
            synchronized (cluster) {
                cluster.metadataRequests++;
                resp.setControllerId(cluster.controllerId());
                cluster.brokers().stream().filter(b -> !cluster.fenced.contains(b.id())).forEach(b -> resp.addBrokers(b.node()));
                Iterable<String> names = req.getAllTopics() ? cluster.topics.keySet() : req.getTopicsList();
                for (String name : names) {
                    resp.addTopics(describe(name));
                }
            }
            try {
                cluster.awaitMetadataReleased(id);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                out.onError(io.grpc.Status.CANCELLED.asRuntimeException());
                return;
            }
            out.onNext(resp.build());
            out.onCompleted();
        }

        private MetadataResponse.TopicMetadata describe(String name) {
            MetadataResponse.TopicMetadata.Builder tm = MetadataResponse.TopicMetadata.newBuilder().setName(name);
            FakeCluster.Topic t = cluster.topics.get(name);
            if (t == null) {
                return tm.setErrorCode(FakeCluster.isLegalTopicName(name) ? ErrorCode.UNKNOWN_TOPIC : ErrorCode.INVALID_TOPIC).build();
            }
            tm.setTopicId(t.id).setMaxMessageBytes(cluster.maxMessageBytes(t));
            for (int p = 0; p < t.partitions.size(); p++) {
                FakeCluster.PartitionLog log = t.partitions.get(p);
                int[] stale = cluster.staleMetadataLeaders.get(name + "-" + p);
                tm.addPartitions(MetadataResponse.PartitionMetadata.newBuilder().setPartition(p)
                        .setLeaderId(stale != null ? stale[0] : log.leaderId).setLeaderEpoch(stale != null ? stale[1] : log.leaderEpoch)
                        .addAllReplicas(log.replicas).addAllIsr(log.isr)
                        .addAllOfflineReplicas(cluster.offline(name, p, log)));
            }
            return tm.build();
        }
    }
}
