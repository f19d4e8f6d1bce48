package dev.basalt.broker.group.state;

/**
 * The coordinator's settings (broker configuration keys in brackets).
 *
 * @param sessionTimeoutMs        a member whose heartbeats stop for longer is removed
 *                                ({@code group.consumer.session.timeout.ms})
 * @param heartbeatIntervalMs     how often members heartbeat ({@code group.consumer.heartbeat.interval.ms})
 * @param groupSizeMax            members per group ({@code group.consumer.max.size})
 * @param defaultAssignor         the assignor of a group whose first member names none
 *                                ({@code group.consumer.assignor})
 * @param offsetsRetentionMs      an empty group whose last commit (and last member) is older is
 *                                deleted with its offsets ({@code offsets.retention.minutes})
 * @param offsetMetadataBytesMax  length limit of a commit's metadata string ({@code offset.metadata.max.bytes})
 *
 * <p>Immutable value; thread-safe.
 */
public record GroupConfig(int sessionTimeoutMs, int heartbeatIntervalMs, int groupSizeMax, String defaultAssignor,
                          long offsetsRetentionMs, int offsetMetadataBytesMax) {
    public static final GroupConfig DEFAULT = new GroupConfig(45_000, 5_000, 1_000, UniformAssignor.NAME,
            7L * 24 * 3600 * 1000, 4096);

    public GroupConfig {
        if (sessionTimeoutMs <= 0 || heartbeatIntervalMs <= 0 || heartbeatIntervalMs >= sessionTimeoutMs) {
            throw new IllegalArgumentException("need 0 < heartbeat interval (" + heartbeatIntervalMs + " ms) < session timeout ("
                    + sessionTimeoutMs + " ms)");
        }
        if (groupSizeMax <= 0) {
            throw new IllegalArgumentException("group size max " + groupSizeMax + " <= 0");
        }
        if (Assignor.byName(defaultAssignor) == null) {
            throw new IllegalArgumentException("unknown assignor " + defaultAssignor);
        }
        if (offsetsRetentionMs <= 0 || offsetMetadataBytesMax < 0) {
            throw new IllegalArgumentException("offsets retention " + offsetsRetentionMs + " ms, metadata max " + offsetMetadataBytesMax);
        }
    }
}
