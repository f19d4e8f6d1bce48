package dev.basalt.client;

import dev.basalt.client.internal.ConfigDef;
import java.util.Map;

/**
 * Producer configuration keys (Kafka's names and, where sensible, Kafka's defaults) and their
 * validation.
 *
 * <p>Thread-safety: constants and a read-only definition.
 */
public final class ProducerConfig {
    public static final String BOOTSTRAP_SERVERS = CommonClientConfigs.BOOTSTRAP_SERVERS;
    /** "0", "1", "-1" or "all" (default "all"). */
    public static final String ACKS = "acks";
    /** Bytes per partition batch (default 16384); a record larger than this gets a batch of its own. */
    public static final String BATCH_SIZE = "batch.size";
    /** How long a batch waits for more records before it is sent (ms, default 5). */
    public static final String LINGER_MS = "linger.ms";
    /** Total bytes of batches waiting to be sent or acknowledged (default 32 MiB). */
    public static final String BUFFER_MEMORY = "buffer.memory";
    /** How long send() may block for buffer memory or metadata (ms, default 60000). */
    public static final String MAX_BLOCK_MS = "max.block.ms";
    /** Retries of a failed batch (default Integer.MAX_VALUE, bounded by delivery.timeout.ms). */
    public static final String RETRIES = "retries";
    public static final String RETRY_BACKOFF_MS = CommonClientConfigs.RETRY_BACKOFF_MS;
    public static final String RETRY_BACKOFF_MAX_MS = CommonClientConfigs.RETRY_BACKOFF_MAX_MS;
    /** Upper bound from send() to the result, retries included (ms, default 120000). */
    public static final String DELIVERY_TIMEOUT_MS = "delivery.timeout.ms";
    public static final String REQUEST_TIMEOUT_MS = CommonClientConfigs.REQUEST_TIMEOUT_MS;
    /** Unanswered produce requests per broker connection (default 5). */
    public static final String MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION = "max.in.flight.requests.per.connection";
    /** Largest produce request and largest single record (bytes, default 1 MiB). */
    public static final String MAX_REQUEST_SIZE = "max.request.size";
    /** Serializer class name or instance (used when none is passed to the constructor). */
    public static final String KEY_SERIALIZER = "key.serializer";
    public static final String VALUE_SERIALIZER = "value.serializer";
    /**
     * Idempotent producer (default true): a producer id and epoch from the cluster and per-partition
     * sequence numbers in every batch, so retries never write a record twice and never reorder a
     * partition. Requires acks=all, max.in.flight.requests.per.connection at most 5 and retries
     * above 0. Set explicitly together with a conflicting key it is a {@link ConfigException}; left
     * at its default, an explicit conflicting key turns it off (Kafka's rule, KIP-679).
     */
    public static final String ENABLE_IDEMPOTENCE = "enable.idempotence";
    /** In-flight limit the idempotent producer allows (Kafka's rule; a partition itself has one request in flight). */
    public static final int IDEMPOTENT_IN_FLIGHT_MAX = 5;
    public static final String CLIENT_ID = CommonClientConfigs.CLIENT_ID;
    public static final String METADATA_MAX_AGE_MS = CommonClientConfigs.METADATA_MAX_AGE_MS;

