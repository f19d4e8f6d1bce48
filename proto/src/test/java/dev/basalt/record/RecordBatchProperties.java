package dev.basalt.record;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Round trips and corruption detection for the record-batch format.
 *
 * <p>Method: jqwik generates records (null and empty keys/values, headers, negative timestamp
 * deltas), encodes them, decodes them, and compares; then flips a random byte of the CRC'd
 * region and expects {@link CorruptRecordException}. Reproduce a failure with the seed jqwik
 * prints: {@code ./mvnw -pl proto test -Dtest=RecordBatchProperties -Djqwik.seeds.whenfixed=...}
 * or by pasting it into {@code @Property(seed = "...")}.
 */
class RecordBatchProperties {

    record In(long timestamp, byte[] key, byte[] value, List<Header> headers) {
    }

    @Provide
    Arbitrary<List<In>> records() {
        Arbitrary<byte[]> bytes = Arbitraries.bytes().array(byte[].class).ofMaxSize(64).injectNull(0.2);
        Arbitrary<Header> header = Combinators.combine(Arbitraries.strings().ofMaxLength(8), bytes).as(Header::new);
        Arbitrary<In> rec = Combinators.combine(
                Arbitraries.longs().between(1_600_000_000_000L, 1_800_000_000_000L),
                bytes, bytes, header.list().ofMaxSize(3)).as(In::new);
        return rec.list().ofMinSize(1).ofMaxSize(50);
    }

    /** validateProduced finds the smallest and largest record timestamp (a leader checks its bounds with them). */
    @Property(tries = 200)
    void validateProduced_findsTheRecordTimestampRange(@ForAll @Size(min = 1, max = 20) List<@IntRange(min = -100_000, max = 100_000) Integer> deltas) {
        long first = 1_700_000_000_000L;
        RecordBatchBuilder b = new RecordBatchBuilder(ByteBuffer.allocate(64 * 1024), first);
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (int d : deltas) {
            assertTrue(b.tryAppend(first + d, new byte[] {1}, new byte[] {2}, List.of()));
            min = Math.min(min, first + d);
            max = Math.max(max, first + d);
        }
        RecordBatch batch = b.build();
        assertThrows(IllegalStateException.class, batch::producedTimestampMax, "unknown before validation");
        batch.validateProduced(Integer.MAX_VALUE);
        assertEquals(min, batch.producedTimestampMin());
        assertEquals(max, batch.producedTimestampMax());
        // A header maxTimestamp other than the records' largest (retention and the time index read
        // the header) is refused, even with a CRC that matches.
        ByteBuffer lying = ByteBuffer.allocate(batch.sizeInBytes());
        lying.put(batch.buffer().duplicate()).flip();
        lying.putLong(RecordBatch.MAX_TIMESTAMP_OFFSET, Long.MAX_VALUE);
        lying.putInt(RecordBatch.CRC_OFFSET, (int) RecordBatch.wrap(lying.duplicate()).computeCrc());
        InvalidRecordException e = assertThrows(InvalidRecordException.class,
                () -> RecordBatch.wrap(lying).validateProduced(Integer.MAX_VALUE));
        assertTrue(e.getMessage().contains("maxTimestamp " + Long.MAX_VALUE), e.getMessage());
    }

    @Property(tries = 300)
    void roundTrip(@ForAll("records") List<In> in, @ForAll long baseOffset, @ForAll int epoch) {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, in.get(0).timestamp())
                .producer(7L, (short) 2, 11);
        for (In r : in) {
            assertTrue(b.tryAppend(r.timestamp(), r.key(), r.value(), r.headers()));
        }
        RecordBatch batch = b.build();
        assertEquals(buf.position(), batch.sizeInBytes());
        long base = baseOffset & Long.MAX_VALUE >>> 2;
        batch.stampBaseOffset(base);
        batch.stampPartitionLeaderEpoch(epoch);
        batch.validate(Integer.MAX_VALUE); // stamping must not break the CRC

