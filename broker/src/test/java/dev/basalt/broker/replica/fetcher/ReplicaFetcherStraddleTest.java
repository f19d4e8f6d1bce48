package dev.basalt.broker.replica.fetcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
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
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Found probing: a follower whose log ends inside one of the leader's batches (a damaged base
 * offset, outside the CRC, shifted its records so its log ends at 5 where the leader has one
 * batch for offsets 3..7) kept fetching from 5, got the batch at 3 (the leader serves the batch
 * holding the asked offset), could not append it over its log, "truncated" by epoch (which keeps
 * 5), and asked again: for good, across restarts. Now it cuts back to the leader's batch and
 * copies it whole. The fetcher here talks to a scripted leader.
 */
class ReplicaFetcherStraddleTest {
    private static final TopicPartition TP = new TopicPartition("t", 0);

    @TempDir
    Path dir;

    @Test
    void aLogEndingInsideTheLeadersBatch_isCutBackToItAndCopiesItWhole() throws Exception {
        try (LogManager logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(),
                LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT)) {
            Partition partition = followerHolding(logs, 5);
            List<Long> seen = new CopyOnWriteArrayList<>();
            ByteBuffer leaders = batch(3, 5, "leader"); // offsets 3..7
            ReplicaFetcher fetcher = new ReplicaFetcher(2, 1, UUID::randomUUID, leader(seen, leaders),
                    ReplicaConfig.defaults(2, Map.of()), Clock.systemUTC(), p -> { });
            fetcher.start();
            try {
                fetcher.add(partition, 1);
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (partition.log().logEndOffset() != 8) {
                    assertTrue(System.nanoTime() < deadline, "the follower's log still ends at " + partition.log().logEndOffset()
                            + " after fetches from " + seen);
                    Thread.sleep(5);
                }
            } finally {
                fetcher.close();
            }
            assertEquals(5L, seen.get(0), "it fetched from its log end first");
            assertTrue(seen.contains(3L), "then from the leader's batch: " + seen);
        }
    }

    /**
     * Found probing: a follower whose log refused every append (corrupt data it held the only copy
     * of) kept fetching, and basalt_topic_replica_fetch_lag_records showed 0: the leader's log end
     * was recorded only after a good append. The lag is the leader's end minus ours, appended or not.
     */
    @Test
    void aFollowerWhoseAppendsFail_showsItsLagFromTheLeadersEnd() throws Exception {
        try (LogManager logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(),
                LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT)) {
            Partition partition = followerHolding(logs, 3);
            partition.log().markCorruptFrom(3, new dev.basalt.log.CorruptLogException(dir.resolve("x.log"), 0, "test"));
            List<Long> seen = new CopyOnWriteArrayList<>();
            ReplicaFetcher fetcher = new ReplicaFetcher(2, 1, UUID::randomUUID, leader(seen, batch(3, 5, "leader")),
                    ReplicaConfig.defaults(2, Map.of()), Clock.systemUTC(), p -> { });
            fetcher.start();
            try {
                fetcher.add(partition, 1);
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (seen.size() < 2) {
                    assertTrue(System.nanoTime() < deadline, "fetches so far: " + seen);
                    Thread.sleep(5);
                }
            } finally {
                fetcher.close();
            }
            assertEquals(3, partition.log().logEndOffset(), "nothing was appended");
            assertEquals(5, partition.followerFetchLagRecords(), "the leader's log ends at 8, ours at 3");
        }
    }

    @Test
    void straddledBase_onlyWhenTheFirstBatchSpansTheLogEnd() {
        ByteString b = ByteString.copyFrom(batch(3, 5, "x")); // 3..7
        assertEquals(3, ReplicaFetcher.straddledBase(b, 5));
        assertEquals(3, ReplicaFetcher.straddledBase(b, 7));
        assertEquals(-1, ReplicaFetcher.straddledBase(b, 3), "starts at the log end: a plain append");
        assertEquals(-1, ReplicaFetcher.straddledBase(b, 8), "wholly below the log end: a diverged log, truncated by epoch");
        assertEquals(-1, ReplicaFetcher.straddledBase(ByteString.EMPTY, 5));
    }

    /** Broker 2's replica following leader 1 in epoch 1, holding offsets 0..records-1 of epoch 0, one record per batch. */
    private static Partition followerHolding(LogManager logs, int records) {
        Partition partition = new Partition(TP, "id", 2, logs.getOrCreate(TP, LogConfig.DEFAULT));
        partition.update(new Partition.State(1, 0, 0, List.of(1, 2), List.of(1, 2), 1, false), LogConfig.DEFAULT,
                System.currentTimeMillis());
        for (long o = 0; o < records; o++) {
            partition.appendAsFollower(batch(o, 1, "mine"), 0, o + 1, 0, 0);
        }
        partition.update(new Partition.State(1, 1, 1, List.of(1, 2), List.of(1, 2), 1, false), LogConfig.DEFAULT,
                System.currentTimeMillis());
        return partition;
    }

    /** A leader holding one batch for offsets 3..7 (epoch 0): it answers fetches at 3..7 with it, and nothing past it. */
    private static ReplicaClient leader(List<Long> seen, ByteBuffer leaders) {
        return new ScriptedLeader(request -> {
            long at = request.getPartitions(0).getFetchOffset();
            seen.add(at);
            ReplicaFetchResponse.PartitionResponse.Builder p = ReplicaFetchResponse.PartitionResponse.newBuilder()
                    .setErrorCode(ErrorCode.NONE).setHighWatermark(8).setLogStartOffset(0).setLogEndOffset(8);
            if (at >= 3 && at < 8) {
                p.setRecords(ByteString.copyFrom(leaders.duplicate()));
            }
            return p;
        }, 8);
    }

    private static ByteBuffer batch(long offset, int records, String value) {
        ByteBuffer buf = ByteBuffer.allocate(1024);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 1L).baseOffset(offset).partitionLeaderEpoch(0);
        for (int i = 0; i < records; i++) {
            b.tryAppend(1L, ("k" + (offset + i)).getBytes(), value.getBytes(), List.of());
        }
        return b.build().buffer();
    }
}
