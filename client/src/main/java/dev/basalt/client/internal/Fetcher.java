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
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Sends the consumer's fetches and collects their answers into a queue the consumer thread
 * drains. Fetches use FetchInParts: an answer arrives as parts of a few partitions each, written
 * by the broker as it reads them, so the consumer decodes the first partitions while the later
 * ones are still on the wire, and a partition is free to be fetched again once its part is taken.
 *
 * <p>Bounds: a partition is in at most one outstanding fetch; a broker has at most
 * {@value #FETCHES_PER_BROKER_MAX} fetch whose parts are still coming (as Kafka's consumer: more
 * were measured on one node, 2 and 3, and were no faster, the broker spending more per byte on
 * smaller fetches). Keeps a per-broker backoff after transport failures.
 *
 * <p>Thread-safety: {@link #send}, {@link #take} and the queries on the consumer thread; gRPC
 * threads only add to the thread-safe answer queue.
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

    public Fetcher(ChannelPool channels, Limits limits, long retryBackoffMs, Time time) {
        this.channels = channels;
        this.limits = limits;
        // parts are read into one array each and their record bytes alias it (one copy off the socket)
        this.method = FetchServiceGrpc.getFetchInPartsMethod().toBuilder(ProtoUtils.marshaller(FetchRequest.getDefaultInstance()),
                new AliasingMarshaller<>(ProtoUtils.marshaller(FetchResponse.getDefaultInstance()),
                        FetchResponse.getDefaultInstance(), channels.maxInboundMessageBytes())).build();
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
        Map<String, FetchRequest.TopicData.Builder> topics = new LinkedHashMap<>();
        offsets.forEach((tp, offset) -> topics.computeIfAbsent(tp.topic(), t -> {
            FetchRequest.TopicData.Builder b = FetchRequest.TopicData.newBuilder().setName(t);
            Cluster.TopicInfo info = cluster.topic(t);
            if (info != null && !info.topicId().isEmpty()) {
                b.setTopicId(info.topicId());
            }
            return b;
        }).addPartitions(FetchRequest.PartitionData.newBuilder().setPartition(tp.partition()).setFetchOffset(offset)
                .setPartitionMaxBytes(limits.partitionMaxBytes()).setCurrentLeaderEpoch(cluster.leaderEpochFor(tp))));
        FetchRequest.Builder req = FetchRequest.newBuilder().setMaxWaitMs(limits.maxWaitMs()).setMinBytes(limits.minBytes())
                .setMaxBytes(limits.maxBytes()).setClientRack(limits.clientRack());
        topics.values().forEach(req::addTopics);
        Map<TopicPartition, Long> asked = Map.copyOf(offsets);
        long id = nextFetchId++;
        asked.keySet().forEach(tp -> inFlight.put(tp, id));
        awaiting.put(id, new java.util.HashSet<>(asked.keySet()));
        inFlightPerNode.merge(node, 1, Integer::sum);
        long sentMs = time.monotonicMs();
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
     * The next answer part, waiting up to waitMs (0 = do not wait); null if none. Taking a part
     * frees its partitions for the next fetch; once every partition of a fetch has had its part
     * (or the fetch ended without them), the broker's slot is free as well.
     */
    public Answer take(long waitMs) throws InterruptedException {
        Answer a = waitMs <= 0 ? answers.poll() : answers.poll(waitMs, TimeUnit.MILLISECONDS);
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
