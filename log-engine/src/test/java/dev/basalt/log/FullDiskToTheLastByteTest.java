package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.basalt.log.index.IndexStore;
import dev.basalt.log.index.PartitionState;
import dev.basalt.log.segment.FileLayer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: the index and the log manager survive another writer filling their file system to the
 * last byte. RocksDB
 * refuses every write after one failed for lack of space, even once there is room again, so the
 * index must notice ({@link IndexStore#needsReopen()}) and reopen, keeping what it had
 * acknowledged, while other threads keep calling it (the gate holds them; nothing native is
 * closed under a call); and a partition whose creation failed then can be created once there is
 * room. Method: a real RocksDB and log manager on a 16 MiB tmpfs each test mounts and unmounts
 * (root needed, as in CI; the test says so otherwise).
 */
class FullDiskToTheLastByteTest {

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out.trim());
        }
        return out;
    }

    private static Path fillToTheLastByte(Path mount) throws IOException {
        Path filler = mount.resolve("filler");
        try (RandomAccessFile f = new RandomAccessFile(filler.toFile(), "rw")) {
            for (int chunk : new int[] {1 << 20, 4096, 1}) {
                byte[] bytes = new byte[chunk];
                try {
                    while (true) {
                        f.write(bytes);
                    }
                } catch (IOException full) {
                    // ENOSPC at this granularity: go on with smaller writes
                }
            }
        }
        return filler;
    }

    private static Path mount(Path tmp) throws Exception {
        Path mount = tmp.resolve("tmpfs");
        Files.createDirectories(mount);
        try {
            run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount.toString());
        } catch (IOException e) {
            fail("this test needs to mount a 16 MiB tmpfs (run it as root, as CI does, or with CAP_SYS_ADMIN): "
                    + e.getMessage());
        }
        return mount;
    }

    private static void unmount(Path mount) throws Exception {
        try {
            run("umount", mount.toString());
        } catch (IOException e) {
            run("umount", "-l", mount.toString());
        }
    }

    @Test
    void aPartitionCreatedOnAFullDisk_failsCleanly_andIsCreatedOnceTheIndexIsReopened(@TempDir Path tmp) throws Exception {
        Path mount = mount(tmp);
        try {
            TopicPartition first = new TopicPartition("t", 0);
            TopicPartition second = new TopicPartition("t", 1);
            LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "1048576"));
            LogManager manager = LogManager.open(mount.resolve("data"), config, java.time.Clock.systemUTC(),
                    LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
            try {
                manager.getOrCreate(first, config);
                Path filler = fillToTheLastByte(mount);
                byte[] big = new byte[8192];
                for (int i = 0; !manager.index().needsReopen(); i++) { // use up what the index's pages had left
                    assertTrue(i < 10_000, "16 MiB full to the last byte took 80 MB of index writes");
                    try {
                        manager.index().putProducerSnapshot(99, i, big);
                    } catch (LogStorageException expected) {
                        // the write refused for lack of space
                    }
                }
                LogStorageException refused = assertThrows(LogStorageException.class, () -> manager.getOrCreate(second, config));
                assertFalse(Files.exists(mount.resolve("data").resolve(second.dirName())),
                        "a directory left behind by the failed creation, which a retry would refuse to adopt: " + refused);
                Files.delete(filler);
                assertThrows(LogStorageException.class, () -> manager.getOrCreate(second, config),
                        "RocksDB took a write after its failure without a reopen: this test no longer shows why reopen exists");
                manager.checkSpace(); // what the scheduler runs every 250 ms: room again, so the index is reopened
                PartitionLog created = manager.getOrCreate(second, config);
                assertEquals(0, created.logEndOffset());
                assertEquals(0, manager.getOrCreate(first, config).logEndOffset());
            } finally {
                manager.close();
            }
        } finally {
            unmount(mount);
        }
    }

    @Test
    void aWriteRefusedForLackOfSpace_needsAReopen_whichKeepsWhatWasWritten_underConcurrentReaders(@TempDir Path tmp)
            throws Exception {
        Path mount = mount(tmp);
        try {
            IndexStore store = IndexStore.open(mount.resolve("index"));
            try {
                PartitionState before = new PartitionState(1, 0, 10, 10, -1, List.of());
                store.saveState("t-0", before, true);
                store.putOffset(1, 0, 0, 0);
                AtomicReference<Throwable> readerFailure = new AtomicReference<>();
                AtomicLong reads = new AtomicLong();
                Thread reader = new Thread(() -> {
                    while (!Thread.currentThread().isInterrupted()) {
                        try {
                            assertNotNull(store.floorOffset(1, 5));
                            store.deleteOffsetsFrom(2, 0); // another partition: a write that resolves its column family
                            reads.incrementAndGet();
                        } catch (LogStorageException e) {
                            // unavailable for a moment is allowed; a crash or a wrong answer is not
                        } catch (Throwable t) {
                            readerFailure.compareAndSet(null, t);
                            return;
                        }
                    }
                }, "index-reader");
                reader.start();

                Path filler = fillToTheLastByte(mount);
                byte[] big = new byte[8192];
                LogStorageException refused = null;
                for (int i = 0; i < 10_000 && refused == null; i++) {
                    try {
                        store.putProducerSnapshot(1, i, big);
                    } catch (LogStorageException e) {
                        refused = e;
                    }
                }
                assertNotNull(refused, "16 MiB full to the last byte took 80 MB of index writes");
                assertTrue(store.needsReopen(), "a refused write for lack of space was not noticed: " + refused);
                Files.delete(filler);
                assertThrows(LogStorageException.class, () -> store.saveState("t-0", before, true),
                        "RocksDB took a write after its failure without a reopen: this test no longer shows why reopen exists");

                store.reopen();
                assertFalse(store.needsReopen());
                PartitionState after = new PartitionState(1, 0, 20, 20, -1, List.of());
                store.saveState("t-0", after, true);
                assertEquals(after, store.loadAllStates().get("t-0"));
                assertEquals(new IndexStore.OffsetPosition(0, 0, 0), store.floorOffset(1, 5), "an entry written before the full disk");
                long readsAtReopen = reads.get();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (reads.get() < readsAtReopen + 100 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                reader.interrupt();
                reader.join(10_000);
                if (readerFailure.get() != null) {
                    throw new AssertionError("a concurrent reader failed", readerFailure.get());
                }
                assertTrue(reads.get() >= readsAtReopen + 100, "the reader made no progress after the reopen");
                store.close();
                store.reopen(); // a no-op once closed (the options are freed): must not reopen RocksDB
                assertThrows(LogStorageException.class, () -> store.floorOffset(1, 5), "a closed index answered");
            } finally {
                store.close();
            }
        } finally {
            unmount(mount);
        }
    }
}
