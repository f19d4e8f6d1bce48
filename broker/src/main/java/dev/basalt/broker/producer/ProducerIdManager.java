package dev.basalt.broker.producer;

import dev.basalt.metadata.image.ProducerIdsImage.ProducerIdBlock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Hands out producer ids from blocks this broker took from the active controller (each block a
 * ProducerIdBlockRecord committed in the metadata log, so two brokers, or one broker before and
 * after a restart or a controller failover, never hand out the same id). Ids of a block not used
 * before the broker stops are simply never used: the next block starts after it.
 *
 * <p>A new block is asked for once {@value #PREFETCH_PERCENT}% of the current one is used, so a
 * steady stream of new producers rarely waits for the controller; at most one request for a block
 * is outstanding; callers that find no id left wait for it (their futures complete when it comes,
 * or fail when the controller refuses or cannot be reached: the next call asks again).
 *
 * <p>A broker takes its first block when it starts serving ({@link #prefetch}), not when its first
 * producer arrives: a producer that starts while the metadata quorum has lost its majority is then
 * still served by any broker that registered before (found probing: a broker restarted just before
 * two of three controllers died refused every new idempotent producer until the quorum was back).
 *
 * <p>Thread-safety: thread-safe (one monitor; the block source is called outside it).
 */
public final class ProducerIdManager {
    /** When this share of the current block is used, the next block is fetched ahead of need. */
    static final int PREFETCH_PERCENT = 90;
    /** Callers that may wait for a block at once; more fail at once (a bound on queued work). */
    static final int WAITERS_MAX = 10_000;

    /** The controller refused a block (error code in the message) or could not be reached. */
    public static final class BlockUnavailableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public BlockUnavailableException(String message) {
            super(message);
        }

        public BlockUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final Supplier<CompletableFuture<ProducerIdBlock>> blockSource;
    private final Deque<CompletableFuture<Long>> waiters = new ArrayDeque<>();
    private ProducerIdBlock current; // guarded by this
    private long next; // guarded by this
    private ProducerIdBlock prefetched; // guarded by this
    private boolean requesting; // guarded by this
    private boolean failing; // guarded by this: the last block request failed
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ProducerIdManager.class);

    /** @param blockSource asks the active controller for a block (BrokerLifecycle#allocateProducerIds) */
    public ProducerIdManager(Supplier<CompletableFuture<ProducerIdBlock>> blockSource) {
        this.blockSource = blockSource;
    }

    /** The next unused producer id; completes at once while the current block lasts. */
    public CompletableFuture<Long> nextProducerId() {
        CompletableFuture<Long> out;
        boolean ask;
        synchronized (this) {
            if (current == null || next >= current.endProducerId()) {
                takePrefetched();
            }
            if (current != null && next < current.endProducerId()) {
                out = CompletableFuture.completedFuture(next++);
            } else if (waiters.size() >= WAITERS_MAX) {
                return CompletableFuture.failedFuture(new BlockUnavailableException(waiters.size()
                        + " producers already wait for a block of producer ids"));
            } else {
                out = new CompletableFuture<>();
                waiters.add(out);
            }
            ask = claimRequest();
        }
        if (ask) {
            requestBlock();
        }
        return out;
    }

    /**
     * Asks for a block now unless one is held with ids to spare, ready or on its way (the broker
     * calls this every second while it serves: its first block comes as it starts serving, and a
     * block refused then, by a controller failover say, is asked for again). A refusal fails nobody.
     */
    public void prefetch() {
        boolean ask;
        synchronized (this) {
            ask = claimRequest();
        }
        if (ask) {
            requestBlock();
        }
    }

    /**
     * Whether a block should be asked for now (none on its way or ready, and the current one
     * missing or {@value #PREFETCH_PERCENT}% used); if so, marks the request as on its way.
     * Called holding the monitor.
     */
    private boolean claimRequest() {
        boolean ask = !requesting && prefetched == null && (current == null || usedPercent() >= PREFETCH_PERCENT);
        requesting |= ask;
        return ask;
    }

    private void takePrefetched() {
        if (prefetched != null) {
            current = prefetched;
            next = prefetched.firstProducerId();
            prefetched = null;
        }
    }

    private long usedPercent() {
        return (next - current.firstProducerId()) * 100 / current.size();
    }

    private void requestBlock() {
        CompletableFuture<ProducerIdBlock> f;
        try {
            f = blockSource.get();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete(this::onBlock);
    }

    private void onBlock(ProducerIdBlock block, Throwable error) {
        Deque<CompletableFuture<Long>> served = new ArrayDeque<>();
        Deque<CompletableFuture<Long>> failed = new ArrayDeque<>();
        java.util.List<Long> ids = new java.util.ArrayList<>();
        boolean firstFailure;
        synchronized (this) {
            requesting = false;
            firstFailure = error != null && !failing;
            failing = error != null;
            if (error != null) {
                failed.addAll(waiters);
                waiters.clear();
            } else {
                if (current != null && block.firstProducerId() < current.endProducerId()) {
                    throw new IllegalStateException("producer id block " + block + " overlaps the current block " + current);
                }
                prefetched = block;
                while (!waiters.isEmpty()) {
                    if (current == null || next >= current.endProducerId()) {
                        takePrefetched();
                    }
                    if (next >= current.endProducerId()) {
                        break;
                    }
                    served.add(waiters.poll());
                    ids.add(next++);
                }
            }
        }
        Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                ? error.getCause() : error;
        if (firstFailure) {
            // once per streak: the broker asks again at its next prefetch or producer
            LOG.warn("No block of producer ids from the controller ({}); new idempotent producers wait until one comes",
                    cause.getMessage());
        }
        for (CompletableFuture<Long> w : failed) {
            w.completeExceptionally(cause instanceof BlockUnavailableException ? cause
                    : new BlockUnavailableException("no block of producer ids from the controller: " + cause, cause));
        }
        int i = 0;
        for (CompletableFuture<Long> w : served) {
            w.complete(ids.get(i++));
        }
        boolean again;
        synchronized (this) {
            // a burst larger than one block: ask again for those still waiting
            again = !waiters.isEmpty() && !requesting;
            requesting |= again;
        }
        if (again) {
            requestBlock();
        }
    }
}
