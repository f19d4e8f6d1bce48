package dev.basalt.metadata;

import static dev.basalt.metadata.testkit.Records.id;
import static dev.basalt.metadata.testkit.Records.register;
import static dev.basalt.metadata.testkit.Records.removeTopic;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.MetadataRecordBatch;
import dev.basalt.raft.log.LogEntry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Tests of the Raft-facing {@link MetadataStateMachine} and {@link MetadataSnapshots}: committed
 * batches apply atomically and in order, non-data entries only advance the applied index, images are
 * published to listeners, and snapshots round-trip and reject corruption. Deterministic.
 */
class MetadataStateMachineTest {

    static byte[] batch(MetadataRecord... records) {
        return MetadataRecordBatch.newBuilder().addAllRecords(List.of(records)).build().toByteArray();
    }

    @Test
    void appliesBatches_publishesImages_andAdvancesOnNoops() {
        MetadataStateMachine sm = new MetadataStateMachine(1 << 20);
        List<MetadataStateMachine.Published> seen = new ArrayList<>();
        sm.addListener(seen::add);
        sm.apply(new LogEntry(1, 1, LogEntry.EntryType.NOOP, new byte[0]));
        assertEquals(1, sm.appliedIndex());
        assertSame(MetadataImage.EMPTY, sm.image());
        sm.apply(new LogEntry(1, 2, LogEntry.EntryType.DATA, batch(register(1, id(1), null, true))));
        assertEquals(2, sm.appliedIndex());
        assertTrue(sm.image().cluster().broker(1).isPresent());
        assertEquals(2, seen.size());
        assertSame(sm.latest(), seen.get(1));
    }

    @Test
    void badBatch_leavesImageUnchanged_andThrows() {
        MetadataStateMachine sm = new MetadataStateMachine(1 << 20);
        sm.applyBatch(1, batch(register(1, id(1), null, true)));
        MetadataStateMachine.Published before = sm.latest();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> sm.applyBatch(2, batch(register(2, id(2), null, true), removeTopic(id(9)))));
        assertTrue(e.getMessage().contains("metadata entry 2"), e.getMessage());
        assertTrue(e.getMessage().contains("topic_removal"), e.getMessage());
        assertSame(before, sm.latest());
        assertThrows(IllegalStateException.class, () -> sm.applyBatch(2, new byte[] {(byte) 0xff, 1, 2}));
        assertThrows(IllegalStateException.class, () -> sm.applyBatch(2, new byte[0]));
        assertThrows(IllegalStateException.class, () -> sm.applyBatch(1, batch(register(3, id(3), null, true))));
        MetadataStateMachine small = new MetadataStateMachine(8);
        assertThrows(IllegalStateException.class, () -> small.applyBatch(1, batch(register(3, id(3), "rack", true))));
    }

    @Test
    void snapshot_roundTrips_andRejectsCorruption() {
        MetadataStateMachine sm = new MetadataStateMachine(1 << 20);
        sm.applyBatch(5, batch(register(1, id(1), "r", false), register(2, id(2), null, true)));
        byte[] snapshot = sm.snapshot();
        MetadataStateMachine restored = new MetadataStateMachine(1 << 20);
        restored.restore(snapshot);
        assertEquals(sm.latest(), restored.latest());
        assertArrayEquals(snapshot, restored.snapshot());
        byte[] corrupt = snapshot.clone();
        corrupt[corrupt.length - 1] ^= 1;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> restored.restore(corrupt));
        assertTrue(e.getMessage().contains("CRC32C"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> MetadataSnapshots.read(new byte[3]));
        assertEquals(5, restored.appliedIndex());
    }
}
