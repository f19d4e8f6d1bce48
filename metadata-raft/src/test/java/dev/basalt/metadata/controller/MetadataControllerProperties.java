package dev.basalt.metadata.controller;

import static dev.basalt.metadata.controller.ControllerFixture.incarnation;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.raft.testkit.LongTestsOnly;
import dev.basalt.raft.testkit.ReplayOnFailure;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * Random controller operations — registrations (including restarts), heartbeats, session expiry,
 * controlled shutdowns, topic creation/deletion, partition growth, config changes, ISR changes (fresh
 * and stale), preferred elections, producer ids — with time advancing, from a seed. Every result's
 * records must replay cleanly onto the image, and every committed image must be consistent: each
 * partition's leader is in its ISR, the ISR is a non-empty subset of the replicas, leaders are
 * unfenced, replicas are registered. Refusals ({@link ControllerException}) are allowed and must
 * carry no records. The same seed must produce the same records (determinism).
 */
@AddLifecycleHook(ReplayOnFailure.class)
class MetadataControllerProperties {

    @Property(tries = 300)
    void randomOperations_replayCleanly_intoConsistentImages(@ForAll long seed,
                                                             @ForAll @IntRange(min = 1, max = 150) int steps) {
        List<List<MetadataRecord>> first = run(seed, steps);
        assertEquals(first, run(seed, steps), "same seed, different records: nondeterminism");
    }

    @Property(tries = 2000)
    @AddLifecycleHook(LongTestsOnly.class)
    void randomOperations_long(@ForAll long seed, @ForAll @IntRange(min = 1, max = 600) int steps) {
        run(seed, steps);
    }

    private static List<List<MetadataRecord>> run(long seed, int steps) {
        Random random = new Random(seed);
        ControllerConfig config = new ControllerConfig(100 + random.nextInt(1000), 50, 1 + random.nextInt(100), 10);
        MetadataController controller = new MetadataController(config, ConfigValidator.ACCEPT_ALL, new Random(~seed));
        MetadataImage image = MetadataImage.EMPTY;
        List<List<MetadataRecord>> history = new ArrayList<>();
        long nowMs = 0;
        for (int step = 0; step < steps; step++) {
            nowMs += random.nextInt(300);
            ControllerResult<?> result;
            try {
                result = operation(random.nextInt(12), random, controller, image, nowMs);
            } catch (ControllerException refused) {
                continue;
            }
            MetadataDelta delta = new MetadataDelta(image);
            delta.replayAll(result.records());
            image = delta.apply();
            ControllerFixture.assertConsistent(image);
            history.add(result.records());
        }
        MetadataDelta rebuilt = new MetadataDelta(MetadataImage.EMPTY);
        rebuilt.replayAll(image.toRecords());
        assertEquals(image, rebuilt.apply());
        return history;
    }

    private static ControllerResult<?> operation(int kind, Random random, MetadataController c, MetadataImage image,
                                                 long nowMs) {
        int broker = random.nextInt(6);
        UUID incarnation = brokerIncarnation(image, broker, random);
        return switch (kind) {
            case 0 -> c.registerBroker(image, new BrokerRegistrationRequest(broker, random.nextInt(4) == 0
                    ? new UUID(broker, random.nextInt(1000)) : incarnation(broker),
                    List.of(new Endpoint("CLIENT", "127.0.0.1", 9400 + broker)),
                    random.nextBoolean() ? Optional.of("r" + broker % 3) : Optional.empty()), nowMs);
            case 1, 2 -> c.heartbeat(image, new HeartbeatRequest(broker, incarnation, random.nextInt(4) != 0,
                    random.nextInt(10) == 0), nowMs);
            case 3 -> c.fenceExpiredBrokers(image, nowMs);
            case 4 -> c.createTopic(image, createRequest(random));
            case 5 -> c.createTopics(image, List.of(createRequest(random), createRequest(random)));
            case 6 -> random.nextBoolean() ? c.deleteTopic(image, "t" + random.nextInt(8))
                    : c.deleteTopics(image, List.of("t" + random.nextInt(8), "t" + random.nextInt(8)));
            case 7 -> c.createPartitions(image, "t" + random.nextInt(8), 1 + random.nextInt(8));
            case 8 -> c.alterConfigs(image, ConfigResource.topic("t" + random.nextInt(8)), Map.of(
                    "unclean.leader.election.enable", random.nextBoolean() ? Optional.of("true") : Optional.empty()));
            case 9, 10 -> alterIsr(random, c, image);
            default -> random.nextBoolean() ? c.electPreferredLeaders(image)
                    : c.allocateProducerIds(image, broker, incarnation);
        };
    }

    private static CreateTopicRequest createRequest(Random random) {
        return new CreateTopicRequest("t" + random.nextInt(8), 1 + random.nextInt(5), 1 + random.nextInt(3),
                random.nextInt(3) == 0 ? Map.of("unclean.leader.election.enable", "true") : Map.of());
    }

    private static UUID brokerIncarnation(MetadataImage image, int broker, Random random) {
        Optional<BrokerRegistration> b = image.cluster().broker(broker);
        return b.isPresent() && random.nextInt(8) != 0 ? b.get().incarnationId() : new UUID(broker, 9999);
    }

    /** An ISR change from the leader: usually valid, sometimes stale or with an ineligible member. */
    private static ControllerResult<?> alterIsr(Random random, MetadataController c, MetadataImage image) {
        List<TopicImage> topics = new ArrayList<>(image.topics().topicsById().values());
        if (topics.isEmpty()) {
            return c.electPreferredLeaders(image);
        }
        TopicImage topic = topics.get(random.nextInt(topics.size()));
        int p = random.nextInt(topic.partitionCount());
        PartitionRegistration reg = topic.partitions().get(p);
        if (!reg.hasLeader()) {
            return c.electPreferredLeaders(image);
        }
        List<Integer> isr = new ArrayList<>();
        isr.add(reg.leader());
        for (int r : reg.replicas()) {
            if (r != reg.leader() && random.nextBoolean()) {
                isr.add(r);
            }
        }
        int epochSkew = random.nextInt(6) == 0 ? -1 : 0;
        UUID leaderIncarnation = image.cluster().broker(reg.leader()).orElseThrow().incarnationId();
        return c.alterPartition(image, new AlterPartitionRequest(reg.leader(), leaderIncarnation, topic.id(), p,
                reg.leaderEpoch(), reg.partitionEpoch() + epochSkew, isr));
    }
}
