package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.ConfigChangeRecord;
import dev.basalt.proto.v1.ConfigResourceType;
import dev.basalt.proto.v1.MetadataRecord;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Decisions on configuration overrides. A change of a topic's {@code min.insync.replicas} or
 * {@code unclean.leader.election.enable} also re-applies the election rules to its partitions in the
 * same batch (ELRs the ISR now satisfies are cleared, leaderless partitions may get an unclean
 * leader). Stateless apart from the validator; thread-safe if it is.
 */
final class ConfigControl {
    /** Longest config key or value accepted (bytes of UTF-16 chars; a metadata record is not a blob store). */
    static final int CONFIG_CHARS_MAX = 32 * 1024;

    private final ConfigValidator validator;
    private final ControllerConfig config;

    ConfigControl(ConfigValidator validator, ControllerConfig config) {
        this.validator = validator;
        this.config = config;
    }

    /**
     * Sets (present value) or deletes (empty value) keys of one resource, all or nothing. Deleting a key
     * that is not set, or setting a key to its current value, produces no record.
     *
     * @return the number of keys changed
     */
    ControllerResult<Integer> alterConfigs(MetadataImage image, ConfigResource resource,
                                           Map<String, Optional<String>> changes) {
        if (resource.type() == ConfigResource.Type.TOPIC) {
            TopicControl.requireTopic(image, resource.name());
        }
        SortedMap<String, String> current = image.configs().configs(resource);
        if (resource.type() == ConfigResource.Type.BROKER && !resource.name().isEmpty() && current.isEmpty()
                && changes.values().stream().anyMatch(Optional::isPresent)) {
            requireRegisteredBroker(image, resource.name());
        }
        RecordBuffer out = new RecordBuffer(image);
        // Sorted so the records come out in the same order on every run.
        for (Map.Entry<String, Optional<String>> change : new TreeMap<>(changes).entrySet()) {
            String key = change.getKey();
            Optional<String> value = change.getValue();
            checkInternal(resource, key, value);
            if (value.isPresent()) {
                check(validator, resource, key, value.get());
                if (!value.get().equals(current.get(key))) {
                    out.add(record(resource, key, value));
                }
            } else if (current.containsKey(key)) {
                out.add(record(resource, key, value)); // even a key no longer known: it can be cleaned up
            } else {
                Optional<String> unknown = validator.unknownKey(resource, key);
                if (unknown.isPresent()) {
                    throw new ControllerException(ControllerException.Reason.INVALID_CONFIG, describe(resource) + " config " + key + " cannot be deleted: " + unknown.get());
                }
            }
        }
        int changed = out.records().size();
        if (changed > 0) {
            checkAll(validator, resource, applied(current, changes));
        }
        if (resource.type() == ConfigResource.Type.TOPIC && changed > 0) {
            changes.getOrDefault(TopicPolicy.MIN_INSYNC_REPLICAS, Optional.empty()).ifPresent(v ->
                    checkMinIsrFits(resource.name(), Map.of(TopicPolicy.MIN_INSYNC_REPLICAS, v), fewestReplicas(image, resource.name())));
            reapplyPolicy(out, image, resource.name(), current, changes);
        }
        return out.result(changed);
    }

