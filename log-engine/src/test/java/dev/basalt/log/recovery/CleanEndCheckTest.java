package dev.basalt.log.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.testkit.TestBatches;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LogLoader#batchesFrom}: whether a segment file holds nothing at or past the log end a
 * clean stop recorded. A state older than the segments (an index that lost its last run's writes)
 * names an end the file has batches past; trusting it dropped acknowledged records.
 */
class CleanEndCheckTest {
    @TempDir
    Path dir;

    /** A file of batches with these (base, record count) pairs, back to back. */
    private Path segment(long[]... batches) throws IOException {
        List<byte[]> parts = new ArrayList<>();
        int total = 0;
        for (long[] b : batches) {
            List<TestBatches.Rec> recs = new ArrayList<>();
            for (int i = 0; i < b[1]; i++) {
                recs.add(new TestBatches.Rec(1000 + i, "k" + i, "v" + i));
            }
            ByteBuffer buf = TestBatches.batch(recs);
            buf.putLong(0, b[0]); // the base offset is outside the CRC
            byte[] bytes = new byte[buf.remaining()];
            buf.duplicate().get(bytes);
            parts.add(bytes);
            total += bytes.length;
        }
        ByteBuffer all = ByteBuffer.allocate(total);
        parts.forEach(all::put);
        Path f = dir.resolve("00000000000000000000.log");
        Files.write(f, all.array());
        return f;
    }

    @Test
    void batchesEndingAtTheStoredEnd_agree() throws IOException {
        Path f = segment(new long[] {0, 1}, new long[] {1, 1}, new long[] {2, 3});
        assertNull(LogLoader.batchesFrom(f, 0, 5));
    }

    @Test
    void aBatchStartingAtOrPastTheStoredEnd_disagrees() throws IOException {
        Path f = segment(new long[] {0, 1}, new long[] {1, 1}, new long[] {2, 3});
        String problem = LogLoader.batchesFrom(f, 0, 2);
        assertTrue(problem != null && problem.contains("offsets 2..4"), problem);
    }

    @Test
    void aBatchStraddlingTheStoredEnd_disagrees() throws IOException {
        // the stale state says the log ended at 3; a later run's batch covers 2..4
        Path f = segment(new long[] {0, 1}, new long[] {1, 1}, new long[] {2, 3});
        String problem = LogLoader.batchesFrom(f, 0, 3);
        assertTrue(problem != null && problem.contains("offsets 2..4"), problem);
    }

    @Test
    void bytesAfterTheLastBatch_disagree() throws IOException {
        Path f = segment(new long[] {0, 2});
        Files.write(f, new byte[] {1, 2, 3, 4, 5}, java.nio.file.StandardOpenOption.APPEND);
        String problem = LogLoader.batchesFrom(f, 0, 2);
        assertTrue(problem != null && problem.contains("no batch header"), problem);
    }

    @Test
    void theWalkStartsAtTheGivenPosition() throws IOException {
        Path f = segment(new long[] {0, 1}, new long[] {1, 1});
        int second = (int) Files.size(f) / 2;
        assertNull(LogLoader.batchesFrom(f, second, 2));
        assertEquals(null, LogLoader.batchesFrom(f, Files.size(f), 2), "nothing after the last entry's batch: agrees");
    }
}
