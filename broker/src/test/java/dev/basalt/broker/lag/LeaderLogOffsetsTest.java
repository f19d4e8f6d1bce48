package dev.basalt.broker.lag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.group.state.PartitionKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The lag monitor's offsets come from the partition's leader: read locally when this broker leads,
 * otherwise the leader's last answer while fresh, then the local follower, then unknown.
 */
class LeaderLogOffsetsTest {
    /** This broker leads "led-0"; holds a follower of "followed-0" (HW 5, start 2); nothing of "far-0". */
    private static final LeaderLogOffsets.Local LOCAL = new LeaderLogOffsets.Local() {
        @Override
        public boolean leads(String topic, int partition) {
            return topic.equals("led");
        }

        @Override
        public OptionalLong highWatermark(String topic, int partition) {
            return switch (topic) {
                case "led" -> OptionalLong.of(100);
                case "followed" -> OptionalLong.of(5);
                default -> OptionalLong.empty();
            };
        }

        @Override
        public OptionalLong logStartOffset(String topic, int partition) {
            return switch (topic) {
                case "led" -> OptionalLong.of(10);
                case "followed" -> OptionalLong.of(2);
                default -> OptionalLong.empty();
            };
        }
    };

    /** Records each question; answers on demand, leader by leader (here: topic by topic). */
    private static final class Leaders {
        final List<Map<String, Set<Integer>>> asked = new ArrayList<>();
        final List<java.util.function.Consumer<List<LeaderLogOffsets.Answer>>> sinks = new ArrayList<>();
        final List<CompletableFuture<Void>> pending = new ArrayList<>();
        final Map<String, long[]> offsets = new HashMap<>(); // topic → {hw, start}

        CompletableFuture<Void> ask(Map<String, Set<Integer>> partitions, java.util.function.Consumer<List<LeaderLogOffsets.Answer>> sink) {
            asked.add(partitions);
            sinks.add(sink);
            CompletableFuture<Void> f = new CompletableFuture<>();
            pending.add(f);
            return f;
        }

        /** The leader of {@code topic} answers the last question. */
        void answer(String topic) {
            Set<Integer> ps = asked.get(asked.size() - 1).get(topic);
            long[] o = offsets.get(topic);
            if (ps != null && o != null) {
                sinks.get(sinks.size() - 1).accept(ps.stream()
                        .map(p -> new LeaderLogOffsets.Answer(new PartitionKey(topic, p), o[0], o[1])).toList());
            }
        }

        void answerAll() {
            asked.get(asked.size() - 1).keySet().forEach(this::answer);
            pending.get(pending.size() - 1).complete(null);
        }
    }

    @Test
    void ledPartition_isReadLocally_andNeverAsked() {
        Leaders leaders = new Leaders();
        LeaderLogOffsets o = new LeaderLogOffsets(LOCAL, leaders::ask, 2, 10, 100);
        assertEquals(OptionalLong.of(100), o.logEndOffset("led", 0));
        assertEquals(OptionalLong.of(10), o.logStartOffset("led", 0));
        o.refresh();
        assertTrue(leaders.asked.isEmpty(), "nothing to ask: " + leaders.asked);
    }

    @Test
    void otherPartitions_useTheLeadersAnswer_whileFresh_thenTheLocalFollower_orUnknown() {
        Leaders leaders = new Leaders();
        leaders.offsets.put("followed", new long[] {9, 4});
        leaders.offsets.put("far", new long[] {50, 7});
        LeaderLogOffsets o = new LeaderLogOffsets(LOCAL, leaders::ask, 2, 10, 100);
        // before any answer: the follower's own values, and unknown without a replica
        assertEquals(OptionalLong.of(5), o.logEndOffset("followed", 0));
        assertFalse(o.logEndCurrent("followed", 0), "a follower's own value: not evidence of a commit past the log end");
        assertEquals(OptionalLong.empty(), o.logEndOffset("far", 0));
        o.refresh();
        assertEquals(List.of(Map.of("far", Set.of(0), "followed", Set.of(0))), leaders.asked);
        leaders.answerAll();
        assertEquals(OptionalLong.of(9), o.logEndOffset("followed", 0));
        assertTrue(o.logEndCurrent("followed", 0));
        assertEquals(OptionalLong.of(4), o.logStartOffset("followed", 0), "the leader's log start decides DATA_LOSS");
        assertEquals(OptionalLong.of(50), o.logEndOffset("far", 0));
        assertEquals(OptionalLong.of(7), o.logStartOffset("far", 0));
        // the leaders stop answering: their last answer serves two more rounds; then the local
        // follower, never below the last answer (a log end must not go back), or unknown
        o.refresh();
        o.refresh();
        assertEquals(OptionalLong.of(50), o.logEndOffset("far", 0));
        o.refresh();
        assertEquals(OptionalLong.empty(), o.logEndOffset("far", 0));
        assertEquals(OptionalLong.of(9), o.logEndOffset("followed", 0), "not the follower's 5");
        assertFalse(o.logEndCurrent("followed", 0), "the answer is stale");
        assertEquals(OptionalLong.of(2), o.logStartOffset("followed", 0), "the follower's own once the answer is stale");
    }

