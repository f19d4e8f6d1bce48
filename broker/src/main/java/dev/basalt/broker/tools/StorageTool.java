package dev.basalt.broker.tools;

import dev.basalt.broker.config.ConfigException;
import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.storage.StorageDirectory;
import dev.basalt.broker.storage.StorageMeta;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * {@code basalt storage ...}: offline tools for a node's data directory (the node must not be
 * running). {@code random-uuid} prints a new cluster id; {@code format} writes a directory's
 * identity (see {@link StorageMeta}); {@code info} prints it; {@code check} verifies every batch
 * of every segment, the index and the node's metadata Raft log ({@code raft/}, read-only, judged by
 * the store's own recovery rules: {@link dev.basalt.raft.log.FileRaftStore#check}); {@code repair}
 * also cuts corrupt partition logs at their first corrupt batch (never the metadata log).
 *
 * <p>Exit codes: 0 done; 1 the directory cannot be used as asked (the reason is printed); 2 bad
 * arguments or configuration.
 *
 * <p>Thread-safety: a command-line tool; one thread.
 */
public final class StorageTool {
    static final int EXIT_OK = 0;
    static final int EXIT_REFUSED = 1;
    static final int EXIT_USAGE = 2;

    static final String USAGE = """
            Usage: basalt storage <command> ...

              random-uuid                          print a new random cluster id
              format --config FILE --cluster-id ID [--initial-voters | --join]
                                                   format the node's data.dir (once, before its first start);
                                                   controllers say --initial-voters (the first voters of a new
                                                   cluster) or --join (rejoin after the metadata log was lost:
                                                   the node gets a new directory id and does not vote until a
                                                   voter change re-adds it; partition data is kept)
              info --config FILE                   print the directory's identity
              check --dir D [--partition T-P]      verify every batch of every segment (CRC, structure,
                                                   offsets) from the first byte, and (without --partition, node
                                                   stopped) every block of the RocksDB index and the metadata
                                                   log in D/raft (read only, as the node's start judges it);
                                                   exit 1 if corruption is found
              repair --dir D [--partition T-P]     like check, then cut each corrupt log at its first corrupt
                                                   batch (reporting what is lost) so the node starts, and mark a
                                                   damaged index for rebuild; refused while the node runs; use
                                                   only when no healthy replica exists (a replica is otherwise
                                                   rebuilt from the others by the running node)
            """;

    private final PrintStream out;
    private final PrintStream err;
    /**
     * Runs just before {@code check} reads each partition's directory (tests: the running node's
     * topic deletion landing between the listing and the read).
     */
    java.util.function.Consumer<dev.basalt.log.TopicPartition> beforeVerify = tp -> { };

    /** A tool writing to {@code out} and {@code err} (tests drive it in process, as an operator would from the CLI). */
    public StorageTool(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(new StorageTool(System.out, System.err).run(args));
    }

