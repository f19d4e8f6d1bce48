package dev.basalt.log.recovery;

import dev.basalt.log.CorruptLogException;
import dev.basalt.log.LogStorageException;
import dev.basalt.log.index.IndexStore;
import dev.basalt.log.index.IndexWriter;
import dev.basalt.log.index.LeaderEpochCache;
import dev.basalt.log.index.PartitionState;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.segment.SegmentFile;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a partition directory: the fast path after a clean shutdown (no scan: sizes from the
 * files, the end offset from the state), otherwise crash recovery.
 *
 * <h2>Recovery</h2>
 * Scans from the start of the segment holding the recovery point to the end, checking every
 * batch ({@link SegmentScanner}), rebuilding the offset and time index, segment max timestamps
 * and epoch cache for what it scans. At the first bad batch: if it lies below the recovery point
 * (data acknowledged as flushed), loading fails with {@link CorruptLogException} naming file and
 * position; otherwise it is a torn tail: the segment is cut there and later segments are removed.
 * Without a stored state (index directory deleted) the whole log is scanned, and every segment
 * but the last is treated as flushed; in the last, a bad batch is a torn tail only after an
 * unclean shutdown and with no valid batch after it (damaged data otherwise: a write tears only
 * its own tail, while a flipped bit or a bad sector leaves valid batches behind it). Leftover {@code .cleaned} (unfinished compaction) and
 * {@code .deleted} files are removed first.
 *
 * <p>Thread-safety: stateless; each call works on its own directory, so many directories load in
 * parallel.
 */
public final class LogLoader {
    /**
     * A file the log's owner (the broker) keeps in the partition directory, e.g. the topic id the
     * data belongs to; the log engine neither reads nor deletes it.
     */
    public static final String PARTITION_METADATA_FILE = "partition.metadata";

    private static final Logger LOG = LoggerFactory.getLogger(LogLoader.class);

    private LogLoader() {
    }

    /** Segment files by base offset, after removing leftovers. */
    /** Directories in a partition directory holding what a repair of a single copy cut off (kept for the operator). */
    public static final String LOST_DIR_PREFIX = "lost-";

