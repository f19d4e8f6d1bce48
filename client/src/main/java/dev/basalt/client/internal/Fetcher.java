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
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Sends the consumer's Fetch requests (one outstanding per leader) and collects their answers
 * into a queue the consumer thread drains. Keeps a per-broker backoff after transport failures.
 *
 * <p>Thread-safety: {@link #send} and {@link #take} on the consumer thread; gRPC threads only
 * add to the thread-safe answer queue.
 */
public final class Fetcher {
    /** One answer (or failure) of a fetch to one broker; {@code offsets} are the fetch offsets asked for. */
    public record Answer(int node, Map<TopicPartition, Long> offsets, FetchResponse response, BasaltException error) {
    }

    /** Fetch request limits from the consumer configuration. */
    public record Limits(int minBytes, int maxWaitMs, int maxBytes, int partitionMaxBytes, int requestTimeoutMs) {
    }

    private final ChannelPool channels;
    private final Limits limits;
    private final MethodDescriptor<FetchRequest, FetchResponse> method;
    private final long retryBackoffMs;
    private final Time time;
    private final LinkedBlockingQueue<Answer> answers = new LinkedBlockingQueue<>();
    private final Set<Integer> inFlight = new java.util.HashSet<>();
    private final Map<Integer, Long> backoffUntilMs = new HashMap<>();

    public Fetcher(ChannelPool channels, Limits limits, long retryBackoffMs, Time time) {
        this.channels = channels;
        this.limits = limits;
        // answers are read into one array and their record bytes alias it (one copy off the socket)
        this.method = FetchServiceGrpc.getFetchMethod().toBuilder(ProtoUtils.marshaller(FetchRequest.getDefaultInstance()),
                new AliasingMarshaller<>(ProtoUtils.marshaller(FetchResponse.getDefaultInstance()),
                        FetchResponse.getDefaultInstance(), channels.maxInboundMessageBytes())).build();
        this.retryBackoffMs = retryBackoffMs;
        this.time = time;
    }

    /** True if a fetch may be sent to this broker now. */
    public boolean canSendTo(int node) {
        return !inFlight.contains(node) && backoffUntilMs.getOrDefault(node, Long.MIN_VALUE) <= time.monotonicMs();
    }

    /** True if a fetch to this partition's leader is outstanding (its answer is not yet taken). */
    public boolean inFlightTo(int node) {
        return inFlight.contains(node);
    }

    /** Sends one fetch for the given partitions and positions to a broker. */
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
                .setMaxBytes(limits.maxBytes());
        topics.values().forEach(req::addTopics);
        Map<TopicPartition, Long> asked = Map.copyOf(offsets);
        inFlight.add(node);
        try {
            CallOptions options = CallOptions.DEFAULT
                    .withDeadlineAfter((long) limits.maxWaitMs() + limits.requestTimeoutMs(), TimeUnit.MILLISECONDS);
            ClientCalls.asyncUnaryCall(channels.channel(address).newCall(method, options), req.build(), new StreamObserver<>() {
                @Override
                public void onNext(FetchResponse r) {
                    answers.add(new Answer(node, asked, r, null));
                }

                @Override
                public void onError(Throwable t) {
                    answers.add(new Answer(node, asked, null, Errors.forTransport(t, false, "fetch from " + address)));
                }

                @Override
                public void onCompleted() {
                }
            });
        } catch (RuntimeException e) {
            answers.add(new Answer(node, asked, null, Errors.forTransport(e, false, "fetch from " + address)));
        }
    }

    /** The next answer, waiting up to waitMs (0 = do not wait); null if none. */
    public Answer take(long waitMs) throws InterruptedException {
        Answer a = waitMs <= 0 ? answers.poll() : answers.poll(waitMs, TimeUnit.MILLISECONDS);
        if (a != null) {
            inFlight.remove(a.node());
            if (a.error() != null) {
                backoffUntilMs.put(a.node(), time.monotonicMs() + retryBackoffMs);
            }
        }
        return a;
    }

    /** Wakes a thread blocked in {@link #take} (used by Consumer.wakeup). */
    public void interruptTake() {
        answers.add(new Answer(-1, Map.of(), null, null));
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
