package dev.basalt.broker.replica.fetcher;

import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.log.TopicPartition;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The follower side of this broker: one {@link ReplicaFetcher} (one thread, one connection) per
 * leader broker it follows partitions from, created when the first partition starts following
 * that broker and closed when the last one leaves. Driven by the replica manager from metadata
 * updates.
 *
 * <p>Thread-safety: thread-safe (synchronized); calls are rare (metadata changes).
 */
public final class ReplicaFetcherManager implements AutoCloseable {
    private final int localBrokerId;
    private final Supplier<UUID> incarnationId;
    private final ReplicaClient.Factory clients;
    private final ReplicaConfig config;
    private final Clock clock;
    private final Consumer<TopicPartition> onProgress;
    private final ReassignmentThrottle throttle;
    private final Map<Integer, Source> fetchers = new HashMap<>();
    private volatile Map<Integer, ReplicaFetcher> published = Map.of();
    private final Map<TopicPartition, Integer> sourceOf = new HashMap<>();
    private boolean closed;

    private record Source(String host, int port, ReplicaFetcher fetcher) {
    }

    public ReplicaFetcherManager(int localBrokerId, Supplier<UUID> incarnationId, ReplicaClient.Factory clients,
                                 ReplicaConfig config, Clock clock, Consumer<TopicPartition> onProgress) {
        this(localBrokerId, incarnationId, clients, config, clock, onProgress, new ReassignmentThrottle());
    }

    /** @param throttle this broker's limit on reassignment catch-up, shared by every fetcher */
    public ReplicaFetcherManager(int localBrokerId, Supplier<UUID> incarnationId, ReplicaClient.Factory clients,
                                 ReplicaConfig config, Clock clock, Consumer<TopicPartition> onProgress,
                                 ReassignmentThrottle throttle) {
        this.throttle = throttle;
        this.localBrokerId = localBrokerId;
        this.incarnationId = incarnationId;
        this.clients = clients;
        this.config = config;
        this.clock = clock;
        this.onProgress = onProgress;
    }

    /**
     * Starts (or restarts, truncating first) following {@code partition} from {@code leaderId} at
     * {@code host:port} in {@code leaderEpoch}. A leader whose endpoint changed (it restarted on
     * another address) gets a new fetcher.
     */
    public synchronized void follow(Partition partition, int leaderId, int leaderEpoch, String host, int port) {
        if (closed) {
            return;
        }
        unfollow(partition.topicPartition());
        Source s = fetchers.get(leaderId);
        if (s != null && (!s.host().equals(host) || s.port() != port)) {
            fetchers.remove(leaderId);
            publish();
            s.fetcher().close();
            for (TopicPartition tp : s.fetcher().partitions()) {
                sourceOf.remove(tp);
            }
            s = null;
        }
        if (s == null) {
            ReplicaFetcher f = new ReplicaFetcher(localBrokerId, leaderId, incarnationId, clients.connect(leaderId, host, port), config,
                    clock, onProgress, throttle);
            s = new Source(host, port, f);
            fetchers.put(leaderId, s);
            publish();
            f.start();
        }
        s.fetcher().add(partition, leaderEpoch);
        sourceOf.put(partition.topicPartition(), leaderId);
    }

    /** Stops following {@code tp} (it became leader, lost its leader, or was removed). */
    public synchronized void unfollow(TopicPartition tp) {
        Integer source = sourceOf.remove(tp);
        if (source == null) {
            return;
        }
        Source s = fetchers.get(source);
        if (s == null) {
            return;
        }
        s.fetcher().remove(tp);
        if (s.fetcher().isEmpty()) {
            fetchers.remove(source);
            publish();
            s.fetcher().close();
        }
    }

    /**
     * Moves fetchers whose leader now has another endpoint ({@code endpointOf} gives "host:port",
     * empty if unknown) to it; their partitions truncate again (the leader restarted).
     */
    public synchronized void refreshEndpoints(java.util.function.IntFunction<java.util.Optional<String>> endpointOf) {
        for (Map.Entry<Integer, Source> e : new HashMap<>(fetchers).entrySet()) {
            Source s = e.getValue();
            java.util.Optional<String> now = endpointOf.apply(e.getKey());
            if (now.isEmpty() || now.get().equals(s.host() + ":" + s.port())) {
                continue;
            }
            Map<Partition, Integer> moved = s.fetcher().targets();
            fetchers.remove(e.getKey());
            publish();
            s.fetcher().close();
            String hostPort = now.get();
            int colon = hostPort.lastIndexOf(':');
            for (Map.Entry<Partition, Integer> m : moved.entrySet()) {
                sourceOf.remove(m.getKey().topicPartition());
                follow(m.getKey(), e.getKey(), m.getValue(), hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
            }
        }
    }

    /**
     * Leader brokers whose fetcher has had every request fail in transport or go unanswered for
     * {@code forMs} or longer (see {@link ReplicaFetcher#unreachableForMs}).
     */
    public java.util.SortedSet<Integer> unreachableLeaders(long forMs) {
        // Without the monitor: heartbeats call this, and follow/unfollow hold it while a closing
        // fetcher finishes its request (up to replica.fetch.wait.max.ms + replica.request.timeout.ms).
        long now = clock.millis();
        java.util.SortedSet<Integer> out = new java.util.TreeSet<>();
        published.forEach((id, f) -> {
            if (f.unreachableForMs(now) >= forMs) {
                out.add(id);
            }
        });
        return out;
    }

    /** A copy of {@link #fetchers} for readers that must not wait for the monitor; under it. */
    private void publish() {
        Map<Integer, ReplicaFetcher> m = new HashMap<>();
        fetchers.forEach((id, s) -> m.put(id, s.fetcher()));
        published = Map.copyOf(m);
    }

    /** Whether {@code tp} is followed now; O(1), unlike {@link #following()}. */
    public synchronized boolean isFollowing(TopicPartition tp) {
        return sourceOf.containsKey(tp);
    }

    /** The leader broker each followed partition fetches from. */
    public synchronized Map<TopicPartition, Integer> following() {
        return Map.copyOf(sourceOf);
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (Source s : fetchers.values()) {
            s.fetcher().close();
        }
        fetchers.clear();
        publish();
        sourceOf.clear();
    }
}
