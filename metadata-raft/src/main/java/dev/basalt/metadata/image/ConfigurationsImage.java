package dev.basalt.metadata.image;

import dev.basalt.proto.v1.ConfigChangeRecord;
import dev.basalt.proto.v1.ConfigResourceType;
import dev.basalt.proto.v1.MetadataRecord;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Configuration overrides per resource (key to value). Immutable and thread-safe: unmodifiable sorted
 * copies made once by the delta that built it. A resource with no keys is absent. Topic resources
 * exist only for live topics (their records are written inside the topic's {@code TopicRecord}).
 */
public final class ConfigurationsImage {
    public static final ConfigurationsImage EMPTY = new ConfigurationsImage(new TreeMap<>());

    private final SortedMap<ConfigResource, SortedMap<String, String>> configs;

    /** Takes ownership of {@code configs}; empty inner maps are dropped. */
    public ConfigurationsImage(TreeMap<ConfigResource, TreeMap<String, String>> configs) {
        TreeMap<ConfigResource, SortedMap<String, String>> frozen = new TreeMap<>();
        configs.forEach((resource, keys) -> {
            if (!keys.isEmpty()) {
                frozen.put(resource, Collections.unmodifiableSortedMap(keys));
            }
        });
        this.configs = Collections.unmodifiableSortedMap(frozen);
    }

    public SortedMap<ConfigResource, SortedMap<String, String>> all() {
        return configs;
    }

    /** The overrides of {@code resource} (empty when it has none). */
    public SortedMap<String, String> configs(ConfigResource resource) {
        SortedMap<String, String> keys = configs.get(resource);
        return keys == null ? Collections.emptySortedMap() : keys;
    }

    public TreeMap<ConfigResource, TreeMap<String, String>> copyOfConfigs() {
        TreeMap<ConfigResource, TreeMap<String, String>> copy = new TreeMap<>();
        configs.forEach((resource, keys) -> copy.put(resource, new TreeMap<>((Map<String, String>) keys)));
        return copy;
    }

    /** Records for every non-topic resource (topic configs travel with their TopicRecord). */
    void toRecords(Consumer<MetadataRecord> out) {
        configs.forEach((resource, keys) -> {
            if (resource.type() == ConfigResource.Type.TOPIC) {
                return;
            }
            keys.forEach((key, value) -> out.accept(MetadataRecord.newBuilder().setConfigChange(
                    ConfigChangeRecord.newBuilder().setResourceType(ConfigResourceType.CONFIG_RESOURCE_TYPE_BROKER)
                            .setResourceName(resource.name()).setKey(key).setValue(value)).build()));
        });
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConfigurationsImage c && configs.equals(c.configs);
    }

    @Override
    public int hashCode() {
        return configs.hashCode();
    }

    @Override
    public String toString() {
        return "ConfigurationsImage" + configs;
    }
}
