package dev.basalt.broker.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import dev.basalt.proto.v1.FetchResponse;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A Fetch answer on its way out: the {@link FetchResponse} without its {@code records} fields, plus
 * each partition's records as a slice of the segment mapping. {@link #MARSHALLER} writes the bytes
 * a {@code FetchResponse} with those records would serialize to, copying each slice from the
 * mapping into gRPC's transport buffers through a per-thread scratch array.
 *
 * <p>Why not set the slices as {@code bytes} fields: protobuf-java 4.x turns a direct (mapped)
 * buffer wrapped as a ByteString into a fresh heap copy, which for a multi-MiB answer is a
 * humongous allocation and a full memcpy per fetch. Here nothing is allocated per answer: the
 * records go mapping → reused scratch array → transport buffer (gRPC's outbound API accepts only
 * byte arrays, so the scratch step cannot be skipped without sendfile, which gRPC cannot do).
 *
 * <p>Wire layout: protobuf accepts a message's fields in any order and concatenates repeated
 * ones, so each message is written as its record-less serialization followed by its repeated
 * children (topics, partitions) and, for a partition, the {@code records} field last. A standard
 * parser reads it back as the equivalent {@code FetchResponse} (FetchReplyTest checks this).
 *
 * <p>Thread-safety: immutable once built; the slices must stay mapped until gRPC has drained the
 * stream. gRPC drains a message into its transport buffers inside the call's {@code onNext}:
 * Fetch and FetchInParts close them when the call closes, FetchStream right after writing the
 * parts. Slices are read through duplicates, so their positions are never moved.
 */
