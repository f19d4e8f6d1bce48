package dev.basalt.broker.replica.fetcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.OffsetForLeaderEpochRequest;
import dev.basalt.proto.v1.OffsetForLeaderEpochResponse;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A follower that begins following with records kept from before (it was down, or out of the
 * partition's replicas and added back before it restarted), whose leader has removed tombstones
 * past that log's end, may hold values whose deletions it can no longer fetch: it must drop its
 * log and refetch from the leader's log start. With the leader's removals all below its log end,
 * it keeps its log. The fetcher here talks to a scripted leader.
 */
class ReplicaFetcherRemovedTombstonesTest {
    private static final TopicPartition TP = new TopicPartition("t", 0);
    private static final long FOLLOWER_END = 5;

    @TempDir
    Path dir;

    @Test
    void leaderRemovedTombstonesPastOurEnd_theFollowerRefetchesTheWholeLog() throws Exception {
        Outcome o = run(FOLLOWER_END + 5, 3);
        assertEquals(FOLLOWER_END, o.fetchOffsets().get(0), "the first fetch is from the log end it kept");
        assertTrue(o.fetchOffsets().subList(1, o.fetchOffsets().size()).stream().allMatch(f -> f == 0),
                "after the first answer it restarts at the leader's log start: " + o.fetchOffsets());
        assertEquals(0, o.logEndOffset(), "its log was emptied");
    }

    @Test
    void leaderRemovedTombstonesBelowOurEnd_theFollowerKeepsItsLog() throws Exception {
        Outcome o = run(FOLLOWER_END, 3);
        assertTrue(o.fetchOffsets().stream().allMatch(f -> f == FOLLOWER_END), "it fetched on from its end: " + o.fetchOffsets());
        assertEquals(FOLLOWER_END, o.logEndOffset(), "its log was kept");
    }

    /** What a run saw: the first fetch offsets, and the follower's log end after them. */
    private record Outcome(List<Long> fetchOffsets, long logEndOffset) {
    }

    @Test
    void missedRemovedTombstones_onlyWithRecordsBelowTheFetchOffset() throws Exception {
        try (LogManager logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(),
                LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT)) {
            var log = logs.getOrCreate(TP, LogConfig.DEFAULT);
            assertTrue(!ReplicaFetcher.missedRemovedTombstones(log, 0, 100), "an empty log holds no value to delete");
            log.truncateFullyAndStartAt(50);
            assertTrue(!ReplicaFetcher.missedRemovedTombstones(log, 50, 100), "empty, though it starts at 50");
            log.appendAsFollower(batch(50, 0));
            assertTrue(ReplicaFetcher.missedRemovedTombstones(log, 51, 100));
            assertTrue(!ReplicaFetcher.missedRemovedTombstones(log, 51, 51), "the last removal was below its end");
            assertTrue(!ReplicaFetcher.missedRemovedTombstones(log, 51, 0));
        }
    }

    /**
     * A follower holding offsets [0, 5) of leader epoch 0 follows broker 1 in epoch 1; the leader
     * answers every fetch with nothing new, log start 0, and {@code removedEnd}. Returns the fetch
     * offsets of the first {@code fetches} fetches.
     */
    private Outcome run(long removedEnd, int fetches) throws Exception {
        try (LogManager logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(),
                LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT)) {
            Partition partition = follower(logs);
            List<Long> seen = new CopyOnWriteArrayList<>();
            ReplicaFetcher fetcher = new ReplicaFetcher(2, 1, UUID::randomUUID, leader(seen, new AtomicLong(removedEnd)),
                    ReplicaConfig.defaults(2, Map.of()), Clock.systemUTC(), p -> { });
            fetcher.start();
            try {
                fetcher.add(partition, 1);
                awaitFetches(seen, fetches);
            } finally {
                fetcher.close();
            }
            return new Outcome(List.copyOf(seen.subList(0, fetches)), partition.log().logEndOffset());
        }
    }

    /**
     * Found reviewing: checking once per opening of the log is not enough. While this replica
     * was out of the replicas, another follower may have removed a tombstone past our end that
     * the leader we first check against still holds; when that follower leads, the check must
     * run again, or we keep the value its tombstone deleted.
     */
    @Test
    void aNewLeaderIsCheckedAgain() throws Exception {
        AtomicLong removedEnd = new AtomicLong(FOLLOWER_END);
        try (LogManager logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(),
                LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT)) {
            Partition partition = follower(logs);
            List<Long> seen = new CopyOnWriteArrayList<>();
            ReplicaFetcher fetcher = new ReplicaFetcher(2, 1, UUID::randomUUID, leader(seen, removedEnd),
                    ReplicaConfig.defaults(2, Map.of()), Clock.systemUTC(), p -> { });
            fetcher.start();
            try {
                fetcher.add(partition, 1);
                awaitFetches(seen, 2);
                assertEquals(FOLLOWER_END, partition.log().logEndOffset(), "the first leader removed nothing past our end");
                removedEnd.set(FOLLOWER_END + 100);
                partition.update(new Partition.State(1, 2, 2, List.of(1, 2), List.of(1, 2), 1, false), LogConfig.DEFAULT,
                        System.currentTimeMillis());
                fetcher.add(partition, 2);
                int before = seen.size();
                awaitFetches(seen, before + 3);
            } finally {
                fetcher.close();
            }
            assertEquals(0, (long) seen.get(seen.size() - 1), "it started over under the new leader: " + seen);
            assertEquals(0, partition.log().logEndOffset());
        }
    }

    /** A replica of broker 1's partition holding [0, 5) of epoch 0, now following in epoch 1. */
    private static Partition follower(LogManager logs) {
        Partition partition = new Partition(TP, "id", 2, logs.getOrCreate(TP, LogConfig.DEFAULT));
        partition.update(new Partition.State(1, 0, 0, List.of(1, 2), List.of(1, 2), 1, false), LogConfig.DEFAULT,
                System.currentTimeMillis());
        for (long o = 0; o < FOLLOWER_END; o++) {
            partition.appendAsFollower(batch(o, 0), 0, o + 1, 0, 0);
        }
        partition.update(new Partition.State(1, 1, 1, List.of(1, 2), List.of(1, 2), 1, false), LogConfig.DEFAULT,
                System.currentTimeMillis());
        return partition;
    }

    /** A leader answering every fetch with nothing new, log start 0, and {@code removedEnd}; records fetch offsets. */
    private static ReplicaClient leader(List<Long> seen, AtomicLong removedEnd) {
        return new ReplicaClient() {
            @Override
            public ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs) {
                sleep();
                seen.add(request.getPartitions(0).getFetchOffset());
                return ReplicaFetchResponse.newBuilder().setErrorCode(ErrorCode.NONE)
                        .addPartitions(ReplicaFetchResponse.PartitionResponse.newBuilder().setErrorCode(ErrorCode.NONE)
                                .setHighWatermark(FOLLOWER_END).setLogStartOffset(0).setLogEndOffset(FOLLOWER_END + 20)
                                .setTombstonesRemovedEnd(removedEnd.get()))
                        .build();
            }

            @Override
            public OffsetForLeaderEpochResponse offsetForLeaderEpoch(OffsetForLeaderEpochRequest request, long timeoutMs) {
                return OffsetForLeaderEpochResponse.newBuilder().setErrorCode(ErrorCode.NONE)
                        .addPartitions(OffsetForLeaderEpochResponse.PartitionResponse.newBuilder().setErrorCode(ErrorCode.NONE)
                                .setLeaderEpoch(request.getPartitions(0).getLeaderEpoch()).setEndOffset(FOLLOWER_END))
                        .build();
            }

            @Override
            public void close() {
            }
        };
    }

    private static void awaitFetches(List<Long> seen, int count) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (seen.size() < count) {
            assertTrue(System.nanoTime() < deadline, "the fetcher sent " + seen.size() + " fetches");
            Thread.sleep(5);
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static ByteBuffer batch(long offset, int epoch) {
        ByteBuffer buf = ByteBuffer.allocate(256);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 1L).baseOffset(offset).partitionLeaderEpoch(epoch);
        b.tryAppend(1L, ("k" + offset).getBytes(), "v".getBytes(), List.of());
        return b.build().buffer();
    }
}
