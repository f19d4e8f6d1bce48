package dev.basalt.client;

import dev.basalt.client.internal.ConfigDef;
import dev.basalt.client.internal.HostPort;

/**
 * Keys shared by the producer, consumer and admin configurations (Kafka's names).
 *
 * <p>Thread-safety: constants only.
 */
public final class CommonClientConfigs {
    /** Comma-separated host:port list used to find the cluster; default {@value #DEFAULT_BOOTSTRAP}. */
    public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
    public static final String DEFAULT_BOOTSTRAP = "127.0.0.1:9400";
    /** A name for this client in the broker's logs. */
    public static final String CLIENT_ID = "client.id";
    /** Deadline of one request to a broker (ms). */
    public static final String REQUEST_TIMEOUT_MS = "request.timeout.ms";
    /** First wait before retrying a failed request (ms); doubles per attempt up to retry.backoff.max.ms. */
    public static final String RETRY_BACKOFF_MS = "retry.backoff.ms";
    public static final String RETRY_BACKOFF_MAX_MS = "retry.backoff.max.ms";
    /** Metadata older than this is refreshed even without errors (ms). */
    public static final String METADATA_MAX_AGE_MS = "metadata.max.age.ms";
    /**
     * How long setting up a connection to a broker (TCP connect and the HTTP/2 handshake) may take
     * before that address counts as unreachable and the client tries another (ms, default 10000;
     * Kafka's name; the CLI uses 3000).
     */
    public static final String SOCKET_CONNECTION_SETUP_TIMEOUT_MS = "socket.connection.setup.timeout.ms";
    /**
     * The longest a connection to a broker that was down waits before it is tried again (ms,
     * default 1000; Kafka's name): a restarted broker is reachable again within this.
     */
    public static final String RECONNECT_BACKOFF_MAX_MS = "reconnect.backoff.max.ms";
    /** Largest gRPC message this client accepts from a broker (bytes). */
    public static final String MAX_INBOUND_MESSAGE_BYTES = "basalt.max.inbound.message.bytes";

    private CommonClientConfigs() {
    }

    /** The connections of one client, configured from its parsed configuration. */
    static dev.basalt.client.internal.ChannelPool channelPool(ConfigDef.Parsed c) {
        return new dev.basalt.client.internal.ChannelPool(c.getInt(MAX_INBOUND_MESSAGE_BYTES),
                c.getInt(SOCKET_CONNECTION_SETUP_TIMEOUT_MS), c.getLong(RECONNECT_BACKOFF_MAX_MS));
    }

    static ConfigDef base(int requestTimeoutMsDefault) {
        return new ConfigDef()
                .define(BOOTSTRAP_SERVERS, ConfigDef.Type.LIST, DEFAULT_BOOTSTRAP, v -> HostPort.validateList(v),
                        "host:port pairs of brokers to bootstrap from")
                .define(CLIENT_ID, ConfigDef.Type.STRING, "", "client name for logs")
                .define(REQUEST_TIMEOUT_MS, ConfigDef.Type.INT, requestTimeoutMsDefault, ConfigDef.between(1, Integer.MAX_VALUE),
                        "deadline of one request (ms)")
                .define(RETRY_BACKOFF_MS, ConfigDef.Type.LONG, 100L, ConfigDef.between(0, Long.MAX_VALUE),
                        "first backoff before a retry (ms)")
                .define(RETRY_BACKOFF_MAX_MS, ConfigDef.Type.LONG, 1000L, ConfigDef.between(0, Long.MAX_VALUE),
                        "largest backoff before a retry (ms)")
                .define(METADATA_MAX_AGE_MS, ConfigDef.Type.LONG, 300_000L, ConfigDef.between(0, Long.MAX_VALUE),
                        "refresh metadata at least this often (ms)")
                .define(SOCKET_CONNECTION_SETUP_TIMEOUT_MS, ConfigDef.Type.INT, 10_000, ConfigDef.between(1, Integer.MAX_VALUE),
                        "connection setup bound (ms)")
                .define(RECONNECT_BACKOFF_MAX_MS, ConfigDef.Type.LONG, 1_000L, ConfigDef.between(0, Long.MAX_VALUE),
                        "longest wait before reconnecting to a broker that was down (ms)")
                .define(MAX_INBOUND_MESSAGE_BYTES, ConfigDef.Type.INT, 256 * 1024 * 1024, ConfigDef.between(1024, Integer.MAX_VALUE),
                        "largest gRPC response accepted (bytes)");
    }
}
