package dev.basalt.metadata.delta;

/**
 * Topic name rules, the same as Kafka's: 1..249 characters from {@code [a-zA-Z0-9._-]}, not
 * {@code "."} or {@code ".."}. Also the collision rule: {@code '.'} and {@code '_'} map to the same
 * metric name, so two topics differing only there collide. Stateless, thread-safe.
 */
public final class TopicNames {
    /** Longest legal topic name (Kafka's limit, so names fit file names with a partition suffix). */
    public static final int NAME_LENGTH_MAX = 249;

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
            boolean legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
                    || c == '_' || c == '-';
            if (!legal) {
                return "topic name " + name + " has illegal character '" + c + "' (legal: [a-zA-Z0-9._-])";
            }
        }
        return null;
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
