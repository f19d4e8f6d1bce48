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
 * <p>Format: {@code partition.metadata} holds the UUID on one line, as before; its CRC32C (8 hex
 * digits, over that line without its newline) is in the sibling {@code partition.metadata.crc32c},
 * so a node rolled back to a release that reads only the UUID still reads its own id (with the CRC
 * inside the file it read another id and deleted every replica as an older topic's: review). A
 * file without the sibling (written before it) is read as it is, and the sibling is added at the
 * next write. Found probing: with no check, one changed character made the id another topic's,
 * and the replica's data was deleted as an older topic's without a warning (on a single copy,
 * every record). A file whose CRC or UUID does not check out is {@link Read#damaged}.
 *
 * <p>Stateless; thread-safe.
 */
public final class TopicIdFile {
    public static final String NAME = dev.basalt.log.recovery.LogLoader.PARTITION_METADATA_FILE;
    public static final String CRC_NAME = NAME + ".crc32c";

    private TopicIdFile() {
    }

    /**
     * What the file says.
     *
     * @param topicId the id it holds, or null if there is no file or it is damaged
     * @param damage  why it cannot be trusted, or null
     * @param checked whether a CRC vouched for it (no rewrite needed for the same id)
     */
    public record Read(String topicId, String damage, boolean checked) {
        public boolean damaged() {
            return damage != null;
        }
    }

    /** Reads {@code dir}'s file; a missing file reads as no id and no damage. */
    public static Read read(Path dir) throws IOException {
        Path file = dir.resolve(NAME);
        if (!Files.exists(file)) {
            return new Read(null, null, false);
        }
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length > 256) {
            return new Read(null, bytes.length + " bytes, more than a topic id line", false);
        }
        Path crcFile = dir.resolve(CRC_NAME);
        String crc = Files.exists(crcFile) && Files.size(crcFile) <= 64 ? Files.readString(crcFile, StandardCharsets.UTF_8) : null;
        return parse(new String(bytes, StandardCharsets.UTF_8), crc);
    }

    /** @param crcText the sibling's text, or null when there is none */
    static Read parse(String text, String crcText) {
        String id = text.strip();
        if (!uuid(id)) {
            return new Read(null, "not a topic id: '" + clip(id) + "'", false);
        }
        if (crcText == null) {
            return new Read(id, null, false);
        }
        if (!crcText.strip().equals(crc(id))) {
            return new Read(null, "its CRC32C (" + CRC_NAME + ": '" + clip(crcText.strip()) + "') does not match the id '" + id + "'",
                    false);
        }
        return new Read(id, null, true);
    }

    static String crc(String id) {
        CRC32C c = new CRC32C();
        c.update(id.getBytes(StandardCharsets.UTF_8));
        return String.format("%08x", c.getValue());
    }

    /**
     * Writes {@code topicId} and its CRC (each a temp file, fsync, atomic rename: the id first, so
     * a crash between the two leaves a mismatch, read as damage of the current id's file, never
     * an older one's CRC vouching for a new id) unless both already hold it.
     */
    public static void write(Path dir, String topicId) throws IOException {
        Read now = read(dir);
        if (now.checked() && topicId.equals(now.topicId())) {
            return;
        }
        replace(dir, NAME, topicId + "\n");
        replace(dir, CRC_NAME, crc(topicId) + "\n");
    }

    private static void replace(Path dir, String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Path tmp = dir.resolve(name + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
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
