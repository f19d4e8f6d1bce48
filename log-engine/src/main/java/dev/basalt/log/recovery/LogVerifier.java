package dev.basalt.log.recovery;

import dev.basalt.log.CorruptLogException;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Verifies a partition directory offline: every batch of every segment, from the first byte,
 * structure, magic, CRC32C and offsets increasing across segments (what recovery checks, but for
 * the whole log, not only above the recovery point); with the partition's stored state, also the
 * base offsets and leader epochs the CRC does not cover. Reports the first corrupt batch (file, byte,
 * offset, why) and what a repair cutting there would drop.
 *
 * <p>Thread-safety: stateless; reads only (maps each segment read-only, one at a time).
 */
public final class LogVerifier {
    private LogVerifier() {
    }

    /** The first corrupt batch and what follows it. */
    public record Corruption(Path file, int position, long offset, String reason, SegmentScanner.Census lost) {
    }

    /** The result for one partition directory. */
    public record Report(int segments, long bytesVerified, int batchesVerified, long nextOffset, Corruption corruption) {
        public boolean clean() {
            return corruption == null;
        }
    }

    /** Verifies the segments of {@code partitionDir} (leftover .cleaned/.deleted files are not touched). */
    public static Report verify(Path partitionDir, FileLayer files) throws IOException {
        return verify(partitionDir, files, null);
    }

    /**
     * As above; with the partition's stored {@code state} (null: not known) two fields outside the
     * CRC are checked too, as the node's own recovery and scrubber check them: in a log that cannot
     * have gaps every batch, and every segment, must start where the one before ended (a damaged
     * base offset, a deleted segment file), and below the stored recovery point each batch's leader
     * epoch must be the one the state names for its offset.
     */
    public static Report verify(Path partitionDir, FileLayer files, dev.basalt.log.index.PartitionState state) throws IOException {
        boolean contiguous = state != null && !state.gapsPossible();
        TreeMap<Long, Integer> storedEpochs = new TreeMap<>();
        if (state != null) {
            state.epochs().forEach(e -> storedEpochs.put(e.startOffset(), e.epoch()));
        }
        long recoveryPoint = state == null ? -1 : state.recoveryPoint();
        java.util.function.Function<dev.basalt.record.RecordBatch, String> epochCheck =
                batch -> Recovery.epochProblem(batch, storedEpochs, recoveryPoint);
        TreeMap<Long, Path> paths = new TreeMap<>();
        try (var stream = Files.newDirectoryStream(partitionDir)) {
            for (Path p : stream) {
                long base = Segment.parseBaseOffset(p.getFileName().toString());
                if (base >= 0) {
                    paths.put(base, p);
                }
            }
        }
        long next = paths.isEmpty() ? 0 : paths.firstKey();
        long bytes = 0;
        int[] batches = {0};
        List<Map.Entry<Long, Path>> list = new ArrayList<>(paths.entrySet());
        for (int i = 0; i < list.size(); i++) {
            Path path = list.get(i).getValue();
            long base = list.get(i).getKey();
            long size = Files.size(path);
            if (size > Integer.MAX_VALUE) {
                throw new CorruptLogException(path, 0, "segment of " + size + " bytes exceeds 2 GiB");
            }
            Segment probe = Segment.openSealed(files, path, base, (int) size);
            SegmentScanner.ScanResult r;
            SegmentScanner.Census lost = null;
            try {
                if (contiguous && i > 0 && base != next) {
                    // a segment that does not start where the one before ended: its offsets are missing
                    r = new SegmentScanner.ScanResult(0, next, Segment.UNKNOWN_TIMESTAMP, "segment starts at offset " + base
                            + " where " + next + " was expected in a log without gaps (a segment file is missing, or the one"
                            + " before it was cut short)");
                } else {
                    r = SegmentScanner.scan(probe, (int) size, next, contiguous, epochCheck, (batch, pos) -> batches[0]++);
                }
                boolean last = i == list.size() - 1;
                boolean endOfData = r.clean() || (last && r.stopReason().startsWith("zero header"));
                if (!endOfData) {
                    // a segment starting past where it should holds offsets from its own base (the ones
                    // before it are reported missing already)
                    lost = SegmentScanner.census(probe, r.validBytes(), (int) size, r.validBytes() == 0 && base > r.nextOffset()
                            ? base : r.nextOffset());
                }
            } finally {
                probe.close();
            }
            bytes += r.validBytes();
            if (lost != null) {
                for (Map.Entry<Long, Path> later : list.subList(i + 1, list.size())) {
                    long laterSize = Files.size(later.getValue());
                    Segment p2 = Segment.openSealed(files, later.getValue(), later.getKey(), (int) Math.min(laterSize, Integer.MAX_VALUE));
                    try {
                        lost = SegmentScanner.combine(lost, SegmentScanner.census(p2, 0, (int) Math.min(laterSize, Integer.MAX_VALUE),
                                later.getKey()));
                    } finally {
                        p2.close();
                    }
                }
                return new Report(paths.size(), bytes, batches[0], r.nextOffset(),
                        new Corruption(path, r.validBytes(), r.nextOffset(), r.stopReason(), lost));
            }
            next = r.nextOffset();
        }
        return new Report(paths.size(), bytes, batches[0], next, null);
    }
}
