package dev.basalt.log.compaction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.record.Header;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import dev.basalt.record.TimestampType;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * {@link Compactor#compactBatch} on random batches (keys, tombstones, headers, timestamps far
 * from each other, producer fields, both timestamp types) against random "latest offset per key"
 * maps and pass times: the kept records are exactly those the rules keep, each with its offset,
 * timestamp, key, value and headers unchanged; the batch keeps every header field; the horizon is
 * set once, by the first pass that keeps a tombstone, and a tombstone goes at the first pass at
 * or after it if every replica holds it (below the bound); the result passes
 * {@link RecordBatch#validate}.
 *
 * <p>Reproduce: jqwik prints the seed; {@code ./mvnw -B -ntp -pl log-engine -am verify
 * -Dtest=CompactBatchProperties -Dsurefire.failIfNoSpecifiedTests=false} with
 * {@code @Property(seed = "...")}.
 */
class CompactBatchProperties {
    private static final long RETENTION_MS = 60_000;

    @Property(tries = 300)
    void keptRecordsAreExactlyTheRulesAndUnchanged(@ForAll long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long base = 1_000_000 + rnd.nextInt(1000);
        long now = 1_800_000_000_000L;
        RecordBatch batch = randomBatch(rnd, base, now);
        List<Record> original = list(batch);
        // The latest offset per key: each key's record here, or a later one elsewhere.
        Map<ByteBuffer, Long> latest = new HashMap<>();
        for (Record r : original) {
            if (r.hasKey()) {
                latest.put(ByteBuffer.wrap(r.keyBytes()), rnd.nextInt(3) == 0 ? r.offset() + 1_000_000 : r.offset());
            }
        }
        Compactor.OffsetMap map = new Compactor.OffsetMap(latest, 1);
        // Where every replica holds the log: no bound, or somewhere in or past the batch.
        long bound = rnd.nextBoolean() ? Long.MAX_VALUE : base + rnd.nextInt(25);

        RecordBatch current = batch;
        long horizon = Long.MAX_VALUE;
        long passMs = now;
        for (int pass = 0; pass < 4 && current != null; pass++) {
            List<Record> before = list(current);
            long[] removedEnd = {0};
            ByteBuffer out = Compactor.compactBatch(current, new Compactor.Rules(map, passMs, bound), RETENTION_MS, removedEnd);
            List<Record> expected = new ArrayList<>();
            boolean tombstoneKept = false;
            long expectedRemovedEnd = 0;
            for (Record r : before) {
                boolean isLatest = !r.hasKey() || latest.get(ByteBuffer.wrap(r.keyBytes())) == r.offset();
                boolean tombstone = r.hasKey() && r.isTombstone();
                if (isLatest && (!tombstone || passMs < horizon || r.offset() >= bound)) {
                    expected.add(r);
                    tombstoneKept |= tombstone;
                } else if (isLatest && tombstone) {
                    expectedRemovedEnd = r.offset() + 1; // a deletion gone: records come in offset order
                }
            }
            assertEquals(expectedRemovedEnd, removedEnd[0], "one past the last tombstone removed that was its key's latest record");
            if (expected.isEmpty()) {
                assertNull(out, "no survivor, no batch");
                current = null;
                break;
            }
            RecordBatch next = RecordBatch.wrap(out);
            next.validate(Integer.MAX_VALUE);
            assertEquals(expected.size(), next.recordCount());
            List<Record> got = list(next);
            for (int i = 0; i < expected.size(); i++) {
                assertSame(expected.get(i), got.get(i));
            }
            assertEquals(batch.baseOffset(), next.baseOffset());
            assertEquals(batch.lastOffsetDelta(), next.lastOffsetDelta(), "spans the same offsets");
            assertEquals(batch.partitionLeaderEpoch(), next.partitionLeaderEpoch());
            assertEquals(batch.maxTimestamp(), next.maxTimestamp());
            assertEquals(batch.producerId(), next.producerId());
            assertEquals(batch.producerEpoch(), next.producerEpoch());
            assertEquals(batch.baseSequence(), next.baseSequence());
            assertEquals(batch.timestampType(), next.timestampType());
            assertEquals(batch.attributes() & ~RecordBatch.DELETE_HORIZON_MASK, next.attributes() & ~RecordBatch.DELETE_HORIZON_MASK);
            if (horizon == Long.MAX_VALUE && tombstoneKept) {
                horizon = passMs + RETENTION_MS; // set by this pass
            }
            assertEquals(horizon, next.deleteHorizonMs(), "the horizon is set once, by the first pass that keeps a tombstone");
            current = next;
            passMs += rnd.nextLong(2 * RETENTION_MS);
        }
    }

    private static void assertSame(Record want, Record got) {
        assertEquals(want.offset(), got.offset());
        assertEquals(want.timestamp(), got.timestamp(), "timestamps are unchanged");
        assertArrayEquals(want.keyBytes(), got.keyBytes());
        assertArrayEquals(want.valueBytes(), got.valueBytes());
        assertEquals(want.headers(), got.headers());
    }

    /** Found reviewing: re-encoding header keys through a String changed keys that are not valid UTF-8. */
    @Test
    void aHeaderKeyThatIsNotUtf8_isCopiedByteForByte() {
        ByteBuffer buf = ByteBuffer.allocate(1024);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 5).baseOffset(10);
        b.tryAppend(5, "k".getBytes(StandardCharsets.UTF_8), null, List.of(new Header("AB", new byte[] {1})));
        b.tryAppend(6, "old".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8), List.of());
        ByteBuffer bytes = b.build().buffer();
        // Replace the header key "AB" by two bytes that are not UTF-8, and seal the CRC again.
        byte[] raw = new byte[bytes.remaining()];
        bytes.get(raw);
        int at = indexOf(raw, new byte[] {'A', 'B'});
        raw[at] = (byte) 0xFF;
        raw[at + 1] = (byte) 0xFE;
        ByteBuffer damaged = ByteBuffer.wrap(raw);
        CRC32C crc = new CRC32C();
        crc.update(damaged.duplicate().position(RecordBatch.ATTRIBUTES_OFFSET));
        damaged.putInt(RecordBatch.CRC_OFFSET, (int) crc.getValue());
        RecordBatch batch = RecordBatch.wrap(damaged);
        batch.validate(Integer.MAX_VALUE);

        Map<ByteBuffer, Long> latest = new HashMap<>();
        latest.put(ByteBuffer.wrap("k".getBytes(StandardCharsets.UTF_8)), 10L);
        latest.put(ByteBuffer.wrap("old".getBytes(StandardCharsets.UTF_8)), 99L); // superseded
        ByteBuffer out = Compactor.compactBatch(batch, new Compactor.Rules(new Compactor.OffsetMap(latest, 1), 1_000, Long.MAX_VALUE), RETENTION_MS);
        RecordBatch compacted = RecordBatch.wrap(out);
        compacted.validate(Integer.MAX_VALUE);
        assertEquals(1, compacted.recordCount());
        assertEquals(1_000 + RETENTION_MS, compacted.deleteHorizonMs());
        byte[] result = new byte[out.remaining()];
        out.duplicate().get(result);
        assertTrue(indexOf(result, new byte[] {(byte) 0xFF, (byte) 0xFE}) > 0, "the key's bytes are kept as they were");
        assertEquals(5, list(compacted).get(0).timestamp());
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = RecordBatch.RECORDS_OFFSET; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static List<Record> list(RecordBatch b) {
        List<Record> out = new ArrayList<>();
        b.records().forEach(out::add);
        return out;
    }

    private static RecordBatch randomBatch(SplittableRandom rnd, long baseOffset, long now) {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        long first = now - rnd.nextLong(40L * 24 * 3600 * 1000); // up to 40 days behind
        RecordBatchBuilder b = new RecordBatchBuilder(buf, first).baseOffset(baseOffset).partitionLeaderEpoch(rnd.nextInt(50))
                .timestampType(rnd.nextBoolean() ? TimestampType.CREATE_TIME : TimestampType.LOG_APPEND_TIME);
        if (rnd.nextBoolean()) {
            b.producer(rnd.nextLong(1 << 20), (short) rnd.nextInt(100), rnd.nextInt(1 << 20));
        }
        int n = 1 + rnd.nextInt(12);
        long offset = baseOffset;
        for (int i = 0; i < n; i++) {
            offset += 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(5) : 0); // gaps, as an earlier pass leaves
            byte[] key = rnd.nextInt(6) == 0 ? null : ("k" + rnd.nextInt(8) + "-" + i).getBytes(StandardCharsets.UTF_8);
            byte[] value = rnd.nextInt(3) == 0 ? null : ("v" + rnd.nextInt(1000)).getBytes(StandardCharsets.UTF_8);
            List<Header> headers = new ArrayList<>();
            for (int h = rnd.nextInt(3); h > 0; h--) {
                headers.add(new Header("h" + h, rnd.nextBoolean() ? null : new byte[] {(byte) rnd.nextInt(256)}));
            }
            long ts = rnd.nextInt(5) == 0 ? now + rnd.nextLong(1_000_000) : first + rnd.nextLong(1_000_000);
            assertTrue(b.appendWithOffset(offset, ts, key, value, headers));
        }
        return b.build();
    }
}
