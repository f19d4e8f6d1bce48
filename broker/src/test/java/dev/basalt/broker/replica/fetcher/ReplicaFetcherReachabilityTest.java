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
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How long a leader has been unreachable (every request failed in transport or went unanswered):
 * what a broker reports to the controller for gray failures (controller.proto's
 * unreachable_leaders). Any answer, an error included, means reachable.
 */
class ReplicaFetcherReachabilityTest {
    @TempDir
    Path dir;

    @Test
    void unreachableFor_countsFromTheFirstFailureInARow_andAnyAnswerEndsIt() throws Exception {
        LogManager logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(),
                FileLayer.DEFAULT);
        AtomicLong nowMs = new AtomicLong(1_000);
        Clock clock = clockAt(nowMs);
        AtomicBoolean down = new AtomicBoolean(true);
        AtomicInteger calls = new AtomicInteger();
        ReplicaClient client = new ReplicaClient() {
            @Override
            public ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs) throws ReplicaClientException {
                calls.incrementAndGet();
                if (down.get()) {
                    throw new ReplicaClientException("ReplicaFetch to broker 1: no answer within " + timeoutMs + " ms", null);
                }
                return ReplicaFetchResponse.newBuilder().setErrorCode(ErrorCode.NOT_LEADER).build();
            }

            @Override
            public OffsetForLeaderEpochResponse offsetForLeaderEpoch(OffsetForLeaderEpochRequest request, long timeoutMs)
                    throws ReplicaClientException {
                calls.incrementAndGet();
                if (down.get()) {
                    throw new ReplicaClientException("OffsetForLeaderEpoch to broker 1: UNAVAILABLE", null);
                }
                return OffsetForLeaderEpochResponse.newBuilder().setErrorCode(ErrorCode.NOT_LEADER).build();
            }

            @Override
            public void close() {
            }
        };
        ReplicaFetcher fetcher = new ReplicaFetcher(2, 1, UUID::randomUUID, client, ReplicaConfig.defaults(2, Map.of()), clock,
                p -> { });
        try {
            TopicPartition tp = new TopicPartition("t", 0);
            Partition partition = new Partition(tp, "id", 2, logs.getOrCreate(tp, LogConfig.DEFAULT));
            partition.update(new Partition.State(1, 0, 0, List.of(1, 2), List.of(1, 2), 1, false), LogConfig.DEFAULT, nowMs.get());
            assertEquals(0, fetcher.unreachableForMs(nowMs.get()), "nothing sent yet");
            fetcher.start();
            fetcher.add(partition, 0);
            awaitCalls(calls, 2);
            assertEquals(0, fetcher.unreachableForMs(1_000));
            assertEquals(9_999, fetcher.unreachableForMs(10_999), "failing since the first failure, at 1,000");
            nowMs.set(11_000);
            int before = calls.get();
            awaitCalls(calls, before + 2); // later failures do not move the start
            assertEquals(10_000, fetcher.unreachableForMs(11_000));
            down.set(false);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (fetcher.unreachableForMs(12_000) != 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(0, fetcher.unreachableForMs(12_000), "an answer (even an error) ends it");
        } finally {
            fetcher.close();
            logs.close();
        }
    }

    /**
     * Found by the Jepsen-style suite (clock-jump): a back-off set while the wall clock was 513 s
     * ahead lasted until the clock came round to it again once stepped back, and the follower's
     * partition stayed out of the ISR. A back-off set at a time later than now is over.
     */
    @Test
    void aBackoffSetBeforeTheClockSteppedBack_endsAtOnce() throws Exception {
        LogManager logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(),
                FileLayer.DEFAULT);
        AtomicLong nowMs = new AtomicLong(1_000_000 + 513_000); // jumped ahead
        Clock clock = clockAt(nowMs);
        AtomicInteger calls = new AtomicInteger();
        ReplicaClient client = new ReplicaClient() {
            @Override
            public ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs) {
                calls.incrementAndGet();
                return ReplicaFetchResponse.newBuilder().setErrorCode(ErrorCode.NOT_LEADER).build();
            }

            @Override
            public OffsetForLeaderEpochResponse offsetForLeaderEpoch(OffsetForLeaderEpochRequest request, long timeoutMs) {
                calls.incrementAndGet();
                return OffsetForLeaderEpochResponse.newBuilder().setErrorCode(ErrorCode.NOT_LEADER).build();
            }

            @Override
            public void close() {
            }
        };
        ReplicaFetcher fetcher = new ReplicaFetcher(2, 1, UUID::randomUUID, client, ReplicaConfig.defaults(2, Map.of()), clock,
                p -> { });
        try {
            TopicPartition tp = new TopicPartition("t", 0);
            Partition partition = new Partition(tp, "id", 2, logs.getOrCreate(tp, LogConfig.DEFAULT));
            partition.update(new Partition.State(1, 0, 0, List.of(1, 2), List.of(1, 2), 1, false), LogConfig.DEFAULT, nowMs.get());
            fetcher.start();
            fetcher.add(partition, 0);
            awaitCalls(calls, 1); // answered NOT_LEADER: backing off from the jumped time
            Thread.sleep(100);
            nowMs.set(1_000_000); // the clock steps back (and stands still: one retry is all it allows)
            int before = calls.get();
            awaitCalls(calls, before + 1);
        } finally {
            fetcher.close();
            logs.close();
        }
    }

    /** Which failures say the leader answered (so it is reachable) and which say nothing came back. */
    @Test
    void leaderAnswered_onlyForStatusesTheLeaderSent() {
        assertTrue(new ReplicaClient.ReplicaClientException("x", io.grpc.Status.RESOURCE_EXHAUSTED.asRuntimeException()).leaderAnswered());
        assertTrue(new ReplicaClient.ReplicaClientException("x", io.grpc.Status.INTERNAL.asRuntimeException()).leaderAnswered());
        for (io.grpc.Status s : List.of(io.grpc.Status.UNAVAILABLE, io.grpc.Status.DEADLINE_EXCEEDED, io.grpc.Status.CANCELLED,
                io.grpc.Status.UNKNOWN)) {
            assertTrue(!new ReplicaClient.ReplicaClientException("x", s.asRuntimeException()).leaderAnswered(), s.toString());
        }
        assertTrue(!new ReplicaClient.ReplicaClientException("no answer", new java.util.concurrent.TimeoutException()).leaderAnswered());
        assertTrue(!new ReplicaClient.ReplicaClientException("no answer", null).leaderAnswered());
    }

    /** A clock that reads {@code nowMs}. */
    private static Clock clockAt(AtomicLong nowMs) {
        return new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return Instant.ofEpochMilli(nowMs.get());
            }
        };
    }

    private static void awaitCalls(AtomicInteger calls, int atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (calls.get() < atLeast && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(calls.get() >= atLeast, "the fetcher made " + calls.get() + " requests, expected " + atLeast);
    }
}
