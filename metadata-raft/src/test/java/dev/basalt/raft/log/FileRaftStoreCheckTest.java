package dev.basalt.raft.log;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.raft.log.RaftStoreCheck.FileResult;
import dev.basalt.raft.log.RaftStoreCheck.Verdict;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FileRaftStore#check}: the open's recovery, read-only. Each case checks the verdict per
 * file, that an open then agrees with it (cuts the same torn tail, refuses the same damage), and
 * that the check left every file byte for byte as it was.
 */
class FileRaftStoreCheckTest {
    private static final FileRaftStore.Config SMALL = new FileRaftStore.Config(200, 1024, 1 << 20);

    @TempDir
    Path dir;

    private void write(FileRaftStore.Config config, long lastIndex, long commitIndex) {
        try (FileRaftStore store = FileRaftStore.open(dir, config)) {
            store.appendAndFlush(FileRaftStoreTest.entries(1, 1, lastIndex));
            store.persistAndFlushHardState(new HardState(1, 1, commitIndex));
        }
    }

    private List<Path> segmentFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".log")).sorted().toList();
        }
    }

    /** Every file's bytes, by name. */
    private Map<String, byte[]> contents() throws IOException {
        Map<String, byte[]> all = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                all.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return all;
    }

    /** Runs the check and asserts it changed nothing: the same files, byte for byte. */
    private RaftStoreCheck checkUnchanged(FileRaftStore.Config config) throws IOException {
        Map<String, byte[]> before = contents();
        RaftStoreCheck c = FileRaftStore.check(dir, config);
        Map<String, byte[]> after = contents();
        assertEquals(before.keySet(), after.keySet(), "the same files");
        for (String name : before.keySet()) {
            assertArrayEquals(before.get(name), after.get(name), name + " unchanged");
        }
        return c;
    }

    private static FileResult result(RaftStoreCheck c, Path file) {
        return c.files().stream().filter(f -> f.file().equals(file)).findFirst().orElseThrow(() -> new AssertionError(file + " in " + c));
    }

    private static long lastFramePosition(Path segment, int payloadBytes) throws IOException {
        return Files.size(segment) - (LogSegment.FRAME_HEADER_BYTES + LogSegment.ENTRY_FIXED_BYTES + payloadBytes);
    }

    @Test
    void intact_everyFileOk() throws IOException {
        write(SMALL, 30, 30);
        RaftStoreCheck c = checkUnchanged(SMALL);
        assertFalse(c.damaged(), c.toString());
        assertEquals(1, c.firstIndex());
        assertEquals(30, c.lastIndex());
        assertEquals(new HardState(1, 1, 30), c.hardState());
        assertEquals(SnapshotMeta.NONE, c.snapshot());
        List<Path> segments = segmentFiles();
        assertTrue(segments.size() >= 3, "segments " + segments);
        long entries = 0;
        for (Path s : segments) {
            FileResult r = result(c, s);
            assertEquals(Verdict.INTACT, r.verdict(), r.toString());
            entries += r.entries();
        }
        assertEquals(30, entries);
        assertEquals(Verdict.INTACT, result(c, dir.resolve("hardstate")).verdict());
    }

    @Test
    void tornTail_reportedWithItsBytes_andTheOpenCutsTheSame() throws IOException {
        write(FileRaftStore.Config.DEFAULT, 10, 9);
        Path segment = segmentFiles().get(0);
        long size = Files.size(segment);
        long lastFrame = lastFramePosition(segment, FileRaftStoreTest.entry(1, 10).data().length);
        try (RandomAccessFile raf = new RandomAccessFile(segment.toFile(), "rw")) {
            raf.setLength(size - 3); // a crash mid-write
        }
        RaftStoreCheck c = checkUnchanged(FileRaftStore.Config.DEFAULT);
        FileResult r = result(c, segment);
        assertEquals(Verdict.TORN_TAIL, r.verdict(), r.toString());
        assertEquals(lastFrame, r.position());
        assertEquals(size - 3 - lastFrame, r.tornBytes());
        assertEquals(9, r.entries());
        assertTrue(r.reason().contains("before its stated length"), r.reason());
        assertFalse(c.damaged(), "a torn tail is no damage: " + c);
        assertEquals(9, c.lastIndex());
        try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
            assertEquals(9, store.lastIndex());
        }
        assertEquals(lastFrame, Files.size(segment), "the open cut what the check reported");
    }

    /** A flipped byte in the last frame's payload (whole, fsynced): damage, never a torn tail. */
    @Test
    void flippedByteInTheLastEntry_isDamage() throws IOException {
        write(FileRaftStore.Config.DEFAULT, 10, 10);
        Path segment = segmentFiles().get(0);
        long lastFrame = lastFramePosition(segment, FileRaftStoreTest.entry(1, 10).data().length);
        flip(segment, Files.size(segment) - 1);
        RaftStoreCheck c = checkUnchanged(FileRaftStore.Config.DEFAULT);
        FileResult r = result(c, segment);
        assertEquals(Verdict.DAMAGED, r.verdict(), r.toString());
        assertEquals(lastFrame, r.position());
        assertEquals(10, r.index());
        assertEquals(9, r.entries());
        assertTrue(r.reason().contains("CRC32C mismatch") && r.reason().contains("not a write a crash cut short"), r.reason());
        assertTrue(c.damaged());
        assertThrows(RaftStorageException.class, () -> FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT).close());
    }

    /** Damage in an older (fully fsynced) segment; the segments after it are still checked each. */
    @Test
    void damageMidLog_namesTheSegmentAndPosition_andTheRestIsStillChecked() throws IOException {
        write(SMALL, 30, 30);
        List<Path> segments = segmentFiles();
        Path second = segments.get(1);
        flip(second, LogSegment.FRAME_HEADER_BYTES + LogSegment.ENTRY_FIXED_BYTES); // first payload byte of its first entry
        RaftStoreCheck c = checkUnchanged(SMALL);
        FileResult r = result(c, second);
        assertEquals(Verdict.DAMAGED, r.verdict(), r.toString());
        assertEquals(0, r.position());
        assertEquals(result(c, segments.get(0)).lastIndex() + 1, r.index());
        assertTrue(r.reason().contains("fully fsynced"), r.reason());
        assertEquals(Verdict.INTACT, result(c, segments.get(0)).verdict());
        assertEquals(Verdict.INTACT, result(c, segments.get(2)).verdict(), "checked on its own");
        assertTrue(c.damaged());
        assertEquals(0, c.lastIndex(), "unknown");
        RaftStorageException e = assertThrows(RaftStorageException.class, () -> FileRaftStore.open(dir, SMALL).close());
        assertTrue(e.getMessage().contains(second + " at position 0"), e.getMessage());
    }

    @Test
    void badHardState_isDamage() throws IOException {
        write(FileRaftStore.Config.DEFAULT, 5, 5);
        flip(dir.resolve("hardstate"), 6);
        RaftStoreCheck c = checkUnchanged(FileRaftStore.Config.DEFAULT);
        FileResult r = result(c, dir.resolve("hardstate"));
        assertEquals(Verdict.DAMAGED, r.verdict());
        assertTrue(r.reason().contains("corrupt hard state file"), r.reason());
        assertNull(c.hardState());
        assertEquals(Verdict.INTACT, result(c, segmentFiles().get(0)).verdict());
        assertTrue(c.damaged());
        assertThrows(RaftStorageException.class, () -> FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT).close());
    }

    /** Whole entries gone from the end (a file cut at a frame boundary): every frame checks out, yet committed entries are missing. */
    @Test
    void logEndingBelowTheCommitIndex_isDamage() throws IOException {
        write(FileRaftStore.Config.DEFAULT, 10, 10);
        Path segment = segmentFiles().get(0);
        try (RandomAccessFile raf = new RandomAccessFile(segment.toFile(), "rw")) {
            raf.setLength(lastFramePosition(segment, FileRaftStoreTest.entry(1, 10).data().length));
        }
        RaftStoreCheck c = checkUnchanged(FileRaftStore.Config.DEFAULT);
        assertEquals(Verdict.INTACT, result(c, segment).verdict());
        assertEquals(1, c.logDamage().size(), c.toString());
        assertTrue(c.logDamage().get(0).contains("ends at index 9, below the persisted commit index 10"), c.logDamage().get(0));
        assertTrue(c.damaged());
    }

    /** A left-over replacement and segments an interrupted compaction left: what the open deletes, reported, kept. */
    @Test
    void leftOverFiles_areReportedNotDeleted() throws IOException {
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            store.appendAndFlush(FileRaftStoreTest.entries(1, 1, 30));
        }
        Map<String, byte[]> before = contents();
        try (FileRaftStore store = FileRaftStore.open(dir, SMALL)) {
            store.installSnapshot(new SnapshotMeta(20, 1, java.util.Set.of(1), java.util.Set.of()), new byte[] {1});
        }
        List<Path> segments = new java.util.ArrayList<>();
        for (Map.Entry<String, byte[]> e : before.entrySet()) { // as if the crash came before the compaction deleted any
            segments.add(dir.resolve(e.getKey()));
            Files.write(dir.resolve(e.getKey()), e.getValue());
        }
        assertTrue(segments.size() >= 3, "segments " + segments);
        Files.write(dir.resolve("hardstate.tmp"), new byte[] {1, 2, 3});
        RaftStoreCheck c = checkUnchanged(SMALL);
        assertFalse(c.damaged(), c.toString());
        assertEquals(Verdict.LEFT_OVER, result(c, dir.resolve("hardstate.tmp")).verdict());
        assertTrue(result(c, segments.get(0)).note().contains("wholly at or below the snapshot's last index 20"),
                result(c, segments.get(0)).toString());
        assertEquals(21, c.firstIndex());
        assertEquals(30, c.lastIndex());
        assertEquals(new SnapshotMeta(20, 1, java.util.Set.of(1), java.util.Set.of()), c.snapshot());
    }

    /** The layer the check reads through refuses every change: a missed guard fails loudly instead of writing. */
    @Test
    void readOnlyLayer_refusesWrites() throws IOException {
        write(FileRaftStore.Config.DEFAULT, 3, 3);
        Path segment = segmentFiles().get(0);
        try (StorageFile f = ReadOnlyStorageIo.INSTANCE.open(segment)) {
            assertThrows(IllegalStateException.class, () -> f.truncate(0));
            assertThrows(IllegalStateException.class, () -> f.writeFully(java.nio.ByteBuffer.allocate(1), 0));
            assertThrows(IllegalStateException.class, f::force);
        }
        assertThrows(IllegalStateException.class, () -> ReadOnlyStorageIo.INSTANCE.delete(segment));
        assertThrows(java.nio.file.NoSuchFileException.class, () -> ReadOnlyStorageIo.INSTANCE.open(dir.resolve("absent.log")));
        assertFalse(Files.exists(dir.resolve("absent.log")), "opening does not create");
    }

    private static void flip(Path file, long position) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(position);
            int b = raf.read();
            raf.seek(position);
            raf.write(b ^ 0x5a);
        }
    }
}
