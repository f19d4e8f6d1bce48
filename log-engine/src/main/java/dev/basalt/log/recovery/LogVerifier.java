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
        int gone = 0;
        List<Map.Entry<Long, Path>> list = new ArrayList<>(paths.entrySet());
        for (int i = 0; i < list.size(); i++) {
            Path path = list.get(i).getValue();
            long base = list.get(i).getKey();
            // the last segment, or the last one left (beside a running node a truncation may delete the later ones)
            List<Map.Entry<Long, Path>> later = list.subList(i + 1, list.size());
            java.util.function.BooleanSupplier last = () -> later.stream().noneMatch(e -> Files.exists(e.getValue()));
            long expected = next;
            int batchesBefore = batches[0];
            boolean mustStartAtNext = contiguous && i > 0;
            Checked c = readingCutFiles(path, size -> {
                batches[0] = batchesBefore; // a retry counts the segment's batches again
                // where the next segment starts bounds this one's offsets, while it exists: beside a
                // running node a truncation deletes later segments and appends go on past their base
                Path nextFile = later.isEmpty() ? null : later.get(0).getValue();
                long offsetLimit = nextFile != null && Files.exists(nextFile) ? later.get(0).getKey() : Long.MAX_VALUE;
                Checked checked = checkSegment(files, path, base, size, expected, mustStartAtNext, contiguous, offsetLimit, last,
                        epochCheck, batches);
                if (offsetLimit != Long.MAX_VALUE && checked.lost() != null && !Files.exists(nextFile)) {
                    batches[0] = batchesBefore; // the bound went with the file meanwhile: judged without it
                    checked = checkSegment(files, path, base, size, expected, mustStartAtNext, contiguous, Long.MAX_VALUE, last,
                            epochCheck, batches);
                }
                return checked;
            });
            if (c == null) {
                gone++; // deleted by the node running on the directory (retention, compaction) since it was listed
                continue;
            }
            SegmentScanner.ScanResult r = c.scan();
            bytes += r.validBytes();
            if (c.lost() != null) {
                SegmentScanner.Census lost = c.lost();
                for (Map.Entry<Long, Path> after : later) {
                    SegmentScanner.Census more = readingCutFiles(after.getValue(), size -> {
                        Segment p2 = Segment.openSealed(files, after.getValue(), after.getKey(), size);
                        try {
                            return SegmentScanner.census(p2, 0, size, after.getKey());
                        } finally {
                            p2.close();
                        }
                    });
                    if (more != null) {
                        lost = SegmentScanner.combine(lost, more);
                    }
                }
                return new Report(paths.size() - gone, bytes, batches[0], r.nextOffset(),
                        new Corruption(path, r.validBytes(), r.nextOffset(), r.stopReason(), lost));
            }
            next = r.nextOffset();
        }
        return new Report(paths.size() - gone, bytes, batches[0], next, null);
    }

    /** One segment's scan, and what a cut at its first bad batch would lose of it (null: it ends cleanly). */
    private record Checked(SegmentScanner.ScanResult scan, SegmentScanner.Census lost) {
    }

    private static Checked checkSegment(FileLayer files, Path path, long base, int size, long next, boolean mustStartAtNext,
                                        boolean contiguous, long offsetLimit, java.util.function.BooleanSupplier last,
                                        java.util.function.Function<dev.basalt.record.RecordBatch, String> epochCheck,
                                        int[] batches) {
        Segment probe = Segment.openSealed(files, path, base, size);
        try {
            SegmentScanner.ScanResult r;
            if (mustStartAtNext && base != next) {
                // a segment that does not start where the one before ended: its offsets are missing
                r = new SegmentScanner.ScanResult(0, next, Segment.UNKNOWN_TIMESTAMP, "segment starts at offset " + base
                        + " where " + next + " was expected in a log without gaps (a segment file is missing, or the one"
                        + " before it was cut short)");
            } else {
                r = SegmentScanner.scan(probe, size, next, contiguous, offsetLimit, epochCheck, (batch, pos) -> batches[0]++);
            }
            boolean endOfData = r.clean() || (r.stopReason().startsWith("zero header") && last.getAsBoolean());
            if (endOfData) {
                return new Checked(r, null);
            }
            // a segment starting past where it should holds offsets from its own base (the ones
            // before it are reported missing already)
            return new Checked(r, SegmentScanner.census(probe, r.validBytes(), size, r.validBytes() == 0 && base > r.nextOffset()
                    ? base : r.nextOffset()));
        } finally {
            probe.close();
        }
    }

    /** How many times a segment is read again after its file was cut under the read. */
    static final int CUT_RETRIES_MAX = 3;

    /** A read of a segment mapped at its size; it may throw the JVM's InternalError for a fault in the mapping. */
    @FunctionalInterface
    interface SegmentRead<T> {
        T read(int sizeBytes) throws IOException;
    }

    /**
     * Runs {@code read} over {@code path} at its current size. Checked beside a running node (which
     * cuts a segment file when it seals or shrinks its active segment, and deletes whole segments),
     * a file can shrink under the mapping; reading past its new end faults, which the JVM turns
     * into an InternalError. Then the file is measured again and read again at its new size, up to
     * {@value #CUT_RETRIES_MAX} times. Null if the file is gone (deleted since it was listed).
     *
     * @throws IOException a fault although the file did not shrink, or one on every retry
     */
    static <T> T readingCutFiles(Path path, SegmentRead<T> read) throws IOException {
        for (int attempt = 0; ; attempt++) {
            long size;
            try {
                size = Files.size(path);
            } catch (java.nio.file.NoSuchFileException e) {
                return null;
            }
            if (size > Integer.MAX_VALUE) {
                throw new CorruptLogException(path, 0, "segment of " + size + " bytes exceeds 2 GiB");
            }
            try {
                return read.read((int) size);
            } catch (InternalError | dev.basalt.log.LogStorageException fault) {
                // LogStorageException: a read-only mapping past the end of a file cut since it was measured
                long now;
                try {
                    now = Files.size(path);
                } catch (java.nio.file.NoSuchFileException e) {
                    return null;
                }
                if (now < size && attempt < CUT_RETRIES_MAX) {
                    continue;
                }
                if (now >= size && fault instanceof dev.basalt.log.LogStorageException e) {
                    throw e;
                }
                throw new IOException("reading " + path + " (" + size + " bytes, now " + now + ") faulted"
                        + (now >= size ? " although the file was not cut short (a failing disk?)"
                                : " on each of " + (attempt + 1) + " reads: it keeps being cut under the check"), fault);
            }
        }
    }
}
