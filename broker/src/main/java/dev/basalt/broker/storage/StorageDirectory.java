package dev.basalt.broker.storage;

import dev.basalt.broker.config.NodeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Formats a node's data directory and checks it at start-up (see {@link StorageMeta} for the meta
 * file). A node refuses to start, with one line naming the directory and what to do, when its
 * directory is missing, unformatted, from another cluster or node, or when it is a voter whose
 * metadata log is gone: it must never come up as a new empty cluster, nor vote with an empty log.
 *
 * <p>Thread-safety: stateless; the node calls it once, before anything opens the directory.
 */
public final class StorageDirectory {
    /** The Raft store's sub-directory of the data directory. */
    public static final String RAFT_DIR = "raft";

    private StorageDirectory() {
    }

    /** Why a directory cannot be used; the message is the one line shown to the operator. */
    public static final class StorageIdentityException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public StorageIdentityException(String message) {
            super(message);
        }
    }

    /** How to format a controller's metadata log. */
    public enum VoterMode {
        /** One of the quorum's first voters (a new cluster). */
        INITIAL,
        /** Rejoin an existing quorum after losing the metadata log: observer until a voter change. */
        JOIN
    }

    /**
     * Formats {@code config}'s data directory for cluster {@code clusterId} with a new directory id.
     * A directory already formatted is refused, except with {@link VoterMode#JOIN} for the same
     * cluster and node (a voter whose metadata log was lost keeps its partition data, gets a new
     * directory id and rejoins the quorum).
     *
     * @param voterMode required for a controller node, ignored for a broker-only one
     * @return the meta written
     */
    public static StorageMeta format(NodeConfig config, String clusterId, VoterMode voterMode) throws IOException {
        String configured = config.get("cluster.id");
        if (!configured.equals(clusterId)) {
            throw new StorageIdentityException("--cluster-id " + clusterId + " differs from cluster.id=" + configured
                    + " in the node's configuration: set cluster.id=" + clusterId + " there (a node checks its directory against it)");
        }
        Path dir = config.dataDir();
        if (config.isController() && voterMode == null) {
            throw new StorageIdentityException("node " + config.nodeId() + " is a controller: say --initial-voters (a new"
                    + " cluster's first voters) or --join (rejoin an existing quorum after the metadata log was lost)");
        }
        StorageMeta existing = Files.isDirectory(dir) ? StorageMeta.read(dir) : null;
        StorageMeta.MetadataLog state = !config.isController() ? StorageMeta.MetadataLog.NONE
                : voterMode == VoterMode.JOIN ? StorageMeta.MetadataLog.JOIN : StorageMeta.MetadataLog.BOOTSTRAP;
        if (existing != null) {
            if (voterMode != VoterMode.JOIN || !existing.clusterId().equals(clusterId) || existing.nodeId() != config.nodeId()) {
                throw new StorageIdentityException(dir.toAbsolutePath() + " is already formatted (cluster " + existing.clusterId()
                        + ", node " + existing.nodeId() + ", directory " + existing.directoryId() + "); nothing was changed");
            }
            // Rejoin: the old metadata log (if any is left) must go, or the node would vote with it later.
            deleteRecursively(dir.resolve(RAFT_DIR));
        } else {
            Files.createDirectories(dir);
            if (!isEmpty(dir)) {
                throw new StorageIdentityException(dir.toAbsolutePath() + " is not empty and not formatted: format an empty"
                        + " directory (or move the files away)");
            }
        }
        StorageMeta meta = new StorageMeta(clusterId, config.nodeId(), UUID.randomUUID(), state);
        meta.write(dir);
        return meta;
    }

    /**
     * Checks the data directory before the node opens it. With {@code formatIfMissing} (the quick
     * start's default) a missing or empty directory is formatted as a new single cluster.
     *
     * @throws StorageIdentityException if the node must not start on this directory
     */
    public static StorageMeta check(NodeConfig config, boolean formatIfMissing) throws IOException {
        Path dir = config.dataDir();
        String hint = "format it with `basalt storage format --config FILE --cluster-id " + config.get("cluster.id")
                + (config.isController() ? " --initial-voters` (a new cluster) or `... --join` (this node ran before and lost its data)"
                : "`");
        if (!Files.exists(dir)) {
            if (formatIfMissing) {
                return formatNew(config);
            }
            throw new StorageIdentityException("data directory " + dir.toAbsolutePath() + " does not exist: " + hint
                    + "; start with --format-if-missing only to create a new empty cluster");
        }
        StorageMeta meta;
        try {
            meta = StorageMeta.read(dir);
        } catch (IllegalArgumentException e) {
            throw new StorageIdentityException(e.getMessage());
        }
        if (meta == null) {
            if (formatIfMissing && isEmpty(dir)) {
                return formatNew(config);
            }
            throw new StorageIdentityException("data directory " + dir.toAbsolutePath() + " is not formatted (no "
                    + StorageMeta.FILE_NAME + (isEmpty(dir) ? ")" : "; it holds files: a lost or foreign directory?)") + ": " + hint);
        }
        if (!meta.clusterId().equals(config.get("cluster.id"))) {
            throw new StorageIdentityException("data directory " + dir.toAbsolutePath() + " belongs to cluster " + meta.clusterId()
                    + ", but this node is configured for cluster " + config.get("cluster.id") + ": wrong data.dir or cluster.id?");
        }
        if (meta.nodeId() != config.nodeId()) {
            throw new StorageIdentityException("data directory " + dir.toAbsolutePath() + " belongs to node " + meta.nodeId()
                    + ", but this is node " + config.nodeId() + ": wrong data.dir or node.id?");
        }
        if (config.isController()) {
            boolean raftEmpty = isEmpty(dir.resolve(RAFT_DIR));
            if (meta.metadataLog() == StorageMeta.MetadataLog.CREATED && raftEmpty) {
                throw new StorageIdentityException("the metadata log of voter " + config.nodeId() + " in "
                        + dir.resolve(RAFT_DIR).toAbsolutePath() + " is missing or empty: it must not vote with an empty log;"
                        + " run `basalt storage format --config FILE --cluster-id " + meta.clusterId() + " --join`, start it, and"
                        + " re-add it with a voter change (docs/operations.md, \"A lost metadata log\")");
            }
            if (meta.metadataLog() == StorageMeta.MetadataLog.NONE) {
                // a broker-only node turned controller: it was never a voter, so it joins
                meta = meta.withMetadataLog(StorageMeta.MetadataLog.JOIN);
                meta.write(dir);
            }
        }
        return meta;
    }

    private static StorageMeta formatNew(NodeConfig config) throws IOException {
        StorageMeta meta = format(config, config.get("cluster.id"), config.isController() ? VoterMode.INITIAL : null);
        org.slf4j.LoggerFactory.getLogger(StorageDirectory.class).info(
                "Formatted a new, empty data directory {} (cluster {}, node {}, directory {}) because of --format-if-missing",
                config.dataDir().toAbsolutePath(), meta.clusterId(), meta.nodeId(), meta.directoryId());
        return meta;
    }

    /** Records that the metadata log now exists (or that a rejoined voter is a voter again). */
    public static StorageMeta markMetadataLogCreated(Path dataDir, StorageMeta meta) throws IOException {
        if (meta.metadataLog() == StorageMeta.MetadataLog.CREATED) {
            return meta;
        }
        StorageMeta created = meta.withMetadataLog(StorageMeta.MetadataLog.CREATED);
        created.write(dataDir);
        return created;
    }

    /** True if {@code dir} does not exist or has no entries. */
    public static boolean isEmpty(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return true;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
