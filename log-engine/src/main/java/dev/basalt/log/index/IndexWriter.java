package dev.basalt.log.index;

/**
 * Decides which batches get sparse index entries and writes them, identically for appends and
 * for recovery's rebuild (so a rebuilt index equals the one appends built).
 *
 * <p>Rules: the first batch of every segment gets an offset entry (so the floor entry of any
 * offset is in the right segment), then one entry per {@code indexIntervalBytes} of batches
 * (Kafka's default 4096: a lookup scans at most ~4 KiB of headers after the seek). A time entry
 * (maxTimestampSoFar, batch base offset) is written on the same spacing, only when the largest
 * timestamp seen grew, so time keys and their offsets both increase; every batch before an entry's
 * offset has a max timestamp ≤ the entry's timestamp.
 *
 * <p>Thread-safety: not thread-safe; guarded by the owning log's lock. No I/O of its own beyond
 * the {@link IndexStore} calls.
 */
public final class IndexWriter {
    private final IndexStore store;
    private final long partitionId;
    private int indexIntervalBytes;
    private long bytesSinceOffsetEntry;
    private long bytesSinceTimeEntry;
    private long maxTimestampSoFar;
    private long lastTimeEntryTimestamp;

    public IndexWriter(IndexStore store, long partitionId, int indexIntervalBytes) {
        this.store = store;
        this.partitionId = partitionId;
        this.indexIntervalBytes = indexIntervalBytes;
        this.maxTimestampSoFar = Long.MIN_VALUE;
        resetTimeState();
    }

    public void indexIntervalBytes(int bytes) {
        this.indexIntervalBytes = bytes;
    }

    /**
     * Re-reads the newest time entry (after truncation or on open). The running maximum is never
     * lowered: an over-estimate keeps the entry invariant, an under-estimate (forgetting a large
     * timestamp of an unindexed batch) would break it.
     */
    public void resetTimeState() {
        IndexStore.TimeEntry last = store.lastTime(partitionId);
        lastTimeEntryTimestamp = last == null ? Long.MIN_VALUE : last.timestamp();
        maxTimestampSoFar = Math.max(maxTimestampSoFar, lastTimeEntryTimestamp);
        bytesSinceTimeEntry = Long.MAX_VALUE / 2;
        bytesSinceOffsetEntry = Long.MAX_VALUE / 2;
    }

    /** Folds in a timestamp known to exist in the log (segment max timestamps, on open). */
    public void observeMaxTimestamp(long timestamp) {
        maxTimestampSoFar = Math.max(maxTimestampSoFar, timestamp);
    }

    /** Records one batch just written (or recovered) at {@code position} of the segment based at {@code segmentBase}. */
    public void onBatch(long segmentBase, int position, long baseOffset, int sizeBytes, long maxTimestamp) {
        if (position == 0 || bytesSinceOffsetEntry >= indexIntervalBytes) {
            store.putOffset(partitionId, baseOffset, segmentBase, position);
            bytesSinceOffsetEntry = 0;
        }
        bytesSinceOffsetEntry += sizeBytes;
        if (maxTimestamp > maxTimestampSoFar) {
            maxTimestampSoFar = maxTimestamp;
        }
        if (maxTimestampSoFar > lastTimeEntryTimestamp && (position == 0 || bytesSinceTimeEntry >= indexIntervalBytes)) {
            store.putTime(partitionId, maxTimestampSoFar, baseOffset);
            lastTimeEntryTimestamp = maxTimestampSoFar;
            bytesSinceTimeEntry = 0;
        }
        bytesSinceTimeEntry += sizeBytes;
    }
}
