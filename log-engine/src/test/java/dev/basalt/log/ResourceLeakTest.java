package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.log.testkit.TestBatches.Rec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No leaked mappings, file descriptors or RocksDB handles: after close, nothing of this process
 * in /proc/self/fd or /proc/self/maps points into the data dir (RocksDB's own files included, so
 * an unclosed DB shows up), across rolls, retention, compaction, truncation, delete and reads.
 * Reproduce with {@code ./mvnw -B -ntp -pl log-engine -am verify -Dtest=ResourceLeakTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ResourceLeakTest {
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(1_000);

    @Test
    void closeReleasesEveryMappingFileAndRocksDbHandle() {
        LogConfig cfg = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "2048", LogConfig.CLEANUP_POLICY, "compact,delete",
                LogConfig.RETENTION_BYTES, "6000"));
        for (int round = 0; round < 2; round++) {
            LogManager m = LogManager.open(dir, cfg, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
            exercise(m, cfg, round);
            assertTrue(!LogTestSupport.mappingsUnder(dir).isEmpty(), "sanity: segments are mapped while open");
            assertTrue(!LogTestSupport.openFilesUnder(dir).isEmpty(), "sanity: files are open while open");
            m.close();
            assertEquals(List.of(), LogTestSupport.openFilesUnder(dir), "open files after close");
            assertEquals(List.of(), LogTestSupport.mappingsUnder(dir), "mappings after close");
        }
    }

    @Test
    void crashHookAlsoReleasesEverything_andDeletedSegmentsUnmapWhenReadersClose() {
        LogConfig cfg = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "2048", LogConfig.RETENTION_BYTES, "1"));
        LogManager m = LogManager.open(dir, cfg, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        PartitionLog log = m.getOrCreate(new TopicPartition("r", 0), cfg);
        for (int i = 0; i < 100; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "value-" + i))), 1);
        }
        // Flushing here waits out the flushes that rolls started in the background (they hold
        // segment references while they fsync), so only the reader below pins a segment.
        log.flush();
        log.updateHighWatermark(log.logEndOffset());
        FetchSlice pinned = log.read(0, 100, Long.MAX_VALUE);
        m.runRetentionOnce(clock.millis());
        long pinnedMappings = LogTestSupport.mappingsUnder(dir).stream().filter(l -> l.contains(".deleted")).count();
        assertEquals(1, pinnedMappings, "the pinned, deleted segment stays mapped while read");
        assertEquals("value-0", TestBatches.decode(pinned.records()).get(0).value());
        pinned.close();
        assertEquals(0, LogTestSupport.mappingsUnder(dir).stream().filter(l -> l.contains(".deleted")).count());
        LogTestHooks.crash(m);
        assertEquals(List.of(), LogTestSupport.openFilesUnder(dir));
        assertEquals(List.of(), LogTestSupport.mappingsUnder(dir));
    }

    private void exercise(LogManager m, LogConfig cfg, int round) {
        for (int p = 0; p < 4; p++) {
            PartitionLog log = m.getOrCreate(new TopicPartition("leak", p), cfg);
            for (int i = 0; i < 150; i++) {
                log.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k" + (i % 5), "v" + round + "-" + i))), 1);
            }
            LogTestSupport.readAll(log, log.logStartOffset());
            log.updateHighWatermark(log.logEndOffset() - 20);
            log.roll();
            m.compactOnce(log.topicPartition(), clock.millis());
            m.runRetentionOnce(clock.millis());
            log.truncateTo(log.logEndOffset() - 3);
            log.offsetForTimestamp(0);
        }
        if (round == 0) {
            m.delete(new TopicPartition("leak", 3));
        }
    }
}
