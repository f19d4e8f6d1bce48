package dev.basalt.broker.replica;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * A partition directory's {@code partition.metadata}: the id of the topic its data belongs to,
 * which tells a replica of a topic deleted and created again under the same name (its data is
 * deleted) from the current one.
 *
 * <p>Format: one line {@code topic_id <uuid> crc32c <8 hex digits>}, the CRC over
 * {@code topic_id <uuid>}. A file of one bare UUID line (written before the CRC) is read as that
 * id and rewritten at the next write. Found probing: with no check, one changed character made the
 * id another topic's, and the replica's data was deleted as an older topic's without a warning (on
 * a single copy, every record). A file whose CRC or UUID does not check out is {@link Read#damaged}:
 * the caller keeps the data.
 *
 * <p>Stateless; thread-safe.
 */
public final class TopicIdFile {
    public static final String NAME = dev.basalt.log.recovery.LogLoader.PARTITION_METADATA_FILE;

    private TopicIdFile() {
    }

    /**
     * What the file says.
     *
     * @param topicId the id it holds, or null if there is no file or it is damaged
     * @param damage  why it cannot be trusted, or null
     * @param current whether it is in the current format (no rewrite needed for the same id)
     */
    public record Read(String topicId, String damage, boolean current) {
        static final Read MISSING = new Read(null, null, false);

        public boolean damaged() {
            return damage != null;
        }
    }

    /** Reads {@code dir}'s file; a missing file is {@link Read#MISSING}-like (null id, no damage). */
    public static Read read(Path dir) throws IOException {
        Path file = dir.resolve(NAME);
        if (!Files.exists(file)) {
            return Read.MISSING;
        }
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length > 256) {
            return new Read(null, bytes.length + " bytes, more than a topic id line", false);
        }
        return parse(new String(bytes, StandardCharsets.UTF_8));
    }

    static Read parse(String text) {
        String line = text.strip();
        String[] parts = line.split(" ");
        if (parts.length == 1) {
            return uuid(parts[0]) ? new Read(parts[0], null, false) : new Read(null, "not a topic id: '" + clip(line) + "'", false);
        }
        if (parts.length != 4 || !parts[0].equals("topic_id") || !parts[2].equals("crc32c")) {
            return new Read(null, "not a topic id line: '" + clip(line) + "'", false);
        }
        if (!parts[3].equals(crc(parts[0] + " " + parts[1]))) {
            return new Read(null, "its CRC32C does not match (" + clip(line) + ")", false);
        }
        if (!uuid(parts[1])) {
            return new Read(null, "not a topic id: '" + clip(parts[1]) + "'", false);
        }
        return new Read(parts[1], null, true);
    }

    static String format(String topicId) {
        String body = "topic_id " + topicId;
        return body + " crc32c " + crc(body) + "\n";
    }

    /** Writes {@code topicId} (temp file, fsync, atomic rename) unless the file already holds it in this format. */
    public static void write(Path dir, String topicId) throws IOException {
        Read now = read(dir);
        if (now.current() && topicId.equals(now.topicId())) {
            return;
        }
        Path file = dir.resolve(NAME);
        Path tmp = dir.resolve(NAME + ".tmp");
        Files.writeString(tmp, format(topicId), StandardCharsets.UTF_8);
        try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static String crc(String body) {
        CRC32C c = new CRC32C();
        c.update(body.getBytes(StandardCharsets.UTF_8));
        return String.format("%08x", c.getValue());
    }

    private static boolean uuid(String s) {
        if (s.length() != 36) {
            return false;
        }
        try {
            return UUID.fromString(s).toString().equals(s);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String clip(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