    /** Runs one command ({@code check}, {@code repair}, ...); returns its exit code. */
    public int run(String... args) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            out.print(USAGE);
            return args.length == 0 ? EXIT_USAGE : EXIT_OK;
        }
        List<String> rest = new ArrayList<>(List.of(args).subList(1, args.length));
        try {
            return switch (args[0]) {
                case "random-uuid" -> {
                    requireEmpty(rest);
                    out.println(UUID.randomUUID());
                    yield EXIT_OK;
                }
                case "format" -> format(rest);
                case "info" -> info(rest);
                case "check" -> check(rest, false);
                case "repair" -> check(rest, true);
                default -> usage("unknown command '" + args[0] + "'");
            };
        } catch (BadArgumentException e) {
            // well-formed, but names nothing there: the message says what, the usage would bury it
            err.println("basalt storage: " + e.getMessage());
            return EXIT_USAGE;
        } catch (UsageException e) {
            return usage(e.getMessage());
        } catch (ConfigException e) {
            err.println("basalt storage: " + e.getMessage());
            return EXIT_USAGE;
        } catch (StorageDirectory.StorageIdentityException | IllegalArgumentException | dev.basalt.log.LogStorageException
                 | dev.basalt.log.CorruptLogException e) {
            err.println("basalt storage: " + e.getMessage());
            return EXIT_REFUSED;
        } catch (IOException e) {
            err.println("basalt storage: " + e);
            return EXIT_REFUSED;
        }
    }

    private int format(List<String> args) throws IOException {
        NodeConfig config = NodeConfig.load(Path.of(option(args, "--config")));
        String clusterId = option(args, "--cluster-id");
        boolean initial = args.remove("--initial-voters");
        boolean join = args.remove("--join");
        requireEmpty(args);
        if (initial && join) {
            throw new UsageException("--initial-voters and --join exclude each other");
        }
        StorageDirectory.VoterMode mode = initial ? StorageDirectory.VoterMode.INITIAL : join ? StorageDirectory.VoterMode.JOIN : null;
        if (java.nio.file.Files.isDirectory(config.dataDir()) && inUse(config.dataDir())) {
            // after review: --join moves the metadata log aside, which must never happen under a running voter
            err.println("basalt storage: " + config.dataDir() + " is in use by a running node: stop it first");
            return EXIT_REFUSED;
        }
        StorageMeta meta = StorageDirectory.format(config, clusterId, mode);
        out.println("Formatted " + config.dataDir().toAbsolutePath() + ": cluster " + meta.clusterId() + ", node " + meta.nodeId()
                + ", directory " + meta.directoryId() + ", metadata log " + meta.metadataLog().name().toLowerCase(java.util.Locale.ROOT));
        if (join) {
            out.println("Start the node, then on the active controller: curl -X POST 'http://ADMIN/quorum/remove-voter?id="
                    + meta.nodeId() + "' and then 'http://ADMIN/quorum/add-voter?id=" + meta.nodeId() + "'");
        }
        return EXIT_OK;
    }

    private int info(List<String> args) throws IOException {
        NodeConfig config = NodeConfig.load(Path.of(option(args, "--config")));
        requireEmpty(args);
        StorageMeta meta = StorageMeta.read(config.dataDir());
        if (meta == null) {
            err.println("basalt storage: " + config.dataDir().toAbsolutePath() + " is not formatted");
            return EXIT_REFUSED;
        }
        out.println("directory " + config.dataDir().toAbsolutePath() + ": cluster " + meta.clusterId() + ", node " + meta.nodeId()
                + ", directory id " + meta.directoryId() + ", metadata log " + meta.metadataLog().name().toLowerCase(java.util.Locale.ROOT));
        return EXIT_OK;
    }

    private int check(List<String> args, boolean repair) throws IOException {
        Path dir = Path.of(option(args, "--dir"));
        String only = args.contains("--partition") ? option(args, "--partition") : null;
        requireEmpty(args);
        if (!java.nio.file.Files.isDirectory(dir)) {
            throw new BadArgumentException(dir + (java.nio.file.Files.exists(dir) ? " is not a directory" : " does not exist")
                    + " (--dir names a node's data directory, data.dir in its config)");
        }
        List<dev.basalt.log.TopicPartition> partitions = new ArrayList<>();
        List<String> present = new ArrayList<>();
        java.util.Set<String> deleteDirs = new java.util.HashSet<>();
        try (var s = java.nio.file.Files.newDirectoryStream(dir, java.nio.file.Files::isDirectory)) {
            for (Path p : s) {
                if (dev.basalt.log.LogManager.isDeleteDirName(p.getFileName().toString())) {
                    deleteDirs.add(p.getFileName().toString());
                }
                dev.basalt.log.TopicPartition tp = dev.basalt.log.TopicPartition.parseDirName(p.getFileName().toString());
                if (tp != null) {
                    present.add(tp.toString());
                }
                if (tp != null && (only == null || tp.toString().equals(only))) {
                    partitions.add(tp);
                }
            }
        }
        partitions.sort(java.util.Comparator.comparing(dev.basalt.log.TopicPartition::toString));
        // The node holds this lock while it runs: a repair is refused up front, and the index (which
        // a running node compacts under a reader) is checked only when the node is stopped.
        boolean inUse = inUse(dir);
        if (repair && inUse) {
            err.println("basalt storage: " + dir + " is in use by a running node: stop it first");
            return EXIT_REFUSED;
        }
        String indexDamage = null;
        Path index = dir.resolve(dev.basalt.log.LogManager.INDEX_DIR);
        if (only == null && !java.nio.file.Files.isDirectory(index) && !partitions.isEmpty()) {
            // Found probing: with index/ deleted the check printed no index line at all.
            out.println("index: missing: the node rebuilds every partition's stored state from its segments at its next start");
        }
        if (only == null && java.nio.file.Files.isDirectory(index)) {
            if (inUse) {
                out.println("index: not checked (a node is running on this directory)");
            } else {
                try {
                    indexDamage = dev.basalt.log.index.IndexStore.verify(index);
                } catch (dev.basalt.log.LogStorageException e) {
                    err.println("basalt storage: the index could not be checked: " + e.getMessage());
                    return EXIT_REFUSED;
                }
                out.println(indexDamage == null ? "index: ok"
                        : "index: DAMAGED (" + indexDamage + "); " + (repair ? "marked: the node sets it aside and rebuilds it from"
                                + " the segments at its next start" : "run basalt storage repair to mark it: the node then sets it aside"
                                + " and rebuilds it from the segments at its next start (a node started without it may not notice"
                                + " damage its reads never meet)"));
            }
        }
        // The partitions' stored states say what the bytes cannot: whether a log may have gaps, and
        // the epoch of each offset below its recovery point (base offset and epoch are outside the
        // CRC). Read only from an index that is intact and not in use.
        java.util.Map<String, dev.basalt.log.index.PartitionState> states = java.util.Map.of();
        String statesMissing = null;
        if (inUse) {
            statesMissing = "a node is running on this directory";
        } else if (!java.nio.file.Files.isDirectory(index)) {
            statesMissing = "no index";
        } else if (indexDamage != null) {
            statesMissing = "the index is damaged";
        } else {
            try {
                states = dev.basalt.log.index.IndexStore.readStates(index);
            } catch (dev.basalt.log.LogStorageException e) {
                statesMissing = "the index could not be read: " + e.getMessage();
            }
        }
        if (only != null && partitions.isEmpty() && !states.containsKey(only)) {
            // A partition the index knows but whose directory is gone is reported below as missing
            // (found probing: --partition called it a typo, exit 2, where the full check said missing).
            java.util.Collections.sort(present);
            throw new BadArgumentException("no partition " + only + " in " + dir + (present.isEmpty() ? " (it holds no partition)"
                    : " (it holds " + String.join(", ", present.subList(0, Math.min(10, present.size())))
                    + (present.size() > 10 ? ", ... " + present.size() + " in all" : "") + ")"));
        }
        if (only == null && statesMissing == null && states.isEmpty() && !partitions.isEmpty()) {
            // Found probing: with the index's files deleted it said only "index: ok".
            out.println("index: holds no partition's stored state (its files lost, or never written): the node rebuilds them"
                    + " from the segments at its next start");
        }
        if (statesMissing != null) {
            out.println("base offsets and leader epochs: not checked (" + statesMissing + "; they need each partition's stored"
                    + " state)");
        }
        // Segments the index lists: in a log that may have gaps (compacted) a lost segment file
        // shows only there (the offsets around it cannot tell it from compaction's gaps).
        java.util.Map<Long, List<Long>> listedSegments = java.util.Map.of();
        if (statesMissing == null && !states.isEmpty()) {
            try {
                listedSegments = dev.basalt.log.index.IndexStore.readSegmentBases(index);
            } catch (dev.basalt.log.LogStorageException e) {
                out.println("segment files of compacted logs: not checked against the index (" + e.getMessage() + ")");
            }
        }
        List<dev.basalt.log.TopicPartition> corrupt = new ArrayList<>();
        int flushedMissing = 0;
        int gone = 0;
        for (dev.basalt.log.TopicPartition tp : partitions) {
            dev.basalt.log.index.PartitionState state = states.get(tp.dirName());
            dev.basalt.log.recovery.LogVerifier.Report r;
            try {
                beforeVerify.accept(tp);
                r = dev.basalt.log.recovery.LogVerifier.verify(dir.resolve(tp.dirName()), dev.basalt.log.segment.FileLayer.DEFAULT,
                        state);
            } catch (java.nio.file.NoSuchFileException e) {
                if (!inUse || java.nio.file.Files.isDirectory(dir.resolve(tp.dirName()))) {
                    throw e;
                }
                // Found probing: a topic deleted by the running node during the check ended it with
                // "NoSuchFileException" and exit 1 ("corruption found"), the other partitions unchecked.
                gone++;
                out.println(tp + ": gone (deleted by the running node during the check)");
                continue;
            }
            String lostSegment = state == null || !state.gapsPossible() ? null
                    : lostSegment(dir.resolve(tp.dirName()), listedSegments.getOrDefault(state.partitionId(), List.of()));
            if (lostSegment != null) {
                corrupt.add(tp);
                out.println(tp + ": CORRUPT: " + lostSegment + "; the log after the segment before it cannot be trusted (a"
                        + " replica refetches it from its leader; storage repair cuts the log there)");
            } else if (r.clean() && state != null && r.nextOffset() < state.recoveryPoint()) {
                // Found probing: the files end cleanly at a batch boundary (a zeroed or cut tail), so
                // every batch checks out, yet offsets the node had flushed (and acknowledged) are gone;
                // the node sees it at its start, and this said "ok".
                flushedMissing++;
                out.println(tp + ": FLUSHED DATA MISSING: the log ends at offset " + r.nextOffset() + ", below its recovery point "
                        + state.recoveryPoint() + ": offsets " + r.nextOffset() + ".." + (state.recoveryPoint() - 1) + " were"
                        + " written and flushed and are gone from the files (" + r.segments() + " segments, " + r.batchesVerified()
                        + " batches intact before); a replica refetches them from its leader; an only copy has lost them (the"
                        + " node serves the offsets before and refuses appends until a restart accepts the loss)");
            } else if (r.clean()) {
                out.println(tp + ": ok (" + r.segments() + " segments, " + r.batchesVerified() + " batches, " + r.bytesVerified()
                        + " bytes, next offset " + r.nextOffset() + ")" + (statesMissing == null && state == null
                                ? "; no stored state in the index: base offsets and leader epochs not checked" : ""));
            } else {
                var c = r.corruption();
                corrupt.add(tp);
                out.println(tp + ": CORRUPT at offset " + c.offset() + ", " + c.file().getFileName() + " byte " + c.position() + ": "
                        + c.reason() + "; " + r.batchesVerified() + " batches before it are intact; a cut there loses " + c.lost()
                        + (c.lost().batches() > 0 && c.lost().firstBatchOffset() > c.offset() && endsInsideBatch(c.file(), c.position())
                                ? "; the file ends inside that batch (it was cut short): offsets " + c.offset() + ".."
                                        + (c.lost().firstBatchOffset() - 1) + " are already missing from the files" : "")
                        + (state != null && state.recoveryPoint() > Math.max(c.offset(), c.lost().lastOffset() + 1)
                                ? "; offsets " + Math.max(c.offset(), c.lost().lastOffset() + 1) + ".." + (state.recoveryPoint() - 1)
                                        + " were flushed (below the recovery point " + state.recoveryPoint() + ") and are "
                                        + (c.lost().unparsableBytes() > 0 ? "unreadable in the unparsable bytes or missing from the files"
                                                : "already missing from the files") : ""));
            }
        }
        // Partitions the index knows whose directory is gone (removed by hand, a lost mount): the
        // node finds them at its start and treats them as corrupt from offset 0. Found probing: this
        // said "0 corrupt" and exited 0 for a deleted partition directory.
        int vanished = 0;
        {
            List<String> known = new ArrayList<>(states.keySet());
            java.util.Collections.sort(known);
            for (String name : known) {
                if (only != null && !name.equals(only)) {
                    continue;
                }
                dev.basalt.log.index.PartitionState state = states.get(name);
                dev.basalt.log.TopicPartition tp = dev.basalt.log.TopicPartition.parseDirName(name);
                if (tp == null || java.nio.file.Files.isDirectory(dir.resolve(name))
                        || dev.basalt.log.LogManager.isDeletionPending(deleteDirs, name, state.partitionId())) {
                    continue;
                }
                vanished++;
                out.println(tp + ": DIRECTORY MISSING: the index knows this partition (recovery point " + state.recoveryPoint()
                        + ") but " + dir.resolve(name) + " is gone: its records are lost here; the node reports it offline at its"
                        + " start and a replica refetches it from its leader (an only copy is served empty, the loss logged)"
                        + (repair ? "; nothing to repair here" : ""));
            }
        }
        boolean metadataLogDamaged = only == null && checkMetadataLog(dir, inUse);
        if (repair && indexDamage != null) {
            // what the node itself does when it meets the damage while running: its next open rebuilds
            java.nio.file.Files.writeString(dir.resolve(dev.basalt.log.LogManager.REBUILD_INDEX_FILE),
                    "basalt storage repair: " + indexDamage + "\n");
            dev.basalt.log.segment.FileLayer.DEFAULT.fsyncDirectory(dir);
            out.println("index: marked for rebuild");
        }
        if (!repair || corrupt.isEmpty()) {
            out.println((partitions.size() - gone) + " partitions checked, " + corrupt.size() + " corrupt"
                    + (gone == 0 ? "" : ", " + gone + " deleted during the check")
                    + (flushedMissing == 0 ? "" : ", " + flushedMissing + " missing flushed data")
                    + (vanished == 0 ? "" : ", " + vanished + " directories missing")
                    + (indexDamage == null ? "" : ", index damaged")
                    + (metadataLogDamaged ? ", metadata log damaged" : ""));
            return corrupt.isEmpty() && flushedMissing == 0 && (vanished == 0 || repair) && (indexDamage == null || repair)
                    && !metadataLogDamaged ? EXIT_OK : EXIT_REFUSED;
        }
        // Opening the manager takes the data directory's lock: refused while the node runs.
        try (dev.basalt.log.LogManager logs = dev.basalt.log.LogManager.open(dir, dev.basalt.log.LogConfig.DEFAULT,
                java.time.Clock.systemUTC(), dev.basalt.log.LogManagerOptions.DEFAULT.withoutPeriodicTasks(),
                dev.basalt.log.segment.FileLayer.DEFAULT)) {
            for (dev.basalt.log.TopicPartition tp : corrupt) {
                dev.basalt.log.LogManager.Repaired r = logs.repairKeepingCut(tp, dev.basalt.log.LogConfig.DEFAULT);
                out.println(tp + ": repaired; the log now ends at offset " + r.log().logEndOffset()
                        + r.lostDir().map(d -> "; the cut bytes are kept in " + d).orElse(""));
            }
        }
        out.println(partitions.size() + " partitions checked, " + corrupt.size() + " repaired"
                + (vanished == 0 ? "" : ", " + vanished + " directories missing (rebuilt by the node at its start)")
                + (metadataLogDamaged ? ", metadata log damaged (not repaired)" : ""));
        return metadataLogDamaged ? EXIT_REFUSED : EXIT_OK;
    }

    /**
     * Checks the metadata Raft log in {@code dir/raft} read-only, with the store's own recovery rules
     * ({@link dev.basalt.raft.log.FileRaftStore#check}), and prints a line per file and one for the
     * log. Returns whether the node would refuse to start on it. Before this, check said nothing of
     * the metadata log: a damaged one passed as "ok" and the node then refused to start.
     */
    private boolean checkMetadataLog(Path dir, boolean inUse) {
        Path raft = dir.resolve(dev.basalt.broker.storage.StorageDirectory.RAFT_DIR);
        if (!java.nio.file.Files.isDirectory(raft)) {
            out.println("metadata log: none (no " + raft + "; a broker-only node keeps no metadata log)");
            return false;
        }
        if (inUse) {
            out.println("metadata log: not checked (a node is running on this directory)");
            return false;
        }
        dev.basalt.raft.log.RaftStoreCheck c = dev.basalt.raft.log.FileRaftStore.check(raft,
                dev.basalt.raft.log.FileRaftStore.Config.DEFAULT);
        String wayBack = "the node refuses to start on it: move " + raft + " aside and rejoin the quorum (basalt storage format"
                + " --join, then remove-voter and add-voter; docs/operations.md, \"A lost metadata log\"); never edit it in place";
        boolean hardStateSeen = false;
        for (dev.basalt.raft.log.RaftStoreCheck.FileResult f : c.files()) {
            String file = f.file().getFileName().toString();
            boolean segment = file.endsWith(".log");
            hardStateSeen |= file.equals("hardstate");
            String what = switch (f.verdict()) {
                case INTACT -> "ok (" + (segment ? f.entries() + " entries" + (f.entries() > 0 ? ", indexes " + f.firstIndex() + ".."
                        + f.lastIndex() : "") + ", " : file.equals("hardstate") ? describe(c.hardState()) + ", "
                        : c.snapshot() != null ? "last index " + c.snapshot().lastIndex() + ", term " + c.snapshot().lastTerm() + ", "
                        : "") + f.fileBytes() + " bytes)";
                case TORN_TAIL -> "TORN TAIL: " + f.tornBytes() + " bytes from byte " + f.position() + " (" + f.reason() + "): a write"
                        + " a crash cut short, never acknowledged (the log fsyncs before answering); the node cuts it at its start; "
                        + f.entries() + " entries intact before it" + (f.entries() > 0 ? " (indexes " + f.firstIndex() + ".."
                        + f.lastIndex() + ")" : "");
                case DAMAGED -> "DAMAGED" + (f.position() >= 0 ? " at byte " + f.position() : "")
                        + (f.index() >= 0 ? " (entry " + f.index() + ")" : "") + ": " + f.reason()
                        + (segment ? "; " + f.entries() + " entries intact before it" : "") + "; " + wayBack;
                case LEFT_OVER -> "left over (" + f.note() + ")";
            };
            boolean noted = f.note() != null && f.verdict() != dev.basalt.raft.log.RaftStoreCheck.Verdict.LEFT_OVER;
            out.println("metadata log " + file + ": " + what + (noted ? "; " + f.note() : ""));
        }
        if (!hardStateSeen) {
            out.println("metadata log hardstate: none (no term or vote persisted yet)");
        }
        for (String damage : c.logDamage()) {
            out.println("metadata log: DAMAGED: " + damage + "; " + wayBack);
        }
        if (c.damaged()) {
            out.println("metadata log: DAMAGED (see above)");
        } else {
            out.println("metadata log: ok (" + (c.lastIndex() < c.firstIndex() ? "no entries" : "indexes " + c.firstIndex() + ".."
                    + c.lastIndex()) + (c.snapshot().lastIndex() > 0 ? " after a snapshot at index " + c.snapshot().lastIndex() : "")
                    + (c.hardState() == null ? "" : ", commit index " + c.hardState().commitIndex())
                    + (c.files().stream().anyMatch(f -> f.verdict() == dev.basalt.raft.log.RaftStoreCheck.Verdict.TORN_TAIL)
                            ? "; the torn tail above is cut at the node's start" : "") + ")");
        }
        return c.damaged();
    }

    private static String describe(dev.basalt.raft.log.HardState h) {
        return "term " + h.term() + ", " + (h.votedFor() == dev.basalt.raft.log.HardState.NO_VOTE ? "no vote" : "voted for " + h.votedFor())
                + ", commit index " + h.commitIndex();
    }

    /**
     * What is wrong when one of {@code listed} (segment bases the index lists for the partition)
     * lies between two segment files present in {@code partitionDir} without its own; else null.
     */
    static String lostSegment(Path partitionDir, List<Long> listed) throws java.io.IOException {
        java.util.TreeSet<Long> present = new java.util.TreeSet<>();
        try (var stream = java.nio.file.Files.newDirectoryStream(partitionDir)) {
            for (Path p : stream) {
                long base = dev.basalt.log.segment.Segment.parseBaseOffset(p.getFileName().toString());
                if (base >= 0) {
                    present.add(base);
                }
            }
        }
        for (long base : listed) {
            if (!present.isEmpty() && base > present.first() && base < present.last() && !present.contains(base)) {
                return "segment " + dev.basalt.log.segment.Segment.fileName(base) + " is missing: the index lists it between "
                        + dev.basalt.log.segment.Segment.fileName(present.lower(base)) + " and "
                        + dev.basalt.log.segment.Segment.fileName(present.higher(base)) + ", which are present (a segment file"
                        + " deleted or moved away)";
            }
        }
        return null;
    }

    /** Whether the batch at {@code position} of {@code segment} runs past the end of the file (its length field says so). */
    static boolean endsInsideBatch(Path segment, long position) {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(segment, java.nio.file.StandardOpenOption.READ)) {
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(dev.basalt.record.RecordBatch.LOG_OVERHEAD_BYTES);
            while (header.hasRemaining() && ch.read(header, position + header.position()) > 0) {
                // read the base offset (8 bytes) and the length field (4 bytes) after it
            }
            if (header.hasRemaining()) {
                return true; // not even a whole header before the end
            }
            long end = position + dev.basalt.record.RecordBatch.LOG_OVERHEAD_BYTES
                    + Integer.toUnsignedLong(header.getInt(dev.basalt.record.RecordBatch.LENGTH_OFFSET));
            return end > ch.size();
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether another process holds the data directory's lock (a node running on it). */
    private static boolean inUse(Path dir) throws IOException {
        return dev.basalt.log.LogManager.directoryInUse(dir);
    }

    private int usage(String message) {
        err.println("basalt storage: " + message);
        err.print(USAGE);
        return EXIT_USAGE;
    }

    /** Removes {@code name VALUE} from args and returns VALUE. */
    static String option(List<String> args, String name) {
        int i = args.indexOf(name);
        if (i < 0 || i + 1 >= args.size()) {
            throw new UsageException(name + " is required");
        }
        String v = args.get(i + 1);
        args.remove(i + 1);
        args.remove(i);
        return v;
    }

    static void requireEmpty(List<String> args) {
        if (!args.isEmpty()) {
            throw new UsageException("unexpected argument(s) " + args);
        }
    }

    /** Bad command-line use. */
    static class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /** Well-formed arguments that name something absent (a directory, a partition): exit 2, without the usage. */
    static final class BadArgumentException extends UsageException {
        private static final long serialVersionUID = 1L;

        BadArgumentException(String message) {
            super(message);
        }
    }
}
