package dev.basalt.broker.metadata;

import dev.basalt.metadata.MetadataStateMachine;
import dev.basalt.metadata.image.MetadataImage;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands each new metadata image to the node's subscribers (replica manager, later the group
 * coordinator) as a {@link MetadataUpdate}: the image they saw last, the image now, and so what
 * changed. Runs on its own thread, so a slow subscriber (creating logs on disk) never stalls the
 * Raft driver or the observer's fetch loop; when images arrive faster than subscribers take them,
 * intermediate ones are skipped (the update's {@code previous} is what the subscriber saw, so no
 * change is lost).
 *
 * <p>When the node's image first catches up with the quorum, the subscribers get one update whose
 * {@code previous} is the empty image: every partition counts as changed once, so a subscriber that
 * held back deletions while the log replayed can now do them.
 *
 * <p>{@link #whenPublished(long)} completes once every subscriber has taken an image holding that
 * index: a controller answers an admin request only then, so a success is visible on this node.
 * A subscriber that throws (a disk error creating a log) is logged and retried with the next image;
 * the index is not counted as published until every subscriber took it.
 *
 * <p>Thread-safety: thread-safe; subscribers are called on the publisher thread only.
 */
public final class MetadataPublisher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MetadataPublisher.class);
    private static final long IDLE_WAIT_MS = 1_000;
    private static final long RETRY_BACKOFF_MS = 200;

    private final MetadataStateMachine source;
    private final BooleanSupplier caughtUp;
    private final List<MetadataSubscriber> subscribers = new CopyOnWriteArrayList<>();
    private final ConcurrentSkipListMap<Long, CompletableFuture<Long>> waiters = new ConcurrentSkipListMap<>();
    private final Object lock = new Object();
    private final Thread thread;
    private volatile MetadataImage seen = MetadataImage.EMPTY;
    private volatile long publishedIndex;
    private volatile boolean publishedCaughtUp;
    private volatile boolean dirty = true;
    private volatile boolean closed;

    /**
     * @param source   the node's metadata state machine (fed by the Raft driver or the observer)
     * @param caughtUp whether the node's image has caught up with the quorum (see MetadataUpdate)
     */
    public MetadataPublisher(MetadataStateMachine source, BooleanSupplier caughtUp) {
        this.source = source;
        this.caughtUp = caughtUp;
        this.thread = new Thread(this::run, "basalt-metadata-publisher");
        this.thread.setDaemon(true);
        source.addListener(p -> wake());
    }

    public void addSubscriber(MetadataSubscriber subscriber) {
        subscribers.add(subscriber);
        wake();
    }

    public void start() {
        thread.start();
    }

    /** Something may have changed (a new image, or the caught-up flag): publish again. */
    public void wake() {
        synchronized (lock) {
            dirty = true;
            lock.notifyAll();
        }
    }

    /** The highest metadata index every subscriber has taken. */
    public long publishedIndex() {
        return publishedIndex;
    }

    /** The image the subscribers saw last. */
    public MetadataImage image() {
        return seen;
    }

    /** Whether the subscribers have been told that the image caught up with the quorum. */
    public boolean publishedCaughtUp() {
        return publishedCaughtUp;
    }

    /** Completes (on the publisher thread) once every subscriber has taken an image holding {@code index}. */
    public CompletableFuture<Long> whenPublished(long index) {
        CompletableFuture<Long> f = new CompletableFuture<>();
        if (publishedIndex >= index) {
            f.complete(index);
            return f;
        }
        CompletableFuture<Long> prev = waiters.putIfAbsent(index, f);
        if (prev != null) {
            f = prev;
        }
        if (publishedIndex >= index) {
            completeUpTo(publishedIndex);
        }
        if (closed) {
            f.completeExceptionally(new IllegalStateException("metadata publisher closed"));
        }
        return f;
    }

    private void run() {
        while (!closed) {
            synchronized (lock) {
                while (!dirty && !closed) {
                    try {
                        lock.wait(IDLE_WAIT_MS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                dirty = false;
            }
            if (!closed) {
                publishOnce();
            }
        }
    }

    private void publishOnce() {
        MetadataStateMachine.Published next = source.latest();
        boolean nowCaughtUp = caughtUp.getAsBoolean();
        boolean firstCaughtUp = nowCaughtUp && !publishedCaughtUp;
        if (next.appliedIndex() <= publishedIndex && !firstCaughtUp) {
            return;
        }
        MetadataImage previous = firstCaughtUp ? MetadataImage.EMPTY : seen;
        MetadataUpdate update = new MetadataUpdate(previous, next.image(), next.appliedIndex(), nowCaughtUp);
        for (MetadataSubscriber s : subscribers) {
            try {
                s.onMetadataUpdate(update);
            } catch (RuntimeException e) {
                // Not published: the next image is offered with the same `previous`, so the
                // subscriber retries everything it did not finish.
                log.error("A metadata subscriber failed on the image at index {}; retrying in {} ms",
                        next.appliedIndex(), RETRY_BACKOFF_MS, e);
                sleepThenRetry();
                return;
            }
        }
        seen = next.image();
        publishedCaughtUp |= nowCaughtUp;
        publishedIndex = Math.max(publishedIndex, next.appliedIndex());
        completeUpTo(publishedIndex);
    }

    private void sleepThenRetry() {
        try {
            Thread.sleep(RETRY_BACKOFF_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        dirty = true;
    }

    private void completeUpTo(long index) {
        Map<Long, CompletableFuture<Long>> done = waiters.headMap(index, true);
        done.forEach((i, f) -> f.complete(i));
        done.clear();
    }

    @Override
    public void close() {
        closed = true;
        wake();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        waiters.values().forEach(f -> f.completeExceptionally(new IllegalStateException("metadata publisher closed")));
        waiters.clear();
    }
}