    /**
     * Overrides for a broker id no broker registered under would sit in the log unread, and a
     * describe of that id is refused (found probing: `configs --alter --entity-name 99`, a typo,
     * answered "Updated" while `--describe` of 99 said no such broker). An id that holds overrides
     * already (a broker since removed) may still have them changed or deleted, and deleting from an
     * id that holds none stays a no-op (a cleanup run twice). Checked only when a value is set.
     */
    private static void requireRegisteredBroker(MetadataImage image, String name) {
        int id;
        try {
            id = Integer.parseInt(name);
        } catch (NumberFormatException e) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "broker resource name '" + name
                    + "' is not a broker id");
        }
        if (!Integer.toString(id).equals(name)) {
            // "01" would be stored under a name no broker reads (broker 1 reads "1")
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "broker resource name '" + name
                    + "' is not written as a broker id is (" + id + ")");
        }
        if (image.cluster().broker(id).isEmpty()) {
            // INVALID_REQUEST as the client's describe of such an id (UNKNOWN_BROKER is a broker's own
            // stale registration on the wire).
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "no broker " + id + " is registered (brokers: "
                    + (image.cluster().brokers().isEmpty() ? "none" : String.join(", ",
                    image.cluster().brokers().keySet().stream().map(String::valueOf).toList())) + ")");
        }
    }

    /** The overrides {@code before} with {@code changes} applied (a present value sets a key, an empty one deletes it). */
    private static SortedMap<String, String> applied(SortedMap<String, String> before, Map<String, Optional<String>> changes) {
        TreeMap<String, String> after = new TreeMap<>(before);
        changes.forEach((key, value) -> {
            if (value.isPresent()) {
                after.put(key, value.get());
            } else {
                after.remove(key);
            }
        });
        return after;
    }

    private void reapplyPolicy(RecordBuffer out, MetadataImage image, String topicName,
                               SortedMap<String, String> before, Map<String, Optional<String>> changes) {
        TopicPolicy policy = TopicPolicy.of(applied(before, changes), config);
        if (policy.equals(TopicPolicy.of(before, config))) {
            return;
        }
        TopicImage topic = TopicControl.requireTopic(image, topicName);
        for (PartitionRef ref : TopicControl.partitionsOf(topic)) {
            PartitionElections.applyPolicy(ref.topicId(), ref.partition(), TopicControl.current(out, ref), out::isLive,
                    policy).ifPresent(out::add);
        }
    }

    /**
     * Refuses an explicit {@code min.insync.replicas} above {@code replicas} (the topic's replication
     * factor): no acks=all write to such a topic could ever be acknowledged, and its producers would
     * only learn it from NOT_ENOUGH_REPLICAS on every send. Found probing: accepted at create, as
     * Kafka does. The cluster default is not checked (a cluster whose default is 2 still creates
     * replication-factor-1 topics, for acks=1 use). An unparsable value is left to the validator.
     */
    static void checkMinIsrFits(String topic, Map<String, String> overrides, int replicas) {
        String value = overrides.get(TopicPolicy.MIN_INSYNC_REPLICAS);
        if (value == null) {
            return;
        }
        int minIsr;
        try {
            minIsr = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            return;
        }
        if (minIsr > replicas) {
            throw new ControllerException(ControllerException.Reason.INVALID_CONFIG, "topic " + topic + " config "
                    + TopicPolicy.MIN_INSYNC_REPLICAS + "=" + value + " is above its replication factor " + replicas
                    + ": no acks=all write could ever be acknowledged");
        }
    }

    /**
     * The fewest replicas any partition of {@code topic} has or may return to: during a
     * reassignment, the smaller of the original and the target (a cancel restores the original).
     */
    private static int fewestReplicas(MetadataImage image, String topic) {
        TopicImage t = TopicControl.requireTopic(image, topic);
        int fewest = Integer.MAX_VALUE;
        for (dev.basalt.metadata.image.PartitionRegistration p : t.partitions().values()) {
            fewest = Math.min(fewest, p.replicas().size() - Math.max(p.addingReplicas().size(), p.removingReplicas().size()));
        }
        return fewest;
    }

    /** Key of the cleanup policy, which an internal topic must keep at compact. */
    static final String CLEANUP_POLICY = "cleanup.policy";

    /**
     * An internal topic keeps {@code cleanup.policy=compact}: with delete (or the default, when the
     * override is removed) retention would drop the groups' committed offsets.
     */
    private static void checkInternal(ConfigResource resource, String key, Optional<String> value) {
        if (resource.type() != ConfigResource.Type.TOPIC || !dev.basalt.metadata.delta.TopicNames.isInternal(resource.name())
                || !key.equals(CLEANUP_POLICY) || value.map(v -> v.trim().equals("compact")).orElse(false)) {
            return;
        }
        throw new ControllerException(ControllerException.Reason.INVALID_CONFIG, describe(resource) + " config "
                + key + (value.isPresent() ? "=" + value.get() : " cannot be deleted") + ": internal topic " + resource.name()
                + " keeps cleanup.policy=compact (retention would delete the groups' committed offsets)");
    }

    /** Throws INVALID_CONFIG when the key or value is unacceptable. */
    static void check(ConfigValidator validator, ConfigResource resource, String key, String value) {
        if (key.isEmpty() || key.length() > CONFIG_CHARS_MAX || value.length() > CONFIG_CHARS_MAX) {
            throw new ControllerException(ControllerException.Reason.INVALID_CONFIG, "config key must be 1.."
                    + CONFIG_CHARS_MAX + " characters and its value at most that: " + describe(resource)
                    + " config '" + key + "'");
        }
        Optional<String> problem = validator.problem(resource, key, value);
        if (problem.isPresent()) {
            throw new ControllerException(ControllerException.Reason.INVALID_CONFIG, describe(resource) + " config " + key + "=" + value + ": " + problem.get());
        }
    }

    /** Throws INVALID_CONFIG when the overrides break a rule between keys. */
    static void checkAll(ConfigValidator validator, ConfigResource resource, Map<String, String> overrides) {
        Optional<String> problem = validator.problemOfAll(resource, overrides);
        if (problem.isPresent()) {
            throw new ControllerException(ControllerException.Reason.INVALID_CONFIG, describe(resource) + " configs: " + problem.get());
        }
    }

    private static MetadataRecord record(ConfigResource resource, String key, Optional<String> value) {
        ConfigChangeRecord.Builder b = ConfigChangeRecord.newBuilder()
                .setResourceType(resource.type() == ConfigResource.Type.TOPIC
                        ? ConfigResourceType.CONFIG_RESOURCE_TYPE_TOPIC : ConfigResourceType.CONFIG_RESOURCE_TYPE_BROKER)
                .setResourceName(resource.name()).setKey(key);
        value.ifPresent(b::setValue);
        return MetadataRecord.newBuilder().setConfigChange(b).build();
    }

    /** "topic T", "broker N", or "the broker default" (a broker resource with an empty name), for messages. */
    static String describe(ConfigResource resource) {
        if (resource.type() == ConfigResource.Type.BROKER) {
            return resource.name().isEmpty() ? "the broker default" : "broker " + resource.name();
        }
        return "topic " + resource.name();
    }
}
