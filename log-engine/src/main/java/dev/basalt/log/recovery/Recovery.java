package dev.basalt.log.recovery;

import dev.basalt.log.CorruptLogException;
import dev.basalt.log.index.IndexStore;
import dev.basalt.log.index.IndexWriter;
import dev.basalt.log.index.LeaderEpochCache;
import dev.basalt.log.index.PartitionState;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
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
 * <p>Thread-safety: stateless; one call per directory.
 */
final class Recovery {
    private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);

    private Recovery() {
    }

    static LoadedLog run(Path dir, FileLayer files, IndexStore index, long partitionId, PartitionState state,
                         TreeMap<Long, Path> paths, int segmentBytes, IndexWriter writer) throws IOException {
        long firstBase = paths.firstKey();
        long recoveryPoint;
        LeaderEpochCache epochs;
        long logStart;
        long hw;
        if (state == null) {
            // Index lost: rebuild everything; treat sealed segments as flushed (a bad batch there is corruption).
            index.clearIndex(partitionId);
            recoveryPoint = paths.lastKey();
            epochs = new LeaderEpochCache();
            logStart = firstBase;
            hw = firstBase;
        } else {
            recoveryPoint = Math.max(state.recoveryPoint(), firstBase);
            epochs = new LeaderEpochCache(state.epochs());
            logStart = Math.max(state.logStartOffset(), firstBase);
            hw = state.highWatermark();
        }
        Long scanFrom = state == null ? firstBase : paths.floorKey(recoveryPoint);
        if (scanFrom == null) {
            scanFrom = firstBase;
        }
        index.deleteOffsetsFrom(partitionId, scanFrom);
        index.deleteTimesFromOffset(partitionId, scanFrom);
        epochs.truncateFromEnd(scanFrom);
        writer.resetTimeState();

        List<Segment> segments = new ArrayList<>();
        for (Map.Entry<Long, Path> e : paths.headMap(scanFrom, false).entrySet()) {
            Segment s = Segment.openSealed(files, e.getValue(), e.getKey(), sizeOf(e.getValue()));
            s.maxTimestamp(index.segmentMaxTimestamp(partitionId, e.getKey()));
            writer.observeMaxTimestamp(s.maxTimestamp());
            segments.add(s);
        }
        long next = scanFrom;
        Path cutFile = null;
        int cutBytes = 0;
        List<Path> toScan = new ArrayList<>(paths.tailMap(scanFrom, true).values());
        for (int i = 0; i < toScan.size(); i++) {
            Path path = toScan.get(i);
            long base = Segment.parseBaseOffset(path.getFileName().toString());
            int fileBytes = sizeOf(path);
            Segment probe = Segment.openSealed(files, path, base, fileBytes);
            SegmentScanner.ScanResult r;
            try {
                r = SegmentScanner.scan(probe, fileBytes, next, (batch, pos) -> {
                    writer.onBatch(base, pos, batch.baseOffset(), batch.sizeInBytes(), batch.maxTimestamp());
                    if (batch.partitionLeaderEpoch() >= 0) {
                        epochs.assign(batch.partitionLeaderEpoch(), batch.baseOffset());
                    }
                });
            } finally {
                probe.close();
            }
            boolean last = i == toScan.size() - 1;
            boolean endOfData = r.clean() || (last && r.stopReason().startsWith("zero header"));
            if (!endOfData || (r.validBytes() < fileBytes && !last)) {
                if (r.nextOffset() < recoveryPoint) {
                    throw new CorruptLogException(path, r.validBytes(), r.stopReason() + " (below recovery point "
                            + recoveryPoint + ")");
                }
                LOG.warn("{}: truncating torn tail at byte {} (offset {}): {}; removing {} later segment(s)",
                        path, r.validBytes(), r.nextOffset(), r.stopReason(), toScan.size() - 1 - i);
                for (Path later : toScan.subList(i + 1, toScan.size())) {
                    files.delete(later);
                }
                toScan = toScan.subList(0, i + 1);
            }
            next = r.nextOffset();
            index.putSegmentMaxTimestamp(partitionId, base, r.maxTimestamp());
            writer.observeMaxTimestamp(r.maxTimestamp());
            // What the scan accepted becomes the recovery point, so make it durable first.
            try (var f = files.open(path, false, true)) {
                f.force();
            }
            if (i == toScan.size() - 1) {
                cutFile = path;
                cutBytes = r.validBytes();
            } else {
                Segment s = Segment.openSealed(files, path, base, r.validBytes());
                s.maxTimestamp(r.maxTimestamp());
                segments.add(s);
            }
        }
        if (next < recoveryPoint) {
            throw new CorruptLogException(cutFile, cutBytes, "log ends at offset " + next + ", below the recovery point "
                    + recoveryPoint + ": flushed data is missing");
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
        return new LoadedLog(segments, Math.min(logStart, end), end, end, Math.min(Math.max(hw, logStart), end),
                epochs, writer, true);
    }

    private static int sizeOf(Path path) throws IOException {
        long size = Files.size(path);
        if (size > Integer.MAX_VALUE) {
            throw new CorruptLogException(path, 0, "segment of " + size + " bytes exceeds 2 GiB");
        }
        return (int) size;
    }
}
