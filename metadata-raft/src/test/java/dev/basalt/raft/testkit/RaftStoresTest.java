package dev.basalt.raft.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.basalt.raft.log.HardState;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.RaftStorageException;
import dev.basalt.raft.log.SnapshotMeta;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: the test stores keep the {@code RaftStore} contract the simulation and the process tests
 * rely on: flushed data survives a crash, unflushed data does not, a torn tail is cut off on open,
 * truncation and snapshots behave as Raft §5.3 and §7 say. Method: examples. Reproduce: run this
 * class.
 */
class RaftStoresTest {
    private static LogEntry e(long term, long index) {
        return new LogEntry(term, index, LogEntry.EntryType.DATA, new byte[] {(byte) index});
    }

    @Test
    void memoryStoreCrashDropsOnlyUnflushedWrites() {
        MemoryRaftStore s = new MemoryRaftStore();
        s.appendAndFlush(List.of(e(1, 1), e(1, 2)));
        s.persistAndFlushHardState(new HardState(1, 2, 1));
        s.appendUnflushed(List.of(e(1, 3)));
        assertEquals(3, s.lastIndex());
        s.crash();
        assertEquals(2, s.lastIndex());
        assertEquals(new HardState(1, 2, 1), s.hardState());
        s.appendUnflushed(List.of(e(2, 3)));
        s.persistAndFlushHardState(new HardState(2, 2, 1)); // an fsync makes earlier writes durable too
        s.crash();
        assertEquals(Optional.of(2L), s.termAt(3));
        s.failWrites(true);
        assertThrows(RaftStorageException.class, () -> s.appendAndFlush(List.of(e(2, 4))));
    }

    @Test
    void fileStoreSurvivesReopenTruncatesConflictsAndCutsATornTail(@TempDir Path dir) throws Exception {
        SimpleFileRaftStore s = new SimpleFileRaftStore(dir);
        s.appendAndFlush(List.of(e(1, 1), e(1, 2), e(1, 3)));
        s.appendAndFlush(List.of(e(2, 3), e(2, 4))); // conflict at 3: truncate, then append (§5.3)
        s.persistAndFlushHardState(new HardState(2, 1, 2));
        s.close();
        try (FileChannel log = FileChannel.open(dir.resolve("log"), StandardOpenOption.WRITE)) {
            log.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0, 0, 40, 1, 2}), log.size()); // torn record
        }
        SimpleFileRaftStore reopened = new SimpleFileRaftStore(dir);
        assertEquals(4, reopened.lastIndex());
        assertEquals(Optional.of(2L), reopened.termAt(3));
        assertEquals(new HardState(2, 1, 2), reopened.hardState());
        reopened.appendAndFlush(List.of(e(2, 5)));
        reopened.installSnapshot(new SnapshotMeta(3, 2, Set.of(1, 2, 3), Set.of()), new byte[] {42});
        assertEquals(4, reopened.firstIndex());
        assertEquals(5, reopened.lastIndex(), "entries after the snapshot are kept (§7)");
        reopened.close();
        SimpleFileRaftStore again = new SimpleFileRaftStore(dir);
        assertEquals(3, again.snapshot().lastIndex());
        assertEquals(42, again.snapshotData()[0]);
        assertEquals(List.of(e(2, 4), e(2, 5)), again.entries(4, 6, Long.MAX_VALUE));
        again.close();
    }
}
