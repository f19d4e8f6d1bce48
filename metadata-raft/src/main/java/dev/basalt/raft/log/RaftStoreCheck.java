package dev.basalt.raft.log;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link FileRaftStore#check} found in a store's directory, file by file, judged by the rules
 * the store's open applies (the same code decides; see {@link SegmentRecovery}). Immutable.
 *
 * @param dir        the store's directory
 * @param files      every file the open looks at, in the order it reads them: {@code hardstate},
 *                   {@code snapshot} (when present), the segments oldest first, then left-over
 *                   {@code *.tmp} files
 * @param logDamage  what stops the open that belongs to no single file (a log ending below the
 *                   persisted commit index)
 * @param hardState  the persisted hard state; null when the file is absent or damaged
 * @param snapshot   the snapshot's meta; {@link SnapshotMeta#NONE} when absent, null when damaged
 * @param firstIndex the first log index the opened store would hold (0 when unknown: damage)
 * @param lastIndex  the last log index the opened store would hold, after cutting torn tails (0
 *                   when unknown: damage)
 */
public record RaftStoreCheck(Path dir, List<FileResult> files, List<String> logDamage, HardState hardState,
                             SnapshotMeta snapshot, long firstIndex, long lastIndex) {

    public RaftStoreCheck {
        files = List.copyOf(files);
        logDamage = List.copyOf(logDamage);
    }

    /** How one file would fare at the store's open. */
    public enum Verdict {
        /** Read whole and valid. */
        INTACT,
        /** A last segment ending in a write a crash cut short: the open cuts it (never acknowledged). */
        TORN_TAIL,
        /** The open refuses the store because of this file. */
        DAMAGED,
        /** A {@code *.tmp} replacement a crash interrupted: the open deletes it (the rename never happened). */
        LEFT_OVER
    }

    /**
     * One file's verdict.
     *
     * @param file       the file
     * @param verdict    its verdict
     * @param entries    entries of a segment read intact (before a torn tail or damage); 0 for other files
     * @param firstIndex index of a segment's first entry (its base index)
     * @param lastIndex  index of a segment's last intact entry ({@code firstIndex - 1} when none)
     * @param fileBytes  the file's size
     * @param position   where a torn tail or the damage starts (byte position), -1 when not known or none
     * @param index      the index of the entry a damaged frame should hold, -1 when not a segment frame
     * @param reason     what is wrong (damage) or why it counts as torn; null when intact
     * @param note       what the open does with a file that is otherwise fine (a segment wholly below the
     *                   snapshot, deleted to finish a compaction a crash interrupted); null when nothing
     */
    public record FileResult(Path file, Verdict verdict, long entries, long firstIndex, long lastIndex, long fileBytes,
                             long position, long index, String reason, String note) {
        /** Bytes the open cuts off a torn tail. */
        public long tornBytes() {
            return verdict == Verdict.TORN_TAIL ? fileBytes - position : 0;
        }
    }

    /** Whether the store's open would refuse this directory. */
    public boolean damaged() {
        return !logDamage.isEmpty() || files.stream().anyMatch(f -> f.verdict() == Verdict.DAMAGED);
    }

    /** Collects the results while {@link FileRaftStore} recovers in its read-only mode. Not thread-safe. */
    static final class Builder {
        private final Map<Path, FileResult> files = new LinkedHashMap<>();
        private final List<String> logDamage = new ArrayList<>();
        private HardState hardState;
        private SnapshotMeta snapshot = SnapshotMeta.NONE;

        void put(FileResult result) {
            files.put(result.file(), result);
        }

        void hardState(Path file, HardState state, long fileBytes) {
            hardState = state;
            put(new FileResult(file, Verdict.INTACT, 0, 0, -1, fileBytes, -1, -1, null, null));
        }

        void snapshot(Path file, SnapshotMeta meta, long fileBytes) {
            snapshot = meta;
            put(new FileResult(file, Verdict.INTACT, 0, 0, -1, fileBytes, -1, -1, null, null));
        }

        void segment(Path file, long baseIndex, int entries, SegmentRecovery.Scan scan) {
            boolean torn = scan.tornBytes() > 0;
            put(new FileResult(file, torn ? Verdict.TORN_TAIL : Verdict.INTACT, entries, baseIndex, baseIndex + entries - 1,
                    scan.fileBytes(), torn ? scan.validBytes() : -1, -1, scan.tornReason(), null));
        }

        /** Records what stopped the open's step about {@code file}; the log as a whole when {@code wholeLog}. */
        void damaged(Path file, boolean wholeLog, Exception e) {
            if (wholeLog) {
                logDamage.add(e.getMessage());
                return;
            }
            if (file.getFileName().toString().equals(FileRaftStore.SNAPSHOT_FILE)) {
                snapshot = null;
            }
            FileResult before = files.get(file);
            long position = -1;
            long index = -1;
            String reason = e instanceof java.io.IOException ? "cannot read it: " + e : e.getMessage();
            if (e instanceof SegmentRecovery.SegmentDamageException d) {
                position = d.position;
                index = d.index;
                reason = d.reason;
            }
            long fileBytes;
            try {
                fileBytes = java.nio.file.Files.size(file);
            } catch (java.io.IOException sizeUnknown) {
                fileBytes = -1;
            }
            put(new FileResult(file, Verdict.DAMAGED, before == null ? 0 : before.entries(), before == null ? 0 : before.firstIndex(),
                    before == null ? -1 : before.lastIndex(), fileBytes, position, index, reason, null));
        }

        /** Fills in the entries a damaged segment holds intact before its damage. */
        void segmentDamaged(Path file, long baseIndex, int entries) {
            FileResult r = files.get(file);
            put(new FileResult(file, Verdict.DAMAGED, entries, baseIndex, baseIndex + entries - 1, r.fileBytes(), r.position(),
                    r.index(), r.reason(), r.note()));
        }

        void note(Path file, String note) {
            FileResult r = files.get(file);
            put(new FileResult(file, r.verdict(), r.entries(), r.firstIndex(), r.lastIndex(), r.fileBytes(), r.position(),
                    r.index(), r.reason(), note));
        }

        boolean anyDamage() {
            return files.values().stream().anyMatch(f -> f.verdict() == Verdict.DAMAGED);
        }

        void logDamage(String what) {
            logDamage.add(what);
        }

        int logDamageCount() {
            return logDamage.size();
        }

        RaftStoreCheck build(Path dir, long firstIndex, long lastIndex) {
            return new RaftStoreCheck(dir, new ArrayList<>(files.values()), logDamage, hardState, snapshot, firstIndex, lastIndex);
        }
    }
}
