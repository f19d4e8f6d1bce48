package dev.basalt.raft.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link RaftStore} in a directory of files. Not thread-safe: the Raft driver thread owns it (the
 * contract's single caller). Once any operation fails with a {@link RaftStorageException} the store
 * is <em>failed</em>: every later call throws, so a node whose disk failed cannot keep voting or
 * leading (STYLE.md §2); reopening it runs recovery again.
 *
 * <h2>Files</h2>
 * <ul>
 *   <li>{@code <base index, 20 digits>.log} — segments; each holds consecutive entries starting at
 *       its base index. A new segment starts when the active one reaches {@code segmentBytes}.
 *   <li>{@code hardstate} — term, vote, commit index; replaced atomically.
 *   <li>{@code snapshot} — the latest snapshot; replaced atomically.
 *   <li>{@code *.tmp} — a replacement in progress; deleted on open (the rename never happened).
 * </ul>
 *
 * <h2>Byte layouts (all integers big-endian)</h2>
 * <pre>
 * segment frame:  bodyLength int32 | crc32c int32 | body
 *   body:         term int64 | index int64 | type int8 (LogEntry.EntryType code) | data (bodyLength - 17 bytes)
 *   crc32c covers the body only; bodyLength is checked against 17 .. 17 + entryBytesMax.
 * hardstate:      magic "BHS1" int32 | term int64 | votedFor int32 | commitIndex int64 | crc32c int32
 *   (28 bytes; the crc covers the 24 bytes before it)
 * snapshot:       magic "BSN1" int32 | lastIndex int64 | lastTerm int64
 *                 | voterCount int32 | voter int32 * n (ascending) | observerCount int32 | observer int32 * n
 *                 | dataLength int32 | data | crc32c int32 (over every byte before it)
 * </pre>
 *
 * <h2>Durability and recovery</h2>
 * {@link #appendAndFlush} writes each segment's frames with one positional write, then fsyncs the
 * segment (and the directory when it created a segment) before returning. Conflict truncation cuts
 * the file, deletes later segments highest-first (never leaving a gap) and fsyncs first. On open,
 * a torn last frame of the last segment is cut off (see {@link SegmentRecovery} for the exact rule);
 * corruption before that point, a gap between segments, or a log that ends below the persisted
 * commit index is a {@link RaftStorageException} naming the file and position — never skipped.
 * This relies on the driver appending entries before it persists a hard state whose
 * {@code commitIndex} covers them (Raft's {@code commitIndex <= lastIndex}).
 *
 * <p>{@link #installSnapshot} writes the snapshot atomically first, then deletes compacted segments
 * (oldest first, so a crash leaves no gap; when the whole log is discarded, newest first). A crash in
 * between is completed on open: segments wholly at or below the snapshot are deleted, and
 * if the log's entry at the snapshot's last index is missing or has another term the whole log is
 * discarded, exactly as the live call would have done.
 *
 * <h2>Read-only check</h2>
 * {@link #check} runs the same recovery in a read-only mode (files opened for reading through a
 * layer that refuses every write, delete or fsync): nothing is cut, deleted or fsynced, and instead of
 * stopping at the first problem it reports, file by file, what an open would do (intact, a torn tail it
 * would cut, or damage it would refuse to open with), so an operator learns before a start whether the
 * node will refuse its metadata log.
 */
public final class FileRaftStore implements RaftStore {
    private static final Logger LOG = LoggerFactory.getLogger(FileRaftStore.class);
    private static final Pattern SEGMENT_NAME = Pattern.compile("(\\d{20})\\.log");
    static final String HARD_STATE_FILE = "hardstate";
    static final String SNAPSHOT_FILE = "snapshot";

    /**
     * Limits of a store.
     *
     * @param segmentBytes     a segment is closed and a new one started once it reaches this size
     * @param entryBytesMax    largest entry payload accepted ({@link StoreSizeLimitException} above)
     * @param snapshotBytesMax largest snapshot payload accepted
     */
    public record Config(long segmentBytes, int entryBytesMax, int snapshotBytesMax) {
        /** 16 MiB segments, 1 MiB entries, 256 MiB snapshots: sized for a metadata log. */
        public static final Config DEFAULT = new Config(16L << 20, 1 << 20, 256 << 20);

        public Config {
            if (segmentBytes < 64 || entryBytesMax < 0 || snapshotBytesMax < 0) {
                throw new IllegalArgumentException("bad store config " + segmentBytes + "/" + entryBytesMax + "/"
                        + snapshotBytesMax);
            }
            if (snapshotBytesMax > Integer.MAX_VALUE - (1 << 20)) {
                throw new IllegalArgumentException("snapshotBytesMax too large: " + snapshotBytesMax);
            }
        }
    }

    private final Path dir;
    private final Config config;
    private final StorageIo io;
    private final List<LogSegment> segments = new ArrayList<>();
    private HardState hardState = HardState.INITIAL;
    private SnapshotMeta snapshot = SnapshotMeta.NONE;
    private byte[] snapshotData = new byte[0];
    private long lastIndex;
    private RaftStorageException failure;
    private boolean closed;
    /** Non-null only in the read-only check ({@link #check}): where recovery reports instead of acting. */
    private final RaftStoreCheck.Builder check;
    private final List<Path> leftOver = new ArrayList<>();

    private FileRaftStore(Path dir, Config config, StorageIo io, RaftStoreCheck.Builder check) {
        this.dir = dir;
        this.config = config;
        this.io = io;
        this.check = check;
    }

    /** Opens (creating if needed) the store in {@code dir} on the real file system, running recovery. */
    public static FileRaftStore open(Path dir, Config config) {
        return open(dir, config, StorageIo.nio());
    }

    /** Opens the store through {@code io} (tests pass a fault-injecting layer). */
    public static FileRaftStore open(Path dir, Config config, StorageIo io) {
        FileRaftStore store = new FileRaftStore(dir, config, io, null);
        try {
            store.recover();
            return store;
        } catch (IOException | RuntimeException e) {
            store.closeFiles();
            if (e instanceof RaftStorageException r) {
                throw r;
            }
            throw new RaftStorageException("cannot open raft store in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks the store in {@code dir} without changing any file (see the class javadoc): the open's
     * recovery, read-only, reporting every file's verdict. The node must not be running on the
     * directory (a log being appended to may show a torn tail that is only a write in progress).
     */
    public static RaftStoreCheck check(Path dir, Config config) {
        RaftStoreCheck.Builder report = new RaftStoreCheck.Builder();
        FileRaftStore store = new FileRaftStore(dir, config, ReadOnlyStorageIo.INSTANCE, report);
        try {
            store.recover();
        } catch (IOException | RaftStorageException e) {
            report.logDamage("cannot read the raft store in " + dir + ": " + e.getMessage());
        } finally {
            store.closeFiles();
        }
        for (Path tmp : store.leftOver) {
            report.put(new RaftStoreCheck.FileResult(tmp, RaftStoreCheck.Verdict.LEFT_OVER, 0, 0, -1, sizeOrMinusOne(tmp), -1, -1,
                    null, "a replacement a crash interrupted before its rename: the node deletes it at its start"));
        }
        boolean known = !report.anyDamage() && report.logDamageCount() == 0;
        return report.build(dir, known ? store.snapshot.lastIndex() + 1 : 0, known ? store.lastIndex : 0);
    }

    private static long sizeOrMinusOne(Path file) {
        try {
            return java.nio.file.Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    private void recover() throws IOException {
        if (check == null) {
            io.createDirectories(dir);
        }
        List<Path> segmentPaths = new ArrayList<>();
        for (Path path : io.list(dir)) {
            String name = path.getFileName().toString();
            if (name.endsWith(".tmp")) {
                if (check == null) {
                    io.delete(path);
                } else {
                    leftOver.add(path);
                }
            } else if (SEGMENT_NAME.matcher(name).matches()) {
                segmentPaths.add(path);
            }
        }
        Path hardStatePath = dir.resolve(HARD_STATE_FILE);
        step(hardStatePath, () -> {
            Optional<byte[]> hard = StoreFileCodec.readIfExists(io, hardStatePath, 1024);
            if (hard.isPresent()) {
                hardState = StoreFileCodec.decodeHardState(hard.get(), hardStatePath);
                if (check != null) {
                    check.hardState(hardStatePath, hardState, hard.get().length);
                }
            }
        });
        Path snapshotPath = dir.resolve(SNAPSHOT_FILE);
        boolean snapshotRead = step(snapshotPath, () -> {
            Optional<byte[]> snap = StoreFileCodec.readIfExists(io, snapshotPath, config.snapshotBytesMax() + (1L << 20));
            if (snap.isPresent()) {
                StoreFileCodec.Snapshot decoded = StoreFileCodec.decodeSnapshot(snap.get(), snapshotPath);
                snapshot = decoded.meta();
                snapshotData = decoded.data();
                if (check != null) {
                    check.snapshot(snapshotPath, snapshot, snap.get().length);
                }
            }
        });
        segmentPaths.sort(Comparator.comparingLong(FileRaftStore::baseIndexOf));
        boolean logRead = loadSegments(segmentPaths);
        if (!snapshotRead || !logRead) {
            return; // checking: where the log starts or ends is unknown; nothing more to compare
        }
        step(segments.isEmpty() ? dir : segments.get(0).path, this::completeCompaction);
        step(dir, () -> {
            if (lastIndex < hardState.commitIndex()) {
                throw new RaftStorageException("log in " + dir + " ends at index " + lastIndex
                        + ", below the persisted commit index " + hardState.commitIndex() + ": committed entries are missing");
            }
        });
    }

    /**
     * Runs one step of recovery about {@code file}. Opening, a failure stops the open; checking, an
     * I/O error or {@link RaftStorageException} is recorded as damage to {@code file} (to the log as a
     * whole when it is the directory) and the check goes on. Returns whether the step succeeded.
     */
    private boolean step(Path file, IoAction action) throws IOException {
        if (check == null) {
            action.run();
            return true;
        }
        try {
            action.run();
            return true;
        } catch (IOException | RaftStorageException e) {
            check.damaged(file, file.equals(dir), e);
            return false;
        }
    }

    /** Returns false when checking found a segment damaged (the log's end is then unknown). */
    private boolean loadSegments(List<Path> paths) throws IOException {
        long previousTerm = 0;
        boolean allRead = true;
        boolean previousRead = true;
        for (int i = 0; i < paths.size(); i++) {
            Path path = paths.get(i);
            boolean last = i == paths.size() - 1;
            LogSegment previous = segments.isEmpty() ? null : segments.get(segments.size() - 1);
            boolean gapChecked = previousRead; // after damage the previous segment's end is unknown
            long termBefore = previousTerm;
            LogSegment[] opened = new LogSegment[1];
            previousRead = step(path, () -> {
                LogSegment segment = new LogSegment(path, baseIndexOf(path), io.open(path));
                segments.add(segment);
                opened[0] = segment;
                if (previous != null && gapChecked && segment.baseIndex != previous.lastIndex() + 1) {
                    throw new RaftStorageException("gap or overlap in log: " + path + " starts at " + segment.baseIndex
                            + " but the previous segment ends at " + previous.lastIndex());
                }
                SegmentRecovery.Scan scan = SegmentRecovery.scan(segment, last, config.entryBytesMax(), termBefore);
                if (scan.tornBytes() > 0 && check == null) {
                    LOG.warn("truncating torn tail of {}: {} bytes from position {} (crash during a write)", path,
                            scan.tornBytes(), scan.validBytes());
                    segment.file.truncate(scan.validBytes());
                }
                if (check == null) {
                    // Entries a failed append wrote but never fsynced (a full disk, a killed process whose
                    // pages survived) are kept by the scan: make them durable before any answer counts them.
                    segment.file.force();
                }
                if (!last && segment.count() == 0) {
                    throw new RaftStorageException("empty segment " + path + " before the last segment");
                }
                if (check != null) {
                    check.segment(path, segment.baseIndex, segment.count(), scan);
                }
            });
            if (!previousRead) {
                allRead = false;
                if (opened[0] != null) {
                    check.segmentDamaged(path, opened[0].baseIndex, opened[0].count());
                }
            }
            LogSegment segment = opened[0];
            if (segment != null && segment.count() > 0) {
                previousTerm = segment.termAt(segment.lastIndex());
            }
        }
        lastIndex = segments.isEmpty() ? 0 : segments.get(segments.size() - 1).lastIndex();
        return allRead;
    }

    /**
     * Finishes a snapshot install interrupted by a crash (see class javadoc): keeps the log after the
     * snapshot when it continues it (starts right after it, or holds its last entry with its term),
     * otherwise discards it; deletes segments wholly covered by the snapshot.
     */
    private void completeCompaction() throws IOException {
        long snapIndex = snapshot.lastIndex();
        if (segments.isEmpty()) {
            lastIndex = snapIndex;
            return;
        }
        if (snapIndex == 0) {
            return;
        }
        long firstBase = segments.get(0).baseIndex;
        if (firstBase > snapIndex + 1) {
            throw new RaftStorageException("gap in log: snapshot ends at " + snapIndex + " but " + segments.get(0).path
                    + " starts at " + firstBase);
        }
        Optional<Long> logTerm = logTermAt(snapIndex);
        compactTo(firstBase == snapIndex + 1 || (logTerm.isPresent() && logTerm.get() == snapshot.lastTerm()));
    }

    /**
     * Deletes segments at or below the snapshot, or all of them unless {@code keepTail}. The order keeps
     * every crash point recoverable: compaction deletes oldest-first (what is left is a contiguous
     * suffix), a discard deletes newest-first (what is left is a prefix, discarded again on open).
     */
    private void compactTo(boolean keepTail) throws IOException {
        long snapIndex = snapshot.lastIndex();
        boolean changed = false;
        if (keepTail) {
            while (!segments.isEmpty() && segments.get(0).lastIndex() <= snapIndex) {
                deleteSegment(0, "wholly at or below the snapshot's last index " + snapIndex
                        + ": the node deletes it at its start (finishing a compaction a crash interrupted)");
                changed = true;
            }
        } else {
            while (!segments.isEmpty()) {
                deleteSegment(segments.size() - 1, "the log does not hold the snapshot's last entry (index " + snapIndex
                        + ", term " + snapshot.lastTerm() + "): the node discards it at its start (finishing a snapshot"
                        + " install a crash interrupted)");
                changed = true;
            }
        }
        if (changed && check == null) {
            io.syncDirectory(dir);
        }
        if (!keepTail || lastIndex < snapIndex) {
            lastIndex = snapIndex;
        }
    }

    /** Deletes a segment; checking, only notes {@code checkNote} against it. */
    private void deleteSegment(int position, String checkNote) throws IOException {
        LogSegment segment = segments.remove(position);
        segment.file.close();
        if (check == null) {
            io.delete(segment.path);
        } else {
            check.note(segment.path, checkNote);
        }
    }

    /** Term of a log entry held in a segment (ignores the snapshot). */
    private Optional<Long> logTermAt(long index) {
        LogSegment segment = segmentFor(index);
        return segment == null ? Optional.empty() : Optional.of(segment.termAt(index));
    }

    private LogSegment segmentFor(long index) {
        int lo = 0;
        int hi = segments.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            LogSegment segment = segments.get(mid);
            if (index < segment.baseIndex) {
                hi = mid - 1;
            } else if (index > segment.lastIndex()) {
                lo = mid + 1;
            } else {
                return segment;
            }
        }
        return null;
    }

    private static long baseIndexOf(Path path) {
        Matcher m = SEGMENT_NAME.matcher(path.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a segment: " + path);
        }
        return Long.parseLong(m.group(1));
    }

    @Override
    public HardState hardState() {
        checkUsable();
        return hardState;
    }

    @Override
    public void persistAndFlushHardState(HardState state) {
        checkUsable();
        java.util.Objects.requireNonNull(state, "state");
        checkHardStateTransition(state);
        runIo("persist hard state", () -> StoreFileCodec.writeAtomically(io, dir.resolve(HARD_STATE_FILE),
                StoreFileCodec.encodeHardState(state)));
        hardState = state;
    }

    /**
     * Raft safety as a pair assertion (Figure 2): the term never goes back, a vote cast in a term is
     * never changed within it, and the commit index never exceeds the log (recovery would refuse it).
     */
    private void checkHardStateTransition(HardState next) {
        if (next.term() < hardState.term()) {
            throw new IllegalArgumentException("term goes back from " + hardState.term() + " to " + next.term());
        }
        if (next.term() == hardState.term() && hardState.votedFor() != HardState.NO_VOTE
                && next.votedFor() != hardState.votedFor()) {
            throw new IllegalArgumentException("vote in term " + next.term() + " changes from " + hardState.votedFor()
                    + " to " + next.votedFor());
        }
        if (next.commitIndex() > lastIndex) {
            throw new IllegalArgumentException("commit index " + next.commitIndex() + " beyond the last index " + lastIndex);
        }
    }

    @Override
    public long firstIndex() {
        checkUsable();
        return snapshot.lastIndex() + 1;
    }

    @Override
    public long lastIndex() {
        checkUsable();
        return lastIndex;
    }

    @Override
    public Optional<Long> termAt(long index) {
        checkUsable();
        if (index == 0) {
            return Optional.of(0L);
        }
        if (index == snapshot.lastIndex()) {
            return Optional.of(snapshot.lastTerm());
        }
        if (index < snapshot.lastIndex() || index > lastIndex) {
            return Optional.empty();
        }
        return logTermAt(index);
    }

    @Override
    public List<LogEntry> entries(long fromIndex, long toIndex, long sizeBytesMax) {
        checkUsable();
        if (fromIndex < firstIndex() || toIndex > lastIndex + 1 || fromIndex > toIndex || sizeBytesMax < 0) {
            throw new IllegalArgumentException("entries [" + fromIndex + ", " + toIndex + ") outside the log ["
                    + firstIndex() + ", " + (lastIndex + 1) + ") or sizeBytesMax " + sizeBytesMax + " < 0");
        }
        List<LogEntry> result = new ArrayList<>();
        long payloadBytes = 0;
        for (long index = fromIndex; index < toIndex; index++) {
            long i = index;
            LogEntry entry = callIo("read entry " + index, () -> segmentFor(i).read(i, config.entryBytesMax()));
            if (!result.isEmpty() && payloadBytes + entry.data().length > sizeBytesMax) {
                break;
            }
            result.add(entry);
            payloadBytes += entry.data().length;
        }
        return result;
    }

    @Override
    public void appendAndFlush(List<LogEntry> entries) {
        checkUsable();
        if (entries.isEmpty()) {
            return;
        }
        validateAppend(entries);
        runIo("append entries " + entries.get(0).index() + ".." + entries.get(entries.size() - 1).index(), () -> {
            long first = entries.get(0).index();
            if (first <= lastIndex) {
                truncateFrom(first);
            }
            writeEntries(entries);
        });
    }

    private void validateAppend(List<LogEntry> entries) {
        LogEntry first = entries.get(0);
        if (first.index() < firstIndex() || first.index() > lastIndex + 1) {
            throw new IllegalArgumentException("append at index " + first.index() + " outside [" + firstIndex() + ", "
                    + (lastIndex + 1) + "]");
        }
        long previousTerm = termAt(first.index() - 1).orElseThrow();
        long expectedIndex = first.index();
        for (LogEntry entry : entries) {
            if (entry.index() != expectedIndex) {
                throw new IllegalArgumentException("entries not consecutive: expected index " + expectedIndex + ", got "
                        + entry);
            }
            if (entry.term() < previousTerm) {
                throw new IllegalArgumentException("term goes backwards at " + entry + " (previous term "
                        + previousTerm + ")");
            }
            if (entry.data().length > config.entryBytesMax()) {
                throw new StoreSizeLimitException("entryBytesMax", entry.data().length, config.entryBytesMax(),
                        "entry " + entry.index());
            }
            previousTerm = entry.term();
            expectedIndex++;
        }
    }

    /** Removes entries {@code >= index}: later segments highest-first, then cuts the one holding it. */
    private void truncateFrom(long index) throws IOException {
        boolean deleted = false;
        while (!segments.isEmpty() && segments.get(segments.size() - 1).baseIndex >= index) {
            deleteSegment(segments.size() - 1, null);
            deleted = true;
        }
        if (deleted) {
            io.syncDirectory(dir);
        }
        LogSegment holder = segmentFor(index);
        if (holder != null) {
            holder.file.truncate(holder.dropFrom(index));
            holder.file.force();
        }
        lastIndex = index - 1;
    }

    private void writeEntries(List<LogEntry> entries) throws IOException {
        boolean created = false;
        int from = 0;
        while (from < entries.size()) {
            LogSegment active = segments.isEmpty() ? null : segments.get(segments.size() - 1);
            if (active == null || active.sizeBytes() >= config.segmentBytes()) {
                active = createSegment(entries.get(from).index());
                created = true;
            }
            int to = from;
            long bytes = 0;
            // Fill the active segment up to segmentBytes (at least one entry), then roll.
            while (to < entries.size() && (to == from || active.sizeBytes() + bytes < config.segmentBytes())) {
                bytes += LogSegment.frameBytes(entries.get(to));
                to++;
            }
            ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(bytes));
            for (int i = from; i < to; i++) {
                LogSegment.encode(entries.get(i), out);
            }
            out.flip();
            active.file.writeFully(out, active.sizeBytes());
            active.file.force();
            for (int i = from; i < to; i++) {
                active.indexAppended(entries.get(i).term(), LogSegment.frameBytes(entries.get(i)));
            }
            lastIndex = entries.get(to - 1).index();
            from = to;
        }
        if (created) {
            io.syncDirectory(dir);
        }
    }

    private LogSegment createSegment(long baseIndex) throws IOException {
        Path path = dir.resolve(String.format("%020d.log", baseIndex));
        StorageFile file = io.open(path);
        LogSegment segment = new LogSegment(path, baseIndex, file);
        segments.add(segment);
        file.truncate(0);
        return segment;
    }

    @Override
    public SnapshotMeta snapshot() {
        checkUsable();
        return snapshot;
    }

    @Override
    public byte[] snapshotData() {
        checkUsable();
        return snapshotData.clone();
    }

    @Override
    public void installSnapshot(SnapshotMeta meta, byte[] data) {
        checkUsable();
        java.util.Objects.requireNonNull(meta, "meta");
        if (data.length > config.snapshotBytesMax()) {
            throw new StoreSizeLimitException("snapshotBytesMax", data.length, config.snapshotBytesMax(),
                    "snapshot at index " + meta.lastIndex());
        }
        if (meta.lastIndex() < snapshot.lastIndex() || meta.lastTerm() < 1 || meta.lastIndex() < 1
                || (meta.lastIndex() == snapshot.lastIndex() && meta.lastTerm() != snapshot.lastTerm())) {
            throw new IllegalArgumentException("snapshot " + meta + " is older than " + snapshot
                    + ", empty, or contradicts it");
        }
        byte[] copy = data.clone();
        // Raft §7: keep the entries after the snapshot only if the log holds its last entry with its term.
        Optional<Long> term = termAt(meta.lastIndex());
        boolean keepTail = term.isPresent() && term.get() == meta.lastTerm();
        runIo("install snapshot at index " + meta.lastIndex(), () -> {
            StoreFileCodec.writeAtomically(io, dir.resolve(SNAPSHOT_FILE), StoreFileCodec.encodeSnapshot(meta, copy));
            snapshot = meta;
            snapshotData = copy;
            compactTo(keepTail);
        });
    }

    @Override
    public boolean canReopen() {
        return true;
    }

    @Override
    public FileRaftStore reopen() {
        close();
        return open(dir, config, io);
    }

    @Override
    public long usableBytes() {
        try {
            return io.usableBytes(dir);
        } catch (IOException e) {
            throw new RaftStorageException("cannot read the free space of " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeFiles();
    }

    private void closeFiles() {
        for (LogSegment segment : segments) {
            try {
                segment.file.close();
            } catch (IOException e) {
                // Closing after fsync cannot lose acknowledged data; report it and go on closing the rest.
                LOG.warn("closing {} failed", segment.path, e);
            }
        }
        segments.clear();
    }

    private void checkUsable() {
        if (closed) {
            throw new IllegalStateException("raft store in " + dir + " is closed");
        }
        if (failure != null) {
            throw new RaftStorageException("raft store in " + dir + " failed earlier; reopen it to recover", failure);
        }
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private interface IoCall<T> {
        T call() throws IOException;
    }

    private void runIo(String what, IoAction action) {
        callIo(what, () -> {
            action.run();
            return null;
        });
    }

    /** Runs an I/O step; any failure marks the store failed (the node must stop, STYLE.md §2). */
    private <T> T callIo(String what, IoCall<T> call) {
        try {
            return call.call();
        } catch (IOException e) {
            failure = new RaftStorageException(what + " failed in " + dir + ": " + e.getMessage(), e);
            throw failure;
        } catch (RaftStorageException e) {
            failure = e;
            throw e;
        }
    }
}