        RecordBatch read = RecordBatch.wrap(batch.buffer());
        assertEquals(base, read.baseOffset());
        assertEquals(epoch, read.partitionLeaderEpoch());
        assertEquals(in.size(), read.recordCount());
        assertEquals(base + in.size() - 1, read.lastOffset());
        assertEquals(7L, read.producerId());
        assertEquals(11, read.baseSequence());
        assertEquals(in.stream().mapToLong(In::timestamp).max().orElseThrow(), read.maxTimestamp());
        Iterator<Record> it = read.records().iterator();
        for (int i = 0; i < in.size(); i++) {
            Record r = it.next();
            In expected = in.get(i);
            assertEquals(base + i, r.offset());
            assertEquals(expected.timestamp(), r.timestamp());
            assertArrayEquals(expected.key(), r.keyBytes());
            assertArrayEquals(expected.value(), r.valueBytes());
            assertEquals(expected.headers(), r.headers());
        }
        assertFalse(it.hasNext());
    }

    @Property(tries = 300)
    void anyFlippedByteInTheCrcRegionIsDetected(@ForAll("records") List<In> in, @ForAll @IntRange(min = 0, max = 1 << 20) int where,
                                                 @ForAll @IntRange(min = 1, max = 255) int xor) {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, in.get(0).timestamp());
        in.forEach(r -> b.tryAppend(r.timestamp(), r.key(), r.value(), r.headers()));
        RecordBatch batch = b.build();
        int pos = RecordBatch.ATTRIBUTES_OFFSET + where % (batch.sizeInBytes() - RecordBatch.ATTRIBUTES_OFFSET);
        ByteBuffer bytes = batch.buffer();
        bytes.put(pos, (byte) (bytes.get(pos) ^ xor));
        assertThrows(CorruptRecordException.class, () -> RecordBatch.wrap(bytes).validate(Integer.MAX_VALUE));
    }

    @Property(tries = 200)
    void truncatedPayloadIsCorruptNeverAPartialBatch(@ForAll("records") List<In> in, @ForAll @IntRange(min = 1, max = 1 << 20) int cut) {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 0L);
        in.forEach(r -> b.tryAppend(r.timestamp(), r.key(), r.value(), r.headers()));
        RecordBatch batch = b.build();
        int keep = batch.sizeInBytes() - 1 - cut % (batch.sizeInBytes() - 1);
        ByteBuffer truncated = batch.buffer().limit(keep);
        assertThrows(CorruptRecordException.class, () -> Batches.parseStrict(truncated, Integer.MAX_VALUE, 10));
        assertFalse(Batches.iterate(truncated).iterator().hasNext());
    }

    @Property(tries = 200)
    void varintsRoundTrip(@ForAll int i, @ForAll long l) {
        ByteBuffer buf = ByteBuffer.allocate(32);
        Varint.writeInt(i, buf);
        Varint.writeLong(l, buf);
        assertEquals(Varint.sizeOfInt(i) + Varint.sizeOfLong(l), buf.position());
        buf.flip();
        assertEquals(i, Varint.readInt(buf));
        assertEquals(l, Varint.readLong(buf));
    }

    @Property(tries = 100)
    void builderRefusesWhatDoesNotFitAndKeepsWhatDid(@ForAll @Size(min = 1, max = 40) List<@Size(max = 300) byte[]> values) {
        ByteBuffer buf = ByteBuffer.allocate(1024);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 0L);
        List<byte[]> kept = new ArrayList<>();
        for (byte[] v : values) {
            if (!b.tryAppend(0L, null, v, List.of())) {
                break;
            }
            kept.add(v);
        }
        if (kept.isEmpty()) {
            return;
        }
        RecordBatch batch = b.build();
        batch.validate(1024);
        int i = 0;
        for (Record r : batch.records()) {
            assertArrayEquals(kept.get(i++), r.valueBytes());
            assertNull(r.key());
        }
        assertEquals(kept.size(), i);
    }

    @Property(tries = 50)
    void oversizeBatchIsRejectedWithItsOwnType(@ForAll @IntRange(min = 100, max = 2000) int valueSize) {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 0L);
        b.tryAppend(0L, null, new byte[valueSize], List.of());
        RecordBatch batch = b.build();
        assertThrows(RecordTooLargeException.class, () -> batch.validate(batch.sizeInBytes() - 1));
        batch.validate(batch.sizeInBytes());
    }
}
