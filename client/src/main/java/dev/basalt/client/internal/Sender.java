package dev.basalt.client.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.basalt.client.BasaltException;
import dev.basalt.client.ClientTimeoutException;
import dev.basalt.client.ConnectionException;
import dev.basalt.client.DefiniteException;
import dev.basalt.client.IndeterminateException;
import dev.basalt.client.TopicPartition;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.proto.v1.ProduceServiceGrpc;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The producer's I/O thread: drains ready batches from the {@link RecordAccumulator}, groups
 * them per leader into Produce requests (at most max.in.flight.requests.per.connection
 * unanswered per broker), and handles the answers: completes futures, retries retriable
 * failures with exponential backoff within retries and delivery.timeout.ms, asks for a
 * metadata refresh when leadership moved, and fails the rest with typed exceptions. A batch's
 * delivery deadline bounds its requests too: none asks the broker to wait longer than the time
 * its batches have left, and a batch still unanswered at its deadline fails then
 * (see expireInFlight).
 *
 * <p>Every response is handed from the gRPC thread to this thread through a queue, so all
 * batch state changes (and all user future callbacks) run on the sender thread.
 *
 * <p>Thread-safety: {@link #run()} on one dedicated thread; {@link #wakeup()} and
 * {@link #initiateClose} from any thread.
 */
public final class Sender implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Sender.class);

    /** Everything the sender needs from the producer configuration. */
    public record Settings(int acks, int requestTimeoutMs, int maxInFlightPerBroker, int requestSizeBytesMax, int retries,
                           long retryBackoffMs, long retryBackoffMaxMs, boolean idempotent) {
        /** Without idempotence (tests and callers that predate it). */
        public Settings(int acks, int requestTimeoutMs, int maxInFlightPerBroker, int requestSizeBytesMax, int retries,
                        long retryBackoffMs, long retryBackoffMaxMs) {
            this(acks, requestTimeoutMs, maxInFlightPerBroker, requestSizeBytesMax, retries, retryBackoffMs, retryBackoffMaxMs, false);
        }
    }

    private final RecordAccumulator accumulator;
    private final MetadataManager metadata;
    private final ChannelPool channels;
    private final Settings settings;
    private final Time time;
    private final RandomGenerator jitter;
    private final ConcurrentLinkedQueue<Runnable> completions = new ConcurrentLinkedQueue<>();
    private final Map<Integer, Integer> inFlight = new HashMap<>();
    private final Object wakeLock = new Object();
    private boolean wakeupPending;
    private volatile boolean running = true;
    private volatile boolean forceClose;
    private volatile Throwable fatal;
    /** Produce requests whose answer is outstanding (sender thread only; {@link #abortInFlight} once it is dead). */
    private final Set<InFlightRequest> inFlightRequests = new java.util.LinkedHashSet<>();
    private int inFlightTotal;
    private long nextLeaderRefreshMs = Long.MIN_VALUE;
    /** The idempotent producer's id, epoch and sequences; null when idempotence is off. */
    private final IdempotenceState idem;
    /** Totals for Producer.metrics(). */
    private final ProducerStats stats;
    /** The open ProduceStream per broker id (sender thread only). */
    private final Map<Integer, ProduceStreamCall> streams = new HashMap<>();
    /**
     * Brokers that answered ProduceStream with UNIMPLEMENTED, and until when they get unary Produce
     * instead (sender thread only): retried after a while, as a rolling upgrade may add it.
     */
    private final Map<Integer, Long> unaryUntilMs = new HashMap<>();
    /** How long a broker without ProduceStream gets unary calls before the stream is tried again. */
    static final long UNARY_FALLBACK_MS = 60_000;
    private long nextCorrelationId = 1;

    public Sender(RecordAccumulator accumulator, MetadataManager metadata, ChannelPool channels, Settings settings,
                  Time time, RandomGenerator jitter) {
        this.accumulator = accumulator;
        this.metadata = metadata;
        this.channels = channels;
        this.settings = settings;
        this.time = time;
        this.jitter = jitter;
        this.idem = settings.idempotent() ? new IdempotenceState() : null;
        this.stats = new ProducerStats(time.monotonicMs());
        accumulator.onSplit(stats::split);
        metadata.addListener(this::wakeup);
    }

    /** The idempotent producer's state (tests, metrics); null when idempotence is off. Sender thread only. */
    IdempotenceState idempotence() {
        return idem;
    }

    public ProducerStats stats() {
        return stats;
    }

    public void wakeup() {
        synchronized (wakeLock) {
            wakeupPending = true;
            wakeLock.notifyAll();
        }
    }

    /** Stop after everything queued is sent and answered (graceful) or at once (force). */
    public void initiateClose(boolean force) {
        running = false;
        forceClose |= force;
        wakeup();
    }

    @Override
    public void run() {
        try {
            while (running) {
                runOnce();
            }
            while (!forceClose && (accumulator.hasIncomplete() || inFlightTotal > 0)) {
                runOnce();
            }
            accumulator.abortQueued(new DefiniteException("producer closed before the batch was sent", false));
            while (inFlightTotal > 0 && !forceClose) {
                runOnce();
            }
            closeStreams();
        } catch (RuntimeException | Error e) {
            fatal = e;
            LOG.error("producer sender thread died; failing all pending records", e);
            accumulator.abortQueued(new DefiniteException("producer sender failed: " + e, false, e));
            abortInFlight();
            closeStreams();
            throw e;
        }
    }

    /** Ends every ProduceStream: half-closed when nothing waits on it, else cancelled. */
    private void closeStreams() {
        for (ProduceStreamCall c : List.copyOf(streams.values())) {
            c.dead = true;
            try {
                if (c.pending.isEmpty()) {
                    c.requests.onCompleted();
                } else {
                    c.requests.cancel("producer closed", null);
                }
            } catch (RuntimeException e) {
                LOG.debug("closing the produce stream to broker {}", c.node, e);
            }
        }
        streams.clear();
    }

    /** The error that stopped the sender thread, or null while it runs normally. */
    public Throwable fatalError() {
        return fatal;
    }

    /** One pass: handle answers, send what is ready, expire what is too old, then wait. */
    void runOnce() {
        Runnable r;
        while ((r = completions.poll()) != null) {
            r.run();
        }
        long now = time.monotonicMs();
        Cluster cluster = metadata.current();
        metadata.maybeRefreshStale();
        RecordAccumulator.ReadyCheck ready = accumulator.ready(cluster, now);
        if (!ready.unknownLeaderTopics().isEmpty()) {
            metadata.track(ready.unknownLeaderTopics());
            metadata.refresh();
            failDeletedTopics(ready.unknownLeaderTopics());
        }
        if (ready.awaitingNewLeader() && now >= nextLeaderRefreshMs) {
            // a batch refused for leadership may be backing off for up to retry.backoff.max.ms;
            // look for the new leader every retry.backoff.ms meanwhile, so that failover costs
            // about one refresh after the controller's election, not the batch's whole backoff
            metadata.refresh();
            nextLeaderRefreshMs = now + Math.max(1, settings.retryBackoffMs());
        }
        Set<Integer> nodes = new java.util.HashSet<>();
        for (int node : ready.readyNodes()) {
            if (inFlight.getOrDefault(node, 0) < settings.maxInFlightPerBroker()) {
                nodes.add(node);
            }
        }
        if (idem != null) {
            maybeInitProducerId(cluster, now);
        }
        // expiry before the drain: a batch whose delivery time is up is failed, not sent with no time left
        for (ProducerBatch b : accumulator.expire(now)) {
            finishFailed(b, expiredError(b, now));
        }
        long inFlightExpiryDelayMs = expireInFlight(now);
        Map<Integer, List<ProducerBatch>> drained = accumulator.drain(cluster, nodes, settings.requestSizeBytesMax(), now, idem);
        expireStreamRequests(now);
        if (idem != null) {
            checkStalledStreams(cluster, now); // its retries are safe only with sequence numbers
        }
        drained.forEach((node, batches) -> send(cluster, node, batches, now));
        long waitMs = Math.min(Math.min(ready.nextCheckDelayMs(), 100), inFlightExpiryDelayMs);
        if (!ready.unknownLeaderTopics().isEmpty() || ready.awaitingNewLeader()) {
            waitMs = Math.min(waitMs, Math.max(1, settings.retryBackoffMs()));
        }
        if (drained.isEmpty()) {
            await(Math.max(waitMs, 0));
        }
    }

    /**
     * Fails the queued batches of topics the cluster has kept saying do not exist for
     * {@link MetadataManager#UNKNOWN_TOPIC_GRACE_MS} (deleted while this producer wrote to them):
     * nothing can ever accept them, so they fail now with UnknownTopicException rather than at
     * delivery.timeout.ms. In-flight batches follow when their UNKNOWN_TOPIC answer requeues them.
     */
    private void failDeletedTopics(Set<String> topics) {
        for (String topic : topics) {
            long saidForMs = metadata.unknownForMs(topic);
            if (saidForMs < MetadataManager.UNKNOWN_TOPIC_GRACE_MS) {
                continue;
            }
            for (ProducerBatch b : accumulator.removeTopic(topic)) {
                finishFailed(b, new dev.basalt.client.UnknownTopicException(b.partition() + ": " + b.recordCount()
                        + " record(s) not written: topic " + topic + " does not exist (deleted?); the cluster said so for "
                        + saidForMs + " ms"));
            }
        }
    }

    private void await(long ms) {
        synchronized (wakeLock) {
            if (!wakeupPending && ms > 0) {
                try {
                    wakeLock.wait(ms);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    initiateClose(true);
                }
            }
            wakeupPending = false;
        }
    }

    /** The bump reason last logged at INFO (same object until that bump lands). */
    private String bumpLogged;

    /**
     * Asks any broker for a producer id (first use), the next epoch (KIP-360 bump, once every
     * stamped batch is resolved) or a fresh id. The answer comes back through the completion
     * queue; a failure is retried after retry.backoff.ms.
     */
    private void maybeInitProducerId(Cluster cluster, long now) {
        if (!idem.needsInit(now)) {
            return;
        }
        Map<Integer, HostPort> brokers = cluster.brokers();
        if (brokers.isEmpty()) {
            metadata.refresh(); // its answer wakes this thread, which asks again then
            return;
        }
        List<Integer> ids = new java.util.ArrayList<>(brokers.keySet());
        int node = ids.get(jitter.nextInt(ids.size()));
        dev.basalt.proto.v1.InitProducerIdRequest req = dev.basalt.proto.v1.InitProducerIdRequest.newBuilder()
                .setProducerId(idem.requestProducerId()).setProducerEpoch(idem.requestEpoch())
                .setTimeoutMs(settings.requestTimeoutMs()).build();
        String bumpReason = idem.bumpReason();
        if (bumpReason != null && bumpReason != bumpLogged) {
            // once per bump: while no broker answers, the request is retried every retry.backoff.ms
            LOG.info("bumping the producer epoch of producer id {} (epoch {}): {}", idem.producerId(), idem.epoch(), bumpReason);
            bumpLogged = bumpReason;
        } else if (bumpReason != null) {
            LOG.debug("asking again to bump the epoch of producer id {} (epoch {})", idem.producerId(), idem.epoch());
        }
        idem.onInitSent();
        try {
            ProduceServiceGrpc.newStub(channels.channel(brokers.get(node)))
                    .withDeadlineAfter(settings.requestTimeoutMs(), TimeUnit.MILLISECONDS)
                    .initProducerId(req, new UnaryObserver<>() {
                        @Override
                        protected void onAnswer(dev.basalt.proto.v1.InitProducerIdResponse r) {
                            enqueue(() -> handleInitProducerId(r, null));
                        }

                        @Override
                        protected void onFailure(Throwable t) {
                            enqueue(() -> handleInitProducerId(null, t));
                        }
                    });
        } catch (RuntimeException e) {
            handleInitProducerId(null, e);
        }
    }

    private void handleInitProducerId(dev.basalt.proto.v1.InitProducerIdResponse r, Throwable t) {
        long now = time.monotonicMs();
        if (t == null && r.getErrorCode() == ErrorCode.NONE) {
            if (initFailureLogged != null) {
                LOG.info("InitProducerId answered after failing ({})", initFailureLogged);
                initFailureLogged = null;
            }
            idem.onInit(r.getProducerId(), (short) r.getProducerEpoch());
            LOG.debug("producer id {} epoch {}", r.getProducerId(), r.getProducerEpoch());
            return;
        }
        String why = t != null ? t.toString() : r.getErrorCode() + ": " + r.getErrorMessage();
        if (initFailureLogged == null) {
            // once per outage (retried every retry.backoff.ms, at a random broker, until one answers):
            // a producer whose new records wait says why in its log, not only at delivery.timeout.ms
            LOG.warn("InitProducerId failed ({}); retrying, new records wait meanwhile", why);
            initFailureLogged = why;
        } else {
            LOG.debug("InitProducerId failed again ({}); retrying", why);
        }
        metadata.refresh();
        idem.onInitFailed(now + Math.max(1, settings.retryBackoffMs()), why);
    }

    /** The failure that began the current InitProducerId outage (logged at WARN), null while none. */
    private String initFailureLogged;

    /**
     * A batch out of delivery time. An unreachable leader's ConnectionException is named but not
     * made the cause (it is attached as suppressed): the bootstrap brokers answered, and a
     * ConnectionException cause reads as "cannot connect to the cluster" (the CLI's exit 3).
     */
    private BasaltException expiredError(ProducerBatch b, long now) {
        BasaltException last = b.lastError();
        boolean unreachable = last instanceof ConnectionException;
        String m = b.partition() + ": " + b.recordCount() + " record(s) expired after " + (now - b.createdMs())
                + " ms (delivery.timeout.ms)" + (unreachable ? "; the partition's leader could not be reached" : "")
                + (last == null ? "" : "; last error: " + last.getMessage()) + leaderlessReason(metadata.current(), b.partition())
                + waitedForId(b);
        ClientTimeoutException e = new ClientTimeoutException(m, unreachable ? null : last);
        if (unreachable) {
            e.addSuppressed(last);
        }
        return e;
    }

    /** Why an unstamped batch waited for the producer's id or epoch, or "" (it was stamped, or ids are off). */
    private String waitedForId(ProducerBatch b) {
        String why = idem == null || b.hasSequence() ? null : idem.waitReason();
        return why == null ? "" : "; " + why;
    }

    /** Why a batch that was never sent waited: its partition had no leader (or is unknown), as last seen in metadata. */
    static String leaderlessReason(Cluster cluster, TopicPartition tp) {
        Cluster.TopicInfo topic = cluster.topic(tp.topic());
        if (topic == null) {
            return "; the topic is not in the cluster's metadata";
        }
        for (Cluster.PartitionInfo p : topic.partitions()) {
            if (p.partition() == tp.partition() && p.leaderId() < 0) {
                return "; the partition has no leader (replicas " + p.replicas() + ", in sync " + p.isr()
                        + "; see basalt topics --describe)";
            }
        }
        return "";
    }

    private void send(Cluster cluster, int node, List<ProducerBatch> batches, long now) {
        HostPort address = cluster.broker(node);
        InFlightRequest request = new InFlightRequest(node, batches, byPartition(batches));
        for (ProducerBatch b : batches) {
            request.nextExpiryMs = Math.min(request.nextExpiryMs, accumulator.deliveryDeadlineMs(b));
            request.lastDeadlineMs = Math.max(request.lastDeadlineMs, accumulator.deliveryDeadlineMs(b));
        }
        ProduceRequest.Builder req = buildRequest(request, now);
        inFlight.merge(node, 1, Integer::sum);
        inFlightTotal++;
        inFlightRequests.add(request);
        long requestBytes = 0;
        for (ProducerBatch b : batches) {
            requestBytes += b.payload().remaining();
        }
        // A large request gains nothing from the stream (its header blocks are noise beside its
        // bytes), and one over the broker's message limit would close the stream for every
        // request on it: it goes as its own call, where a refusal is its own definite error.
        boolean viaStream = requestBytes <= STREAM_REQUEST_BYTES_MAX && unaryUntilMs.getOrDefault(node, Long.MIN_VALUE) <= now;
        boolean handedOver = viaStream
                ? sendOnStream(cluster, request, address, req, now)
                : sendUnary(request, address, req);
        if (handedOver && settings.acks() == 0) {
            // acks=0: the record counts as sent once handed to the transport; offsets are unknown
            for (ProducerBatch b : batches) {
                stats.completed(b, now); // before the callbacks: metrics() read after a send completed count it
                b.complete(-1, -1);
            }
        }
    }

    /** @return false if the call could not even start (its batches were failed or requeued already) */
    private boolean sendUnary(InFlightRequest request, HostPort address, ProduceRequest.Builder req) {
        try {
            ProduceServiceGrpc.newStub(channels.channel(address))
                    .withDeadlineAfter(settings.requestTimeoutMs(), TimeUnit.MILLISECONDS)
                    .produce(req.build(), new UnaryObserver<>() {
                        @Override
                        protected void onAnswer(ProduceResponse resp) {
                            enqueue(() -> handleResponse(request, resp));
                        }

                        @Override
                        protected void onFailure(Throwable t) {
                            enqueue(() -> handleTransportError(request, t));
                        }
                    });
        } catch (RuntimeException e) {
            handleTransportError(request, e);
            return false;
        }
        return true;
    }

    /**
     * One ProduceStream per broker: a request is one message on it, tagged with a correlation id,
     * so it costs no HTTP/2 stream and no header blocks of its own. The broker appends in stream
     * order and answers in any order. Each request keeps the unary call's deadline
     * (request.timeout.ms): when one passes, the stream is cancelled and every request still on
     * it fails as a unary call cut off would (indeterminate, retried), as Kafka's client drops the
     * connection of a request that timed out.
     */
    private boolean sendOnStream(Cluster cluster, InFlightRequest request, HostPort address, ProduceRequest.Builder req,
                                 long now) {
        int node = request.node;
        ProduceStreamCall call = streams.get(node);
        if (call != null && !call.address.equals(address)) {
            failStream(call, io.grpc.Status.UNAVAILABLE.withDescription("broker " + node + " moved to " + address)
                    .asRuntimeException());
            call = null;
        }
        long correlationId = nextCorrelationId++;
        try {
            if (call == null) {
                call = openStream(node, address);
            }
            Map<TopicPartition, Integer> epochs = new HashMap<>();
            request.byPartition.keySet().forEach(tp -> epochs.put(tp, cluster.leaderEpochFor(tp))); // the snapshot it was routed by
            call.pending.put(correlationId, new StreamRequest(request, now, now + settings.requestTimeoutMs(), epochs));
            call.requests.onNext(req.setCorrelationId(correlationId).build());
        } catch (RuntimeException e) {
            if (call != null && call.pending.containsKey(correlationId)) {
                failStream(call, e); // fails this request with the others on the stream
            } else {
                handleTransportError(request, e);
            }
            return false;
        }
        return true;
    }

    private ProduceStreamCall openStream(int node, HostPort address) {
        ProduceStreamCall call = new ProduceStreamCall(node, address);
        ClientResponseObserverBridge bridge = new ClientResponseObserverBridge(call);
        ProduceServiceGrpc.newStub(channels.channel(address)).produceStream(bridge);
        call.requests = bridge.requests;
        streams.put(node, call);
        return call;
    }

    private void onStreamAnswer(ProduceStreamCall call, ProduceResponse resp) {
        StreamRequest r = call.pending.remove(resp.getCorrelationId());
        if (r == null) {
            if (!call.dead) {
                LOG.warn("broker {} answered produce request {} that is not waiting for an answer", call.node,
                        resp.getCorrelationId());
            }
            return;
        }
        handleResponse(r.request(), resp);
    }

    /** The stream ended (error, or completed by the broker): every request still on it fails. */
    private void failStream(ProduceStreamCall call, Throwable t) {
        if (call.dead) {
            return;
        }
        call.dead = true;
        streams.remove(call.node, call);
        try {
            call.requests.cancel("produce stream abandoned", null);
        } catch (RuntimeException ignored) {
            // already closed
        }
        io.grpc.Status status = io.grpc.Status.fromThrowable(t);
        boolean unimplemented = status.getCode() == io.grpc.Status.Code.UNIMPLEMENTED;
        if (unimplemented) {
            LOG.info("broker {} does not serve ProduceStream; using unary Produce for it", call.node);
            unaryUntilMs.put(call.node, time.monotonicMs() + UNARY_FALLBACK_MS);
        }
        // A request the broker refused as a message (over its size limit, malformed) closes the
        // whole stream, and which request it was is not said. The broker then gets unary calls
        // for a while: every request of the stream fails as one cut off would (indeterminate,
        // retried within retries and delivery.timeout.ms), and on its own unary call the refused
        // one gets its definite error, as it would have alone.
        if (status.getCode() == io.grpc.Status.Code.RESOURCE_EXHAUSTED || status.getCode() == io.grpc.Status.Code.INVALID_ARGUMENT) {
            unaryUntilMs.put(call.node, time.monotonicMs() + UNARY_AFTER_REFUSAL_MS);
        }
        List<StreamRequest> requests = List.copyOf(call.pending.values());
        call.pending.clear();
        for (StreamRequest r : requests) {
            if (unimplemented) {
                // nothing was processed: each request goes again as a unary call, in order (it stays
                // in flight). Batches of it that expired meanwhile go too: their futures already
                // said they may be written, and leaving them out would open a gap in their
                // partition's sequence before the batches behind them.
                sendUnary(r.request(), call.address, buildRequest(r.request(), time.monotonicMs()));
            } else {
                handleTransportError(r.request(), streamFailure(status, t));
            }
        }
    }

    /** Requests with more record bytes than this go as unary calls, not on the stream. */
    static final long STREAM_REQUEST_BYTES_MAX = 1 << 20;

    /** How long a broker that refused a stream message gets unary calls, so that the refused request fails alone. */
    static final long UNARY_AFTER_REFUSAL_MS = 5_000;

    /** A failed stream as one unary call's failure: only a stream never connected leaves its requests surely unsent. */
    private static Throwable streamFailure(io.grpc.Status status, Throwable t) {
        if (status.getCode() == io.grpc.Status.Code.UNAVAILABLE || status.getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED
                || status.getCode() == io.grpc.Status.Code.CANCELLED) {
            return t;
        }
        // e.g. INTERNAL closing the whole stream: earlier requests on it may have been appended
        return io.grpc.Status.UNAVAILABLE.withDescription("produce stream failed: " + status.getCode()
                + (status.getDescription() == null ? "" : " (" + status.getDescription() + ")")).withCause(t).asRuntimeException();
    }

    /**
     * The Produce request carrying these batches, grouped by topic and partition. Its timeout_ms
     * (how long an acks=all leader waits for its ISR before answering REQUEST_TIMED_OUT) is the
     * request timeout less a margin, so that the broker answers (with detail) before the client
     * gives up on the call, and at most the time left before the latest delivery deadline of
     * the request's batches (not below {@link #BROKER_TIMEOUT_MS_MIN}). Without that cap a leader
     * whose ISR does not acknowledge (both followers paused: the quorum is lost, so the ISR cannot
     * shrink) held each attempt for the whole request timeout, and the retry sent shortly before
     * the deadline failed a request timeout after it (found probing: delivery.timeout.ms=10000
     * failed after 18-20 s).
     */
    private ProduceRequest.Builder buildRequest(InFlightRequest request, long now) {
        Map<String, ProduceRequest.TopicData.Builder> byTopic = new LinkedHashMap<>();
        request.byPartition.forEach((tp, list) -> {
            // several batches of one partition travel as one payload; concat builds a rope, no copy
            ByteString records = ByteString.EMPTY;
            for (ProducerBatch b : list) {
                records = records.concat(UnsafeByteOperations.unsafeWrap(b.payload()));
            }
            byTopic.computeIfAbsent(tp.topic(), t -> ProduceRequest.TopicData.newBuilder().setName(t))
                    .addPartitions(ProduceRequest.PartitionData.newBuilder().setPartition(tp.partition()).setRecords(records));
        });
        // The latest deadline: the broker's timeout covers every partition of the request, and an
        // earlier batch is expired by the client at its own deadline anyway (expireInFlight); the
        // earliest would cut the wait of fresh batches travelling with a retry near its end down to
        // a few ms, failing them (REQUEST_TIMED_OUT, "may have been written") for ordinary
        // replication latency (found in review). Past it (a stream request resent as a unary call
        // after its batches expired): the floor.
        long deliveryTimeLeftMs = request.lastDeadlineMs - now;
        int brokerTimeoutMs = brokerTimeoutMs(settings.requestTimeoutMs(), deliveryTimeLeftMs);
        ProduceRequest.Builder req = ProduceRequest.newBuilder().setAcks(settings.acks()).setTimeoutMs(brokerTimeoutMs);
        byTopic.values().forEach(req::addTopics);
        return req;
    }

    /** The smallest timeout_ms a request is sent with, however close its earliest delivery deadline (0 would mean "do not wait"). */
    static final int BROKER_TIMEOUT_MS_MIN = 5;

    /**
     * The timeout_ms for a Produce request: a little inside the call deadline, and at most the
     * time left before its earliest delivery deadline, but not below {@link #BROKER_TIMEOUT_MS_MIN}
     * (a batch is expired at its deadline whenever the answer comes, so the floor does not stretch
     * the delivery bound; it only keeps a last attempt from being a "do not wait").
     */
    static int brokerTimeoutMs(int requestTimeoutMs, long deliveryTimeLeftMs) {
        int insideCall = Math.max(1, requestTimeoutMs - Math.min(1_000, requestTimeoutMs / 10));
        return (int) Math.min(insideCall, Math.max(BROKER_TIMEOUT_MS_MIN, deliveryTimeLeftMs));
    }

    /**
     * Fails, at its delivery deadline, every batch whose request is still unanswered then (an
     * acks=all leader waiting for an ISR that does not acknowledge, a paused leader, a lost
     * answer): the request may take until request.timeout.ms, which would otherwise stretch the
     * delivery bound by up to that much. The batch may have been written (and may still be
     * committed), so it fails as indeterminate. It stays in its request until the answer or the
     * call's failure comes, and so does the mute of its partition: nothing later of the partition
     * is sent before then, so it cannot overtake the expired batch should that be written yet. The
     * answer then only settles its bookkeeping ({@link #settleExpired}); it is never retried.
     *
     * @return ms until the next in-flight batch's deadline, Long.MAX_VALUE if none
     */
    private long expireInFlight(long now) {
        long nextDelayMs = Long.MAX_VALUE;
        for (InFlightRequest r : inFlightRequests) {
            if (now >= r.nextExpiryMs) {
                long later = Long.MAX_VALUE;
                for (ProducerBatch b : r.batches) {
                    if (b.isDone()) {
                        continue; // expired already, or acks=0 (complete once handed over)
                    }
                    long deadlineMs = accumulator.deliveryDeadlineMs(b);
                    if (now >= deadlineMs) {
                        stats.failed(b);
                        b.failExpiredInFlight(expiredInFlightError(b, r.node, now));
                    } else {
                        later = Math.min(later, deadlineMs);
                    }
                }
                r.nextExpiryMs = later;
            }
            if (r.nextExpiryMs != Long.MAX_VALUE) {
                nextDelayMs = Math.min(nextDelayMs, r.nextExpiryMs - now);
            }
        }
        return nextDelayMs;
    }

    /**
     * A batch whose delivery deadline passed before the request carrying it was answered: it may
     * have been written, and an acks=all write may still be committed (KIP-91's expiry of an
     * in-flight batch, whose TimeoutException says as much).
     */
    private BasaltException expiredInFlightError(ProducerBatch b, int node, long now) {
        BasaltException last = b.lastError();
        String m = b.partition() + ": " + b.recordCount() + " record(s) expired after " + (now - b.createdMs())
                + " ms (delivery.timeout.ms) while attempt " + b.attempts() + " waited for broker " + node
                + "'s answer: outcome unknown, they may have been written and may still be committed"
                + (last == null ? "" : "; error of the attempt before: " + last.getMessage());
        return new IndeterminateException(m, last);
    }

    /**
     * The late answer (or call failure) for a batch expired in flight: nothing is retried or told
     * to the caller any more. Its sequence is resolved as the answer says: written (the partition's
     * next sequence still follows the leader's log, so no epoch bump), or failed (the epoch is
     * bumped once every stamped batch is resolved, as for any other failed batch). Its memory goes
     * back now that no request holds its bytes.
     */
    private void settleExpired(ProducerBatch b, boolean written) {
        if (idem != null) {
            idem.onResolved(b, !written);
        }
        accumulator.deallocate(b);
    }

    /** Cancels a stream whose oldest unanswered request is past request.timeout.ms. */
    private void expireStreamRequests(long now) {
        for (ProduceStreamCall call : List.copyOf(streams.values())) {
            for (StreamRequest r : call.pending.values()) {
                if (now >= r.deadlineMs()) {
                    failStream(call, io.grpc.Status.DEADLINE_EXCEEDED.withDescription("no answer within request.timeout.ms="
                            + settings.requestTimeoutMs()).asRuntimeException());
                    break;
                }
            }
        }
    }

    /**
     * A paused leader (SIGSTOP, a long GC pause) or one cut off from this client keeps its
     * connection open and answers nothing, so its requests would wait out request.timeout.ms
     * (30 s by default) even after the controller fenced it and moved its leaderships within
     * broker.session.timeout.ms. Once a stream's oldest request has waited this long, the sender
     * asks another broker for metadata (every this often while it waits); if a partition of a
     * waiting request has a new leader elsewhere, at a newer leader epoch than when the request
     * was sent, the stream is cancelled: its requests are retried as indeterminate (the idempotent
     * producer's sequence numbers make the retry safe), so the producer follows the failover in
     * about the fencing time rather than the request timeout. Only with idempotence (the
     * default): without it the retry could write duplicates, and the request timeout stands.
     */
    static final long STALL_CHECK_MS = 500;

    /** Cancels streams whose waiting partitions moved to another leader; asks for metadata about long waits. */
    private void checkStalledStreams(Cluster cluster, long now) {
        for (ProduceStreamCall call : List.copyOf(streams.values())) {
            StreamRequest oldest = call.pending.isEmpty() ? null : call.pending.values().iterator().next();
            if (oldest == null || now - oldest.sentMs() < STALL_CHECK_MS) {
                continue;
            }
            String moved = movedPartition(cluster, call);
            if (moved != null) {
                LOG.info("{} while a request waited {} ms on broker {}: abandoning its produce stream and retrying",
                        moved, now - oldest.sentMs(), call.node);
                failStream(call, io.grpc.Status.UNAVAILABLE.withDescription(moved + " while the request waited on broker "
                        + call.node).asRuntimeException());
            } else if (now - call.stallProbeMs >= STALL_CHECK_MS) {
                call.stallProbeMs = now;
                metadata.refreshAvoiding(call.address);
            }
        }
    }

    /** A description of the first partition of a waiting request whose leadership moved off this stream's broker, or null. */
    private static String movedPartition(Cluster cluster, ProduceStreamCall call) {
        for (StreamRequest r : call.pending.values()) {
            for (Map.Entry<TopicPartition, Integer> e : r.epochs().entrySet()) {
                int leader = cluster.leaderFor(e.getKey());
                if (leader >= 0 && leader != call.node && cluster.leaderEpochFor(e.getKey()) > e.getValue()) {
                    return e.getKey() + " moved to broker " + leader + " (leader epoch " + cluster.leaderEpochFor(e.getKey()) + ")";
                }
            }
        }
        return null;
    }

    /** A request on a stream, waiting for its answer; {@code epochs}: its partitions' leader epochs when sent. */
    private record StreamRequest(InFlightRequest request, long sentMs, long deadlineMs, Map<TopicPartition, Integer> epochs) {
    }

    /**
     * A Produce request whose answer is outstanding, from its send until its answer or failure is
     * handled (a stream request resent as a unary call stays the same one). Sender thread only.
     */
    private static final class InFlightRequest {
        final int node;
        final List<ProducerBatch> batches;
        final Map<TopicPartition, List<ProducerBatch>> byPartition;
        /** The earliest delivery deadline among its batches not yet expired; Long.MAX_VALUE when none is left. */
        long nextExpiryMs = Long.MAX_VALUE;
        /** The latest delivery deadline among its batches: bounds the timeout_ms it is sent with. */
        long lastDeadlineMs = Long.MIN_VALUE;

        InFlightRequest(int node, List<ProducerBatch> batches, Map<TopicPartition, List<ProducerBatch>> byPartition) {
            this.node = node;
            this.batches = batches;
            this.byPartition = byPartition;
        }
    }

    /** One ProduceStream to a broker; sender thread only (gRPC's callbacks go through the completion queue). */
    private static final class ProduceStreamCall {
        final int node;
        final HostPort address;
        /** Unanswered requests by correlation id, oldest first. */
        final Map<Long, StreamRequest> pending = new LinkedHashMap<>();
        io.grpc.stub.ClientCallStreamObserver<ProduceRequest> requests;
        boolean dead;
        /** When the sender last asked another broker whether this stream's partitions moved. */
        long stallProbeMs = Long.MIN_VALUE / 2;

        ProduceStreamCall(int node, HostPort address) {
            this.node = node;
            this.address = address;
        }
    }

    /** Hands a stream's answers and its end to the sender thread. */
    private final class ClientResponseObserverBridge
            implements io.grpc.stub.ClientResponseObserver<ProduceRequest, ProduceResponse> {
        private final ProduceStreamCall call;
        io.grpc.stub.ClientCallStreamObserver<ProduceRequest> requests;

        ClientResponseObserverBridge(ProduceStreamCall call) {
            this.call = call;
        }

        @Override
        public void beforeStart(io.grpc.stub.ClientCallStreamObserver<ProduceRequest> requestStream) {
            this.requests = requestStream;
        }

        @Override
        public void onNext(ProduceResponse value) {
            enqueue(() -> onStreamAnswer(call, value));
        }

        @Override
        public void onError(Throwable t) {
            enqueue(() -> failStream(call, t));
        }

        @Override
        public void onCompleted() {
            enqueue(() -> failStream(call, io.grpc.Status.UNAVAILABLE.withDescription("broker " + call.node
                    + " ended the produce stream").asRuntimeException()));
        }
    }

    private static Map<TopicPartition, List<ProducerBatch>> byPartition(List<ProducerBatch> batches) {
        Map<TopicPartition, List<ProducerBatch>> out = new LinkedHashMap<>();
        for (ProducerBatch b : batches) {
            out.computeIfAbsent(b.partition(), k -> new java.util.ArrayList<>()).add(b);
        }
        return out;
    }

    private void enqueue(Runnable r) {
        completions.add(r);
        wakeup();
    }

    private void requestDone(InFlightRequest request) {
        inFlight.merge(request.node, -1, Integer::sum);
        inFlightTotal--;
        inFlightRequests.remove(request);
        request.batches.forEach(b -> accumulator.unmute(b.partition()));
    }

    /**
     * After the sender thread has ended (forced close): fails every batch still waiting for an
     * answer as indeterminate and frees its memory. Call only once the thread is dead.
     */
    public void abortInFlight() {
        for (InFlightRequest request : inFlightRequests) {
            for (ProducerBatch b : request.batches) {
                if (!b.isDone()) {
                    stats.failed(b);
                    b.fail(new IndeterminateException(b.partition() + ": producer closed while the batch was in flight"));
                }
                accumulator.deallocate(b);
            }
        }
        inFlightRequests.clear();
    }

    private void handleResponse(InFlightRequest request, ProduceResponse resp) {
        requestDone(request);
        if (settings.acks() == 0) {
            request.batches.forEach(accumulator::deallocate);
            return;
        }
        Map<TopicPartition, ProduceResponse.PartitionResponse> results = new HashMap<>();
        for (ProduceResponse.TopicResponse t : resp.getTopicsList()) {
            for (ProduceResponse.PartitionResponse p : t.getPartitionsList()) {
                results.put(new TopicPartition(t.getName(), p.getPartition()), p);
            }
        }
        long now = time.monotonicMs();
        request.byPartition.forEach((tp, list) -> {
            ProduceResponse.PartitionResponse p = results.get(tp);
            if (resp.getErrorCode() != ErrorCode.NONE) {
                handleError(tp, list, resp.getErrorCode(), resp.getErrorMessage(), -1, -1, now);
            } else if (p == null) {
                for (ProducerBatch b : list) {
                    if (b.expiredInFlight()) {
                        settleExpired(b, false);
                    } else {
                        finishFailed(b, new IndeterminateException(tp + ": the broker's answer did not mention the partition"));
                    }
                }
            } else if (p.getErrorCode() == ErrorCode.NONE || p.getErrorCode() == ErrorCode.DUPLICATE_SEQUENCE) {
                // DUPLICATE_SEQUENCE: a retry of batches the leader already stored (an earlier
                // answer was lost); base_offset is where they are, so it is a success
                completeAll(list, p);
            } else {
                handleError(tp, list, p.getErrorCode(), p.getErrorMessage(),
                        p.hasLeaderIdHint() ? p.getLeaderIdHint() : -1, p.hasLeaderEpochHint() ? p.getLeaderEpochHint() : -1, now);
            }
        });
    }

    /** The partition's batches got consecutive offsets from base_offset, in payload order. */
    private void completeAll(List<ProducerBatch> list, ProduceResponse.PartitionResponse p) {
        long base = p.getBaseOffset();
        for (ProducerBatch b : list) {
            if (b.expiredInFlight()) {
                // written after all, at these offsets; its futures already failed as "may have been written"
                settleExpired(b, true);
                if (base >= 0) {
                    base += b.recordCount();
                }
                continue;
            }
            if (b.isDone()) {
                throw new IllegalStateException("batch for " + b.partition() + " answered twice");
            }
            stats.completed(b, time.monotonicMs()); // before the callbacks: metrics() read after a send completed count it
            b.complete(base, p.getLogAppendTimeMs());
            if (idem != null) {
                idem.onResolved(b, false);
            }
            accumulator.deallocate(b);
            if (base >= 0) {
                base += b.recordCount();
            }
        }
    }

    /**
     * A partition's error: every retriable code asks for fresh metadata (the leader may have
     * moved, lost its ISR or be shutting down; a refresh is coalesced with others, so asking is
     * cheap), a leader hint is applied at once, and the batches go back to the head of the
     * partition's queue, last first, so they keep their order before any later batch.
     */
    private void handleError(TopicPartition tp, List<ProducerBatch> list, ErrorCode code, String message, int leaderHint,
                             int epochHint, long now) {
        if (Errors.isRetriable(code) || Errors.needsMetadataRefresh(code)) {
            if (leaderHint >= 0) {
                metadata.applyLeaderHint(tp, leaderHint, epochHint);
            }
            metadata.refresh();
        }
        if (code == ErrorCode.RECORD_TOO_LARGE) {
            metadata.refresh(); // the topic's max.message.bytes may have been lowered: later batches then keep under it
        }
        if (idem != null && code == ErrorCode.INVALID_PRODUCER_EPOCH) {
            idem.requestFreshId();
        }
        boolean leadership = Errors.isLeadershipError(code);
        for (int i = list.size() - 1; i >= 0; i--) { // last first: re-enqueueing at the head keeps order
            ProducerBatch b = list.get(i);
            if (b.expiredInFlight()) {
                settleExpired(b, false); // never retried: its delivery time is up
                continue;
            }
            if (code == ErrorCode.RECORD_TOO_LARGE && splitsWhenTooLarge(b, list.size(), now)) {
                splitRefused(b);
                continue;
            }
            if (leadership) {
                b.refusedForLeadership();
            }
            BasaltException e = Errors.forCode(code, message, "produce to " + b.partition(), leaderHint, epochHint);
            retryOrFail(b, e, Errors.isRetriable(code), Errors.mayHaveBeenWritten(code, settings.acks() == -1), now);
        }
    }

    /**
     * A batch refused as too large is sent again in parts rather than failed (KIP-126's remedy
     * for a max.message.bytes lowered under a running producer), unless it is known to be too
     * large by itself (one record, refused alone: that record fails), an earlier attempt may have
     * been stored (a part could then store its records twice), or its delivery time is up.
     */
    private boolean splitsWhenTooLarge(ProducerBatch b, int batchesInPayload, long now) {
        return (b.recordCount() > 1 || batchesInPayload > 1) && !b.mayHaveBeenWritten()
                && accumulator.withinDeliveryTimeout(b, now);
    }

    /**
     * Replaces the batch by its parts at the head of its partition's queue. An idempotent
     * producer's parts carry no sequence: the refused batch counts as failed for its sequence
     * (nothing of it was stored), which bumps the producer epoch once every stamped batch is
     * resolved, and the parts are stamped afresh after it, in order.
     */
    private void splitRefused(ProducerBatch b) {
        List<ProducerBatch> parts = accumulator.split(b, metadata.current().batchBytesMaxFor(b.partition()));
        if (idem != null) {
            idem.onResolved(b, true);
        }
        LOG.debug("{}: a batch of {} records refused as too large is sent again as {} batch(es)", b.partition(),
                b.recordCount(), parts.size());
    }

    private void handleTransportError(InFlightRequest request, Throwable t) {
        requestDone(request);
        long now = time.monotonicMs();
        BasaltException e = Errors.forTransport(t, true, "produce to broker " + request.node);
        boolean indeterminate = e instanceof IndeterminateException;
        if (e instanceof ConnectionException || indeterminate) {
            metadata.refresh();
        }
        if (settings.acks() == 0) {
            for (ProducerBatch b : request.batches) {
                if (!b.isDone()) {
                    stats.failed(b);
                    b.fail(e);
                }
                accumulator.deallocate(b);
            }
            return;
        }
        boolean brokerGone = e instanceof ConnectionException || indeterminate;
        request.byPartition.forEach((tp, list) -> {
            for (int i = list.size() - 1; i >= 0; i--) {
                ProducerBatch b = list.get(i);
                if (b.expiredInFlight()) {
                    settleExpired(b, false);
                    continue;
                }
                if (brokerGone) {
                    // an unreachable leader is replaced by the controller: retry as soon as the
                    // metadata names a newer leader, not after the full backoff
                    b.refusedForLeadership();
                }
                retryOrFail(b, e, e.retriable(), indeterminate, now);
            }
        });
    }

    private void retryOrFail(ProducerBatch b, BasaltException e, boolean retriable, boolean mayHaveBeenWritten, long now) {
        long backoff = backoffMs(b.attempts());
        boolean canRetry = retriable && b.attempts() <= settings.retries()
                && accumulator.withinDeliveryTimeout(b, now + backoff);
        if (canRetry) {
            LOG.debug("retrying {} (attempt {}) in {} ms after {}", b.partition(), b.attempts() + 1, backoff, e.getMessage());
            b.scheduleRetry(now + backoff, e, mayHaveBeenWritten);
            accumulator.reenqueue(b);
            stats.retried(e.getMessage() != null ? e.getMessage() : e.toString());
        } else {
            b.scheduleRetry(now, e, mayHaveBeenWritten);
            // A leader that stayed unreachable until the delivery timeout is an expiry, not "cannot
            // connect to the cluster": the bootstrap brokers answered (the error names the broker).
            boolean outOfTime = retriable && b.attempts() <= settings.retries();
            finishFailed(b, outOfTime && e instanceof ConnectionException ? expiredError(b, now) : e);
        }
    }

    long backoffMs(int attempts) {
        return backoffMs(attempts, settings.retryBackoffMs(), settings.retryBackoffMaxMs(), jitter.nextDouble());
    }

    /**
     * retry.backoff.ms * 2^(attempts-1), capped at retry.backoff.max.ms, times a jitter factor
     * in [0.8, 1.2) (from random01 in [0, 1)) so that producers that failed together do not
     * retry in lockstep; no jitter when the cap equals the base (a fixed backoff was asked for).
     */
    static long backoffMs(int attempts, long baseMs, long maxMs, double random01) {
        double exp = baseMs * Math.pow(2, Math.max(0, attempts - 1));
        double capped = Math.min(exp, maxMs);
        if (maxMs <= baseMs) {
            return (long) capped;
        }
        return (long) (capped * (0.8 + 0.4 * random01));
    }

    private void finishFailed(ProducerBatch b, BasaltException e) {
        stats.failed(b);
        b.fail(e);
        if (idem != null) {
            // a stamped batch that failed leaves its partition's next sequence in doubt: bump the epoch
            idem.onResolved(b, true);
        }
        accumulator.deallocate(b);
    }

    /** Requests whose answer is outstanding (for tests and metrics). */
    public int inFlightRequests() {
        return inFlightTotal;
    }
}
