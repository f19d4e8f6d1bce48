package dev.basalt.raft.quorum;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * Goal: majority arithmetic (Raft §5.2, §5.4.2) and the configuration codec are right. Method:
 * examples plus a differential jqwik property against brute force ("the largest index that at
 * least a majority has reached"). Reproduce: jqwik prints the seed of a failing sample; rerun with
 * {@code @Property(seed = "...")}.
 */
class QuorumMathTest {
    @Test
    void quorumSizes() {
        assertEquals(1, Majority.quorumSize(1));
        assertEquals(2, Majority.quorumSize(2));
        assertEquals(2, Majority.quorumSize(3));
        assertEquals(3, Majority.quorumSize(4));
        assertEquals(3, Majority.quorumSize(5));
        assertThrows(IllegalArgumentException.class, () -> Majority.quorumSize(0));
    }

    @Test
    void majorityIgnoresNonVoters() {
        assertTrue(Majority.isMajority(Set.of(1, 2), Set.of(1, 2, 3)));
        assertFalse(Majority.isMajority(Set.of(1, 9, 8), Set.of(1, 2, 3)));
    }

    @Property(tries = 500)
    void majorityMatchIndexEqualsBruteForce(@ForAll @Size(min = 1, max = 7) List<@LongRange(min = 0, max = 20) Long> matches) {
        List<Integer> voters = new ArrayList<>();
        Map<Integer, Long> match = new HashMap<>();
        for (int i = 0; i < matches.size(); i++) {
            voters.add(i);
            match.put(i, matches.get(i));
        }
        long brute = 0;
        for (long candidate = 0; candidate <= 20; candidate++) {
            long c = candidate;
            long reached = matches.stream().filter(m -> m >= c).count();
            if (reached >= matches.size() / 2 + 1) {
                brute = candidate;
            }
        }
        assertEquals(brute, Majority.majorityMatchIndex(voters, match));
    }

    @Property(tries = 200)
    void configurationRoundTrips(@ForAll @Size(max = 6) Set<@IntRange(min = 0, max = 50) Integer> voters,
                                 @ForAll @Size(max = 4) Set<@IntRange(min = 51, max = 99) Integer> observers) {
        Configuration c = Configuration.of(voters, observers);
        assertEquals(c, Configuration.decode(c.encode()));
    }

    @Test
    void configurationRejectsMalformedInput() {
        assertThrows(IllegalArgumentException.class, () -> Configuration.decode(new byte[] {0, 0, 0, 1, 0}));
        assertThrows(IllegalArgumentException.class, () -> Configuration.decode(new byte[] {0, 0, 0, 9}));
        assertThrows(IllegalArgumentException.class, () -> Configuration.of(Set.of(1), Set.of(1)));
        assertThrows(IllegalArgumentException.class, () -> Configuration.of(Set.of(1), Set.of()).withoutVoter(1));
    }

    @Test
    void configHistoryRevertsOnTruncation_section4_1() {
        ConfigurationHistory h = new ConfigurationHistory(0, Configuration.of(Set.of(1), Set.of()));
        h.add(5, Configuration.of(Set.of(1, 2), Set.of()));
        h.add(9, Configuration.of(Set.of(1, 2, 3), Set.of()));
        assertEquals(Set.of(1, 2, 3), h.latest().voters());
        h.truncateFrom(9);
        assertEquals(Set.of(1, 2), h.latest().voters());
        assertEquals(Set.of(1), h.at(4).voters());
        h.compactTo(6, h.at(6));
        assertEquals(6, h.latestIndex());
        assertEquals(Set.of(1, 2), h.latest().voters());
    }
}
