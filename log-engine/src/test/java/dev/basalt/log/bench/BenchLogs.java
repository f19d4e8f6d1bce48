package dev.basalt.log.bench;

import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.PartitionLog;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.TestBatches;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * Shared setup of the log benchmarks: a data dir under {@code -Dbasalt.bench.dir} (default
 * java.io.tmpdir: put it on the disk being measured), 100 MiB segments (so a 2 GiB log spans 21
 * of them), 1 KiB records. Thread-safety: static helpers; each benchmark state owns its manager.
 */
final class BenchLogs {
    static final int SEGMENT_BYTES = 100 << 20;
    static final int RECORD_VALUE_BYTES = 1024;
    /** Per-record overhead in a batch: length, attributes, deltas, null key, value length, header count. */
    static final int RECORD_OVERHEAD_BYTES = 11;

    private BenchLogs() {
    }

    static Path newDataDir() {
        try {
            Path base = Path.of(System.getProperty("basalt.bench.dir", System.getProperty("java.io.tmpdir")));
            Files.createDirectories(base);
            return Files.createTempDirectory(base, "log-bench");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static LogManager open(Path dir, Map<String, String> overrides) {
        LogConfig cfg = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, Integer.toString(SEGMENT_BYTES))).withOverrides(overrides);
        return LogManager.open(dir, cfg, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
    }

    static PartitionLog create(LogManager m, Map<String, String> overrides) {
        LogConfig cfg = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, Integer.toString(SEGMENT_BYTES))).withOverrides(overrides);
        return m.getOrCreate(new TopicPartition("bench", 0), cfg);
    }

    /** A batch of 1 KiB records filling about {@code batchBytes}. */
    static ByteBuffer batch(int batchBytes) {
        int count = (batchBytes - 61) / (RECORD_VALUE_BYTES + RECORD_OVERHEAD_BYTES);
        return TestBatches.filler(count, RECORD_VALUE_BYTES, System.currentTimeMillis(), 7);
    }

    static void remove(LogManager m, Path dir) {
        if (m != null) {
            m.close();
        }
        LogTestSupport.deleteRecursively(dir);
    }
}
