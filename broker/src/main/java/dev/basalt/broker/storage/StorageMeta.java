package dev.basalt.broker.storage;

import java.io.IOException;
import java.io.StringReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;

/**
 * The identity of a formatted data directory: the file {@code <data.dir>/meta.properties}.
 *
 * <h2>Format</h2>
 * A Java properties file (UTF-8), written once by {@code basalt storage format} (or by a node
 * started with {@code --format-if-missing}) and rewritten only by the metadata-log state change
 * below, always atomically (temporary file, fsync, rename, directory fsync):
 * <pre>
 * version=1
 * cluster.id=&lt;the cluster the directory belongs to&gt;
 * node.id=&lt;the node that owns it&gt;
 * directory.id=&lt;a random UUID, new on every format&gt;
 * metadata.log=bootstrap | join | created | none
 * </pre>
 * {@code metadata.log} says what the node may do with its Raft store ({@code <data.dir>/raft}):
 * {@code bootstrap}: none exists yet and this voter is one of the quorum's first members (it may
 * vote with an empty log; the quorum is being created); {@code join}: the directory was formatted
 * to rejoin an existing quorum (after its metadata log was lost), so the node runs as an observer
 * and never votes until a voter change adds it again; {@code created}: the store was created, so
 * an empty or missing store later means it was lost; {@code none}: a broker-only node.
 *
 * <p>Immutable; thread-safe.
 */
public record StorageMeta(String clusterId, int nodeId, UUID directoryId, MetadataLog metadataLog) {
    public static final String FILE_NAME = "meta.properties";
    static final int VERSION = 1;

    /** What the node may do with its metadata log (see the class javadoc). */
    public enum MetadataLog {
        BOOTSTRAP, JOIN, CREATED, NONE;

        String key() {
            return name().toLowerCase(Locale.ROOT);
        }

        static MetadataLog parse(String raw) {
            for (MetadataLog m : values()) {
                if (m.key().equals(raw)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("metadata.log '" + raw + "' is not one of bootstrap, join, created, none");
        }
    }

    public StorageMeta {
        if (clusterId == null || clusterId.isBlank() || clusterId.length() > 256) {
            throw new IllegalArgumentException("cluster id must be 1..256 characters");
        }
        if (nodeId < 0) {
            throw new IllegalArgumentException("node id " + nodeId + " < 0");
        }
        if (directoryId == null || metadataLog == null) {
            throw new IllegalArgumentException("directory id and metadata.log are required");
        }
    }

    public StorageMeta withMetadataLog(MetadataLog state) {
        return new StorageMeta(clusterId, nodeId, directoryId, state);
    }

    public static Path file(Path dataDir) {
        return dataDir.resolve(FILE_NAME);
    }

    /**
     * Reads the meta file of {@code dataDir}.
     *
     * @return null if the directory has no meta file (unformatted)
     * @throws IOException if it cannot be read
     * @throws IllegalArgumentException naming the file if it is malformed
     */
    public static StorageMeta read(Path dataDir) throws IOException {
        Path f = file(dataDir);
        if (!Files.exists(f)) {
            return null;
        }
        Properties p = new Properties();
        p.load(new StringReader(Files.readString(f, StandardCharsets.UTF_8)));
        try {
            int version = Integer.parseInt(p.getProperty("version", "-1").trim());
            if (version != VERSION) {
                throw new IllegalArgumentException("unsupported version " + version);
            }
            return new StorageMeta(required(p, "cluster.id"), Integer.parseInt(required(p, "node.id")),
                    UUID.fromString(required(p, "directory.id")), MetadataLog.parse(required(p, "metadata.log")));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(f + " is malformed: " + e.getMessage(), e);
        }
    }

    private static String required(Properties p, String key) {
        String v = p.getProperty(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("missing " + key);
        }
        return v.trim();
    }

    /** Writes the meta file atomically (temporary file, fsync, rename, directory fsync). */
    public void write(Path dataDir) throws IOException {
        String text = "# Basalt data directory identity: written by `basalt storage format`; do not edit.\n"
                + "version=" + VERSION + "\n"
                + "cluster.id=" + escape(clusterId) + "\n"
                + "node.id=" + nodeId + "\n"
                + "directory.id=" + directoryId + "\n"
                + "metadata.log=" + metadataLog.key() + "\n";
        Path tmp = dataDir.resolve(FILE_NAME + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        try {
            Files.move(tmp, file(dataDir), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file(dataDir), StandardCopyOption.REPLACE_EXISTING);
        }
        try (FileChannel dir = FileChannel.open(dataDir, StandardOpenOption.READ)) {
            dir.force(true);
        }
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '\\' || c == '=' || c == ':' || c == '#' || c == '!' || Character.isWhitespace(c)) {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }
}
