package dev.basalt.metadata.image;

import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.ProducerIdBlockRecord;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The latest producer-id block handed out; the next block starts at or after its end. Immutable and
 * thread-safe.
 */
public final class ProducerIdsImage {
    public static final ProducerIdsImage EMPTY = new ProducerIdsImage(Optional.empty());

    private final Optional<ProducerIdBlock> lastBlock;

    public ProducerIdsImage(Optional<ProducerIdBlock> lastBlock) {
        this.lastBlock = lastBlock;
    }

    /**
     * A block of producer ids owned by one broker.
     *
     * @param ownerBrokerId   broker that owns the block
     * @param firstProducerId first id, >= 0
     * @param size            number of ids, >= 1
     */
    public record ProducerIdBlock(int ownerBrokerId, long firstProducerId, int size) {
        public ProducerIdBlock {
            if (firstProducerId < 0 || size < 1 || firstProducerId > Long.MAX_VALUE - size) {
                throw new IllegalArgumentException("bad producer id block " + firstProducerId + "+" + size);
            }
        }

        /** One past the last id of the block. */
        public long endProducerId() {
            return firstProducerId + size;
        }
    }

    public Optional<ProducerIdBlock> lastBlock() {
        return lastBlock;
    }

    /** The smallest id the next block may start at. */
    public long nextProducerId() {
        return lastBlock.map(ProducerIdBlock::endProducerId).orElse(0L);
    }

    void toRecords(Consumer<MetadataRecord> out) {
        lastBlock.ifPresent(b -> out.accept(MetadataRecord.newBuilder().setProducerIdBlock(ProducerIdBlockRecord
                .newBuilder().setOwnerBrokerId(b.ownerBrokerId()).setFirstProducerId(b.firstProducerId())
                .setSize(b.size())).build()));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProducerIdsImage p && lastBlock.equals(p.lastBlock);
    }

    @Override
    public int hashCode() {
        return lastBlock.hashCode();
    }

    @Override
    public String toString() {
        return "ProducerIdsImage(" + lastBlock + ")";
    }
}
