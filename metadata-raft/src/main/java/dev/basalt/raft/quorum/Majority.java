package dev.basalt.raft.quorum;

import java.util.Arrays;
import java.util.Collection;
import java.util.Map;

/**
 * Majority arithmetic over a voter set (Raft paper §5.2 elections, §5.3/§5.4.2 commitment).
 * Stateless and thread-safe.
 */
public final class Majority {
    private Majority() {
    }

    /** Smallest number of voters that forms a majority of {@code voterCount}. */
    public static int quorumSize(int voterCount) {
        if (voterCount < 1) {
            throw new IllegalArgumentException("no voters");
        }
        return voterCount / 2 + 1;
    }

    /** Whether the voters in {@code granted} (others are ignored) form a majority of {@code voters}. */
    public static boolean isMajority(Collection<Integer> granted, Collection<Integer> voters) {
        int count = 0;
        for (Integer id : granted) {
            if (voters.contains(id)) {
                count++;
            }
        }
        return count >= quorumSize(voters.size());
    }

    /**
     * The highest index that a majority of voters have matched: the voters' match indexes sorted
     * in descending order, taken at position {@code floor(n/2)}. Voters missing from {@code match}
     * count as 0.
     */
    public static long majorityMatchIndex(Collection<Integer> voters, Map<Integer, Long> match) {
        long[] values = new long[voters.size()];
        int i = 0;
        for (Integer id : voters) {
            values[i++] = match.getOrDefault(id, 0L);
        }
        Arrays.sort(values);
        // ascending order: the quorumSize-th largest is at n - quorumSize
        return values[values.length - quorumSize(values.length)];
    }
}
