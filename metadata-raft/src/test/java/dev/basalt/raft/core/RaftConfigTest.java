package dev.basalt.raft.core;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * Goal: the validation of {@link RaftConfig} and {@link ConfigChange} sits exactly at its stated
 * bounds (PIT showed every boundary surviving: nothing tested the smallest legal value). Method:
 * the smallest accepted and the largest rejected value of each bound. Reproduce: deterministic.
 */
class RaftConfigTest {
    @Test
    void timingBoundsAreExact() {
        assertDoesNotThrow(() -> new RaftConfig(2, 3, 1, 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new RaftConfig(2, 3, 0, 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new RaftConfig(1, 3, 1, 1, 1, 1, 1, 1),
                "election timeout equal to the heartbeat");
        assertThrows(IllegalArgumentException.class, () -> new RaftConfig(2, 2, 1, 1, 1, 1, 1, 1),
                "empty election timeout range");
    }

    @Test
    void everyLimitMustBeAtLeastOne() {
        assertThrows(IllegalArgumentException.class, () -> new RaftConfig(2, 3, 1, 0, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new RaftConfig(2, 3, 1, 1, 0, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new RaftConfig(2, 3, 1, 1, 1, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new RaftConfig(2, 3, 1, 1, 1, 1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new RaftConfig(2, 3, 1, 1, 1, 1, 1, 0));
    }

    @Test
    void configChangeAcceptsNodeZeroAndRejectsNegativeIds() {
        assertDoesNotThrow(() -> new ConfigChange(ConfigChange.Kind.ADD_VOTER, 0));
        assertThrows(IllegalArgumentException.class, () -> new ConfigChange(ConfigChange.Kind.ADD_VOTER, -1));
        assertThrows(IllegalArgumentException.class, () -> new ConfigChange(null, 1));
    }
}
