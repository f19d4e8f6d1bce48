package dev.basalt.log.testkit;

import dev.basalt.record.Batches;
import dev.basalt.record.Header;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds producer payloads and decodes read results for log tests. Thread-safety: stateless.
 */
public final class TestBatches {
    private TestBatches() {
    }

    /** A simple record: key and value may be null (a null value is a tombstone). */
    public record Rec(long timestamp, String key, String value) {
        public byte[] keyBytes() {
            return key == null ? null : key.getBytes(StandardCharsets.UTF_8);
        }

        public byte[] valueBytes() {
            return value == null ? null : value.getBytes(StandardCharsets.UTF_8);
        }
    }

    /** A record read back with its offset. */
    public record Stored(long offset, long timestamp, String key, String value) {
    }

    /** One batch holding {@code records}, base offset 0 (the leader stamps the real one). */
    public static ByteBuffer batch(List<Rec> records) {
        int size = RecordBatch.HEADER_SIZE_BYTES;
        for (Rec r : records) {
            size += RecordBatchBuilder.estimateBatchSizeBytes(r.keyBytes(), r.valueBytes(), List.of());
        }
        ByteBuffer buf = ByteBuffer.allocate(size);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, records.get(0).timestamp());
        for (Rec r : records) {
            if (!b.tryAppend(r.timestamp(), r.keyBytes(), r.valueBytes(), List.<Header>of())) {
                throw new IllegalStateException("sized too small");
            }
        }
        b.build();
        buf.flip();
        return buf;
    }

    /** Writes the CRC of the batch at the start of {@code buf} again, after a test edited its bytes. */
    public static void reseal(ByteBuffer buf) {
        buf.putInt(RecordBatch.CRC_OFFSET, (int) RecordBatch.wrap(buf.duplicate()).computeCrc());
    }

    /** Several batches laid end to end in one payload. */
    public static ByteBuffer payload(List<List<Rec>> batches) {
        List<ByteBuffer> parts = new ArrayList<>();
        int total = 0;
        for (List<Rec> recs : batches) {
            ByteBuffer b = batch(recs);
            parts.add(b);
            total += b.remaining();
        }
        ByteBuffer out = ByteBuffer.allocate(total);
        parts.forEach(out::put);
        out.flip();
        return out;
    }

    /** A batch of {@code count} records of {@code valueBytes} random-looking bytes each (benchmarks). */
    public static ByteBuffer filler(int count, int valueBytes, long timestamp, long seed) {
        byte[] value = new byte[valueBytes];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        for (int i = 0; i < value.length; i++) {
            value[i] = (byte) rnd.nextInt(256);
        }
        int size = RecordBatch.HEADER_SIZE_BYTES + count * RecordBatchBuilder.estimateBatchSizeBytes(null, value, List.of());
        ByteBuffer buf = ByteBuffer.allocate(size);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, timestamp);
        for (int i = 0; i < count; i++) {
            b.tryAppend(timestamp, null, value, List.of());
        }
        b.build();
        buf.flip();
        return buf;
    }

    /** Every record of the batches in {@code buf}, in order. */
    public static List<Stored> decode(ByteBuffer buf) {
        List<Stored> out = new ArrayList<>();
        for (RecordBatch b : Batches.iterate(buf)) {
            b.validateChecksum();
            for (Record r : b.records()) {
                out.add(new Stored(r.offset(), r.timestamp(), str(r.keyBytes()), str(r.valueBytes())));
            }
        }
        return out;
    }

    private static String str(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }
}
