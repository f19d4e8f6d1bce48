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

    /**
     * Found probing: a voter down for minutes read lag 0 (its last match index equal to a commit
     * index that had not moved since). The leader reports such a member's lag as -1 beside its last
     * reported offset: the table reads "unknown" and a line says since when it is silent.
     */
    @Test
    void aMemberThatIsNotReporting_hasAnUnknownLag_notZero() {
        dev.basalt.client.admin.QuorumReplica silent = new dev.basalt.client.admin.QuorumReplica(2, 5, -1, 1_000, 1_000);
        assertEquals("unknown", ClusterCommand.lag(silent));
        assertEquals("Not reporting: voter 2 last answered the leader 95000 ms ago; its lag is unknown (log end offset 5 is the"
                + " last it reported).", ClusterCommand.notReporting(silent, "voter", 96_000));
        dev.basalt.client.admin.QuorumReplica live = new dev.basalt.client.admin.QuorumReplica(2, 5, 0, 95_900, 95_900);
        assertEquals("0", ClusterCommand.lag(live));
        assertEquals(null, ClusterCommand.notReporting(live, "voter", 96_000));
        dev.basalt.client.admin.QuorumReplica notLeader = new dev.basalt.client.admin.QuorumReplica(2, -1, -1, -1, -1);
        assertEquals("-", ClusterCommand.lag(notLeader), "a node other than the leader knows no voter's progress");
        assertEquals(null, ClusterCommand.notReporting(notLeader, "voter", 96_000));
    }

    /**
     * The storage table's DIRECTORY column flags a full directory: below its free-bytes minimum, or
     * still refusing appends above it (they resume at 1.5 times the minimum). Found probing: a broker
     * that refused every append read {@code ok}.
     */
    @Test
    void aDirectoryBelowItsFreeBytesMinimum_readsFull_notOk() {
        long min = 64L << 20;
        assertEquals("ok", ClusterCommand.directoryState(storage(1L << 30, min, java.util.List.of(), "")));
        String below = ClusterCommand.directoryState(storage(0, min, java.util.List.of(), ""));
        org.junit.jupiter.api.Assertions.assertTrue(below.startsWith("full"), below);
        String refusing = ClusterCommand.directoryState(storage(80L << 20, min, java.util.List.of(
                new dev.basalt.client.admin.BrokerDescription.OfflineReplica("t", 0, "disk full: 0 bytes free")), ""));
        org.junit.jupiter.api.Assertions.assertTrue(refusing.startsWith("full"), "still refusing appends above the minimum: "
                + refusing);
        assertEquals("ok", ClusterCommand.directoryState(storage(-1, min, java.util.List.of(), "")), "unknown free space");
        assertEquals("FAILED: gone", ClusterCommand.directoryState(storage(0, min, java.util.List.of(), "gone")));
    }

    private static dev.basalt.client.admin.StorageDescription storage(long usable, long min,
            java.util.List<dev.basalt.client.admin.BrokerDescription.OfflineReplica> offline, String failure) {
        return new dev.basalt.client.admin.StorageDescription(5, "/data", usable, min, failure, 0, 0, 0, 0, offline, 0,
                java.util.List.of(), 0);
    }
}
