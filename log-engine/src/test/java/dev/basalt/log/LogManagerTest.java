package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.log.testkit.TestBatches.Rec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data-dir owner: many partitions open and reopen (clean and after a crash), delete renames
 * atomically and a re-created partition never sees old data, one process per data dir, config
 * validation. Reproduce with {@code ./mvnw -B -ntp -pl log-engine -am verify -Dtest=LogManagerTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class LogManagerTest {
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(1_000);
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "65536"));

    LogManager open() {
        return LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
    }

    /**
     * Logs of different partitions are created concurrently (the broker creates a large create's
     * logs in parallel); callers racing for the same partition get the one log. Each log gets its
     * own partition id and keeps its data across a crash and reopen.
     */
    @Test
    void concurrentCreation_ofManyPartitions_andOfTheSameOne() throws Exception {
        int threads = 8;
        int each = 16;
        TopicPartition shared = new TopicPartition("shared", 0);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(threads);
        Set<PartitionLog> sharedSeen = java.util.concurrent.ConcurrentHashMap.newKeySet();
        try (LogManager m = open()) {
            List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    start.await();
                    sharedSeen.add(m.getOrCreate(shared, config));
                    for (int i = 0; i < each; i++) {
                        TopicPartition tp = new TopicPartition("wide", thread * each + i);
                        m.getOrCreate(tp, config).appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", tp.toString()))), 1);
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
            assertEquals(1, sharedSeen.size(), "every caller of the same partition got the one log");
            assertEquals(threads * each + 1, m.partitions().size());
            m.get(shared).appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "s"))), 1);
            LogTestHooks.crash(m);
        } finally {
            pool.shutdownNow();
        }
        try (LogManager again = open()) {
            assertEquals(threads * each + 1, again.partitions().size());
            for (int p = 0; p < threads * each; p++) {
                TopicPartition tp = new TopicPartition("wide", p);
                assertEquals(tp.toString(), LogTestSupport.readAll(again.get(tp), 0).get(0).value(), "no two logs shared an id");
            }
            assertEquals(1, again.get(shared).logEndOffset());
        }
    }

    /**
     * Two creations overlap: each waits, in its fsync of the data directory, for the other to get
     * there too. Under a lock held across the whole creation (as before) the second could never
     * arrive, and the first would give up.
     */
    @Test
    void creationsOfDifferentPartitions_runAtTheSameTime() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.CyclicBarrier both = new java.util.concurrent.CyclicBarrier(2);
        FileLayer meeting = new FileLayer() {
            @Override
            public void fsyncDirectory(Path d) throws java.io.IOException {
                if (armed.get() && d.equals(dir)) {
                    try {
                        both.await(10, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (Exception e) {
                        throw new java.io.IOException("the other creation never reached its fsync: " + e);
                    }
                }
                FileLayer.super.fsyncDirectory(d);
            }
        };
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try (LogManager m = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), meeting)) {
            armed.set(true);
            java.util.concurrent.Future<PartitionLog> a = pool.submit(() -> m.getOrCreate(new TopicPartition("a", 0), config));
            java.util.concurrent.Future<PartitionLog> b = pool.submit(() -> m.getOrCreate(new TopicPartition("b", 0), config));
            a.get(30, java.util.concurrent.TimeUnit.SECONDS).appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "a"))), 1);
            b.get(30, java.util.concurrent.TimeUnit.SECONDS).appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "b"))), 1);
            armed.set(false);
            assertEquals(2, m.partitions().size());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void manyPartitions_reopenCleanlyAndAfterCrash_withTheirData() {
        int partitions = 1000;
        try (LogManager m = open()) {
            for (int p = 0; p < partitions; p++) {
                PartitionLog log = m.getOrCreate(new TopicPartition("many", p), config);
                log.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "p" + p))), 1);
            }
        }
        assertTrue(Files.exists(dir.resolve(LogManager.CLEAN_SHUTDOWN_FILE)));
        LogManager m = open();
        assertFalse(Files.exists(dir.resolve(LogManager.CLEAN_SHUTDOWN_FILE)), "marker removed while open");
        assertEquals(partitions, m.partitions().size());
        for (int p = 0; p < partitions; p += 97) {
            assertEquals("p" + p, LogTestSupport.readAll(m.get(new TopicPartition("many", p)), 0).get(0).value());
        }
        m.get(new TopicPartition("many", 5)).appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "more"))), 1);
        LogTestHooks.crash(m);
        try (LogManager again = open()) {
            assertEquals(partitions, again.partitions().size());
            assertEquals(2, again.get(new TopicPartition("many", 5)).logEndOffset());
            assertEquals(1, again.get(new TopicPartition("many", 999)).logEndOffset());
        }
    }

    /**
     * A partition directory removed while the node was stopped: it was forgotten in silence (and
     * could be recreated empty as a replica the controller still counted in sync). Now it is
     * offline as if corrupt from offset 0, until rebuilt from another replica or, as the only
     * copy, served empty with the loss named.
     */
    @Test
    void aVanishedPartitionDirectory_isOfflineLikeACorruptOne() throws Exception {
        TopicPartition tp = new TopicPartition("vanished", 0);
        TopicPartition other = new TopicPartition("kept", 0);
        try (LogManager m = open()) {
            for (int i = 0; i < 10; i++) {
                m.getOrCreate(tp, config).appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "v" + i))), 1);
            }
            m.getOrCreate(other, config).appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "x"))), 1);
        }
        deleteTree(dir.resolve(tp.dirName()));
        for (int open = 0; open < 2; open++) {
            // Any number of opens before the rebuild (a restart, an offline tool) find it vanished, never an empty healthy log.
            try (LogManager m = open()) {
                assertEquals(Set.of(tp), m.corruptPartitions());
                assertEquals(1, m.startupCorruptPartitionsFound());
                assertTrue(m.offlinePartitions().get(tp).contains("directory vanished"), m.offlinePartitions().toString());
                assertFalse(Files.exists(dir.resolve(tp.dirName())));
            }
        }
        try (LogManager m = open()) {
            assertEquals(Set.of(tp), m.corruptPartitions());
            assertEquals(1, m.get(other).logEndOffset());
            assertThrows(UnknownPartitionException.class, () -> m.get(tp));
            // The only copy: served empty from its old end (no offset is given twice), appends
            // refused until a restart accepts the loss.
            PartitionLog empty = m.serveIntactPrefix(tp, config);
            assertEquals(10, empty.logStartOffset());
            assertEquals(10, empty.logEndOffset());
            assertEquals(10, empty.highWatermark());
            assertThrows(OffsetOutOfRangeException.class, () -> empty.read(0, 1 << 20, Long.MAX_VALUE));
            assertThrows(LogStorageException.class,
                    () -> empty.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "new"))), 1));
        }
        try (LogManager m = open()) {
            assertEquals(Set.of(), m.corruptPartitions(), "the loss was accepted");
            assertEquals(10, m.get(tp).logStartOffset());
            assertEquals(10, m.get(tp).appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "new"))), 1).firstOffset());
        }
    }

    /** A partition with one record, then its directory removed (the node stopped), as an operator or a lost mount would. */
    private void writeOneRecordThenRemoveTheDirectory(TopicPartition tp) throws java.io.IOException {
        try (LogManager m = open()) {
            m.getOrCreate(tp, config).appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "v"))), 1);
        }
        deleteTree(dir.resolve(tp.dirName()));
    }

    private static void deleteTree(Path root) throws java.io.IOException {
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void aVanishedPartitionDirectory_isRebuiltEmptyByARepair() throws Exception {
        TopicPartition tp = new TopicPartition("vanished", 1);
        writeOneRecordThenRemoveTheDirectory(tp);
        try (LogManager m = open()) {
            PartitionLog rebuilt = m.repairFully(tp, config);
            assertEquals(0, rebuilt.logEndOffset());
            assertEquals(0, rebuilt.appendAsFollower(TestBatches.batch(List.of(new Rec(1, "k", "from-leader")))).firstOffset());
            m.delete(tp);
        }
    }

    /** Deleting a replica whose directory vanished (its topic was deleted meanwhile) forgets it for good. */
    @Test
    void aVanishedPartitionDirectory_deleted_isGoneAtTheNextOpen() throws Exception {
        TopicPartition tp = new TopicPartition("vanished", 2);
        writeOneRecordThenRemoveTheDirectory(tp);
        try (LogManager m = open()) {
            assertEquals(Set.of(tp), m.corruptPartitions());
            m.delete(tp);
            assertEquals(Set.of(), m.corruptPartitions());
        }
        try (LogManager m = open()) {
            assertEquals(Set.of(), m.corruptPartitions());
            assertTrue(m.offlinePartitions().isEmpty(), m.offlinePartitions().toString());
        }
    }

    @Test
    void delete_removesData_andRecreatedPartitionStartsEmpty() throws Exception {
        TopicPartition tp = new TopicPartition("doomed-topic", 2);
        try (LogManager m = open()) {
            PartitionLog log = m.getOrCreate(tp, config);
            for (int i = 0; i < 10; i++) {
                log.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "old-" + i))), 1);
            }
            FetchSlice held = log.read(0, 100, Long.MAX_VALUE);
            m.delete(tp);
            // A reader that held a slice keeps a valid view until it closes it.
            assertEquals("old-0", TestBatches.decode(held.records()).get(0).value());
            held.close();
            assertThrows(UnknownPartitionException.class, () -> m.get(tp));
            assertThrows(UnknownPartitionException.class, () -> log.read(0, 100, Long.MAX_VALUE));
            assertThrows(UnknownPartitionException.class, () -> m.delete(tp));
            PartitionLog fresh = m.getOrCreate(tp, config);
            assertEquals(0, fresh.logEndOffset());
            fresh.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "new"))), 1);
            assertEquals(List.of("new"), LogTestSupport.readAll(fresh, 0).stream().map(TestBatches.Stored::value).toList());
        }
        try (LogManager m = open()) {
            assertEquals(Set.of(tp), m.partitions());
            assertEquals(1, m.get(tp).logEndOffset());
        }
        Set<String> names = new HashSet<>();
        try (var s = Files.list(dir)) {
            s.forEach(p -> names.add(p.getFileName().toString()));
        }
        assertFalse(names.stream().anyMatch(n -> n.endsWith(LogManager.DELETE_SUFFIX)), "deleted dirs removed: " + names);
    }

    /**
     * A topic name at its 249-character limit: {@code <topic>-<p>.<partition id>-delete} passed the
     * 255-byte file name limit, the rename failed, the directory stayed, and a topic re-created
     * under the name adopted it and served the old records. The delete name is now cut to fit.
     */
    @Test
    void delete_ofATopicWithTheLongestName_removesItsData() throws Exception {
        String longest = "t".repeat(dev.basalt.common.TopicNames.NAME_LENGTH_MAX - 1) + "x";
        TopicPartition tp = new TopicPartition(longest, 99_999);
        String otherName = "t".repeat(dev.basalt.common.TopicNames.NAME_LENGTH_MAX - 1) + "y"; // same prefix
        assertTrue(LogManager.deleteDirName(tp.dirName(), Long.toString(Long.MAX_VALUE)).length() <= LogManager.FILE_NAME_BYTES_MAX);
        assertFalse(LogManager.deleteDirName(tp.dirName(), "7").equals(LogManager.deleteDirName(otherName + "-99999", "7")),
                "two long names sharing a prefix get different delete names");
        assertEquals("short-0.7" + LogManager.DELETE_SUFFIX, LogManager.deleteDirName("short-0", "7"), "short names unchanged");
        try (LogManager m = open()) {
            m.getOrCreate(tp, config).appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "old"))), 1);
            m.delete(tp);
            PartitionLog fresh = m.getOrCreate(tp, config);
            assertEquals(0, fresh.logEndOffset(), "the re-created partition starts empty");
            fresh.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "new"))), 1);
        }
        try (LogManager m = open()) {
            assertEquals(List.of("new"), LogTestSupport.readAll(m.get(tp), 0).stream().map(TestBatches.Stored::value).toList());
        }
    }

    /** A restart between the rename of a long-named partition and the removal of its files finishes the delete. */
    @Test
    void anUnfinishedDelete_ofALongName_isFinishedAtTheNextOpen() throws Exception {
        TopicPartition tp = new TopicPartition("d".repeat(dev.basalt.common.TopicNames.NAME_LENGTH_MAX), 3);
        long partitionId;
        try (LogManager m = open()) {
            PartitionLog log = m.getOrCreate(tp, config);
            log.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "old"))), 1);
            partitionId = log.partitionId();
        }
        // the state a crash right after the delete's rename leaves: renamed directory, index entry still there
        Files.move(dir.resolve(tp.dirName()), dir.resolve(LogManager.deleteDirName(tp.dirName(), Long.toString(partitionId))));
        try (LogManager m = open()) {
            assertEquals(Set.of(), m.corruptPartitions(), "an unfinished delete, not a vanished directory");
            assertEquals(Set.of(), m.partitions());
        }
    }

    /** A directory that appeared under a name no open partition holds (a failed removal, made by hand) is never adopted. */
    @Test
    void getOrCreate_refusesToAdoptADirectoryItDidNotLoad() throws Exception {
        TopicPartition tp = new TopicPartition("stray", 0);
        try (LogManager m = open()) {
            Files.createDirectories(dir.resolve(tp.dirName()));
            LogStorageException e = assertThrows(LogStorageException.class, () -> m.getOrCreate(tp, config));
            assertTrue(e.getMessage().contains("not adopted"), e.getMessage());
        }
        try (LogManager m = open()) {
            assertEquals(0, m.get(tp).logEndOffset(), "a restart loads it, for the metadata to decide");
        }
    }

    @Test
    void dataDir_isLockedToOneManager() {
        try (LogManager m = open()) {
            assertThrows(LogStorageException.class, this::open);
            assertEquals(Set.of(), m.partitions());
        }
        open().close();
    }

    @Test
    void unknownPartition_isTyped() {
        try (LogManager m = open()) {
            assertThrows(UnknownPartitionException.class, () -> m.get(new TopicPartition("nope", 0)));
        }
    }

    @Test
    void config_parsesKafkaNames_andRejectsBadValuesNamingTheKey() {
        LogConfig c = LogConfig.parse(Map.of("retention.ms", "-1", "cleanup.policy", "compact,delete",
                "message.timestamp.type", "LogAppendTime", "flush.messages", "1"));
        assertTrue(c.cleanupCompact() && c.cleanupDelete() && c.durable());
        assertEquals(-1, c.retentionMs());
        assertEquals(c, LogConfig.parse(c.toMap()));
        InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> LogConfig.parse(Map.of("segment.bytes", "12")));
        assertEquals("segment.bytes", e.key());
        assertEquals("12", e.value());
        assertEquals("retention.bytes", assertThrows(InvalidConfigException.class,
                () -> LogConfig.parse(Map.of("retention.bytes", "lots"))).key());
        assertEquals("cleanup.policy", assertThrows(InvalidConfigException.class,
                () -> LogConfig.parse(Map.of("cleanup.policy", "shred"))).key());
        assertEquals("segment.jiffies", assertThrows(InvalidConfigException.class,
                () -> LogConfig.parse(Map.of("segment.jiffies", "1"))).key());
    }

    @Test
    void topicPartition_validatesNames_andParsesDirs() {
        assertEquals(new TopicPartition("a-b.c_d", 12), TopicPartition.parseDirName("a-b.c_d-12"));
        assertEquals(null, TopicPartition.parseDirName("index"));
        assertEquals(null, TopicPartition.parseDirName("x-1.7-delete"));
        assertThrows(IllegalArgumentException.class, () -> new TopicPartition("bad/name", 0));
        assertThrows(IllegalArgumentException.class, () -> new TopicPartition("ok", -1));
        assertThrows(IllegalArgumentException.class, () -> new TopicPartition("..", 0));
    }

    /** rm -rf of a running node's data directory: the open files stay writable, so only the identity check can tell. */
    @Test
    void deletedDataDirectory_isDetected_andEveryLogGoesOffline_insteadOfWritingIntoDeletedFiles() {
        LogManager m = open();
        try {
            PartitionLog a = m.getOrCreate(new TopicPartition("a", 0), config);
            PartitionLog b = m.getOrCreate(new TopicPartition("b", 0), config);
            a.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "before"))), 1);
            assertEquals(null, m.checkDirectory(), "an intact directory passes");
            LogTestSupport.deleteRecursively(dir);
            String why = m.checkDirectory();
            assertTrue(why != null && why.contains("deleted"), why);
            assertTrue(a.isOffline() && b.isOffline());
            assertEquals(Set.of(new TopicPartition("a", 0), new TopicPartition("b", 0)), m.offlinePartitions().keySet());
            assertThrows(AppendRefusedException.class, () -> a.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "after"))), 1));
            assertThrows(LogStorageException.class, () -> a.read(0, 1 << 20, Long.MAX_VALUE));
            assertThrows(LogStorageException.class, () -> m.getOrCreate(new TopicPartition("c", 0), config));
        } finally {
            LogTestHooks.crash(m);
        }
    }

    @Test
    void replacedDataDirectory_isDetected() throws Exception {
        LogManager m = open();
        try {
            m.getOrCreate(new TopicPartition("a", 0), config);
            Path moved = dir.resolveSibling(dir.getFileName() + "-moved");
            Files.move(dir, moved);
            Files.createDirectories(dir);
            Files.createFile(dir.resolve(LogManager.LOCK_FILE));
            String why = m.checkDirectory();
            assertTrue(why != null && why.contains("replaced"), why);
            Files.move(moved.resolve("a-0"), dir.resolve("a-0-moved")); // keep TempDir cleanup simple
            LogTestSupport.deleteRecursively(moved);
        } finally {
            LogTestHooks.crash(m);
        }
    }

    @Test
    void aRollIntoADeletedPartitionDirectory_takesOnlyThatLogOffline() {
        LogConfig small = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "1024"));
        LogManager m = open();
        try {
            PartitionLog a = m.getOrCreate(new TopicPartition("a", 0), small);
            PartitionLog b = m.getOrCreate(new TopicPartition("b", 0), small);
            LogTestSupport.deleteRecursively(dir.resolve("a-0"));
            LogStorageException e = assertThrows(LogStorageException.class, () -> {
                for (int i = 0; i < 100; i++) {
                    a.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "x".repeat(200)))), 1);
                }
            });
            assertTrue(e.getMessage().contains("offline"), e.getMessage());
            assertTrue(a.isOffline());
            assertFalse(b.isOffline(), "the other partitions keep working");
            b.appendAsLeader(TestBatches.batch(List.of(new Rec(1, "k", "fine"))), 1);
        } finally {
            LogTestHooks.crash(m);
        }
    }
}
