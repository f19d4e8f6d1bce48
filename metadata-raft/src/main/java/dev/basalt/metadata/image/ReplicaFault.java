package dev.basalt.metadata.image;

import java.util.Comparator;
import java.util.Objects;
import java.util.UUID;

/**
 * One replica a broker reported it cannot serve (a storage failure, a corrupt segment, a lost
 * directory), and why. Immutable value, thread-safe.
 *
 * @param topicId   the topic's id
 * @param partition the partition, >= 0
 * @param reason    the broker's reason, at most {@link #REASON_CHARS_MAX} characters
 */
public record ReplicaFault(UUID topicId, int partition, String reason) {
    /** How a broker's reason starts when the replica is only out of space: see {@link dev.basalt.common.OfflineReasons}. */
    public static final String OUT_OF_SPACE = dev.basalt.common.OfflineReasons.OUT_OF_SPACE;

    /** Whether the replica is only out of space (see {@link #OUT_OF_SPACE}): it still serves reads. */
    public boolean outOfSpaceOnly() {
        return outOfSpaceOnly(reason);
    }

    public static boolean outOfSpaceOnly(String reason) {
        return dev.basalt.common.OfflineReasons.outOfSpaceOnly(reason);
    }

    /** Reasons are cut to this many characters: they go into the metadata log with every change. */
    public static final int REASON_CHARS_MAX = 200;
    /** Offline replicas one broker may report (bounds the loops over a broker-supplied list). */
    public static final int PER_BROKER_MAX = 100_000;
    /** Topic id, then partition. */
    public static final Comparator<ReplicaFault> ORDER = Comparator.comparing(ReplicaFault::topicId)
            .thenComparingInt(ReplicaFault::partition);

    public ReplicaFault {
        Objects.requireNonNull(topicId, "topicId");
        Objects.requireNonNull(reason, "reason");
        if (partition < 0) {
            throw new IllegalArgumentException("negative partition " + partition);
        }
        if (reason.length() > REASON_CHARS_MAX) {
            reason = reason.substring(0, REASON_CHARS_MAX);
        }
    }
}
