package dev.basalt.log;

import dev.basalt.log.segment.Segment;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The answer to a read: whole record batches as one read-only, zero-copy view of a segment's
 * memory mapping, plus the offsets the fetch response needs.
 *
 * <p>Lifetime: the view stays valid until {@link #close()}; until then the segment cannot be
 * unmapped (retention, compaction and truncation defer the unmap). Close exactly when the bytes
 * have been sent (for gRPC: when the outgoing message is released). Touching {@link #records()}
 * after close may crash the JVM, which is why nothing else hands out these views.
 *
 * <p>Thread-safety: the view is read-only and may be read from any thread; {@link #close()} is
 * idempotent and thread-safe.
 */
public final class FetchSlice implements AutoCloseable {
    private final ByteBuffer records;
    private final long nextOffset;
    private final long logStartOffset;
    private final long logEndOffset;
    private final long highWatermark;
    private final Segment segment;
    private final AtomicBoolean closed = new AtomicBoolean();

    FetchSlice(ByteBuffer records, long nextOffset, long logStartOffset, long logEndOffset, long highWatermark,
               Segment segment) {
        this.records = records;
        this.nextOffset = nextOffset;
        this.logStartOffset = logStartOffset;
        this.logEndOffset = logEndOffset;
        this.highWatermark = highWatermark;
        this.segment = segment;
    }

    static FetchSlice empty(long nextOffset, long logStartOffset, long logEndOffset, long highWatermark) {
        return new FetchSlice(ByteBuffer.allocate(0).asReadOnlyBuffer(), nextOffset, logStartOffset, logEndOffset,
                highWatermark, null);
    }

    /** Whole batches, position 0 to limit; empty when there was nothing to read. Read-only. */
    public ByteBuffer records() {
        return records.duplicate();
    }

    public int sizeBytes() {
        return records.remaining();
    }

    public boolean isEmpty() {
        return !records.hasRemaining();
    }

    /** The offset to fetch next: one past the last batch returned (the requested offset if empty). */
    public long nextOffset() {
        return nextOffset;
    }

    public long logStartOffset() {
        return logStartOffset;
    }

    public long logEndOffset() {
        return logEndOffset;
    }

    public long highWatermark() {
        return highWatermark;
    }

    @Override
    public void close() {
        if (segment != null && closed.compareAndSet(false, true)) {
            segment.release();
        }
    }
}
