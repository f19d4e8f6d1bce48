package dev.basalt.log;

import dev.basalt.log.index.IndexStore;
import dev.basalt.log.index.PartitionState;
import dev.basalt.log.recovery.LoadedLog;
import dev.basalt.log.recovery.LogLoader;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns one data directory: every partition log in it, the shared RocksDB index, and the
 * background threads for retention, compaction, time-based flushes and deletes.
 *
 * <h2>Layout</h2>
 * <pre>
 * &lt;data&gt;/.lock                       held (flock) while open: one process per data dir
 * &lt;data&gt;/.clean-shutdown             present only between a clean close and the next open
 * &lt;data&gt;/index/                      the RocksDB index ({@link IndexStore})
 * &lt;data&gt;/&lt;topic&gt;-&lt;partition&gt;/        segments (see {@link dev.basalt.log.segment.Segment})
 * &lt;data&gt;/&lt;topic&gt;-&lt;p&gt;.&lt;id&gt;-delete/    a deleted partition, removed in the background
 * </pre>
 *
 * <p>Open loads partitions in parallel; after a clean close nothing is scanned (sizes from the
 * files, end offsets from the index), after a crash each partition is scanned from its recovery
 * point only. Deleting the index directory is safe: every log is rebuilt from its segments.
 *
 * <p>Thread-safety: thread-safe. Logs are created under one lock; lookups are lock-free.
 */
