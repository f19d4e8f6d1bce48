package dev.basalt.broker.group.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A record the group's state refuses changes nothing: a shard load skips it and goes on
 * (GroupCoordinator), so a refusal half-applied would leave the group inconsistent from then on.
 */
class ConsumerGroupTest {
    private static final PartitionKey T0 = new PartitionKey("t", 0);
    private static final PartitionKey T1 = new PartitionKey("t", 1);

    private static GroupRecord.MemberMetadata member(String id, String instance) {
        return new GroupRecord.MemberMetadata("g", id, instance, "c", "h", List.of("t"), null, 5_000);
    }

    private static GroupRecord.CurrentAssignment owning(String id, PartitionKey... partitions) {
        return new GroupRecord.CurrentAssignment("g", id, 1, 0, MemberState.STABLE, Assignment.of(partitions), Assignment.EMPTY);
    }

    @Test
    void aPartitionOwnedByAnotherMember_isRefusedWithoutChangingOwnership() {
        ConsumerGroup g = new ConsumerGroup("g", "uniform", 0);
        g.apply(member("a", null), 0);
        g.apply(member("b", null), 0);
        g.apply(owning("a", T0), 0);
        g.apply(owning("b", T1), 0);
        assertThrows(IllegalStateException.class, () -> g.apply(owning("b", T0), 0));
        assertEquals("a", g.ownerOf(T0));
        assertEquals("b", g.ownerOf(T1), "b's partition stays b's: the refused record released nothing");
    }

    @Test
    void anInstanceIdHeldByAnotherMember_isRefusedWithoutChangingMembers() {
        ConsumerGroup g = new ConsumerGroup("g", "uniform", 0);
        g.apply(member("a", "i1"), 0);
        assertThrows(IllegalStateException.class, () -> g.apply(member("b", "i1"), 0));
        assertEquals("a", g.staticMemberId("i1"));
        assertEquals(java.util.Set.of("a"), g.members().keySet(), "b was not added by the refused record");
    }
}
