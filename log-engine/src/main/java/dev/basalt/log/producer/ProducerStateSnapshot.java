package dev.basalt.log.producer;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The producer state of a partition as of one offset: every batch below {@code offset} applied,
 * none at or above it. Stored in the data dir's RocksDB (column family {@code producers}, key
 * (partition id, offset)) so recovery replays only the log after the newest snapshot it can use.
 *
 * <h2>Encoding (big-endian)</h2>
 * <pre>
 *  0 version      int8    = 1
 *  1 crc          int32   CRC32C of every byte after this field
 *  5 offset       int64   the state covers batches below this offset
 * 13 count        int32   entries, then per entry:
 *      producerId int64, epoch int16, lastTimestamp int64, batchCount int8 (1..5), then per batch:
 *      firstSeq int32, lastSeq int32, firstOffset int64, lastOffset int64, maxTimestamp int64
 * </pre>
 * A snapshot is never ahead of the log's recovery point when written (the log writes it only once
 * everything below its offset is fsynced), so after a crash every snapshot at or below the
 * recovered log end describes bytes that are still there.
 *
 * <p>Immutable; thread-safe. Pure codec, no I/O.
 *
 * @param offset  the state covers the batches below this offset
 * @param entries producers, by id
 */
public record ProducerStateSnapshot(long offset, List<ProducerStateEntry> entries) {
    private static final byte VERSION = 1;
    private static final int HEADER_BYTES = 17;
    private static final int ENTRY_BYTES = 19;
    private static final int BATCH_BYTES = 32;
    /** Bounds decoding of a damaged value. */
    public static final int ENTRY_COUNT_MAX = 1 << 22;

    public ProducerStateSnapshot {
        entries = List.copyOf(entries);
    }

    public byte[] encode() {
        int size = HEADER_BYTES;
        for (ProducerStateEntry e : entries) {
            size += ENTRY_BYTES + e.batches().size() * BATCH_BYTES;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put(VERSION).putInt(0).putLong(offset).putInt(entries.size());
        for (ProducerStateEntry e : entries) {
            b.putLong(e.producerId()).putShort(e.epoch()).putLong(e.lastTimestamp()).put((byte) e.batches().size());
            for (BatchMetadata m : e.batches()) {
                b.putInt(m.firstSeq()).putInt(m.lastSeq()).putLong(m.firstOffset()).putLong(m.lastOffset())
                        .putLong(m.maxTimestamp());
            }
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 5, size - 5);
        b.putInt(1, (int) crc.getValue());
        return b.array();
    }

    /** @throws IllegalStateException if the bytes are damaged or of another version */
    public static ProducerStateSnapshot decode(byte[] bytes) {
        if (bytes.length < HEADER_BYTES || bytes[0] != VERSION) {
            throw new IllegalStateException("producer snapshot of " + bytes.length + " bytes has an unknown layout");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        CRC32C crc = new CRC32C();
        crc.update(bytes, 5, bytes.length - 5);
        if (b.getInt(1) != (int) crc.getValue()) {
            throw new IllegalStateException("producer snapshot fails its CRC");
        }
        b.position(5);
        long offset = b.getLong();
        int n = b.getInt();
        if (n < 0 || n > ENTRY_COUNT_MAX || (long) n * ENTRY_BYTES > b.remaining()) {
            throw new IllegalStateException("producer snapshot declares " + n + " entries in " + b.remaining() + " bytes");
        }
        List<ProducerStateEntry> entries = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                long pid = b.getLong();
                short epoch = b.getShort();
                long ts = b.getLong();
                int count = b.get();
                List<BatchMetadata> batches = new ArrayList<>(Math.max(0, Math.min(count, ProducerStateManager.RUNS_PER_PRODUCER)));
                for (int j = 0; j < count && j < ProducerStateManager.RUNS_PER_PRODUCER + 1; j++) {
                    batches.add(new BatchMetadata(b.getInt(), b.getInt(), b.getLong(), b.getLong(), b.getLong()));
                }
                entries.add(new ProducerStateEntry(pid, epoch, batches, ts));
            }
        } catch (RuntimeException e) {
            throw new IllegalStateException("producer snapshot is malformed: " + e.getMessage(), e);
        }
        if (b.hasRemaining()) {
            throw new IllegalStateException("producer snapshot has " + b.remaining() + " trailing bytes");
        }
        return new ProducerStateSnapshot(offset, entries);
    }
}