    static final ConfigDef DEF = CommonClientConfigs.base(30_000)
            .define(ACKS, ConfigDef.Type.STRING, "all", ConfigDef.oneOf("0", "1", "-1", "all"), "acknowledgement level")
            .define(BATCH_SIZE, ConfigDef.Type.INT, 16_384, ConfigDef.between(0, 64 * 1024 * 1024), "bytes per batch")
            .define(LINGER_MS, ConfigDef.Type.LONG, 5L, ConfigDef.between(0, Integer.MAX_VALUE), "batch wait (ms)")
            .define(BUFFER_MEMORY, ConfigDef.Type.LONG, 32L * 1024 * 1024, ConfigDef.between(1024, Long.MAX_VALUE), "buffer bytes")
            .define(MAX_BLOCK_MS, ConfigDef.Type.LONG, 60_000L, ConfigDef.between(0, Long.MAX_VALUE), "send() blocking bound (ms)")
            .define(RETRIES, ConfigDef.Type.INT, Integer.MAX_VALUE, ConfigDef.between(0, Integer.MAX_VALUE), "retries per batch")
            .define(DELIVERY_TIMEOUT_MS, ConfigDef.Type.INT, 120_000, ConfigDef.between(1, Integer.MAX_VALUE), "send-to-result bound (ms)")
            .define(MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, ConfigDef.Type.INT, 5, ConfigDef.between(1, 1000), "in-flight requests per broker")
            .define(MAX_REQUEST_SIZE, ConfigDef.Type.INT, 1024 * 1024, ConfigDef.between(1024, 256 * 1024 * 1024), "request bytes")
            .define(KEY_SERIALIZER, ConfigDef.Type.OBJECT, null, "key serializer")
            .define(VALUE_SERIALIZER, ConfigDef.Type.OBJECT, null, "value serializer")
            .define(ENABLE_IDEMPOTENCE, ConfigDef.Type.BOOLEAN, true, "idempotent producer");

    private ProducerConfig() {
    }

    /** Every configuration key this client accepts (tools use it to route shared config files). */
    public static java.util.Set<String> configNames() {
        return java.util.Collections.unmodifiableSet(DEF.docs().keySet());
    }

    /** Validates a configuration, including the relations between keys. */
    public static ConfigDef.Parsed parse(Map<String, ?> raw) {
        ConfigDef.Parsed p = DEF.parse(raw);
        long minDelivery = p.getLong(LINGER_MS) + p.getInt(REQUEST_TIMEOUT_MS);
        if (p.getInt(DELIVERY_TIMEOUT_MS) < minDelivery) {
            throw new ConfigException(DELIVERY_TIMEOUT_MS, p.getInt(DELIVERY_TIMEOUT_MS),
                    "must be at least linger.ms + request.timeout.ms = " + minDelivery);
        }
        if (p.getLong(BUFFER_MEMORY) < p.getInt(BATCH_SIZE)) {
            throw new ConfigException(BUFFER_MEMORY, p.getLong(BUFFER_MEMORY), "must be at least batch.size");
        }
        if (p.getLong(RETRY_BACKOFF_MAX_MS) < p.getLong(RETRY_BACKOFF_MS)) {
            throw new ConfigException(RETRY_BACKOFF_MAX_MS, p.getLong(RETRY_BACKOFF_MAX_MS), "must be at least retry.backoff.ms");
        }
        return checkIdempotence(p, raw.containsKey(ENABLE_IDEMPOTENCE));
    }

    /**
     * enable.idempotence=true needs acks=all, at most 5 requests in flight and retries: with acks=1
     * a leader could lose a batch whose sequence it acknowledged (the next batch would then leave a
     * gap), the in-flight bound is Kafka's (KIP-679), and without retries there is nothing to
     * deduplicate.
     */
    private static ConfigDef.Parsed checkIdempotence(ConfigDef.Parsed p, boolean explicit) {
        if (!p.getBoolean(ENABLE_IDEMPOTENCE)) {
            return p;
        }
        String key = null;
        Object value = null;
        String need = null;
        if (acksValue(p.getString(ACKS)) != -1) {
            key = ACKS;
            value = p.getString(ACKS);
            need = "must be all (-1) with enable.idempotence=true";
        } else if (p.getInt(MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION) > IDEMPOTENT_IN_FLIGHT_MAX) {
            key = MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION;
            value = p.getInt(key);
            need = "must be at most " + IDEMPOTENT_IN_FLIGHT_MAX + " with enable.idempotence=true";
        } else if (p.getInt(RETRIES) == 0) {
            key = RETRIES;
            value = 0;
            need = "must be above 0 with enable.idempotence=true";
        }
        if (key == null) {
            return p;
        }
        if (explicit) {
            throw new ConfigException(key, value, need + " (or set enable.idempotence=false)");
        }
        return p.with(ENABLE_IDEMPOTENCE, false);
    }

    /** The acks value as the protocol number: 0, 1 or -1. */
    static int acksValue(String acks) {
        return acks.equalsIgnoreCase("all") ? -1 : Integer.parseInt(acks);
    }
}
