package dev.basalt.broker.group.state;

import java.util.List;

/**
 * What a group operation decided: the records to write (already replayed into the shard's state)
 * and the answer, to be sent once the records are durable (committed in the offsets partition).
 *
 * <p>Immutable value; thread-safe.
 */
public record Result<T>(List<GroupRecord> records, T response) {
    public Result {
        records = List.copyOf(records);
    }
}
