package dev.basalt.metadata;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.proto.v1.MetadataRecordBatch;
import dev.basalt.raft.log.LogEntry;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Adapts the metadata image to the Raft driver: applies committed entries (a DATA entry's payload is
 * one {@link MetadataRecordBatch}), produces snapshot bytes, restores from them, and publishes each
 * new image.
 *
 * <p>Thread-safety: the mutating methods ({@link #apply}, {@link #applyBatch}, {@link #restore}) are
 * called by one thread, the Raft driver, in commit order. Any thread may read {@link #latest()}
 * without locks: the {@link Published} value (image plus applied index) is immutable and swapped
 * through a volatile field. Listeners run on the driver thread right after each publish and must not
 * block.
 *
 * <p>A batch is applied atomically: if any record in it is inconsistent the image is left as it was
 * and an {@link IllegalStateException} naming the record propagates — committed metadata that does
 * not replay means a bug or corruption, and the driver's fault handler must stop the node.
 */
public final class MetadataStateMachine {

    /**
     * An image and the last Raft index it includes. Immutable.
     *
     * @param image        the metadata image
     * @param appliedIndex last log index applied (0 = nothing)
     */
    public record Published(MetadataImage image, long appliedIndex) {
        public Published {
            Objects.requireNonNull(image, "image");
        }
    }

    private final int batchBytesMax;
    private final List<Consumer<Published>> listeners = new CopyOnWriteArrayList<>();
    private volatile Published latest = new Published(MetadataImage.EMPTY, 0);

    /** @param batchBytesMax largest DATA entry payload accepted (bigger is a broken invariant) */
    public MetadataStateMachine(int batchBytesMax) {
        if (batchBytesMax < 1) {
            throw new IllegalArgumentException("batchBytesMax must be positive: " + batchBytesMax);
        }
        this.batchBytesMax = batchBytesMax;
    }

    public Published latest() {
        return latest;
    }

    public MetadataImage image() {
        return latest.image();
    }

    public long appliedIndex() {
        return latest.appliedIndex();
    }

    /** Registers a listener called (on the driver thread) with every newly published image. */
    public void addListener(Consumer<Published> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** Applies a committed entry: DATA entries change the image; NOOP and CONFIGURATION only advance the index. */
    public void apply(LogEntry entry) {
        if (entry.type() == LogEntry.EntryType.DATA) {
            applyBatch(entry.index(), entry.data());
        } else {
            checkIndex(entry.index());
            publish(new Published(latest.image(), entry.index()));
        }
    }

    /** Applies the {@link MetadataRecordBatch} committed at {@code index}. */
    public void applyBatch(long index, byte[] data) {
        checkIndex(index);
        if (data.length > batchBytesMax) {
            throw new IllegalStateException("metadata entry " + index + " is " + data.length + " bytes, over batchBytesMax "
                    + batchBytesMax);
        }
        MetadataRecordBatch batch;
        try {
            batch = MetadataRecordBatch.parseFrom(data);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("metadata entry " + index + " is not a MetadataRecordBatch", e);
        }
        if (batch.getRecordsCount() == 0) {
            throw new IllegalStateException("metadata entry " + index + " holds an empty MetadataRecordBatch");
        }
        MetadataDelta delta = new MetadataDelta(latest.image());
        try {
            delta.replayAll(batch.getRecordsList());
        } catch (IllegalStateException e) {
            throw new IllegalStateException("metadata entry " + index + ": " + e.getMessage(), e);
        }
        publish(new Published(delta.apply(), index));
    }

    /** The current image as snapshot bytes ({@link MetadataSnapshots} format) at the applied index. */
    public byte[] snapshot() {
        Published current = latest;
        return MetadataSnapshots.write(current.image(), current.appliedIndex());
    }

    /** Replaces the state with a snapshot (on start-up, or InstallSnapshot from the leader). */
    public void restore(byte[] snapshotBytes) {
        MetadataSnapshots.Snapshot snapshot = MetadataSnapshots.read(snapshotBytes);
        publish(new Published(snapshot.image(), snapshot.offset()));
    }

    private void checkIndex(long index) {
        if (index <= latest.appliedIndex()) {
            throw new IllegalStateException("entry " + index + " is at or below the applied index "
                    + latest.appliedIndex() + ": entries must be applied once, in order");
        }
    }

    private void publish(Published next) {
        latest = next;
        for (Consumer<Published> listener : listeners) {
            listener.accept(next);
        }
    }
}
