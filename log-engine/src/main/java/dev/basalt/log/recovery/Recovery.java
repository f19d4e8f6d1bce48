package dev.basalt.log.recovery;

import dev.basalt.log.CorruptLogException;
import dev.basalt.log.index.IndexStore;
import dev.basalt.log.index.IndexWriter;
import dev.basalt.log.index.LeaderEpochCache;
import dev.basalt.log.index.PartitionState;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.segment.SegmentFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The crash-recovery scan of one partition (see {@link LogLoader} for the rules).
 *
 * <p>Thread-safety: not thread-safe; one instance per directory, used once.
 */
final class Recovery {
    private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);

    private final Path dir;
    private final FileLayer files;
    private final IndexStore index;
    private final long partitionId;
    private final IndexWriter writer;
    private final List<Segment> segments = new ArrayList<>();
    private LeaderEpochCache epochs;
    private long recoveryPoint;
    private long logStart;
    private long highWatermark;
    private long next;
    private Path cutFile;
    private int cutBytes;
    /** Repair: a bad batch below the recovery point is cut like a torn tail (the caller decided the data is lost or refetchable). */
    private boolean cutCorruption;
    /** Where a repair moves what it cuts (later segments, and the cut segment's tail), or null to delete it. */
    private Path preserveDir;
    /**
     * The partition's state was lost with the index, so nothing says how much of the last segment
     * was flushed: a bad batch there is a torn write only if nothing valid follows it.
     */
    private boolean recoveryPointUnknown;
    private boolean cleanShutdown;
    private boolean indexRebuilt;
    /** The stored state says the log has no gaps: scans check that every batch follows the previous one exactly. */
    private boolean contiguous;
    /** See {@link #run}'s {@code missingBase}; -1 if none. */
    private long missingBase = -1;
    /**
     * The stored state's leader epochs (start offset → epoch) and its recovery point: every batch
     * below that point was appended before the state was written, so its epoch is the one the state
     * names for its offset. The epoch field is outside the CRC; a flipped bit there made a
     * partition refuse every append ("older than the latest epoch 16777216"). Empty without a state.
     */
    private final java.util.TreeMap<Long, Integer> storedEpochs = new java.util.TreeMap<>();
    private long storedRecoveryPoint = -1;

    private Recovery(Path dir, FileLayer files, IndexStore index, long partitionId, IndexWriter writer) {
        this.dir = dir;
        this.files = files;
        this.index = index;
        this.partitionId = partitionId;
        this.writer = writer;
    }

    /**
     * @param cutCorruption  repair: a bad batch of flushed data is cut instead of failing the load
     * @param preserveDir    with {@code cutCorruption}: what the cut drops is moved there, not deleted
     * @param cleanShutdown  the data directory was closed cleanly: with the state lost, every byte
     *                       of every segment was flushed, so no bad batch is a torn write
     * @param indexRebuilt   {@code state} survived but the index entries did not (the index was set
     *                       aside): scan everything, trusting the state's recovery point
     * @param missingBase    a segment known to be missing (see LogLoader#missingSegment), -1 if none:
     *                       the scan starts no later than the segment before it and the log is cut
     *                       where it should have started (repair), or the load fails
     */
    static LoadedLog run(Path dir, FileLayer files, IndexStore index, long partitionId, PartitionState state,
                         TreeMap<Long, Path> paths, int segmentBytes, IndexWriter writer, boolean cutCorruption,
                         Path preserveDir, boolean cleanShutdown, boolean indexRebuilt, long missingBase) throws IOException {
        Recovery r = new Recovery(dir, files, index, partitionId, writer);
        r.missingBase = missingBase;
        r.cutCorruption = cutCorruption;
        r.preserveDir = preserveDir;
        r.cleanShutdown = cleanShutdown;
        r.indexRebuilt = indexRebuilt;
        r.contiguous = state != null && !state.gapsPossible();
        if (state != null) {
            state.epochs().forEach(e -> r.storedEpochs.put(e.startOffset(), e.epoch()));
            r.storedRecoveryPoint = state.recoveryPoint();
        }
        long scanFrom = r.start(state, paths);
        r.openUnscanned(paths.headMap(scanFrom, false));
        r.scan(new ArrayList<>(paths.tailMap(scanFrom, true).values()));
        return r.finish(segmentBytes);
    }

    /** Sets up offsets and epochs from the state (or from nothing); returns the first segment to scan. */
    private long start(PartitionState state, TreeMap<Long, Path> paths) {
        long firstBase = paths.firstKey();
        long scanFrom;
        if (state == null) {
            // Index lost: rebuild everything; sealed segments count as flushed (a bad batch there is corruption).
            index.clearIndex(partitionId);
            recoveryPoint = paths.lastKey();
            recoveryPointUnknown = true;
            epochs = new LeaderEpochCache();
            logStart = firstBase;
            highWatermark = firstBase;
            scanFrom = firstBase;
        } else if (indexRebuilt) {
            // The state outlived its index: rebuild every entry by a full scan, keep what the state knows.
            index.clearIndex(partitionId);
            recoveryPoint = Math.max(state.recoveryPoint(), firstBase);
            epochs = new LeaderEpochCache();
            logStart = Math.max(state.logStartOffset(), firstBase);
            highWatermark = state.highWatermark();
            scanFrom = firstBase;
        } else {
            recoveryPoint = Math.max(state.recoveryPoint(), firstBase);
            epochs = new LeaderEpochCache(state.epochs());
            logStart = Math.max(state.logStartOffset(), firstBase);
            highWatermark = state.highWatermark();
            scanFrom = paths.floorKey(recoveryPoint);
        }
        if (missingBase >= 0) {
            scanFrom = Math.min(scanFrom, paths.lowerKey(missingBase));
        }
        index.deleteOffsetsFrom(partitionId, scanFrom);
        index.deleteTimesFromOffset(partitionId, scanFrom);
        epochs.truncateFromEnd(scanFrom);
        writer.resetTimeState();
        next = scanFrom;
        return scanFrom;
    }

    /** Segments wholly below the recovery point's segment: trusted, opened without reading. */
    private void openUnscanned(Map<Long, Path> trusted) throws IOException {
        for (Map.Entry<Long, Path> e : trusted.entrySet()) {
            Segment s = Segment.openSealed(files, e.getValue(), e.getKey(), sizeOf(e.getValue()));
            s.maxTimestamp(index.segmentMaxTimestamp(partitionId, e.getKey()));
            writer.observeMaxTimestamp(s.maxTimestamp());
            segments.add(s);
        }
    }

    private void scan(List<Path> toScan) throws IOException {
        for (int i = 0; i < toScan.size(); i++) {
            Path path = toScan.get(i);
            long base = Segment.parseBaseOffset(path.getFileName().toString());
            if (contiguous && i > 0 && base != next) {
                missingSegment(toScan.subList(i, toScan.size()), base, null);
                return;
            }
            if (missingBase >= 0 && i > 0 && missingBase < base
                    && Segment.parseBaseOffset(toScan.get(i - 1).getFileName().toString()) < missingBase) {
                missingSegment(toScan.subList(i, toScan.size()), base, "segment " + Segment.fileName(missingBase)
                        + " listed in the index is missing");
                return;
            }
            int fileBytes = sizeOf(path);
            long offsetLimit = i + 1 < toScan.size() ? Segment.parseBaseOffset(toScan.get(i + 1).getFileName().toString())
                    : Long.MAX_VALUE;
            SegmentScanner.ScanResult r = scanOne(path, base, fileBytes, offsetLimit);
            boolean last = i == toScan.size() - 1;
            boolean zeros = last && r.stopReason() != null && r.stopReason().startsWith("zero header");
            // With the recovery point unknown, whether valid batches follow the stop decides both
            // questions below (a zeroed page is no end of data; a bad batch before valid ones is damage).
            boolean validFollows = last && !r.clean() && recoveryPointUnknown && validDataFollows(path, base, r, fileBytes);
            boolean endOfData = r.clean() || zeros && !validFollows;
            if (!endOfData) {
                boolean belowRecoveryPoint = r.nextOffset() < recoveryPoint;
                boolean damaged = belowRecoveryPoint || recoveryPointUnknown && (cleanShutdown || validFollows);
                if (damaged && !cutCorruption) {
                    throw new CorruptLogException(path, r.validBytes(), r.stopReason() + (belowRecoveryPoint
                            ? (recoveryPointUnknown ? " (in a sealed segment, flushed before the next was rolled; at offset "
                                    + r.nextOffset() + ")" : " (below recovery point " + recoveryPoint + ", at offset " + r.nextOffset() + ")")
                            : " (at offset " + r.nextOffset() + (cleanShutdown ? ", after a clean shutdown" : ", followed by valid batches")
                                    + ": damaged data, not a torn write; the recovery point was lost with the index)"));
                }
                if (damaged) {
                    LOG.error("{}: repair cuts the log at the corrupt batch at byte {} (offset {}): {}; data from offset {} on"
                            + " is dropped from this replica{}", path, r.validBytes(), r.nextOffset(), r.stopReason(), r.nextOffset(),
                            belowRecoveryPoint ? ", flushed up to the recovery point " + recoveryPoint : "");
                    recoveryPoint = Math.min(recoveryPoint, r.nextOffset());
                    highWatermark = Math.min(highWatermark, r.nextOffset());
                }
                SegmentScanner.Census dropped = census(path, base, r.validBytes(), fileBytes, r.nextOffset());
                for (Path later : toScan.subList(i + 1, toScan.size())) {
                    int size = sizeOf(later);
                    long laterBase = Segment.parseBaseOffset(later.getFileName().toString());
                    dropped = SegmentScanner.combine(dropped, census(later, laterBase, 0, size, laterBase));
                }
                if (damaged) {
                    LOG.warn("{}: cut at byte {} (offset {}) drops {}, {} later segment(s){}", path, r.validBytes(), r.nextOffset(),
                            dropped, toScan.size() - 1 - i, preserveDir == null ? "" : "; kept in " + preserveDir);
                } else {
                    LOG.warn("{}: truncating torn tail at byte {} (offset {}): {}; dropping {} (never acknowledged as flushed:"
                            + " above the recovery point {}), removing {} later segment(s)", path, r.validBytes(), r.nextOffset(),
                            r.stopReason(), dropped, recoveryPoint, toScan.size() - 1 - i);
                }
                for (Path later : toScan.subList(i + 1, toScan.size())) {
                    if (preserveDir != null) {
                        Files.createDirectories(preserveDir);
                        Files.move(later, preserveDir.resolve(later.getFileName()));
                    } else {
                        files.delete(later);
                    }
                }
                last = true;
            }
            next = r.nextOffset();
            index.putSegmentMaxTimestamp(partitionId, base, r.maxTimestamp());
            writer.observeMaxTimestamp(r.maxTimestamp());
            // What the scan accepted becomes the recovery point, so make it durable first.
            try (SegmentFile f = files.open(path, false, true)) {
                f.force();
            }
            if (last) {
                cutFile = path;
                cutBytes = r.validBytes();
                return;
            }
            Segment s = Segment.openSealed(files, path, base, r.validBytes());
            s.maxTimestamp(r.maxTimestamp());
            segments.add(s);
        }
    }

    private boolean validDataFollows(Path path, long base, SegmentScanner.ScanResult r, int fileBytes) {
        Segment probe = Segment.openSealed(files, path, base, fileBytes);
        try {
            return SegmentScanner.validBatchFollows(probe, r.validBytes(), fileBytes, r.nextOffset());
        } finally {
            probe.close();
        }
    }

    /**
     * What a truncation at {@code from} drops from this file (headers walked, CRCs not checked);
     * {@code firstOffset} is the offset the batch there must start at.
     */
    private SegmentScanner.Census census(Path path, long base, int from, int fileBytes, long firstOffset) {
        Segment probe = Segment.openSealed(files, path, base, fileBytes);
        try {
            return SegmentScanner.census(probe, from, fileBytes, firstOffset);
        } finally {
            probe.close();
        }
    }

    private SegmentScanner.ScanResult scanOne(Path path, long base, int fileBytes, long offsetLimit) {
        Segment probe = Segment.openSealed(files, path, base, fileBytes);
        try {
            return SegmentScanner.scan(probe, fileBytes, next, contiguous, offsetLimit, this::epochProblem, (batch, pos) -> {
                writer.onBatch(base, pos, batch.baseOffset(), batch.sizeInBytes(), batch.maxTimestamp());
                if (batch.partitionLeaderEpoch() >= 0) {
                    epochs.assignFromLog(batch.partitionLeaderEpoch(), batch.baseOffset());
                }
            });
        } finally {
            probe.close();
        }
    }

    /**
     * A log without gaps whose next segment starts past where the scanned data ended ({@code next}):
     * offsets are missing between them (a segment file deleted, or a rolled segment's unflushed
     * tail lost with the power). Below the recovery point that is flushed data lost: corruption
     * (a repair cuts there). Above it, nothing from {@code next} on was acknowledged as flushed:
     * like a torn tail, the later segments go and the previous segment becomes the active one, so
     * the log goes on from {@code next} without a hole. In a log with gaps, the same for a segment
     * the index lists and the directory lacks (see LogLoader#missingSegment).
     *
     * @param listed why a segment is known missing in a log with gaps (null: a contiguous log's offsets jump)
     */
    private void missingSegment(List<Path> rest, long base, String listed) throws IOException {
        boolean belowRecoveryPoint = next < recoveryPoint;
        Path path = rest.get(0);
        if (belowRecoveryPoint && !cutCorruption) {
            throw new CorruptLogException(path, 0, listed != null ? listed + " (a segment file deleted?): the log after offset "
                    + next + " cannot be trusted, below recovery point " + recoveryPoint
                    : "segment " + base + " starts where offset " + next + " was expected: offsets "
                    + next + ".." + (base - 1) + " are missing (a segment file deleted?) below recovery point " + recoveryPoint);
        }
        SegmentScanner.Census dropped = SegmentScanner.Census.NONE;
        for (Path later : rest) {
            long laterBase = Segment.parseBaseOffset(later.getFileName().toString());
            dropped = SegmentScanner.combine(dropped, census(later, laterBase, 0, sizeOf(later), laterBase));
        }
        LOG.warn("{}: offsets {}..{} are missing before segment {}; dropping it and {} later segment(s) ({}){}", dir, next, base - 1,
                path.getFileName(), rest.size() - 1, dropped, belowRecoveryPoint ? " (repair: flushed up to the recovery point "
                        + recoveryPoint + ")" : " (above the recovery point " + recoveryPoint + ": never acknowledged as flushed)");
        if (belowRecoveryPoint) {
            recoveryPoint = next;
            highWatermark = Math.min(highWatermark, next);
        }
        for (Path later : rest) {
            if (preserveDir != null) {
                Files.createDirectories(preserveDir);
                Files.move(later, preserveDir.resolve(later.getFileName()));
            } else {
                files.delete(later);
            }
        }
        // The previous segment, opened as sealed, becomes the active one again.
        Segment previous = segments.remove(segments.size() - 1);
        cutFile = previous.path();
        cutBytes = previous.sizeBytes();
        previous.close();
    }

    /** Why a batch's leader epoch contradicts the stored state (see {@link #storedEpochs}), or null. */
    private String epochProblem(dev.basalt.record.RecordBatch batch) {
        return epochProblem(batch, storedEpochs, storedRecoveryPoint);
    }

    /**
     * Why {@code batch}'s leader epoch contradicts a stored state's epochs (start offset → epoch),
     * or null: only batches wholly below the state's recovery point were appended before it was
     * written, so only their epochs are known. Shared with the offline check (LogVerifier).
     */
    static String epochProblem(dev.basalt.record.RecordBatch batch, java.util.TreeMap<Long, Integer> storedEpochs,
                               long storedRecoveryPoint) {
        if (batch.partitionLeaderEpoch() < 0 || batch.lastOffset() >= storedRecoveryPoint) {
            return null;
        }
        Map.Entry<Long, Integer> covering = storedEpochs.floorEntry(batch.baseOffset());
        if (covering == null || covering.getValue() == batch.partitionLeaderEpoch()) {
            return null;
        }
        return "batch at offset " + batch.baseOffset() + " has leader epoch " + batch.partitionLeaderEpoch() + " but the log's"
                + " epoch there is " + covering.getValue() + " (a damaged epoch field: the CRC does not cover it)";
    }

    /** Cuts the last segment to its valid bytes and opens it as the active segment. */
    private LoadedLog finish(int segmentBytes) throws IOException {
        if (next < recoveryPoint && cutCorruption) {
            recoveryPoint = next;
        }
        if (next < recoveryPoint) {
            throw new CorruptLogException(cutFile, cutBytes, "log ends at offset " + next + ", below the recovery point "
                    + recoveryPoint + ": flushed data is missing");
        }
        if (preserveDir != null && Files.size(cutFile) > cutBytes) {
            Files.createDirectories(preserveDir);
            try (java.nio.channels.FileChannel from = java.nio.channels.FileChannel.open(cutFile, java.nio.file.StandardOpenOption.READ);
                 java.nio.channels.FileChannel to = java.nio.channels.FileChannel.open(
                         preserveDir.resolve(cutFile.getFileName() + ".from-byte-" + cutBytes),
                         java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
                long size = from.size();
                for (long pos = cutBytes; pos < size; ) {
                    pos += from.transferTo(pos, size - pos, to);
                }
                to.force(true);
            }
        }
        LogLoader.truncateFile(files, cutFile, cutBytes);
        long cutBase = Segment.parseBaseOffset(cutFile.getFileName().toString());
        Segment active = Segment.openActive(files, cutFile, cutBase, cutBytes, segmentBytes);
        active.maxTimestamp(index.segmentMaxTimestamp(partitionId, cutBase));
        segments.add(active);
        files.fsyncDirectory(dir);
        index.deleteOffsetsFrom(partitionId, next);
        epochs.truncateFromEnd(next);
        long end = next;
        return new LoadedLog(segments, Math.min(logStart, end), end, end, Math.min(Math.max(highWatermark, logStart), end),
                epochs, writer, true, !contiguous);
    }

    private static int sizeOf(Path path) throws IOException {
        long size = Files.size(path);
        if (size > Integer.MAX_VALUE) {
            throw new CorruptLogException(path, 0, "segment of " + size + " bytes exceeds 2 GiB");
        }
        return (int) size;
    }
}
