package dev.basalt.broker.lag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.group.state.GroupRecord;
import dev.basalt.broker.group.state.OffsetAndMetadata;
import dev.basalt.broker.group.state.PartitionKey;
import dev.basalt.broker.lag.state.GroupStatus;
import dev.basalt.broker.lag.state.LagEvaluator;
import dev.basalt.broker.lag.state.PartitionStatus;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The lag monitor's windows after a coordinator move: rebuilt from the commits the new
 * coordinator replays from the offsets log. Found probing: a stopped consumer's group read STOP,
 * the coordinator moved, and the group read OK until new commits arrived (which a stopped consumer
 * never sends).
 */
class LagMonitorTest {
    private static final PartitionKey TP = new PartitionKey("t", 0);

    /**
     * Log end 20 and log start 0 for every partition while {@code known} (else both unknown), the
     * log end current while {@code current}.
     */
    private static LagMonitor.LogOffsets offsets(java.util.function.BooleanSupplier known,
                                                 java.util.function.BooleanSupplier current) {
        return new LagMonitor.LogOffsets() {
            @Override
            public OptionalLong logEndOffset(String topic, int partition) {
                return known.getAsBoolean() ? OptionalLong.of(20) : OptionalLong.empty();
            }

            @Override
            public OptionalLong logStartOffset(String topic, int partition) {
                return known.getAsBoolean() ? OptionalLong.of(0) : OptionalLong.empty();
            }

            @Override
            public boolean logEndCurrent(String topic, int partition) {
                return current.getAsBoolean();
            }
        };
    }

    /** Log end 20 and log start 0 for every partition, current. */
    private static final LagMonitor.LogOffsets OFFSETS = offsets(() -> true, () -> true);

    private static GroupRecord.OffsetCommit commit(String group, long offset, long atMs) {
        return new GroupRecord.OffsetCommit(group, TP, offset, -1, "", atMs);
    }

    private static PartitionStatus status(LagMonitor m, String group, long offset, long atMs, long nowMs) {
        TreeMap<PartitionKey, OffsetAndMetadata> committed = new TreeMap<>(Map.of(TP, new OffsetAndMetadata(offset, -1, "", atMs)));
        return m.evaluate(group, committed, nowMs).get(0).status();
    }

    @Test
    void replayedCommits_rebuildTheWindow_soAStoppedConsumerIsStopAtOnce() {
        LagMonitor fresh = new LagMonitor(10, 0, 60, OFFSETS);
        // before: an empty window judges the last commit alone
        assertEquals(PartitionStatus.OK, status(fresh, "g", 5, 3_000, 60_000));

        LagMonitor m = new LagMonitor(10, 0, 60, OFFSETS);
        m.onReplayed(List.of(commit("g", 3, 1_000), commit("g", 4, 2_000), commit("g", 5, 3_000)), "load-1");
        assertEquals(PartitionStatus.STOP, status(m, "g", 5, 3_000, 60_000), "no commit for 57 s after a 2 s window");
        assertEquals(PartitionStatus.OK, status(m, "g", 5, 3_000, 3_500), "not stopped yet, and no lag known to judge");
    }

    /**
     * A commit past the log end (20) is PAST_LOG_END once older than the log end can be stale, but
     * never while that log end is not current (a local follower's value, the leader not answering
     * lately: found by review, it may be old without bound).
     */
    @Test
    void aCommitPastTheLogEnd_isPastLogEnd_onlyWhileTheLogEndIsCurrent() {
        boolean[] current = {true};
        LagMonitor m = new LagMonitor(10, 0, 60, offsets(() -> true, () -> current[0]), 6_000);
        m.onCommitted(List.of(commit("g", 999, 1_000)));
        assertEquals(PartitionStatus.OK, status(m, "g", 999, 1_000, 5_000), "the log end may not have caught up yet");
        assertEquals(PartitionStatus.PAST_LOG_END, status(m, "g", 999, 1_000, 8_000));
        current[0] = false;
        assertEquals(PartitionStatus.OK, status(m, "g", 999, 1_000, 60_000), "a log end that is not current proves nothing");
    }

