package dev.basalt.broker.gateway;

import com.google.protobuf.UnsafeByteOperations;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.common.KeyPartitioning;
import dev.basalt.common.ProduceAnswers;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchRecordsRequest;
import dev.basalt.proto.v1.FetchRecordsResponse;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.proto.v1.ListOffsetsRequest;
import dev.basalt.proto.v1.ListOffsetsResponse;
import dev.basalt.proto.v1.ProduceRecordsRequest;
import dev.basalt.proto.v1.ProduceRecordsResponse;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.proto.v1.ProducedRecord;
import dev.basalt.record.CorruptRecordException;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thin-client gateway behind records.proto's RecordService: records as protobuf messages in,
 * one record batch per partition out to the partition's leader, through this broker's own
 * handlers when it leads the partition (the same validation, append and acks path as Produce
 * and Fetch) or the leader's client port otherwise. Leadership moves during a call are retried
 * (NOT_LEADER and other retriable answers, and unreachable leaders) up to
 * {@code gateway.retries.max} times, {@code gateway.retry.backoff.ms} apart, within the call's
 * timeout. Work forwarded to other brokers is bounded by {@code gateway.inflight.bytes.max}.
 *
 * <p>Thread-safety: thread-safe; nothing blocks: calls complete from the handlers' or the
 * transport's threads, retries wait on {@code scheduler}.
 */