public final class LogManager implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LogManager.class);
    public static final String INDEX_DIR = "index";
    /** Directories other components of the node keep in the data dir (the metadata quorum's log): not partitions. */
    public static final java.util.Set<String> RESERVED_DIRS = java.util.Set.of("raft", "index.corrupt");
    /** Where a damaged index that RocksDB refused to open is kept for the operator (the newest one only). */
    public static final String CORRUPT_INDEX_DIR = "index.corrupt";
    /**
     * Written when the running index meets a damaged block: the next open sets the index aside
     * and rebuilds it even if RocksDB would open it and a load happened not to touch the damage.
     */
    public static final String REBUILD_INDEX_FILE = "index.rebuild";
    public static final String CLEAN_SHUTDOWN_FILE = ".clean-shutdown";
    public static final String LOCK_FILE = ".lock";
    public static final String DELETE_SUFFIX = "-delete";
    /** The longest file name the file systems we run on take (ext4, xfs, tmpfs: 255 bytes). */
    static final int FILE_NAME_BYTES_MAX = 255;

    private final Path dataDir;
    private final LogConfig defaults;
    private final Clock clock;
    private final FileLayer files;
    private final LogManagerOptions options;
    private final IndexStore index;
    private final FileChannel lockChannel;
    private final ScheduledThreadPoolExecutor scheduler;
    private final ConcurrentHashMap<TopicPartition, PartitionLog> logs = new ConcurrentHashMap<>();
    private final Object createLock = new Object();
    /** Partitions whose log {@link #getOrCreate} is creating outside the create lock (guarded by it). */
    private final Set<TopicPartition> creating = new HashSet<>();
    private volatile boolean closed;
    private volatile boolean openedClean;
    /** The identity (inode) of the data directory and of its lock file when opened; null if the file system has none. */
    private volatile Object dataDirKey;
    private volatile Object lockFileKey;
    /** Why the data directory is unusable (deleted, replaced), or null; once set it stays. */
    private volatile String directoryFailure;
    /** Partitions whose flushed data failed its checks at load: not opened, reported offline, repairable. */
    private final ConcurrentHashMap<TopicPartition, CorruptLogException> corrupt = new ConcurrentHashMap<>();
    /** After the index was set aside: the states read from it before, by directory name (used once, at load). */
    private Map<String, PartitionState> salvagedStates = Map.of();
    /** On a first open attempt: receives the states read, for a retry with a rebuilt index; else null. */
    private Map<String, PartitionState> statesRead;
    /** Why appends are refused (free space below the minimum, or a write failed for lack of space), or null. */
    private volatile String noSpace;
    /** Appends stop below this many free bytes (0: only a failed write stops them). */
    private volatile long freeBytesMin;
    /** Free bytes for this process on the data directory's file system at the last space check; -1 before one. */
    private volatile long usableBytes = -1;
    /** Storage errors of each periodic task over the logs ("checkpoint", "retention", ...), summarized. */
    private final Map<String, FailureSummaryLog> taskStorageErrors = new ConcurrentHashMap<>();
    static final long SPACE_CHECK_INTERVAL_MS = 250;
    /** How often the data directory's identity is checked (besides before every segment roll). */
    static final long DIRECTORY_CHECK_INTERVAL_MS = 1_000;

    private LogManager(Path dataDir, LogConfig defaults, Clock clock, FileLayer files, LogManagerOptions options,
                       IndexStore index, FileChannel lockChannel) {
        this.dataDir = dataDir;
        this.defaults = defaults;
        this.clock = clock;
        this.files = files;
        this.options = options;
        this.index = index;
        this.lockChannel = lockChannel;
        this.scheduler = new ScheduledThreadPoolExecutor(options.backgroundThreads(), namedThreads("basalt-log-background"));
        this.scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /** Opens {@code dataDir} with default options and the real file system. */
    public static LogManager open(Path dataDir, LogConfig brokerDefaults, Clock clock) {
        return open(dataDir, brokerDefaults, clock, LogManagerOptions.DEFAULT, FileLayer.DEFAULT);
    }

    /**
     * Opens (creating if needed) a data directory and loads every partition in it.
     *
     * @throws CorruptLogException if a partition's flushed data is corrupt (nothing stays open)
     * @throws LogStorageException if the directory is locked by another process or unreadable
     */
    public static LogManager open(Path dataDir, LogConfig brokerDefaults, Clock clock, LogManagerOptions options,
                                  FileLayer files) {
        Map<String, PartitionState> readStates = new HashMap<>();
        try {
            return openOnce(dataDir, brokerDefaults, clock, options, files, false, readStates);
        } catch (LogStorageException e) {
            if (!IndexStore.isCorruption(e)) {
                throw e;
            }
            // RocksDB opened the index but a read or write while loading met a damaged table block
            // (directly, or as the background error a compaction over that block left behind, which
            // then fails every write). Same remedy as a refused open: set it aside and rebuild; the
            // partition states the first attempt could read (recovery points above all) carry over.
            LOG.error("the RocksDB index of {} failed while loading partitions ({}); rebuilding it", dataDir,
                    e.getCause().getMessage());
            return openOnce(dataDir, brokerDefaults, clock, options, files, true, readStates);
        }
    }

    /**
     * @param rebuildIndex set the index aside and start an empty one, keeping the partition states
     *                     in {@code states} (read from it before); else {@code states} receives the
     *                     states this attempt reads, for a retry
     */
    private static LogManager openOnce(Path dataDir, LogConfig brokerDefaults, Clock clock, LogManagerOptions options,
                                       FileLayer files, boolean rebuildIndex, Map<String, PartitionState> states) {
        FileChannel lockChannel = null;
        IndexStore index = null;
        LogManager m;
        try {
            files.createDirectories(dataDir);
            lockChannel = lockDirectory(dataDir);
            boolean marked = Files.exists(dataDir.resolve(REBUILD_INDEX_FILE));
            Map<String, PartitionState> salvaged = new HashMap<>();
            if (rebuildIndex) {
                salvaged.putAll(states);
                moveIndexAside(dataDir, files);
                index = IndexStore.open(dataDir.resolve(INDEX_DIR));
            } else if (marked) {
                LOG.error("the RocksDB index of {} was found damaged while running ({} exists)", dataDir, REBUILD_INDEX_FILE);
                salvaged.putAll(readableStates(dataDir.resolve(INDEX_DIR)));
                moveIndexAside(dataDir, files);
                index = IndexStore.open(dataDir.resolve(INDEX_DIR));
            } else {
                index = openIndexOrRebuild(dataDir, files, salvaged);
            }
            m = new LogManager(dataDir, brokerDefaults, clock, files, options, index, lockChannel);
            m.salvagedStates = Map.copyOf(salvaged);
            m.statesRead = salvaged.isEmpty() && !rebuildIndex && !marked ? states : null;
        } catch (IOException | RuntimeException e) {
            closeQuietly(index, lockChannel);
            if (e instanceof IOException io) {
                throw new LogStorageException("cannot open data directory", dataDir, io);
            }
            throw (RuntimeException) e;
        }
        try {
            m.loadAll(Files.exists(dataDir.resolve(CLEAN_SHUTDOWN_FILE)));
            // From here on a crash must trigger recovery: the marker goes before any append.
            files.delete(dataDir.resolve(CLEAN_SHUTDOWN_FILE));
            files.fsyncDirectory(dataDir);
        } catch (IOException | RuntimeException e) {
            m.closeAfterFailedOpen();
            if (e instanceof IOException io) {
                throw new LogStorageException("cannot open data directory", dataDir, io);
            }
            throw (RuntimeException) e;
        }
        m.dataDirKey = fileKey(dataDir);
        m.lockFileKey = fileKey(dataDir.resolve(LOCK_FILE));
        m.startPeriodicTasks();
        return m;
    }

    /**
     * Opens the index; when RocksDB refuses it as corrupt (a flipped bit in its MANIFEST, WAL or
     * a table file, a cut CURRENT file), moves it to {@value #CORRUPT_INDEX_DIR} (replacing an older
     * one) and opens a new, empty one. Everything in the index can be rebuilt from the segments
     * (see the class javadoc): every partition then loads by a full scan, which rebuilds offsets,
     * times and leader epochs and treats every segment but the last as flushed. Lost with it: a
     * log start offset inside a segment (records below it become readable again until retention)
     * and the high-watermark checkpoint (a follower learns the HW from its leader again). Other
     * failures (I/O errors, a locked directory) still fail the open.
     */
    static IndexStore openIndexOrRebuild(Path dataDir, FileLayer files, Map<String, PartitionState> salvaged) throws IOException {
        Path dir = dataDir.resolve(INDEX_DIR);
        try {
            return IndexStore.open(dir);
        } catch (LogStorageException e) {
            if (!IndexStore.isCorruption(e)) {
                throw e;
            }
            LOG.error("the RocksDB index in {} is corrupt ({})", dir, e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
            salvaged.putAll(readableStates(dir));
            moveIndexAside(dataDir, files);
            return IndexStore.open(dir);
        }
    }

    /**
     * Moves the (closed) index to {@value #CORRUPT_INDEX_DIR}, replacing an older one; the next open
     * starts empty. Without an index directory (a crash after the move, before the marker was
     * removed, or an operator who deleted it) only the marker goes: the kept copy stays.
     */
    private static void moveIndexAside(Path dataDir, FileLayer files) throws IOException {
        Path dir = dataDir.resolve(INDEX_DIR);
        Path aside = dataDir.resolve(CORRUPT_INDEX_DIR);
        if (Files.exists(dir)) {
            LOG.error("moving the index {} to {}; every partition's index is rebuilt from its segments", dir, aside);
            if (Files.exists(aside)) {
                try (Stream<Path> walk = Files.walk(aside)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                        files.delete(p);
                    }
                }
            }
            files.atomicMove(dir, aside);
            files.fsyncDirectory(dataDir);
        }
        // the marker goes only after the move: a crash in between repeats the move, never skips it
        if (Files.exists(dataDir.resolve(REBUILD_INDEX_FILE))) {
            files.delete(dataDir.resolve(REBUILD_INDEX_FILE));
            files.fsyncDirectory(dataDir);
        }
    }

    /**
     * The partition states a damaged index still yields (its state scan is checked block by
     * block), or none: whatever the damage, recovery points read here beat a full-scan guess.
     */
    private static Map<String, PartitionState> readableStates(Path indexDir) {
        if (!Files.isDirectory(indexDir)) {
            return Map.of();
        }
        try {
            Map<String, PartitionState> states = IndexStore.readStates(indexDir);
            LOG.warn("kept the partition states of {} partitions from the damaged index {}", states.size(), indexDir);
            return states;
        } catch (RuntimeException e) {
            LOG.warn("no partition state readable from the damaged index {} ({})", indexDir, e.getMessage());
            return Map.of();
        }
    }

    /**
     * Takes the data directory's lock ({@value #LOCK_FILE}), held by whatever runs on the
     * directory (a broker's log manager, a controller-only node) until the returned channel is
     * closed. Throws {@link LogStorageException} "data directory is in use by another process"
     * when another process (or another holder in this JVM) has it.
     */
    public static FileChannel lockDirectory(Path dataDir) throws IOException {
        FileChannel ch = FileChannel.open(dataDir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null; // held by another holder in this JVM
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            ch.close();
            throw new LogStorageException("data directory is in use by another process", dataDir, null);
        }
        return ch;
    }

    /**
     * Whether someone holds the data directory's lock (a node running on it). Closing the probe
     * channel drops every lock this JVM holds on the file (POSIX), which only matters to tests
     * that run a holder in the same JVM.
     */
    public static boolean directoryInUse(Path dataDir) throws IOException {
        Path lockFile = dataDir.resolve(LOCK_FILE);
        if (!Files.exists(lockFile)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock lock = ch.tryLock();
            if (lock == null) {
                return true;
            }
            lock.release();
            return false;
        } catch (java.nio.channels.OverlappingFileLockException e) {
            return true; // held in this JVM (tests)
        }
    }

    private static void closeQuietly(IndexStore index, FileChannel ch) {
        if (index != null) {
            index.close();
        }
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                LOG.warn("closing lock file failed", e);
            }
        }
    }

    private void closeAfterFailedOpen() {
        scheduler.shutdownNow();
        releaseAll();
    }

    /** Drops every partition without flushing, closes the index and gives up the data-dir lock. */
    private void releaseAll() {
        for (PartitionLog log : logs.values()) {
            log.abandon();
        }
        logs.clear();
        index.close();
        try {
            lockChannel.close(); // releases the lock
        } catch (IOException e) {
            LOG.warn("closing lock file failed", e);
        }
    }

    private static ThreadFactory namedThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    private void loadAll(boolean clean) throws IOException {
        Map<String, PartitionState> states = index.loadAllStates();
        if (statesRead != null) {
            statesRead.putAll(states);
        }
        List<TopicPartition> found = new ArrayList<>();
        Set<String> pendingDeletes = new java.util.HashSet<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dataDir, Files::isDirectory)) {
            for (Path p : stream) {
                String name = p.getFileName().toString();
                if (isDeleteDirName(name)) {
                    pendingDeletes.add(name);
                    scheduler.execute(() -> deleteRecursively(p));
                } else if (!name.equals(INDEX_DIR)) {
                    TopicPartition tp = TopicPartition.parseDirName(name);
                    if (tp == null) {
                        if (!RESERVED_DIRS.contains(name)) {
                            LOG.warn("ignoring unexpected directory {}", p);
                        }
                    } else {
                        found.add(tp);
                    }
                }
            }
        }
        List<String> unindexed = found.stream().map(TopicPartition::dirName)
                .filter(d -> !states.containsKey(d) && !salvagedStates.containsKey(d)).sorted().toList();
        if (!unindexed.isEmpty()) {
            // A lost or replaced index (or a crash between a partition's creation and its first state write).
            LOG.warn("{} partition directories have no state in the index (e.g. {}): their index entries are rebuilt from"
                    + " their segments, which are scanned in full", unindexed.size(), unindexed.subList(0, Math.min(5, unindexed.size())));
        }
        loadInParallel(found, states, clean);
        index.deleteCleaningCheckpoints(); // each was for this open only (see CleaningCheckpoint)
        Set<String> present = new java.util.HashSet<>();
        found.forEach(tp -> present.add(tp.dirName()));
        for (Map.Entry<String, PartitionState> e : states.entrySet()) {
            if (present.contains(e.getKey())) {
                continue;
            }
            TopicPartition tp = TopicPartition.parseDirName(e.getKey());
            boolean deleting = isDeletionPending(pendingDeletes, e.getKey(), e.getValue().partitionId());
            if (tp == null || deleting) {
                index.deletePartition(e.getKey(), e.getValue().partitionId()); // a deletion the last run did not finish
                continue;
            }
            // The directory vanished (removed by hand, a lost mount), while the node was stopped or
            // while it ran (offlineIfDirectoryDeleted took the log offline then): its
            // records are gone. Treated as a partition found corrupt at load, from offset 0: offline,
            // so it neither leads nor stays in the ISR, and rebuilt from another replica, or, if it
            // was the only copy, served empty with the loss logged (serveIntactPrefix). Nothing is
            // created here: the index keeps its state, so every open until that rebuild (a restart,
            // an offline storage tool) finds the same vanished directory, never an empty healthy log.
            Path dir = dataDir.resolve(e.getKey());
            CorruptLogException c = new CorruptLogException(dir, 0, "the partition directory vanished (removed by"
                    + " hand or a lost mount, while the node ran or was stopped; the index knew it with recovery point "
                    + e.getValue().recoveryPoint() + "): its records are gone");
            corrupt.put(tp, c);
            startFindings.incrementAndGet();
            LOG.error("{} is offline: {}; it is rebuilt from another replica if one exists", tp, c.getMessage());
        }
        openedClean = clean;
        if (found.isEmpty()) {
            LOG.info("opened {} with no partitions", dataDir); // a new directory has no shutdown to speak of
        } else {
            LOG.info("opened {} with {} partitions ({} shutdown)", dataDir, logs.size(), clean ? "clean" : "unclean");
        }
    }

    /** Whether the previous run of this data directory ended with a clean shutdown (nothing unflushed lost). */
    public boolean openedAfterCleanShutdown() {
        return openedClean;
    }

    private void loadInParallel(List<TopicPartition> found, Map<String, PartitionState> states, boolean clean) {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(options.recoveryThreads(), options.recoveryThreads(), 0,
                TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), namedThreads("basalt-log-recovery"));
        try {
            Map<TopicPartition, Future<PartitionLog>> futures = new HashMap<>();
            for (TopicPartition tp : found) {
                PartitionState state = states.get(tp.dirName());
                PartitionState salvaged = state == null ? salvagedStates.get(tp.dirName()) : null;
                futures.put(tp, pool.submit(() -> salvaged == null ? loadPartition(tp, state, clean, defaults)
                        : loadPartitionIndexRebuilt(tp, salvaged, defaults)));
            }
            RuntimeException first = null;
            for (Map.Entry<TopicPartition, Future<PartitionLog>> f : futures.entrySet()) {
                try {
                    logs.put(f.getKey(), f.getValue().get());
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof CorruptLogException c) {
                        // One corrupt partition must not keep the others (or the node) from starting.
                        corrupt.put(f.getKey(), c);
                        startFindings.incrementAndGet();
                        LOG.error("{} is offline: {}; it is rebuilt from another replica if one exists, else see"
                                + " `basalt storage check|repair`", f.getKey(), c.getMessage());
                        continue;
                    }
                    RuntimeException cause = e.getCause() instanceof RuntimeException re ? re
                            : new LogStorageException("loading failed", dataDir.resolve(f.getKey().dirName()), e.getCause());
                    first = first == null ? cause : first;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    first = first == null ? new LogStorageException("interrupted while loading", dataDir, e) : first;
                }
            }
            if (first != null) {
                throw first;
            }
        } finally {
            pool.shutdown();
        }
    }

    private volatile Scrubber scrubber;

    /**
     * What the scrubber does with a corrupt batch it finds; the default keeps serving what lies
     * before it ({@link PartitionLog#markCorruptFrom}). The broker passes one that quarantines
     * the replica when a healthy one exists elsewhere.
     */
    public interface CorruptionHandler {
        void onCorruption(PartitionLog log, long offset, CorruptLogException e);
    }

    /** Receives corrupt batches found by reads (and by the scrubber, which {@link #startScrubbing} gives its handler). */
    private volatile CorruptionHandler corruptionHandler = (log, offset, e) -> log.markCorruptFrom(offset, e);
    private volatile FsyncListener fsyncListener = FsyncListener.NONE;

    /**
     * Reports every fsync of every partition, the logs opened before this call included (the
     * broker's metrics). Replaces the previous listener.
     */
    public void onFsync(FsyncListener listener) {
        fsyncListener = java.util.Objects.requireNonNull(listener, "listener");
    }

    /** Every log's fsyncs come here, so a listener set after open still hears the logs opened by it. */
    private void fsynced(TopicPartition tp, FsyncListener.Trigger trigger, int segments, long durationNanos) {
        fsyncListener.onFsync(tp, trigger, segments, durationNanos);
    }

    /** Sets where corrupt batches found by reads go; the default keeps serving what lies before them. */
    public void corruptionHandler(CorruptionHandler handler) {
        this.corruptionHandler = java.util.Objects.requireNonNull(handler);
    }

    /**
     * Starts background scrubbing at {@code bytesPerSecond} (see {@link Scrubber}); a tick every
     * 200 ms. Call once.
     */
    public void startScrubbing(long bytesPerSecond, CorruptionHandler handler) {
        corruptionHandler(handler);
        Scrubber s = new Scrubber(() -> Map.copyOf(logs), bytesPerSecond, handler::onCorruption);
        scrubber = s;
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                if (!closed && directoryFailure == null) {
                    s.tick(clock.millis());
                }
            } catch (RuntimeException | InternalError e) {
                // InternalError: a fault reading a mapped file (one cut under us); an uncaught
                // throwable would end this periodic task for good
                LOG.error("scrub tick failed", e);
            }
        }, SCRUB_TICK_MS, SCRUB_TICK_MS, TimeUnit.MILLISECONDS);
    }

    static final long SCRUB_TICK_MS = 200;

    /** Corrupt batches reads found since this manager opened (each log reports its first only). */
    public long readCorruptBatchesFound() {
        return readFindings.get();
    }

    private final java.util.concurrent.atomic.AtomicLong readFindings = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Partitions found corrupt when this manager opened the data directory: a batch that fails its
     * checks in flushed data (below the stored recovery point, or in a segment sealed before the
     * crash), or a partition directory that vanished (while the node was stopped, or while it ran). Each is offline
     * until it is rebuilt from another replica or repaired; a torn tail past the recovery point is
     * the expected end of a crash and is not counted.
     */
    public long startupCorruptPartitionsFound() {
        return startFindings.get();
    }

    private final java.util.concurrent.atomic.AtomicLong startFindings = new java.util.concurrent.atomic.AtomicLong();

    private final java.util.concurrent.atomic.AtomicLong compactionPassesRun = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong compactionSegmentsRewritten = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong compactionSegmentsMerged = new java.util.concurrent.atomic.AtomicLong();

    /**
     * The background cleaner's work since this manager opened: compaction passes run (ticks with
     * nothing due run none), segments they rewrote, and segments merged into others.
     */
    public long[] compactionProgress() {
        return new long[] {compactionPassesRun.get(), compactionSegmentsRewritten.get(), compactionSegmentsMerged.get()};
    }

    /** Scrub progress: bytes verified, passes completed, corrupt batches found (all 0 when not scrubbing). */
    public long[] scrubProgress() {
        Scrubber s = scrubber;
        return s == null ? new long[] {0, 0, 0} : new long[] {s.bytesScrubbed(), s.passesCompleted(), s.findings()};
    }

    /** Scrubs {@code budgetBytes} now (tests; the scheduler's ticks do this in production). */
    void scrubNow(long bytesPerSecond, long budgetBytes, CorruptionHandler handler) {
        Scrubber s = scrubber;
        if (s == null) {
            s = new Scrubber(() -> Map.copyOf(logs), bytesPerSecond, handler::onCorruption);
            scrubber = s;
        }
        s.scrub(budgetBytes);
    }

    /**
     * Takes a running log out of service because its data is corrupt: it is closed and reported
     * like a partition that failed to load ({@link #corruptPartitions()}), until {@link #repairFully}.
     */
    public void quarantine(TopicPartition tp, CorruptLogException cause) {
        synchronized (createLock) {
            PartitionLog log = logs.remove(tp);
            if (log == null) {
                return;
            }
            log.abandon();
            corrupt.put(tp, cause);
            LOG.error("{} is offline: {}; it is rebuilt from another replica (or, the only in-sync copy, cut at the corrupt batch)", tp, cause.getMessage());
        }
    }

    /** Partitions not opened because their flushed data is corrupt (see {@link #repair}). */
    public Set<TopicPartition> corruptPartitions() {
        return Set.copyOf(corrupt.keySet());
    }

    /**
     * Opens a partition that failed to load because of corruption, cutting its log at the first
     * corrupt batch (everything after it is dropped from this replica, and logged): for a replica
     * that then refetches from a healthy one, or an operator who accepts the loss of a single
     * replica. No-op (returns the log) for a partition that is not corrupt.
     */
    public PartitionLog repair(TopicPartition tp, LogConfig config) {
        ensureOpen();
        synchronized (createLock) {
            if (!corrupt.containsKey(tp)) {
                return get(tp);
            }
            PartitionState state = index.loadAllStates().get(tp.dirName());
            PartitionLog log = loadPartition(tp, state, false, config, true);
            logs.put(tp, log);
            corrupt.remove(tp);
            LOG.warn("{} repaired: log cut at offset {} (the first corrupt batch); it refetches from its leader", tp,
                    log.logEndOffset());
            return log;
        }
    }

    /**
     * A replica's repair before it refetches from its leader: the whole log is re-verified from its
     * first byte, its index rebuilt, and the log cut at the first corrupt batch; what the cut drops
     * is deleted (the leader holds it).
     *
     * @return the repaired log
     */
    public PartitionLog repairFully(TopicPartition tp, LogConfig config) {
        return repair(tp, config, null);
    }

    /**
     * The operator's repair of one partition (basalt storage repair, no healthy replica exists):
     * as {@link #repairFully}, but the bytes the cut drops (the corrupt batch and any intact
     * batches after it) are moved into {@code lost-<ms>/} in the partition directory, as the
     * online cut of an only copy does, for the operator to inspect; readers never see them again.
     *
     * @return the repaired log, and the directory the cut bytes were moved to (absent if nothing was cut)
     */
    public Repaired repairKeepingCut(TopicPartition tp, LogConfig config) {
        Path lost = dataDir.resolve(tp.dirName()).resolve(LogLoader.LOST_DIR_PREFIX + clock.millis());
        PartitionLog log = repair(tp, config, lost);
        return new Repaired(log, Files.isDirectory(lost) ? java.util.Optional.of(lost) : java.util.Optional.empty());
    }

    private PartitionLog repair(TopicPartition tp, LogConfig config, Path preserveDir) {
        ensureOpen();
        synchronized (createLock) {
            corrupt.remove(tp);
            PartitionLog log = reloadCut(tp, config, preserveDir);
            logs.put(tp, log);
            return log;
        }
    }

    /** {@link #repairKeepingCut}'s result: the log, and where the bytes the cut dropped were kept. */
    public record Repaired(PartitionLog log, java.util.Optional<Path> lostDir) {
    }

    /**
     * Under the create lock: closes the partition's open log, forgets its index and reloads it from
     * the first byte, cut at the first corrupt batch (what the cut drops is moved to {@code preserveDir}
     * when given, else deleted). Returns the log without registering it.
     */
    private PartitionLog reloadCut(TopicPartition tp, LogConfig config, Path preserveDir) {
        PartitionLog open = logs.remove(tp);
        if (open != null) {
            open.abandon();
        }
        PartitionState state = index.loadAllStates().get(tp.dirName());
        Path dir = dataDir.resolve(tp.dirName());
        boolean vanished = !Files.isDirectory(dir);
        // looked for before the index's entries go: a lost segment of a log with gaps shows only there
        long missingBase = state != null && state.gapsPossible() && !vanished
                ? LogLoader.missingSegment(dir, files, index, state.partitionId()) : -1;
        if (state != null) {
            index.clearIndex(state.partitionId());
        }
        if (vanished) {
            // a directory that vanished (loadAll found it missing): rebuilt empty
            try {
                files.createDirectories(dir);
                files.fsyncDirectory(dataDir);
            } catch (IOException e) {
                throw new LogStorageException("cannot recreate the partition directory", dir, e);
            }
        }
        if (state == null || vanished) {
            // No state: recovery scans every segment from the first byte and rebuilds the index.
            return loadPartition(tp, null, false, config, true, preserveDir);
        }
        // The state is kept for what it knows that the bytes cannot prove: that the log has no gaps,
        // and the epoch of each offset below its recovery point. Without it a damaged base offset
        // or leader epoch (outside the CRC), which reads and the scrubber find, passed the repair's
        // scan and stayed in the log. Its recovery point is trusted as a restart trusts it; every
        // segment is scanned and the index rebuilt.
        long partitionId = index.allocatePartitionId();
        PartitionState kept = new PartitionState(partitionId, state.logStartOffset(), state.recoveryPoint(), state.highWatermark(), -1,
                state.epochs(), state.gapsPossible(), state.tombstonesRemovedEnd());
        LoadedLog loaded = LogLoader.loadWithRebuiltIndex(dir, files, index, partitionId, kept, config.segmentBytes(),
                config.indexIntervalBytes(), true, preserveDir, missingBase);
        return openOrClose(loaded, () -> open(tp, dir, partitionId, loaded, config, kept.tombstonesRemovedEnd()));
    }

    /**
     * A partition that failed to load because of corruption, and of which this is the only copy
     * (no replica can rebuild it): the log is cut at its first corrupt batch, what the cut drops is
     * moved into {@code lost-<ms>/} in the partition directory (kept for the operator, never read
     * again), the offsets before it are served, and the log refuses appends for as long as this
     * process runs ({@link PartitionLog#markCorruptFrom}), so the loss is visible (reads from the
     * cut answer the corruption) before anything new takes those offsets. A restart accepts the loss.
     * When nothing before the corruption is intact (a vanished directory, a corrupt first batch)
     * the log restarts empty at the end the index last recorded, not at its old start.
     * No-op (returns the log) for a partition that is not corrupt.
     */
    public PartitionLog serveIntactPrefix(TopicPartition tp, LogConfig config) {
        return serveIntactPrefix(tp, config, true);
    }

    /**
     * As above; {@code skipLostOffsets}: whether the lost offsets of a lost tail stay a gap (the
     * next record takes the old end) or go to new records. Only a partition's sole replica may
     * skip them: a follower out of the ISR may hold some of them and would keep them past the gap.
     */
    public PartitionLog serveIntactPrefix(TopicPartition tp, LogConfig config, boolean skipLostOffsets) {
        ensureOpen();
        synchronized (createLock) {
            CorruptLogException cause = corrupt.get(tp);
            if (cause == null) {
                return get(tp);
            }
            PartitionState state = index.loadAllStates().get(tp.dirName());
            long endBefore = state == null ? -1
                    : Math.max(state.cleanEndOffset(), Math.max(state.recoveryPoint(), state.highWatermark()));
            Path lost = dataDir.resolve(tp.dirName()).resolve(LogLoader.LOST_DIR_PREFIX + clock.millis());
            PartitionLog log = reloadCut(tp, config, lost);
            long intactStart = log.logStartOffset();
            long intactEnd = log.logEndOffset();
            boolean nothingIntact = intactStart == intactEnd && endBefore > intactEnd;
            if (nothingIntact) {
                // Nothing intact is left (the directory vanished, or the first batch was corrupt):
                // the log restarts empty at its old end, so no offset is ever given to a second
                // record (a consumer's committed position then reads as out of range, never as a
                // place in other records).
                log.truncateFullyAndStartAt(endBefore);
            } else if (skipLostOffsets && endBefore > intactEnd) {
                // Likewise for a lost tail: the next record takes the old end, the lost offsets
                // stay a gap (reads of them go on to what follows).
                log.skipTo(endBefore);
            }
            corrupt.remove(tp);
            // Reads from the cut report the loss until the restart that accepts it.
            long lostFrom = nothingIntact ? Math.min(Math.max(intactStart, state.logStartOffset()), endBefore) : intactEnd;
            log.markCutAtLoad(nothingIntact ? log.logEndOffset() : intactEnd, lostFrom, cause);
            // The only in-sync copy's log is the partition's history now (as an unclean leader's
            // is): its intact prefix is served in full. Its high watermark checkpoint may be far
            // behind (written every few seconds), and with followers unable to fetch at the cut
            // (they stay out of the ISR, so nothing takes the lost offsets before a restart) it
            // could never advance: consumers would see none of the prefix.
            log.updateHighWatermark(log.logEndOffset());
            logs.put(tp, log);
            String kept = Files.isDirectory(lost) ? " (the cut bytes are kept in " + lost + ")" : "";
            if (nothingIntact) {
                LOG.error("{}: the only copy was corrupt ({}); nothing before the damage is intact (its first batch is damaged,"
                        + " or its directory is gone), and a cut drops every batch after the damage too: offsets {}..{} are"
                        + " lost{}; it starts again, empty, at offset {}; appends are refused until the node restarts, which"
                        + " accepts the loss",
                        tp, cause.getMessage(), lostFrom, endBefore - 1, kept, endBefore);
            } else {
                LOG.error("{}: the only copy was corrupt ({}); serving offsets {}..{}; everything from offset {} is lost{}{};"
                        + " appends are refused until the node restarts, which accepts the loss",
                        tp, cause.getMessage(), intactStart, intactEnd - 1, intactEnd,
                        endBefore > intactEnd ? " (" + (endBefore - intactEnd) + " offsets up to " + (endBefore - 1) + ")" : "",
                        kept);
            }
            return log;
        }
    }

    private PartitionLog loadPartition(TopicPartition tp, PartitionState state, boolean clean, LogConfig cfg) {
        return loadPartition(tp, state, clean, cfg, false);
    }

    private PartitionLog loadPartition(TopicPartition tp, PartitionState state, boolean clean, LogConfig cfg, boolean repair) {
        return loadPartition(tp, state, clean, cfg, repair, null);
    }

    private PartitionLog loadPartition(TopicPartition tp, PartitionState state, boolean clean, LogConfig cfg, boolean repair,
                                       Path preserveDir) {
        Path dir = dataDir.resolve(tp.dirName());
        long partitionId = state != null ? state.partitionId() : index.allocatePartitionId();
        LoadedLog loaded = LogLoader.load(dir, files, index, partitionId, state, clean, cfg.segmentBytes(),
                cfg.indexIntervalBytes(), repair, preserveDir);
        long removedEnd = state != null ? state.tombstonesRemovedEnd() : unknownTombstonesRemovedEnd(loaded);
        PartitionLog log = openOrClose(loaded, () -> open(tp, dir, partitionId, loaded, cfg, removedEnd));
        if (state != null && !loaded.recovered() && state.cleanEndOffset() >= 0) {
            // the checkpoint of the clean close that wrote this state: the segments are as its last pass left them
            dev.basalt.log.index.CleaningCheckpoint left = index.readCleaningCheckpoint(tp.dirName());
            if (left != null && left.partitionId() == partitionId && left.closedAtLogEnd() == state.cleanEndOffset()) {
                log.restoreCleaningMemory(left);
            }
        }
        if (state == null && removedEnd > 0) {
            log.tombstoneStateLost(removedEnd); // warns once the log is known to be compacted
        }
        return log;
    }

    /**
     * Opens the log over {@code loaded}, or closes its segments if that fails (the index refused
     * the partition's state on a full disk, say): otherwise their files stay open, and a deleted
     * one keeps its space, until the process ends.
     */
    private static PartitionLog openOrClose(LoadedLog loaded, java.util.function.Supplier<PartitionLog> open) {
        try {
            return open.get();
        } catch (RuntimeException | Error e) {
            loaded.segments().forEach(Segment::close);
            throw e;
        }
    }

    /**
     * A log with records but no stored state (the index lost it): whether compaction removed
     * tombstones from it, and below which offset, is unknown. It is taken as "anywhere below its
     * log end", so a follower of this node that is behind that offset with an old copy refetches
     * the whole log rather than keep a value whose deletion it never got (the cost: one full copy,
     * for such followers only, after a rare fault). An empty log has nothing to lack: 0.
     */
    private static long unknownTombstonesRemovedEnd(LoadedLog loaded) {
        long end = loaded.logEndOffset();
        return end > loaded.logStartOffset() ? end : 0;
    }

    /**
     * A partition whose state was read from the index before it was set aside: a new partition id
     * in the new index, a full scan to rebuild its entries, and the old state's recovery point, log
     * start offset and HW checkpoint (a bad batch below that recovery point is corruption, not a
     * torn write).
     */
    private PartitionLog loadPartitionIndexRebuilt(TopicPartition tp, PartitionState old, LogConfig cfg) {
        Path dir = dataDir.resolve(tp.dirName());
        long partitionId = index.allocatePartitionId();
        PartitionState state = new PartitionState(partitionId, old.logStartOffset(), old.recoveryPoint(), old.highWatermark(), -1,
                old.epochs(), old.gapsPossible(), old.tombstonesRemovedEnd());
        LoadedLog loaded = LogLoader.loadWithRebuiltIndex(dir, files, index, partitionId, state, cfg.segmentBytes(),
                cfg.indexIntervalBytes());
        return openOrClose(loaded, () -> open(tp, dir, partitionId, loaded, cfg, state.tombstonesRemovedEnd()));
    }

    /** @param tombstonesRemovedEnd the stored state's (0 without one); see PartitionLog#tombstonesRemovedEnd */
    private PartitionLog open(TopicPartition tp, Path dir, long partitionId, LoadedLog loaded, LogConfig cfg,
                              long tombstonesRemovedEnd) {
        if (loaded.recovered()) {
            LOG.debug("recovered {}: log end offset {}", tp, loaded.logEndOffset());
        }
        PartitionLog log = new PartitionLog(tp, dir, partitionId, loaded, tombstonesRemovedEnd, cfg, index, files, clock, scheduler,
                options.compactionKeyCountMax(), options.producersPerPartitionMax());
        log.directoryCheck(this::checkDirectory);
        log.fsyncListener(this::fsynced);
        log.writeGate(this::appendRefusal, this::onWriteFailure);
        // A read that meets a corrupt batch hands it to the same handler as the scrubber, off the reader's thread.
        log.corruptReadListener((offset, e) -> {
            readFindings.incrementAndGet();
            try {
                scheduler.execute(() -> corruptionHandler.onCorruption(log, offset, e));
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                // shutting down
            }
        });
        return log;
    }

    private static Object fileKey(Path p) {
        try {
            return Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Checks that the data directory is still the one opened: it exists, and it and its lock file
     * have the same identity (inode). After an {@code rm -rf} the open segment files stay writable
     * (unlinked), so without this check appends would keep "succeeding" into deleted files. A
     * failure takes every log offline and stays.
     *
     * @return why the directory is unusable, or null
     */
    public String checkDirectory() {
        String failure = directoryFailure;
        if (failure != null || closed) {
            return failure;
        }
        String why = null;
        if (!Files.isDirectory(dataDir)) {
            why = "data directory " + dataDir + " was deleted";
        } else if (!Files.exists(dataDir.resolve(LOCK_FILE))) {
            why = "data directory " + dataDir + " was emptied or replaced (its lock file is gone)";
        } else if (dataDirKey != null && !dataDirKey.equals(fileKey(dataDir))) {
            why = "data directory " + dataDir + " was replaced by another directory";
        } else if (lockFileKey != null && !lockFileKey.equals(fileKey(dataDir.resolve(LOCK_FILE)))) {
            why = "data directory " + dataDir + " was replaced (its lock file is a different file)";
        } else if (index.damage() != null) {
            why = "the RocksDB index is damaged (" + index.damage() + "); restart the node: it sets the index aside and"
                    + " rebuilds it from the segments";
            try {
                // its existence is the signal; the text is for the operator
                Files.writeString(dataDir.resolve(REBUILD_INDEX_FILE), why + "\n");
                files.fsyncDirectory(dataDir);
            } catch (IOException | RuntimeException e) {
                LOG.error("cannot write {} (the next start may not rebuild the index)", REBUILD_INDEX_FILE, e);
            }
        }
        if (why != null) {
            directoryFailure = why;
            LOG.error("{}: taking all {} partitions offline; restart the node once the directory is restored or reformatted", why,
                    logs.size());
            for (PartitionLog log : logs.values()) {
                log.markOffline(why);
            }
        }
        return why;
    }

    /**
     * Full-disk handling: appends are refused (fail fast, nothing half-written) once free space on
     * the data directory's file system drops below {@code minBytes} or a write fails for lack of
     * space, and resume by themselves once at least 1.5 × {@code minBytes} (and 8 MiB) are free
     * again. Checked every {@value #SPACE_CHECK_INTERVAL_MS} ms. The margin keeps the RocksDB index
     * from hitting ENOSPC, unless another writer fills the disk to the last byte: then the index is
     * reopened once there is room (RocksDB refuses every write after one failed for lack of space).
     */
    public void enforceFreeSpace(long minBytes) {
        if (minBytes < 0) {
            throw new IllegalArgumentException("minBytes " + minBytes + " < 0");
        }
        freeBytesMin = minBytes;
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                checkSpace();
            } catch (RuntimeException e) {
                LOG.error("free space check failed", e);
            }
        }, 0, SPACE_CHECK_INTERVAL_MS, TimeUnit.MILLISECONDS);
    }

    /**
     * Why appends are refused for lack of space, or null. The text is fixed while the shortage
     * lasts (its figure is the one that stopped appends): it is the reason reported to the
     * controller, and a new text would be a new metadata record every check. Operators get
     * {@link #noSpaceNow()}.
     */
    public String noSpace() {
        return noSpace;
    }

    /**
     * {@link #noSpace()} with the free bytes of the latest check (every
     * {@value #SPACE_CHECK_INTERVAL_MS} ms), for /ready and produce errors; null when there is room.
     */
    public String noSpaceNow() {
        if (noSpace == null) {
            return null;
        }
        long min = freeBytesMin;
        return "disk full: " + usableBytes + " bytes free now on " + dataDir + " (log.dir.free.bytes.min " + min
                + "; appends resume at " + resumeBytes(min) + " bytes free)";
    }

    /** Free bytes for this process on the data directory's file system at the latest check; -1 before one. */
    public long usableBytes() {
        return usableBytes;
    }

    /** Appends stop below this many free bytes ({@code log.dir.free.bytes.min}; 0: only a failed write stops them). */
    public long freeBytesMin() {
        return freeBytesMin;
    }

    /** Appends resume at this many free bytes: a margin over the minimum so the RocksDB index does not hit ENOSPC. */
    private static long resumeBytes(long minBytes) {
        return Math.max(8L << 20, minBytes + minBytes / 2);
    }

    /**
     * Why appends are refused now, or null: a full disk, or an index that refused a write for lack
     * of space and takes none until reopened (an append would get its bytes into the segment and
     * then fail to index them, which takes the replica offline until a restart).
     */
    private String appendRefusal() {
        String full = noSpaceNow();
        if (full == null && index.needsReopen()) {
            return "disk full: the index refused a write for lack of space on " + dataDir + " (it is reopened once there is room)";
        }
        return full;
    }

    /** Re-evaluates free space now (the scheduler does this every {@value #SPACE_CHECK_INTERVAL_MS} ms). */
    public void checkSpace() {
        if (closed || directoryFailure != null) {
            return;
        }
        long free;
        try {
            free = Files.getFileStore(dataDir).getUsableSpace();
        } catch (IOException e) {
            return; // the directory check reports a vanished directory
        }
        usableBytes = free;
        long min = freeBytesMin;
        long resumeBytes = resumeBytes(min);
        if (index.needsReopen() && free >= resumeBytes) {
            // Another writer filled the disk to the last byte: the index failed a write, and RocksDB
            // refuses every write after that until reopened, room or not.
            try {
                index.reopen();
                LOG.warn("RocksDB index of {} reopened after a write failed for lack of space ({} bytes free now)", dataDir, free);
            } catch (LogStorageException e) {
                LOG.error("Reopening the RocksDB index of {} after a full disk failed; retrying in {} ms", dataDir,
                        SPACE_CHECK_INTERVAL_MS, e);
                return;
            }
        }
        String reason = noSpace;
        if (reason == null && min > 0 && free < min) {
            noSpace = "disk full: " + free + " bytes free on " + dataDir + " when appends stopped (log.dir.free.bytes.min " + min + ")";
            LOG.error("{}; appends are refused until space returns (checked every {} ms)", noSpace, SPACE_CHECK_INTERVAL_MS);
        } else if (reason != null && free >= resumeBytes) {
            noSpace = null;
            LOG.warn("Space is back on {} ({} bytes free): appends resume", dataDir, free);
        }
    }

    private void onWriteFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = String.valueOf(c.getMessage());
            if (dev.basalt.common.NoSpaceMessages.saysNoSpace(m)) {
                if (noSpace == null) {
                    noSpace = "disk full: a write failed (" + m + ")";
                    LOG.error("{}; appends are refused until space returns", noSpace);
                }
                return;
            }
        }
    }

    /** Why the data directory is unusable, or null (see {@link #checkDirectory()}). */
    public String directoryFailure() {
        return directoryFailure;
    }

    /** Offline partitions and why (a storage failure, corruption or a lost directory). */
    public Map<TopicPartition, String> offlinePartitions() {
        Map<TopicPartition, String> out = new java.util.TreeMap<>(java.util.Comparator.comparing(TopicPartition::toString));
        for (TopicPartition tp : corrupt.keySet()) {
            out.put(tp, offlineReason(tp));
        }
        for (TopicPartition tp : logs.keySet()) {
            String why = offlineReason(tp);
            if (why != null) {
                out.put(tp, why);
            }
        }
        return out;
    }

    /**
     * Whether {@code tp}'s replica is only short of space: its log is intact and readable, appends
     * are refused until space returns ({@link #noSpace()}), and nothing else is wrong with it.
     */
    public boolean onlyOutOfSpace(TopicPartition tp) {
        PartitionLog log = logs.get(tp);
        return log != null && noSpace != null && log.offlineReason() == null && !corrupt.containsKey(tp);
    }

    /**
     * Why {@code tp}'s replica cannot serve, or null: its own storage failure, then a full disk,
     * then corruption found at load (the reason {@link #offlinePartitions()} gives it).
     */
    public String offlineReason(TopicPartition tp) {
        PartitionLog log = logs.get(tp);
        if (log != null) {
            String why = log.offlineReason();
            if (why != null) {
                return why;
            }
            String full = noSpace;
            if (full != null) {
                return full;
            }
        }
        CorruptLogException c = corrupt.get(tp);
        return c == null ? null : c.getMessage();
    }

    private void startPeriodicTasks() {
        if (!options.periodicTasksEnabled()) {
            return;
        }
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                if (checkDirectory() == null) {
                    checkActiveSegmentFiles();
                }
            } catch (RuntimeException e) {
                LOG.error("data directory check failed", e);
            }
        }, DIRECTORY_CHECK_INTERVAL_MS, DIRECTORY_CHECK_INTERVAL_MS, TimeUnit.MILLISECONDS);
        schedule(options.retentionCheckIntervalMs(), "retention", log -> log.applyRetention(clock.millis()));
        schedule(options.compactionIntervalMs(), "compaction", log -> {
            long passes = log.compactionPasses();
            long merged = log.segmentsMerged();
            int rewritten = log.compact(clock.millis());
            compactionPassesRun.addAndGet(log.compactionPasses() - passes);
            compactionSegmentsRewritten.addAndGet(rewritten);
            compactionSegmentsMerged.addAndGet(log.segmentsMerged() - merged);
        });
        schedule(options.flushCheckIntervalMs(), "flush", log -> log.maybeFlushByTime(clock.millis()));
        schedule(options.highWatermarkCheckpointIntervalMs(), "checkpoint", PartitionLog::checkpointHighWatermark);
        schedule(options.producerIdExpirationCheckIntervalMs(), "producer expiry",
                log -> log.removeExpiredProducers(clock.millis(), options.producerIdExpirationMs()));
    }

    /**
     * Reports every log whose partition directory was deleted, or whose active segment file was
     * deleted or cut short, while the node runs (a stat and an fstat per log, every second with
     * the directory check) like corrupt data from the log's start, the segment's base offset or
     * the first offset past the cut: a replica with a healthy copy elsewhere is rebuilt; the only
     * copy keeps serving what lies before it and refuses appends, which would otherwise be
     * acknowledged into an unlinked file or past a hole, and lost at the next start. Sealed
     * segments are the scrubber's to check.
     */
    void checkActiveSegmentFiles() {
        for (PartitionLog log : logs.values()) {
            if (closed) {
                return;
            }
            try {
                checkActiveSegmentFile(log);
            } catch (RuntimeException e) {
                // this log only (closed meanwhile, a mapping refused): the others are still checked
                LOG.warn("{}: checking its files failed: {}", log.topicPartition(), e.toString());
            }
        }
    }

    private void checkActiveSegmentFile(PartitionLog log) {
        if (log.offlineIfDirectoryDeleted()) {
            // Its records are gone from disk (what the node holds open of them would be lost at
            // the next start): a finding from the log's start, handled like corrupt data there. A
            // replica with a healthy copy elsewhere is set aside and rebuilt from the leader now,
            // as a directory found vanished at start is; the only copy stays offline.
            LOG.error("{}: its partition directory {} was deleted while the node ran; the replica is rebuilt from"
                    + " another one if one exists", log.topicPartition(), log.directory());
            corruptionHandler.onCorruption(log, log.logStartOffset(), new CorruptLogException(log.directory(), 0,
                    "the partition directory was deleted while the node ran: its records are gone from disk"));
            return;
        }
        Segment gone = log.activeSegmentIfFileGone();
        if (gone == null) {
            PartitionLog.ActiveCut cut = log.activeSegmentCut();
            if (cut != null && !log.corruptAtOrBefore(cut.firstOffsetLost())) {
                Segment seg = cut.segment();
                LOG.error("{}: the active segment {} (offsets from {}) was cut to {} bytes while the node ran, below its"
                        + " batches' {}: offsets from {} are gone from disk", log.topicPartition(), seg.path().getFileName(),
                        seg.baseOffset(), cut.onDiskBytes(), seg.sizeBytes(), cut.firstOffsetLost());
                corruptionHandler.onCorruption(log, cut.firstOffsetLost(),
                        new CorruptLogException(seg.path(), cut.onDiskBytes(), seg.cutWhileRunning(cut.onDiskBytes())));
            }
            return;
        }
        if (log.corruptAtOrBefore(gone.baseOffset())) {
            return; // reported already
        }
        CorruptLogException e = new CorruptLogException(gone.path(), 0, Segment.deletedWhileRunning());
        LOG.error("{}: the active segment {} (offsets from {}) was deleted while the node ran", log.topicPartition(),
                gone.path().getFileName(), gone.baseOffset());
        corruptionHandler.onCorruption(log, gone.baseOffset(), e);
    }

    private void schedule(long intervalMs, String what, Consumer<PartitionLog> task) {
        scheduler.scheduleWithFixedDelay(() -> forEachLog(what, task), intervalMs, intervalMs, TimeUnit.MILLISECONDS);
    }

    private void forEachLog(String what, Consumer<PartitionLog> task) {
        FailureSummaryLog storageErrors = taskStorageErrors.computeIfAbsent(what, w -> new FailureSummaryLog(LOG, "run " + w));
        for (PartitionLog log : logs.values()) {
            if (closed) {
                return;
            }
            if (log.isOffline()) {
                continue; // reported once when it went offline; no stack trace per interval
            }
            try {
                task.accept(log);
            } catch (UnknownPartitionException e) {
                // deleted while we were iterating
            } catch (LogStorageException e) {
                // a full disk fails every partition's index write, every round: summarized, not one
                // stack trace per partition per round
                storageErrors.failed(log.topicPartition(), e);
            } catch (RuntimeException | InternalError e) {
                // InternalError: a fault reading a segment's mapping (its file cut under the node);
                // the scrubber or a read reports that log; the task goes on with the others
                LOG.error("{} of {} failed", what, log.topicPartition(), e);
            }
        }
        storageErrors.endRound(clock.millis());
    }

    // ------------------------------------------------------------------ partitions

    /**
     * The partition's log, created empty (offset 0) if it does not exist; an existing log takes
     * {@code config} as its new config.
     *
     * <p>Logs of different partitions may be created concurrently: the directory checks and the
     * registration run under the create lock, the creation itself (fsyncs, the index's id, the
     * first segment: several milliseconds) outside it. A second caller for a partition being
     * created waits for that creation.
     */
    public PartitionLog getOrCreate(TopicPartition tp, LogConfig config) {
        ensureOpen();
        CorruptLogException damaged = corrupt.get(tp);
        if (damaged != null) {
            throw new LogStorageException(tp + " is offline: " + damaged.getMessage(), damaged.file(), null);
        }
        String failure = directoryFailure;
        if (failure != null && !logs.containsKey(tp)) {
            throw new LogStorageException("cannot create " + tp + ": " + failure, dataDir, null);
        }
        PartitionLog existing = logs.get(tp);
        if (existing != null) {
            existing.updateConfig(config);
            return existing;
        }
        Path dir = dataDir.resolve(tp.dirName());
        synchronized (createLock) {
            awaitCreated(tp);
            ensureOpen();
            existing = logs.get(tp);
            if (existing != null) {
                existing.updateConfig(config);
                return existing;
            }
            if (Files.exists(dir)) {
                // Every directory present at open was loaded (or marked corrupt), so this one is the
                // data of a partition deleted since whose removal failed, or was made by hand: never
                // adopted, or a topic re-created under the same name would serve the old records.
                throw new LogStorageException("cannot create " + tp + ": its directory exists but holds no open partition (a"
                        + " deleted partition's data whose removal failed, or a directory made by hand); it is not adopted:"
                        + " remove it, or restart the node, which loads it and lets the metadata decide", dir, null);
            }
            creating.add(tp);
        }
        PartitionLog log = null;
        boolean registered = false;
        try {
            try {
                files.createDirectories(dir);
                files.fsyncDirectory(dataDir);
                log = loadPartition(tp, null, false, config);
            } catch (IOException | RuntimeException e) {
                // Created just now and empty of records (the directory's fsync failed, or the index
                // refused the partition's id on a full disk, say): remove it, or the next attempt
                // would refuse to adopt it.
                if (Files.exists(dir)) {
                    deleteRecursively(dir);
                }
                if (e instanceof IOException io) {
                    throw new LogStorageException("cannot create partition directory", dir, io);
                }
                throw (RuntimeException) e;
            }
        } finally {
            synchronized (createLock) {
                creating.remove(tp);
                if (log != null && !closed) {
                    logs.put(tp, log);
                    registered = true;
                }
                createLock.notifyAll();
            }
        }
        if (!registered) {
            log.abandon(); // closed meanwhile (close waits for creations, up to its timeout): never registered
            ensureOpen();
        }
        String failedDirectory = directoryFailure;
        if (failedDirectory != null) {
            log.markOffline(failedDirectory); // the directory check ran while this log was being created
        }
        return log;
    }

    /** Under the create lock: waits until no creation of {@code tp} is in flight. */
    private void awaitCreated(TopicPartition tp) {
        while (creating.contains(tp)) {
            try {
                createLock.wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LogStorageException("interrupted while " + tp + " was being created", dataDir.resolve(tp.dirName()), null);
            }
        }
    }

    /** @throws UnknownPartitionException if there is no such log */
    public PartitionLog get(TopicPartition tp) {
        ensureOpen();
        PartitionLog log = logs.get(tp);
        if (log == null) {
            throw new UnknownPartitionException(tp);
        }
        return log;
    }

    /** A copy of the open logs' partitions (O(partitions): for a whole pass, not a per-partition check). */
    public Set<TopicPartition> partitions() {
        return Set.copyOf(logs.keySet());
    }

    /** Whether a log of {@code tp} is open here; O(1). */
    public boolean hasLog(TopicPartition tp) {
        return logs.containsKey(tp);
    }

    /**
     * Deletes a partition's data: the directory is renamed to a {@code -delete} name atomically
     * (so a partition re-created under the same name starts empty and never sees old data), its
     * index entries are removed, and the files are removed in the background. Readers holding a
     * slice keep it valid until they close it.
     *
     * @throws UnknownPartitionException if there is no such log
     */
    public void delete(TopicPartition tp) {
        ensureOpen();
        synchronized (createLock) {
            awaitCreated(tp);
            PartitionLog log = logs.remove(tp);
            if (log == null && corrupt.remove(tp) != null) {
                // never opened (corrupt): its directory goes as a whole, and its index state with it
                // (a state left behind would read as a vanished directory at the next open)
                Path doomed = dataDir.resolve(deleteDirName(tp.dirName(), "corrupt"));
                boolean present = Files.isDirectory(dataDir.resolve(tp.dirName()));
                try {
                    if (present) {
                        files.atomicMove(dataDir.resolve(tp.dirName()), doomed);
                        files.fsyncDirectory(dataDir);
                    }
                } catch (IOException e) {
                    throw new LogStorageException("cannot rename deleted partition directory", dataDir.resolve(tp.dirName()), e);
                }
                PartitionState state = index.loadAllStates().get(tp.dirName());
                if (state != null) {
                    index.deletePartition(tp.dirName(), state.partitionId());
                }
                if (present) {
                    scheduler.execute(() -> deleteRecursively(doomed));
                }
                return;
            }
            if (log == null) {
                throw new UnknownPartitionException(tp);
            }
            log.closeForDelete();
            Path dir = log.directory();
            Path doomed = dataDir.resolve(deleteDirName(tp.dirName(), Long.toString(log.partitionId())));
            try {
                files.atomicMove(dir, doomed);
                files.fsyncDirectory(dataDir);
            } catch (IOException e) {
                throw new LogStorageException("cannot rename deleted partition directory", dir, e);
            }
            index.deletePartition(tp.dirName(), log.partitionId());
            scheduler.execute(() -> deleteRecursively(doomed));
        }
    }

    /**
     * Whether a partition the index knows under {@code dirName} is being deleted: its directory was
     * renamed for deletion (by a delete, or set aside as corrupt), so its absence is no loss.
     *
     * @param deleteDirNames names of the data directory's subdirectories that end in the delete suffix
     */
    public static boolean isDeletionPending(Set<String> deleteDirNames, String dirName, long partitionId) {
        return deleteDirNames.contains(deleteDirName(dirName, Long.toString(partitionId)))
                || deleteDirNames.contains(deleteDirName(dirName, "corrupt"));
    }

    /** Whether {@code name}, a subdirectory of a data directory, is one renamed for deletion. */
    public static boolean isDeleteDirName(String name) {
        return name.endsWith(DELETE_SUFFIX);
    }

    /**
     * The name a deleted partition's directory is renamed to: {@code <dir>.<tag>-delete}, or, when
     * that would pass the 255-byte file name limit (a topic name near its 249-character maximum
     * plus a partition id), the directory name cut short and followed by {@code ~} and a CRC-32 of
     * the whole name, so the rename never fails on length and two long names that share a prefix
     * do not collide. Deterministic: a restart recomputes it to recognise an unfinished delete.
     * Topic names are ASCII, so characters are bytes.
     */
    static String deleteDirName(String dirName, String tag) {
        String full = dirName + "." + tag + DELETE_SUFFIX;
        if (full.length() <= FILE_NAME_BYTES_MAX) {
            return full;
        }
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(dirName.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        String tail = String.format("~%08x.%s%s", crc.getValue(), tag, DELETE_SUFFIX);
        return dirName.substring(0, FILE_NAME_BYTES_MAX - tail.length()) + tail;
    }

    private void deleteRecursively(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                files.delete(p);
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("could not remove {} (retried on next open): {}", dir, e.toString());
        }
    }

    // ------------------------------------------------------------------ run-once hooks

    /** One retention pass over every log at {@code nowMs}; returns segments deleted. */
    public int runRetentionOnce(long nowMs) {
        int n = 0;
        for (PartitionLog log : logs.values()) {
            n += log.applyRetention(nowMs);
        }
        return n;
    }

    /** One compaction pass of one log at {@code nowMs}; returns segments rewritten. */
    public int compactOnce(TopicPartition tp, long nowMs) {
        return get(tp).compact(nowMs);
    }

    /** Forgets producers idle for producer.id.expiration.ms in every partition (tests; also periodic); returns how many. */
    public int runProducerExpirationOnce(long nowMs) {
        int n = 0;
        for (PartitionLog log : logs.values()) {
            n += log.removeExpiredProducers(nowMs, options.producerIdExpirationMs());
        }
        return n;
    }

    /** One flush.ms evaluation over every log at {@code nowMs}; returns logs flushed. */
    public int runFlushCheckOnce(long nowMs) {
        int n = 0;
        for (PartitionLog log : logs.values()) {
            n += log.maybeFlushByTime(nowMs) ? 1 : 0;
        }
        return n;
    }

    public void checkpointHighWatermarks() {
        forEachLog("checkpoint", PartitionLog::checkpointHighWatermark);
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The shared index (tests inspect and compare it). */
    IndexStore index() {
        return index;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("log manager of " + dataDir + " is closed");
        }
    }

    // ------------------------------------------------------------------ close

    /**
     * Stops background work, closes every log cleanly (fsync, checkpoint, unmap), closes the
     * index, and leaves the clean-shutdown marker if every log closed cleanly.
     */
    @Override
    public void close() {
        synchronized (createLock) {
            if (closed) {
                return;
            }
            closed = true;
            // Creations in flight finish (a log created after this is abandoned, not registered): none
            // may still write in the data directory once its lock is released below.
            long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.shutdownTimeoutMs());
            while (!creating.isEmpty()) {
                long leftMs = TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime());
                if (leftMs <= 0) {
                    LOG.warn("closing with {} partition log(s) still being created: {}", creating.size(), creating);
                    break;
                }
                try {
                    createLock.wait(leftMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        stopScheduler();
        boolean allClean = true;
        for (PartitionLog log : logs.values()) {
            try {
                log.close();
            } catch (RuntimeException e) {
                allClean = false;
                LOG.error("closing {} failed", log.topicPartition(), e);
            }
            allClean &= log.closedCleanly();
        }
        logs.clear();
        index.close();
        if (allClean) {
            writeCleanMarker();
        }
        try {
            lockChannel.close(); // releases the lock
        } catch (IOException e) {
            LOG.warn("closing lock file failed", e);
        }
    }

    private void stopScheduler() {
        scheduler.shutdown();
        try {
            if (!scheduler.awaitTermination(options.shutdownTimeoutMs(), TimeUnit.MILLISECONDS)) {
                LOG.warn("background tasks did not stop within {} ms", options.shutdownTimeoutMs());
                scheduler.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            scheduler.shutdownNow();
        }
    }

    private void writeCleanMarker() {
        Path marker = dataDir.resolve(CLEAN_SHUTDOWN_FILE);
        try {
            Files.write(marker, new byte[0], StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
            files.fsyncDirectory(dataDir);
        } catch (IOException e) {
            LOG.warn("could not write {}: next open will run recovery", marker, e);
        }
    }

    /**
     * Test hook: stops like a killed process. Mappings and handles are released (the JVM would
     * lose them too) but nothing is flushed, sealed or marked clean; writes already made stay in
     * the page cache, as after kill -9.
     */
    void crash() {
        closed = true;
        // Not shutdownNow: an interrupt closes a FileChannel mid-fsync (ClosedByInterruptException).
        scheduler.shutdown();
        try {
            scheduler.awaitTermination(options.shutdownTimeoutMs(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        releaseAll();
    }
}
