package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.client.OffsetAndMetadata;
import dev.basalt.client.TopicPartition;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The line {@code basalt lag} prints per group. */
class LagCommandTest {
    static final TopicPartition P0 = new TopicPartition("t", 0);
    static final TopicPartition P1 = new TopicPartition("t", 1);

    private static List<String> cols(String row) {
        return List.of(row.trim().split("\\s+"));
    }

    @Test
    void committedPartitions_totalAndWorst() {
        String row = LagCommand.row("g", "STABLE", Map.of(P0, new OffsetAndMetadata(7), P1, new OffsetAndMetadata(10)),
                Map.of(P0, 10L, P1, 10L), Set.of(P0, P1));
        assertEquals(List.of("g", "STABLE", "3", "t-0", "3", "0"), cols(row));
    }

    /** Found probing a cluster: members reading without having committed showed TOTAL-LAG 0. */
    @Test
    void ownedPartitionsWithoutCommit_unknownNotZero() {
        String row = LagCommand.row("g", "STABLE", Map.of(), Map.of(), Set.of(P0, P1));
        assertEquals(List.of("g", "STABLE", "-", "-", "-", "2"), cols(row));
        String partial = LagCommand.row("g", "STABLE", Map.of(P0, new OffsetAndMetadata(4)), Map.of(P0, 4L), Set.of(P0, P1));
        assertEquals(List.of("g", "STABLE", "0", "-", "0", "1"), cols(partial));
    }

    /** Found probing: a group with no lag anywhere named some partition (by hash order) as its max-lag one. */
    @Test
    void noLagAnywhere_namesNoPartition_andEqualLags_theFirstByName() {
        Map<TopicPartition, OffsetAndMetadata> committed = new java.util.HashMap<>();
        Map<TopicPartition, Long> ends = new java.util.HashMap<>();
        for (int p = 0; p < 12; p++) {
            committed.put(new TopicPartition("t", p), new OffsetAndMetadata(5));
            ends.put(new TopicPartition("t", p), 5L);
        }
        assertEquals(List.of("g", "STABLE", "0", "-", "0", "0"), cols(LagCommand.row("g", "STABLE", committed, ends, Set.of())));
        ends.put(new TopicPartition("t", 9), 8L);
        ends.put(new TopicPartition("t", 3), 8L);
        ends.put(new TopicPartition("t", 7), 6L);
        assertEquals(List.of("g", "STABLE", "7", "t-3", "3", "0"), cols(LagCommand.row("g", "STABLE", committed, ends, Set.of())));
    }

    /**
     * Found probing: a partition whose leader was down failed the whole `basalt lag`; now its end is
     * missing from the lookup's answer, and its lag is left out (not counted as 0 as the worst).
     */
    @Test
    void aPartitionWhoseLogEndIsUnknown_isLeftOut() {
        Map<TopicPartition, OffsetAndMetadata> committed = Map.of(P0, new OffsetAndMetadata(7), P1, new OffsetAndMetadata(10));
        assertEquals(List.of("g", "STABLE", "5", P0.toString(), "5", "0"),
                cols(LagCommand.row("g", "STABLE", committed, Map.of(P0, 12L), Set.of())));
        assertEquals(List.of("g", "STABLE", "-", "-", "-", "0"), cols(LagCommand.row("g", "STABLE", committed, Map.of(), Set.of())),
                "nothing known: no total");
    }

    /** Found probing: a group id with a newline broke the lag table (and groups --list) into two lines. */
    @Test
    void aGroupIdWithControlCharacters_staysOnItsRow() {
        String row = LagCommand.row("nl\ngroup\t\u0007", "EMPTY", Map.of(), Map.of(), Set.of());
        assertEquals(List.of("nl\\ngroup\\t\\u0007", "EMPTY", "0", "-", "-", "0"), cols(row));
        assertEquals("back\\slash", BasaltCli.printable("back\\slash"), "as it is: it can be given back to --group");
        assertEquals("plain-id.1", BasaltCli.printable("plain-id.1"));
    }

    @Test
    void emptyGroupWithoutCommits_zero() {
        assertEquals(List.of("g", "EMPTY", "0", "-", "-", "0"), cols(LagCommand.row("g", "EMPTY", Map.of(), Map.of(), Set.of())));
    }
}
