package dev.basalt.log;

import dev.basalt.log.segment.Segment;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The ordered segment list of one partition log and which segment is active (the last one,
 * receiving appends). Only the list: no offsets, no locking policy, no I/O beyond closing the
 * segments it holds.
 *
 * <p>Thread-safety: mutations ({@link #put}, {@link #remove}, {@link #activate}, {@link #closeAll})
 * must be serialised by the caller (the owning {@link PartitionLog}'s append lock); lookups take no
 * lock and may run concurrently with a mutation: the map is a concurrent skip list and the active
 * segment a volatile, so a reader sees either the list before or after a swap, never a torn one.
 * A segment returned by a lookup may be closed right after: readers {@link Segment#retain()} it
 * and treat a failed retain as "the list changed, look again".
 */
final class LogSegments {
    private final ConcurrentSkipListMap<Long, Segment> byBaseOffset = new ConcurrentSkipListMap<>();
    private volatile Segment active;

    LogSegments(List<Segment> loaded) {
        if (loaded.isEmpty()) {
            throw new IllegalArgumentException("a log has at least one segment");
        }
        for (Segment s : loaded) {
            byBaseOffset.put(s.baseOffset(), s);
        }
        active = loaded.get(loaded.size() - 1);
    }

    /** The segment appends go to. */
    Segment active() {
        return active;
    }

    /** Adds or replaces the segment with this base offset (not closing the one replaced). */
    void put(Segment s) {
        byBaseOffset.put(s.baseOffset(), s);
    }

    /** Adds {@code s} (replacing any segment with its base offset) and makes it the active one. */
    void putActive(Segment s) {
        byBaseOffset.put(s.baseOffset(), s);
        active = s;
    }

    /** Makes the last segment the active one (after a truncation removed later ones). */
    void activateLast() {
        active = byBaseOffset.lastEntry().getValue();
    }

    /** Removes {@code s} if it is still the segment at its base offset. */
    boolean remove(Segment s) {
        return byBaseOffset.remove(s.baseOffset(), s);
    }

    /** The segment now at {@code baseOffset}, or null. */
    Segment get(long baseOffset) {
        return byBaseOffset.get(baseOffset);
    }

    Map.Entry<Long, Segment> floorEntry(long offset) {
        return byBaseOffset.floorEntry(offset);
    }

    Map.Entry<Long, Segment> higherEntry(long baseOffset) {
        return byBaseOffset.higherEntry(baseOffset);
    }

    Map.Entry<Long, Segment> firstEntry() {
        return byBaseOffset.firstEntry();
    }

    /** The first segment whose base offset is ≥ {@code baseOffset}, or null. */
    Segment ceiling(long baseOffset) {
        Map.Entry<Long, Segment> e = byBaseOffset.ceilingEntry(baseOffset);
        return e == null ? null : e.getValue();
    }

    /** Base offset of the segment after the one at {@code baseOffset}, or null if it is the last. */
    Long higherBaseOffset(long baseOffset) {
        return byBaseOffset.higherKey(baseOffset);
    }

    /** The segment holding {@code offset} (the floor by base offset), or the first one. */
    Segment segmentFor(long offset) {
        Map.Entry<Long, Segment> floor = byBaseOffset.floorEntry(offset);
        return floor == null ? byBaseOffset.firstEntry().getValue() : floor.getValue();
    }

    /** Sealed segments, oldest first (every segment before the active one), as a live view. */
    Collection<Segment> sealed() {
        return byBaseOffset.headMap(active.baseOffset(), false).values();
    }

    /** Segments after the one at {@code baseOffset}, oldest first (a snapshot). */
    List<Segment> after(long baseOffset) {
        return new ArrayList<>(byBaseOffset.tailMap(baseOffset, false).values());
    }

    /** The segment holding {@code offset} and every later one, oldest first, as a live view. */
    Collection<Segment> from(long offset) {
        Long floor = byBaseOffset.floorKey(offset);
        return (floor == null ? byBaseOffset : byBaseOffset.tailMap(floor, true)).values();
    }

    /** Every segment, oldest first, as a live view. */
    Collection<Segment> all() {
        return byBaseOffset.values();
    }

    List<Long> baseOffsets() {
        return new ArrayList<>(byBaseOffset.keySet());
    }

    int count() {
        return byBaseOffset.size();
    }

    long sizeBytes() {
        long total = 0;
        for (Segment s : byBaseOffset.values()) {
            total += s.sizeBytes();
        }
        return total;
    }

    /** Closes every segment (each unmaps once its last reader releases it). */
    void closeAll() {
        for (Segment s : byBaseOffset.values()) {
            s.close();
        }
    }
}
