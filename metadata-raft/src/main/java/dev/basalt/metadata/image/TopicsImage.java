package dev.basalt.metadata.image;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Live topics by id and by name. Immutable and thread-safe: both maps are unmodifiable sorted
 * copies built once by the delta that produced this image; untouched {@link TopicImage}s are shared
 * with the previous image.
 */
public final class TopicsImage {
    public static final TopicsImage EMPTY = new TopicsImage(new TreeMap<>());

    private final SortedMap<UUID, TopicImage> byId;
    private final SortedMap<String, TopicImage> byName;

    /** Takes ownership of {@code topicsById}; names must be unique. */
    public TopicsImage(TreeMap<UUID, TopicImage> topicsById) {
        TreeMap<String, TopicImage> names = new TreeMap<>();
        for (Map.Entry<UUID, TopicImage> e : topicsById.entrySet()) {
            if (!e.getKey().equals(e.getValue().id())) {
                throw new IllegalArgumentException("topic " + e.getValue() + " filed under id " + e.getKey());
            }
            if (names.put(e.getValue().name(), e.getValue()) != null) {
                throw new IllegalArgumentException("two topics named " + e.getValue().name());
            }
        }
        this.byId = Collections.unmodifiableSortedMap(topicsById);
        this.byName = Collections.unmodifiableSortedMap(names);
    }

    public SortedMap<UUID, TopicImage> topicsById() {
        return byId;
    }

    public SortedMap<String, TopicImage> topicsByName() {
        return byName;
    }

    public Optional<TopicImage> topic(UUID id) {
        return Optional.ofNullable(byId.get(id));
    }

    public Optional<TopicImage> topic(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public TreeMap<UUID, TopicImage> copyOfTopics() {
        return new TreeMap<>((Map<UUID, TopicImage>) byId);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TopicsImage t && byId.equals(t.byId);
    }

    @Override
    public int hashCode() {
        return byId.hashCode();
    }

    @Override
    public String toString() {
        return "TopicsImage" + byName.values();
    }
}
