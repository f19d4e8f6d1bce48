package dev.basalt.record;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Iterates the batches laid end to end in a buffer (a produce payload, a fetch response, a
 * segment slice). Thread-safety: stateless; each iterator is confined to one thread.
 */
public final class Batches {
    private Batches() {
    }

    /**
     * Iterates the complete batches of {@code buf} (from position to limit) without validating
     * their contents. A truncated trailing batch (a fetch cut at maxBytes) ends the iteration.
     */
    public static Iterable<RecordBatch> iterate(ByteBuffer buf) {
        ByteBuffer view = buf.duplicate();
        return () -> new Iterator<>() {
            private final ByteBuffer b = view.duplicate();
            private RecordBatch next = advance();

            private RecordBatch advance() {
                if (b.remaining() < RecordBatch.LOG_OVERHEAD_BYTES) {
                    return null;
                }
                int length = b.getInt(b.position() + RecordBatch.LENGTH_OFFSET);
                if (length < 0 || (long) length + RecordBatch.LOG_OVERHEAD_BYTES > b.remaining()) {
                    return null;
                }
                RecordBatch batch = RecordBatch.wrap(b);
                b.position(b.position() + batch.sizeInBytes());
                return batch;
            }

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public RecordBatch next() {
                if (next == null) {
                    throw new NoSuchElementException();
                }
                RecordBatch current = next;
                next = advance();
                return current;
            }
        };
    }

    /**
     * Splits a payload that must consist of whole batches (a produce request), validating each.
     *
     * @param sizeBytesMax per-batch limit (max.message.bytes)
     * @param batchCountMax bound on the number of batches in one payload
     * @throws CorruptRecordException if the payload has trailing garbage or an invalid batch
     * @throws RecordTooLargeException if a batch is over sizeBytesMax
     */
    public static List<RecordBatch> parseStrict(ByteBuffer payload, int sizeBytesMax, int batchCountMax) {
        return parse(payload, sizeBytesMax, batchCountMax, false);
    }

    /**
     * Splits a producer's payload, applying the leader's producer rules to each batch
     * ({@link RecordBatch#validateProduced}).
     *
     * @throws CorruptRecordException on trailing garbage, a truncated batch or a CRC mismatch
     * @throws InvalidRecordException if a batch breaks a producer rule
     * @throws RecordTooLargeException if a batch is over sizeBytesMax
     */
    public static List<RecordBatch> parseProduced(ByteBuffer payload, int sizeBytesMax, int batchCountMax) {
        return parse(payload, sizeBytesMax, batchCountMax, true);
    }

    private static List<RecordBatch> parse(ByteBuffer payload, int sizeBytesMax, int batchCountMax, boolean produced) {
        ByteBuffer b = payload.duplicate();
        List<RecordBatch> out = new ArrayList<>(2);
        if (!b.hasRemaining()) {
            throw new CorruptRecordException("empty record payload");
        }
        while (b.hasRemaining()) {
            if (out.size() >= batchCountMax) {
                throw new CorruptRecordException("more than " + batchCountMax + " batches in one payload");
            }
            RecordBatch batch = RecordBatch.wrap(b);
            if (produced) {
                batch.validateProduced(sizeBytesMax);
            } else {
                batch.validate(sizeBytesMax);
            }
            out.add(batch);
            b.position(b.position() + batch.sizeInBytes());
        }
        return out;
    }
}
