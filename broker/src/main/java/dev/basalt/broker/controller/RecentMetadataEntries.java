package dev.basalt.broker.controller;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The last committed metadata entries this controller applied, kept in memory so that broker-only
 * nodes (Raft observers) can follow the metadata log with FetchMetadata without reading the Raft
 * store. Bounded by entry count and bytes; an observer that fell further behind than the window
 * gets the whole image as a snapshot instead.
 *
 * <p>Thread-safety: thread-safe (one monitor); appends come from the Raft driver thread, reads from
 * gRPC threads.
 */
public final class RecentMetadataEntries {
    /** One applied entry; {@code batch} is empty for entries that only advance the index. */
    public record Entry(long index, byte[] batch) {
    }

    private final int entriesMax;
    private final long bytesMax;
    private final ArrayDeque<Entry> entries = new ArrayDeque<>();
    private long bytes;
    private long lastIndex;
    private CompletableFuture<Long> next = new CompletableFuture<>();

    public RecentMetadataEntries(int entriesMax, long bytesMax) {
        if (entriesMax < 1 || bytesMax < 1) {
            throw new IllegalArgumentException("entriesMax and bytesMax must be positive");
        }
        this.entriesMax = entriesMax;
        this.bytesMax = bytesMax;
    }

    /** Records the entry applied at {@code index} (strictly after the previous one). */
    public void append(long index, byte[] batch) {
        CompletableFuture<Long> wake;
        synchronized (this) {
            if (index <= lastIndex) {
                throw new IllegalStateException("metadata entry " + index + " appended after " + lastIndex);
            }
            if (!entries.isEmpty() && index != lastIndex + 1) {
                entries.clear(); // a gap (snapshot restore): the window restarts here
                bytes = 0;
            }
            entries.addLast(new Entry(index, batch));
            bytes += batch.length;
            while (entries.size() > entriesMax || (bytes > bytesMax && entries.size() > 1)) {
                bytes -= entries.removeFirst().batch().length;
            }
            lastIndex = index;
            wake = next;
            next = new CompletableFuture<>();
        }
        wake.complete(index);
    }

    /** The state jumped to a snapshot at {@code index}: entries before it are no longer contiguous. */
    public void reset(long index) {
        CompletableFuture<Long> wake;
        synchronized (this) {
            entries.clear();
            bytes = 0;
            lastIndex = Math.max(lastIndex, index);
            wake = next;
            next = new CompletableFuture<>();
        }
        wake.complete(index);
    }

    public synchronized long lastIndex() {
        return lastIndex;
    }

    /**
     * The entries after {@code fromIndex}, at most {@code bytesMax} bytes (at least one entry), or
     * null when the window no longer starts at or before {@code fromIndex + 1} (send a snapshot).
     */
    public synchronized List<Entry> after(long fromIndex, long answerBytesMax) {
        if (fromIndex >= lastIndex) {
            return List.of();
        }
        if (entries.isEmpty() || entries.peekFirst().index() > fromIndex + 1) {
            return null;
        }
        List<Entry> out = new ArrayList<>();
        long size = 0;
        for (Entry e : entries) {
            if (e.index() <= fromIndex) {
                continue;
            }
            if (!out.isEmpty() && size + e.batch().length > answerBytesMax) {
                break;
            }
            out.add(e);
            size += e.batch().length;
        }
        return out;
    }

    /** Completes when an entry after {@code index} exists (at once if one does). */
    public synchronized CompletableFuture<Long> whenAfter(long index) {
        if (lastIndex > index) {
            return CompletableFuture.completedFuture(lastIndex);
        }
        return next;
    }
}
