package dev.basalt.broker.config;

/** A node configuration value is unknown, missing or malformed. Names the key and the value. */
public class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String key;

    public ConfigException(String key, String value, String problem) {
        super("invalid configuration " + key + "=" + value + ": " + problem);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
