package dev.basalt.log;

/** A log config value is missing its required form or out of range. Maps to {@code INVALID_CONFIG}. Immutable. */
public class InvalidConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String key;
    private final String value;

    public InvalidConfigException(String key, String value, String reason) {
        this(key, value, "invalid value '" + value + "' for config " + key + ": " + reason, true);
    }

    private InvalidConfigException(String key, String value, String message, boolean whole) {
        super(message);
        this.key = key;
        this.value = value;
    }

    /** The key itself is not a config (its value is not what is wrong). */
    public static InvalidConfigException unknownKey(String key, String value, String why) {
        return new InvalidConfigException(key, value, "unknown config " + key + ": " + why, true);
    }

    public String key() {
        return key;
    }

    public String value() {
        return value;
    }
}
