package dev.basalt.client;

import dev.basalt.client.serialization.Deserializer;
import dev.basalt.client.serialization.Serializer;

/**
 * Resolves serializers and deserializers given to a constructor or configured by instance,
 * {@link Class} or class name (Kafka style), rejecting anything else with a ConfigException.
 *
 * <p>Thread-safety: stateless.
 */
final class Plugins {
    private Plugins() {
    }

    @SuppressWarnings("unchecked")
    static <T> Serializer<T> serializer(Serializer<T> given, Object configured, String key) {
        if (given != null) {
            return given;
        }
        return (Serializer<T>) instantiate(configured, key, Serializer.class);
    }

    @SuppressWarnings("unchecked")
    static <T> Deserializer<T> deserializer(Deserializer<T> given, Object configured, String key) {
        if (given != null) {
            return given;
        }
        return (Deserializer<T>) instantiate(configured, key, Deserializer.class);
    }

    private static Object instantiate(Object configured, String key, Class<?> type) {
        if (configured == null) {
            throw new ConfigException(key, null, "no " + type.getSimpleName() + " given to the constructor or configured");
        }
        if (type.isInstance(configured)) {
            return configured;
        }
        Class<?> cls;
        if (configured instanceof Class<?> c) {
            cls = c;
        } else if (configured instanceof String name) {
            try {
                cls = Class.forName(name.trim(), true, Plugins.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new ConfigException(key, configured, "class not found");
            }
        } else {
            throw new ConfigException(key, configured, "expected a " + type.getSimpleName() + ", a Class or a class name");
        }
        if (!type.isAssignableFrom(cls)) {
            throw new ConfigException(key, configured, "does not implement " + type.getName());
        }
        try {
            return cls.getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new ConfigException(key, configured, "cannot instantiate: " + e);
        }
    }
}
