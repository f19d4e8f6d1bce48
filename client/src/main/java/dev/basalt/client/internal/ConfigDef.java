package dev.basalt.client.internal;

import dev.basalt.client.ConfigException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;

/**
 * The declared configuration keys of one client type (producer, consumer, admin): name, type,
 * default and range. {@link #parse} turns a user's {@code Map<String, Object>} or
 * {@link Properties} (values as strings or as typed objects, like Kafka's clients accept) into
 * validated typed values, rejecting unknown keys, wrong types and out-of-range values with a
 * {@link ConfigException} that names the key.
 *
 * <p>Thread-safety: build a definition on one thread, then share it freely (read-only).
 */
public final class ConfigDef {
    /** Value types. OBJECT passes any non-null value through (serializer instances or class names). */
    public enum Type { INT, LONG, BOOLEAN, STRING, LIST, OBJECT }

    private record Key(String name, Type type, Object defaultValue, Function<Object, String> validator, String doc) {
    }

    /** Marker for keys without a default: they must be given. */
    public static final Object REQUIRED = new Object();

    private final Map<String, Key> keys = new LinkedHashMap<>();

    /**
     * Declares a key.
     *
     * @param validator returns null when the parsed value is fine, else the reason it is not
     */
    public ConfigDef define(String name, Type type, Object defaultValue, Function<Object, String> validator, String doc) {
        if (keys.putIfAbsent(name, new Key(name, type, defaultValue, validator, doc)) != null) {
            throw new IllegalArgumentException("key defined twice: " + name);
        }
        return this;
    }

    public ConfigDef define(String name, Type type, Object defaultValue, String doc) {
        return define(name, type, defaultValue, v -> null, doc);
    }

    /** Validator: a long/int within [min, max]. */
    public static Function<Object, String> between(long min, long max) {
        return v -> {
            long x = ((Number) v).longValue();
            return x < min || x > max ? "must be in [" + min + ", " + max + "]" : null;
        };
    }

    /** Validator: a string (case-insensitively) among the given ones. */
    public static Function<Object, String> oneOf(String... allowed) {
        return v -> {
            for (String a : allowed) {
                if (a.equalsIgnoreCase((String) v)) {
                    return null;
                }
            }
            return "must be one of " + Arrays.toString(allowed);
        };
    }

    /** Documentation of every key, for tools: name → doc. */
    public Map<String, String> docs() {
        Map<String, String> out = new LinkedHashMap<>();
        keys.values().forEach(k -> out.put(k.name, k.doc));
        return out;
    }

