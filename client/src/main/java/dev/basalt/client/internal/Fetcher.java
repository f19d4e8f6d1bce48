package dev.basalt.client.internal;

import dev.basalt.client.BasaltException;
import dev.basalt.client.TopicPartition;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.proto.v1.FetchServiceGrpc;
import dev.basalt.grpc.AliasingMarshaller;
import io.grpc.CallOptions;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Sends the consumer's fetches and collects their answers into a queue the consumer thread
 * drains. Fetches go on one FetchStream per broker (FetchInParts to a broker without it): an
 * answer arrives as parts of a few partitions each, written by the broker as it reads them, so the
 * consumer decodes the first partitions while the later ones are still on the wire, and a
 * partition is free to be fetched again once its part is taken.
 *
 * <p>Bounds: a partition is in at most one outstanding fetch; a broker has at most
 * {@value #FETCHES_PER_BROKER_MAX} fetch whose parts are still coming (as Kafka's consumer: more
 * were measured on one node, 2 and 3, and were no faster, the broker spending more per byte on
 * smaller fetches). Keeps a per-broker backoff after transport failures.
 *
 * <p>Thread-safety: {@link #send}, {@link #take}, {@link #close} and the queries on the consumer
 * thread; gRPC threads only add to the thread-safe answer queue, and end a stream's outstanding
 * fetch (an atomic hand-off, so each fetch ends once) and mark the stream dead (volatile). A part
 * queued by a gRPC thread just before the consumer thread failed the fetch at its deadline can
 * follow the failure; the consumer skips records below its position, so it is harmless.
 */
public final class Fetcher {
    /** Outstanding fetches to one broker at most. */
    public static final int FETCHES_PER_BROKER_MAX = 1;

    /**
     * One part of the answer to a fetch (or the fetch's failure, or its end when both
     * {@code response} and {@code error} are null and {@code last} is set); {@code offsets} are the
     * fetch offsets the whole fetch asked for.
     */
    public record Answer(int node, long fetchId, Map<TopicPartition, Long> offsets, FetchResponse response,
                         BasaltException error, boolean last) {
    }

    /**
     * Fetch request settings from the consumer configuration; clientRack is empty when none
     * (then no broker redirects this consumer to a follower).
     */
    public record Limits(int minBytes, int maxWaitMs, int maxBytes, int partitionMaxBytes, int requestTimeoutMs, String clientRack) {
    }

    private final ChannelPool channels;
    private final Limits limits;
    private final MethodDescriptor<FetchRequest, FetchResponse> method;
    private final MethodDescriptor<FetchRequest, FetchResponse> streamMethod;
    /** The open FetchStream per broker id (consumer thread only). */
    private final Map<Integer, FetchStreamCall> streams = new HashMap<>();
    /** Brokers that answered FetchStream with UNIMPLEMENTED, and until when they get FetchInParts instead. */
    private final Map<Integer, Long> inPartsUntilMs = new java.util.concurrent.ConcurrentHashMap<>();
    /** How long a broker without FetchStream gets FetchInParts calls before the stream is tried again. */
    static final long IN_PARTS_FALLBACK_MS = 60_000;
    private final long retryBackoffMs;
    private final Time time;
    private final LinkedBlockingQueue<Answer> answers = new LinkedBlockingQueue<>();
    /** Partition → the fetch it is outstanding in. */
    private final Map<TopicPartition, Long> inFlight = new HashMap<>();
    /** Outstanding fetch → its partitions whose part has not been taken yet. */
    private final Map<Long, java.util.Set<TopicPartition>> awaiting = new HashMap<>();
    private final Map<Integer, Integer> inFlightPerNode = new HashMap<>();
    private final Map<Integer, Long> backoffUntilMs = new HashMap<>();
    private long nextFetchId;
    private final FetchStats stats;
    /** Asked about fetches left unanswered past their wait (see {@link LeadershipCheck}); null = never. */
    private volatile LeadershipCheck leadershipCheck;

    /**
     * How long past its fetch.max.wait.ms a fetch goes unanswered before its broker is suspected
     * (paused, or cut off from this client while the others fence it): from then on, every that
     * long, another broker is asked whether the fetch's partitions have moved.
     */
    public static final long STALL_CHECK_MS = 500;

    /**
     * Whether the partitions of a fetch that a broker has not answered in time have moved away
     * from it: asks another broker for metadata (asynchronously; the answer counts at the next
     * check) and says whether the metadata already names, for any of them, a leader epoch newer than
     * the one the fetch was sent with. Then the fetch is abandoned and its partitions fetched from
     * their new leaders, instead of waiting out request.timeout.ms. Consumer thread.
     */
    public interface LeadershipCheck {
        boolean moved(HostPort unanswering, Map<TopicPartition, Integer> sentEpochs);
    }

    public void leadershipCheck(LeadershipCheck check) {
        this.leadershipCheck = check;
    }

    public Fetcher(ChannelPool channels, Limits limits, long retryBackoffMs, Time time) {
        this.channels = channels;
        this.limits = limits;
        // parts are read into one array each and their record bytes alias it (one copy off the socket)
        MethodDescriptor.Marshaller<FetchRequest> requests = ProtoUtils.marshaller(FetchRequest.getDefaultInstance());
        AliasingMarshaller<FetchResponse> parts = new AliasingMarshaller<>(ProtoUtils.marshaller(FetchResponse.getDefaultInstance()),
                FetchResponse.getDefaultInstance(), channels.maxInboundMessageBytes());
        this.method = FetchServiceGrpc.getFetchInPartsMethod().toBuilder(requests, parts).build();
        this.streamMethod = FetchServiceGrpc.getFetchStreamMethod().toBuilder(requests, parts).build();
        this.retryBackoffMs = retryBackoffMs;
        this.time = time;
        this.stats = new FetchStats(time.monotonicMs());
    }

    /** Fetch totals and lag for Consumer.metrics(). */
    public FetchStats stats() {
        return stats;
    }

    /** True if a fetch may be sent to this broker now (below the outstanding bound, not backing off). */
    public boolean canSendTo(int node) {
        return inFlightPerNode.getOrDefault(node, 0) < FETCHES_PER_BROKER_MAX
                && backoffUntilMs.getOrDefault(node, Long.MIN_VALUE) <= time.monotonicMs();
    }

    /** True if this partition is in an outstanding fetch whose part for it has not been taken yet. */
    public boolean inFlight(TopicPartition tp) {
        return inFlight.containsKey(tp);
    }

    /** Outstanding fetches to this broker (tests). */
    public int inFlightTo(int node) {
        return inFlightPerNode.getOrDefault(node, 0);
    }

    /**
     * Sends one fetch for the given partitions and positions to a broker: their leader, or a
     * follower the leader named as preferred read replica. Each partition carries the leader
     * epoch from the metadata, so a broker with another view answers FENCED_LEADER_EPOCH /
     * UNKNOWN_LEADER_EPOCH instead of serving from a log that may have diverged.
     */
    public void send(int node, HostPort address, Map<TopicPartition, Long> offsets, Cluster cluster) {
        send(node, address, offsets, java.util.Set.of(), cluster);
    }

    /** As above; the partitions in {@code verify} ask the broker to check its batches' CRCs first. */
    public void send(int node, HostPort address, Map<TopicPartition, Long> offsets, java.util.Set<TopicPartition> verify,
                     Cluster cluster) {
        Map<String, FetchRequest.TopicData.Builder> topics = new LinkedHashMap<>();
        offsets.forEach((tp, offset) -> topics.computeIfAbsent(tp.topic(), t -> {
            FetchRequest.TopicData.Builder b = FetchRequest.TopicData.newBuilder().setName(t);
            Cluster.TopicInfo info = cluster.topic(t);
            if (info != null && !info.topicId().isEmpty()) {
                b.setTopicId(info.topicId());
            }
            return b;
        }).addPartitions(FetchRequest.PartitionData.newBuilder().setPartition(tp.partition()).setFetchOffset(offset)
                .setPartitionMaxBytes(limits.partitionMaxBytes()).setCurrentLeaderEpoch(cluster.leaderEpochFor(tp))
                .setVerifyChecksums(verify.contains(tp))));
        FetchRequest.Builder req = FetchRequest.newBuilder().setMaxWaitMs(limits.maxWaitMs()).setMinBytes(limits.minBytes())
                .setMaxBytes(limits.maxBytes()).setClientRack(limits.clientRack());
        topics.values().forEach(req::addTopics);
        Map<TopicPartition, Long> asked = Map.copyOf(offsets);
        Map<TopicPartition, Integer> epochs = new HashMap<>();
        asked.keySet().forEach(tp -> epochs.put(tp, cluster.leaderEpochFor(tp)));
        long id = nextFetchId++;
        asked.keySet().forEach(tp -> inFlight.put(tp, id));
        awaiting.put(id, new java.util.HashSet<>(asked.keySet()));
        inFlightPerNode.merge(node, 1, Integer::sum);
        long sentMs = time.monotonicMs();
        if (inPartsUntilMs.getOrDefault(node, Long.MIN_VALUE) <= sentMs) {
            sendOnStream(node, address, req, new Outstanding(id, asked, epochs, sentMs,
                    sentMs + (long) limits.maxWaitMs() + limits.requestTimeoutMs()));
            return;
        }
        try {
            CallOptions options = CallOptions.DEFAULT
                    .withDeadlineAfter((long) limits.maxWaitMs() + limits.requestTimeoutMs(), TimeUnit.MILLISECONDS);
            ClientCalls.asyncServerStreamingCall(channels.channel(address).newCall(method, options), req.build(),
                    new StreamObserver<>() {
                        @Override
                        public void onNext(FetchResponse r) {
                            stats.answered(r, asked, sentMs, time.monotonicMs());
                            answers.add(new Answer(node, id, asked, r, null, false));
                        }

                        @Override
                        public void onError(Throwable t) {
                            answers.add(new Answer(node, id, asked, null, Errors.forTransport(t, false, "fetch from " + address), true));
                        }

                        @Override
                        public void onCompleted() {
                            answers.add(new Answer(node, id, asked, null, null, true));
                        }
                    });
        } catch (RuntimeException e) {
            answers.add(new Answer(node, id, asked, null, Errors.forTransport(e, false, "fetch from " + address), true));
        }
    }

    /**
     * One FetchStream per broker: a fetch is one message on it, tagged with a correlation id, and
     * its parts come back tagged, the last one marked; so a fetch costs no HTTP/2 stream, header
     * blocks or trailers of its own. At most one fetch is outstanding per broker (and so per
     * stream). A fetch past its deadline (fetch.max.wait.ms + request.timeout.ms, as the unary
     * call's) cancels the stream; the next fetch opens a new one.
     */
    private void sendOnStream(int node, HostPort address, FetchRequest.Builder req, Outstanding o) {
        FetchStreamCall call = streams.get(node);
        if (call != null && (call.dead || !call.address.equals(address))) {
            abandon(call, "broker " + node + " moved to " + address);
            call = null;
        }
        if (call == null) {
            call = new FetchStreamCall(node, address);
        }
        // Outstanding before the call starts: a call on a failed channel fails inline (direct
        // executor), and its observer must find the fetch to end it.
        call.current.set(o);
        try {
            if (call.requests == null) {
                call.requests = (io.grpc.stub.ClientCallStreamObserver<FetchRequest>) ClientCalls.asyncBidiStreamingCall(
                        channels.channel(address).newCall(streamMethod, CallOptions.DEFAULT), call.observer());
                streams.put(node, call);
            }
            call.requests.onNext(req.setCorrelationId(o.id()).build());
        } catch (RuntimeException e) {
            call.fail(e);
            abandon(call, "send failed");
            return;
        }
        if (call.dead) {
            // the stream ended before or while the fetch went out: end the fetch now, not at its deadline
            call.fail(io.grpc.Status.UNAVAILABLE.withDescription("fetch stream to broker " + node + " closed").asRuntimeException());
            abandon(call, "stream closed");
        }
    }

    /** Forgets and cancels a stream (consumer thread). Its outstanding fetch, if any, ends through its observer. */
    private void abandon(FetchStreamCall call, String why) {
        streams.remove(call.node, call);
        call.dead = true;
        if (call.requests == null) {
            return; // never started
        }
        try {
            call.requests.cancel(why, null);
        } catch (RuntimeException ignored) {
            // already closed
        }
    }

    /** Cancels streams whose outstanding fetch is past its deadline; returns ms until the nearest deadline. */
    private long expireStreams(long now) {
        long nearest = Long.MAX_VALUE;
        for (FetchStreamCall call : List.copyOf(streams.values())) {
            Outstanding o = call.current.get();
            if (o == null) {
                continue;
            }
            if (now >= o.deadlineMs()) {
                call.fail(io.grpc.Status.DEADLINE_EXCEEDED.withDescription("no answer within fetch.max.wait.ms + request.timeout.ms")
                        .asRuntimeException());
                abandon(call, "fetch timed out");
                continue;
            }
            LeadershipCheck check = leadershipCheck;
            long stalledAtMs = o.sentMs() + limits.maxWaitMs() + STALL_CHECK_MS;
            if (check != null && now >= stalledAtMs) {
                long nextCheckMs = Math.max(stalledAtMs, call.lastCheckMs + STALL_CHECK_MS);
                if (now >= nextCheckMs) {
                    call.lastCheckMs = now;
                    if (check.moved(call.address, o.epochs())) {
                        call.fail(io.grpc.Status.UNAVAILABLE.withDescription("broker " + call.node + " did not answer a fetch for "
                                + (now - o.sentMs()) + " ms and its partitions have a newer leader").asRuntimeException());
                        abandon(call, "leadership moved");
                        continue;
                    }
                    nextCheckMs = now + STALL_CHECK_MS;
                }
                nearest = Math.min(nearest, nextCheckMs - now);
            } else if (check != null) {
                nearest = Math.min(nearest, stalledAtMs - now);
            }
            nearest = Math.min(nearest, o.deadlineMs() - now);
        }
        return nearest;
    }

    /** A fetch sent on a stream, waiting for its last part. */
    private record Outstanding(long id, Map<TopicPartition, Long> asked, Map<TopicPartition, Integer> epochs, long sentMs,
                               long deadlineMs) {
    }

    /** One FetchStream to a broker. {@code requests} and {@code dead} belong to the consumer thread (dead is also set by gRPC's). */
    private final class FetchStreamCall {
        final int node;
        final HostPort address;
        final java.util.concurrent.atomic.AtomicReference<Outstanding> current = new java.util.concurrent.atomic.AtomicReference<>();
        io.grpc.stub.ClientCallStreamObserver<FetchRequest> requests;
        volatile boolean dead;
        /** When the last {@link LeadershipCheck} about this stream's fetch ran (consumer thread). */
        long lastCheckMs = Long.MIN_VALUE / 2;

        FetchStreamCall(int node, HostPort address) {
            this.node = node;
            this.address = address;
        }

        /** Ends the outstanding fetch, if any, with this failure (once, whichever thread comes first). */
        void fail(Throwable t) {
            Outstanding o = current.getAndSet(null);
            if (o != null) {
                answers.add(new Answer(node, o.id(), o.asked(), null, Errors.forTransport(t, false, "fetch from " + address), true));
            }
        }

        StreamObserver<FetchResponse> observer() {
            return new StreamObserver<>() {
                @Override
                public void onNext(FetchResponse r) {
                    Outstanding o = current.get();
                    if (o == null || o.id() != r.getCorrelationId()) {
                        return; // an answer to a fetch this client gave up on
                    }
                    stats.answered(r, o.asked(), o.sentMs(), time.monotonicMs());
                    if (r.getLastPart() && current.compareAndSet(o, null)) {
                        answers.add(new Answer(node, o.id(), o.asked(), r, null, true));
                    } else if (!r.getLastPart()) {
                        answers.add(new Answer(node, o.id(), o.asked(), r, null, false));
                    }
                }

                @Override
                public void onError(Throwable t) {
                    dead = true;
                    if (io.grpc.Status.fromThrowable(t).getCode() == io.grpc.Status.Code.UNIMPLEMENTED) {
                        inPartsUntilMs.put(node, time.monotonicMs() + IN_PARTS_FALLBACK_MS);
                        Outstanding o = current.getAndSet(null);
                        if (o != null) {
                            answers.add(new Answer(node, o.id(), o.asked(), null, null, true)); // refetched with FetchInParts
                        }
                        return;
                    }
                    fail(t);
                }

                @Override
                public void onCompleted() {
                    dead = true;
                    fail(io.grpc.Status.UNAVAILABLE.withDescription("broker " + node + " ended the fetch stream").asRuntimeException());
                }
            };
        }
    }

    /** Ends every fetch stream (the consumer is closing). */
    public void close() {
        for (FetchStreamCall call : List.copyOf(streams.values())) {
            abandon(call, "consumer closed");
        }
    }

    /**
     * The next answer part, waiting up to waitMs (0 = do not wait); null if none. Taking a part
     * frees its partitions for the next fetch; once every partition of a fetch has had its part
     * (or the fetch ended without them), the broker's slot is free as well.
     */
    public Answer take(long waitMs) throws InterruptedException {
        long untilDeadline = expireStreams(time.monotonicMs());
        long wait = Math.min(waitMs, untilDeadline);
        Answer polled = wait <= 0 ? answers.poll() : answers.poll(wait, TimeUnit.MILLISECONDS);
        if (polled == null && wait < waitMs) {
            expireStreams(time.monotonicMs());
            polled = answers.poll();
        }
        Answer a = polled;
        if (a == null || a.node() < 0) {
            return a;
        }
        java.util.Set<TopicPartition> left = awaiting.get(a.fetchId());
        if (a.response() != null) {
            for (FetchResponse.TopicResponse t : a.response().getTopicsList()) {
                for (FetchResponse.PartitionResponse p : t.getPartitionsList()) {
                    TopicPartition tp = new TopicPartition(t.getName(), p.getPartition());
                    inFlight.remove(tp, a.fetchId());
                    if (left != null) {
                        left.remove(tp);
                    }
                }
            }
        }
        // the broker's slot is free once every partition's part is here (the stream's end,
        // its trailers, follows a moment later) or the fetch ended without them
        if (left != null && (left.isEmpty() || a.last() || a.response() != null && a.response().getTopicsCount() == 0)) {
            awaiting.remove(a.fetchId());
            left.forEach(tp -> inFlight.remove(tp, a.fetchId()));
            inFlightPerNode.computeIfPresent(a.node(), (n, c) -> c > 1 ? c - 1 : null);
        }
        if (a.last() && a.error() != null) {
            backoffUntilMs.put(a.node(), time.monotonicMs() + retryBackoffMs);
        }
        return a;
    }

    /** Wakes a thread blocked in {@link #take} (used by Consumer.wakeup). */
    public void interruptTake() {
        answers.add(new Answer(-1, -1, Map.of(), null, null, false));
    }

    /** Builds the answer map of one response: partition → (error, data). */
    public static Map<TopicPartition, FetchResponse.PartitionResponse> byPartition(FetchResponse r) {
        Map<TopicPartition, FetchResponse.PartitionResponse> out = new LinkedHashMap<>();
        for (FetchResponse.TopicResponse t : r.getTopicsList()) {
            for (FetchResponse.PartitionResponse p : t.getPartitionsList()) {
                out.put(new TopicPartition(t.getName(), p.getPartition()), p);
            }
        }
        return out;
    }
}
