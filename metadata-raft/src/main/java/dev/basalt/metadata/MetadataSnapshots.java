package dev.basalt.metadata;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.proto.v1.MetadataRecordBatch;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * A metadata snapshot: the image at a log offset, written as the records that rebuild it. Stateless
 * and thread-safe.
 *
 * <pre>
 * magic "BMS1" int32 | offset int64 (last Raft index the image includes) | crc32c int32 (over the rest)
 * | MetadataRecordBatch (protobuf) holding image.toRecords()
 * </pre>
 * All integers big-endian. The Raft store checksums the snapshot file as a whole as well; this CRC
 * lets the bytes be checked wherever they travel (InstallSnapshot chunks, tools).
 */
public final class MetadataSnapshots {
    static final int MAGIC = 0x424d5331; // "BMS1"
    static final int HEADER_BYTES = 16;

    private MetadataSnapshots() {
    }

    /** A snapshot read back: the image and the last log index it includes. */
    public record Snapshot(MetadataImage image, long offset) {
    }

    public static byte[] write(MetadataImage image, long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
        byte[] body = MetadataRecordBatch.newBuilder().addAllRecords(image.toRecords()).build().toByteArray();
        ByteBuffer out = ByteBuffer.allocate(HEADER_BYTES + body.length);
        out.putInt(MAGIC).putLong(offset).putInt(crc(body, 0, body.length)).put(body);
        return out.array();
    }

    /**
     * Parses and replays a snapshot into an empty image. Corrupt bytes or records that do not replay
     * cleanly are an {@link IllegalStateException}: a snapshot is committed state, never guessed at.
     */
    public static Snapshot read(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        if (bytes.length < HEADER_BYTES || in.getInt(0) != MAGIC) {
            throw new IllegalStateException("not a metadata snapshot (" + bytes.length + " bytes, bad magic)");
        }
        long offset = in.getLong(4);
        int storedCrc = in.getInt(12);
        int actualCrc = crc(bytes, HEADER_BYTES, bytes.length - HEADER_BYTES);
        if (storedCrc != actualCrc || offset < 0) {
            throw new IllegalStateException("corrupt metadata snapshot at offset " + offset + ": CRC32C "
                    + Integer.toHexString(actualCrc) + " != stored " + Integer.toHexString(storedCrc));
        }
        MetadataRecordBatch batch;
        try {
            batch = MetadataRecordBatch.parseFrom(ByteBuffer.wrap(bytes, HEADER_BYTES, bytes.length - HEADER_BYTES));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("metadata snapshot at offset " + offset + " does not parse", e);
        }
        MetadataDelta delta = new MetadataDelta(MetadataImage.EMPTY);
        delta.replayAll(batch.getRecordsList());
        return new Snapshot(delta.apply(), offset);
    }

    private static int crc(byte[] bytes, int from, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, from, length);
        return (int) crc.getValue();
    }
}
