package dev.basalt.common;

/**
 * The one rule brokers, the controller and clients share about the reasons a broker gives for a
 * replica it reports offline: a reason that starts with {@link #OUT_OF_SPACE} means the replica is
 * only out of space (intact, serving reads, refusing appends). Brokers make sure of it, and no
 * other reason starts so; the controller then keeps such a replica leading where no replica in
 * service could replace it, and clients show its partition as read-only. One that starts with
 * {@link #TO_BE_REBUILT} means its broker is about to discard its log and refetch it.
 *
 * <p>Thread-safety: stateless.
 */
public final class OfflineReasons {
    /** How the reason of a replica that is only out of space starts. */
    public static final String OUT_OF_SPACE = "disk full";
    /**
     * How the reason of a replica set aside for a rebuild starts (corrupt data, its files deleted
     * or cut while the node ran): its broker discards its log and refetches it from the leader, so
     * the controller takes it out of the eligible leader replicas as well as the ISR.
     */
    public static final String TO_BE_REBUILT = "to be rebuilt from another replica";

    private OfflineReasons() {
    }

    /** Whether {@code reason} says the replica is only out of space. */
    public static boolean outOfSpaceOnly(String reason) {
        return reason != null && reason.startsWith(OUT_OF_SPACE);
    }

    /** Whether {@code reason} says the replica is set aside for a rebuild (see {@link #TO_BE_REBUILT}). */
    public static boolean toBeRebuilt(String reason) {
        return reason != null && reason.startsWith(TO_BE_REBUILT);
    }
}