    /**
     * Found probing: a partition without a leader (its log end unknown, lag -1) read OK, so a
     * group whose partitions had all lost their leader read as caught up. It is UNKNOWN, and the
     * group WARN; once the log end is known again it is judged as before.
     */
    @Test
    void aPartitionWhoseLogEndIsUnknown_isUnknown_andTheGroupWarns() {
        boolean[] leaderless = {true};
        LagMonitor m = new LagMonitor(10, 0, 60, offsets(() -> !leaderless[0], () -> true));
        m.onCommitted(List.of(commit("g", 20, 1_000)));
        TreeMap<PartitionKey, OffsetAndMetadata> committed = new TreeMap<>(Map.of(TP, new OffsetAndMetadata(20, -1, "", 1_000)));
        LagMonitor.PartitionLag p = m.evaluate("g", committed, 2_000).get(0);
        assertEquals(PartitionStatus.UNKNOWN, p.status());
        assertTrue(p.lagUnknown());
        assertEquals(-1, p.lag());
        assertEquals(-1, p.logEndOffset());
        assertEquals(GroupStatus.WARN, LagEvaluator.groupStatus(List.of(PartitionStatus.OK, p.status())));

        leaderless[0] = false;
        p = m.evaluate("g", committed, 2_000).get(0);
        assertEquals(PartitionStatus.OK, p.status(), "caught up at 20 of 20");
        assertFalse(p.lagUnknown());
        assertEquals(0, p.lag());
    }

    /**
     * Found probing a cluster: consumers stopped while caught up, records kept coming, and the
     * group read OK for good, its lag rising. STOP once it has been behind (by the log end
     * samples) for longer than its commit window spans; records arriving after a quiet spell give
     * a live consumer that long to commit them.
     */
    @Test
    void aConsumerStoppedWhileCaughtUp_isStop_onceBehindForLongerThanItsWindowSpans() {
        java.util.concurrent.atomic.AtomicLong end = new java.util.concurrent.atomic.AtomicLong(20);
        LagMonitor m = new LagMonitor(10, 0, 60, new LagMonitor.LogOffsets() {
            @Override
            public OptionalLong logEndOffset(String topic, int partition) {
                return OptionalLong.of(end.get());
            }

            @Override
            public OptionalLong logStartOffset(String topic, int partition) {
                return OptionalLong.of(0);
            }
        });
        for (int s = 1; s <= 5; s++) {
            m.onCommitted(List.of(commit("g", 20, s * 1_000L))); // caught up each time, window spans 4 s
        }
        m.sample(100_000);
        end.set(21);
        m.sample(102_000);
        assertEquals(PartitionStatus.OK, status(m, "g", 20, 5_000, 102_000), "a record arrived 2 s ago: time to commit it");
        end.set(120);
        m.sample(200_000);
        assertEquals(PartitionStatus.STOP, status(m, "g", 20, 5_000, 200_000), "behind for 100 s without a commit");
    }

    @Test
    void aNewLoad_startsTheGroupsWindowsAfresh_andTombstonesRemoveThem() {
        LagMonitor m = new LagMonitor(10, 0, 60, OFFSETS);
        m.onReplayed(List.of(commit("g", 5, 1_000), commit("g", 5, 2_000)), "load-1");
        m.onCommitted(List.of(commit("g", 5, 3_000))); // lag 15 at commit, known
        assertEquals(PartitionStatus.STALL, status(m, "g", 5, 3_000, 3_500), "the same offset at every commit");
        // the shard reloads (this broker led it again): the log's commits only, not the earlier window twice
        m.onReplayed(List.of(commit("g", 4, 1_000), commit("g", 5, 3_000)), "load-2");
        assertEquals(PartitionStatus.OK, status(m, "g", 5, 3_000, 3_500), "moved from 4 to 5, lags unknown: no verdict");
        m.onReplayed(List.of(new GroupRecord.Tombstone(new GroupRecord.OffsetKey("g", TP))), "load-2");
        assertEquals(PartitionStatus.OK, status(m, "g", 5, 3_000, 60_000), "window gone: the last commit alone");
    }
}
