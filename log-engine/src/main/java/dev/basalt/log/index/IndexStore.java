package dev.basalt.log.index;

import dev.basalt.log.LogStorageException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The data dir's one RocksDB: sparse offset index, time index, per-segment max timestamps,
 * per-partition state (layouts in {@link IndexKeys} and {@link PartitionState}) and snapshots of
 * each partition's idempotent-producer state (column family {@code producers}, key (partition id,
 * snapshot offset), value a {@code dev.basalt.log.producer.ProducerStateSnapshot}).
 *
 * <p>Everything here except the partition state is derived from the segments and is rebuilt by
 * recovery; writes therefore go to the WAL without fsync, and only state writes that must
 * survive a machine crash pass {@code sync}. Lookups are seek-for-prev on the floor entry; one
 * that meets a damaged block finds no entry (the caller scans the segment instead), while scans
 * and deletes whose partial result would be wrong throw ({@link #isCorruption} tells them apart).
 *
 * <p>Thread-safety: thread-safe (RocksDB is; a read-write gate keeps {@link #reopen()} from
 * closing the instance under a call); {@link #close()} must follow every other call, which the
 * {@code LogManager} guarantees by closing logs first. Native objects are closed in reverse order
 * of creation.
 */
public final class IndexStore implements AutoCloseable {
    private static final byte[] NEXT_PARTITION_ID = "next-partition-id".getBytes(StandardCharsets.UTF_8);

    private final Path dir;
    private final DBOptions dbOptions;
    private final ColumnFamilyOptions cfOptions;
    private final WriteOptions writeOptions;
    private final WriteOptions syncWriteOptions;
    private final ReadOptions readOptions;
    /**
     * Held shared by every call that touches the RocksDB instance and exclusively by
     * {@link #reopen()}, which replaces it: the native objects are never closed under a call.
     */
    private final java.util.concurrent.locks.ReentrantReadWriteLock gate = new java.util.concurrent.locks.ReentrantReadWriteLock();
    // The instance and its column families: replaced by reopen() under the exclusive gate.
    private List<ColumnFamilyHandle> handles;
    private RocksDB db;
    private ColumnFamilyHandle offsets;
    private ColumnFamilyHandle times;
    private ColumnFamilyHandle segments;
    private ColumnFamilyHandle state;
    private ColumnFamilyHandle producers;
    /** Why there is no open instance (a reopen failed, or closed), or null. Guarded by gate. */
    private String unavailable;
    /** Set by close(): the options are freed and no reopen may follow. Guarded by gate. */
    private boolean closed;
    private long nextPartitionId; // guarded by this
    private volatile String damage;
    /**
     * Set when a write failed for lack of space: RocksDB then refuses every later write, even with
     * room again, until the instance is reopened ({@link #reopen()}).
     */
    private volatile boolean outOfSpace;

    /** A floor lookup result: the index entry for the batch at {@code offset}. */
    public record OffsetPosition(long offset, long segmentBase, int position) {
    }

    /** A time index entry: batches before {@code offset} have max timestamp ≤ {@code timestamp}. */
    public record TimeEntry(long timestamp, long offset) {
    }

    private IndexStore(Path dir, DBOptions dbOptions, ColumnFamilyOptions cfOptions, List<ColumnFamilyHandle> handles,
                       RocksDB db) {
        this.dir = dir;
        this.dbOptions = dbOptions;
        this.cfOptions = cfOptions;
        attach(handles, db);
        this.writeOptions = new WriteOptions();
        this.syncWriteOptions = new WriteOptions().setSync(true);
        this.readOptions = new ReadOptions();
    }

    private void attach(List<ColumnFamilyHandle> handles, RocksDB db) {
        this.handles = handles;
        this.db = db;
        this.offsets = handles.get(OFFSETS);
        this.times = handles.get(TIMES);
        this.segments = handles.get(SEGMENTS);
        this.state = handles.get(4);
        this.producers = handles.get(5);
    }

    // Positions of the column families in descriptors() and handles.
    private static final int OFFSETS = 1;
    private static final int TIMES = 2;
    private static final int SEGMENTS = 3;

    private static List<ColumnFamilyDescriptor> descriptors(ColumnFamilyOptions cfOptions) {
        return List.of(
                new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions),
                new ColumnFamilyDescriptor(bytes("offsets"), cfOptions),
                new ColumnFamilyDescriptor(bytes("times"), cfOptions),
                new ColumnFamilyDescriptor(bytes("segments"), cfOptions),
                new ColumnFamilyDescriptor(bytes("state"), cfOptions),
                new ColumnFamilyDescriptor(bytes("producers"), cfOptions));
    }

    /**
     * Sets how RocksDB replays the write-ahead log at open: a log cut short inside its last record
     * (a write a crash interrupted) is replayed up to the cut; any other damage (a checksum mismatch
     * anywhere, zeros or garbage inside a record, as a power loss may also leave in the unsynced
     * tail) fails the open as Corruption, so the index is set aside and rebuilt from the segments,
     * keeping the partition states it can still read. RocksDB's default (point-in-time recovery)
     * instead stops at the damage and silently drops every later write, the synced partition
     * states among them: found probing, a byte flipped early in the log brought back an older state
     * saying "closed cleanly at offset N", and the acknowledged records above N vanished.
     */
    static DBOptions strictWal(DBOptions options) {
        return options.setWalRecoveryMode(org.rocksdb.WALRecoveryMode.TolerateCorruptedTailRecords);
    }

    /** Opens (creating if missing) the index at {@code dir}. */
    public static IndexStore open(Path dir) {
        dev.basalt.log.internal.RocksDbLibrary.load();
        // No fallocate: RocksDB would reserve ~1.1x the memtable size (about 70 MiB) for each new
        // write-ahead log file, which a small data volume counts as used (a fresh node on a 100 MiB
        // volume read as "disk full" before its first record).
        DBOptions dbOptions = strictWal(new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true)
                .setKeepLogFileNum(2).setMaxOpenFiles(256).setAllowFAllocate(false));
        ColumnFamilyOptions cfOptions = new ColumnFamilyOptions();
        List<ColumnFamilyDescriptor> descriptors = descriptors(cfOptions);
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        RocksDB db = null;
        try {
            db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
            byte[] next = db.get(NEXT_PARTITION_ID);
            IndexStore store = new IndexStore(dir, dbOptions, cfOptions, handles, db);
            store.nextPartitionId = next == null ? 1 : IndexKeys.readLong(next);
            return store;
        } catch (RocksDBException e) {
            for (ColumnFamilyHandle h : handles) {
                h.close();
            }
            if (db != null) {
                // opened, then a read met a damaged block: close it, or its LOCK stays held in this
                // process and the index rebuilt in its place cannot be opened
                db.close();
            }
            cfOptions.close();
            dbOptions.close();
            throw new LogStorageException("cannot open the RocksDB index", dir, e);
        }
    }

    /**
     * Throws if {@code it} stopped on an error rather than at the end: an iterator reports a
     * damaged block only through its status, and {@code isValid()} alone would read that as the
     * end of the data.
     */
    private void checkIterator(RocksIterator it, String what) {
        try {
            it.status();
        } catch (RocksDBException e) {
            throw failure(what, e);
        }
    }

    /**
     * The partition states of the index at {@code dir}, read through a read-only open that touches
     * nothing else (the partition-id counter, the other column families), for salvage from an
     * index about to be set aside as damaged.
     *
     * @throws LogStorageException if RocksDB cannot open it or the state scan meets damage
     */
    public static Map<String, PartitionState> readStates(Path dir) {
        Map<String, PartitionState> out = new HashMap<>();
        try {
            if (!readFamily(dir, "state", (k, v) -> out.put(new String(k, StandardCharsets.UTF_8), PartitionState.decode(v)))) {
                throw new LogStorageException("no partition-state column family in the RocksDB index", dir, null);
            }
            return out;
        } catch (RocksDBException e) {
            throw new LogStorageException("cannot read partition states from the RocksDB index", dir, e);
        }
    }

    /**
     * The segment base offsets the index at {@code dir} lists (see {@link #segmentBases}), by
     * partition id, read through a read-only open (offline tools: the node must not run).
     *
     * @throws LogStorageException if RocksDB cannot open it or the scan meets damage
     */
    public static Map<Long, List<Long>> readSegmentBases(Path dir) {
        Map<Long, List<Long>> out = new HashMap<>();
        try {
            readFamily(dir, "segments", (k, v) -> out.computeIfAbsent(IndexKeys.partitionOf(k), id -> new ArrayList<>())
                    .add(IndexKeys.valueOf(k)));
            return out;
        } catch (RocksDBException e) {
            throw new LogStorageException("cannot read segment entries from the RocksDB index", dir, e);
        }
    }

    /**
     * Hands every entry of one column family of the index at {@code dir}, in key order, to
     * {@code entry}, through a read-only open that touches nothing else. Point-in-time replay of
     * the write-ahead log here: entries read up to damage are older than the last ones, which the
     * callers handle (a rebuilt index ignores the states' clean end and rescans from their recovery
     * points); a strict replay would give none, and lose every log start offset and recovery point.
     *
     * @return false if the index has no such column family (or no default one)
     */
    private static boolean readFamily(Path dir, String family, java.util.function.BiConsumer<byte[], byte[]> entry)
            throws RocksDBException {
        dev.basalt.log.internal.RocksDbLibrary.load();
        try (org.rocksdb.Options listOptions = new org.rocksdb.Options();
             DBOptions dbOptions = new DBOptions();
             ColumnFamilyOptions cfOptions = new ColumnFamilyOptions();
             ReadOptions read = new ReadOptions()) {
            List<ColumnFamilyDescriptor> descriptors = listedFamilies(listOptions, dir, cfOptions);
            int at = indexOf(descriptors, bytes(family));
            if (at < 0 || indexOf(descriptors, RocksDB.DEFAULT_COLUMN_FAMILY) < 0) {
                return false;
            }
            List<ColumnFamilyHandle> handles = new ArrayList<>();
            try (RocksDB db = RocksDB.openReadOnly(dbOptions, dir.toString(), descriptors, handles);
                 RocksIterator it = db.newIterator(handles.get(at), read)) {
                for (it.seekToFirst(); it.isValid(); it.next()) {
                    entry.accept(it.key(), it.value());
                }
                it.status();
                return true;
            } finally {
                handles.forEach(ColumnFamilyHandle::close);
            }
        }
    }

    /**
     * Reads every block of every table file of the index at {@code dir}, opened read-only (which
     * replays its WAL as an open does), for offline tools: the owning node must not run, or
     * compactions could delete files under the check.
     *
     * @return null if intact, else what RocksDB reported as damage (a bad block, a missing file)
     * @throws LogStorageException when the check itself fails for another reason (an I/O error)
     */
    public static String verify(Path dir) {
        dev.basalt.log.internal.RocksDbLibrary.load();
        try (org.rocksdb.Options listOptions = new org.rocksdb.Options();
             DBOptions dbOptions = strictWal(new DBOptions().setParanoidChecks(true));
             ColumnFamilyOptions cfOptions = new ColumnFamilyOptions()) {
            List<ColumnFamilyDescriptor> descriptors = listedFamilies(listOptions, dir, cfOptions);
            if (indexOf(descriptors, RocksDB.DEFAULT_COLUMN_FAMILY) < 0) {
                return "its MANIFEST lists no column families (" + descriptors.size() + " found)";
            }
            List<ColumnFamilyHandle> handles = new ArrayList<>();
            try (RocksDB db = RocksDB.openReadOnly(dbOptions, dir.toString(), descriptors, handles)) {
                db.verifyChecksum();
                return null;
            } finally {
                handles.forEach(ColumnFamilyHandle::close);
            }
        } catch (RocksDBException e) {
            LogStorageException failure = new LogStorageException("cannot check the RocksDB index", dir, e);
            if (!isCorruption(failure)) {
                throw failure;
            }
            return e.getMessage() == null ? String.valueOf(e.getStatus()) : e.getMessage();
        }
    }

    /** The column families the index's MANIFEST lists, in its order, all with {@code cfOptions} (read-only opens). */
    private static List<ColumnFamilyDescriptor> listedFamilies(org.rocksdb.Options listOptions, Path dir, ColumnFamilyOptions cfOptions)
            throws RocksDBException {
        List<ColumnFamilyDescriptor> out = new ArrayList<>();
        for (byte[] name : RocksDB.listColumnFamilies(listOptions, dir.toString())) {
            out.add(new ColumnFamilyDescriptor(name, cfOptions));
        }
        return out;
    }

    private static int indexOf(List<ColumnFamilyDescriptor> descriptors, byte[] name) {
        for (int i = 0; i < descriptors.size(); i++) {
            if (java.util.Arrays.equals(descriptors.get(i).getName(), name)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Whether {@code e} (from {@link #open}) is RocksDB refusing damaged files: status Corruption,
     * or a file the index names (a MANIFEST named by a damaged CURRENT, a table file) not found.
     * Other I/O errors and a lock held elsewhere are not.
     */
    public static boolean isCorruption(LogStorageException e) {
        if (!(e.getCause() instanceof RocksDBException r) || r.getStatus() == null) {
            return false;
        }
        org.rocksdb.Status st = r.getStatus();
        return st.getCode() == org.rocksdb.Status.Code.Corruption
                // RocksJava maps the PathNotFound sub-code to no constant; the message is ENOENT's
                || (st.getCode() == org.rocksdb.Status.Code.IOError && String.valueOf(r.getMessage()).contains("No such file or directory"));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private LogStorageException failure(String what, RocksDBException e) {
        LogStorageException failure = new LogStorageException("index " + what + " failed", dir, e);
        org.rocksdb.Status st = e.getStatus();
        if ((st != null && st.getSubCode() == org.rocksdb.Status.SubCode.NoSpace)
                || dev.basalt.common.NoSpaceMessages.saysNoSpace(e.getMessage())) {
            outOfSpace = true;
        }
        if (damage == null && isCorruption(failure)) {
            damage = what + ": " + e.getMessage();
        }
        return failure;
    }

    /**
     * The first damaged block an operation met since open ("what: RocksDB's message"), or null.
     * A compaction that meets one leaves RocksDB refusing every later write, so once this is set
     * the index stays unusable until it is rebuilt.
     */
    public String damage() {
        return damage;
    }

    /** A RocksDB call under the shared gate; a failure becomes a LogStorageException naming {@code what}. */
    private <T> T guarded(String what, RocksCall<T> call) {
        gate.readLock().lock();
        try {
            ensureOpen();
            return call.call();
        } catch (RocksDBException e) {
            throw failure(what, e);
        } finally {
            gate.readLock().unlock();
        }
    }

    private void guardedRun(String what, RocksRun run) {
        guarded(what, () -> {
            run.run();
            return null;
        });
    }

    @FunctionalInterface
    private interface RocksCall<T> {
        T call() throws RocksDBException;
    }

    @FunctionalInterface
    private interface RocksRun {
        void run() throws RocksDBException;
    }

    /** Throws while there is no open instance (under the shared gate). */
    private void ensureOpen() {
        if (unavailable != null) {
            throw new LogStorageException("index unavailable: " + unavailable, dir, null);
        }
    }

    /** Whether a write failed for lack of space, so that only {@link #reopen()} makes writes go through again. */
    public boolean needsReopen() {
        return outOfSpace;
    }

    /**
     * Closes and opens the RocksDB instance again, after a write failed for lack of space (RocksDB
     * refuses every later write until then, even once there is room). Waits for the calls in
     * progress and holds new ones meanwhile. What RocksDB acknowledged is in its write-ahead log
     * and comes back; a write it refused was never applied. If opening fails, every call throws
     * until a later reopen succeeds.
     *
     * @throws LogStorageException if the instance cannot be opened (it is retried on the next call)
     */
    public void reopen() {
        gate.writeLock().lock();
        try {
            if (closed || (!outOfSpace && unavailable == null)) {
                return;
            }
            if (unavailable == null) {
                closeInstance();
                unavailable = "closed for a reopen after a full disk";
            }
            List<ColumnFamilyHandle> fresh = new ArrayList<>();
            try {
                RocksDB reopened = RocksDB.open(dbOptions, dir.toString(), descriptors(cfOptions), fresh);
                attach(fresh, reopened);
                unavailable = null;
                outOfSpace = false;
            } catch (RocksDBException e) {
                fresh.forEach(ColumnFamilyHandle::close);
                unavailable = "reopen after a full disk failed: " + e.getMessage();
                LogStorageException failure = new LogStorageException("cannot reopen the RocksDB index", dir, e);
                if (damage == null && isCorruption(failure)) {
                    damage = "reopen: " + e.getMessage(); // rebuilt at the next start, like any damaged index
                }
                throw failure;
            }
        } finally {
            gate.writeLock().unlock();
        }
    }

    private void closeInstance() {
        try {
            db.syncWal();
        } catch (RocksDBException e) {
            // closing anyway: the index is derived state and recovery rebuilds what is missing
        }
        for (int i = handles.size() - 1; i >= 0; i--) {
            handles.get(i).close();
        }
        db.close();
    }

    /** Compacts every column family now (RocksDB otherwise does it in the background); reads every table block. */
    public void compact() {
        guardedRun("compaction", () -> {
            for (ColumnFamilyHandle cf : handles) {
                db.compactRange(cf);
            }
        });
    }

    /** A fresh partition id, never handed out before by this index (durable before return). */
    public synchronized long allocatePartitionId() {
        gate.readLock().lock();
        try {
            ensureOpen();
            long id = nextPartitionId;
            try {
                db.put(syncWriteOptions, NEXT_PARTITION_ID, IndexKeys.longValue(id + 1));
            } catch (RocksDBException e) {
                throw failure("id allocation", e);
            }
            nextPartitionId = id + 1;
            return id;
        } finally {
            gate.readLock().unlock();
        }
    }

    // ---- partition state ----

    /** Every stored partition state, by directory name (one scan: fast open of thousands). */
    public Map<String, PartitionState> loadAllStates() {
        gate.readLock().lock();
        try {
            ensureOpen();
            Map<String, PartitionState> out = new HashMap<>();
            try (RocksIterator it = db.newIterator(state, readOptions)) {
                for (it.seekToFirst(); it.isValid(); it.next()) {
                    out.put(new String(it.key(), StandardCharsets.UTF_8), PartitionState.decode(it.value()));
                }
                checkIterator(it, "state scan");
            }
            return out;
        } finally {
            gate.readLock().unlock();
        }
    }

    public void saveState(String dirName, PartitionState s, boolean sync) {
        guardedRun("state write", () -> {
            db.put(state, sync ? syncWriteOptions : writeOptions, bytes(dirName), s.encode());
        });
    }

    // ---- cleaning checkpoints (default column family, by key only: see CleaningCheckpoint) ----

    private static final byte[] CLEANING_CHECKPOINT_PREFIX = "cleaning-checkpoint/".getBytes(StandardCharsets.UTF_8);
    /** The first key past every cleaning checkpoint's ('/' + 1 = '0'). */
    private static final byte[] CLEANING_CHECKPOINT_END = "cleaning-checkpoint0".getBytes(StandardCharsets.UTF_8);

    private static byte[] cleaningCheckpointKey(String dirName) {
        byte[] name = bytes(dirName);
        byte[] key = java.util.Arrays.copyOf(CLEANING_CHECKPOINT_PREFIX, CLEANING_CHECKPOINT_PREFIX.length + name.length);
        System.arraycopy(name, 0, key, CLEANING_CHECKPOINT_PREFIX.length, name.length);
        return key;
    }

    /** Stores what a compacted partition's last pass left, at its clean close (synced with the index WAL before the clean marker). */
    public void saveCleaningCheckpoint(String dirName, CleaningCheckpoint c) {
        guardedRun("cleaning checkpoint write", () -> db.put(writeOptions, cleaningCheckpointKey(dirName), c.encode()));
    }

    /** The partition's cleaning checkpoint, or null if none is stored or it cannot be read (then nothing is known clean). */
    public CleaningCheckpoint readCleaningCheckpoint(String dirName) {
        gate.readLock().lock();
        try {
            ensureOpen();
            byte[] v = db.get(cleaningCheckpointKey(dirName));
            return v == null ? null : CleaningCheckpoint.decode(v);
        } catch (RocksDBException | IllegalStateException e) {
            org.slf4j.LoggerFactory.getLogger(IndexStore.class).warn("cleaning checkpoint of {} not read (its first compaction pass cleans it whole): {}", dirName, e.getMessage());
            return null;
        } finally {
            gate.readLock().unlock();
        }
    }

    /** Removes every cleaning checkpoint: an open does once its partitions are loaded, so none outlives the run after its close. */
    public void deleteCleaningCheckpoints() {
        guardedRun("cleaning checkpoint removal", () -> {
            boolean any;
            try (RocksIterator it = db.newIterator(readOptions)) {
                it.seek(CLEANING_CHECKPOINT_PREFIX);
                any = it.isValid() && java.util.Arrays.compareUnsigned(it.key(), CLEANING_CHECKPOINT_END) < 0;
                checkIterator(it, "cleaning checkpoint scan");
            }
            if (any) { // an open after a close that wrote none writes nothing here
                db.deleteRange(CLEANING_CHECKPOINT_PREFIX, CLEANING_CHECKPOINT_END);
            }
        });
    }

    /** Removes a partition's state and every index entry under its id. */
    public void deletePartition(String dirName, long partitionId) {
        gate.readLock().lock();
        try {
            ensureOpen();
            try (WriteBatch batch = new WriteBatch()) {
                batch.delete(state, bytes(dirName));
                for (ColumnFamilyHandle cf : List.of(offsets, times, segments, producers)) {
                    batch.deleteRange(cf, IndexKeys.startOfPartition(partitionId), IndexKeys.endOfPartition(partitionId));
                }
                db.write(syncWriteOptions, batch);
            } catch (RocksDBException e) {
                throw failure("partition delete", e);
            }
        } finally {
            gate.readLock().unlock();
        }
    }

    /** Removes every index entry of a partition (before a full rebuild), keeping its state. */
    public void clearIndex(long partitionId) {
        deleteFrom(OFFSETS, partitionId, 0L);
        deleteFrom(TIMES, partitionId, 0L);
        deleteFrom(SEGMENTS, partitionId, 0L);
    }

    /** @param family a column family's position in {@link #descriptors} (its handle is looked up under the gate) */
    private void deleteFrom(int family, long partitionId, long fromValue) {
        guardedRun("range delete", () -> {
            db.deleteRange(handles.get(family), writeOptions, IndexKeys.key(partitionId, fromValue), IndexKeys.endOfPartition(partitionId));
        });
    }

    // ---- offset index ----

    public void putOffset(long partitionId, long offset, long segmentBase, int position) {
        guardedRun("offset write", () -> {
            db.put(offsets, writeOptions, IndexKeys.key(partitionId, offset), IndexKeys.position(segmentBase, position));
        });
    }

    /** The entry with the largest offset ≤ {@code offset}, or null. */
    public OffsetPosition floorOffset(long partitionId, long offset) {
        gate.readLock().lock();
        try {
            ensureOpen();
            try (RocksIterator it = db.newIterator(offsets, readOptions)) {
                it.seekForPrev(IndexKeys.key(partitionId, offset));
                if (!it.isValid() || IndexKeys.partitionOf(it.key()) != partitionId) {
                    return null;
                }
                java.nio.ByteBuffer v = java.nio.ByteBuffer.wrap(it.value());
                return new OffsetPosition(IndexKeys.valueOf(it.key()), v.getLong(), v.getInt());
            }
        } finally {
            gate.readLock().unlock();
        }
    }

    /** Drops offset entries at or above {@code fromOffset} (truncation). */
    public void deleteOffsetsFrom(long partitionId, long fromOffset) {
        deleteFrom(OFFSETS, partitionId, Math.max(0, fromOffset));
    }

    /** Drops offset entries in [fromOffset, toOffset) (retention, compaction rewrite). */
    public void deleteOffsetRange(long partitionId, long fromOffset, long toOffset) {
        guardedRun("range delete", () -> {
            db.deleteRange(offsets, writeOptions, IndexKeys.key(partitionId, fromOffset), IndexKeys.key(partitionId, toOffset));
        });
    }

    /** Every offset entry of a partition in order (tests compare indexes before and after a rebuild). */
    public List<OffsetPosition> offsetEntries(long partitionId) {
        gate.readLock().lock();
        try {
            ensureOpen();
            List<OffsetPosition> out = new ArrayList<>();
            try (RocksIterator it = db.newIterator(offsets, readOptions)) {
                for (it.seek(IndexKeys.startOfPartition(partitionId)); it.isValid()
                        && IndexKeys.partitionOf(it.key()) == partitionId; it.next()) {
                    java.nio.ByteBuffer v = java.nio.ByteBuffer.wrap(it.value());
                    out.add(new OffsetPosition(IndexKeys.valueOf(it.key()), v.getLong(), v.getInt()));
                }
                checkIterator(it, "offset scan");
            }
            return out;
        } finally {
            gate.readLock().unlock();
        }
    }

    // ---- time index ----

    public void putTime(long partitionId, long timestamp, long offset) {
        guardedRun("time write", () -> {
            db.put(times, writeOptions, IndexKeys.timeKey(partitionId, timestamp), IndexKeys.longValue(offset));
        });
    }

    /** The entry with the largest timestamp ≤ {@code timestamp}, or null. */
    public TimeEntry floorTime(long partitionId, long timestamp) {
        gate.readLock().lock();
        try {
            ensureOpen();
            try (RocksIterator it = db.newIterator(times, readOptions)) {
                it.seekForPrev(IndexKeys.timeKey(partitionId, timestamp));
                if (!it.isValid() || IndexKeys.partitionOf(it.key()) != partitionId) {
                    return null;
                }
                return new TimeEntry(IndexKeys.timestampOf(it.key()), IndexKeys.readLong(it.value()));
            }
        } finally {
            gate.readLock().unlock();
        }
    }

    /** The partition's newest time entry, or null. */
    public TimeEntry lastTime(long partitionId) {
        return floorTime(partitionId, Long.MAX_VALUE);
    }

    /** Drops time entries pointing at or above {@code fromOffset} (they form a suffix: both keys and values grow). */
    public void deleteTimesFromOffset(long partitionId, long fromOffset) {
        gate.readLock().lock();
        try {
            ensureOpen();
            try (RocksIterator it = db.newIterator(times, readOptions); WriteBatch batch = new WriteBatch()) {
                for (it.seekForPrev(IndexKeys.timeKey(partitionId, Long.MAX_VALUE)); it.isValid()
                        && IndexKeys.partitionOf(it.key()) == partitionId && IndexKeys.readLong(it.value()) >= fromOffset; it.prev()) {
                    batch.delete(times, it.key());
                }
                checkIterator(it, "time delete");
                db.write(writeOptions, batch);
            } catch (RocksDBException e) {
                throw failure("time delete", e);
            }
        } finally {
            gate.readLock().unlock();
        }
    }

    /** Drops time entries pointing below {@code beforeOffset} (a prefix), after retention. */
    public void deleteTimesBeforeOffset(long partitionId, long beforeOffset) {
        gate.readLock().lock();
        try {
            ensureOpen();
            try (RocksIterator it = db.newIterator(times, readOptions); WriteBatch batch = new WriteBatch()) {
                for (it.seek(IndexKeys.startOfPartition(partitionId)); it.isValid()
                        && IndexKeys.partitionOf(it.key()) == partitionId && IndexKeys.readLong(it.value()) < beforeOffset; it.next()) {
                    batch.delete(times, it.key());
                }
                checkIterator(it, "time delete");
                db.write(writeOptions, batch);
            } catch (RocksDBException e) {
                throw failure("time delete", e);
            }
        } finally {
            gate.readLock().unlock();
        }
    }

    // ---- per-segment max timestamps (retention.ms) ----

    public void putSegmentMaxTimestamp(long partitionId, long segmentBase, long maxTimestamp) {
        guardedRun("segment write", () -> {
            db.put(segments, writeOptions, IndexKeys.key(partitionId, segmentBase), IndexKeys.longValue(maxTimestamp));
        });
    }

    /** The stored max timestamp of a segment, or {@code Long.MIN_VALUE} if unknown. */
    public long segmentMaxTimestamp(long partitionId, long segmentBase) {
        return guarded("segment read", () -> {
            byte[] v = db.get(segments, readOptions, IndexKeys.key(partitionId, segmentBase));
            return v == null ? Long.MIN_VALUE : IndexKeys.readLong(v);
        });
    }

    /**
     * The base offsets of the partition's segments that have a stored max timestamp (every sealed
     * segment gets one when it is rolled; removing a segment deletes it first), in order.
     */
    public List<Long> segmentBases(long partitionId) {
        return keysOf(() -> segments, partitionId, "segment scan");
    }

    public void deleteSegmentMaxTimestamp(long partitionId, long segmentBase) {
        guardedRun("segment delete", () -> {
            db.delete(segments, writeOptions, IndexKeys.key(partitionId, segmentBase));
        });
    }

    // ---- producer-state snapshots ----

    /** Stores a snapshot of the partition's producer state as of {@code offset}. */
    public void putProducerSnapshot(long partitionId, long offset, byte[] snapshot) {
        guardedRun("producer snapshot write", () -> {
            db.put(producers, writeOptions, IndexKeys.key(partitionId, offset), snapshot);
        });
    }

    /** The newest snapshot at or below {@code offset}: (offset, bytes), or null when there is none. */
    public Map.Entry<Long, byte[]> floorProducerSnapshot(long partitionId, long offset) {
        gate.readLock().lock();
        try {
            ensureOpen();
            try (RocksIterator it = db.newIterator(producers, readOptions)) {
                it.seekForPrev(IndexKeys.key(partitionId, offset));
                if (!it.isValid() || IndexKeys.partitionOf(it.key()) != partitionId) {
                    return null;
                }
                return Map.entry(IndexKeys.valueOf(it.key()), it.value());
            }
        } finally {
            gate.readLock().unlock();
        }
    }

    /** Offsets of the partition's snapshots, oldest first. */
    public List<Long> producerSnapshotOffsets(long partitionId) {
        return keysOf(() -> producers, partitionId, "producer snapshot scan");
    }

    /** The values (offsets) of the partition's keys in a column family, in order; {@code family} is read under the gate. */
    private List<Long> keysOf(java.util.function.Supplier<ColumnFamilyHandle> family, long partitionId, String what) {
        gate.readLock().lock();
        try {
            ensureOpen();
            List<Long> out = new ArrayList<>();
            try (RocksIterator it = db.newIterator(family.get(), readOptions)) {
                for (it.seek(IndexKeys.startOfPartition(partitionId)); it.isValid() && IndexKeys.partitionOf(it.key()) == partitionId;
                     it.next()) {
                    out.add(IndexKeys.valueOf(it.key()));
                }
                checkIterator(it, what);
            }
            return out;
        } finally {
            gate.readLock().unlock();
        }
    }

    /** Deletes the snapshot at {@code offset} (a point deletion; not synced: an old snapshot left behind is harmless). */
    public void deleteProducerSnapshot(long partitionId, long offset) {
        guardedRun("producer snapshot delete", () -> {
            db.delete(producers, writeOptions, IndexKeys.key(partitionId, offset));
        });
    }

    /**
     * Deletes the snapshots in [fromOffset, toOffset). {@code sync} when the deletion must survive a
     * machine crash: after a truncation, a snapshot above the cut describes batches that are gone
     * and whose offsets new batches will take.
     */
    public void deleteProducerSnapshots(long partitionId, long fromOffset, long toOffset, boolean sync) {
        guardedRun("producer snapshot delete", () -> {
            db.deleteRange(producers, sync ? syncWriteOptions : writeOptions, IndexKeys.key(partitionId, fromOffset),
                    toOffset == Long.MAX_VALUE ? IndexKeys.endOfPartition(partitionId) : IndexKeys.key(partitionId, toOffset));
        });
    }

    /** fsyncs the WAL: every index write made so far survives a machine crash. */
    public void syncWal() {
        guardedRun("WAL sync", () -> {
            db.syncWal();
        });
    }

    @Override
    public void close() {
        gate.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            if (unavailable == null) {
                closeInstance();
            }
            unavailable = "closed";
            readOptions.close();
            syncWriteOptions.close();
            writeOptions.close();
            cfOptions.close();
            dbOptions.close();
        } finally {
            gate.writeLock().unlock();
        }
    }
}