    /** Found in review: one slow leader held back every other leader's answers, and they arrived stale. */
    @Test
    void eachLeadersAnswer_countsWhenItArrives_andASlowLeaderHoldsBackOnlyItsOwn() {
        Leaders leaders = new Leaders();
        leaders.offsets.put("followed", new long[] {9, 4});
        leaders.offsets.put("far", new long[] {50, 7});
        LeaderLogOffsets o = new LeaderLogOffsets(LOCAL, leaders::ask, 1, 10, 100);
        o.logEndOffset("followed", 0);
        o.logEndOffset("far", 0);
        o.refresh();
        leaders.answer("far"); // far's leader answers; followed's never does
        assertEquals(OptionalLong.of(50), o.logEndOffset("far", 0));
        assertEquals(OptionalLong.of(5), o.logEndOffset("followed", 0));
        o.refresh(); // still in flight: nothing asked
        assertEquals(1, leaders.asked.size());
        leaders.answer("far"); // a late answer counts from the round it arrives in
        o.refresh();
        assertEquals(OptionalLong.of(50), o.logEndOffset("far", 0), "fresh: it arrived one round ago");
        leaders.pending.get(0).complete(null); // the slow leader's question timed out
        o.refresh();
        assertEquals(2, leaders.asked.size(), "asked again once the question ended");
    }

    /** Found probing: under a fast producer an answer up to an interval old trailed the coordinator's own follower. */
    @Test
    void aLocalFollowerAheadOfTheLeadersLastAnswer_wins() {
        Leaders leaders = new Leaders();
        leaders.offsets.put("followed", new long[] {3, 1}); // older than what the follower (5, 2) has seen since
        LeaderLogOffsets o = new LeaderLogOffsets(LOCAL, leaders::ask, 2, 10, 100);
        o.logEndOffset("followed", 0);
        o.refresh();
        leaders.answerAll();
        assertEquals(OptionalLong.of(5), o.logEndOffset("followed", 0));
        // Not for the log start (found probing: a false DATA_LOSS): a follower's retention runs on its
        // own schedule, and the records the leader still serves are what a consumer reads.
        assertEquals(OptionalLong.of(1), o.logStartOffset("followed", 0), "the leader's, not the follower's 2");
        o.refresh();
        o.refresh();
        o.refresh();
        assertEquals(OptionalLong.of(2), o.logStartOffset("followed", 0), "no fresh answer: the follower's own");
    }

    @Test
    void anAskerThatThrows_isAskedAgainNextRound() {
        int[] calls = {0};
        LeaderLogOffsets o = new LeaderLogOffsets(LOCAL, (ask, sink) -> {
            calls[0]++;
            throw new IllegalStateException("gateway closed");
        }, 2, 10, 100);
        o.logEndOffset("far", 0);
        o.refresh();
        o.refresh();
        assertEquals(2, calls[0]);
    }

    @Test
    void oneQuestionInFlight_andForgottenPartitionsAreNotAsked() {
        Leaders leaders = new Leaders();
        leaders.offsets.put("far", new long[] {50, 7});
        LeaderLogOffsets o = new LeaderLogOffsets(LOCAL, leaders::ask, 2, 3, 100);
        o.logEndOffset("far", 0);
        o.refresh();
        o.refresh(); // the first is unanswered
        assertEquals(1, leaders.asked.size());
        leaders.answerAll();
        o.refresh();
        assertEquals(2, leaders.asked.size());
        leaders.answerAll();
        for (int i = 0; i < 3; i++) {
            o.refresh(); // nobody asks about far-0 for more than 3 rounds
            leaders.answerAll();
        }
        int before = leaders.asked.size();
        o.refresh();
        assertEquals(before, leaders.asked.size(), "far-0 is no longer asked");
        assertEquals(0, o.wantedCount());
    }

    @Test
    void manyPartitions_areAskedInTurns() {
        Leaders leaders = new Leaders();
        LeaderLogOffsets o = new LeaderLogOffsets(LOCAL, leaders::ask, 2, 100, 2);
        for (int p = 0; p < 5; p++) {
            o.logEndOffset("far", p);
        }
        List<Set<Integer>> asked = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            o.refresh();
            asked.add(leaders.asked.get(leaders.asked.size() - 1).get("far"));
            leaders.answerAll();
        }
        assertEquals(List.of(Set.of(0, 1), Set.of(2, 3), Set.of(4, 0)), asked);
    }

    @Test
    void badLimits_areRefused() {
        assertThrows(IllegalArgumentException.class, () -> new LeaderLogOffsets(LOCAL, (p, sink) -> null, 0, 1, 1));
    }
}
