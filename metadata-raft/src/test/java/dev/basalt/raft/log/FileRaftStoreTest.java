package dev.basalt.raft.log;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.basalt.raft.testkit.FaultInjectingStorageIo;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scenario tests of {@link FileRaftStore}: durability across reopen, conflict truncation (Raft §5.3),
 * snapshot install and compaction (§7), torn-tail recovery versus mid-log corruption, size limits,
 * injected I/O faults (nothing flushed is lost, the store refuses further use) and file-descriptor
 * leaks. Deterministic; run with {@code -Dtest=FileRaftStoreTest}.
 */
class FileRaftStoreTest {
    private static final FileRaftStore.Config SMALL = new FileRaftStore.Config(200, 1024, 1 << 20);

    @TempDir
    Path dir;

    static LogEntry entry(long term, long index) {
        return new LogEntry(term, index, LogEntry.EntryType.DATA, ("e" + index + "t" + term).getBytes(StandardCharsets.UTF_8));
    }

    static List<LogEntry> entries(long term, long from, long toInclusive) {
        List<LogEntry> list = new ArrayList<>();
        for (long i = from; i <= toInclusive; i++) {
            list.add(entry(term, i));
        }
        return list;
    }

    private List<Path> segmentFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".log")).sorted().toList();
        }
    }

    @Test
    void appendAndHardState_surviveReopen() {
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            assertEquals(1, store.firstIndex());
            assertEquals(0, store.lastIndex());
            assertEquals(Optional.of(0L), store.termAt(0));
            store.appendAndFlush(entries(1, 1, 5));
            store.appendAndFlush(entries(2, 6, 20));
            store.persistAndFlushHardState(new HardState(2, 3, 7));
        }
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            assertEquals(20, store.lastIndex());
            assertEquals(new HardState(2, 3, 7), store.hardState());
            List<LogEntry> expected = new ArrayList<>(entries(1, 1, 5));
            expected.addAll(entries(2, 6, 20));
            assertEquals(expected, store.entries(1, 21, Long.MAX_VALUE));
            assertEquals(Optional.of(1L), store.termAt(5));
            assertEquals(Optional.of(2L), store.termAt(6));
            assertEquals(Optional.empty(), store.termAt(21));
        }
    }

    @Test
    void segmentsRoll_atSegmentBytes() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            store.appendAndFlush(entries(1, 1, 40));
        }
        // each frame is 8 + 17 + 5..7 bytes (~31): a 200-byte segment holds 7 entries before rolling.
        assertTrue(segmentFiles().size() >= 5, "segments: " + segmentFiles());
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            assertEquals(entries(1, 1, 40), store.entries(1, 41, Long.MAX_VALUE));
        }
    }

    @Test
    void entries_stopAtSizeBytesMax_butReturnAtLeastOne() {
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            store.appendAndFlush(entries(1, 1, 20)); // payloads: "e1t1".."e9t1" are 4 bytes, then 5
            assertEquals(1, store.entries(1, 21, 0).size());
            assertEquals(3, store.entries(1, 21, 12).size());
            assertEquals(3, store.entries(1, 21, 15).size());
            assertEquals(4, store.entries(1, 21, 16).size());
            assertEquals(List.of(), store.entries(5, 5, 100));
            assertThrows(IllegalArgumentException.class, () -> store.entries(1, 22, 100));
        }
    }

    @Test
    void conflictingAppend_truncatesSuffixAcrossSegments() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            store.appendAndFlush(entries(1, 1, 30));
            store.appendAndFlush(entries(3, 4, 6)); // Raft §5.3: a leader of term 3 overwrote index 4 on
            assertEquals(6, store.lastIndex());
        }
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            List<LogEntry> expected = new ArrayList<>(entries(1, 1, 3));
            expected.addAll(entries(3, 4, 6));
            assertEquals(expected, store.entries(1, 7, Long.MAX_VALUE));
        }
        assertEquals(1, segmentFiles().size());
    }

    @Test
    void badAppends_areRejectedWithoutWriting() {
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            store.appendAndFlush(entries(2, 1, 3));
            assertThrows(IllegalArgumentException.class, () -> store.appendAndFlush(entries(2, 5, 6)));
            assertThrows(IllegalArgumentException.class, () -> store.appendAndFlush(List.of(entry(2, 4), entry(2, 6))));
            assertThrows(IllegalArgumentException.class, () -> store.appendAndFlush(entries(1, 4, 4)));
            StoreSizeLimitException tooBig = assertThrows(StoreSizeLimitException.class,
                    () -> store.appendAndFlush(List.of(new LogEntry(2, 4, LogEntry.EntryType.DATA, new byte[1025]))));
            assertEquals("entryBytesMax", tooBig.limitName());
            assertEquals(3, store.lastIndex());
            store.appendAndFlush(entries(2, 4, 4)); // still usable: bad input is not a storage failure
            assertEquals(4, store.lastIndex());
        }
    }

    @Test
    void hardState_refusesUnsafeTransitions() {
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            store.appendAndFlush(entries(1, 1, 3));
            store.persistAndFlushHardState(new HardState(3, 2, 1));
            assertThrows(IllegalArgumentException.class, () -> store.persistAndFlushHardState(new HardState(2, 2, 1)));
            assertThrows(IllegalArgumentException.class, () -> store.persistAndFlushHardState(new HardState(3, 1, 1)));
            assertThrows(IllegalArgumentException.class, () -> store.persistAndFlushHardState(new HardState(3, 2, 4)));
            store.persistAndFlushHardState(new HardState(3, 2, 3));
            store.persistAndFlushHardState(new HardState(4, HardState.NO_VOTE, 3));
            store.persistAndFlushHardState(new HardState(4, 1, 3));
            assertEquals(new HardState(4, 1, 3), store.hardState());
        }
    }

    @Test
    void recovery_partialLastFrame_isTruncatedAsTornTail() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            store.appendAndFlush(entries(1, 1, 10));
        }
        Path segment = segmentFiles().get(0);
        long size = Files.size(segment);
        try (RandomAccessFile raf = new RandomAccessFile(segment.toFile(), "rw")) {
            raf.setLength(size - 3); // the last frame lost its final 3 bytes: crash mid-write
        }
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            assertEquals(9, store.lastIndex());
            store.appendAndFlush(entries(1, 10, 11));
        }
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            assertEquals(entries(1, 1, 11), store.entries(1, 12, Long.MAX_VALUE));
        }
    }

    /**
     * Found probing: one flipped byte in the last entry of a voter's log, fsynced and acknowledged
     * (a clean stop too), was cut as a torn write; with one other voter down, a committed topic
     * creation vanished from the cluster and its brokers deleted the topic's records. A whole
     * frame whose CRC fails is damage.
     */
    @Test
    void recovery_badCrcInAWholeLastFrame_isCorruption_notATornWrite() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            store.appendAndFlush(entries(1, 1, 10));
        }
        Path segment = segmentFiles().get(0);
        long size = Files.size(segment);
        flipByte(segment, size - 1);
        RaftStorageException e = assertThrows(RaftStorageException.class, () -> FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT));
        assertTrue(e.getMessage().contains("not a write a crash cut short"), e.getMessage());
        assertEquals(size, Files.size(segment), "nothing was cut");
    }

    /**
     * Review finding: a last frame starting at 511 mod 512 had the top byte of its length (always
     * zero) alone in a block; that one zero byte read as an unwritten block, and a damaged entry
     * there was cut as torn. Only the body's pieces of at least 16 bytes count.
     */
    @Test
    void recovery_damagedLastFrameStartingJustBeforeABlockBoundary_isCorruption() throws IOException {
        long sizeAfterTen;
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            store.appendAndFlush(entries(1, 1, 10));
            sizeAfterTen = Files.size(segmentFiles().get(0));
            int frameFixed = LogSegment.FRAME_HEADER_BYTES + LogSegment.ENTRY_FIXED_BYTES;
            int pad = (int) Math.floorMod(511 - sizeAfterTen - frameFixed, 512L) + 512;
            store.appendAndFlush(List.of(new LogEntry(1, 11, LogEntry.EntryType.DATA, "p".repeat(pad).getBytes(StandardCharsets.UTF_8))));
            store.appendAndFlush(List.of(new LogEntry(1, 12, LogEntry.EntryType.DATA, "q".repeat(40).getBytes(StandardCharsets.UTF_8))));
        }
        Path segment = segmentFiles().get(0);
        long size = Files.size(segment);
        long lastFrame = size - (LogSegment.FRAME_HEADER_BYTES + LogSegment.ENTRY_FIXED_BYTES + 40);
        assertEquals(511, lastFrame % 512, "the setup puts the last frame at 511 mod 512");
        flipByte(segment, size - 5);
        assertThrows(RaftStorageException.class, () -> FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT));
    }

    /** A last frame whose length field alone was damaged (past the end of file): the rest is a whole entry. */
    @Test
    void recovery_damagedLengthOfTheLastFrame_isCorruption() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            store.appendAndFlush(entries(1, 1, 10));
        }
        Path segment = segmentFiles().get(0);
        long size = Files.size(segment);
        long lastFrame = size - (LogSegment.FRAME_HEADER_BYTES + LogSegment.ENTRY_FIXED_BYTES + entry(1, 10).data().length);
        flipByte(segment, lastFrame + 3); // the low byte of its length: now longer than the file holds
        assertThrows(RaftStorageException.class, () -> FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT));
    }

    /** The file grew but a block of the last frame never reached the disk (reads back zeros): a torn write. */
    @Test
    void recovery_lastFrameWithAnUnwrittenBlock_isATornTail() throws IOException {
        byte[] big = new byte[3000];
        java.util.Arrays.fill(big, (byte) 'x');
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            store.appendAndFlush(entries(1, 1, 10));
            store.appendAndFlush(List.of(new LogEntry(1, 11, LogEntry.EntryType.DATA, big)));
        }
        Path segment = segmentFiles().get(0);
        long size = Files.size(segment);
        long block = (size - 1500) / SegmentRecovery.SECTOR_BYTES * SegmentRecovery.SECTOR_BYTES;
        try (RandomAccessFile raf = new RandomAccessFile(segment.toFile(), "rw")) {
            raf.seek(block);
            raf.write(new byte[SegmentRecovery.SECTOR_BYTES]);
        }
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            assertEquals(10, store.lastIndex());
            store.appendAndFlush(entries(1, 11, 12));
        }
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            assertEquals(entries(1, 1, 12), store.entries(1, 13, Long.MAX_VALUE));
        }
    }

    /** The file grew by zeros past the last whole frame (a crash after the size, before the data): cut. */
    @Test
    void recovery_zerosPastTheLastFrame_areATornTail() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            store.appendAndFlush(entries(1, 1, 10));
        }
        Path segment = segmentFiles().get(0);
        long size = Files.size(segment);
        try (RandomAccessFile raf = new RandomAccessFile(segment.toFile(), "rw")) {
            raf.setLength(size + 700);
        }
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            assertEquals(10, store.lastIndex());
        }
        assertEquals(size, Files.size(segment));
    }

    @Test
    void recovery_badCrcFollowedByValidEntry_isCorruptionNamingFileAndPosition() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            store.appendAndFlush(entries(1, 1, 10));
        }
        Path segment = segmentFiles().get(0);
        flipByte(segment, 8 + 17); // first payload byte of entry 1, at frame position 0
        RaftStorageException e = assertThrows(RaftStorageException.class,
                () -> FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT));
        assertTrue(e.getMessage().contains(segment.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("position 0"), e.getMessage());
        assertTrue(e.getMessage().contains("CRC32C"), e.getMessage());
    }

    @Test
    void recovery_corruptionInOlderSegment_isCorruptionEvenAtItsEnd() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            store.appendAndFlush(entries(1, 1, 30));
        }
        Path first = segmentFiles().get(0);
        flipByte(first, Files.size(first) - 1);
        RaftStorageException e = assertThrows(RaftStorageException.class, () -> FileRaftStore.open(dir, SMALL));
        assertTrue(e.getMessage().contains(first.toString()), e.getMessage());
    }

    @Test
    void recovery_logBelowPersistedCommitIndex_isCorruption() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            store.appendAndFlush(entries(1, 1, 10));
            store.persistAndFlushHardState(new HardState(1, 1, 10));
        }
        Path segment = segmentFiles().get(0);
        try (RandomAccessFile raf = new RandomAccessFile(segment.toFile(), "rw")) {
            raf.setLength(Files.size(segment) - 2);
        }
        RaftStorageException e = assertThrows(RaftStorageException.class,
                () -> FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT));
        assertTrue(e.getMessage().contains("commit index 10"), e.getMessage());
    }

    @Test
    void recovery_corruptHardState_isCorruption() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            store.persistAndFlushHardState(new HardState(4, 2, 0));
        }
        flipByte(dir.resolve("hardstate"), 6);
        assertThrows(RaftStorageException.class, () -> FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT));
    }

    @Test
    void recovery_corruptSnapshot_isCorruption() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            store.appendAndFlush(entries(1, 1, 5));
            store.installSnapshot(new SnapshotMeta(3, 1, Set.of(1), Set.of()), new byte[] {1, 2, 3});
        }
        flipByte(dir.resolve("snapshot"), 30);
        RaftStorageException e = assertThrows(RaftStorageException.class, () -> FileRaftStore.open(dir, SMALL));
        assertTrue(e.getMessage().contains("snapshot"), e.getMessage());
    }

    @Test
    void hardStateFsyncError_failsStore_andKeepsThePreviousHardState() {
        FaultInjectingStorageIo io = new FaultInjectingStorageIo();
        FileRaftStore store = FileRaftStore.open(dir, SMALL, io);
        store.appendAndFlush(entries(1, 1, 2));
        store.persistAndFlushHardState(new HardState(1, 1, 1));
        io.failNextForce();
        assertThrows(RaftStorageException.class, () -> store.persistAndFlushHardState(new HardState(2, 3, 2)));
        assertThrows(RaftStorageException.class, store::hardState);
        store.close();
        try (FileRaftStore reopened = FileRaftStore.open(dir, SMALL)) {
            assertEquals(new HardState(1, 1, 1), reopened.hardState()); // the rename never happened
            assertEquals(2, reopened.lastIndex());
        }
    }

    @Test
    void installSnapshot_keepsMatchingTail_andCompactsSegments() throws IOException {
        SnapshotMeta meta = new SnapshotMeta(25, 1, Set.of(1, 2, 3), Set.of(9));
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            store.appendAndFlush(entries(1, 1, 30));
            int before = segmentFiles().size();
            store.installSnapshot(meta, new byte[] {7, 7});
            assertEquals(26, store.firstIndex());
            assertEquals(30, store.lastIndex());
            assertEquals(Optional.of(1L), store.termAt(25));
            assertEquals(Optional.empty(), store.termAt(24));
            assertTrue(segmentFiles().size() < before);
            assertThrows(IllegalArgumentException.class, () -> store.entries(25, 26, 100));
        }
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            assertEquals(meta, store.snapshot());
            assertArrayEquals(new byte[] {7, 7}, store.snapshotData());
            assertEquals(entries(1, 26, 30), store.entries(26, 31, Long.MAX_VALUE));
            store.appendAndFlush(entries(2, 28, 29)); // conflict truncation after compaction
            assertEquals(29, store.lastIndex());
        }
    }

    @Test
    void installSnapshot_withOtherTerm_discardsWholeLog() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            store.appendAndFlush(entries(1, 1, 30));
            store.installSnapshot(new SnapshotMeta(20, 2, Set.of(1), Set.of()), new byte[] {1});
            assertEquals(21, store.firstIndex());
            assertEquals(20, store.lastIndex());
            store.appendAndFlush(entries(2, 21, 22));
        }
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            assertEquals(entries(2, 21, 22), store.entries(21, 23, Long.MAX_VALUE));
            assertEquals(Optional.of(2L), store.termAt(20));
        }
    }

    @Test
    void installSnapshot_crashBeforeCompaction_isCompletedOnOpen() {
        FaultInjectingStorageIo io = new FaultInjectingStorageIo();
        FileRaftStore store = FileRaftStore.open(dir, SMALL, io);
        store.appendAndFlush(entries(1, 1, 30));
        // snapshot write: truncate, write, fsync, rename, dir sync = 5 operations; crash on the 1st delete.
        io.crashAfterOperations(5);
        assertThrows(RaftStorageException.class,
                () -> store.installSnapshot(new SnapshotMeta(40, 3, Set.of(1), Set.of()), new byte[] {5}));
        store.close();
        assertEquals(0, io.openFiles());
        try (FileRaftStore reopened = FileRaftStore.open(dir, SMALL)) {
            assertEquals(41, reopened.firstIndex());
            assertEquals(40, reopened.lastIndex());
            assertArrayEquals(new byte[] {5}, reopened.snapshotData());
        }
    }

    /** Regression (found by the model property): compaction deleted newest-first and a crash left a gap. */
    @Test
    void installSnapshot_crashMidCompaction_leavesNoGap() {
        for (int crashAt = 5; crashAt < 9; crashAt++) {
            Path sub = dir.resolve("crash-" + crashAt);
            FaultInjectingStorageIo io = new FaultInjectingStorageIo();
            FileRaftStore store = FileRaftStore.open(sub, SMALL, io);
            store.appendAndFlush(entries(1, 1, 30)); // about 5 segments of ~7 entries
            io.crashAfterOperations(crashAt); // 5 operations write the snapshot; then one delete each
            assertThrows(RaftStorageException.class,
                    () -> store.installSnapshot(new SnapshotMeta(25, 1, Set.of(1), Set.of()), new byte[] {5}));
            store.close();
            try (FileRaftStore reopened = FileRaftStore.open(sub, SMALL)) {
                assertEquals(26, reopened.firstIndex());
                assertEquals(entries(1, 26, 30), reopened.entries(26, 31, Long.MAX_VALUE));
            }
        }
    }

    @Test
    void writeError_failsStore_andKeepsEverythingFlushed() {
        assertFaultKeepsFlushed(FaultInjectingStorageIo::failNextWrite);
    }

    @Test
    void fsyncError_failsStore_andKeepsEverythingFlushed() {
        assertFaultKeepsFlushed(FaultInjectingStorageIo::failNextForce);
    }

    @Test
    void diskFull_failsStore_andKeepsEverythingFlushed() {
        assertFaultKeepsFlushed(io -> io.diskFullAfterBytes(40));
    }

    @Test
    void diskFull_isOutOfSpace_anEioIsNot_andReopenGivesBackTheFlushedStateWithRoomToWrite() {
        FaultInjectingStorageIo io = new FaultInjectingStorageIo();
        FileRaftStore store = FileRaftStore.open(dir, SMALL, io);
        store.appendAndFlush(entries(1, 1, 5));
        io.diskFullAfterBytes(10); // the next append tears after 10 bytes
        RaftStorageException full = assertThrows(RaftStorageException.class, () -> store.appendAndFlush(entries(1, 6, 8)));
        assertTrue(full.outOfSpace(), full.toString());
        assertTrue(store.canReopen());
        assertTrue(assertThrows(RaftStorageException.class, store::lastIndex).outOfSpace(), "a later use says why too");
        assertEquals(0, store.usableBytes());
        io.freeDiskSpace();
        FileRaftStore reopened = store.reopen();
        assertEquals(5, reopened.lastIndex(), "the torn entry is cut, the fsynced ones kept");
        assertEquals(entries(1, 1, 5), reopened.entries(1, 6, Long.MAX_VALUE));
        reopened.appendAndFlush(entries(1, 6, 8));
        assertEquals(8, reopened.lastIndex());

        io.failNextWrite();
        RaftStorageException eio = assertThrows(RaftStorageException.class, () -> reopened.appendAndFlush(entries(1, 9, 9)));
        assertFalse(eio.outOfSpace(), "an I/O error is not a full disk: " + eio);
        io.failNextForce();
        reopened.close();
        try (FileRaftStore again = FileRaftStore.open(dir, SMALL, io)) {
            // the fsync at open (of what a failed append left unsynced) is the one that fails here
            fail("opened despite a failing fsync: " + again.lastIndex());
        } catch (RaftStorageException expected) {
            assertFalse(expected.outOfSpace(), expected.toString());
        }
    }

    @Test
    void directorySyncError_onRoll_failsStore() {
        assertFaultKeepsFlushed(FaultInjectingStorageIo::failNextDirectorySync);
    }

    private void assertFaultKeepsFlushed(java.util.function.Consumer<FaultInjectingStorageIo> fault) {
        FaultInjectingStorageIo io = new FaultInjectingStorageIo();
        FileRaftStore store = FileRaftStore.open(dir, SMALL, io);
        store.appendAndFlush(entries(1, 1, 12));
        store.persistAndFlushHardState(new HardState(1, 1, 12));
        fault.accept(io);
        // 12 entries fill the first segment past 200 bytes, so this append rolls (opens, writes, syncs dir).
        RaftStorageException e = assertThrows(RaftStorageException.class, () -> store.appendAndFlush(entries(1, 13, 20)));
        assertTrue(e.getMessage().contains("append entries 13..20"), e.getMessage());
        assertThrows(RaftStorageException.class, store::lastIndex); // failed: no further use
        assertThrows(RaftStorageException.class, () -> store.persistAndFlushHardState(new HardState(2, 1, 12)));
        store.close();
        assertEquals(0, io.openFiles());
        try (FileRaftStore reopened = FileRaftStore.open(dir, SMALL)) {
            assertTrue(reopened.lastIndex() >= 12);
            assertEquals(entries(1, 1, 12), reopened.entries(1, 13, Long.MAX_VALUE));
            assertEquals(new HardState(1, 1, 12), reopened.hardState());
        }
    }

    @Test
    void close_releasesEveryFileDescriptor() throws IOException {
        long before = openFds();
        for (int round = 0; round < 3; round++) {
            try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
                long last = store.lastIndex();
                store.appendAndFlush(entries(round + 1, last + 1, last + 25));
                store.persistAndFlushHardState(new HardState(round + 1, 1, last));
                store.installSnapshot(new SnapshotMeta(last + 10, round + 1, Set.of(1), Set.of()), new byte[3]);
                store.entries(store.firstIndex(), store.lastIndex() + 1, 1000);
            }
        }
        assertThrows(RaftStorageException.class, () -> FileRaftStore.open(dir, new FileRaftStore.Config(200, 1, 1)));
        assertEquals(before, openFds(), "file descriptors leaked");
    }

    /** Descriptors this process holds on the store's directory or its files (other tests' sockets may come and go meanwhile). */
    private long openFds() throws IOException {
        Path root = dir.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).startsWith(root);
                } catch (IOException e) {
                    return false; // closed while listed
                }
            }).count();
        }
    }

    private static void flipByte(Path file, long position) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(position);
            int b = raf.read();
            raf.seek(position);
            raf.write(b ^ 0x5a);
        }
    }
}
