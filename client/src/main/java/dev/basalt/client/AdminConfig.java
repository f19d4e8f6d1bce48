package dev.basalt.client;

import dev.basalt.client.internal.ConfigDef;
import java.util.Map;

/**
 * Admin client configuration keys and their validation.
 *
 * <p>Thread-safety: constants and a read-only definition.
 */
public final class AdminConfig {
    public static final String BOOTSTRAP_SERVERS = CommonClientConfigs.BOOTSTRAP_SERVERS;
    public static final String CLIENT_ID = CommonClientConfigs.CLIENT_ID;
    public static final String REQUEST_TIMEOUT_MS = CommonClientConfigs.REQUEST_TIMEOUT_MS;
    public static final String RETRY_BACKOFF_MS = CommonClientConfigs.RETRY_BACKOFF_MS;
    /** Bound of one admin operation including retries of definite retriable errors (ms, default 60000). */
    public static final String DEFAULT_API_TIMEOUT_MS = "default.api.timeout.ms";

    static final ConfigDef DEF = CommonClientConfigs.base(30_000)
            .define(DEFAULT_API_TIMEOUT_MS, ConfigDef.Type.INT, 60_000, ConfigDef.between(1, Integer.MAX_VALUE), "api timeout (ms)");

    private AdminConfig() {
    }

    /** Every configuration key this client accepts (tools use it to route shared config files). */
    public static java.util.Set<String> configNames() {
        return java.util.Collections.unmodifiableSet(DEF.docs().keySet());
    }

    public static ConfigDef.Parsed parse(Map<String, ?> raw) {
        return DEF.parse(raw);
    }
}
