package dev.basalt.common;

/**
 * The topic name rules, in one place for every module: the client checks a name before asking
 * the cluster, the controller before creating a topic. They are Kafka's: 1..249 characters from
 * {@code [a-zA-Z0-9._-]}, not {@code "."} or {@code ".."}. Also the collision rule: {@code '.'}
 * and {@code '_'} map to the same metric name, so two topics differing only there collide.
 *
 * <p>Thread-safety: stateless.
 */
public final class TopicNames {
    /** Longest legal topic name (Kafka's limit, so names fit file names with a partition suffix). */
    public static final int NAME_LENGTH_MAX = 249;
    /**
     * Names starting with this are the cluster's own (internal) topics: left out of listings unless
     * asked for, never deleted, their partition count fixed, created by the cluster only.
     */
    public static final String INTERNAL_PREFIX = "__";
    /** The consumer groups' offsets and membership: the one internal topic. */
    public static final String CONSUMER_OFFSETS = "__consumer_offsets";

    private TopicNames() {
    }

    /** Null when {@code name} is legal, otherwise why it is not. */
    public static String validate(String name) {
        if (name == null || name.isEmpty()) {
            return "topic name is empty";
        }
        if (name.equals(".") || name.equals("..")) {
            return "topic name cannot be \".\" or \"..\"";
        }
        if (name.length() > NAME_LENGTH_MAX) {
            return "topic name is " + name.length() + " characters, over " + NAME_LENGTH_MAX;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!isLegalChar(c)) {
                return "topic name " + name + " has illegal character '" + c + "' (legal: [a-zA-Z0-9._-])";
            }
        }
        return null;
    }

    /** Whether {@code name} is an internal topic's (see {@link #INTERNAL_PREFIX}). */
    public static boolean isInternal(String name) {
        return name.startsWith(INTERNAL_PREFIX);
    }

    /** True when {@link #validate} finds nothing wrong. */
    public static boolean isLegal(String name) {
        return validate(name) == null;
    }

    private static boolean isLegalChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    }

    /** True when the name contains '.' or '_' (and so may collide with another). */
    public static boolean hasCollisionChars(String name) {
        return name.indexOf('.') >= 0 || name.indexOf('_') >= 0;
    }

    /** The name with '.' replaced by '_': two names collide when these are equal. */
    public static String unifyCollisionChars(String name) {
        return name.replace('.', '_');
    }
}
