package dev.basalt.metadata.image;

import dev.basalt.proto.v1.MetadataUuid;
import java.util.UUID;

/** Converts 128-bit ids between {@link UUID} and the wire {@link MetadataUuid}. Stateless, thread-safe. */
public final class ProtoIds {
    private ProtoIds() {
    }

    public static MetadataUuid toProto(UUID id) {
        return MetadataUuid.newBuilder().setMostSignificantBits(id.getMostSignificantBits())
                .setLeastSignificantBits(id.getLeastSignificantBits()).build();
    }

    public static UUID fromProto(MetadataUuid id) {
        return new UUID(id.getMostSignificantBits(), id.getLeastSignificantBits());
    }
}
