package dev.basalt.metadata.controller;

import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * Drives a {@link MetadataController} the way the controller thread does: each result's records are
 * "committed" by replaying them into the image (a replay failure fails the test). Not thread-safe.
 */
final class ControllerFixture {
    final MetadataController controller;
    MetadataImage image = MetadataImage.EMPTY;

    ControllerFixture(long seed, ConfigValidator validator, ControllerConfig config) {
        controller = new MetadataController(config, validator, new SplittableRandom(seed));
    }

    ControllerFixture(long seed) {
        this(seed, ConfigValidator.ACCEPT_ALL, new ControllerConfig(1_000, 1_000, 100, 100));
    }

    <R> R commit(ControllerResult<R> result) {
        MetadataDelta delta = new MetadataDelta(image);
        delta.replayAll(result.records());
        image = delta.apply();
        return result.response();
    }

    static UUID incarnation(int brokerId) {
        return new UUID(brokerId, 77);
    }

    /** Registers and unfences a broker at time {@code nowMs}. */
    void addLiveBroker(int brokerId, String rack, long nowMs) {
        commit(controller.registerBroker(image, new BrokerRegistrationRequest(brokerId, incarnation(brokerId),
                List.of(new Endpoint("CLIENT", "127.0.0.1", 9400 + brokerId)), Optional.ofNullable(rack)), nowMs));
        commit(controller.heartbeat(image, new HeartbeatRequest(brokerId, incarnation(brokerId), true, false), nowMs));
    }

    TopicImage topic(String name) {
        return image.topics().topic(name).orElseThrow();
    }

    PartitionRegistration partition(String name, int p) {
        return topic(name).partitions().get(p);
    }

    BrokerRegistration broker(int id) {
        return image.cluster().broker(id).orElseThrow();
    }

    /** The invariants every committed image must keep. */
    static void assertConsistent(MetadataImage image) {
        for (TopicImage topic : image.topics().topicsById().values()) {
            if (topic.partitionCount() == 0) {
                throw new AssertionError("topic without partitions: " + topic);
            }
            topic.partitions().forEach((p, reg) -> {
                for (int replica : reg.replicas()) {
                    if (image.cluster().broker(replica).isEmpty()) {
                        throw new AssertionError(topic.name() + "-" + p + " replica " + replica + " not registered");
                    }
                }
                if (reg.hasLeader() && !image.cluster().isUnfenced(reg.leader())) {
                    throw new AssertionError(topic.name() + "-" + p + " led by fenced broker " + reg.leader());
                }
                if (!reg.replicas().containsAll(reg.isr()) || (reg.hasLeader() && !reg.isr().contains(reg.leader()))) {
                    throw new AssertionError(topic.name() + "-" + p + " breaks leader ∈ isr ⊆ replicas: " + reg);
                }
                if (reg.isr().isEmpty()) {
                    throw new AssertionError(topic.name() + "-" + p + " has an empty ISR: " + reg);
                }
            });
        }
    }
}
