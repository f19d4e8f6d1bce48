package dev.basalt.broker.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * A node's configuration: a properties file with Kafka-like names. Immutable and thread-safe.
 *
 * <p>Every key is declared in {@link #KEYS} with its type, default and documentation; an unknown
 * key or a value of the wrong type is a {@link ConfigException} naming the key, so a typo never
 * silently falls back to a default. With no file at all the defaults are the quick-start
 * cluster: one combined broker+controller node, data in {@code ./data}, clients on
 * 127.0.0.1:9400, the controller (Raft) on 127.0.0.1:9401, HTTP admin on 127.0.0.1:9480.
 *
 * <p>Topic-level defaults ({@code log.retention.ms}, {@code log.segment.bytes}, ...) are carried
 * as the map returned by {@link #topicDefaults()}, keyed by the topic-level name
 * ({@code retention.ms}, {@code segment.bytes}, ...), which the log engine validates.
 */
public final class NodeConfig {

    /** Roles a node can play. */
    public enum Role { BROKER, CONTROLLER }

    /** A declared key: name, default (null = required or absent), doc, and the topic-level name it defaults. */
    public record Key(String name, String defaultValue, String doc, String topicConfigName) {
    }

    public static final Map<String, Key> KEYS;

    static {
        Map<String, Key> k = new LinkedHashMap<>();
        put(k, "node.id", "1", "Unique id of this node in the cluster (a positive int).", null);
        put(k, "process.roles", "broker,controller", "broker, controller, or both (combined mode).", null);
        put(k, "controller.quorum.voters", "1@127.0.0.1:9401", "The metadata quorum: id@host:port,...", null);
        put(k, "listeners", "PLAINTEXT://127.0.0.1:9400,CONTROLLER://127.0.0.1:9401",
                "Where this node listens: PLAINTEXT (clients and brokers) and CONTROLLER (Raft).", null);
        put(k, "advertised.listeners", "", "The client address given to clients; defaults to the PLAINTEXT listener.", null);
        put(k, "http.admin.listener", "127.0.0.1:9480", "host:port of the HTTP admin port (health, readiness, metrics).", null);
        put(k, "http.auth.token", "", "Bearer token the HTTP admin port requires on every path but /health and /ready"
                + " (Authorization: Bearer <token>); empty = none (then keep the port on localhost).", null);
        put(k, "metrics.partition.labels.enable", "false", "Label traffic and log metrics per partition instead of per topic"
                + " (more series: one per partition).", null);
        put(k, "metrics.jvm.enable", "true", "Export the JVM and process metrics (jvm_*, process_*) on /metrics.", null);
        put(k, "data.dir", "./data", "Directory holding partition logs, the RocksDB index and the metadata log.", null);
        put(k, "broker.rack", "", "Rack of this broker, used to spread replicas.", null);
        put(k, "cluster.id", "basalt-local", "Cluster id; nodes of one cluster must agree.", null);
        put(k, "num.partitions", "1", "Partitions of a topic created without a count.", null);
        put(k, "default.replication.factor", "1", "Replication factor of a topic created without one.", null);
        put(k, "replicas.per.broker.max", "4000", "Partition replicas topic creation and partition growth may leave on one"
                + " broker; a request past it is refused with INVALID_PARTITIONS (the active controller's value counts).", null);
        put(k, "auto.create.topics.enable", "false",
                "Create a topic on first produce or metadata request. Off by default: a typo gets UNKNOWN_TOPIC.", null);
        put(k, "log.retention.ms", "604800000", "Default retention.ms of topics (7 days; -1 = forever).", "retention.ms");
        put(k, "log.retention.bytes", "-1", "Default retention.bytes per partition (-1 = unlimited).", "retention.bytes");
        put(k, "log.segment.bytes", "1073741824", "Default segment.bytes (1 GiB).", "segment.bytes");
        put(k, "log.segment.ms", "604800000", "Default segment.ms (7 days).", "segment.ms");
        put(k, "log.cleanup.policy", "delete", "Default cleanup.policy: delete, compact or compact,delete.", "cleanup.policy");
        put(k, "log.cleaner.delete.retention.ms", "86400000", "Default delete.retention.ms for tombstones (1 day).",
                "delete.retention.ms");
        put(k, "log.cleaner.min.cleanable.ratio", "0.5", "Default min.cleanable.dirty.ratio: a compacted log is cleaned"
                + " once the bytes written since its last pass are this share of its cleanable bytes.", "min.cleanable.dirty.ratio");
        put(k, "log.cleaner.min.compaction.lag.ms", "0", "Default min.compaction.lag.ms: records younger than this are not"
                + " compacted.", "min.compaction.lag.ms");
        put(k, "log.cleaner.max.compaction.lag.ms", String.valueOf(Long.MAX_VALUE), "Default max.compaction.lag.ms: a record is"
                + " compacted at the latest this long after it was written, whatever the dirty ratio.", "max.compaction.lag.ms");
        put(k, "log.index.interval.bytes", "4096", "Bytes between offset-index entries.", "index.interval.bytes");
        put(k, "log.flush.interval.messages", String.valueOf(Long.MAX_VALUE),
                "Default flush.messages: fsync after this many messages (1 = durable: fsync before ack).", "flush.messages");
        put(k, "log.flush.interval.ms", String.valueOf(Long.MAX_VALUE), "Default flush.ms.", "flush.ms");
        put(k, "message.max.bytes", "1048588", "Default max.message.bytes: the largest batch a topic accepts.",
                "max.message.bytes");
        put(k, "min.insync.replicas", "1", "Default min.insync.replicas for acks=all.", "min.insync.replicas");
        put(k, "unclean.leader.election.enable", "false", "Default: elect out-of-ISR leaders (may lose data).",
                "unclean.leader.election.enable");
        put(k, "log.retention.check.interval.ms", "300000", "How often retention deletes old segments.", null);
        put(k, "log.cleaner.backoff.ms", "15000", "How often compaction looks for work.", null);
        put(k, "log.flush.scheduler.interval.ms", "1000", "How often flush.ms is evaluated.", null);
        put(k, "log.dir.free.bytes.min", "67108864", "Below this many free bytes on data.dir's file system appends fail"
                + " fast (STORAGE_ERROR, \"disk full\") and the replicas are reported offline (leadership moves to another in-sync"
                + " replica; one that no other can take over stays leader and serves reads); they resume by themselves"
                + " at 1.5 times this (0 = only a failed write stops appends).", null);
        put(k, "log.scrub.bytes.per.second", "1048576", "Background scrubbing: segment bytes re-read and CRC-checked per"
                + " second (0 = off). 1 MiB/s re-reads 86 GB a day at a load no benchmark notices.", null);
        put(k, "producer.id.expiration.ms", "86400000", "An idempotent producer with no batch for this long (by its"
                + " batches' timestamps) is forgotten by each partition; its next batch may then start at any sequence.", null);
        put(k, "producer.id.expiration.check.interval.ms", "600000", "How often partitions look for expired producers.", null);
        put(k, "producer.state.producers.max", "10000", "Idempotent producers one partition remembers at most; beyond"
                + " that the longest idle one is forgotten.", null);
        put(k, "grpc.executor.threads", "8", "Request threads of the client gRPC server.", null);
        put(k, "broker.session.timeout.ms", "1500", "A broker without a heartbeat for this long is fenced and its"
                + " partitions get new leaders (failover time after a crash is about this).", null);
        put(k, "broker.heartbeat.interval.ms", "250", "How often a broker heartbeats to the controller.", null);
        put(k, "broker.session.failover.grace.ms", "300", "A new active controller fences the brokers of the controllers it"
                + " took over from if they have not opened a session with it within this time: the failover time after the"
                + " active controller's combined node dies is the election plus this. Other brokers keep their session"
                + " timeout. A live broker fenced this way is unfenced by its next heartbeat.", null);
        put(k, "controlled.shutdown.timeout.ms", "10000", "How long a stopping broker waits for the controller to move"
                + " its leaderships away before it stops anyway.", null);
        put(k, "auto.rebalance.enable", "false", "Spread replicas evenly over the brokers by itself, gradually (e.g. onto a"
                + " broker that joined): the controller starts a few reassignments at a time, only while every broker is"
                + " unfenced, every partition fully in sync and no reassignment in progress. Off: a new broker gets replicas"
                + " only when an operator reassigns (basalt reassign --generate).", null);
        put(k, "auto.rebalance.check.interval.ms", "10000", "How often the controller considers the next auto-rebalance"
                + " step (with auto.rebalance.enable).", null);
        put(k, "auto.rebalance.partitions.per.step", "2", "Partitions one auto-rebalance step moves at most; the next"
                + " step waits until they have finished.", null);
        put(k, "auto.leader.rebalance.enable", "true", "Hand leadership back to preferred replicas by itself, every"
                + " leader.imbalance.check.interval.ms, only onto replicas that are in sync and caught up.", null);
        put(k, "leader.imbalance.check.interval.ms", "30000", "How often the controller hands leadership back to"
                + " preferred replicas that are in sync (0 = never).", null);
        put(k, "fetch.wait.ms.max", "30000", "Upper bound on a fetch's max_wait_ms (long polls are capped).", null);
        put(k, "fetch.inflight.max", "10000", "Parked (long-polling) fetches per broker; more get THROTTLED.", null);
        put(k, "produce.request.bytes.max", "104857600", "Largest produce request accepted (100 MiB).", null);
        put(k, "grpc.message.bytes.max", "104857600", "Largest inbound gRPC message (100 MiB).", null);
        put(k, "request.timeout.ms.max", "60000", "Upper bound on a request's timeout_ms (acks=all waits).", null);
        put(k, "shutdown.timeout.ms", "30000", "How long graceful shutdown waits for in-flight work (unary calls; clients' produce and fetch streams are"
                + " ended once none is left, and reconnect to the new leaders).", null);
        // --- the thin-client gateway (records.proto's RecordService; broker.gateway)
        put(k, "gateway.retries.max", "20", "Times a ProduceRecords/FetchRecords partition is retried while its leadership"
                + " moves, within the call's timeout.", null);
        put(k, "gateway.retry.backoff.ms", "100", "Wait between those retries.", null);
        put(k, "gateway.inflight.bytes.max", "67108864", "Record bytes of ProduceRecords calls in flight on this broker;"
                + " more are answered THROTTLED (64 MiB).", null);
        put(k, "gateway.records.per.request.max", "100000", "Records in one ProduceRecords request.", null);
        put(k, "gateway.fetch.records.max", "10000", "Upper bound of a FetchRecords request's max_records.", null);
        put(k, "gateway.producers.per.partition.max", "8", "ProduceRecords calls this broker has in flight to one partition at"
                + " once; each holds one of the gateway's producer ids so that its retries are deduplicated. More wait in line.", null);
        put(k, "gateway.waiting.calls.per.partition.max", "1024", "ProduceRecords calls waiting in line for one partition;"
                + " more are answered THROTTLED.", null);
        put(k, "raft.election.timeout.ms", "300", "Raft election timeout: randomized in [this, 2x this).", null);
        put(k, "raft.heartbeat.interval.ms", "50", "Raft leader heartbeat interval.", null);
        // --- replication (broker.replica, broker.replica.fetcher): Kafka's names; defaults tuned for
        // sub-second failover on a LAN. docs/broker.md "Replication" explains each.
        put(k, "durable.acks", "true", "Default durable.acks of topics: the HW and acks=all count only fsynced offsets"
                + " on every ISR member (false = replicated to memory, Kafka's mode).", "durable.acks");
        put(k, "replica.lag.time.max.ms", "10000", "A follower not caught up to the leader's log end for this long leaves"
                + " the ISR.", null);
        put(k, "replica.isr.check.interval.ms", "1000", "How often a leader looks for followers to drop from the ISR.", null);
        put(k, "replica.fetch.wait.max.ms", "500", "Longest a follower's fetch waits at the leader for new data (long poll).",
                null);
        put(k, "replica.fetch.hw.wait.max.ms", "10", "Longest a follower's fetch waits at the leader instead while the"
                + " follower holds records whose commit (HW) it has not learned yet: bounds how stale a follower's HW is"
                + " once writes stop.", null);
        put(k, "replica.fetch.min.bytes", "1", "Bytes a follower's fetch waits for before the leader answers.", null);
        put(k, "replica.fetch.max.bytes", "1048576", "Record bytes a follower fetches per partition per request (1 MiB;"
                + " a larger first batch still comes whole).", null);
        put(k, "replica.fetch.response.max.bytes", "10485760", "Record bytes per follower fetch answer (10 MiB).", null);
        put(k, "replica.fetch.backoff.ms", "100", "Pause of a follower's fetch loop after an error before it retries.",
                null);
        put(k, "replica.request.timeout.ms", "10000", "Deadline of a follower's request beyond its long-poll wait.", null);
        put(k, "replica.high.watermark.checkpoint.interval.ms", "5000", "How often high watermarks are written to disk.",
                null);
        // --- consumer groups (broker.group): Kafka's names; docs/consumer-groups.md explains each.
        put(k, "offsets.topic.num.partitions", "50", "Partitions of __consumer_offsets (fixed once the topic exists).", null);
        put(k, "offsets.topic.replication.factor", "3", "Replication factor of __consumer_offsets (capped at the live"
                + " brokers when it is created).", null);
        put(k, "offsets.topic.segment.bytes", "104857600", "segment.bytes of __consumer_offsets when it is created"
                + " (100 MiB, as Kafka: smaller segments compact and load sooner).", null);
        put(k, "offsets.retention.minutes", "10080", "An empty group whose last commit is older is deleted with its"
                + " offsets (7 days).", null);
        put(k, "offset.metadata.max.bytes", "4096", "Longest metadata string of an offset commit.", null);
        put(k, "group.consumer.session.timeout.ms", "45000", "A group member without a heartbeat for this long is"
                + " removed and its partitions move.", null);
        put(k, "group.consumer.heartbeat.interval.ms", "5000", "How often group members heartbeat.", null);
        put(k, "group.consumer.max.size", "1000", "Members per consumer group.", null);
        put(k, "group.consumer.assignor", "uniform", "Assignor of a group whose first member names none: uniform"
                + " (balanced, sticky) or range.", null);
        put(k, "group.coordinator.threads", "1", "Threads running the group coordinator's event loops.", null);
        put(k, "group.coordinator.poll.interval.ms", "250", "How often a coordinator checks member sessions, topic"
                + " changes and group expiry.", null);
        // --- lag monitor (broker.lag): Burrow's evaluator over the last commits of each partition
        put(k, "lag.window.commits", "10", "Commits per group and partition the lag evaluator looks at.", null);
        put(k, "lag.allowed", "0", "Lag (records) at or below which a partition is OK.", null);
        put(k, "lag.sample.interval.ms", "1000", "How often log end offsets are sampled for lag in seconds.", null);
        put(k, "lag.samples.max", "600", "Log end offset samples kept per partition (600 at 1 s = 10 minutes).", null);
        KEYS = Collections.unmodifiableMap(k);
    }

    private static void put(Map<String, Key> m, String name, String def, String doc, String topicName) {
        m.put(name, new Key(name, def, doc, topicName));
    }

    /** Keys whose values are secrets: DescribeConfigs marks them sensitive and never returns them. */
    public static final java.util.Set<String> SENSITIVE_KEYS = java.util.Set.of("http.auth.token");

    private final Map<String, String> values;
    /** The keys the operator set (file or overrides); the others hold their defaults. */
    private final java.util.Set<String> explicit;

    private NodeConfig(Map<String, String> values, java.util.Set<String> explicit) {
        this.values = Collections.unmodifiableMap(values);
        this.explicit = java.util.Set.copyOf(explicit);
        validate();
    }

    /** Whether the operator set {@code key} (in the file or as an override), even to its default value. */
    public boolean isSet(String key) {
        return explicit.contains(key);
    }

    /** The quick-start defaults. */
    public static NodeConfig defaults() {
        return of(Map.of());
    }

    /** Defaults overridden by {@code overrides}; unknown keys are rejected. */
    public static NodeConfig of(Map<String, String> overrides) {
        Map<String, String> v = new TreeMap<>();
        for (Key key : KEYS.values()) {
            v.put(key.name(), key.defaultValue());
        }
        java.util.Set<String> explicit = new java.util.HashSet<>();
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            String name = e.getKey().trim();
            if (!KEYS.containsKey(name)) {
                throw new ConfigException(name, e.getValue(), "unknown configuration key");
            }
            v.put(name, e.getValue().trim());
            explicit.add(name);
        }
        return new NodeConfig(v, explicit);
    }

    /** Reads a properties file. */
    public static NodeConfig load(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new ConfigException("--config", file.toString(), "cannot read: " + e.getMessage());
        }
        Map<String, String> m = new TreeMap<>();
        for (String name : p.stringPropertyNames()) {
            m.put(name, p.getProperty(name));
        }
        return of(m);
    }

    private void validate() {
        if (nodeId() < 0) {
            throw new ConfigException("node.id", values.get("node.id"), "must be >= 0");
        }
        if (roles().isEmpty()) {
            throw new ConfigException("process.roles", values.get("process.roles"), "needs broker, controller or both");
        }
        voters();
        listeners();
        clientListener();
        httpAdminAddress();
        for (Key k : KEYS.values()) {
            if (k.name().endsWith(".ms") || k.name().endsWith(".bytes") || k.name().endsWith(".max")
                    || k.name().startsWith("num.") || k.name().endsWith(".factor") || k.name().endsWith(".threads") || k.name().endsWith(".messages")
                    || k.name().equals("min.insync.replicas")) {
                getLong(k.name());
            }
            if (k.name().endsWith(".enable") || k.name().equals("durable.acks")) {
                getBoolean(k.name());
            }
        }
        if (getLong("gateway.producers.per.partition.max") < 1 || getLong("gateway.producers.per.partition.max") > 1024) {
            throw new ConfigException("gateway.producers.per.partition.max", get("gateway.producers.per.partition.max"), "must be in [1, 1024]");
        }
        if (getLong("gateway.waiting.calls.per.partition.max") < 0 || getLong("gateway.waiting.calls.per.partition.max") > 1_000_000) {
            throw new ConfigException("gateway.waiting.calls.per.partition.max", get("gateway.waiting.calls.per.partition.max"),
                    "must be in [0, 1000000]");
        }
        if (getLong("replicas.per.broker.max") < 1 || getLong("replicas.per.broker.max") > Integer.MAX_VALUE) {
            throw new ConfigException("replicas.per.broker.max", get("replicas.per.broker.max"), "must be in [1, " + Integer.MAX_VALUE + "]");
        }
        long offsetsSegmentBytes = getLong("offsets.topic.segment.bytes");
        if (offsetsSegmentBytes < dev.basalt.log.LogConfig.SEGMENT_BYTES_MIN || offsetsSegmentBytes > Integer.MAX_VALUE) {
            throw new ConfigException("offsets.topic.segment.bytes", get("offsets.topic.segment.bytes"), "must be in ["
                    + dev.basalt.log.LogConfig.SEGMENT_BYTES_MIN + ", " + Integer.MAX_VALUE + "] (a topic's segment.bytes)");
        }
        if (roles().contains(Role.CONTROLLER) && !voters().containsKey(nodeId())) {
            throw new ConfigException("controller.quorum.voters", values.get("controller.quorum.voters"),
                    "a controller's node.id " + nodeId() + " must be one of the voters");
        }
        if (roles().contains(Role.CONTROLLER) && !listeners().containsKey("CONTROLLER")) {
            throw new ConfigException("listeners", values.get("listeners"), "a controller needs a CONTROLLER listener");
        }
        if (roles().contains(Role.BROKER) && !listeners().containsKey("PLAINTEXT")) {
            throw new ConfigException("listeners", values.get("listeners"), "a broker needs a PLAINTEXT listener");
        }
    }

    public String get(String key) {
        if (!values.containsKey(key)) {
            throw new IllegalArgumentException("undeclared key " + key);
        }
        return values.get(key);
    }

    public long getLong(String key) {
        return parse(key, Long::parseLong, "an integer");
    }

    public int getInt(String key) {
        long v = getLong(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new ConfigException(key, get(key), "out of int range");
        }
        return (int) v;
    }

    public boolean getBoolean(String key) {
        String v = get(key).toLowerCase(Locale.ROOT);
        if (!v.equals("true") && !v.equals("false")) {
            throw new ConfigException(key, get(key), "expected true or false");
        }
        return Boolean.parseBoolean(v);
    }

    private <T> T parse(String key, Function<String, T> parser, String what) {
        try {
            return parser.apply(get(key));
        } catch (NumberFormatException e) {
            throw new ConfigException(key, get(key), "expected " + what);
        }
    }

    public int nodeId() {
        return getInt("node.id");
    }

    public Set<Role> roles() {
        EnumSet<Role> roles = EnumSet.noneOf(Role.class);
        for (String r : get("process.roles").split(",")) {
            String t = r.trim();
            if (t.isEmpty()) {
                continue;
            }
            try {
                roles.add(Role.valueOf(t.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new ConfigException("process.roles", get("process.roles"), "unknown role '" + t + "'");
            }
        }
        return roles;
    }

    public boolean isController() {
        return roles().contains(Role.CONTROLLER);
    }

    public boolean isBroker() {
        return roles().contains(Role.BROKER);
    }

    /** Voters: node id → address, in declaration order. */
    public Map<Integer, HostPort> voters() {
        Map<Integer, HostPort> out = new LinkedHashMap<>();
        String raw = get("controller.quorum.voters");
        for (String part : raw.split(",")) {
            String p = part.trim();
            int at = p.indexOf('@');
            if (at <= 0) {
                throw new ConfigException("controller.quorum.voters", raw, "entry '" + p + "' is not id@host:port");
            }
            int id;
            try {
                id = Integer.parseInt(p.substring(0, at));
            } catch (NumberFormatException e) {
                throw new ConfigException("controller.quorum.voters", raw, "id in '" + p + "' is not an integer");
            }
            if (out.put(id, HostPort.parse("controller.quorum.voters", p.substring(at + 1))) != null) {
                throw new ConfigException("controller.quorum.voters", raw, "duplicate voter id " + id);
            }
        }
        return out;
    }

    /** Listener name → address. */
    public Map<String, HostPort> listeners() {
        return parseListeners("listeners", get("listeners"));
    }

    private static Map<String, HostPort> parseListeners(String key, String raw) {
        Map<String, HostPort> out = new LinkedHashMap<>();
        if (raw.isBlank()) {
            return out;
        }
        for (String part : raw.split(",")) {
            String p = part.trim();
            int sep = p.indexOf("://");
            if (sep <= 0) {
                throw new ConfigException(key, raw, "entry '" + p + "' is not NAME://host:port");
            }
            out.put(p.substring(0, sep).toUpperCase(Locale.ROOT), HostPort.parse(key, p.substring(sep + 3)));
        }
        return out;
    }

    public HostPort clientListener() {
        return listeners().get("PLAINTEXT");
    }

    public HostPort controllerListener() {
        return listeners().get("CONTROLLER");
    }

    /** What clients are told to connect to. */
    public HostPort advertisedClientAddress() {
        Map<String, HostPort> adv = parseListeners("advertised.listeners", get("advertised.listeners"));
        return adv.getOrDefault("PLAINTEXT", clientListener());
    }

    public HostPort httpAdminAddress() {
        return HostPort.parse("http.admin.listener", get("http.admin.listener"));
    }

    public Path dataDir() {
        return Path.of(get("data.dir"));
    }

    public String rack() {
        String r = get("broker.rack");
        return r.isBlank() ? null : r;
    }

    /** Broker-wide topic defaults, keyed by topic-level config name. */
    public Map<String, String> topicDefaults() {
        Map<String, String> out = new TreeMap<>();
        for (Key k : KEYS.values()) {
            if (k.topicConfigName() != null) {
                out.put(k.topicConfigName(), values.get(k.name()));
            }
        }
        return out;
    }

    /** Every value, for logging at start-up. */
    public Map<String, String> values() {
        return values;
    }

    /** Documentation of every key, for `basalt start --help-config`. */
    public static List<String> describeKeys() {
        List<String> lines = new ArrayList<>();
        for (Key k : KEYS.values()) {
            // a long default gets its own line rather than being cut (listeners' was shown as "PLAINTEXT://127.0.0.1:")
            if (k.defaultValue().length() > 24) {
                lines.add(String.format("%-34s %-24s %s", k.name(), "(below)", k.doc()));
                lines.add(String.format("%-34s default: %s", "", k.defaultValue()));
            } else {
                lines.add(String.format("%-34s %-24s %s", k.name(), k.defaultValue(), k.doc()));
            }
        }
        return lines;
    }

    /** A host and port, validated. */
    public record HostPort(String host, int port) {
        public static HostPort parse(String key, String raw) {
            String s = raw.trim();
            int colon = s.lastIndexOf(':');
            if (colon <= 0 || colon == s.length() - 1) {
                throw new ConfigException(key, raw, "'" + s + "' is not host:port");
            }
            int port;
            try {
                port = Integer.parseInt(s.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new ConfigException(key, raw, "port of '" + s + "' is not a number");
            }
            if (port < 0 || port > 65535) {
                throw new ConfigException(key, raw, "port " + port + " outside 0..65535");
            }
            return new HostPort(s.substring(0, colon), port);
        }

        @Override
        public String toString() {
            return host + ":" + port;
        }
    }
}
