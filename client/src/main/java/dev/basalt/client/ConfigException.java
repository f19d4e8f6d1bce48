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

    private ConfigException(String key, String message, boolean unused) {
        super(message);
        this.key = key;
    }

    /**
     * A key that is not a configuration of this client; {@code didYouMean} names the closest known
     * key, or is null.
     */
    public static ConfigException unknownKey(String key, String didYouMean) {
        return new ConfigException(key, "unknown configuration key '" + key + "'"
                + (didYouMean == null ? "" : " (did you mean " + didYouMean + "?)"), true);
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
