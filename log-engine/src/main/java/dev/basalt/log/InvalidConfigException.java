package dev.basalt.log;

/** A log config value is missing its required form or out of range. Maps to {@code INVALID_CONFIG}. Immutable. */
public class InvalidConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String key;
    private final String value;

    public InvalidConfigException(String key, String value, String reason) {
        super("invalid value '" + value + "' for config " + key + ": " + reason);
        this.key = key;
        this.value = value;
    }

    public String key() {
        return key;
    }

    public String value() {
        return value;
    }
}
