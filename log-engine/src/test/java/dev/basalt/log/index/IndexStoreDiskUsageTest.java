package dev.basalt.log.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The index reserves no disk space ahead of its writes: RocksDB's default fallocate of each new
 * write-ahead log (~70 MiB for the default memtable size) made a fresh node on a small volume read
 * as "disk full" before its first record. Allocated blocks are what a volume counts, not file
 * lengths, so this asks {@code du} (coreutils).
 */
class IndexStoreDiskUsageTest {
    @Test
    void aFreshIndexWithOneStateWrittenAllocatesUnderOneMebibyte(@TempDir Path dir) throws Exception {
        Path indexDir = dir.resolve("index");
        IndexStore store = IndexStore.open(indexDir);
        try {
            store.saveState("t-0", new PartitionState(1, 0, 0, 0, -1, List.of()), true);
            long kib = allocatedKib(indexDir);
            assertTrue(kib < 1024, "the index allocates " + kib + " KiB after one write");
        } finally {
            store.close();
        }
    }

    private static long allocatedKib(Path dir) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("du", "-sk", dir.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException("this test needs `du` (coreutils) on the PATH to read allocated blocks", e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.waitFor(), out);
        return Long.parseLong(out.split("\\s+")[0]);
    }
}
