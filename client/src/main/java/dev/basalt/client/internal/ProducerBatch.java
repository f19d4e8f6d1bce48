package dev.basalt.client.internal;

import dev.basalt.client.BasaltException;
import dev.basalt.client.IndeterminateException;
import dev.basalt.client.RecordMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.record.Header;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The records the producer gathered for one partition, written into one pooled buffer as one
 * {@link RecordBatch}, together with each record's future. A batch is open while records are
 * appended (under the accumulator's lock), closed ({@link #close()}) when drained for sending,
 * then possibly retried, and finally completed or failed exactly once.
 *
 * <p>Thread-safety: not thread-safe. Appends happen under the accumulator's lock; after
 * draining, the batch belongs to the sender thread alone.
 */
public final class ProducerBatch {
    private record Thunk(CompletableFuture<RecordMetadata> future, long timestamp, int keySize, int valueSize) {
    }

    private final TopicPartition partition;
    private final ByteBuffer buffer;
    private final int batchSizeBytes;
    private final int batchBytesMax;
    private final long createdMs;
    private final List<Thunk> thunks = new ArrayList<>();
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private RecordBatchBuilder builder;
    private ByteBuffer payload;
    private boolean full;
    private int attempts;
    private long retryAfterMs;
    private long lastAttemptMs;
    private boolean mayHaveBeenWritten;
    private int sentLeaderEpoch = -1;
    private int refusedByLeaderEpoch = -1;
    private BasaltException lastError;
    private long producerId = RecordBatch.NO_PRODUCER_ID;
    private short producerEpoch = RecordBatch.NO_PRODUCER_EPOCH;
    private int baseSequence = RecordBatch.NO_SEQUENCE;
    /** The batch this one was split from (its buffer is the pool's, held until every part is done), or null. */
    private ProducerBatch splitFrom;
    /** Parts of this batch not yet released (a split batch's buffer goes back to the pool at 0). */
    private int unreleasedParts;
    private boolean travelsAlone;
    private boolean expiredInFlight;

    /**
     * @param buffer         a pooled buffer; the batch is written from position 0
     * @param batchSizeBytes the batch counts as full once it holds this many bytes
     */
    public ProducerBatch(TopicPartition partition, ByteBuffer buffer, int batchSizeBytes, long createdMs) {
        this(partition, buffer, batchSizeBytes, 0, createdMs);
    }

    /**
     * @param batchBytesMax the largest batch the partition's leader accepts (the topic's
     *                      max.message.bytes), 0 if not known: a record that would take the batch
     *                      past it starts a new batch instead, so records that each fit are never
     *                      refused together. (The producer refuses a record too large for a
     *                      batch of its own at send; should one come here, it is sent alone and
     *                      the leader, which knows the current limit, decides.)
     */
    public ProducerBatch(TopicPartition partition, ByteBuffer buffer, int batchSizeBytes, int batchBytesMax, long createdMs) {
        this.partition = partition;
        this.buffer = buffer;
        this.batchSizeBytes = batchBytesMax > 0 ? Math.min(batchSizeBytes, batchBytesMax) : batchSizeBytes;
        this.batchBytesMax = batchBytesMax;
        this.createdMs = createdMs;
    }

    /**
     * Appends a record if it fits.
     *
     * @return the record's future, or null (writing nothing) if the batch is full
     */
    public CompletableFuture<RecordMetadata> tryAppend(long timestamp, byte[] key, byte[] value, List<Header> headers) {
        if (payload != null) {
            throw new IllegalStateException("batch for " + partition + " is closed");
        }
        if (full) {
            return null;
        }
        if (builder == null) {
            buffer.clear();
            if (batchBytesMax > 0 && batchBytesMax < buffer.capacity()
                    && RecordBatch.HEADER_SIZE_BYTES + RecordBatchBuilder.recordSizeInBytes(0, 0, key, value, headers) <= batchBytesMax) {
                buffer.limit(batchBytesMax); // the builder writes up to the limit: later records past it do not fit
            }
            builder = new RecordBatchBuilder(buffer, timestamp);
        }
        if (!builder.tryAppend(timestamp, key, value, headers)) {
            full = true;
            return null;
        }
        if (builder.sizeInBytes() >= batchSizeBytes) {
            full = true;
        }
        CompletableFuture<RecordMetadata> f = new CompletableFuture<>();
        thunks.add(new Thunk(f, timestamp, key == null ? -1 : key.length, value == null ? -1 : value.length));
        return f;
    }

    /**
     * Idempotent producer: stamps the producer id, epoch and base sequence, once, before the batch
     * is closed (they are under the CRC). A retry resends the same sequence, which is what lets the
     * leader recognise it.
     */
    public void setProducerState(long producerId, short producerEpoch, int baseSequence) {
        if (payload != null || hasSequence()) {
            throw new IllegalStateException("batch for " + partition + " is closed or already has a sequence");
        }
        this.producerId = producerId;
        this.producerEpoch = producerEpoch;
        this.baseSequence = baseSequence;
        builder.producer(producerId, producerEpoch, baseSequence);
    }

    /** Whether the batch carries an idempotent producer's sequence. */
    public boolean hasSequence() {
        return baseSequence != RecordBatch.NO_SEQUENCE;
    }

    public long producerId() {
        return producerId;
    }

    public short producerEpoch() {
        return producerEpoch;
    }

    public int baseSequence() {
        return baseSequence;
    }

    /** Finishes the batch's bytes (header, CRC); idempotent. */
    public void close() {
        if (payload == null) {
            RecordBatch built = builder.build();
            // deliberately not asReadOnlyBuffer(): a read-only heap buffer hides its array, and
            // protobuf's unsafeWrap then copies the whole batch instead of wrapping it
            payload = built.buffer();
        }
    }

    /**
     * The finished batch's bytes: a view that callers must not write (it is handed to gRPC
     * without copying); valid until the batch is deallocated (an expired batch's payload may still be sent again: a stream request resent as a unary call).
     */
    public ByteBuffer payload() {
        if (payload == null) {
            throw new IllegalStateException("batch for " + partition + " not closed");
        }
        return payload.duplicate();
    }

    /** Completes every record's future: offsets are consecutive from baseOffset. */
    public void complete(long baseOffset, long logAppendTimeMs) {
        for (int i = 0; i < thunks.size(); i++) {
            Thunk t = thunks.get(i);
            long offset = baseOffset < 0 ? -1 : baseOffset + i;
            long ts = logAppendTimeMs >= 0 ? logAppendTimeMs : t.timestamp;
            t.future.complete(new RecordMetadata(partition, offset, ts, t.keySize, t.valueSize));
        }
        done.complete(null);
    }

    /**
     * Fails every record's future. If an earlier attempt may have been written, a definite error
     * of a later attempt does not make the outcome definite: the futures fail indeterminate.
     */
    public void fail(BasaltException error) {
        BasaltException e = error;
        if (mayHaveBeenWritten && !(error instanceof IndeterminateException)) {
            e = new IndeterminateException(partition + ": an earlier attempt of this batch may have been written; last error: "
                    + error.getMessage(), error);
        }
        for (Thunk t : thunks) {
            t.future.completeExceptionally(e);
        }
        done.complete(null);
    }

    /**
     * Fails the batch at its delivery deadline while a request carrying it is unanswered: its
     * futures fail now; the batch stays with that request (its bytes may still be sent, on a unary
     * call replacing a stream) until the answer comes, which then only settles its bookkeeping.
     */
    public void failExpiredInFlight(BasaltException error) {
        expiredInFlight = true;
        fail(error);
    }

    /** Whether the batch was failed at its delivery deadline while in flight ({@link #failExpiredInFlight}). */
    public boolean expiredInFlight() {
        return expiredInFlight;
    }

    public boolean isDone() {
        return done.isDone();
    }

    /** Completes when the batch's futures have been completed or failed. */
    public CompletableFuture<Void> doneFuture() {
        return done;
    }

    public TopicPartition partition() {
        return partition;
    }

    /**
     * A batch too large for its topic's current max.message.bytes (lowered after the batch was
     * built), or refused with one that was, rebuilt to be sent again as new batches (no producer
     * sequence, no attempt yet) that take over this batch's futures in order:
     * <ul>
     *   <li>with a known limit ({@code partBytesMax > 0}) below this batch's size, as many parts of
     *       at most that size as it takes, sent like any new batches (a record larger than the
     *       limit by itself gets a part of its own, which travels alone);</li>
     *   <li>otherwise in two halves of its records, or whole if it holds one, each travelling
     *       alone, so that a part refused again is known to be too large by itself and is split
     *       again or, holding one record, fails.</li>
     * </ul>
     * This batch's buffer stays allocated until every part is released ({@link #releasePart()});
     * its {@link #doneFuture()} completes when every part's does.
     */
    public List<ProducerBatch> split(int partBytesMax) {
        if (payload == null || thunks.isEmpty() || isDone() || unreleasedParts > 0) {
            // not sent, empty, done or split already
            throw new IllegalStateException("batch for " + partition + " cannot be split");
        }
        List<Record> records = new ArrayList<>(thunks.size());
        RecordBatch.wrap(payload.duplicate()).records().forEach(records::add);
        if (records.size() != thunks.size()) {
            throw new IllegalStateException("batch for " + partition + " holds " + records.size() + " records for "
                    + thunks.size() + " futures");
        }
        List<ProducerBatch> out = new ArrayList<>();
        if (partBytesMax > 0 && records.size() > 1 && sizeInBytes() > partBytesMax) {
            int from = 0;
            while (from < records.size()) {
                long firstTimestamp = records.get(from).timestamp();
                int sizeBytes = RecordBatch.HEADER_SIZE_BYTES + recordSize(records.get(from), 0, firstTimestamp);
                int to = from + 1;
                while (to < records.size()) {
                    int next = recordSize(records.get(to), to - from, firstTimestamp);
                    if (sizeBytes + next > partBytesMax) {
                        break;
                    }
                    sizeBytes += next;
                    to++;
                }
                out.add(partOf(records.subList(from, to), thunks.subList(from, to), sizeBytes > partBytesMax));
                from = to;
            }
        } else {
            int parts = records.size() > 1 ? 2 : 1;
            int firstPartCount = (records.size() + 1) / 2;
            for (int part = 0; part < parts; part++) {
                int from = parts == 1 ? 0 : part * firstPartCount;
                int to = parts == 1 ? records.size() : Math.min(records.size(), from + firstPartCount);
                out.add(partOf(records.subList(from, to), thunks.subList(from, to), true));
            }
        }
        unreleasedParts = out.size();
        CompletableFuture.allOf(out.stream().map(ProducerBatch::doneFuture).toArray(CompletableFuture[]::new))
                .whenComplete((v, t) -> done.complete(null));
        return out;
    }

    private static int recordSize(Record r, int offsetDelta, long firstTimestamp) {
        return RecordBatchBuilder.recordSizeInBytes(offsetDelta, r.timestamp() - firstTimestamp,
                r.hasKey() ? r.keyBytes() : null, r.valueBytes(), r.headers());
    }

    private ProducerBatch partOf(List<Record> records, List<Thunk> partThunks, boolean alone) {
        long firstTimestamp = records.get(0).timestamp();
        int sizeBytes = RecordBatch.HEADER_SIZE_BYTES;
        for (int i = 0; i < records.size(); i++) {
            sizeBytes += recordSize(records.get(i), i, firstTimestamp);
        }
        // not from the pool: the memory is this batch's, whose buffer is held until the parts are done
        ProducerBatch b = new ProducerBatch(partition, ByteBuffer.allocate(sizeBytes), Integer.MAX_VALUE, 0, createdMs);
        b.builder = new RecordBatchBuilder(b.buffer, firstTimestamp);
        for (Record r : records) {
            if (!b.builder.tryAppend(r.timestamp(), r.hasKey() ? r.keyBytes() : null, r.valueBytes(), r.headers())) {
                throw new IllegalStateException("a part of " + sizeBytes + " bytes could not take its records");
            }
        }
        b.thunks.addAll(partThunks);
        b.full = true; // nothing more is appended to a part
        b.travelsAlone = alone;
        b.splitFrom = this;
        return b;
    }

    /** Whether this batch is sent in a payload of its own (a part of a split batch). */
    public boolean travelsAlone() {
        return travelsAlone;
    }

    /**
     * This batch is finished with: returns the buffer that may now go back to the pool, or null
     * (a part of a split batch: its parent's buffer goes back once every part is released).
     * Caller holds the accumulator's lock.
     */
    ByteBuffer releasePart() {
        if (splitFrom == null) {
            return buffer;
        }
        ProducerBatch parent = splitFrom;
        if (--parent.unreleasedParts > 0) {
            return null;
        }
        return parent.releasePart();
    }

    public ByteBuffer buffer() {
        return buffer;
    }

    public boolean isFull() {
        return full;
    }

    public int recordCount() {
        return thunks.size();
    }

    public int sizeInBytes() {
        return builder == null ? 0 : builder.sizeInBytes();
    }

    public long createdMs() {
        return createdMs;
    }

    public int attempts() {
        return attempts;
    }

    /** Records that an attempt is being sent now, to the leader of the given epoch (-1 = unknown). */
    public void onSend(long nowMs, int leaderEpoch) {
        attempts++;
        lastAttemptMs = nowMs;
        sentLeaderEpoch = leaderEpoch;
        refusedByLeaderEpoch = -1;
    }

    /** The leader epoch the metadata showed when the last attempt was sent; -1 = unknown. */
    public int sentLeaderEpoch() {
        return sentLeaderEpoch;
    }

    /**
     * Marks the last attempt as refused for leadership (NOT_LEADER, FENCED_LEADER_EPOCH ...):
     * once the metadata shows a leader epoch above {@link #sentLeaderEpoch()}, the retry need not
     * wait out its backoff.
     */
    public void refusedForLeadership() {
        refusedByLeaderEpoch = sentLeaderEpoch;
    }

    /** The leader epoch that refused the last attempt for leadership, or -1. */
    public int refusedByLeaderEpoch() {
        return refusedByLeaderEpoch;
    }

    public long lastAttemptMs() {
        return lastAttemptMs;
    }

    /** Schedules the next attempt no earlier than retryAfterMs, remembering why. */
    public void scheduleRetry(long retryAfterMs, BasaltException cause, boolean attemptMayHaveBeenWritten) {
        this.retryAfterMs = retryAfterMs;
        this.lastError = cause;
        this.mayHaveBeenWritten |= attemptMayHaveBeenWritten;
    }

    public long retryAfterMs() {
        return retryAfterMs;
    }

    public BasaltException lastError() {
        return lastError;
    }

    public boolean mayHaveBeenWritten() {
        return mayHaveBeenWritten;
    }
}
