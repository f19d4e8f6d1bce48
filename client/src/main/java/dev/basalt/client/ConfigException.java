package dev.basalt.client;

/**
 * A client configuration is invalid: unknown key, wrong type, value out of range, or missing a
 * required key. Thrown by the constructors of {@link Producer}, {@link Consumer} and
 * {@link Admin}; never by an operation.
 *
 * <p>Thread-safety: immutable.
 */
public class ConfigException extends BasaltException {
    private static final long serialVersionUID = 1L;
    private final String key;

    public ConfigException(String key, Object value, String reason) {
        super("invalid value " + describe(value) + " for configuration " + key + ": " + reason);
        this.key = key;
    }

    public ConfigException(String message) {
        super(message);
        this.key = null;
    }

    private static String describe(Object value) {
        return value == null ? "null" : "'" + value + "'";
    }

    /** The offending key, or null when the problem is not about one key. */
    public String key() {
        return key;
    }

    @Override
    public boolean retriable() {
        return false;
    }
}
