package dev.basalt.metadata.controller;

import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.proto.v1.MetadataRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * The records of one decision in the making. Each record is replayed into a scratch delta the moment
 * it is added, so later steps of the same decision see its effect, and a decision that would produce
 * an inconsistent record fails here (a controller bug, {@link IllegalStateException}) instead of on
 * every node that replays the log. Not thread-safe: lives for one call on the controller thread.
 */
final class RecordBuffer {
    private final MetadataDelta state;
    private final List<MetadataRecord> records = new ArrayList<>();

    RecordBuffer(MetadataImage image) {
        this.state = new MetadataDelta(image);
    }

    void add(MetadataRecord record) {
        state.replay(record);
        records.add(record);
    }

    /** The image plus every record added so far (read-only use). */
    MetadataDelta state() {
        return state;
    }

    List<MetadataRecord> records() {
        return records;
    }

    /** True when {@code brokerId} is registered and unfenced in the current state. */
    boolean isLive(int brokerId) {
        return state.broker(brokerId).map(b -> !b.fenced()).orElse(false);
    }

    <R> ControllerResult<R> result(R response) {
        return new ControllerResult<>(records, response);
    }

    /** The registered broker of that incarnation, or the typed error the caller gets. */
    BrokerRegistration requireIncarnation(int brokerId, java.util.UUID incarnationId) {
        BrokerRegistration b = state.broker(brokerId).orElseThrow(() -> new ControllerException(
                ControllerException.Reason.UNKNOWN_BROKER, "broker " + brokerId + " is not registered"));
        if (!b.incarnationId().equals(incarnationId)) {
            throw new ControllerException(ControllerException.Reason.STALE_BROKER_INCARNATION, "broker " + brokerId
                    + " is now incarnation " + b.incarnationId() + ", not " + incarnationId);
        }
        return b;
    }
}
