package dev.basalt.metadata.controller;

import static dev.basalt.metadata.controller.ControllerFixture.incarnation;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.ProducerIdsImage;
import dev.basalt.proto.v1.ConfigChangeRecord;
import dev.basalt.proto.v1.ConfigResourceType;
import dev.basalt.proto.v1.MetadataRecord;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Unit tests of each {@link MetadataController} decision (DESIGN.md §4, Kafka's KRaft controller
 * semantics): topic creation with Kafka's name rules and rack-aware placement, deletion, partition
 * growth, config changes through the pluggable validator, broker registration, heartbeats, session
 * fencing with leader re-election from the ISR (unclean only where the topic allows it), ISR changes
 * with partition-epoch compare-and-set, controlled shutdown, preferred-leader election and producer
 * ids. Deterministic: the controller's generator is seeded.
 */
class MetadataControllerTest {
    ControllerFixture f;

    @BeforeEach
    void cluster() {
        f = new ControllerFixture(42);
        f.addLiveBroker(1, "a", 0);
        f.addLiveBroker(2, "a", 0);
        f.addLiveBroker(3, "b", 0);
        f.addLiveBroker(4, "b", 0);
    }

    static CreateTopicRequest topic(String name, int partitions, int rf) {
        return new CreateTopicRequest(name, partitions, rf, Map.of());
    }

    static ControllerException.Reason refused(Supplier<ControllerResult<?>> call) {
        return assertThrows(ControllerException.class, call::get).reason();
    }

    @Test
    void createTopic_placesReplicasAcrossRacks_andRotatesLeaders() {
        CreateTopicResponse r = f.commit(f.controller.createTopic(f.image, topic("orders", 8, 2)));
        assertEquals(8, f.topic("orders").partitionCount());
        Set<Integer> leaders = new HashSet<>();
        for (int p = 0; p < 8; p++) {
            PartitionRegistration reg = f.partition("orders", p);
            assertEquals(r.replicas().get(p), reg.replicas());
            assertEquals(reg.replicas(), reg.isr());
            assertEquals(reg.replicas().get(0), reg.leader());
            assertNotEquals(rack(reg.replicas().get(0)), rack(reg.replicas().get(1)), "replicas share a rack: " + reg);
            leaders.add(reg.leader());
        }
        assertEquals(Set.of(1, 2, 3, 4), leaders);
        assertEquals(List.of(), r.warnings());
        assertEquals(r.topicId(), f.topic("orders").id());
    }

    private String rack(int brokerId) {
        return f.broker(brokerId).rack().orElseThrow();
    }

    @Test
    void createTopic_isDeterministicForASeed() {
        ControllerFixture other = new ControllerFixture(42);
        for (int b = 1; b <= 4; b++) {
            other.addLiveBroker(b, b <= 2 ? "a" : "b", 0);
        }
        assertEquals(f.controller.createTopic(f.image, topic("x", 5, 3)),
                other.controller.createTopic(other.image, topic("x", 5, 3)));
    }

    @Test
    void createTopic_appliesKafkaNameRules() {
        assertEquals(ControllerException.Reason.INVALID_TOPIC, refused(() -> f.controller.createTopic(f.image, topic("a b", 1, 1))));
        assertEquals(ControllerException.Reason.INVALID_TOPIC, refused(() -> f.controller.createTopic(f.image, topic(".", 1, 1))));
        assertEquals(ControllerException.Reason.INVALID_TOPIC, refused(() -> f.controller.createTopic(f.image, topic("..", 1, 1))));
        assertEquals(ControllerException.Reason.INVALID_TOPIC, refused(() -> f.controller.createTopic(f.image, topic("", 1, 1))));
        assertEquals(ControllerException.Reason.INVALID_TOPIC,
                refused(() -> f.controller.createTopic(f.image, topic("x".repeat(250), 1, 1))));
        f.commit(f.controller.createTopic(f.image, topic("y".repeat(249), 1, 1)));
        CreateTopicResponse dotted = f.commit(f.controller.createTopic(f.image, topic("metrics.cpu", 1, 1)));
        assertEquals(1, dotted.warnings().size());
        assertEquals(ControllerException.Reason.INVALID_TOPIC,
                refused(() -> f.controller.createTopic(f.image, topic("metrics_cpu", 1, 1))));
        assertEquals(ControllerException.Reason.TOPIC_ALREADY_EXISTS,
                refused(() -> f.controller.createTopic(f.image, topic("metrics.cpu", 1, 1))));
        f.commit(f.controller.createTopic(f.image, topic("Az09._-", 1, 1)));
    }

