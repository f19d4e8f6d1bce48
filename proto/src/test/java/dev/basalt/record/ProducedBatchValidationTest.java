package dev.basalt.record;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * The leader's producer rules ({@link RecordBatch#validateProduced}, Kafka's LogValidator): each
 * rule refuses a batch whose CRC matches (the sender built it that way) with INVALID_RECORD, a
 * damaged CRC stays CORRUPT_RECORD, and a batch a well-behaved producer builds passes.
 */
class ProducedBatchValidationTest {
    private static final long T0 = 1_700_000_000_000L;

    /** A batch of {@code n} small records (each record's length fits one varint byte). */
    static byte[] batch(int n) {
        ByteBuffer buf = ByteBuffer.allocate(64 + n * 40);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, T0);
        for (int i = 0; i < n; i++) {
            b.tryAppend(T0 + i, ("k" + i).getBytes(StandardCharsets.UTF_8), "value-0123".getBytes(StandardCharsets.UTF_8), List.of());
        }
        ByteBuffer built = b.build().buffer();
        byte[] out = new byte[built.remaining()];
        built.get(out);
        return out;
    }

    /** Recomputes the CRC after an edit: the batch then looks exactly as its sender built it. */
    static byte[] reseal(byte[] batch) {
        CRC32C crc = new CRC32C();
        crc.update(batch, RecordBatch.ATTRIBUTES_OFFSET, batch.length - RecordBatch.ATTRIBUTES_OFFSET);
        ByteBuffer.wrap(batch).putInt(RecordBatch.CRC_OFFSET, (int) crc.getValue());
        return batch;
    }

    static byte[] withAttributes(byte[] batch, int attributes) {
        ByteBuffer.wrap(batch).putShort(RecordBatch.ATTRIBUTES_OFFSET, (short) attributes);
        return reseal(batch);
    }

    /** Position of record {@code i}'s length varint (records of one-byte lengths only). */
    static int recordStart(byte[] batch, int i) {
        int pos = RecordBatch.RECORDS_OFFSET;
        for (int r = 0; r < i; r++) {
            int zigzag = batch[pos];
            assertTrue(zigzag >= 0, "one-byte varint expected");
            pos += 1 + (zigzag >>> 1);
        }
        return pos;
    }

    static InvalidRecordException invalid(byte[] batch) {
        return assertThrows(InvalidRecordException.class, () -> RecordBatch.wrap(ByteBuffer.wrap(batch)).validateProduced(1 << 20));
    }

    @Test
    void aWellBuiltBatchPasses() {
        assertDoesNotThrow(() -> RecordBatch.wrap(ByteBuffer.wrap(batch(5))).validateProduced(1 << 20));
        assertEquals(1, Batches.parseProduced(ByteBuffer.wrap(batch(3)), 1 << 20, 10).size());
    }

    @Test
    void controlTransactionalAndDeleteHorizonFlagsAreRefused() {
        assertTrue(invalid(withAttributes(batch(2), RecordBatch.CONTROL_MASK)).getMessage().contains("control"));
        assertTrue(invalid(withAttributes(batch(2), RecordBatch.TRANSACTIONAL_MASK)).getMessage().contains("transactional"));
        assertTrue(invalid(withAttributes(batch(2), RecordBatch.DELETE_HORIZON_MASK)).getMessage().contains("delete horizon"));
        assertTrue(invalid(withAttributes(batch(2), 0x80)).getMessage().contains("undefined attribute"));
    }

    @Test
    void everyCompressionCodecIsRefusedAsInvalid() {
        for (int codec = 1; codec <= 7; codec++) {
            assertTrue(invalid(withAttributes(batch(2), codec)).getMessage().contains("codec " + codec));
        }
    }

    @Test
    void lastOffsetDeltaMustMatchTheRecordCount() {
        byte[] b = batch(3);
        ByteBuffer.wrap(b).putInt(RecordBatch.LAST_OFFSET_DELTA_OFFSET, 99_999);
        assertTrue(invalid(reseal(b)).getMessage().contains("lastOffsetDelta 99999"));
        // the storage-level check lets a larger delta through (compaction leaves such batches)
        assertDoesNotThrow(() -> RecordBatch.wrap(ByteBuffer.wrap(b)).validate(1 << 20));
        byte[] small = batch(3);
        ByteBuffer.wrap(small).putInt(RecordBatch.LAST_OFFSET_DELTA_OFFSET, 1);
        invalid(reseal(small));
    }

    @Test
    void offsetDeltasMustBeInSequence() {
        byte[] b = batch(3);
        // record 1: length, attributes, timestampDelta (1 → zig-zag 2, one byte), offsetDelta
        int deltaPos = recordStart(b, 1) + 3;
        assertEquals(2, b[deltaPos], "offset delta 1 in zig-zag");
        b[deltaPos] = 4; // offset delta 2: a gap, still increasing
        assertTrue(invalid(reseal(b)).getMessage().contains("offset delta 2, expected 1"));
        byte[] dup = batch(3);
        dup[deltaPos] = 0; // offset delta 0 twice
        invalid(reseal(dup));
    }

    @Test
    void recordSizesMustAgreeWithTheBatchLength() {
        byte[] longer = batch(3);
        longer[recordStart(longer, 0)] += 2; // record 0 claims one byte more than it has
        assertTrue(invalid(reseal(longer)).getMessage().contains("record 0"));
        byte[] shorter = batch(3);
        shorter[recordStart(shorter, 2)] -= 2;
        invalid(reseal(shorter));
        byte[] count = batch(3);
        ByteBuffer.wrap(count).putInt(RecordBatch.RECORD_COUNT_OFFSET, 2);
        ByteBuffer.wrap(count).putInt(RecordBatch.LAST_OFFSET_DELTA_OFFSET, 1);
        assertTrue(invalid(reseal(count)).getMessage().contains("bytes after the 2 records"));
        byte[] zero = batch(1);
        ByteBuffer.wrap(zero).putInt(RecordBatch.RECORD_COUNT_OFFSET, 0);
        invalid(reseal(zero));
    }

    @Test
    void aDamagedChecksumStaysCorruptNotInvalid() {
        byte[] b = batch(3);
        b[b.length - 2] ^= 0x11;
        CorruptRecordException e = assertThrows(CorruptRecordException.class,
                () -> RecordBatch.wrap(ByteBuffer.wrap(b)).validateProduced(1 << 20));
        assertEquals(CorruptRecordException.class, e.getClass());
        byte[] magic = batch(1);
        magic[RecordBatch.MAGIC_OFFSET] = 1;
        assertEquals(CorruptRecordException.class, assertThrows(CorruptRecordException.class,
                () -> RecordBatch.wrap(ByteBuffer.wrap(magic)).validateProduced(1 << 20)).getClass());
    }

    @Test
    void sizeLimitComesFirst() {
        byte[] b = withAttributes(batch(3), RecordBatch.CONTROL_MASK);
        assertThrows(RecordTooLargeException.class, () -> RecordBatch.wrap(ByteBuffer.wrap(b)).validateProduced(10));
    }
}
