package dev.basalt.broker.testsupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.SegmentFile;
import dev.basalt.raft.log.StorageFile;
import dev.basalt.raft.log.StorageIo;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lazyfs model: after {@link LazyFs#discardUnsynced()} every file holds exactly what was fsynced. */
class LazyFsTest {
    @TempDir
    Path dir;

    private static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void unsyncedAppendsAndOverwritesAreDiscardedSyncedOnesKept() throws Exception {
        LazyFs fs = new LazyFs(dir.resolve("stash"));
        FileLayer layer = LazyFsFiles.fileLayer(fs);
        Path seg = dir.resolve("00000000000000000000.log");
        try (SegmentFile f = layer.open(seg, true, true)) {
            layer.fsyncDirectory(dir);
            f.writeFully(bytes("hello "), 0);
            f.force();
            f.writeFully(bytes("world"), 6);
            f.writeFully(bytes("J"), 0); // overwrite of durable bytes
            f.mapReadOnly(4096).get(0); // mapping grows the file (preallocation)
        }
        assertEquals(4096, Files.size(seg));
        assertEquals(3, fs.pendingEntries()); // two writes and the growth; the creation was made durable
        fs.discardUnsynced();
        assertArrayEquals("hello ".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(seg));
    }

    @Test
    void truncationOfDurableDataIsUndoneAndUnsyncedCreationsVanish() throws Exception {
        LazyFs fs = new LazyFs(dir.resolve("stash"));
        FileLayer layer = LazyFsFiles.fileLayer(fs);
        Path a = dir.resolve("a.log");
        try (SegmentFile f = layer.open(a, true, true)) {
            f.writeFully(bytes("0123456789"), 0);
            f.force();
            layer.fsyncDirectory(dir);
            f.truncate(3);
        }
        Path b = dir.resolve("b.log");
        try (SegmentFile f = layer.open(b, true, true)) {
            f.writeFully(bytes("new"), 0);
            f.force(); // data durable, but the name is not: no directory fsync
        }
        fs.discardUnsynced();
        assertEquals("0123456789", Files.readString(a));
        assertFalse(Files.exists(b));
    }

    @Test
    void unsyncedRenameIsUndoneWithTheReplacedTargetRestored() throws Exception {
        LazyFs fs = new LazyFs(dir.resolve("stash"));
        StorageIo io = LazyFsFiles.storageIo(fs);
        Path state = dir.resolve("state");
        Path tmp = dir.resolve("state.tmp");
        try (StorageFile f = io.open(state)) {
            f.writeFully(bytes("term=1"), 0);
            f.force();
        }
        io.syncDirectory(dir);
        try (StorageFile f = io.open(tmp)) {
            f.writeFully(bytes("term=2"), 0);
            f.force();
        }
        io.moveAtomically(tmp, state);
        assertEquals("term=2", Files.readString(state));
        fs.discardUnsynced();
        assertEquals("term=1", Files.readString(state));
        assertFalse(Files.exists(tmp)); // its creation was never made durable either
    }

    @Test
    void renameMadeDurableByDirectoryFsyncSurvives() throws Exception {
        LazyFs fs = new LazyFs(dir.resolve("stash"));
        StorageIo io = LazyFsFiles.storageIo(fs);
        Path state = dir.resolve("state");
        Path tmp = dir.resolve("state.tmp");
        try (StorageFile f = io.open(tmp)) {
            f.writeFully(bytes("term=3"), 0);
            f.force();
        }
        io.moveAtomically(tmp, state);
        io.syncDirectory(dir);
        try (StorageFile f = io.open(state)) {
            f.writeFully(bytes("term=4"), 0); // not fsynced
        }
        fs.discardUnsynced();
        assertEquals("term=3", Files.readString(state));
        assertTrue(Files.exists(state));
    }

    /**
     * A crash racing a writer that fsyncs after every write never undoes a write whose fsync had
     * returned: the node may already have recorded it as flushed somewhere the crash does not
     * touch (a partition's recovery point in RocksDB). Many short races, each with its own files;
     * the writer of each is left blocked for good by the crash's lock (a daemon thread).
     */
    @Test
    void aCrashNeverUndoesAWriteWhoseFsyncReturned() throws Exception {
        java.util.Random random = new java.util.Random(7);
        for (int trial = 0; trial < 200; trial++) {
            LazyFs fs = new LazyFs(dir.resolve("stash-" + trial));
            FileLayer layer = LazyFsFiles.fileLayer(fs);
            Path seg = dir.resolve(String.format("%020d.log", trial));
            SegmentFile f = layer.open(seg, true, true);
            layer.fsyncDirectory(dir);
            java.util.concurrent.atomic.AtomicInteger synced = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 1; ; i++) {
                        f.writeFully(ByteBuffer.wrap(new byte[] {(byte) 1}), i - 1);
                        f.force();
                        synced.set(i);
                        started.countDown();
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, "lazyfs-writer-" + trial);
            writer.setDaemon(true);
            writer.start();
            started.await();
            java.util.concurrent.locks.LockSupport.parkNanos(random.nextInt(200_000));
            fs.discardUnsynced();
            int returned = synced.get(); // read after the crash: every fsync that returned before it
            byte[] content = Files.readAllBytes(seg);
            int kept = 0;
            while (kept < content.length && content[kept] == 1) {
                kept++;
            }
            assertTrue(kept >= returned, "trial " + trial + ": " + returned + " writes fsynced before the crash but only "
                    + kept + " survived it");
        }
    }
}