    @Test
    void createTopic_checksPartitionsReplicationFactorAndConfigs() {
        assertEquals(ControllerException.Reason.INVALID_PARTITIONS, refused(() -> f.controller.createTopic(f.image, topic("t", 0, 1))));
        assertEquals(ControllerException.Reason.INVALID_PARTITIONS, refused(() -> f.controller.createTopic(f.image, topic("t", 1001, 1))));
        assertEquals(ControllerException.Reason.INVALID_REPLICATION_FACTOR, refused(() -> f.controller.createTopic(f.image, topic("t", 1, 0))));
        assertEquals(ControllerException.Reason.INVALID_REPLICATION_FACTOR, refused(() -> f.controller.createTopic(f.image, topic("t", 1, 5))));
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(4, incarnation(4), false, true), 0));
        assertEquals(ControllerException.Reason.INVALID_REPLICATION_FACTOR,
                refused(() -> f.controller.createTopic(f.image, topic("t", 1, 4)))); // fenced brokers do not count
        ControllerFixture strict = new ControllerFixture(1, (resource, key, value) ->
                key.equals("retention.ms") && !value.matches("\\d+") ? Optional.of("not a number") : Optional.empty(),
                ControllerConfig.DEFAULT);
        strict.addLiveBroker(1, null, 0);
        assertEquals(ControllerException.Reason.INVALID_CONFIG, refused(() -> strict.controller.createTopic(strict.image,
                new CreateTopicRequest("t", 1, 1, Map.of("retention.ms", "soon")))));
        strict.commit(strict.controller.createTopic(strict.image, new CreateTopicRequest("t", 1, 1,
                Map.of("retention.ms", "60000"))));
        assertEquals(Map.of("retention.ms", "60000"), strict.image.configs().configs(ConfigResource.topic("t")));
    }

    /**
     * Found probing: min.insync.replicas=3 on a replication-factor-2 topic was accepted, and every
     * acks=all send to it then failed with NOT_ENOUGH_REPLICAS. Refused at create and at alter; the
     * cluster default is not checked, and a value within the replica count is taken.
     */
    @Test
    void minInsyncReplicasAboveTheReplicationFactor_isRefused() {
        ControllerException e = assertThrows(ControllerException.class, () -> f.controller.createTopic(f.image,
                new CreateTopicRequest("t", 2, 2, Map.of("min.insync.replicas", "3"))));
        assertEquals(ControllerException.Reason.INVALID_CONFIG, e.reason());
        assertTrue(e.getMessage().contains("min.insync.replicas=3 is above its replication factor 2"), e.getMessage());
        assertTrue(f.image.topics().topic("t").isEmpty(), "nothing created");
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t", 2, 2, Map.of("min.insync.replicas", "2"))));
        ConfigResource t = ConfigResource.topic("t");
        assertEquals(ControllerException.Reason.INVALID_CONFIG, refused(() -> f.controller.alterConfigs(f.image, t,
                Map.of("min.insync.replicas", Optional.of("3")))));
        assertEquals(Map.of("min.insync.replicas", "2"), f.image.configs().configs(t), "the refused change left the config as it was");
        assertEquals(1, f.commit(f.controller.alterConfigs(f.image, t, Map.of("min.insync.replicas", Optional.of("1")))));
        assertEquals(1, f.commit(f.controller.alterConfigs(f.image, t, Map.of("min.insync.replicas", Optional.empty()))));

        ControllerConfig d = ControllerConfig.DEFAULT;
        ControllerFixture strictDefault = new ControllerFixture(3, ConfigValidator.ACCEPT_ALL, new ControllerConfig(
                d.sessionTimeoutMs(), d.partitionsPerTopicMax(), d.producerIdBlockSize(), d.topicsPerRequestMax(), 2,
                d.uncleanLeaderElectionDefault(), d.preferredElectionPartitionsMax(), d.replicasPerBrokerMax()));
        strictDefault.addLiveBroker(1, null, 0);
        strictDefault.commit(strictDefault.controller.createTopic(strictDefault.image, topic("rf1", 1, 1))); // the default is not checked
    }

    /** Found probing: one request for 10,000 partitions of RF 3 on three nodes took the control plane down for minutes. */
    @Test
    void replicasPerBroker_boundTopicCreationAndPartitionGrowth() {
        ControllerFixture small = new ControllerFixture(3, ConfigValidator.ACCEPT_ALL,
                new ControllerConfig(1_000, 1_000, 100, 100, 1, false, 1_000, 10));
        for (int b = 1; b <= 3; b++) {
            small.addLiveBroker(b, null, 0);
        }
        small.commit(small.controller.createTopic(small.image, topic("fits", 6, 3))); // 6 replicas on each broker
        ControllerException e = assertThrows(ControllerException.class,
                () -> small.controller.createTopic(small.image, topic("over", 5, 3)));
        assertEquals(ControllerException.Reason.INVALID_PARTITIONS, e.reason());
        assertTrue(e.getMessage().contains("11 partition replicas on broker") && e.getMessage().contains("replicas.per.broker.max=10"),
                e.getMessage());
        List<TopicOutcome<CreateTopicResponse>> outcomes = small.commit(small.controller.createTopics(small.image, List.of(
                topic("three", 3, 3), topic("two-more", 2, 3), topic("one", 1, 3))));
        assertEquals(List.of(true, false, true), outcomes.stream().map(o -> o.response().isPresent()).toList(),
                "each topic counts the ones before it in the request; a refused one leaves nothing behind");
        assertEquals(Set.of("fits", "three", "one"), small.image.topics().topicsByName().keySet());
        assertEquals(ControllerException.Reason.INVALID_PARTITIONS, refused(() -> small.controller.createPartitions(small.image, "one", 2)));
        // RF 1 spreads: 10 per broker fit, whatever they were before.
        small.commit(small.controller.deleteTopics(small.image, List.of("fits", "three", "one")));
        small.commit(small.controller.createTopic(small.image, topic("spread", 30, 1)));
        assertEquals(ControllerException.Reason.INVALID_PARTITIONS, refused(() -> small.controller.createPartitions(small.image, "spread", 31)));
    }

    @Test
    void createAndDeleteTopics_decideEachTopicOnItsOwn() {
        List<TopicOutcome<CreateTopicResponse>> created = f.commit(f.controller.createTopics(f.image, List.of(
                topic("a", 1, 1), topic("bad name", 1, 1), topic("b", 2, 2), topic("a", 1, 1), topic("c", 1, 9))));
        assertEquals(List.of(true, false, true, false, false),
                created.stream().map(o -> o.response().isPresent()).toList());
        assertEquals(ControllerException.Reason.TOPIC_ALREADY_EXISTS, created.get(3).error().orElseThrow().reason());
        assertEquals(ControllerException.Reason.INVALID_REPLICATION_FACTOR, created.get(4).error().orElseThrow().reason());
        assertEquals(Set.of("a", "b"), f.image.topics().topicsByName().keySet());
        List<TopicOutcome<UUID>> deleted = f.commit(f.controller.deleteTopics(f.image, List.of("a", "zz", "a")));
        assertEquals(List.of(true, false, false), deleted.stream().map(o -> o.response().isPresent()).toList());
        assertEquals(Set.of("b"), f.image.topics().topicsByName().keySet());
        assertEquals(ControllerException.Reason.INVALID_REQUEST, refused(() -> f.controller.deleteTopics(f.image,
                java.util.Collections.nCopies(101, "b"))));
    }

    @Test
    void deleteTopic_andCreatePartitions() {
        f.commit(f.controller.createTopic(f.image, topic("t", 2, 3)));
        assertEquals(ControllerException.Reason.INVALID_PARTITIONS, refused(() -> f.controller.createPartitions(f.image, "t", 2)));
        assertEquals(ControllerException.Reason.INVALID_PARTITIONS, refused(() -> f.controller.createPartitions(f.image, "t", 1)));
        List<List<Integer>> added = f.commit(f.controller.createPartitions(f.image, "t", 5));
        assertEquals(3, added.size());
        assertEquals(5, f.topic("t").partitionCount());
        assertTrue(added.stream().allMatch(r -> r.size() == 3));
        UUID id = f.topic("t").id();
        assertEquals(id, f.commit(f.controller.deleteTopic(f.image, "t")));
        assertTrue(f.image.topics().topic("t").isEmpty());
        assertEquals(ControllerException.Reason.UNKNOWN_TOPIC, refused(() -> f.controller.deleteTopic(f.image, "t")));
        assertEquals(ControllerException.Reason.UNKNOWN_TOPIC, refused(() -> f.controller.createPartitions(f.image, "t", 9)));
    }

    /**
     * Found probing a cluster: `topics --delete --topic __consumer_offsets` and `--alter --partitions 60`
     * on it were accepted, and every group lost its committed offsets.
     */
    @Test
    void theInternalTopic_cannotBeDeletedRepartitionedOrMadeToForget_andOtherInternalNamesAreReserved() {
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("__consumer_offsets", 4, 3,
                Map.of("cleanup.policy", "compact"))));
        assertEquals(ControllerException.Reason.INVALID_REQUEST, refused(() -> f.controller.deleteTopic(f.image, "__consumer_offsets")));
        List<TopicOutcome<UUID>> batch = f.controller.deleteTopics(f.image, List.of("__consumer_offsets")).response();
        assertEquals(ControllerException.Reason.INVALID_REQUEST, batch.get(0).error().orElseThrow().reason(), "refused in a batch too");
        assertEquals(ControllerException.Reason.INVALID_PARTITIONS,
                refused(() -> f.controller.createPartitions(f.image, "__consumer_offsets", 60)));
        ConfigResource offsets = ConfigResource.topic("__consumer_offsets");
        assertEquals(ControllerException.Reason.INVALID_CONFIG, refused(() -> f.controller.alterConfigs(f.image, offsets,
                Map.of("cleanup.policy", Optional.of("delete")))));
        assertEquals(ControllerException.Reason.INVALID_CONFIG, refused(() -> f.controller.alterConfigs(f.image, offsets,
                Map.of("cleanup.policy", Optional.empty()))));
        assertEquals(1, f.commit(f.controller.alterConfigs(f.image, offsets, Map.of("segment.bytes", Optional.of("1048576")))),
                "its other settings may change");
        assertEquals(4, f.topic("__consumer_offsets").partitionCount());
        assertEquals(ControllerException.Reason.INVALID_TOPIC, refused(() -> f.controller.createTopic(f.image,
                topic("__mine", 1, 1))));
    }

    @Test
    void alterConfigs_setsDeletes_andSkipsNoOps() {
        f.commit(f.controller.createTopic(f.image, topic("t", 1, 1)));
        ConfigResource t = ConfigResource.topic("t");
        assertEquals(2, f.commit(f.controller.alterConfigs(f.image, t, Map.of("a", Optional.of("1"), "b", Optional.of("2")))));
        assertEquals(1, f.commit(f.controller.alterConfigs(f.image, t, Map.of("a", Optional.empty(),
                "b", Optional.of("2"), "zzz", Optional.empty()))));
        assertEquals(Map.of("b", "2"), f.image.configs().configs(t));
        ConfigResource cluster = new ConfigResource(ConfigResource.Type.BROKER, "");
        assertEquals(1, f.commit(f.controller.alterConfigs(f.image, cluster, Map.of("log.retention.ms", Optional.of("5")))));
        assertEquals(ControllerException.Reason.UNKNOWN_TOPIC, refused(() -> f.controller.alterConfigs(f.image,
                ConfigResource.topic("nope"), Map.of("a", Optional.of("1")))));
        assertEquals(ControllerException.Reason.INVALID_CONFIG, refused(() -> f.controller.alterConfigs(f.image, t,
                Map.of("", Optional.of("1")))));
    }

    /**
     * Found probing: `configs --alter --entity-type brokers --entity-name 99` (a typo) said "Updated",
     * while a describe of 99 said no such broker. Overrides an id already holds (a broker removed
     * since) can still be changed and deleted.
     */
    @Test
    void alterConfigsOfABrokerIdNoBrokerRegistered_isRefused_unlessTheIdHoldsOverrides() {
        ConfigResource typo = new ConfigResource(ConfigResource.Type.BROKER, "99");
        ControllerException e = assertThrows(ControllerException.class, () -> f.controller.alterConfigs(f.image, typo,
                Map.of("reassignment.throttle.bytes.per.second", Optional.of("1000"))));
        assertEquals(ControllerException.Reason.INVALID_REQUEST, e.reason());
        assertEquals("no broker 99 is registered (brokers: 1, 2, 3, 4)", e.getMessage());
        assertEquals(Map.of(), f.image.configs().configs(typo));
        assertEquals(0, f.commit(f.controller.alterConfigs(f.image, typo, Map.of("reassignment.throttle.bytes.per.second",
                Optional.empty()))), "deleting from an id that holds nothing stays a no-op");
        ControllerException padded = assertThrows(ControllerException.class, () -> f.controller.alterConfigs(f.image,
                new ConfigResource(ConfigResource.Type.BROKER, "04"), Map.of("x", Optional.of("1"))));
        assertEquals(ControllerException.Reason.INVALID_REQUEST, padded.reason(), "broker 4 reads \"4\", never \"04\"");
        ConfigResource four = new ConfigResource(ConfigResource.Type.BROKER, "4");
        assertEquals(1, f.commit(f.controller.alterConfigs(f.image, four, Map.of("x", Optional.of("1")))));

        ConfigResource gone = new ConfigResource(ConfigResource.Type.BROKER, "7");
        f.commit(new ControllerResult<>(List.of(MetadataRecord.newBuilder().setConfigChange(ConfigChangeRecord.newBuilder()
                .setResourceType(ConfigResourceType.CONFIG_RESOURCE_TYPE_BROKER).setResourceName("7").setKey("x").setValue("1"))
                .build()), 0));
        assertEquals(1, f.commit(f.controller.alterConfigs(f.image, gone, Map.of("x", Optional.of("2")))));
        assertEquals(1, f.commit(f.controller.alterConfigs(f.image, gone, Map.of("x", Optional.empty()))));
        assertEquals(Map.of(), f.image.configs().configs(gone));
        assertEquals(ControllerException.Reason.INVALID_REQUEST, refused(() -> f.controller.alterConfigs(f.image, gone,
                Map.of("x", Optional.of("3")))));
    }

    /** Found probing a cluster: `topics --alter --delete-config nonexist.key` said "Updated configs". */
    @Test
    void deletingAKeyThatIsNotSet_isRefusedIfTheKeyIsUnknown_andANoOpIfKnown() {
        ControllerFixture strict = new ControllerFixture(1, new ConfigValidator() {
            @Override
            public Optional<String> problem(ConfigResource resource, String key, String value) {
                return Optional.empty();
            }

            @Override
            public Optional<String> unknownKey(ConfigResource resource, String key) {
                return key.equals("retention.ms") ? Optional.empty() : Optional.of("unknown topic configuration");
            }
        }, ControllerConfig.DEFAULT);
        strict.addLiveBroker(1, null, 0);
        strict.commit(strict.controller.createTopic(strict.image, new CreateTopicRequest("t", 1, 1, Map.of())));
        ConfigResource t = ConfigResource.topic("t");
        assertEquals(ControllerException.Reason.INVALID_CONFIG, refused(() -> strict.controller.alterConfigs(strict.image, t,
                Map.of("retention.msec", Optional.empty()))));
        assertEquals(0, strict.commit(strict.controller.alterConfigs(strict.image, t, Map.of("retention.ms", Optional.empty()))));
        assertEquals(Map.of(), strict.image.configs().configs(t));
    }

    /**
     * Found adding max.compaction.lag.ms: keys were checked one at a time, so a topic created with
     * min.compaction.lag.ms above max.compaction.lag.ms was accepted, and no broker could then open
     * its log (the create hung). Rules between keys see the whole set, at create and at alter.
     */
    @Test
    void rulesBetweenKeys_seeTheWholeSet_atCreateAndAtAlter() {
        ControllerFixture strict = new ControllerFixture(1, new ConfigValidator() {
            @Override
            public Optional<String> problem(ConfigResource resource, String key, String value) {
                return Optional.empty();
            }

            @Override
            public Optional<String> problemOfAll(ConfigResource resource, Map<String, String> overrides) {
                long min = Long.parseLong(overrides.getOrDefault("min", "0"));
                long max = Long.parseLong(overrides.getOrDefault("max", "100"));
                return min <= max ? Optional.empty() : Optional.of("max below min");
            }
        }, ControllerConfig.DEFAULT);
        strict.addLiveBroker(1, null, 0);
        assertEquals(ControllerException.Reason.INVALID_CONFIG, refused(() -> strict.controller.createTopic(strict.image,
                new CreateTopicRequest("bad", 1, 1, Map.of("min", "50", "max", "10")))));
        strict.commit(strict.controller.createTopic(strict.image, new CreateTopicRequest("t", 1, 1, Map.of("min", "50"))));
        ConfigResource t = ConfigResource.topic("t");
        ControllerException e = assertThrows(ControllerException.class, () -> strict.controller.alterConfigs(strict.image, t,
                Map.of("max", Optional.of("10"))));
        assertEquals(ControllerException.Reason.INVALID_CONFIG, e.reason());
        assertTrue(e.getMessage().contains("max below min"), e.getMessage());
        assertEquals(Map.of("min", "50"), strict.image.configs().configs(t), "nothing changed");
        assertEquals(2, strict.commit(strict.controller.alterConfigs(strict.image, t,
                Map.of("max", Optional.of("10"), "min", Optional.of("5")))), "both in one change");
        assertEquals(1, strict.commit(strict.controller.alterConfigs(strict.image, t, Map.of("max", Optional.empty()))),
                "a deletion is checked as the set it leaves (max back to its default)");
        assertEquals(ControllerException.Reason.INVALID_CONFIG, refused(() -> strict.controller.alterConfigs(strict.image, t,
                Map.of("min", Optional.of("500")))), "above the default max");
    }

    @Test
    void registerBroker_startsFenced_isIdempotent_andRefusesALiveDuplicate() {
        BrokerRegistrationRequest five = new BrokerRegistrationRequest(5, incarnation(5),
                List.of(new Endpoint("CLIENT", "127.0.0.1", 9405)), Optional.empty());
        assertTrue(f.commit(f.controller.registerBroker(f.image, five, 100)).fenced());
        assertTrue(f.broker(5).fenced());
        assertEquals(List.of(), f.controller.registerBroker(f.image, five, 200).records());
        BrokerRegistrationRequest restarted = new BrokerRegistrationRequest(1, new UUID(1, 78),
                List.of(new Endpoint("CLIENT", "127.0.0.1", 9401)), Optional.of("a"));
        assertEquals(ControllerException.Reason.DUPLICATE_BROKER_REGISTRATION,
                refused(() -> f.controller.registerBroker(f.image, restarted, 500)));
        assertEquals(ControllerException.Reason.INVALID_REQUEST, refused(() -> f.controller.registerBroker(f.image,
                new BrokerRegistrationRequest(6, incarnation(6), List.of(), Optional.empty()), 0)));
        // Regression (found by the controller property): the all-zero id means "none" and must be refused.
        assertEquals(ControllerException.Reason.INVALID_REQUEST, refused(() -> f.controller.registerBroker(f.image,
                new BrokerRegistrationRequest(6, new UUID(0, 0), five.endpoints(), Optional.empty()), 0)));
    }

    @Test
    void reRegistration_afterSessionExpiry_movesLeadershipAway() {
        f.commit(f.controller.createTopic(f.image, topic("t", 4, 2)));
        BrokerRegistrationRequest restarted = new BrokerRegistrationRequest(1, new UUID(1, 78),
                List.of(new Endpoint("CLIENT", "127.0.0.1", 9401)), Optional.of("a"));
        f.commit(f.controller.registerBroker(f.image, restarted, 5_000));
        assertTrue(f.broker(1).fenced());
        for (PartitionRegistration p : f.topic("t").partitions().values()) {
            assertNotEquals(1, p.leader());
        }
        ControllerFixture.assertConsistent(f.image);
        assertEquals(ControllerException.Reason.STALE_BROKER_INCARNATION, refused(() -> f.controller.heartbeat(f.image,
                new HeartbeatRequest(1, incarnation(1), true, false), 5_000)));
    }

    @Test
    void sessionTimeout_fencesBroker_andReelectsFromIsr() {
        f.commit(f.controller.createTopic(f.image, topic("t", 4, 2)));
        for (int b : List.of(2, 3, 4)) {
            f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(b, incarnation(b), true, false), 900));
        }
        assertEquals(List.of(), f.commit(f.controller.fenceExpiredBrokers(f.image, 999)));
        assertEquals(List.of(1), f.commit(f.controller.fenceExpiredBrokers(f.image, 1_000)));
        assertTrue(f.broker(1).fenced());
        for (PartitionRegistration p : f.topic("t").partitions().values()) {
            assertNotEquals(1, p.leader());
            assertFalse(p.isr().contains(1));
            assertTrue(p.hasLeader());
        }
        assertEquals(1_900, f.controller.nextSessionExpiryMs().orElseThrow());
        ControllerFixture.assertConsistent(f.image);
    }

    @Test
    void lastIsrMember_staysInIsr_withoutLeader_untilItReturns() {
        f.commit(f.controller.createTopic(f.image, topic("solo", 1, 1)));
        int only = f.partition("solo", 0).leader();
        f.commit(f.controller.controlledShutdown(f.image, only, incarnation(only), 10));
        PartitionRegistration offline = f.partition("solo", 0);
        assertEquals(PartitionRegistration.NO_LEADER, offline.leader());
        assertEquals(List.of(only), offline.isr());
        assertEquals(1, offline.leaderEpoch());
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(only, incarnation(only), true, false), 20));
        assertEquals(only, f.partition("solo", 0).leader());
        assertEquals(2, f.partition("solo", 0).leaderEpoch());
    }

    @Test
    void uncleanElection_onlyWhereTheTopicAllowsIt() {
        f.commit(f.controller.createTopic(f.image, topic("clean", 1, 2)));
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("dirty", 1, 2,
                Map.of("unclean.leader.election.enable", "true"))));
        for (String name : List.of("clean", "dirty")) {
            PartitionRegistration p = f.partition(name, 0);
            int leader = p.leader();
            int follower = p.replicas().get(1);
            // The follower falls out of the ISR, then the leader dies.
            f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(leader, incarnation(leader),
                    f.topic(name).id(), 0, p.leaderEpoch(), p.partitionEpoch(), List.of(leader))));
            f.commit(f.controller.controlledShutdown(f.image, leader, incarnation(leader), 10));
            PartitionRegistration after = f.partition(name, 0);
            if (name.equals("clean")) {
                assertEquals(PartitionRegistration.NO_LEADER, after.leader());
                assertEquals(List.of(leader), after.isr());
            } else {
                assertEquals(follower, after.leader());
                assertEquals(List.of(follower), after.isr());
            }
            f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(leader, incarnation(leader), true, false), 20));
        }
    }

    @Test
    void alterPartition_compareAndSetOnPartitionEpoch() {
        f.commit(f.controller.createTopic(f.image, topic("t", 1, 3)));
        PartitionRegistration p = f.partition("t", 0);
        int leader = p.leader();
        UUID id = f.topic("t").id();
        List<Integer> shrunk = List.of(leader, p.replicas().get(1));
        AlterPartitionRequest ok = new AlterPartitionRequest(leader, incarnation(leader), id, 0, p.leaderEpoch(),
                p.partitionEpoch(), shrunk);
        PartitionRegistration next = f.commit(f.controller.alterPartition(f.image, ok));
        assertEquals(shrunk, next.isr());
        assertEquals(p.partitionEpoch() + 1, next.partitionEpoch());
        assertEquals(p.leaderEpoch(), next.leaderEpoch());
        assertEquals(ControllerException.Reason.STALE_PARTITION_EPOCH, refused(() -> f.controller.alterPartition(f.image, ok)));
        int follower = p.replicas().get(1);
        assertEquals(ControllerException.Reason.NOT_LEADER, refused(() -> f.controller.alterPartition(f.image,
                new AlterPartitionRequest(follower, incarnation(follower), id, 0, 0, 1, shrunk))));
        assertEquals(ControllerException.Reason.FENCED_LEADER_EPOCH, refused(() -> f.controller.alterPartition(f.image,
                new AlterPartitionRequest(leader, incarnation(leader), id, 0, 5, 1, shrunk))));
        int outsider = List.of(1, 2, 3, 4).stream().filter(b -> !p.replicas().contains(b)).findFirst().orElseThrow();
        assertEquals(ControllerException.Reason.INELIGIBLE_REPLICA, refused(() -> f.controller.alterPartition(f.image,
                new AlterPartitionRequest(leader, incarnation(leader), id, 0, 0, 1, List.of(leader, outsider)))));
        assertEquals(ControllerException.Reason.INVALID_REQUEST, refused(() -> f.controller.alterPartition(f.image,
                new AlterPartitionRequest(leader, incarnation(leader), id, 0, 0, 1, List.of(follower)))));
        assertEquals(ControllerException.Reason.UNKNOWN_PARTITION, refused(() -> f.controller.alterPartition(f.image,
                new AlterPartitionRequest(leader, incarnation(leader), id, 3, 0, 1, shrunk))));
        int third = p.replicas().get(2);
        f.commit(f.controller.controlledShutdown(f.image, third, incarnation(third), 0));
        assertEquals(ControllerException.Reason.INELIGIBLE_REPLICA, refused(() -> f.controller.alterPartition(f.image,
                new AlterPartitionRequest(leader, incarnation(leader), id, 0, 0, 1, p.replicas()))));
    }

    @Test
    void alterPartition_toTheIsrAsItIs_commitsANewPartitionEpochThatRefusesOlderRequests() {
        f.commit(f.controller.createTopic(f.image, topic("t", 1, 3)));
        PartitionRegistration p = f.partition("t", 0);
        int leader = p.leader();
        UUID id = f.topic("t").id();
        List<Integer> shrunk = List.of(leader, p.replicas().get(1));
        PartitionRegistration base = f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(leader,
                incarnation(leader), id, 0, p.leaderEpoch(), p.partitionEpoch(), shrunk)));
        // An expansion the leader sent and then gave up on (it timed out) ...
        AlterPartitionRequest lateExpansion = new AlterPartitionRequest(leader, incarnation(leader), id, 0, base.leaderEpoch(),
                base.partitionEpoch(), p.replicas());
        // ... is fenced by committing the ISR as it is:
        PartitionRegistration fenced = f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(leader,
                incarnation(leader), id, 0, base.leaderEpoch(), base.partitionEpoch(), base.isr())));
        assertEquals(base.isr(), fenced.isr());
        assertEquals(base.leader(), fenced.leader());
        assertEquals(base.leaderEpoch(), fenced.leaderEpoch());
        assertEquals(base.elr(), fenced.elr());
        assertEquals(base.partitionEpoch() + 1, fenced.partitionEpoch());
        assertEquals(fenced, f.partition("t", 0));
        assertEquals(ControllerException.Reason.STALE_PARTITION_EPOCH, refused(() -> f.controller.alterPartition(f.image,
                lateExpansion)));
    }

    @Test
    void preferredLeaderElection_movesLeadershipBack() {
        f.commit(f.controller.createTopic(f.image, topic("t", 2, 2)));
        int preferred = f.partition("t", 0).preferredLeader();
        f.commit(f.controller.controlledShutdown(f.image, preferred, incarnation(preferred), 0));
        assertNotEquals(preferred, f.partition("t", 0).leader());
        assertEquals(List.of(), f.commit(f.controller.electPreferredLeaders(f.image)));
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(preferred, incarnation(preferred), true, false), 0));
        PartitionRegistration p = f.partition("t", 0);
        int leader = p.leader();
        f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(leader, incarnation(leader),
                f.topic("t").id(), 0, p.leaderEpoch(), p.partitionEpoch(), p.replicas())));
        List<PartitionRef> moved = f.commit(f.controller.electPreferredLeaders(f.image));
        assertTrue(moved.contains(new PartitionRef(f.topic("t").id(), 0)));
        assertEquals(preferred, f.partition("t", 0).leader());
        ControllerFixture.assertConsistent(f.image);
    }

    @Test
    void producerIdBlocks_areConsecutive_andOnlyForLiveBrokers() {
        ProducerIdsImage.ProducerIdBlock a = f.commit(f.controller.allocateProducerIds(f.image, 1, incarnation(1)));
        ProducerIdsImage.ProducerIdBlock b = f.commit(f.controller.allocateProducerIds(f.image, 2, incarnation(2)));
        assertEquals(0, a.firstProducerId());
        assertEquals(a.endProducerId(), b.firstProducerId());
        assertEquals(100, b.size());
        f.commit(f.controller.controlledShutdown(f.image, 3, incarnation(3), 0));
        assertEquals(ControllerException.Reason.BROKER_FENCED, refused(() -> f.controller.allocateProducerIds(f.image, 3,
                incarnation(3))));
        assertEquals(ControllerException.Reason.UNKNOWN_BROKER, refused(() -> f.controller.allocateProducerIds(f.image, 9,
                incarnation(9))));
    }

    /** KIP-112/KIP-858: a broker reports replicas it cannot serve; only those lose it as leader and ISR member. */
    @Test
    void offlineReplicasReportedInAHeartbeat_moveLeadershipAndIsrOfExactlyThosePartitions() {
        CreateTopicResponse created = f.commit(f.controller.createTopic(f.image, topic("t", 4, 3)));
        java.util.UUID id = created.topicId();
        int victim = f.partition("t", 0).leader();
        List<Integer> ledBefore = new java.util.ArrayList<>();
        for (int p = 0; p < 4; p++) {
            ledBefore.add(f.partition("t", p).leader());
        }
        java.util.Map<Integer, dev.basalt.metadata.image.PartitionRegistration> before = new java.util.TreeMap<>(f.topic("t").partitions());
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(victim, incarnation(victim), true, false,
                List.of(new PartitionRef(id, 0), new PartitionRef(java.util.UUID.randomUUID(), 0))), 10));
        ControllerFixture.assertConsistent(f.image);
        assertTrue(f.partition("t", 0).hasLeader());
        assertTrue(f.partition("t", 0).leader() != victim, "leadership of the offline replica moved");
        assertFalse(f.partition("t", 0).isr().contains(victim), "it left the ISR");
        for (int p = 1; p < 4; p++) {
            assertEquals(before.get(p), f.partition("t", p), "partition " + p + " untouched");
        }
        assertFalse(f.broker(victim).fenced(), "the broker itself stays in service");
    }

    /** A heartbeat of {@code broker} reporting {@code leaders} unreachable. */
    private HeartbeatRequest unreachable(int broker, Integer... leaders) {
        return new HeartbeatRequest(broker, incarnation(broker), true, false, List.of(), Map.of(), java.util.Set.of(leaders));
    }

    /** The leader shrinks the ISR of {@code topic}'s partition 0 to itself (its followers stopped fetching). */
    private void shrinkToLeader(String topic) {
        PartitionRegistration p = f.partition(topic, 0);
        f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(p.leader(), incarnation(p.leader()),
                f.topic(topic).id(), 0, p.leaderEpoch(), p.partitionEpoch(), List.of(p.leader()))));
    }

    /**
     * Found probing: the network dropped only the packets to the leader's client port. The leader
     * kept heartbeating, shrank the ISR to itself, and the partition refused acks=all writes for the
     * whole fault. Once every other eligible replica reports the leader unreachable, another one leads.
     */
    @Test
    void leaderEveryEligibleFollowerCannotReach_isReplacedOnceThePartitionCannotCommit() {
        onePartitionOfThreeReplicas("gray", 2);
        PartitionRegistration before = f.partition("gray", 0);
        int leader = before.leader();
        List<Integer> followers = followersOf("gray");
        // While the ISR can still commit, reports change nothing (the leader shrinks it first).
        f.commit(f.controller.heartbeat(f.image, unreachable(followers.get(0), leader), 1_000));
        f.commit(f.controller.heartbeat(f.image, unreachable(followers.get(1), leader), 1_000));
        assertEquals(before, f.partition("gray", 0), "a partition whose ISR can commit is left alone");
        shrinkToLeader("gray");
        PartitionRegistration shrunk = f.partition("gray", 0);
        assertEquals(List.of(leader), shrunk.isr());
        assertEquals(followers, shrunk.elr(), "the followers it dropped below min ISR are eligible");
        // One follower's report alone is not enough: the other may still reach the leader.
        f.commit(f.controller.heartbeat(f.image, unreachable(followers.get(1)), 2_000)); // it reaches the leader again
        f.commit(f.controller.heartbeat(f.image, unreachable(followers.get(0), leader), 3_000));
        assertEquals(shrunk, f.partition("gray", 0), "one of two eligible followers reporting moves nothing");
        // Both report it: the first eligible follower in replica order leads, the old leader joins the ELR.
        f.commit(f.controller.heartbeat(f.image, unreachable(followers.get(1), leader), 4_000));
        ControllerFixture.assertConsistent(f.image);
        PartitionRegistration after = f.partition("gray", 0);
        assertEquals(followers.get(0), after.leader());
        assertEquals(List.of(followers.get(0)), after.isr());
        assertTrue(after.elr().contains(leader) && after.elr().contains(followers.get(1)), "ELR " + after.elr());
        assertEquals(shrunk.leaderEpoch() + 1, after.leaderEpoch());
        assertFalse(f.broker(leader).fenced(), "the old leader stays in service");
        // Reports about the old leader no longer touch the partition.
        f.commit(f.controller.heartbeat(f.image, unreachable(followers.get(1), leader), 5_000));
        assertEquals(after, f.partition("gray", 0));
    }

    /**
     * Two brokers that cannot reach each other at all each report the other: without a pause the
     * leadership would go back and forth. A partition moved this way stays put for a minute.
     */
    @Test
    void aPartitionMovedForAnUnreachableLeader_isNotMovedBackThatWayForAMinute() {
        onePartitionOfThreeReplicas("pingpong", 2);
        int first = f.partition("pingpong", 0).leader();
        List<Integer> followers = followersOf("pingpong");
        shrinkToLeader("pingpong");
        f.commit(f.controller.heartbeat(f.image, unreachable(followers.get(0), first), 1_000));
        f.commit(f.controller.heartbeat(f.image, unreachable(followers.get(1), first), 1_000));
        PartitionRegistration moved = f.partition("pingpong", 0);
        int second = moved.leader();
        assertNotEquals(first, second);
        int third = followers.stream().filter(b -> b != second).findFirst().orElseThrow();
        // Now the others report the new leader: not within the minute...
        f.commit(f.controller.heartbeat(f.image, unreachable(first, second), 2_000));
        f.commit(f.controller.heartbeat(f.image, unreachable(third, second), 2_000));
        f.commit(f.controller.heartbeat(f.image, unreachable(first, second), 31_000));
        assertEquals(moved, f.partition("pingpong", 0), "moved back within a minute");
        // ... but after it, if the reports go on.
        f.commit(f.controller.heartbeat(f.image, unreachable(first, second), 62_000));
        PartitionRegistration later = f.partition("pingpong", 0);
        assertNotEquals(second, later.leader());
        ControllerFixture.assertConsistent(f.image);
    }

    /** Followers that are not eligible (out of the ISR and ELR: min ISR 1 let the leader commit alone) cannot take over. */
    @Test
    void unreachableLeader_isKeptWhereNoOtherReplicaHoldsEveryCommittedRecord() {
        onePartitionOfThreeReplicas("solo-commit", 1);
        int leader = f.partition("solo-commit", 0).leader();
        List<Integer> followers = followersOf("solo-commit");
        shrinkToLeader("solo-commit");
        PartitionRegistration shrunk = f.partition("solo-commit", 0);
        assertEquals(List.of(), shrunk.elr(), "min ISR 1: the leader alone commits, the followers are not eligible");
        for (int b : followers) {
            f.commit(f.controller.heartbeat(f.image, unreachable(b, leader), 1_000));
        }
        assertEquals(shrunk, f.partition("solo-commit", 0), "no eligible replica other than the leader: it keeps leading");
    }

    /** Creates {@code topic} with one partition of three replicas and {@code minIsr}; returns its partition 0. */
    private PartitionRef onePartitionOfThreeReplicas(String topic, int minIsr) {
        CreateTopicResponse created = f.commit(f.controller.createTopic(f.image, new CreateTopicRequest(topic, 1, 3,
                Map.of("min.insync.replicas", Integer.toString(minIsr)))));
        return new PartitionRef(created.topicId(), 0);
    }

    /** The replicas of {@code topic}'s partition 0 other than its leader, in replica order. */
    private List<Integer> followersOf(String topic) {
        int leader = f.partition(topic, 0).leader();
        return f.partition(topic, 0).replicas().stream().filter(b -> b != leader).toList();
    }

    /** A heartbeat of {@code broker} reporting {@code p0} offline for {@code reason}. */
    private HeartbeatRequest reporting(int broker, PartitionRef p0, String reason) {
        return new HeartbeatRequest(broker, incarnation(broker), true, false, List.of(p0), Map.of(p0, reason));
    }

    private static final String FULL = "disk full: 1048576 bytes free on /data (log.dir.free.bytes.min 67108864)";

    /**
     * Found probing: every replica's disk full. Each broker reported its replica offline and the
     * controller handed leadership to another replica that had reported it too, then back, with
     * every heartbeat: hundreds of leader epochs a minute. A leader only out of space that no
     * replica in service could replace now keeps leading (it serves reads and refuses appends with
     * "disk full"), and hands over at its next heartbeat once another eligible replica is back.
     */
    @Test
    void whenEveryReplicaIsOutOfSpace_theLastLeaderKeepsLeading_untilAnotherIsBackInService() {
        // min ISR 2, as in the probe: the replicas leaving the ISR stay eligible (ELR), holding every committed record
        CreateTopicResponse created = f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t", 1, 3,
                Map.of("min.insync.replicas", "2"))));
        PartitionRef p0 = new PartitionRef(created.topicId(), 0);
        List<Integer> replicas = f.partition("t", 0).replicas();
        long now = 10;
        for (int round = 0; round < 2; round++) { // every broker reports, in turn; the leader moves at most twice
            for (int broker : replicas) {
                f.commit(f.controller.heartbeat(f.image, reporting(broker, p0, FULL), now++));
                ControllerFixture.assertConsistent(f.image);
            }
        }
        dev.basalt.metadata.image.PartitionRegistration settled = f.partition("t", 0);
        assertTrue(settled.hasLeader(), "kept, not left leaderless: " + settled);
        for (int round = 0; round < 5; round++) {
            for (int broker : replicas) {
                var r = f.controller.heartbeat(f.image, reporting(broker, p0, FULL), now++);
                assertFalse(r.records().stream().anyMatch(x -> x.hasPartitionChange()), "heartbeat of " + broker + " in round " + round
                        + " changed the partition: " + r.records());
                f.commit(r);
            }
        }
        assertEquals(settled, f.partition("t", 0), "no leader changes while every replica is out of space");

        // The space of an eligible replica (ELR: it holds every committed record) returns: its report no
        // longer names the replica. The kept leader's next heartbeat hands over.
        assertFalse(settled.elr().isEmpty(), settled.toString());
        int back = settled.elr().get(0);
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(back, incarnation(back), true, false, List.of()), now++));
        f.commit(f.controller.heartbeat(f.image, reporting(settled.leader(), p0, FULL), now++));
        ControllerFixture.assertConsistent(f.image);
        assertEquals(back, f.partition("t", 0).leader(), "the replica back in service leads: " + f.partition("t", 0));
    }

    /**
     * A replica its broker reports offline to be rebuilt (corrupt, its files deleted or cut) leaves
     * the ISR and is no eligible leader replica either: the rebuild discards its log, and it would
     * otherwise be electable with the little it had refetched (found adding the rebuild of a
     * directory deleted while the node ran). One only out of space, or offline for another fault
     * that a restart recovers from (a damaged index), holds every committed record and stays eligible.
     */
    @Test
    void aReplicaToBeRebuiltLeavesTheElr_oneOutOfSpaceOrOtherwiseOfflineStaysEligible() {
        PartitionRef p0 = onePartitionOfThreeReplicas("t", 3);
        int leader = f.partition("t", 0).leader();
        List<Integer> others = followersOf("t");
        int full = others.get(0);
        int corrupt = others.get(1);
        long now = 10;
        f.commit(f.controller.heartbeat(f.image, reporting(full, p0, FULL), now++));
        ControllerFixture.assertConsistent(f.image);
        assertEquals(List.of(full), f.partition("t", 0).elr(), "below min ISR, the replica out of space is eligible: "
                + f.partition("t", 0));

        String rebuild = dev.basalt.common.OfflineReasons.TO_BE_REBUILT + ": corrupt log data at offset 40: CRC mismatch";
        f.commit(f.controller.heartbeat(f.image, reporting(corrupt, p0, rebuild), now++));
        ControllerFixture.assertConsistent(f.image);
        dev.basalt.metadata.image.PartitionRegistration after = f.partition("t", 0);
        assertEquals(leader, after.leader());
        assertEquals(List.of(leader), after.isr());
        assertEquals(List.of(full), after.elr(), "the replica to be rebuilt is not eligible: " + after);

        // An eligible replica offline for a fault a restart recovers from keeps its place ...
        f.commit(f.controller.heartbeat(f.image, reporting(full, p0, "storage fault: the index is damaged; a restart rebuilds it"),
                now++));
        assertEquals(List.of(full), f.partition("t", 0).elr(), f.partition("t", 0).toString());
        // ... and leaves it once its broker sets it aside for a rebuild.
        f.commit(f.controller.heartbeat(f.image, reporting(full, p0, dev.basalt.common.OfflineReasons.TO_BE_REBUILT
                + ": the partition directory was deleted while the node ran"), now++));
        ControllerFixture.assertConsistent(f.image);
        assertEquals(List.of(), f.partition("t", 0).elr(), f.partition("t", 0).toString());
        assertEquals(leader, f.partition("t", 0).leader());
    }

    /**
     * From review: a leader that cannot serve at all (corrupt, its directory gone) is not kept for
     * lack of a replica in service: a replica only out of space still serves reads, so it leads;
     * with none, the partition is left leaderless as before.
     */
    @Test
    void aLeaderThatCannotServe_handsOverToAReplicaOnlyOutOfSpace_elseTheNoneIsLeaderless() {
        PartitionRef p0 = onePartitionOfThreeReplicas("t", 2);
        int leader = f.partition("t", 0).leader();
        List<Integer> others = followersOf("t");
        long now = 10;
        for (int broker : others) {
            f.commit(f.controller.heartbeat(f.image, reporting(broker, p0, FULL), now++));
        }
        assertEquals(leader, f.partition("t", 0).leader());
        assertEquals(List.of(leader), f.partition("t", 0).isr(), f.partition("t", 0).toString());
        f.commit(f.controller.heartbeat(f.image, reporting(leader, p0, "corrupt log data at offset 40: CRC mismatch"), now++));
        ControllerFixture.assertConsistent(f.image);
        int next = f.partition("t", 0).leader();
        assertTrue(others.contains(next), "a replica only out of space serves reads; the corrupt leader cannot: " + f.partition("t", 0));
        // the new leader is out of space too and stays (it is readable; no replica in service could do more)
        for (int round = 0; round < 3; round++) {
            for (int broker : others) {
                f.commit(f.controller.heartbeat(f.image, reporting(broker, p0, FULL), now++));
            }
            f.commit(f.controller.heartbeat(f.image, reporting(leader, p0, "corrupt log data at offset 40: CRC mismatch"), now++));
        }
        assertEquals(next, f.partition("t", 0).leader(), f.partition("t", 0).toString());

        // with every replica unable to serve, nobody leads
        CreateTopicResponse u = f.commit(f.controller.createTopic(f.image, topic("u", 1, 3)));
        PartitionRef u0 = new PartitionRef(u.topicId(), 0);
        for (int broker : f.partition("u", 0).replicas()) {
            f.commit(f.controller.heartbeat(f.image, reporting(broker, u0, "the partition directory was deleted while the node ran"),
                    now++));
        }
        ControllerFixture.assertConsistent(f.image);
        assertFalse(f.partition("u", 0).hasLeader(), f.partition("u", 0).toString());
    }

    /** The reported set is recorded when it changes (only then), survives a snapshot, and a new incarnation starts clean. */
    @Test
    void offlineReplicasAreRecordedWhenTheSetChanges_withTheirReasons() {
        CreateTopicResponse created = f.commit(f.controller.createTopic(f.image, topic("t", 4, 3)));
        java.util.UUID id = created.topicId();
        int broker = f.partition("t", 1).replicas().get(1);
        PartitionRef p1 = new PartitionRef(id, 1);
        PartitionRef p3 = new PartitionRef(id, 3);
        java.util.Map<PartitionRef, String> why = java.util.Map.of(p3, "corrupt log data at byte 4096", p1, "x".repeat(500));
        var first = f.controller.heartbeat(f.image, new HeartbeatRequest(broker, incarnation(broker), true, false,
                List.of(p3, p1, p1, new PartitionRef(java.util.UUID.randomUUID(), 0)), why), 10);
        assertTrue(first.records().stream().anyMatch(r -> r.hasBrokerOfflineReplicas()), first.records().toString());
        f.commit(first);
        List<dev.basalt.metadata.image.ReplicaFault> faults = f.broker(broker).offlineReplicas();
        assertEquals(List.of(1, 3), faults.stream().map(dev.basalt.metadata.image.ReplicaFault::partition).toList(),
                "ordered, distinct, unknown topics left out");
        assertEquals("corrupt log data at byte 4096", faults.get(1).reason());
        assertEquals(dev.basalt.metadata.image.ReplicaFault.REASON_CHARS_MAX, faults.get(0).reason().length(), "reasons are capped");
        assertTrue(f.broker(broker).isOffline(id, 3) && !f.broker(broker).isOffline(id, 0));
        // The same report again changes nothing: no record, no commit.
        var again = f.controller.heartbeat(f.image, new HeartbeatRequest(broker, incarnation(broker), true, false, List.of(p1, p3), why), 20);
        assertFalse(again.records().stream().anyMatch(r -> r.hasBrokerOfflineReplicas()), again.records().toString());
        // A snapshot carries them.
        dev.basalt.metadata.delta.MetadataDelta rebuilt = new dev.basalt.metadata.delta.MetadataDelta(dev.basalt.metadata.image.MetadataImage.EMPTY);
        rebuilt.replayAll(f.image.toRecords());
        assertEquals(f.image.cluster(), rebuilt.apply().cluster());
        // Back in service: an empty report clears them.
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(broker, incarnation(broker), true, false, List.of()), 30));
        assertTrue(f.broker(broker).offlineReplicas().isEmpty());
        // A new incarnation of the broker starts without any.
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(broker, incarnation(broker), true, false, List.of(p3), why), 40));
        f.commit(f.controller.registerBroker(f.image, new BrokerRegistrationRequest(broker, new java.util.UUID(broker, 78),
                List.of(new dev.basalt.metadata.image.Endpoint("CLIENT", "127.0.0.1", 9400 + broker)), java.util.Optional.empty()), 60_000));
        assertTrue(f.broker(broker).offlineReplicas().isEmpty());
    }
}