    static TreeMap<Long, Path> listSegments(Path dir, FileLayer files) throws IOException {
        TreeMap<Long, Path> out = new TreeMap<>();
        List<Path> swaps = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path p : stream) {
                String name = p.getFileName().toString();
                if (name.endsWith(Segment.CLEANED_SUFFIX) || name.endsWith(Segment.DELETED_SUFFIX)
                        || name.endsWith(Segment.MERGING_SUFFIX)) {
                    files.delete(p);
                    continue;
                }
                if (Segment.parseSwapFileName(name) != null) {
                    swaps.add(p);
                    continue;
                }
                long base = Segment.parseBaseOffset(name);
                if (base >= 0) {
                    out.put(base, p);
                } else if (!name.startsWith(PARTITION_METADATA_FILE) && !name.startsWith(LOST_DIR_PREFIX)) {
                    LOG.warn("ignoring unexpected file {}", p);
                }
            }
        }
        for (Path swap : swaps) {
            finishMerge(dir, files, swap, out);
        }
        return out;
    }

    /**
     * Finishes a merge of small segments that a stop interrupted during its swap (see
     * PartitionLog's mergeGroup): the swap file is complete and fsynced and holds the bytes of the
     * segments from the first to the last base offset its name gives; those segments (the ones the
     * swap had not renamed away yet) are deleted and the swap file takes the first one's name.
     * Nothing is read from the file: its bytes are checked as any segment's are, by recovery,
     * reads and the scrubber.
     */
    static void finishMerge(Path dir, FileLayer files, Path swap, TreeMap<Long, Path> segments) throws IOException {
        long[] range = Segment.parseSwapFileName(swap.getFileName().toString());
        long first = range[0];
        long last = range[1];
        for (Long b : new ArrayList<>(segments.subMap(first, false, last, true).keySet())) {
            files.delete(segments.remove(b));
        }
        Path target = dir.resolve(Segment.fileName(first));
        files.atomicMove(swap, target);
        files.fsyncDirectory(dir);
        segments.put(first, target);
        LOG.warn("{}: finished a merge of segments that a stop interrupted: the segments {}..{} are one in {}", dir, first, last,
                target);
    }

    /**
     * Loads the log in {@code dir}.
     *
     * @param state   the stored state, or null when the index lost it
     * @param clean   the data dir was closed cleanly (state's clean end offset is trustworthy)
     * @param segmentBytes capacity of the active segment
     */
    public static LoadedLog load(Path dir, FileLayer files, IndexStore index, long partitionId, PartitionState state,
                                 boolean clean, int segmentBytes, int indexIntervalBytes) {
        return load(dir, files, index, partitionId, state, clean, segmentBytes, indexIntervalBytes, false);
    }

    /**
     * As above; {@code repair}: always scan from the recovery point's segment, and cut the log at
     * the first bad batch even below the recovery point (logging what is dropped) instead of
     * failing: for a replica that will refetch from a healthy one, or an operator's deliberate
     * repair of a single replica.
     */
    public static LoadedLog load(Path dir, FileLayer files, IndexStore index, long partitionId, PartitionState state,
                                 boolean clean, int segmentBytes, int indexIntervalBytes, boolean repair) {
        return load(dir, files, index, partitionId, state, clean, segmentBytes, indexIntervalBytes, repair, null);
    }

    /** As above; a repair moves what it cuts into {@code preserveDir} (when not null) instead of deleting it. */
    public static LoadedLog load(Path dir, FileLayer files, IndexStore index, long partitionId, PartitionState state,
                                 boolean clean, int segmentBytes, int indexIntervalBytes, boolean repair, Path preserveDir) {
        try {
            TreeMap<Long, Path> paths = listSegments(dir, files);
            IndexWriter writer = new IndexWriter(index, partitionId, indexIntervalBytes);
            if (paths.isEmpty()) {
                long start = state == null ? 0 : Math.max(state.logStartOffset(), state.cleanEndOffset());
                Segment active = Segment.createActive(files, dir, start, segmentBytes);
                try {
                    files.fsyncDirectory(dir);
                } catch (IOException | RuntimeException e) {
                    active.close(); // not handed to anyone: its file would stay open
                    throw e;
                }
                LeaderEpochCache epochs = state == null ? new LeaderEpochCache() : new LeaderEpochCache(state.epochs());
                epochs.truncateFromEnd(start);
                // A new log (nothing stored) starts without gaps; a stored state keeps its own flag.
                LoadedLog empty = new LoadedLog(List.of(active), start, start, start, start, epochs, writer, false,
                        state != null && state.gapsPossible());
                forgetRemovedSegments(index, partitionId, empty); // every file gone: so are their entries
                return empty;
            }
            long hole = state != null && state.gapsPossible() ? missingSegment(dir, index, partitionId, paths) : -1;
            LoadedLog loaded;
            if (hole < 0 && state != null && clean && !repair && state.cleanEndOffset() >= paths.lastKey()
                    && indexAgreesWithFiles(dir, index, partitionId, state.cleanEndOffset(), paths)) {
                loaded = loadClean(dir, files, index, partitionId, state, paths, segmentBytes, writer);
            } else {
                loaded = Recovery.run(dir, files, index, partitionId, state, paths, segmentBytes, writer, repair, preserveDir, clean,
                        false, hole);
            }
            forgetRemovedSegments(index, partitionId, loaded);
            return loaded;
        } catch (IOException e) {
            throw new LogStorageException("cannot load partition directory", dir, e);
        }
    }

    /**
     * Loads a log whose index was set aside (damaged) but whose {@code state} (stored under the new
     * {@code partitionId}'s owner by the caller, or not at all) was read from it first: a full scan
     * rebuilds every index entry, and the state's recovery point keeps deciding what is a torn
     * write and what is corruption.
     */
    public static LoadedLog loadWithRebuiltIndex(Path dir, FileLayer files, IndexStore index, long partitionId, PartitionState state,
                                                 int segmentBytes, int indexIntervalBytes) {
        return loadWithRebuiltIndex(dir, files, index, partitionId, state, segmentBytes, indexIntervalBytes, false, null);
    }

    /**
     * As above; {@code repair}: cut the log at the first bad batch instead of failing (what the cut
     * drops goes to {@code preserveDir} when not null). With the state known, the full scan checks
     * what the CRC does not cover as recovery does below a recovery point: that a log without gaps
     * has none, and each batch's leader epoch.
     */
    public static LoadedLog loadWithRebuiltIndex(Path dir, FileLayer files, IndexStore index, long partitionId, PartitionState state,
                                                 int segmentBytes, int indexIntervalBytes, boolean repair, Path preserveDir) {
        return loadWithRebuiltIndex(dir, files, index, partitionId, state, segmentBytes, indexIntervalBytes, repair, preserveDir, -1);
    }

    /**
     * As above, with a segment the old index listed and the directory lacks ({@link #missingSegment},
     * found before the old index's entries were cleared), -1 if none: the log is cut where it was.
     */
    public static LoadedLog loadWithRebuiltIndex(Path dir, FileLayer files, IndexStore index, long partitionId, PartitionState state,
                                                 int segmentBytes, int indexIntervalBytes, boolean repair, Path preserveDir,
                                                 long missingBase) {
        try {
            TreeMap<Long, Path> paths = listSegments(dir, files);
            if (paths.isEmpty()) {
                return load(dir, files, index, partitionId, state, false, segmentBytes, indexIntervalBytes, repair, preserveDir);
            }
            IndexWriter writer = new IndexWriter(index, partitionId, indexIntervalBytes);
            LoadedLog loaded = Recovery.run(dir, files, index, partitionId, state, paths, segmentBytes, writer, repair, preserveDir,
                    false, true, missingBase >= 0 && paths.lowerKey(missingBase) != null && paths.higherKey(missingBase) != null
                            ? missingBase : -1);
            forgetRemovedSegments(index, partitionId, loaded);
            return loaded;
        } catch (IOException e) {
            throw new LogStorageException("cannot load partition directory", dir, e);
        }
    }

    /**
     * A log with gaps (compacted) cannot tell a missing segment file from offsets compaction
     * removed: found probing, a compacted replica with its middle segment file deleted (or moved
     * away) loaded as healthy, rejoined the ISR and, once leader, served 251 keys without their
     * latest values. Every sealed segment has an entry in the index (written when it is rolled,
     * deleted, and synced, before a segment is removed), so one listed there and lying between two
     * segment files that are present, without a file of its own, was lost.
     *
     * @return the base offset of the first such segment, or -1
     */
    public static long missingSegment(Path dir, FileLayer files, IndexStore index, long partitionId) {
        try {
            TreeMap<Long, Path> paths = listSegments(dir, files);
            return paths.isEmpty() ? -1 : missingSegment(dir, index, partitionId, paths);
        } catch (IOException e) {
            throw new LogStorageException("cannot list partition directory", dir, e);
        }
    }

    static long missingSegment(Path dir, IndexStore index, long partitionId, TreeMap<Long, Path> paths) {
        for (long base : index.segmentBases(partitionId)) {
            if (base > paths.firstKey() && base < paths.lastKey() && !paths.containsKey(base)) {
                LOG.error("{}: segment {} is missing: the index lists it between the segment files {} and {} that are"
                        + " present (a segment file deleted or moved away)", dir, Segment.fileName(base),
                        Segment.fileName(paths.lowerKey(base)), Segment.fileName(paths.higherKey(base)));
                return base;
            }
        }
        return -1;
    }

    /**
     * Deletes the index's segment entries of segments the loaded log does not hold (dropped by a
     * recovery's cut, or left by a removal a crash interrupted), so none of them can later lie
     * between two segment files and pass for a lost one.
     */
    static void forgetRemovedSegments(IndexStore index, long partitionId, LoadedLog loaded) {
        java.util.Set<Long> held = new java.util.HashSet<>();
        loaded.segments().forEach(seg -> held.add(seg.baseOffset()));
        boolean forgot = false;
        for (long base : index.segmentBases(partitionId)) {
            if (!held.contains(base)) {
                index.deleteSegmentMaxTimestamp(partitionId, base);
                forgot = true;
            }
        }
        if (forgot) {
            // durable before the log can grow past them (found by review: a power loss brought a
            // forgotten entry back between two files written since)
            index.syncWal();
        }
    }

    /**
     * Whether the segment files still hold the log a clean stop left: the index's entry for the
     * last offset (the first batch of every segment has one) must name a segment file that is
     * there and long enough. Found probing: with the last segment file removed while the node
     * ran, a clean restart trusted the stored log end (3000), reads past the remaining data
     * (2640) came back empty without an error, and the replica stayed in the ISR. Otherwise the
     * log is recovered by a scan, which finds the flushed offsets missing.
     */
    static boolean indexAgreesWithFiles(Path dir, IndexStore index, long partitionId, long endOffset, TreeMap<Long, Path> paths)
            throws IOException {
        Path lastFile = paths.lastEntry().getValue();
        if (paths.lastKey() == endOffset && Files.size(lastFile) > 0) {
            // a segment starting at the stored log end must be empty (rolled just before the stop)
            LOG.warn("{}: the segment starting at {} holds {} bytes, though the node stopped cleanly with its log ending there:"
                    + " recovering by a scan", dir, endOffset, Files.size(lastFile));
            return false;
        }
        if (endOffset <= paths.firstKey()) {
            return true;
        }
        IndexStore.OffsetPosition last = index.floorOffset(partitionId, endOffset - 1);
        if (last == null || last.segmentBase() < paths.firstKey()) {
            return true; // nothing indexed there to compare with: as before
        }
        Path file = paths.get(last.segmentBase());
        String problem = file == null ? "is missing"
                : Files.size(file) <= last.position() ? "holds " + Files.size(file) + " bytes, not past byte " + last.position()
                : batchesFrom(file, last.position(), endOffset);
        if (problem == null) {
            return true;
        }
        LOG.warn("{}: the segment holding offset {} (base {}) {}, though the node stopped cleanly with its log ending at {}:"
                + " recovering by a scan", dir, last.offset(), last.segmentBase(), problem, endOffset);
        return false;
    }

    /**
     * Walks the batch headers of {@code file} from {@code position} (an index entry below
     * {@code endOffset}) to the file's end: null when every batch there starts below
     * {@code endOffset} and the last one ends at the end of the file, else what differs. A batch at
     * or past {@code endOffset} means the state that says the log ended there is older than the log:
     * found probing, an index whose write-ahead log lost the last run's writes brought back an
     * earlier clean close's state, and the records written after it were dropped at open (new
     * appends then went in behind them under the same offsets). Reads 12 bytes per batch, and
     * stops at the first batch past the end.
     */
    static String batchesFrom(Path file, long position, long endOffset) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ)) {
            long size = ch.size();
            // base offset, length and (at 23) the last offset delta: the batch's end must be below endOffset too
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(dev.basalt.record.RecordBatch.LAST_OFFSET_DELTA_OFFSET + 4);
            long pos = position;
            while (pos < size) {
                header.clear();
                if (size - pos < header.capacity()) {
                    return "ends in " + (size - pos) + " bytes that are no batch header, at byte " + pos;
                }
                while (header.hasRemaining()) {
                    if (ch.read(header, pos + header.position()) < 0) {
                        return "ends early at byte " + pos;
                    }
                }
                long base = header.getLong(dev.basalt.record.RecordBatch.BASE_OFFSET_OFFSET);
                int length = header.getInt(dev.basalt.record.RecordBatch.LENGTH_OFFSET);
                long last = base + header.getInt(dev.basalt.record.RecordBatch.LAST_OFFSET_DELTA_OFFSET);
                if (base >= endOffset || last >= endOffset) {
                    return "holds a batch of offsets " + base + ".." + last + " (byte " + pos + ")";
                }
                if (length < header.capacity() - dev.basalt.record.RecordBatch.LOG_OVERHEAD_BYTES) {
                    return "holds a batch header of length " + length + " at byte " + pos;
                }
                pos += dev.basalt.record.RecordBatch.LOG_OVERHEAD_BYTES + (long) length;
            }
            return pos == size ? null : "has its last batch header at byte " + pos + " claiming more than the file's " + size + " bytes";
        }
    }

    private static LoadedLog loadClean(Path dir, FileLayer files, IndexStore index, long partitionId, PartitionState state,
                                       TreeMap<Long, Path> paths, int segmentBytes, IndexWriter writer) throws IOException {
        List<Segment> segments = new ArrayList<>(paths.size());
        for (Map.Entry<Long, Path> e : paths.entrySet()) {
            long size = Files.size(e.getValue());
            if (size > Integer.MAX_VALUE) {
                throw new CorruptLogException(e.getValue(), 0, "segment of " + size + " bytes exceeds 2 GiB");
            }
            boolean last = e.getKey().equals(paths.lastKey());
            Segment s = last
                    ? Segment.openActive(files, e.getValue(), e.getKey(), (int) size, segmentBytes)
                    : Segment.openSealed(files, e.getValue(), e.getKey(), (int) size);
            s.maxTimestamp(index.segmentMaxTimestamp(partitionId, e.getKey()));
            writer.observeMaxTimestamp(s.maxTimestamp());
            segments.add(s);
        }
        long start = Math.max(state.logStartOffset(), paths.firstKey());
        long end = state.cleanEndOffset();
        LeaderEpochCache epochs = new LeaderEpochCache(state.epochs());
        return new LoadedLog(segments, start, end, end, Math.min(Math.max(state.highWatermark(), start), end),
                epochs, writer, false, state.gapsPossible());
    }

    /** Physically cuts a file (only at load time, when no reader can hold a mapping of it). */
    static void truncateFile(FileLayer files, Path path, long sizeBytes) throws IOException {
        try (SegmentFile f = files.open(path, false, true)) {
            if (f.size() > sizeBytes) {
                f.truncate(sizeBytes);
                f.force();
            }
        }
    }
}
