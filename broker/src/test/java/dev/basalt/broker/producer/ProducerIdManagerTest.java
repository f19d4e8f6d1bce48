package dev.basalt.broker.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.metadata.image.ProducerIdsImage.ProducerIdBlock;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.InitProducerIdRequest;
import dev.basalt.proto.v1.InitProducerIdResponse;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The broker's producer ids: blocks from the controller are used up in order, the next block is
 * fetched ahead of need, at most one block request is outstanding, waiters are served when a block
 * arrives or failed when none comes; InitProducerId bumps epochs without the controller (KIP-360)
 * and takes a fresh id past the last epoch. Rerun with {@code -Dtest=ProducerIdManagerTest}.
 */
class ProducerIdManagerTest {
    /** Answers block requests by hand, in order. */
    private final Queue<CompletableFuture<ProducerIdBlock>> asked = new ArrayDeque<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        timer.shutdownNow();
    }

    private ProducerIdManager manager() {
        return new ProducerIdManager(() -> {
            CompletableFuture<ProducerIdBlock> f = new CompletableFuture<>();
            asked.add(f);
            return f;
        });
    }

    @Test
    void idsComeFromBlocksInOrder_nextBlockIsPrefetched_neverTwoRequestsAtOnce() {
        ProducerIdManager m = manager();
        CompletableFuture<Long> first = m.nextProducerId();
        CompletableFuture<Long> second = m.nextProducerId();
        assertEquals(1, asked.size(), "one request for the waiters");
        asked.poll().complete(new ProducerIdBlock(1, 100, 10));
        assertEquals(100L, first.join());
        assertEquals(101L, second.join());
        Set<Long> seen = new HashSet<>(List.of(100L, 101L));
        for (int i = 2; i < 9; i++) {
            assertTrue(seen.add(m.nextProducerId().join()));
        }
        assertEquals(1, asked.size(), "90% used: the next block is asked for ahead of need");
        assertTrue(seen.add(m.nextProducerId().join()), "the last id of the block");
        CompletableFuture<Long> waits = m.nextProducerId();
        assertFalse(waits.isDone());
        assertEquals(1, asked.size(), "still one request outstanding");
        asked.poll().complete(new ProducerIdBlock(1, 500, 10));
        assertEquals(500L, waits.join());
    }

    @Test
    void refusedBlock_failsTheWaiters_andTheNextCallAsksAgain() {
        ProducerIdManager m = manager();
        CompletableFuture<Long> f = m.nextProducerId();
        asked.poll().completeExceptionally(new ProducerIdManager.BlockUnavailableException("BROKER_FENCED: fenced"));
        assertInstanceOf(ProducerIdManager.BlockUnavailableException.class, f.handle((v, e) -> e.getCause() != null ? e.getCause() : e).join());
        CompletableFuture<Long> again = m.nextProducerId();
        assertEquals(1, asked.size());
        asked.poll().complete(new ProducerIdBlock(1, 0, 5));
        assertEquals(0L, again.join());
    }

    /**
     * A broker takes its first block when it starts serving, so a producer arriving later is
     * answered without the controller (found probing: a controller quorum outage right after a
     * broker restart refused every new idempotent producer); a refused prefetch fails nobody.
     */
    @Test
    void prefetch_takesABlockBeforeTheFirstProducer_andAFailedOneFailsNobody() {
        ProducerIdManager m = manager();
        m.prefetch();
        m.prefetch();
        assertEquals(1, asked.size(), "one request however often prefetch is called");
        asked.poll().completeExceptionally(new ProducerIdManager.BlockUnavailableException("NOT_CONTROLLER: no leader"));
        m.prefetch();
        assertEquals(1, asked.size(), "a failed prefetch is asked again by the next call");
        asked.poll().complete(new ProducerIdBlock(1, 40, 10));
        m.prefetch();
        assertTrue(asked.isEmpty(), "a block with ids to spare is held: nothing asked");
        CompletableFuture<Long> first = m.nextProducerId();
        assertTrue(first.isDone(), "served from the prefetched block, no controller needed");
        assertEquals(40L, first.join());
        assertTrue(asked.isEmpty());
    }

    @Test
    void aBurstLargerThanABlock_isServedFromSeveralBlocks() {
        ProducerIdManager m = manager();
        List<CompletableFuture<Long>> waiting = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            waiting.add(m.nextProducerId());
        }
        asked.poll().complete(new ProducerIdBlock(1, 10, 4));
        asked.poll().complete(new ProducerIdBlock(1, 20, 4));
        List<Long> ids = waiting.stream().map(CompletableFuture::join).toList();
        assertEquals(List.of(10L, 11L, 12L, 13L, 20L, 21L, 22L), ids);
    }

    private InitProducerIdResponse init(InitProducerIdHandler h, long pid, int epoch) {
        CompletableFuture<InitProducerIdResponse> out = new CompletableFuture<>();
        h.handle(InitProducerIdRequest.newBuilder().setProducerId(pid).setProducerEpoch(epoch).setTimeoutMs(5_000).build(),
                out::complete);
        return out.join();
    }

    @Test
    void initProducerId_bumpsTheEpoch_andTakesAFreshIdPastTheLastEpoch() {
        ProducerIdManager m = manager();
        InitProducerIdHandler h = new InitProducerIdHandler(m, () -> true, timer);
        CompletableFuture<InitProducerIdResponse> fresh = new CompletableFuture<>();
        h.handle(InitProducerIdRequest.newBuilder().setProducerId(-1).setProducerEpoch(-1).setTimeoutMs(5_000).build(),
                fresh::complete);
        asked.poll().complete(new ProducerIdBlock(1, 7, 100));
        assertEquals(7, fresh.join().getProducerId());
        assertEquals(0, fresh.join().getProducerEpoch());
        InitProducerIdResponse bumped = init(h, 7, 0);
        assertEquals(7, bumped.getProducerId());
        assertEquals(1, bumped.getProducerEpoch());
        InitProducerIdResponse wrapped = init(h, 7, InitProducerIdHandler.EPOCH_MAX);
        assertEquals(8, wrapped.getProducerId(), "past the last epoch: a fresh id");
        assertEquals(0, wrapped.getProducerEpoch());
        assertEquals(ErrorCode.INVALID_REQUEST, init(h, 7, -1).getErrorCode());
    }

    @Test
    void initProducerId_bumpOfAnIdTheClusterNeverHandedOut_isRefused() {
        InitProducerIdHandler h = new InitProducerIdHandler(manager(), () -> true, timer, () -> 1_000);
        assertEquals(1, init(h, 999, 0).getProducerEpoch());
        InitProducerIdResponse bogus = init(h, 12_345_678, 4);
        assertEquals(ErrorCode.INVALID_REQUEST, bogus.getErrorCode());
        assertTrue(bogus.getErrorMessage().contains("never handed out"), bogus.getErrorMessage());
        assertEquals(ErrorCode.INVALID_REQUEST, init(h, 1_000, 0).getErrorCode());
    }

    @Test
    void initProducerId_onABrokerNotServing_isRetriable() {
        InitProducerIdHandler h = new InitProducerIdHandler(manager(), () -> false, timer);
        assertEquals(ErrorCode.BROKER_NOT_AVAILABLE, init(h, -1, -1).getErrorCode());
        assertTrue(asked.isEmpty());
    }
}