public final class FetchReply {
    /**
     * Bytes copied from a mapping per write into the transport. gRPC sizes each transport buffer
     * by the write that opens it (up to 1 MiB) and hands every full buffer to the event loop, so
     * 1 MiB writes mean one buffer and one hand-off per MiB; 64 KiB writes meant sixteen.
     */
    static final int SCRATCH_BYTES = 1024 * 1024;
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[SCRATCH_BYTES]);

    /** Server-side marshaller: serializes replies; the server never parses one. */
    public static final MethodDescriptor.Marshaller<FetchReply> MARSHALLER = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(FetchReply value) {
            return value.new Stream();
        }

        @Override
        public FetchReply parse(InputStream stream) {
            throw new UnsupportedOperationException("FetchReply is written by the broker, never parsed");
        }
    };

    private final FetchResponse top;
    private final List<Topic> topics;
    private final int size;
    /** The bytes of everything but the records: what passes through the coded stream's buffer. */
    private final int framingSize;

    private record Partition(FetchResponse.PartitionResponse header, ByteBuffer records, int bodySize) {
    }

    private record Topic(FetchResponse.TopicResponse header, List<Partition> partitions, int bodySize) {
    }

    /**
     * @param response the answer without records (any {@code records} field set is ignored)
     * @param records  per topic, per partition, in the response's order: the partition's records,
     *                 or null / empty for none
     */
    public FetchReply(FetchResponse response, List<List<ByteBuffer>> records) {
        if (records.size() != response.getTopicsCount()) {
            throw new IllegalArgumentException(records.size() + " record lists for " + response.getTopicsCount() + " topics");
        }
        this.top = response.toBuilder().clearTopics().build();
        List<Topic> ts = new ArrayList<>(response.getTopicsCount());
        long total = top.getSerializedSize();
        long recordBytes = 0;
        for (int t = 0; t < response.getTopicsCount(); t++) {
            FetchResponse.TopicResponse topic = response.getTopics(t);
            List<ByteBuffer> recs = records.get(t);
            if (recs.size() != topic.getPartitionsCount()) {
                throw new IllegalArgumentException(recs.size() + " record slices for " + topic.getPartitionsCount()
                        + " partitions of " + topic.getName());
            }
            FetchResponse.TopicResponse th = topic.toBuilder().clearPartitions().build();
            List<Partition> ps = new ArrayList<>(topic.getPartitionsCount());
            long topicBody = th.getSerializedSize();
            for (int p = 0; p < topic.getPartitionsCount(); p++) {
                FetchResponse.PartitionResponse ph = topic.getPartitions(p).toBuilder().clearRecords().build();
                ByteBuffer r = recs.get(p) == null || !recs.get(p).hasRemaining() ? null : recs.get(p).duplicate();
                long body = ph.getSerializedSize();
                if (r != null) {
                    recordBytes += r.remaining();
                    body += CodedOutputStream.computeTagSize(FetchResponse.PartitionResponse.RECORDS_FIELD_NUMBER)
                            + CodedOutputStream.computeUInt32SizeNoTag(r.remaining()) + r.remaining();
                }
                int bodySize = checkedInt(body);
                ps.add(new Partition(ph, r, bodySize));
                topicBody += CodedOutputStream.computeTagSize(FetchResponse.TopicResponse.PARTITIONS_FIELD_NUMBER)
                        + CodedOutputStream.computeUInt32SizeNoTag(bodySize) + bodySize;
            }
            int topicSize = checkedInt(topicBody);
            ts.add(new Topic(th, List.copyOf(ps), topicSize));
            total += CodedOutputStream.computeTagSize(FetchResponse.TOPICS_FIELD_NUMBER)
                    + CodedOutputStream.computeUInt32SizeNoTag(topicSize) + topicSize;
        }
        this.topics = List.copyOf(ts);
        this.size = checkedInt(total);
        this.framingSize = checkedInt(total - recordBytes);
    }

    private FetchReply(FetchResponse top, List<Topic> topics, int size, int framingSize) {
        this.top = top;
        this.topics = topics;
        this.size = size;
        this.framingSize = framingSize;
    }

    /** This reply (a part) with FetchStream's correlation_id and last_part set; the records are shared, not copied. */
    public FetchReply tagged(long correlationId, boolean lastPart) {
        FetchResponse tagged = top.toBuilder().setCorrelationId(correlationId).setLastPart(lastPart).build();
        long delta = (long) tagged.getSerializedSize() - top.getSerializedSize();
        return new FetchReply(tagged, topics, checkedInt(size + delta), checkedInt(framingSize + delta));
    }

    /** FetchStream's correlation_id of this part (0 elsewhere). */
    public long correlationId() {
        return top.getCorrelationId();
    }

    /** True for FetchStream's last part of an answer. */
    public boolean lastPart() {
        return top.getLastPart();
    }

    /** An answer without records (errors, empty fetches). */
    public static FetchReply of(FetchResponse response) {
        List<List<ByteBuffer>> none = new ArrayList<>();
        for (FetchResponse.TopicResponse t : response.getTopicsList()) {
            List<ByteBuffer> l = new ArrayList<>();
            t.getPartitionsList().forEach(p -> l.add(p.getRecords().isEmpty() ? null : p.getRecords().asReadOnlyByteBuffer()));
            none.add(l);
        }
        return new FetchReply(response, none);
    }

    /**
     * This answer cut into parts for FetchInParts (see fetch.proto): partitions in order, a part
     * ending after the partition whose records bring it to {@code partBytesMin} or more. Each part
     * repeats the top-level fields and the headers of the topics it touches; no partition's
     * records are split. An answer without topics (a request-wide error, an empty request) is
     * one part.
     */
    public List<FetchReply> parts(int partBytesMin) {
        if (topics.isEmpty()) {
            return List.of(this);
        }
        List<FetchReply> out = new ArrayList<>();
        FetchResponse.Builder part = top.toBuilder();
        List<List<ByteBuffer>> partRecords = new ArrayList<>();
        long partBytes = 0;
        for (Topic t : topics) {
            FetchResponse.TopicResponse.Builder tb = null;
            List<ByteBuffer> tr = null;
            if (t.partitions().isEmpty()) {
                part.addTopics(t.header());
                partRecords.add(new ArrayList<>());
                continue;
            }
            for (Partition p : t.partitions()) {
                if (tb == null) {
                    tb = t.header().toBuilder();
                    tr = new ArrayList<>();
                }
                tb.addPartitions(p.header());
                tr.add(p.records());
                partBytes += p.records() == null ? 0 : p.records().remaining();
                if (partBytes >= partBytesMin) {
                    part.addTopics(tb);
                    partRecords.add(tr);
                    out.add(new FetchReply(part.build(), partRecords));
                    part = top.toBuilder();
                    partRecords = new ArrayList<>();
                    partBytes = 0;
                    tb = null;
                }
            }
            if (tb != null) {
                part.addTopics(tb);
                partRecords.add(tr);
            }
        }
        if (part.getTopicsCount() > 0 || out.isEmpty()) {
            out.add(new FetchReply(part.build(), partRecords));
        }
        return out;
    }

    /** The serialized size in bytes. */
    public int serializedSize() {
        return size;
    }

    /** Writes the serialized reply; returns the bytes written. */
    public int writeTo(OutputStream out) throws IOException {
        // the coded stream buffers only the framing; records bypass it
        CodedOutputStream cos = CodedOutputStream.newInstance(out, Math.max(32, Math.min(8 * 1024, framingSize)));
        top.writeTo(cos);
        for (Topic t : topics) {
            cos.writeTag(FetchResponse.TOPICS_FIELD_NUMBER, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            cos.writeUInt32NoTag(t.bodySize());
            t.header().writeTo(cos);
            for (Partition p : t.partitions()) {
                cos.writeTag(FetchResponse.TopicResponse.PARTITIONS_FIELD_NUMBER, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                cos.writeUInt32NoTag(p.bodySize());
                p.header().writeTo(cos);
                if (p.records() != null) {
                    ByteBuffer r = p.records().duplicate();
                    cos.writeTag(FetchResponse.PartitionResponse.RECORDS_FIELD_NUMBER, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                    cos.writeUInt32NoTag(r.remaining());
                    cos.flush(); // everything buffered goes out before the records bypass the coded stream
                    copy(r, out);
                }
            }
        }
        cos.flush();
        return size;
    }

    /**
     * Hands {@code sink} the request-wide error code and each partition's, skipping NONE (request
     * metrics count them; no copy of the answer is made).
     */
    public void forEachError(java.util.function.Consumer<dev.basalt.proto.v1.ErrorCode> sink) {
        if (top.getErrorCode() != dev.basalt.proto.v1.ErrorCode.NONE) {
            sink.accept(top.getErrorCode());
        }
        for (int i = 0; i < topics.size(); i++) {
            List<Partition> ps = topics.get(i).partitions();
            for (int j = 0; j < ps.size(); j++) {
                dev.basalt.proto.v1.ErrorCode c = ps.get(j).header().getErrorCode();
                if (c != dev.basalt.proto.v1.ErrorCode.NONE) {
                    sink.accept(c);
                }
            }
        }
    }

    /** The equivalent FetchResponse, records copied in (tests and debugging; the broker never needs it). */
    public FetchResponse toResponse() {
        FetchResponse.Builder b = top.toBuilder();
        for (Topic t : topics) {
            FetchResponse.TopicResponse.Builder tb = t.header().toBuilder();
            for (Partition p : t.partitions()) {
                FetchResponse.PartitionResponse.Builder pb = p.header().toBuilder();
                if (p.records() != null) {
                    pb.setRecords(com.google.protobuf.ByteString.copyFrom(p.records().duplicate()));
                }
                tb.addPartitions(pb);
            }
            b.addTopics(tb);
        }
        return b.build();
    }

    private static void copy(ByteBuffer from, OutputStream out) throws IOException {
        if (from.hasArray()) {
            out.write(from.array(), from.arrayOffset() + from.position(), from.remaining());
            return;
        }
        byte[] scratch = SCRATCH.get();
        // Bounded: each pass moves min(remaining, scratch) > 0 bytes.
        while (from.hasRemaining()) {
            int n = Math.min(scratch.length, from.remaining());
            from.get(scratch, 0, n);
            out.write(scratch, 0, n);
        }
    }

    private static int checkedInt(long v) {
        if (v > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("fetch reply of " + v + " bytes is too large for one gRPC message");
        }
        return (int) v;
    }

    /** gRPC drains this straight into its transport buffers; read() serves other consumers. */
    private final class Stream extends InputStream implements Drainable, KnownLength {
        private byte[] materialized;
        private int pos;
        private boolean drained;

        @Override
        public int drainTo(OutputStream target) throws IOException {
            if (drained || materialized != null) {
                // partly read through read(): hand over what is left
                byte[] all = materialize();
                int n = all.length - pos;
                target.write(all, pos, n);
                pos = all.length;
                return n;
            }
            drained = true;
            return writeTo(target);
        }

        @Override
        public int available() {
            if (materialized != null) {
                return materialized.length - pos;
            }
            return drained ? 0 : size;
        }

        @Override
        public int read() throws IOException {
            byte[] all = materialize();
            return pos < all.length ? all[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            byte[] all = materialize();
            if (pos >= all.length) {
                return -1;
            }
            int n = Math.min(len, all.length - pos);
            System.arraycopy(all, pos, b, off, n);
            pos += n;
            return n;
        }

        private byte[] materialize() throws IOException {
            if (materialized == null) {
                if (drained) {
                    materialized = new byte[0];
                } else {
                    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(size);
                    writeTo(bytes);
                    materialized = bytes.toByteArray();
                }
            }
            return materialized;
        }
    }
}
