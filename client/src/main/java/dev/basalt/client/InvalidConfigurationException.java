package dev.basalt.client;

/**
 * A topic or broker config key is unknown or its value has the wrong type or range (from the cluster). Definite, not retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class InvalidConfigurationException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public InvalidConfigurationException(String message) {
        super(message, false);
    }

    public InvalidConfigurationException(String message, Throwable cause) {
        super(message, false, cause);
    }
}
