package dev.basalt.client.admin;

/**
 * The outcome of deleting a partition's records ({@code Admin.deleteRecords}): the partition's low
 * watermark afterwards, the smallest log start offset among its leader and in-sync (and eligible)
 * replicas once they followed. It is at least the offset asked for, or the log start when that was
 * already past it (a repeat changes nothing and answers the current low watermark). Consumers and
 * ListOffsets EARLIEST start there. Immutable.
 *
 * @param lowWatermark the first offset the partition still holds
 */
public record DeletedRecords(long lowWatermark) {
}
