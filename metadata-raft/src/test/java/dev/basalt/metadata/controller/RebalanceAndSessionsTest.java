package dev.basalt.metadata.controller;

import static dev.basalt.metadata.controller.ControllerFixture.incarnation;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.PartitionRegistration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.function.IntPredicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Goal: preferred-leader rebalancing moves leaders only when that cannot stall producers (the
 * latency spikes of Kafka's auto rebalance), in bounded, deterministic steps; placement counts the
 * load already in the image; broker registration and sessions reject stale incarnations with typed
 * reasons and give brokers a grace period after a controller failover (Kafka's KRaft
 * BrokerHeartbeatManager behaviour). Method: a seeded {@link ControllerFixture}, results committed by
 * replay. Reproduce: deterministic; {@code -Dtest=RebalanceAndSessionsTest}.
 */
class RebalanceAndSessionsTest {
    ControllerFixture f;

    void cluster(int brokers, int minIsr, int preferredElectionPartitionsMax) {
        f = new ControllerFixture(11, ConfigValidator.ACCEPT_ALL, new ControllerConfig(1_000, 1_000, 100, 100, minIsr,
                false, preferredElectionPartitionsMax));
        for (int b = 1; b <= brokers; b++) {
            f.addLiveBroker(b, null, 0);
        }
    }

    static ControllerException.Reason refused(Supplier<ControllerResult<?>> call) {
        return assertThrows(ControllerException.class, call::get).reason();
    }

    /** The preferred-election rules one at a time, on hand-built registrations (broker 3 is fenced). */
    @Test
    void preferredMovable_requiresLivePreferredInALargeEnoughIsr_andNoRecovery() {
        IntPredicate live = id -> id != 3;
        TopicPolicy min2 = new TopicPolicy(2, false);
        assertTrue(PartitionElections.preferredMovable(reg(List.of(1, 2, 4), List.of(1, 2), 2, false), live, min2));
        assertFalse(PartitionElections.preferredMovable(reg(List.of(1, 2, 4), List.of(1, 2), 1, false), live, min2),
                "already the leader");
        assertFalse(PartitionElections.preferredMovable(reg(List.of(3, 2, 4), List.of(3, 2), 2, false), live, min2),
                "preferred replica fenced");
        assertFalse(PartitionElections.preferredMovable(reg(List.of(1, 2, 4), List.of(2, 4), 2, false), live, min2),
                "preferred replica out of the ISR (still catching up)");
        assertFalse(PartitionElections.preferredMovable(reg(List.of(1, 2), List.of(1), -1, false), live,
                new TopicPolicy(1, false)), "the only ISR member");
        assertFalse(PartitionElections.preferredMovable(reg(List.of(1, 2, 4), List.of(1, 2), 2, false), live,
                new TopicPolicy(3, false)), "ISR below min ISR: acks=all writes are blocked already");
        assertFalse(PartitionElections.preferredMovable(reg(List.of(1, 2, 4), List.of(1, 2), 2, true), live, min2),
                "recovering from an unclean election");
    }

    private static PartitionRegistration reg(List<Integer> replicas, List<Integer> isr, int leader, boolean recovering) {
        return new PartitionRegistration(replicas, isr, leader, 3, 7, List.of(), recovering);
    }

    @Test
    void electPreferredLeaders_movesAtMostTheLimitPerCall_inPartitionOrder_untilBalanced() {
        cluster(3, 1, 2);
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t", 9, 2, Map.of())));
        f.commit(f.controller.controlledShutdown(f.image, 1, incarnation(1), 0));
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(1, incarnation(1), true, false), 0));
        List<Integer> preferredBy1 = new ArrayList<>();
        for (int p = 0; p < 9; p++) {
            PartitionRegistration reg = f.partition("t", p);
            if (reg.isr().size() < reg.replicas().size()) {
                // The leader lets broker 1 back into the ISR once it caught up.
                f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(reg.leader(),
                        incarnation(reg.leader()), f.topic("t").id(), p, reg.leaderEpoch(), reg.partitionEpoch(),
                        reg.replicas())));
            }
            if (reg.preferredLeader() == 1) {
                preferredBy1.add(p);
            }
        }
        assertEquals(3, preferredBy1.size(), "placement gives each of 3 brokers 3 of 9 leaders");
        LeaderImbalance before = f.controller.leaderImbalance(f.image);
        assertEquals(new LeaderImbalance(9, 3, 3, 0, new java.util.TreeMap<>(Map.of(1, 3))), before);
        UUID id = f.topic("t").id();
        assertEquals(List.of(new PartitionRef(id, preferredBy1.get(0)), new PartitionRef(id, preferredBy1.get(1))),
                f.commit(f.controller.electPreferredLeaders(f.image)), "the limit is 2 per call, lowest partitions first");
        assertEquals(List.of(new PartitionRef(id, preferredBy1.get(2))), f.commit(f.controller.electPreferredLeaders(f.image)));
        assertEquals(List.of(), f.commit(f.controller.electPreferredLeaders(f.image)));
        LeaderImbalance after = f.controller.leaderImbalance(f.image);
        assertEquals(0, after.notPreferred());
        assertEquals(0.0, after.notPreferredRatio());
    }

    @Test
    void electPreferredLeaders_forNamedPartitions_checksTheRequest() {
        cluster(3, 1, 2);
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t", 3, 2, Map.of())));
        UUID id = f.topic("t").id();
        assertEquals(ControllerException.Reason.INVALID_REQUEST, refused(() -> f.controller.electPreferredLeaders(f.image,
                List.of(new PartitionRef(id, 0), new PartitionRef(id, 1), new PartitionRef(id, 2)))));
        assertEquals(ControllerException.Reason.INVALID_REQUEST, refused(() -> f.controller.electPreferredLeaders(f.image,
                List.of(new PartitionRef(id, 0), new PartitionRef(id, 0)))));
        assertEquals(ControllerException.Reason.UNKNOWN_PARTITION, refused(() -> f.controller.electPreferredLeaders(f.image,
                List.of(new PartitionRef(id, 7)))));
        assertEquals(List.of(), f.commit(f.controller.electPreferredLeaders(f.image, List.of(new PartitionRef(id, 1)))),
                "already led by its preferred replica");
    }

    @Test
    void placement_countsPartitionsAlreadyInTheImage() {
        cluster(3, 1, 10);
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("a", 3, 1, Map.of())));
        f.addLiveBroker(4, null, 0);
        List<List<Integer>> next = f.commit(f.controller.createTopic(f.image,
                new CreateTopicRequest("b", 1, 1, Map.of()))).replicas();
        assertEquals(List.of(List.of(4)), next, "the new, empty broker takes the next partition");
        List<List<Integer>> grown = f.commit(f.controller.createPartitions(f.image, "b", 5));
        assertEquals(4, grown.size());
        assertEquals(4, grown.stream().map(r -> r.get(0)).distinct().count(), "then one each, 2 per broker in all");
    }

    @Test
    void registration_ofAnotherIncarnation_isRefusedWhileTheOldSessionLives_evenIfFenced() {
        cluster(2, 1, 10);
        BrokerRegistrationRequest restart = new BrokerRegistrationRequest(1, new UUID(1, 99),
                List.of(new Endpoint("CLIENT", "127.0.0.1", 9401)), Optional.empty());
        assertEquals(ControllerException.Reason.DUPLICATE_BROKER_REGISTRATION,
                refused(() -> f.controller.registerBroker(f.image, restart, 500)));
        // A fresh registration that is still fenced (not caught up) keeps its id just as well.
        BrokerRegistrationRequest third = new BrokerRegistrationRequest(3, new UUID(3, 1),
                List.of(new Endpoint("CLIENT", "127.0.0.1", 9403)), Optional.empty());
        f.commit(f.controller.registerBroker(f.image, third, 600));
        BrokerRegistrationRequest thirdAgain = new BrokerRegistrationRequest(3, new UUID(3, 2), third.endpoints(),
                Optional.empty());
        assertEquals(ControllerException.Reason.DUPLICATE_BROKER_REGISTRATION,
                refused(() -> f.controller.registerBroker(f.image, thirdAgain, 1_000)));
        f.commit(f.controller.registerBroker(f.image, thirdAgain, 1_600));
        assertEquals(new UUID(3, 2), f.broker(3).incarnationId());
    }

    @Test
    void staleIncarnation_isRefusedWithItsOwnReason_everywhere() {
        cluster(2, 1, 10);
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t", 1, 2, Map.of())));
        UUID old = new UUID(1, 5);
        PartitionRegistration p = f.partition("t", 0);
        assertEquals(ControllerException.Reason.STALE_BROKER_INCARNATION,
                refused(() -> f.controller.heartbeat(f.image, new HeartbeatRequest(1, old, true, false), 1)));
        assertEquals(ControllerException.Reason.STALE_BROKER_INCARNATION,
                refused(() -> f.controller.controlledShutdown(f.image, 1, old, 1)));
        assertEquals(ControllerException.Reason.STALE_BROKER_INCARNATION,
                refused(() -> f.controller.allocateProducerIds(f.image, 1, old)));
        assertEquals(ControllerException.Reason.STALE_BROKER_INCARNATION,
                refused(() -> f.controller.alterPartition(f.image, new AlterPartitionRequest(p.leader(), old,
                        f.topic("t").id(), 0, p.leaderEpoch(), p.partitionEpoch(), List.of(p.leader())))));
    }

    @Test
    void newController_givesEveryBrokerAFullSession_fromItsFirstLook() {
        cluster(2, 1, 10);
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t", 2, 2, Map.of())));
        // Failover: a new controller over the same committed image, long after the last heartbeats.
        MetadataController next = new MetadataController(new ControllerConfig(1_000, 1_000, 100, 100),
                ConfigValidator.ACCEPT_ALL, new SplittableRandom(3));
        assertEquals(List.of(), next.fenceExpiredBrokers(f.image, 50_000).response(), "no fencing storm after failover");
        assertTrue(next.fenceExpiredBrokers(f.image, 50_000).records().isEmpty());
        assertEquals(51_000, next.nextSessionExpiryMs().orElseThrow());
        next.heartbeat(f.image, new HeartbeatRequest(2, incarnation(2), true, false), 50_500);
        ControllerResult<List<Integer>> expired = next.fenceExpiredBrokers(f.image, 51_000);
        assertEquals(List.of(1), expired.response(), "broker 1 stayed silent for a whole session of the new controller");
        f.commit(expired);
        for (PartitionRegistration p : f.topic("t").partitions().values()) {
            assertEquals(2, p.leader(), "fenced and moved in the same batch");
            assertEquals(List.of(2), p.isr());
        }
    }

    @Test
    void fencedBrokerThatGoesQuiet_isForgotten_soTheNextExpiryLiesAhead() {
        cluster(1, 1, 10);
        BrokerRegistrationRequest two = new BrokerRegistrationRequest(2, incarnation(2),
                List.of(new Endpoint("CLIENT", "127.0.0.1", 9402)), Optional.empty());
        f.commit(f.controller.registerBroker(f.image, two, 100));
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(1, incarnation(1), true, false), 1_050));
        assertEquals(List.of(), f.commit(f.controller.fenceExpiredBrokers(f.image, 1_200)));
        // Broker 2's session ended at 1,100; kept, it would make the driver wake up in the past forever.
        assertEquals(2_050, f.controller.nextSessionExpiryMs().orElseThrow(), "broker 2's dead session is gone");
    }

    @Test
    void brokersExpiringTogether_areAllSkippedByTheBatchsElections() {
        cluster(3, 1, 10);
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t", 3, 3, Map.of())));
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(3, incarnation(3), true, false), 900));
        ControllerResult<List<Integer>> result = f.controller.fenceExpiredBrokers(f.image, 1_000);
        assertEquals(List.of(1, 2), result.response());
        f.commit(result);
        for (PartitionRegistration p : f.topic("t").partitions().values()) {
            assertEquals(3, p.leader());
            assertTrue(p.leaderEpoch() <= 1, "at most one election per partition in the batch: " + p);
        }
    }
}
