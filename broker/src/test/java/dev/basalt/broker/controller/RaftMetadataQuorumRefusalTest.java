package dev.basalt.broker.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.raft.quorum.Configuration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The reason add-voter gives when the node is no node of the Raft quorum. */
class RaftMetadataQuorumRefusalTest {
    private static final TreeSet<Integer> CONFIGURED = new TreeSet<>(List.of(1, 2, 3));

    /**
     * Found probing: add-voter of a broker-only node said "nor an observer of it ... observers []"
     * while `basalt cluster` listed that node as an observer.
     */
    @Test
    void aBrokerOnlyNode_isSaidToBeOne_andTheObserversKnownAreNamedByKind() {
        String m = RaftMetadataQuorum.notAQuorumNode(4, CONFIGURED, Configuration.of(List.of(1, 2, 3), List.of()), Set.of(5, 4));
        assertEquals("node 4 is a broker-only node: it reads the metadata log as a broker (an observer in `basalt cluster`),"
                + " not as a member of the Raft quorum, and only a node of controller.quorum.voters [1, 2, 3] (one running as a"
                + " controller) can be made a voter; voters now [1, 2, 3], Raft observers none, brokers reading the metadata"
                + " log from this node [4, 5]", m);
    }

    @Test
    void aNodeThatNeverJoined_namesTheRaftObservers() {
        String m = RaftMetadataQuorum.notAQuorumNode(9, CONFIGURED, Configuration.of(List.of(1, 2), List.of(3)), Set.of());
        assertEquals("node 9 is not a node of this quorum: neither one of controller.quorum.voters [1, 2, 3] nor a Raft observer"
                + " of it (a removed voter still running); voters now [1, 2], Raft observers [3], brokers reading the metadata"
                + " log from this node none", m);
    }
}