public final class RecordGateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RecordGateway.class);
    /** The client listener's name in broker registrations. */
    static final String CLIENT_LISTENER = "PLAINTEXT";
    static final int DEFAULT_TIMEOUT_MS = 30_000;
    static final int DEFAULT_MAX_RECORDS = 500;
    static final int DEFAULT_MAX_BYTES = 1 << 20;
    /** A subscription's heartbeat period when the request gives no max_wait_ms. */
    static final int SUBSCRIBE_WAIT_MS_DEFAULT = 500;
    /** How often a produce call drops the producer slot pools of deleted topics (ProducerSlots.forgetIdle). */
    static final long SLOT_SWEEP_INTERVAL_MS = 60_000;

    /** Limits of the gateway path, from the node's gateway.* settings. */
    public record Limits(int retriesMax, long retryBackoffMs, long inflightBytesMax, int recordsPerRequestMax,
                         int fetchRecordsMax, int produceRequestBytesMax, int timeoutMsMax, int fetchWaitMsMax,
                         int producersPerPartitionMax, int waitingCallsPerPartitionMax) {
    }

    private final ReplicaManager replicas;
    private final Destinations destinations;
    private final ScheduledExecutorService scheduler;
    private final Executor continuations;
    private final Clock clock;
    private final Limits limits;
    private final AtomicLong inflightBytes = new AtomicLong();
    private final AtomicInteger stickyCounter = new AtomicInteger();
    private final ProducerSlots slots;
    /** When the slot pools of deleted topics were last dropped (ms on the replica manager's clock). */
    private volatile long slotsSweptAtMs;

    /**
     * @param scheduler     waits out retry back-offs
     * @param continuations runs a subscription's next fetch (request threads)
     */
    public RecordGateway(ReplicaManager replicas, Destinations destinations, ScheduledExecutorService scheduler,
                         Executor continuations, Limits limits, java.util.function.Supplier<CompletableFuture<Long>> producerIds) {
        this.slots = new ProducerSlots(producerIds, limits.producersPerPartitionMax(), limits.waitingCallsPerPartitionMax());
        this.replicas = replicas;
        this.destinations = destinations;
        this.scheduler = scheduler;
        this.continuations = continuations;
        this.clock = replicas.clock();
        this.limits = limits;
    }

    public static Destinations destinations(dev.basalt.broker.server.ProduceHandler produce,
                                            dev.basalt.broker.server.FetchHandler fetch,
                                            dev.basalt.broker.server.ListOffsetsHandler listOffsets, int messageBytesMax) {
        return new Destinations(produce, fetch, listOffsets, messageBytesMax);
    }

    /** The partition the gateway picks for a record with this key (null: none) among {@code partitions}. */
    public static int partitionForKey(byte[] key, int partitions) {
        return KeyPartitioning.partitionForKey(key, partitions);
    }

    // ------------------------------------------------------------------ produce

    public void produce(ProduceRecordsRequest req, Consumer<ProduceRecordsResponse> respond) {
        String invalid = validate(req, limits.recordsPerRequestMax());
        if (invalid != null) {
            respond.accept(failed(ErrorCode.INVALID_REQUEST, invalid));
            return;
        }
        String badName = dev.basalt.common.TopicNames.validate(req.getTopic());
        if (badName != null) {
            respond.accept(failed(ErrorCode.INVALID_TOPIC, badName));
            return;
        }
        var topics = replicas.image().topics();
        long now = clock.millis();
        if (now - slotsSweptAtMs >= SLOT_SWEEP_INTERVAL_MS) {
            slotsSweptAtMs = now;
            slots.forgetIdle(t -> topics.topic(t).isPresent());
        }
        Optional<TopicImage> topic = topics.topic(req.getTopic());
        if (topic.isEmpty()) {
            respond.accept(failed(ErrorCode.UNKNOWN_TOPIC, "no topic " + req.getTopic()));
            return;
        }
        int partitions = topic.get().partitionCount();
        if (req.hasPartition() && req.getPartition() >= partitions) {
            respond.accept(failed(ErrorCode.INVALID_PARTITION, "topic " + req.getTopic() + " has " + partitions
                    + " partitions; no partition " + req.getPartition()));
            return;
        }
        // Partition exactly as the Java client: murmur2 of the key; keyless records stick together.
        Map<Integer, List<Integer>> byPartition = new TreeMap<>();
        int sticky = -1;
        for (int i = 0; i < req.getRecordsCount(); i++) {
            ProducedRecord r = req.getRecords(i);
            int p;
            if (req.hasPartition()) {
                p = req.getPartition();
            } else if (r.hasKey()) {
                p = partitionForKey(r.getKey().toByteArray(), partitions);
            } else {
                if (sticky < 0) {
                    sticky = (stickyCounter.getAndIncrement() & Integer.MAX_VALUE) % partitions;
                }
                p = sticky;
            }
            byPartition.computeIfAbsent(p, k -> new ArrayList<>()).add(i);
        }
        long nowMs = clock.millis();
        long totalBytes = 0;
        for (Map.Entry<Integer, List<Integer>> e : byPartition.entrySet()) {
            long bytes = 0;
            for (int i : e.getValue()) {
                bytes += RecordCodec.sizeBytes(req.getRecords(i));
            }
            if (bytes > limits.produceRequestBytesMax()) {
                respond.accept(failed(ErrorCode.RECORD_TOO_LARGE, "the records for partition " + e.getKey() + " take " + bytes
                        + " bytes; at most produce.request.bytes.max=" + limits.produceRequestBytesMax()));
                return;
            }
            totalBytes += bytes;
        }
        if (!reserve(totalBytes)) {
            respond.accept(failed(ErrorCode.THROTTLED, "gateway.inflight.bytes.max=" + limits.inflightBytesMax()
                    + " bytes of forwarded work already in flight on broker " + replicas.brokerId()));
            return;
        }
        long reserved = totalBytes;
        int timeoutMs = Math.min(req.getTimeoutMs() == 0 ? DEFAULT_TIMEOUT_MS : req.getTimeoutMs(), limits.timeoutMsMax());
        long deadlineMs = nowMs + timeoutMs;
        int acks = req.getAcksValue() == 0 ? -1 : 1;
        List<CompletableFuture<ProduceRecordsResponse.PartitionResult>> results = new ArrayList<>();
        for (Map.Entry<Integer, List<Integer>> e : byPartition.entrySet()) {
            List<Integer> indexes = e.getValue();
            PartitionCall call = new PartitionCall(req.getTopic(), e.getKey(), req.getRecordsList(), indexes, nowMs, acks, timeoutMs,
                    deadlineMs);
            leaseAndSend(call, 0);
            results.add(call.out.thenApply(r -> r.toBuilder().addAllRecordIndexes(indexes).build()));
        }
        CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> {
            inflightBytes.addAndGet(-reserved);
            ProduceRecordsResponse.Builder b = ProduceRecordsResponse.newBuilder();
            results.forEach(f -> b.addPartitions(f.join()));
            respond.accept(b.build());
        });
    }

    /**
     * One partition's share of a ProduceRecords call: its records, the slot it holds (null before
     * it leased one and once it gave it back), and whether some attempt may have appended its
     * batch (then an error leaves the slot's next sequence unknown, and the call's outcome).
     */
    private static final class PartitionCall {
        final String topic;
        final int partition;
        final List<ProducedRecord> records;
        final List<Integer> indexes;
        final long nowMs;
        final int acks;
        final int timeoutMs;
        final long deadlineMs;
        final CompletableFuture<ProduceRecordsResponse.PartitionResult> out = new CompletableFuture<>();
        // Each of these is touched by one step at a time (steps follow one another through futures and the scheduler).
        boolean maybeAppended;
        ProducerSlots.Slot slot;

        PartitionCall(String topic, int partition, List<ProducedRecord> records, List<Integer> indexes, long nowMs, int acks,
                      int timeoutMs, long deadlineMs) {
            this.topic = topic;
            this.partition = partition;
            this.records = records;
            this.indexes = indexes;
            this.nowMs = nowMs;
            this.acks = acks;
            this.timeoutMs = timeoutMs;
            this.deadlineMs = deadlineMs;
        }

        ProduceRecordsResponse.PartitionResult.Builder result() {
            return ProduceRecordsResponse.PartitionResult.newBuilder().setPartition(partition).setBaseOffset(-1).setLogAppendTimeMs(-1);
        }
    }

    /** Thrown into a lease whose call gave up waiting in line. */
    private static final class LineTimeoutException extends RuntimeException {
        LineTimeoutException() {
            super(null, null, false, false);
        }
    }

    /**
     * Runs one step of a call; a step that throws (a closed gateway, a rejected timer) ends the
     * call with UNKNOWN_SERVER_ERROR and gives its slot back, instead of leaving the call
     * unanswered and the slot held for good.
     */
    private void step(PartitionCall call, Runnable body) {
        try {
            body.run();
        } catch (RuntimeException e) {
            log.warn("ProduceRecords to {}-{} failed", call.topic, call.partition, e);
            call.maybeAppended = true; // whatever the step had sent is unknown now
            finish(call, ErrorCode.UNKNOWN_SERVER_ERROR, e.toString());
        }
    }

    /** Gives the call's slot back (once). */
    private void releaseSlot(PartitionCall call, ProducerSlots.Outcome outcome, int recordCount) {
        ProducerSlots.Slot held = call.slot;
        if (held != null) {
            call.slot = null;
            slots.release(held, outcome, recordCount, call.topic, call.partition);
        }
    }

    /** Leases a slot (ProducerSlots) for the call and sends its batch, stamped with the slot's producer id, epoch and sequence. */
    private void leaseAndSend(PartitionCall call, int attempt) {
        CompletableFuture<ProducerSlots.Slot> lease = slots.acquire(call.topic, call.partition);
        java.util.function.BiConsumer<ProducerSlots.Slot, Throwable> then = (slot, t) -> step(call, () -> {
            if (t != null) {
                Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
                if (cause instanceof ProducerSlots.SlotsExhaustedException) {
                    finish(call, ErrorCode.THROTTLED, cause.getMessage() + " (gateway.waiting.calls.per.partition.max)");
                } else if (cause instanceof LineTimeoutException) {
                    finish(call, ErrorCode.REQUEST_TIMED_OUT, "timed out waiting for one of the " + limits.producersPerPartitionMax()
                            + " calls this broker may have in flight to " + call.topic + "-" + call.partition);
                } else {
                    retryOr(call, attempt, ErrorCode.BROKER_NOT_AVAILABLE, "no producer id for the gateway's batch: "
                            + cause.getMessage(), () -> leaseAndSend(call, attempt + 1));
                }
                return;
            }
            call.slot = slot;
            if (clock.millis() >= call.deadlineMs) { // handed a slot just as its time in line ran out
                finish(call, ErrorCode.REQUEST_TIMED_OUT, "timed out waiting for one of the " + limits.producersPerPartitionMax()
                        + " calls this broker may have in flight to " + call.topic + "-" + call.partition);
                return;
            }
            ByteBuffer batch = RecordCodec.batch(call.records, call.indexes, call.nowMs, slot.producerId, slot.epoch(),
                    slot.nextSequence());
            ProduceRequest pr = ProduceRequest.newBuilder().setAcks(call.acks).setTimeoutMs(call.timeoutMs)
                    .addTopics(ProduceRequest.TopicData.newBuilder().setName(call.topic)
                            .addPartitions(ProduceRequest.PartitionData.newBuilder().setPartition(call.partition)
                                    .setRecords(UnsafeByteOperations.unsafeWrap(batch))))
                    .build();
            sendProduce(call, pr, attempt);
        });
        if (lease.isDone()) {
            lease.whenComplete(then);
            return;
        }
        // Handed over later by another call's release (or a producer id arriving): go on on a
        // request thread, not nested in that call's completion (a long line would nest deep);
        // and leave the line when the call's time is up.
        long waitMs = Math.max(0, call.deadlineMs - clock.millis());
        java.util.concurrent.ScheduledFuture<?> giveUp;
        try {
            giveUp = scheduler.schedule(() -> {
                if (slots.abandon(call.topic, call.partition, lease)) {
                    lease.completeExceptionally(new LineTimeoutException());
                }
            }, waitMs, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            giveUp = null; // shutting down: the line still ends as calls in flight end
        }
        java.util.concurrent.ScheduledFuture<?> timer = giveUp;
        lease.whenCompleteAsync((slot, t) -> {
            if (timer != null) {
                timer.cancel(false);
            }
            then.accept(slot, t);
        }, continuations);
    }

    private void sendProduce(PartitionCall call, ProduceRequest pr, int attempt) {
        Target target = leaderOf(call.topic, call.partition);
        if (target.error != null) {
            retryOr(call, attempt, target.error, target.message, () -> sendProduce(call, pr, attempt + 1));
            return;
        }
        target.destination.produce(pr, call.deadlineMs).whenComplete((resp, t) -> step(call, () -> {
            if (t != null) {
                // The leader may have appended before the connection failed; a resend of the same
                // sequence is answered DUPLICATE_SEQUENCE then, not appended again.
                call.maybeAppended = true;
                retryOr(call, attempt, ErrorCode.BROKER_NOT_AVAILABLE, "leader unreachable: " + Status.fromThrowable(t),
                        () -> sendProduce(call, pr, attempt + 1));
                return;
            }
            ErrorCode top = resp.getErrorCode();
            if (top != ErrorCode.NONE) {
                call.maybeAppended |= !ProduceAnswers.refusedBeforeAppend(top, call.acks == -1);
                finish(call, top, resp.getErrorMessage());
                return;
            }
            ProduceResponse.PartitionResponse p = resp.getTopics(0).getPartitions(0);
            ErrorCode code = p.getErrorCode();
            if (code == ErrorCode.DUPLICATE_SEQUENCE && !call.maybeAppended) {
                // No attempt of this call can have stored the batch, yet the leader holds its
                // sequences: the slot's sequence is wrong (or another client used its producer id).
                // Counting that as a success would drop these records; resend at a new epoch instead.
                log.error("{}-{}: the leader already holds sequence {} of the gateway's producer id {} (epoch {}), which no"
                                + " attempt of this call sent; resending the batch at a new epoch", call.topic, call.partition,
                        call.slot.nextSequence(), call.slot.producerId, call.slot.epoch());
                releaseSlot(call, ProducerSlots.Outcome.UNKNOWN, 0);
                retryOr(call, attempt, code, p.getErrorMessage(), () -> leaseAndSend(call, attempt + 1));
            } else if (code == ErrorCode.NONE || code == ErrorCode.DUPLICATE_SEQUENCE) { // a resend: where the first one is
                releaseSlot(call, ProducerSlots.Outcome.APPENDED, call.indexes.size());
                call.out.complete(call.result().setBaseOffset(p.getBaseOffset()).setLogAppendTimeMs(p.getLogAppendTimeMs()).build());
            } else if (code == ErrorCode.OUT_OF_ORDER_SEQUENCE || code == ErrorCode.INVALID_PRODUCER_EPOCH) {
                // This leader holds neither the batch nor the slot's last one (lost with an acks=1
                // write, or its state expired): the batch goes again at the slot's next epoch (or a
                // fresh id if the leader holds a newer epoch of it than the slot's).
                releaseSlot(call, code == ErrorCode.INVALID_PRODUCER_EPOCH ? ProducerSlots.Outcome.FENCED
                        : ProducerSlots.Outcome.UNKNOWN, 0);
                retryOr(call, attempt, code, p.getErrorMessage(), () -> leaseAndSend(call, attempt + 1));
            } else if (retriable(code)) {
                // NOT_LEADER with acks=-1 may follow an append (produce.proto): the resend is deduplicated.
                call.maybeAppended |= !ProduceAnswers.refusedBeforeAppend(code, call.acks == -1);
                retryOr(call, attempt, code, p.getErrorMessage(), () -> sendProduce(call, pr, attempt + 1));
            } else {
                call.maybeAppended |= !ProduceAnswers.refusedBeforeAppend(code, call.acks == -1);
                finish(call, code, p.getErrorMessage());
            }
        }));
    }

    /** Retries after the back-off (the step given), or ends the call with the error. */
    private void retryOr(PartitionCall call, int attempt, ErrorCode code, String message, Runnable retry) {
        if (attempt < limits.retriesMax() && clock.millis() + limits.retryBackoffMs() < call.deadlineMs) {
            scheduler.schedule(() -> step(call, retry), limits.retryBackoffMs(), TimeUnit.MILLISECONDS);
        } else {
            finish(call, code, message + " (after " + (attempt + 1) + " attempts)");
        }
    }

    /**
     * Ends the call with an error and gives its slot back: at the same sequence if no attempt may
     * have appended the batch, else at its next epoch. An error that says nothing was appended is
     * not passed on as such after an uncertain attempt (the client would resend and write twice):
     * the answer then says the outcome is unknown.
     */
    private void finish(PartitionCall call, ErrorCode code, String message) {
        releaseSlot(call, call.maybeAppended ? ProducerSlots.Outcome.UNKNOWN : ProducerSlots.Outcome.NOT_APPENDED, 0);
        if (!call.maybeAppended) {
            call.out.complete(call.result().setErrorCode(code).setErrorMessage(message + "; nothing was appended").build());
            return;
        }
        ErrorCode uncertain = code == ErrorCode.NOT_ENOUGH_REPLICAS || code == ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
                ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND : ErrorCode.REQUEST_TIMED_OUT;
        call.out.complete(call.result().setErrorCode(uncertain).setErrorMessage(message + (code == uncertain ? ""
                : " (last answer " + code + ")") + "; an earlier attempt may have appended the records: outcome unknown").build());
    }

    /** Leadership is moving (or the leader's replica is loading): worth asking again after a back-off. */
    private static boolean retriable(ErrorCode code) {
        return code == ErrorCode.NOT_LEADER || code == ErrorCode.REPLICA_NOT_AVAILABLE || code == ErrorCode.BROKER_NOT_AVAILABLE
                || code == ErrorCode.FENCED_LEADER_EPOCH
                || code == ErrorCode.UNKNOWN_LEADER_EPOCH;
    }

    private static String validate(ProduceRecordsRequest req, int recordsMax) {
        if (req.getTopic().isEmpty()) {
            return "topic is required";
        }
        if (req.getRecordsCount() == 0) {
            return "no records";
        }
        if (req.getRecordsCount() > recordsMax) {
            return req.getRecordsCount() + " records in one request; at most gateway.records.per.request.max=" + recordsMax;
        }
        for (int i = 0; i < req.getRecordsCount(); i++) {
            if (req.getRecords(i).hasTimestampMs() && req.getRecords(i).getTimestampMs() < 0) {
                return "record " + i + ": timestamp_ms must be >= 0 (or absent: the broker's clock), got "
                        + req.getRecords(i).getTimestampMs();
            }
        }
        if (req.hasPartition() && req.getPartition() < 0) {
            return "partition must be >= 0 (or absent: the broker partitions), got " + req.getPartition();
        }
        if (req.getTimeoutMs() < 0) {
            return "timeout_ms must be >= 0, got " + req.getTimeoutMs();
        }
        if (req.getAcksValue() != 0 && req.getAcksValue() != 1) {
            return "acks must be ACKS_ALL or ACKS_LEADER, got " + req.getAcksValue();
        }
        return null;
    }

    private ProduceRecordsResponse failed(ErrorCode code, String message) {
        return ProduceRecordsResponse.newBuilder().setErrorCode(code).setErrorMessage(message).build();
    }

    private boolean reserve(long bytes) {
        while (true) {
            long now = inflightBytes.get();
            // One request larger than the whole budget still goes through when nothing else is in flight.
            if (now > 0 && now + bytes > limits.inflightBytesMax()) {
                return false;
            }
            if (inflightBytes.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    // ------------------------------------------------------------------ fetch

    public void fetch(FetchRecordsRequest req, Consumer<FetchRecordsResponse> respond) {
        String badName = dev.basalt.common.TopicNames.validate(req.getTopic());
        if (badName != null) { // as ProduceRecords answers it: no topic can have this name
            respond.accept(FetchRecordsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_TOPIC).setErrorMessage(badName)
                    .setNextOffset(req.getOffset()).build());
            return;
        }
        String invalid = validate(req, limits.fetchRecordsMax());
        if (invalid != null) {
            respond.accept(FetchRecordsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(invalid)
                    .setNextOffset(req.getOffset()).build());
            return;
        }
        long deadlineMs = clock.millis() + Math.min(req.getMaxWaitMs(), limits.fetchWaitMsMax()) + DEFAULT_TIMEOUT_MS;
        fetchOnce(req, deadlineMs, 0).whenComplete((r, t) -> respond.accept(t == null ? r
                : FetchRecordsResponse.newBuilder().setErrorCode(ErrorCode.UNKNOWN_SERVER_ERROR)
                        .setErrorMessage(String.valueOf(t)).setNextOffset(req.getOffset()).build()));
    }

    private static String validate(FetchRecordsRequest req, int recordsMax) {
        if (req.getTopic().isEmpty()) {
            return "topic is required";
        }
        if (req.getPartition() < 0) {
            return "partition must be >= 0, got " + req.getPartition();
        }
        if (req.getOffset() < -2) {
            return "offset must be >= 0, or -1 (high watermark) or -2 (log start), got " + req.getOffset();
        }
        if (req.getMaxRecords() < 0 || req.getMaxRecords() > recordsMax) {
            return "max_records must be 0..gateway.fetch.records.max=" + recordsMax + ", got " + req.getMaxRecords();
        }
        if (req.getMaxWaitMs() < 0 || req.getMaxBytes() < 0) {
            return "max_wait_ms and max_bytes must be >= 0";
        }
        return null;
    }

    /** One fetch (resolving -1/-2 first), retried while leadership moves. */
    private CompletableFuture<FetchRecordsResponse> fetchOnce(FetchRecordsRequest req, long deadlineMs, int attempt) {
        Optional<TopicImage> topic = replicas.image().topics().topic(req.getTopic());
        if (topic.isEmpty()) {
            return CompletableFuture.completedFuture(fetchError(req, ErrorCode.UNKNOWN_TOPIC, "no topic " + req.getTopic()));
        }
        if (req.getPartition() >= topic.get().partitionCount()) {
            return CompletableFuture.completedFuture(fetchError(req, ErrorCode.INVALID_PARTITION, "topic " + req.getTopic()
                    + " has " + topic.get().partitionCount() + " partitions; no partition " + req.getPartition()));
        }
        Target target = leaderOf(req.getTopic(), req.getPartition());
        if (target.error != null) {
            return retryFetch(req, deadlineMs, attempt, target.error, target.message);
        }
        if (req.getOffset() < 0) {
            ListOffsetsRequest lo = ListOffsetsRequest.newBuilder().addTopics(ListOffsetsRequest.TopicData.newBuilder()
                    .setName(req.getTopic()).addPartitions(ListOffsetsRequest.PartitionData.newBuilder()
                            .setPartition(req.getPartition()).setTimestamp(req.getOffset()))).build();
            return target.destination.listOffsets(lo, deadlineMs).handle((resp, t) -> {
                if (t != null) {
                    return retryFetch(req, deadlineMs, attempt, ErrorCode.BROKER_NOT_AVAILABLE, "leader unreachable: " + t);
                }
                ErrorCode code = resp.getErrorCode() != ErrorCode.NONE ? resp.getErrorCode()
                        : resp.getTopics(0).getPartitions(0).getErrorCode();
                if (code != ErrorCode.NONE) {
                    String msg = resp.getErrorCode() != ErrorCode.NONE ? resp.getErrorMessage()
                            : resp.getTopics(0).getPartitions(0).getErrorMessage();
                    return retriable(code) ? retryFetch(req, deadlineMs, attempt, code, msg)
                            : CompletableFuture.completedFuture(fetchError(req, code, msg));
                }
                long offset = resp.getTopics(0).getPartitions(0).getOffset();
                return fetchOnce(req.toBuilder().setOffset(offset).build(), deadlineMs, attempt);
            }).thenCompose(f -> f);
        }
        int maxBytes = req.getMaxBytes() == 0 ? DEFAULT_MAX_BYTES : req.getMaxBytes();
        FetchRequest fr = FetchRequest.newBuilder().setMaxWaitMs(Math.min(req.getMaxWaitMs(), limits.fetchWaitMsMax()))
                .setMinBytes(1).setMaxBytes(maxBytes)
                .addTopics(FetchRequest.TopicData.newBuilder().setName(req.getTopic())
                        .addPartitions(FetchRequest.PartitionData.newBuilder().setPartition(req.getPartition())
                                .setFetchOffset(req.getOffset()).setPartitionMaxBytes(maxBytes)))
                .build();
        int maxRecords = req.getMaxRecords() == 0 ? DEFAULT_MAX_RECORDS : req.getMaxRecords();
        return target.destination.fetch(fr, deadlineMs).handle((resp, t) -> {
            if (t != null) {
                return retryFetch(req, deadlineMs, attempt, ErrorCode.BROKER_NOT_AVAILABLE, "leader unreachable: " + t);
            }
            if (resp.getErrorCode() != ErrorCode.NONE) {
                return CompletableFuture.completedFuture(fetchError(req, resp.getErrorCode(), resp.getErrorMessage()));
            }
            FetchResponse.PartitionResponse p = resp.getTopics(0).getPartitions(0);
            FetchRecordsResponse.Builder b = FetchRecordsResponse.newBuilder().setHighWatermark(p.getHighWatermark())
                    .setLogStartOffset(p.getLogStartOffset()).setNextOffset(req.getOffset());
            if (p.getErrorCode() != ErrorCode.NONE) {
                if (retriable(p.getErrorCode())) {
                    return retryFetch(req, deadlineMs, attempt, p.getErrorCode(), p.getErrorMessage());
                }
                return CompletableFuture.completedFuture(b.setErrorCode(p.getErrorCode()).setErrorMessage(p.getErrorMessage()).build());
            }
            try {
                RecordCodec.Decoded d = RecordCodec.decode(p.getRecords().asReadOnlyByteBuffer(), req.getOffset(), p.getHighWatermark(),
                        maxRecords);
                return CompletableFuture.completedFuture(b.addAllRecords(d.records()).setNextOffset(d.nextOffset()).build());
            } catch (CorruptRecordException e) {
                log.error("Corrupt batch fetched from {}-{} at {}", req.getTopic(), req.getPartition(), req.getOffset(), e);
                return CompletableFuture.completedFuture(b.setErrorCode(ErrorCode.CORRUPT_RECORD).setErrorMessage(e.getMessage()).build());
            }
        }).thenCompose(f -> f);
    }

    private CompletableFuture<FetchRecordsResponse> retryFetch(FetchRecordsRequest req, long deadlineMs, int attempt, ErrorCode code,
                                                               String message) {
        if (attempt < limits.retriesMax() && clock.millis() + limits.retryBackoffMs() < deadlineMs) {
            CompletableFuture<FetchRecordsResponse> f = new CompletableFuture<>();
            scheduler.schedule(() -> fetchOnce(req, deadlineMs, attempt + 1).whenComplete((r, t) -> {
                if (t != null) {
                    f.completeExceptionally(t);
                } else {
                    f.complete(r);
                }
            }), limits.retryBackoffMs(), TimeUnit.MILLISECONDS);
            return f;
        }
        return CompletableFuture.completedFuture(fetchError(req, code, message + " (after " + (attempt + 1) + " attempts)"));
    }

    private static FetchRecordsResponse fetchError(FetchRecordsRequest req, ErrorCode code, String message) {
        return FetchRecordsResponse.newBuilder().setErrorCode(code).setErrorMessage(message).setNextOffset(req.getOffset())
                .setHighWatermark(-1).setLogStartOffset(-1).build();
    }

    /**
     * SubscribeRecords: fetches from where the last answer ended, one fetch in flight, and the next
     * only once {@code sink} can take a message (gRPC flow control).
     */
    public void subscribe(FetchRecordsRequest req, Subscription sink) {
        FetchRecordsRequest first = req.getMaxWaitMs() == 0 ? req.toBuilder().setMaxWaitMs(SUBSCRIBE_WAIT_MS_DEFAULT).build() : req;
        String badName = dev.basalt.common.TopicNames.validate(req.getTopic());
        if (badName != null) {
            sink.end(FetchRecordsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_TOPIC).setErrorMessage(badName)
                    .setNextOffset(req.getOffset()).build());
            return;
        }
        String invalid = validate(first, limits.fetchRecordsMax());
        if (invalid != null) {
            sink.end(FetchRecordsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(invalid)
                    .setNextOffset(req.getOffset()).build());
            return;
        }
        next(first, sink);
    }

    private void next(FetchRecordsRequest req, Subscription sink) {
        if (sink.cancelled()) {
            return;
        }
        long deadlineMs = clock.millis() + Math.min(req.getMaxWaitMs(), limits.fetchWaitMsMax()) + DEFAULT_TIMEOUT_MS;
        fetchOnce(req, deadlineMs, 0).whenComplete((r, t) -> {
            if (t != null || r.getErrorCode() != ErrorCode.NONE) {
                sink.end(t == null ? r : FetchRecordsResponse.newBuilder().setErrorCode(ErrorCode.UNKNOWN_SERVER_ERROR)
                        .setErrorMessage(String.valueOf(t)).setNextOffset(req.getOffset()).build());
                return;
            }
            FetchRecordsRequest following = req.toBuilder().setOffset(r.getNextOffset()).build();
            // Through the executor, not on this stack: with a backlog every fetch completes at once.
            sink.send(r, () -> continuations.execute(() -> next(following, sink)));
        });
    }

    /** The stream side of a subscription (the gRPC binding implements it). */
    public interface Subscription {
        boolean cancelled();

        /** Sends {@code message}, then runs {@code then} once the stream can take another. */
        void send(FetchRecordsResponse message, Runnable then);

        /** Sends a final message with its error and ends the stream. */
        void end(FetchRecordsResponse last);
    }

    /** A partition's high watermark and log start offset as its leader answered them. */
    public record LeaderOffsets(String topic, int partition, long highWatermark, long logStartOffset) {
    }

    /**
     * Asks the leaders of {@code partitions} (topic → partition numbers) for their high watermarks
     * and log start offsets: one ListOffsets request per leader and kind, at most {@code timeoutMs}.
     * Each leader's answer goes to {@code sink} as soon as it arrives (a slow leader holds back only
     * its own partitions), holding the partitions both of whose offsets came back; one without a
     * leader, an unreachable leader or a per-partition error is left out (callers ask again later).
     * The future completes when every leader answered or failed.
     */
    public CompletableFuture<Void> leaderOffsets(Map<String, ? extends java.util.Collection<Integer>> partitions, long timeoutMs,
                                                 Consumer<List<LeaderOffsets>> sink) {
        long deadlineMs = clock.millis() + timeoutMs;
        Map<Destinations.Destination, Map<String, List<Integer>>> byLeader = new java.util.IdentityHashMap<>();
        partitions.forEach((topic, ps) -> ps.forEach(p -> {
            Target t = leaderOf(topic, p);
            if (t.error == null) {
                byLeader.computeIfAbsent(t.destination, d -> new TreeMap<>()).computeIfAbsent(topic, x -> new ArrayList<>()).add(p);
            }
        }));
        List<CompletableFuture<Void>> asked = new ArrayList<>();
        byLeader.forEach((d, ps) -> {
            CompletableFuture<Map<PartitionOf, Long>> ends =
                    offsetsAt(d, ps, dev.basalt.broker.server.ListOffsetsHandler.LATEST, deadlineMs);
            CompletableFuture<Map<PartitionOf, Long>> starts =
                    offsetsAt(d, ps, dev.basalt.broker.server.ListOffsetsHandler.EARLIEST, deadlineMs);
            asked.add(ends.thenCombine(starts, (e, s) -> {
                List<LeaderOffsets> out = new ArrayList<>();
                e.forEach((key, hw) -> {
                    Long start = s.get(key);
                    if (start != null) {
                        out.add(new LeaderOffsets(key.topic(), key.partition(), hw, start));
                    }
                });
                return out;
            }).thenAccept(sink).exceptionally(t -> {
                log.debug("Offsets of {} from their leader failed: {}", ps, t.toString());
                return null;
            }));
        });
        return CompletableFuture.allOf(asked.toArray(CompletableFuture[]::new));
    }

    private record PartitionOf(String topic, int partition) {
    }

    /** Offset by partition, for the partitions answered without an error. */
    private static CompletableFuture<Map<PartitionOf, Long>> offsetsAt(Destinations.Destination d, Map<String, List<Integer>> partitions,
                                                                 long timestamp, long deadlineMs) {
        ListOffsetsRequest.Builder req = ListOffsetsRequest.newBuilder();
        partitions.forEach((topic, ps) -> {
            ListOffsetsRequest.TopicData.Builder t = req.addTopicsBuilder().setName(topic);
            ps.forEach(p -> t.addPartitions(ListOffsetsRequest.PartitionData.newBuilder().setPartition(p).setTimestamp(timestamp)));
        });
        return d.listOffsets(req.build(), deadlineMs).thenApply(resp -> {
            Map<PartitionOf, Long> out = new java.util.HashMap<>();
            if (resp.getErrorCode() == ErrorCode.NONE) {
                resp.getTopicsList().forEach(t -> t.getPartitionsList().forEach(p -> {
                    if (p.getErrorCode() == ErrorCode.NONE) {
                        out.put(new PartitionOf(t.getName(), p.getPartition()), p.getOffset());
                    }
                }));
            }
            return out;
        });
    }

    // ------------------------------------------------------------------ routing

    /** A partition's leader now: a destination, or the error to answer with. */
    private record Target(Destinations.Destination destination, ErrorCode error, String message) {
    }

    private Target leaderOf(String topic, int partition) {
        MetadataImage img = replicas.image();
        Optional<TopicImage> t = img.topics().topic(topic);
        if (t.isEmpty()) {
            return new Target(null, ErrorCode.UNKNOWN_TOPIC, "no topic " + topic);
        }
        PartitionRegistration reg = t.get().partitions().get(partition);
        if (reg == null) {
            return new Target(null, ErrorCode.INVALID_PARTITION, "no partition " + partition + " in " + topic);
        }
        if (reg.leader() < 0) {
            return new Target(null, ErrorCode.NOT_LEADER, topic + "-" + partition + " has no leader now");
        }
        if (reg.leader() == replicas.brokerId()) {
            return new Target(destinations.local(), null, null);
        }
        Optional<Endpoint> ep = img.cluster().broker(reg.leader()).flatMap(b -> b.endpoints().stream()
                .filter(e -> e.name().equals(CLIENT_LISTENER)).findFirst());
        if (ep.isEmpty()) {
            return new Target(null, ErrorCode.NOT_LEADER, "leader " + reg.leader() + " of " + topic + "-" + partition
                    + " has no client endpoint in the metadata");
        }
        return new Target(destinations.remote(reg.leader(), ep.get().host(), ep.get().port()), null, null);
    }

    @Override
    public void close() {
        destinations.close();
    }
}
