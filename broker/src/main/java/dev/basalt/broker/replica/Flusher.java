package dev.basalt.broker.replica;

import dev.basalt.log.LogStorageException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit for durable acks on the leader, off the request threads: request threads append
 * and {@link #request} a flush; one flusher thread fsyncs every partition asked for since its
 * last round, then tells the partition ({@link Partition#onFlushed}), which may move the HW and so
 * complete acks=all produces. Producers that append while an fsync runs share the next one: with
 * an fsync of ~1-5 ms on SSD, a busy partition sees at most one fsync in flight however many
 * producers write to it.
 *
 * <p>Thread-safety: {@link #request} from any thread; the rest on the flusher thread.
 */
final class Flusher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Flusher.class);

    private final Set<Partition> dirty = new LinkedHashSet<>(); // guarded by this
    private final Consumer<Partition> onHwMoved;
    private final Thread thread;
    private volatile boolean running = true;
    /** Told how long each fsync that advanced a log's recovery point took (nanoseconds; metrics). */
    volatile java.util.function.LongConsumer flushNanos = n -> { };

    Flusher(Consumer<Partition> onHwMoved) {
        this.onHwMoved = onHwMoved;
        this.thread = new Thread(this::run, "basalt-replica-flusher");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    synchronized void request(Partition p) {
        if (dirty.add(p) && dirty.size() == 1) {
            notifyAll();
        }
    }

    private void run() {
        while (running) {
            List<Partition> round;
            synchronized (this) {
                while (dirty.isEmpty() && running) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                round = new ArrayList<>(dirty);
                dirty.clear();
            }
            for (Partition p : round) {
                try {
                    long before = p.log().recoveryPoint();
                    long startNanos = System.nanoTime();
                    p.log().flush();
                    if (p.log().recoveryPoint() > before) {
                        flushNanos.accept(System.nanoTime() - startNanos);
                    }
                    if (p.onFlushed()) {
                        onHwMoved.accept(p);
                    }
                } catch (LogStorageException e) {
                    // The log marks itself failed; its waiters time out and the leader loses the
                    // partition through the controller (a storage fault takes only this replica down).
                    log.error("fsync of {} failed", p.topicPartition(), e);
                } catch (RuntimeException e) {
                    log.error("Flushing {} failed", p.topicPartition(), e);
                }
            }
        }
    }

    @Override
    public void close() {
        running = false;
        synchronized (this) {
            notifyAll();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
