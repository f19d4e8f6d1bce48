package dev.basalt.broker.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.proto.v1.DescribeQuorumResponse;
import dev.basalt.raft.driver.VoterProgress;
import org.junit.jupiter.api.Test;

/** A Raft member's DescribeQuorum row as the leader builds it from the member's progress. */
class RaftMetadataQuorumDescribeTest {
    private static final long NOW = 1_000_000;
    private static final long SILENCE_MAX_MS = 1_200;

    private static DescribeQuorumResponse.ReplicaState row(VoterProgress p, long commitIndex) {
        DescribeQuorumResponse.ReplicaState.Builder r = DescribeQuorumResponse.ReplicaState.newBuilder().setReplicaId(2);
        RaftMetadataQuorum.memberRow(r, p, commitIndex, NOW, SILENCE_MAX_MS);
        return r.build();
    }

    @Test
    void aMemberThatAnswers_hasItsLag() {
        DescribeQuorumResponse.ReplicaState r = row(new VoterProgress(40, 30, 30), 45);
        assertEquals(40, r.getLogEndOffset());
        assertEquals(5, r.getLag());
        assertEquals(NOW - 30, r.getLastFetchTimestampMs());
        assertEquals(0, row(new VoterProgress(45, SILENCE_MAX_MS, SILENCE_MAX_MS), 45).getLag(), "silent just as long: still known");
    }

    /**
     * Found probing: a voter down for minutes read lag 0, its last match index equal to a commit
     * index that had not moved since. Silent longer than the bound, its lag is unknown; its last
     * reported offset and last answer time stay.
     */
    @Test
    void aMemberSilentLongerThanTheBound_hasAnUnknownLag_notZero() {
        DescribeQuorumResponse.ReplicaState r = row(new VoterProgress(45, 300_000, 300_000), 45);
        assertEquals(-1, r.getLag());
        assertEquals(45, r.getLogEndOffset());
        assertEquals(NOW - 300_000, r.getLastFetchTimestampMs());
        assertEquals(NOW - 300_000, r.getLastCaughtUpTimestampMs());
        assertEquals(-1, row(new VoterProgress(45, SILENCE_MAX_MS + 1, 5), 45).getLag());
    }

    @Test
    void aMemberNeverHeardFrom_isUnknownThroughout() {
        DescribeQuorumResponse.ReplicaState r = row(null, 45);
        assertEquals(-1, r.getLag());
        assertEquals(-1, r.getLogEndOffset());
        assertEquals(-1, r.getLastFetchTimestampMs());
        DescribeQuorumResponse.ReplicaState zero = row(new VoterProgress(0, -1, -1), 45);
        assertEquals(-1, zero.getLag());
        assertEquals(-1, zero.getLogEndOffset());
    }
}
