package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.ConfigResource;
import java.util.Optional;

/**
 * Checks one configuration key and value for a resource. Config names and types are owned by the
 * broker module, so the controller receives this function instead of knowing them. Implementations
 * must be pure (no I/O, no clock) and thread-safe.
 */
@FunctionalInterface
public interface ConfigValidator {
    /** Accepts everything; for tests of logic that does not care about config types. */
    ConfigValidator ACCEPT_ALL = (resource, key, value) -> Optional.empty();

    /**
     * @param resource the resource the key is set on
     * @param key      configuration key
     * @param value    the value to set
     * @return why the key or value is not acceptable, or empty when it is
     */
    Optional<String> problem(ConfigResource resource, String key, String value);

    /**
     * Checks a key alone, for deleting a key the resource does not have set: a misspelt key is
     * refused rather than "deleted". Default: every key is known.
     *
     * @return why the key is not one of the resource's, or empty when it is
     */
    default Optional<String> unknownKey(ConfigResource resource, String key) {
        return Optional.empty();
    }

    /**
     * Checks a resource's overrides together, after each key and value passed {@link #problem}:
     * rules between keys (max.compaction.lag.ms ≥ min.compaction.lag.ms). Given the whole set the
     * resource would have: a new topic's configs, or a resource's current overrides with a change
     * applied. Default: no rule between keys.
     *
     * @return why the set is not acceptable, or empty when it is
     */
    default Optional<String> problemOfAll(ConfigResource resource, java.util.Map<String, String> overrides) {
        return Optional.empty();
    }
}
