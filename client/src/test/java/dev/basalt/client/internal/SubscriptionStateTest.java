package dev.basalt.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.basalt.client.TopicPartition;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The consumer's per-partition bookkeeping: assignment changes keep what stays, resets and pauses. */
class SubscriptionStateTest {
    private static final TopicPartition A = new TopicPartition("t", 0);
    private static final TopicPartition B = new TopicPartition("t", 1);
    private static final TopicPartition C = new TopicPartition("t", 2);

    @Test
    void assign_keepsThePartitionsThatStay_andReportsTheRemovedOnes() {
        SubscriptionState s = new SubscriptionState();
        assertEquals(Set.of(), s.assign(List.of(A, B)));
        s.seek(A, 42);
        s.setPaused(A, true);
        assertEquals(Set.of(B), s.assign(List.of(A, C)));
        assertEquals(42L, s.state(A).position);
        assertEquals(Set.of(A), s.paused());
        assertNull(s.state(C).position);
        assertNull(s.get(B));
        assertEquals(Map.of(A, 42L), s.positions());
    }

    @Test
    void reset_clearsThePosition_andUnassignedPartitionsAreRefused() {
        SubscriptionState s = new SubscriptionState();
        s.assign(List.of(A));
        s.seek(A, 5);
        s.requestReset(A, SubscriptionState.ResetPolicy.EARLIEST);
        assertNull(s.state(A).position);
        assertEquals(SubscriptionState.ResetPolicy.EARLIEST, s.state(A).pendingReset);
        assertThrows(IllegalStateException.class, () -> s.seek(B, 1));
    }
}
