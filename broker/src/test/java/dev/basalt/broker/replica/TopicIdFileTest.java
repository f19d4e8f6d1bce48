package dev.basalt.broker.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * partition.metadata's codec: round trip; the file a previous release wrote (no CRC sibling) and
 * reads (a bare UUID line: a node rolled back still reads its own id); every single-character
 * change of the id detected.
 */
class TopicIdFileTest {
    @TempDir
    Path dir;

    @Test
    void roundTrips_keepsTheBareIdLine_andReadsAFileWithoutItsCrc() throws Exception {
        String id = UUID.randomUUID().toString();
        TopicIdFile.write(dir, id);
        assertEquals(id + "\n", Files.readString(dir.resolve(TopicIdFile.NAME)), "what a rolled-back node reads as its id");
        TopicIdFile.Read r = TopicIdFile.read(dir);
        assertEquals(id, r.topicId());
        assertTrue(r.checked());
        Files.delete(dir.resolve(TopicIdFile.CRC_NAME));
        TopicIdFile.Read old = TopicIdFile.read(dir);
        assertEquals(id, old.topicId());
        assertFalse(old.checked(), "the CRC is added at the next write");
        TopicIdFile.write(dir, id);
        assertTrue(TopicIdFile.read(dir).checked());
        assertNull(TopicIdFile.read(dir.resolve("none")).topicId(), "no file: no id, no damage");
        assertFalse(TopicIdFile.read(dir.resolve("none")).damaged());
    }

    @Test
    void everyChangedCharacterOfTheId_isDamage_neverAnotherId() {
        String id = "3f2a9c1e-0b7d-4e55-9a61-2c8d4f0e1b73";
        String crc = TopicIdFile.crc(id);
        for (int i = 0; i < id.length(); i++) {
            for (char c : new char[] {'0', '7', 'a', 'f', '-', 'x'}) {
                if (id.charAt(i) == c) {
                    continue;
                }
                String changed = id.substring(0, i) + c + id.substring(i + 1);
                TopicIdFile.Read r = TopicIdFile.parse(changed, crc);
                assertTrue(r.damaged(), "undetected: " + changed);
                assertNull(r.topicId());
            }
        }
        assertTrue(TopicIdFile.parse(id, "0000000g").damaged(), "a damaged CRC file");
        assertTrue(TopicIdFile.parse("", null).damaged());
        assertTrue(TopicIdFile.parse("not-a-uuid", null).damaged());
    }
}
