package dev.basalt.metadata.controller;

import dev.basalt.proto.v1.MetadataRecord;
import java.util.List;
import java.util.Objects;

/**
 * What a controller decision produces: the records to commit through the metadata quorum and the
 * response to send once they are committed (never before: STYLE.md §3). Immutable.
 *
 * @param records  records to propose as one {@code MetadataRecordBatch}; when empty nothing changes and
 *                 nothing is proposed (the response can be sent at once)
 * @param response the response for the caller
 * @param <R>      response type
 */
public record ControllerResult<R>(List<MetadataRecord> records, R response) {
    public ControllerResult {
        records = List.copyOf(records);
        Objects.requireNonNull(response, "response");
    }
}
