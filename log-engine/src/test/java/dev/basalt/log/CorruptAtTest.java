package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * When an only copy's corrupt region needs the operator's repair and when a restart is enough
 * ({@link PartitionLog.CorruptAt#alreadyCut}), the one rule the append's refusal and the node's
 * storage report share (found probing: the report told the operator to run a repair that had
 * nothing to cut, for a log cut at load that kept its lost offsets as a gap).
 */
class CorruptAtTest {
    private static final CorruptLogException CAUSE = new CorruptLogException(Path.of("00000000000000000000.log"), 350,
            "CRC mismatch");

    @Test
    void aCutAtLoad_needsOnlyARestart_evenWithItsLostOffsetsKeptAsAGap() {
        PartitionLog.CorruptAt cut = new PartitionLog.CorruptAt(7, CAUSE, true, 7);
        assertTrue(cut.alreadyCut(23), "the log end stays past the lost offsets; nothing of them is stored");
    }

    @Test
    void damageFoundWhileRunning_needsARepair_unlessNothingFollowsIt() {
        PartitionLog.CorruptAt found = new PartitionLog.CorruptAt(7, CAUSE);
        assertFalse(found.alreadyCut(8), "the corrupt batch's bytes (and what follows) are still in the log");
        assertTrue(found.alreadyCut(7), "nothing stored at or after it");
        assertEquals("offsets from 7", found.lost());
    }
}
