package dev.basalt.broker.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The observers' window of recent metadata entries: bounds, contiguity, snapshot fallback, wake-ups. */
class RecentMetadataEntriesTest {

    @Test
    void window_keepsTheNewestEntries_andAsksForASnapshotBeyondIt() {
        RecentMetadataEntries w = new RecentMetadataEntries(3, 1 << 20);
        for (long i = 1; i <= 5; i++) {
            w.append(i, new byte[] {(byte) i});
        }
        assertNull(w.after(0, 1 << 20), "entries 1..2 were evicted: a snapshot is needed");
        assertNull(w.after(1, 1 << 20));
        List<RecentMetadataEntries.Entry> e = w.after(2, 1 << 20);
        assertEquals(List.of(3L, 4L, 5L), e.stream().map(RecentMetadataEntries.Entry::index).toList());
        assertEquals(List.of(), w.after(5, 1 << 20));
    }

    @Test
    void answerBytes_areBounded_butAtLeastOneEntryIsSent() {
        RecentMetadataEntries w = new RecentMetadataEntries(10, 1 << 20);
        w.append(1, new byte[100]);
        w.append(2, new byte[100]);
        assertEquals(1, w.after(0, 10).size());
        assertEquals(2, w.after(0, 200).size());
    }

    @Test
    void byteBound_evicts() {
        RecentMetadataEntries w = new RecentMetadataEntries(100, 250);
        for (long i = 1; i <= 3; i++) {
            w.append(i, new byte[100]);
        }
        assertNull(w.after(0, 1 << 20));
        assertEquals(2, w.after(1, 1 << 20).size());
    }

    @Test
    void appendsMustAscend_andAResetRestartsTheWindow() {
        RecentMetadataEntries w = new RecentMetadataEntries(10, 1 << 20);
        w.append(1, new byte[0]);
        assertThrows(IllegalStateException.class, () -> w.append(1, new byte[0]));
        w.reset(10);
        assertNull(w.after(5, 1 << 20), "entries before a snapshot restore are not contiguous");
        w.append(11, new byte[0]);
        assertEquals(1, w.after(10, 1 << 20).size());
    }

    @Test
    void whenAfter_completesOnTheNextAppend() {
        RecentMetadataEntries w = new RecentMetadataEntries(10, 1 << 20);
        w.append(1, new byte[0]);
        assertTrue(w.whenAfter(0).isDone());
        var f = w.whenAfter(1);
        assertFalse(f.isDone());
        w.append(2, new byte[0]);
        assertEquals(2L, f.join());
    }
}
