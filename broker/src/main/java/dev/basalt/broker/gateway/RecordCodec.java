package dev.basalt.broker.gateway;

import com.google.protobuf.ByteString;
import dev.basalt.proto.v1.FetchedRecord;
import dev.basalt.proto.v1.ProducedRecord;
import dev.basalt.proto.v1.RecordHeader;
import dev.basalt.record.Batches;
import dev.basalt.record.Header;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Records as protobuf messages ↔ record batches (magic 2), for the thin-client gateway: one batch
 * from a partition's produced records, and decoded records from fetched batches.
 *
 * <p>Thread-safety: stateless.
 */
final class RecordCodec {
    private RecordCodec() {
    }

    /** A fetched answer decoded: the records and the offset to read next. */
    record Decoded(List<FetchedRecord> records, long nextOffset) {
    }

    /**
     * One batch holding {@code indexes} of {@code records}, in that order.
     *
     * @param nowMs timestamp of records that carry none
     */
    static ByteBuffer batch(List<ProducedRecord> records, List<Integer> indexes, long nowMs, long producerId, short producerEpoch,
                            int baseSequence) {
        long first = timestampOf(records.get(indexes.get(0)), nowMs);
        int size = RecordBatch.HEADER_SIZE_BYTES;
        List<List<Header>> headers = new ArrayList<>(indexes.size());
        for (int i : indexes) {
            ProducedRecord r = records.get(i);
            List<Header> hs = headers(r);
            headers.add(hs);
            // the worst-case varint sizes make the estimate an upper bound
            size += RecordBatchBuilder.recordSizeInBytes(Integer.MAX_VALUE, Long.MAX_VALUE, key(r), value(r), hs);
        }
        ByteBuffer buf = ByteBuffer.allocate(size);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, first).producer(producerId, producerEpoch, baseSequence);
        for (int n = 0; n < indexes.size(); n++) {
            ProducedRecord r = records.get(indexes.get(n));
            if (!b.tryAppend(timestampOf(r, nowMs), key(r), value(r), headers.get(n))) {
                throw new IllegalStateException("batch estimate too small"); // the estimate is an upper bound
            }
        }
        RecordBatch built = b.build();
        return built.buffer().duplicate();
    }

    /** Bytes a record occupies in a batch, at most (limits are checked against it before building). */
    static int sizeBytes(ProducedRecord r) {
        return RecordBatchBuilder.recordSizeInBytes(Integer.MAX_VALUE, Long.MAX_VALUE, key(r), value(r), headers(r));
    }

    private static long timestampOf(ProducedRecord r, long nowMs) {
        return r.hasTimestampMs() ? r.getTimestampMs() : nowMs;
    }

    static byte[] key(ProducedRecord r) {
        return r.hasKey() ? r.getKey().toByteArray() : null;
    }

    private static byte[] value(ProducedRecord r) {
        return r.hasValue() ? r.getValue().toByteArray() : null;
    }

    private static List<Header> headers(ProducedRecord r) {
        if (r.getHeadersCount() == 0) {
            return List.of();
        }
        List<Header> hs = new ArrayList<>(r.getHeadersCount());
        for (RecordHeader h : r.getHeadersList()) {
            hs.add(new Header(h.getKey(), h.hasValue() ? h.getValue().toByteArray() : null));
        }
        return hs;
    }

    /**
     * Decodes {@code batches} (as a leader's fetch answer holds them) from {@code fromOffset}: at
     * most {@code maxRecords} records below {@code highWatermark}, control batches skipped.
     */
    static Decoded decode(ByteBuffer batches, long fromOffset, long highWatermark, int maxRecords) {
        List<FetchedRecord> out = new ArrayList<>();
        long next = fromOffset;
        for (RecordBatch batch : Batches.iterate(batches)) {
            if (out.size() >= maxRecords || batch.baseOffset() >= highWatermark) {
                break;
            }
            if (batch.isControl()) {
                if (batch.nextOffset() <= highWatermark) {
                    next = Math.max(next, batch.nextOffset());
                }
                continue;
            }
            for (Record r : batch.records()) {
                if (r.offset() < fromOffset) {
                    continue;
                }
                if (r.offset() >= highWatermark || out.size() >= maxRecords) {
                    break;
                }
                out.add(toMessage(r));
                next = r.offset() + 1;
            }
            if (out.size() < maxRecords && batch.nextOffset() <= highWatermark) {
                // offsets compacted away at the batch's end are skipped, not asked for again
                next = Math.max(next, batch.nextOffset());
            }
        }
        return new Decoded(out, next);
    }

    private static FetchedRecord toMessage(Record r) {
        FetchedRecord.Builder b = FetchedRecord.newBuilder().setOffset(r.offset()).setTimestampMs(r.timestamp());
        if (r.hasKey()) {
            b.setKey(ByteString.copyFrom(r.key()));
        }
        if (!r.isTombstone()) {
            b.setValue(ByteString.copyFrom(r.value()));
        }
        for (Header h : r.headers()) {
            RecordHeader.Builder hb = RecordHeader.newBuilder().setKey(h.key());
            if (h.value() != null) {
                hb.setValue(ByteString.copyFrom(h.value()));
            }
            b.addHeaders(hb);
        }
        return b.build();
    }
}
