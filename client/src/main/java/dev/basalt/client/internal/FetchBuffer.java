package dev.basalt.client.internal;

import dev.basalt.client.TopicPartition;
import dev.basalt.record.Batches;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import java.nio.ByteBuffer;
import java.util.Iterator;

/**
 * The undelivered records of one partition from one fetch answer: iterates the records at or
 * above the consumer's position, skipping control batches and the records of the first batch
 * that lie below the fetch offset (a fetch returns whole batches).
 *
 * <p>Thread-safety: not thread-safe; owned by the consumer's thread.
 */
public final class FetchBuffer {
    private final TopicPartition partition;
    private final long fetchOffset;
    private final boolean checkCrcs;
    private final Iterator<RecordBatch> batches;
    private RecordBatch currentBatch;
    private Iterator<Record> records;
    private Record peeked;
    private long endOffset = -1;
    private final long coveredEndOffset;

    public FetchBuffer(TopicPartition partition, long fetchOffset, ByteBuffer payload, boolean checkCrcs) {
        this.partition = partition;
        this.fetchOffset = fetchOffset;
        this.checkCrcs = checkCrcs;
        this.batches = Batches.iterate(payload).iterator();
        long end = -1;
        for (RecordBatch b : Batches.iterate(payload)) { // headers only: one pass per batch, not per record
            end = Math.max(end, b.nextOffset());
        }
        this.coveredEndOffset = end;
    }

    /**
     * One past the last offset of the whole batches in this answer (read from the batch headers
     * up front), or -1 if it holds no whole batch. The consumer fetches ahead from here while it
     * still delivers this buffer's records.
     */
    public long coveredEndOffset() {
        return coveredEndOffset;
    }

    public TopicPartition partition() {
        return partition;
    }

    /** The consumer position this fetch was made for; the buffer is stale if the position moved. */
    public long fetchOffset() {
        return fetchOffset;
    }

    /**
     * The next record at or above {@code position}, or null when the buffer is exhausted.
     *
     * @throws dev.basalt.record.CorruptRecordException if a batch fails its checks
     */
    public Record next(long position) {
        while (true) {
            if (peeked != null) {
                Record r = peeked;
                peeked = null;
                if (r.offset() >= position) {
                    return r;
                }
                continue;
            }
            if (records != null && records.hasNext()) {
                peeked = readNext();
                continue;
            }
            if (!batches.hasNext()) {
                currentBatch = null;
                return null;
            }
            RecordBatch b = batches.next();
            endOffset = Math.max(endOffset, b.nextOffset());
            if (b.isControl() || b.lastOffset() < position) {
                continue;
            }
            if (checkCrcs) {
                // the CRC covers every record byte; a full structural parse here would decode
                // each record twice, so structure is checked while iterating (readNext)
                b.validateChecksum();
            }
            currentBatch = b;
            records = b.records().iterator();
        }
    }

    /**
     * One past the last offset covered by the batches iterated so far, or -1. Once the buffer is
     * exhausted the consumer may move its position here even if no record was returned: a
     * compacted batch can end with removed records, and control batches hold no user records,
     * and fetching the same offset again would return the same batches forever.
     */
    public long endOffset() {
        return endOffset;
    }

    private Record readNext() {
        try {
            return records.next();
        } catch (dev.basalt.record.CorruptRecordException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new dev.basalt.record.CorruptRecordException("malformed record in " + currentBatch + ": " + e, e);
        }
    }

    /** The batch the last returned record came from (its nextOffset covers compaction gaps). */
    public RecordBatch currentBatch() {
        return currentBatch;
    }

    /** True if the current batch has no record left at or above position. */
    public boolean currentBatchDone() {
        return peeked == null && (records == null || !records.hasNext());
    }
}
