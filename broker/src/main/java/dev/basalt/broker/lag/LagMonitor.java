package dev.basalt.broker.lag;

import dev.basalt.broker.group.state.GroupRecord;
import dev.basalt.broker.group.state.OffsetAndMetadata;
import dev.basalt.broker.group.state.PartitionKey;
import dev.basalt.broker.lag.state.Commit;
import dev.basalt.broker.lag.state.CommitWindow;
import dev.basalt.broker.lag.state.LagEvaluator;
import dev.basalt.broker.lag.state.OffsetTimeline;
import dev.basalt.broker.lag.state.PartitionStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The lag monitor of the groups this broker coordinates: per group and partition Burrow's window of
 * the last {@code lag.window.commits} commits (fed by the coordinator as commits are committed), and
 * per partition a table of (log end offset, time) samples for lag in seconds (sampled every
 * {@code lag.sample.interval.ms}). The log end offset is the partition's high watermark as
 * {@link LogOffsets} gives it (the leader's: {@link LeaderLogOffsets}); a partition whose log end
 * is unknown has an unknown lag (-1) and the status {@link PartitionStatus#UNKNOWN}.
 *
 * <p>When a broker becomes coordinator, windows are rebuilt from the commits still in the offsets
 * log ({@link #onReplayed}; compaction keeps the last commit per partition, so a window may hold
 * one), with their lag at commit unknown; {@code complete} says how full each window is.
 *
 * <p>Thread-safety: thread-safe (synchronized): fed from the coordinator's loops and the sampler
 * timer, read by HTTP handler threads.
 */
public final class LagMonitor {
    /** The log offsets of a partition as this broker knows them. */
    public interface LogOffsets {
        /** The partition's high watermark, or empty when unknown. */
        OptionalLong logEndOffset(String topic, int partition);

        OptionalLong logStartOffset(String topic, int partition);

        /**
         * Whether {@link #logEndOffset} is current: this broker leads the partition, or its leader
         * answered lately. A local follower's value without a recent answer from the leader may be
         * old without bound (the follower out of sync, the leader out of reach): not evidence that
         * a commit is past the log end.
         */
        default boolean logEndCurrent(String topic, int partition) {
            return true;
        }
    }

    /**
     * One partition of one group, evaluated. lag and lagSeconds are -1 when the log end is unknown
     * (then the status is UNKNOWN).
     */
    public record PartitionLag(PartitionKey partition, long committedOffset, long commitTimestampMs, long logEndOffset,
                               long logStartOffset, long lag, double lagSeconds, PartitionStatus status, long recordsLost,
                               double complete) {
        /** True when the log end could not be read: lag, log end and log start are then -1. */
        public boolean lagUnknown() {
            return status == PartitionStatus.UNKNOWN;
        }
    }

    private final int windowCommits;
    private final long allowedLag;
    private final int samplesMax;
    private final LogOffsets offsets;
    private final Map<String, Map<PartitionKey, CommitWindow>> windows = new HashMap<>();
    private final Map<PartitionKey, OffsetTimeline> timelines = new HashMap<>();

    private final long logEndStaleMaxMs;

    public LagMonitor(int windowCommits, long allowedLag, int samplesMax, LogOffsets offsets) {
        this(windowCommits, allowedLag, samplesMax, offsets, LagEvaluator.DEFAULT_LOG_END_STALE_MAX_MS);
    }

    /**
     * @param logEndStaleMaxMs how far behind the partition's real high watermark {@code offsets}
     *                         may be (a leader's answer kept for some sampling rounds)
     */
    public LagMonitor(int windowCommits, long allowedLag, int samplesMax, LogOffsets offsets, long logEndStaleMaxMs) {
        this.logEndStaleMaxMs = logEndStaleMaxMs;
        this.windowCommits = windowCommits;
        this.allowedLag = allowedLag;
        this.samplesMax = samplesMax;
        this.offsets = offsets;
    }

    /** A committed batch of group records: offset commits enter their windows; deleted groups and offsets leave. */
    public synchronized void onCommitted(List<GroupRecord> records) {
        for (GroupRecord r : records) {
            if (r instanceof GroupRecord.OffsetCommit c) {
                long end = offsets.logEndOffset(c.partition().topic(), c.partition().partition()).orElse(c.offset());
                windows.computeIfAbsent(c.groupId(), g -> new HashMap<>())
                        .computeIfAbsent(c.partition(), p -> new CommitWindow(windowCommits))
                        .add(new Commit(c.offset(), c.commitTimestampMs(), Math.max(0, end - c.offset())));
                timelines.computeIfAbsent(c.partition(), p -> new OffsetTimeline(samplesMax));
            } else if (r instanceof GroupRecord.Tombstone t) {
                forget(t);
            }
        }
    }

    /** Per group, the load that last rebuilt its windows (a coordinator shard's load). */
    private final Map<String, Object> rebuiltBy = new HashMap<>();

    /**
     * Commits replayed from the log by a coordinator shard loading its groups (in log order; the
     * same {@code load} for one whole load): each group's windows are rebuilt from them, with the
     * lag at each commit unknown ({@link Commit#UNKNOWN_LAG}: the log end then was not recorded).
     * So a consumer that stopped before the coordinator moved is judged from its history at once,
     * instead of reading OK until new commits fill an empty window.
     */
    public synchronized void onReplayed(List<GroupRecord> records, Object load) {
        for (GroupRecord r : records) {
            String group = r instanceof GroupRecord.OffsetCommit c ? c.groupId()
                    : r instanceof GroupRecord.Tombstone t ? t.groupId() : null;
            if (group == null) {
                continue;
            }
            if (rebuiltBy.get(group) != load) {
                rebuiltBy.put(group, load); // first record of this group in this load: start afresh
                windows.remove(group);
            }
            if (r instanceof GroupRecord.OffsetCommit c) {
                windows.computeIfAbsent(group, g -> new HashMap<>())
                        .computeIfAbsent(c.partition(), p -> new CommitWindow(windowCommits))
                        .add(new Commit(c.offset(), c.commitTimestampMs(), Commit.UNKNOWN_LAG));
                timelines.computeIfAbsent(c.partition(), p -> new OffsetTimeline(samplesMax));
            } else {
                forget((GroupRecord.Tombstone) r);
            }
        }
    }

    private void forget(GroupRecord.Tombstone t) {
        if (t.key() instanceof GroupRecord.GroupKey) {
            windows.remove(t.groupId());
            rebuiltBy.remove(t.groupId());
        } else if (t.key() instanceof GroupRecord.OffsetKey k) {
            Map<PartitionKey, CommitWindow> g = windows.get(t.groupId());
            if (g != null) {
                g.remove(k.partition());
            }
        }
    }

    /** Samples the log end offset of every partition some group committed (the sampler timer calls this). */
    public synchronized void sample(long nowMs) {
        timelines.entrySet().removeIf(e -> windows.values().stream().noneMatch(g -> g.containsKey(e.getKey())));
        timelines.forEach((p, t) -> offsets.logEndOffset(p.topic(), p.partition()).ifPresent(end -> t.record(end, nowMs)));
    }

    /** Evaluates every partition the group has a committed offset for. */
    public synchronized List<PartitionLag> evaluate(String groupId, SortedMap<PartitionKey, OffsetAndMetadata> committed, long nowMs) {
        List<PartitionLag> out = new ArrayList<>();
        Map<PartitionKey, CommitWindow> g = windows.getOrDefault(groupId, Map.of());
        for (Map.Entry<PartitionKey, OffsetAndMetadata> e : new TreeMap<>(committed).entrySet()) {
            PartitionKey p = e.getKey();
            OffsetAndMetadata o = e.getValue();
            OptionalLong end = offsets.logEndOffset(p.topic(), p.partition());
            OptionalLong start = offsets.logStartOffset(p.topic(), p.partition());
            if (end.isEmpty() || start.isEmpty()) {
                out.add(new PartitionLag(p, o.offset(), o.commitTimestampMs(), -1, -1, -1, -1, PartitionStatus.UNKNOWN, 0, 0));
                continue;
            }
            CommitWindow w = g.get(p);
            List<Commit> window = w == null || w.isEmpty()
                    ? List.of(new Commit(o.offset(), o.commitTimestampMs(), Math.max(0, end.getAsLong() - o.offset())))
                    : w.commits();
            OffsetTimeline t = timelines.get(p);
            double seconds = t == null ? -1 : t.lagSeconds(o.offset(), nowMs);
            // how long the log end has been more than the allowed lag past the committed offset
            // (the same walk of the samples as the lag in seconds when no lag is allowed)
            double behindSeconds = allowedLag == 0 || t == null ? seconds : t.lagSeconds(o.offset() + allowedLag, nowMs);
            long behindMs = behindSeconds < 0 ? -1 : (long) (behindSeconds * 1000);
            PartitionStatus status = LagEvaluator.evaluate(window, end.getAsLong(), start.getAsLong(), allowedLag, nowMs, behindMs,
                    offsets.logEndCurrent(p.topic(), p.partition()) ? logEndStaleMaxMs : Long.MAX_VALUE);
            out.add(new PartitionLag(p, o.offset(), o.commitTimestampMs(), end.getAsLong(), start.getAsLong(),
                    Math.max(0, end.getAsLong() - o.offset()), seconds, status, Math.max(0, start.getAsLong() - o.offset()),
                    w == null ? 0 : w.complete()));
        }
        return out;
    }
}
