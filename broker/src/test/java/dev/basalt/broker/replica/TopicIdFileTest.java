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

/** partition.metadata's codec: round trip, the pre-CRC form, and every single-character change detected. */
class TopicIdFileTest {
    @TempDir
    Path dir;

    @Test
    void roundTrips_andReadsTheFormWithoutACrc() throws Exception {
        String id = UUID.randomUUID().toString();
        TopicIdFile.write(dir, id);
        TopicIdFile.Read r = TopicIdFile.read(dir);
        assertEquals(id, r.topicId());
        assertTrue(r.current());
        Files.writeString(dir.resolve(TopicIdFile.NAME), id + "\n");
        TopicIdFile.Read old = TopicIdFile.read(dir);
        assertEquals(id, old.topicId());
        assertFalse(old.current(), "rewritten with a CRC at the next write");
        TopicIdFile.write(dir, id);
        assertEquals(TopicIdFile.format(id), Files.readString(dir.resolve(TopicIdFile.NAME)));
        assertNull(TopicIdFile.read(dir.resolve("none")).topicId(), "no file: no id, no damage");
    }

    @Test
    void everyChangedCharacter_isDamage_neverAnotherId() {
        String line = TopicIdFile.format("3f2a9c1e-0b7d-4e55-9a61-2c8d4f0e1b73").strip();
        for (int i = 0; i < line.length(); i++) {
            for (char c : new char[] {'0', '7', 'a', 'f', ' ', 'x'}) {
                if (line.charAt(i) == c) {
                    continue;
                }
                String changed = line.substring(0, i) + c + line.substring(i + 1);
                TopicIdFile.Read r = TopicIdFile.parse(changed);
                assertTrue(r.damaged(), "undetected: " + changed);
                assertNull(r.topicId());
            }
        }
        assertTrue(TopicIdFile.parse("").damaged());
        assertTrue(TopicIdFile.parse("not-a-uuid").damaged());
    }
}
