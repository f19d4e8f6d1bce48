package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The quorum table of {@code basalt cluster}: a voter's fetch times are not tracked (the Raft
 * leader pushes to voters), so an absent one reads "-" (unknown), never "never", which would say
 * the voter has not replicated at all; an observer's absent catch-up time does mean never.
 */
class ClusterCommandTest {
    @Test
    void absentTimes_areUnknownForVoters_andNeverForObservers() {
        assertEquals("-", ClusterCommand.ago(-1, 5_000, false));
        assertEquals("never", ClusterCommand.ago(-1, 5_000, true));
        assertEquals("1200 ms ago", ClusterCommand.ago(3_800, 5_000, false));
        assertEquals("0 ms ago", ClusterCommand.ago(5_100, 5_000, true), "a clock a little ahead is not a negative age");
    }

    @Test
    void offsetsKnownOnlyToTheLeader_printAsUnknown() {
        assertEquals("-", ClusterCommand.known(-1));
        assertEquals("0", ClusterCommand.known(0));
        assertEquals("12", ClusterCommand.known(12));
    }
}
