package dev.basalt.broker.replica.fetcher;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.proto.v1.OffsetForLeaderEpochRequest;
import dev.basalt.proto.v1.OffsetForLeaderEpochResponse;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Closing a fetcher (its partition's follower became leader, or the leader moved) must not interrupt
 * its thread: an interrupt that lands while the follower fsyncs or appends closes the log's
 * FileChannel (ClosedByInterruptException) and takes a healthy replica offline for good — found by
 * the Jepsen-style suite (seed 53067) and GroupWorkloadE2ETest. The client's close fails the request
 * in flight instead.
 */
class ReplicaFetcherCloseTest {
    @TempDir
    Path dir;

    @Test
    void closeEndsTheRequestInFlightWithoutInterruptingTheThread_andTheLogStaysWritable() throws Exception {
        LogManager logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(),
                FileLayer.DEFAULT);
        try {
            TopicPartition tp = new TopicPartition("t", 0);
            Partition partition = new Partition(tp, "id", 2, logs.getOrCreate(tp, LogConfig.DEFAULT));
            // a follower of broker 1 in leader epoch 0
            partition.update(new Partition.State(1, 0, 0, java.util.List.of(1, 2), java.util.List.of(1, 2), 1, false),
                    LogConfig.DEFAULT, System.currentTimeMillis());
            CountDownLatch inFlight = new CountDownLatch(1);
            CountDownLatch closed = new CountDownLatch(1);
            AtomicBoolean interrupted = new AtomicBoolean();
            ReplicaClient client = new ReplicaClient() {
                @Override
                public ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs) throws ReplicaClientException {
                    return block();
                }

                @Override
                public OffsetForLeaderEpochResponse offsetForLeaderEpoch(OffsetForLeaderEpochRequest request, long timeoutMs)
                        throws ReplicaClientException {
                    return block();
                }

                private <T> T block() throws ReplicaClientException {
                    inFlight.countDown();
                    // Waits like a request on the wire: only close() (or an interrupt) ends it.
                    while (true) {
                        try {
                            if (closed.await(10, TimeUnit.MILLISECONDS)) {
                                throw new ReplicaClientException("closed", null);
                            }
                        } catch (InterruptedException e) {
                            interrupted.set(true);
                            Thread.currentThread().interrupt();
                            throw new ReplicaClientException("interrupted", e);
                        }
                    }
                }

                @Override
                public void close() {
                    closed.countDown();
                }
            };
            ReplicaFetcher fetcher = new ReplicaFetcher(2, 1, UUID::randomUUID, client,
                    ReplicaConfig.defaults(2, Map.of()), Clock.systemUTC(), p -> { });
            fetcher.start();
            fetcher.add(partition, 0);
            assertTrue(inFlight.await(10, TimeUnit.SECONDS), "the fetcher sent nothing");
            fetcher.close();
            assertFalse(interrupted.get(), "close() interrupted the fetcher's thread");
            // The log is untouched by the stop: it still appends and fsyncs.
            partition.log().flush();
            assertFalse(partition.log().isOffline());
        } finally {
            logs.close();
        }
    }
}