    public Parsed parse(Properties props) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String name : props.stringPropertyNames()) {
            m.put(name, props.getProperty(name));
        }
        return parse(m);
    }

    /** The known key nearest to {@code name} by edit distance, if within a third of its length (a typo); else null. */
    private String closest(String name) {
        String best = null;
        int bestDistance = Math.max(1, name.length() / 3) + 1;
        for (String k : keys.keySet()) {
            int d = editDistance(name, k);
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        return best;
    }

    /** Levenshtein distance (insertions, deletions, substitutions). */
    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(substitute, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** A Kafka client key that has no meaning here, the values of it that change nothing, and why. */
    private record KafkaNoOp(java.util.Set<String> accepted, String why) {
    }

    /**
     * Kafka client keys a configuration carried over from Kafka often sets to a value that changes
     * nothing here: accepted with that value (and logged), refused with any other, naming why
     * (found probing: {@code security.protocol=PLAINTEXT} or {@code compression.type=none} made
     * a client fail to start as an unknown key, where Kafka's settings would work unchanged).
     */
    private static final Map<String, KafkaNoOp> KAFKA_NO_OPS = Map.of(
            "security.protocol", new KafkaNoOp(java.util.Set.of("plaintext"), "Basalt's clients connect over plaintext gRPC"),
            "compression.type", new KafkaNoOp(java.util.Set.of("none"), "this client does not compress batches"),
            "isolation.level", new KafkaNoOp(java.util.Set.of("read_uncommitted"),
                    "there are no transactions: a consumer reads every record below the high watermark"),
            "group.protocol", new KafkaNoOp(java.util.Set.of("consumer"),
                    "groups use the consumer rebalance protocol (KIP-848) only"));

    /** Validates and types every key; unknown keys, bad types and ranges throw ConfigException. */
    public Parsed parse(Map<String, ?> raw) {
        for (Map.Entry<String, ?> e : raw.entrySet()) {
            String name = e.getKey();
            if (keys.containsKey(name)) {
                continue;
            }
            KafkaNoOp noOp = KAFKA_NO_OPS.get(name);
            if (noOp == null) {
                throw ConfigException.unknownKey(name, closest(name));
            }
            String value = String.valueOf(e.getValue()).trim().toLowerCase(java.util.Locale.ROOT);
            if (!noOp.accepted().contains(value)) {
                throw new ConfigException(name, e.getValue(), "only " + String.join(" or ", noOp.accepted()) + " is accepted: "
                        + noOp.why());
            }
            org.slf4j.LoggerFactory.getLogger(ConfigDef.class).info("{}={} changes nothing here ({}); ignored", name,
                    e.getValue(), noOp.why());
        }
        Map<String, Object> values = new LinkedHashMap<>();
        for (Key k : keys.values()) {
            Object v = raw.containsKey(k.name) ? raw.get(k.name) : k.defaultValue;
            if (v == null && k.defaultValue != null && k.defaultValue != REQUIRED) {
                // an explicit null for a key that has a value by default (a NullPointerException later)
                throw new ConfigException(k.name, null, "null is not a value; omit the key for its default " + k.defaultValue);
            }
            if (v == REQUIRED) {
                throw new ConfigException(k.name, null, "required configuration is missing");
            }
            Object typed = v == null ? null : convert(k, v);
            if (typed != null) {
                String problem = k.validator.apply(typed);
                if (problem != null) {
                    throw new ConfigException(k.name, v, problem);
                }
            }
            values.put(k.name, typed);
        }
        return new Parsed(Collections.unmodifiableMap(values));
    }

    private static Object convert(Key k, Object v) {
        try {
            switch (k.type) {
                case INT:
                    if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
                        return ((Number) v).intValue();
                    }
                    if (v instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) {
                        return l.intValue();
                    }
                    if (v instanceof String s) {
                        return Integer.parseInt(s.trim());
                    }
                    break;
                case LONG:
                    if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
                        return ((Number) v).longValue();
                    }
                    if (v instanceof String s) {
                        return Long.parseLong(s.trim());
                    }
                    break;
                case BOOLEAN:
                    if (v instanceof Boolean) {
                        return v;
                    }
                    if (v instanceof String s && (s.trim().equalsIgnoreCase("true") || s.trim().equalsIgnoreCase("false"))) {
                        return Boolean.parseBoolean(s.trim());
                    }
                    break;
                case STRING:
                    if (v instanceof String s) {
                        return s.trim();
                    }
                    break;
                case LIST:
                    return toList(v);
                case OBJECT:
                    return v;
                default:
                    throw new IllegalStateException("unhandled type " + k.type);
            }
        } catch (NumberFormatException e) {
            throw new ConfigException(k.name, v, "expected " + k.type.name().toLowerCase(java.util.Locale.ROOT));
        }
        throw new ConfigException(k.name, v, "expected " + k.type.name().toLowerCase(java.util.Locale.ROOT)
                + ", got " + v.getClass().getSimpleName());
    }

    private static List<String> toList(Object v) {
        List<String> out = new ArrayList<>();
        if (v instanceof String s) {
            for (String part : s.split(",")) {
                if (!part.isBlank()) {
                    out.add(part.trim());
                }
            }
        } else if (v instanceof List<?> l) {
            for (Object o : l) {
                out.add(String.valueOf(o).trim());
            }
        } else {
            throw new ConfigException("expected a comma-separated string or a List, got " + v.getClass().getSimpleName());
        }
        return List.copyOf(out);
    }

    /**
     * Validated values. Thread-safety: immutable.
     */
    public static final class Parsed {
        private final Map<String, Object> values;

        Parsed(Map<String, Object> values) {
            this.values = values;
        }

        public int getInt(String key) {
            return (Integer) require(key);
        }

        public long getLong(String key) {
            return (Long) require(key);
        }

        public boolean getBoolean(String key) {
            return (Boolean) require(key);
        }

        public String getString(String key) {
            return (String) values.get(key);
        }

        @SuppressWarnings("unchecked")
        public List<String> getList(String key) {
            return (List<String>) require(key);
        }

        public Object getObject(String key) {
            return values.get(key);
        }

        /** A copy with one declared key set to another (already valid) value. */
        public Parsed with(String key, Object value) {
            require(key);
            Map<String, Object> copy = new java.util.HashMap<>(values);
            copy.put(key, value);
            return new Parsed(copy);
        }

        private Object require(String key) {
            if (!values.containsKey(key)) {
                throw new IllegalArgumentException("undeclared key " + key);
            }
            return values.get(key);
        }
    }
}
