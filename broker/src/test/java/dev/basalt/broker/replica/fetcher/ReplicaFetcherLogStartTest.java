package dev.basalt.broker.replica.fetcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.log.FetchSlice;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.OffsetOutOfRangeException;
import dev.basalt.log.PartitionLog;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ReplicaFetchResponse;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Found probing (retention.ms 30 s, segment.bytes 8 KiB, RF 3): the leader's log started at 581
 * while both followers' started at 0, for up to their own retention check interval (5 min by
 * default); a follower elected then would move "earliest" back and serve records the leader had
 * deleted. A follower takes the log start its leader sends with each fetch answer (as Kafka's
 * does), deleting its segments below it, never past its own high watermark. The fetcher here
 * talks to a scripted leader holding the same 100 records, its log now starting at 60.
 */
class ReplicaFetcherLogStartTest {
    private static final TopicPartition TP = new TopicPartition("ret", 0);
    private static final LogConfig SMALL_SEGMENTS = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "1024"));

    @TempDir
    Path dir;

    @Test
    void aFollowerTakesItsLeadersLogStart_deletingItsSegmentsBelowIt() throws Exception {
        try (LogManager logs = LogManager.open(dir, SMALL_SEGMENTS, Clock.systemUTC(),
                LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT)) {
            Partition partition = follower(logs, 100, 90);
            PartitionLog log = partition.log();
            int segmentsBefore = log.segmentBaseOffsets().size();
            assertTrue(segmentsBefore >= 5, "several segments: " + log.segmentBaseOffsets());
            AtomicLong leaderStart = new AtomicLong(60);
            ReplicaFetcher fetcher = new ReplicaFetcher(2, 1, UUID::randomUUID, leader(leaderStart, 100),
                    ReplicaConfig.defaults(2, Map.of()), Clock.systemUTC(), p -> { });
            fetcher.start();
            try {
                fetcher.add(partition, 1);
                awaitLogStart(log, 60);
                // the start is set first, then the segments below it go (on the fetcher's thread)
                long deadline = System.nanoTime() + 10_000_000_000L;
                List<Long> bases = log.segmentBaseOffsets();
                while (!(bases.get(0) <= 60 && (bases.size() == 1 || bases.get(1) > 60))) {
                    assertTrue(System.nanoTime() < deadline, "the segments wholly below 60 are gone, the one holding 60 stays: " + bases);
                    Thread.sleep(5);
                    bases = log.segmentBaseOffsets();
                }
                assertTrue(bases.size() < segmentsBefore);
                assertThrows(OffsetOutOfRangeException.class, () -> log.read(59, 1 << 20, Long.MAX_VALUE));
                try (FetchSlice s = log.read(60, 1 << 20, Long.MAX_VALUE)) {
                    assertTrue(s.nextOffset() > 60, "60 is served");
                }
                // never past our own high watermark (100 here, the leader's): a start of 150 stops at 100
                leaderStart.set(150);
                awaitLogStart(log, 100);
            } finally {
                fetcher.close();
            }
        }
        // kept across a restart
        try (LogManager logs = LogManager.open(dir, SMALL_SEGMENTS, Clock.systemUTC(),
                LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT)) {
            assertEquals(100, logs.getOrCreate(TP, SMALL_SEGMENTS).logStartOffset());
        }
    }

    private static void awaitLogStart(PartitionLog log, long expected) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (log.logStartOffset() != expected) {
            assertTrue(System.nanoTime() < deadline, "the follower's log still starts at " + log.logStartOffset() + ", not " + expected);
            Thread.sleep(5);
        }
    }

    /**
     * Broker 2's replica following leader 1 in epoch 1, holding offsets 0..records-1 of epoch 0
     * (one record per batch), its HW at {@code hw}.
     */
    private static Partition follower(LogManager logs, int records, long hw) {
        Partition partition = new Partition(TP, "id", 2, logs.getOrCreate(TP, SMALL_SEGMENTS));
        partition.update(new Partition.State(1, 0, 0, List.of(1, 2), List.of(1, 2), 1, false), SMALL_SEGMENTS,
                System.currentTimeMillis());
        for (long o = 0; o < records; o++) {
            ByteBuffer buf = ByteBuffer.allocate(256);
            RecordBatchBuilder b = new RecordBatchBuilder(buf, 1L).baseOffset(o).partitionLeaderEpoch(0);
            b.tryAppend(1L, ("k" + o).getBytes(), ("value-" + o).getBytes(), List.of());
            partition.appendAsFollower(b.build().buffer(), 0, Math.min(hw, o + 1), 0, 0);
        }
        partition.update(new Partition.State(1, 1, 1, List.of(1, 2), List.of(1, 2), 1, false), SMALL_SEGMENTS,
                System.currentTimeMillis());
        return partition;
    }

    /** A leader whose log ends at {@code end} (the follower has it all) and starts at {@code start}; its HW is its end. */
    private static ReplicaClient leader(AtomicLong start, long end) {
        return new ScriptedLeader(request -> ReplicaFetchResponse.PartitionResponse.newBuilder().setErrorCode(ErrorCode.NONE)
                .setHighWatermark(end).setLogStartOffset(start.get()).setLogEndOffset(end), end);
    }
}
