package dev.basalt.raft.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.raft.core.RaftCore;
import dev.basalt.raft.core.RaftMessage;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.quorum.Configuration;
import dev.basalt.raft.testkit.MemoryRaftStore;
import dev.basalt.raft.transport.Transport;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * What a driver says about its node before its thread has taken a step: what the restored core
 * knows. Found probing: a controller restarted as usual read as "not a voter" until its driver's
 * first step, and its /ready said it had rejoined with a new directory and would not vote until a
 * voter change re-added it (an operator could have run remove-voter/add-voter for nothing).
 */
class RaftDriverStartStateTest {
    private static final Transport NO_NETWORK = new Transport() {
        @Override
        public void start(Consumer<RaftMessage> inbound) {
        }

        @Override
        public void send(RaftMessage message) {
        }

        @Override
        public long droppedMessages() {
            return 0;
        }

        @Override
        public void close() {
        }
    };

    private static RaftDriver driverFor(int nodeId, Configuration bootstrap) {
        RaftNodeConfig config = RaftNodeConfig.defaults(nodeId, bootstrap);
        MemoryRaftStore store = new MemoryRaftStore();
        RaftCore core = RaftCore.restore(nodeId, config.raft(), new SplittableRandom(1), bootstrap, store.hardState(),
                store.snapshot(), store.snapshotData(), List.<LogEntry>of(), 0);
        return new RaftDriver(config, core, store, new StateMachine() {
            @Override
            public void apply(LogEntry entry) {
            }

            @Override
            public byte[] snapshot() {
                return new byte[0];
            }

            @Override
            public void restore(SnapshotMeta meta, byte[] data) {
            }
        }, NO_NETWORK, (id, cause) -> { }, () -> 0L, new SplittableRandom(2));
    }

    @Test
    void aVoterIsAVoter_beforeTheFirstStep() {
        RaftDriver voter = driverFor(1, Configuration.of(List.of(1, 2, 3), List.of()));
        assertTrue(voter.localVoter);
        assertEquals(Configuration.of(List.of(1, 2, 3), List.of()), voter.configuration);
        assertEquals(-1, voter.leaderId);
        // a node rejoining with a new directory starts as an observer: that one is not
        RaftDriver rejoining = driverFor(3, Configuration.of(List.of(1, 2), List.of(3)));
        assertFalse(rejoining.localVoter);
    }
}
