package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The quorum table of {@code basalt cluster}: an absent time reads "-" (unknown) where the answering
 * node does not track it (a voter's, unless the Raft leader answered) and "never" where it does
 * (an observer's; a voter that has not answered the current leader).
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
