package dev.basalt.broker.lag;

import dev.basalt.broker.group.state.PartitionKey;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * The log offsets the lag monitor judges by, as the partition's leader has them: a partition this
 * broker leads is read locally; any other is asked from its leader once per sampling round
 * ({@link #refresh}; each leader's answer is taken as it arrives, so a slow or unreachable leader
 * delays only its own partitions). Log end: where this broker holds a follower, the larger of the
 * leader's last answer and the follower's own value is used (both only trail the leader; a lag
 * timeline must not see the log end go back). Log start: the leader's answer while fresh (a
 * follower's retention runs on its own schedule), else a local follower's own. Without a local
 * replica, the leader's answer is used while it arrived at most {@code freshRoundsMax} rounds ago,
 * and the offsets are unknown after.
 *
 * <p>Before this, a group coordinator without a replica of a partition showed its lag as unknown
 * (on a cluster with more brokers than the replication factor, most partitions), and a follower's
 * log start decided DATA_LOSS.
 *
 * <p>No I/O of its own and no clock: the asker does the network calls, rounds count time.
 * Thread-safety: thread-safe (read by the coordinator's loops and HTTP threads, refreshed by the
 * sampler timer; answers arrive on gRPC threads).
 */
public final class LeaderLogOffsets implements LagMonitor.LogOffsets {
    /** This broker's own replica of a partition. */
    public interface Local {
        /** True when this broker leads the partition now. */
        boolean leads(String topic, int partition);

        /** High watermark of the local replica, or empty without one. */
        OptionalLong highWatermark(String topic, int partition);

        /** Log start offset of the local replica, or empty without one. */
        OptionalLong logStartOffset(String topic, int partition);
    }

    /** A leader's answer for one partition. */
    public record Answer(PartitionKey partition, long highWatermark, long logStartOffset) {
    }

    private record Known(long highWatermark, long logStartOffset, long round) {
    }

    private final Local local;
    private final BiFunction<Map<String, Set<Integer>>, Consumer<List<Answer>>, CompletableFuture<?>> asker;
    private final int freshRoundsMax;
    private final int wantedRoundsMax;
    private final int partitionsPerRoundMax;
    private final Map<PartitionKey, Known> known = new ConcurrentHashMap<>();
    /** Partitions someone asked about, with the round they were last asked in. */
    private final Map<PartitionKey, Long> wanted = new ConcurrentHashMap<>();
    private volatile long round;
    private volatile CompletableFuture<?> inFlight = CompletableFuture.completedFuture(null);
    private PartitionKey cursor; // only the refreshing thread

    /**
     * @param asker                 asks leaders (topic → partitions) for their offsets, giving each leader's
     *                              answers to the sink as they arrive; its future completes when all did
     * @param freshRoundsMax        an answer older than this many rounds is not used
     * @param wantedRoundsMax       a partition nobody asked about for this many rounds is no longer asked
     * @param partitionsPerRoundMax at most this many partitions are asked per round
     */
    public LeaderLogOffsets(Local local, BiFunction<Map<String, Set<Integer>>, Consumer<List<Answer>>, CompletableFuture<?>> asker,
                            int freshRoundsMax, int wantedRoundsMax, int partitionsPerRoundMax) {
        if (freshRoundsMax < 1 || wantedRoundsMax < 1 || partitionsPerRoundMax < 1) {
            throw new IllegalArgumentException("rounds and partitions per round must be at least 1");
        }
        this.local = local;
        this.asker = asker;
        this.freshRoundsMax = freshRoundsMax;
        this.wantedRoundsMax = wantedRoundsMax;
        this.partitionsPerRoundMax = partitionsPerRoundMax;
    }

    @Override
    public OptionalLong logEndOffset(String topic, int partition) {
        if (local.leads(topic, partition)) {
            return local.highWatermark(topic, partition);
        }
        Known k = known(topic, partition);
        return choose(k, k == null ? 0 : k.highWatermark(), local.highWatermark(topic, partition));
    }

    @Override
    public boolean logEndCurrent(String topic, int partition) {
        if (local.leads(topic, partition)) {
            return true;
        }
        Known k = known.get(new PartitionKey(topic, partition));
        return k != null && round - k.round() <= freshRoundsMax;
    }

    @Override
    public OptionalLong logStartOffset(String topic, int partition) {
        if (local.leads(topic, partition)) {
            return local.logStartOffset(topic, partition);
        }
        Known k = known(topic, partition);
        OptionalLong mine = local.logStartOffset(topic, partition);
        if (k != null && round - k.round() <= freshRoundsMax) {
            // The leader's, whose log consumers read; not the larger of it and a local follower's as
            // for the log end: a follower applies retention on its own schedule and may have deleted
            // records the leader still serves (found probing: DATA_LOSS with 22,912 records "lost"
            // while the leader, restarted minutes before, still served every one).
            return OptionalLong.of(k.logStartOffset());
        }
        // No fresh answer (none yet, or a leader that stopped answering): the local follower's own,
        // or unknown. Not an old answer: an unreachable leader's would hide real loss for good.
        return mine;
    }

    /**
     * Both the leader's last answer and a local follower's value only trail the leader's offset
     * (neither goes back), so the larger is the better: a follower fetched a moment ago is ahead
     * of an answer up to an interval old under a fast producer. Without a local replica, the
     * leader's answer while fresh, else unknown.
     */
    private OptionalLong choose(Known k, long leaders, OptionalLong local) {
        if (local.isPresent()) {
            return k == null ? local : OptionalLong.of(Math.max(leaders, local.getAsLong()));
        }
        return k != null && round - k.round() <= freshRoundsMax ? OptionalLong.of(leaders) : OptionalLong.empty();
    }

    private Known known(String topic, int partition) {
        PartitionKey key = new PartitionKey(topic, partition);
        wanted.put(key, round);
        return known.get(key);
    }

    /**
     * Starts a round: forgets partitions nobody asked about lately and asks the leaders of the
     * others this broker does not lead (unless the previous round's question is still unanswered:
     * one in flight at a time).
     */
    public synchronized void refresh() {
        long now = ++round;
        wanted.entrySet().removeIf(e -> now - e.getValue() > wantedRoundsMax);
        known.keySet().removeIf(k -> !wanted.containsKey(k));
        if (!inFlight.isDone()) {
            return;
        }
        Map<String, Set<Integer>> ask = new TreeMap<>();
        TreeSet<PartitionKey> all = new TreeSet<>(wanted.keySet());
        // more than a round's worth: each round goes on after the last partition the previous one asked
        List<PartitionKey> order = new java.util.ArrayList<>(cursor == null ? all : all.tailSet(cursor, false));
        if (cursor != null) {
            order.addAll(all.headSet(cursor, true));
        }
        int n = 0;
        for (PartitionKey p : order) {
            if (n == partitionsPerRoundMax) {
                break;
            }
            if (!local.leads(p.topic(), p.partition())) {
                ask.computeIfAbsent(p.topic(), t -> new TreeSet<>()).add(p.partition());
                cursor = p;
                n++;
            }
        }
        if (ask.isEmpty()) {
            return;
        }
        CompletableFuture<?> asked;
        try {
            // answers are stamped with the round they arrive in: a late one is as old as it is
            asked = asker.apply(ask, answers -> answers.forEach(a -> {
                if (wanted.containsKey(a.partition())) {
                    known.put(a.partition(), new Known(a.highWatermark(), a.logStartOffset(), round));
                }
            }));
        } catch (RuntimeException e) {
            asked = CompletableFuture.failedFuture(e); // asked again next round
        }
        inFlight = asked.exceptionally(t -> null);
    }

    /** Partitions asked about and not forgotten (tests, metrics). */
    int wantedCount() {
        return wanted.size();
    }
}
