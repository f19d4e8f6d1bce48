package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A damaged RocksDB index (what the Jepsen suite's {@code corrupt-index} nemesis does to a stopped
 * node): RocksDB refuses to open it (Corruption); the log manager moves it to {@code index.corrupt}
 * and rebuilds every partition from its segments, losing no record. Before this the node could not
 * start at all ("cannot open the RocksDB index"). Reproduce with
 * {@code ./mvnw -B -ntp -o -pl log-engine -am verify -Dtest=IndexCorruptionTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class IndexCorruptionTest {
    static final TopicPartition TP = new TopicPartition("events", 0);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(5_000_000);
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "8192", LogConfig.INDEX_INTERVAL_BYTES, "300"));
    LogManager manager;

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    LogManager open() {
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        return manager;
    }

    private List<String> fillAndCrash(int batches) {
        PartitionLog log = open().getOrCreate(TP, config);
        for (int i = 0; i < batches; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "value-" + i))), 1 + i / 10);
        }
        log.flush();
        List<String> all = readAll(log);
        LogTestHooks.crash(manager);
        manager = null;
        return all;
    }

    private static List<String> readAll(PartitionLog log) {
        List<String> out = new ArrayList<>();
        for (long off = log.logStartOffset(); off < log.logEndOffset(); off++) {
            try (FetchSlice s = log.read(off, 1, Long.MAX_VALUE)) {
                out.add(off + "=" + TestBatches.decode(s.records()));
            }
        }
        return out;
    }

    private Path indexFile(String prefix) throws IOException {
        try (Stream<Path> files = Files.list(dir.resolve(LogManager.INDEX_DIR))) {
            return files.filter(f -> f.getFileName().toString().startsWith(prefix)).sorted().findFirst()
                    .orElseThrow(() -> new AssertionError("no " + prefix + "* in the index"));
        }
    }

    private void assertRebuilt(List<String> before) {
        PartitionLog log = open().get(TP);
        assertEquals(before, readAll(log));
        assertTrue(Files.isDirectory(dir.resolve(LogManager.CORRUPT_INDEX_DIR)), "the damaged index is kept for the operator");
        assertEquals(before.size(), log.logEndOffset());
    }

    @Test
    void cutCurrentFile_indexMovedAsideAndRebuilt() throws IOException {
        List<String> before = fillAndCrash(60);
        RecoveryTest.cut(indexFile("CURRENT"), 3);
        assertRebuilt(before);
    }

    @Test
    void flippedByteInManifest_indexMovedAsideAndRebuilt() throws IOException {
        List<String> before = fillAndCrash(60);
        Path manifest = indexFile("MANIFEST-");
        RecoveryTest.flipByte(manifest, Files.size(manifest) / 2);
        assertRebuilt(before);
    }

    /** Found by the Jepsen suite (seed 21896797741): a flipped bit in CURRENT named a MANIFEST that does not exist. */
    @Test
    void currentNamingAMissingManifest_indexMovedAsideAndRebuilt() throws IOException {
        List<String> before = fillAndCrash(60);
        Files.writeString(indexFile("CURRENT"), "MANIFEST-040005\n");
        assertRebuilt(before);
    }

    @Test
    void intactIndex_isNotMovedAside() {
        List<String> before = fillAndCrash(20);
        PartitionLog log = open().get(TP);
        assertEquals(before, readAll(log));
        assertFalse(Files.exists(dir.resolve(LogManager.CORRUPT_INDEX_DIR)));
    }
}
