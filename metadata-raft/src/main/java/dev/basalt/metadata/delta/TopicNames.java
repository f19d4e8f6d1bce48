package dev.basalt.metadata.delta;

/**
 * Topic name rules as the metadata layer uses them; the rules themselves live in
 * {@link dev.basalt.common.TopicNames} (module proto), shared with the client. Stateless,
 * thread-safe.
 */
public final class TopicNames {
    /** Longest legal topic name (Kafka's limit, so names fit file names with a partition suffix). */
    public static final int NAME_LENGTH_MAX = dev.basalt.common.TopicNames.NAME_LENGTH_MAX;

    private TopicNames() {
    }

    /** Null when {@code name} is legal, otherwise why it is not. */
    public static String validate(String name) {
        return dev.basalt.common.TopicNames.validate(name);
    }

    /** Whether the name is an internal topic's: not deletable, partition count fixed. */
    public static boolean isInternal(String name) {
        return dev.basalt.common.TopicNames.isInternal(name);
    }

    /** The internal topic of consumer groups. */
    public static final String CONSUMER_OFFSETS = dev.basalt.common.TopicNames.CONSUMER_OFFSETS;

    /** True when the name contains '.' or '_' (and so may collide with another). */
    public static boolean hasCollisionChars(String name) {
        return dev.basalt.common.TopicNames.hasCollisionChars(name);
    }

    /** The name with '.' replaced by '_': two names collide when these are equal. */
    public static String unifyCollisionChars(String name) {
        return dev.basalt.common.TopicNames.unifyCollisionChars(name);
    }
}
