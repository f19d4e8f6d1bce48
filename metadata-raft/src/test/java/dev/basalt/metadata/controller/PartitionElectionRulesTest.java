package dev.basalt.metadata.controller;

import static dev.basalt.metadata.controller.ControllerFixture.incarnation;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.proto.v1.MetadataRecord;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Goal: each rule of eligible leader replicas and leader election (KIP-966, KIP-704's recovering
 * leader, Kafka's unclean.leader.election.enable) holds through the pure controller. Method: a
 * four-broker cluster without racks in a seeded {@link ControllerFixture}; each test drives ISR
 * changes, fencing, controlled shutdown, unfencing and config changes, commits every result by
 * replay, and checks the partition registration. Reproduce: the tests are deterministic; run
 * {@code ./mvnw -B -ntp -pl metadata-raft -am test -Dtest=PartitionElectionRulesTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class PartitionElectionRulesTest {
    ControllerFixture f;

    /** Four live brokers; cluster default min.insync.replicas = {@code minIsr}, unclean off. */
    void cluster(int minIsr) {
        f = new ControllerFixture(7, ConfigValidator.ACCEPT_ALL, new ControllerConfig(1_000, 1_000, 100, 100, minIsr,
                false, 100));
        for (int b = 1; b <= 4; b++) {
            f.addLiveBroker(b, null, 0);
        }
    }

    PartitionRegistration create(String name, int rf, Map<String, String> configs) {
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest(name, 1, rf, configs)));
        return f.partition(name, 0);
    }

    /** The leader's AlterPartition to {@code isr}, from the current epochs. */
    PartitionRegistration alterIsr(String name, List<Integer> isr) {
        PartitionRegistration p = f.partition(name, 0);
        return f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(p.leader(),
                incarnation(p.leader()), f.topic(name).id(), 0, p.leaderEpoch(), p.partitionEpoch(), isr)));
    }

    void shutdown(int broker) {
        BrokerStatus s = f.commit(f.controller.controlledShutdown(f.image, broker, incarnation(broker), 10));
        assertTrue(s.shutdownReady(), "broker " + broker + " still leads after its controlled shutdown");
    }

    void unfence(int broker) {
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(broker, incarnation(broker), true, false), 20));
    }

    @Test
    void isrShrinkBelowMinIsr_putsOnlyTheMembersRemovedThenIntoElr() {
        cluster(2);
        PartitionRegistration p = create("t", 3, Map.of());
        int l = p.leader();
        int f1 = p.replicas().get(1);
        int f2 = p.replicas().get(2);
        // ISR 3 -> 2 keeps ISR >= min ISR: the HW may still advance without f2, so f2 is not eligible.
        assertEquals(List.of(), alterIsr("t", List.of(l, f1)).elr());
        // ISR 2 -> 1 goes below min ISR: f1 had everything committed and the HW is frozen from now on.
        PartitionRegistration shrunk = alterIsr("t", List.of(l));
        assertEquals(List.of(f1), shrunk.elr());
        assertEquals(l, shrunk.leader());
        assertEquals(p.leaderEpoch(), shrunk.leaderEpoch(), "an ISR change is no election");
    }

    @Test
    void rejoiningIsr_leavesElr_andReachingMinIsr_clearsElr() {
        cluster(3);
        PartitionRegistration p = create("t", 3, Map.of());
        int l = p.leader();
        int f1 = p.replicas().get(1);
        int f2 = p.replicas().get(2);
        assertEquals(List.of(f1, f2), alterIsr("t", List.of(l)).elr(), "ELR in replica order");
        PartitionRegistration one = alterIsr("t", List.of(l, f1));
        assertEquals(List.of(f2), one.elr(), "f1 rejoined the ISR and left the ELR (KIP-966)");
        assertEquals(List.of(), alterIsr("t", List.of(l, f1, f2)).elr());
    }

    @Test
    void isrBackAtMinIsr_clearsElrEvenOfMembersThatDidNotRejoin() {
        cluster(2);
        PartitionRegistration p = create("t", 3, Map.of());
        int l = p.leader();
        int f1 = p.replicas().get(1);
        int f2 = p.replicas().get(2);
        alterIsr("t", List.of(l, f1));
        assertEquals(List.of(f1), alterIsr("t", List.of(l)).elr());
        // With ISR {l, f2} the HW advances again without f1, so f1 stops being a safe leader.
        assertEquals(List.of(), alterIsr("t", List.of(l, f2)).elr());
    }

    @Test
    void fencedElrMember_staysEligible_andLeadsWhenNoIsrMemberIsLive() {
        cluster(2);
        PartitionRegistration p = create("t", 2, Map.of());
        int l = p.leader();
        int f1 = p.replicas().get(1);
        shutdown(f1);
        PartitionRegistration afterF1 = f.partition("t", 0);
        assertEquals(List.of(l), afterF1.isr());
        assertEquals(List.of(f1), afterF1.elr(), "fencing that leaves ISR < min ISR makes the removed member ELR");
        unfence(f1);
        assertEquals(List.of(f1), f.partition("t", 0).elr(), "a returning ELR member stays eligible");
        shutdown(l);
        PartitionRegistration elected = f.partition("t", 0);
        assertEquals(f1, elected.leader(), "second in the election order: a live ELR member");
        assertEquals(List.of(f1), elected.isr());
        assertEquals(List.of(l), elected.elr(), "the old last ISR member had every committed record too");
        assertEquals(afterF1.leaderEpoch() + 1, elected.leaderEpoch());
        assertFalse(elected.leaderRecovering(), "an ELR election is clean");
        ControllerFixture.assertConsistent(f.image);
    }

    @Test
    void noLiveIsrOrElrMember_andUncleanDisallowed_partitionStaysOffline_untilAnEligibleReplicaReturns() {
        cluster(2);
        PartitionRegistration p = create("t", 3, Map.of());
        int l = p.leader();
        int f1 = p.replicas().get(1);
        int f2 = p.replicas().get(2);
        alterIsr("t", List.of(l, f1));
        alterIsr("t", List.of(l));
        shutdown(f1);
        shutdown(l);
        PartitionRegistration offline = f.partition("t", 0);
        assertEquals(PartitionRegistration.NO_LEADER, offline.leader(), "f2 is live but may miss committed records");
        assertEquals(List.of(l), offline.isr());
        assertEquals(List.of(f1), offline.elr());
        assertTrue(f.image.cluster().isUnfenced(f2));
        unfence(f1);
        PartitionRegistration back = f.partition("t", 0);
        assertEquals(f1, back.leader());
        assertEquals(List.of(l), back.elr());
    }

    @Test
    void uncleanElection_onlyWhenAllowed_clearsElr_andMarksTheLeaderRecovering_untilIsrExpands() {
        cluster(2);
        PartitionRegistration p = create("t", 3, Map.of(TopicPolicy.UNCLEAN_LEADER_ELECTION_ENABLE, "true"));
        int l = p.leader();
        int f1 = p.replicas().get(1);
        int f2 = p.replicas().get(2);
        alterIsr("t", List.of(l, f1));
        alterIsr("t", List.of(l));
        shutdown(f1);
        shutdown(l);
        PartitionRegistration unclean = f.partition("t", 0);
        assertEquals(f2, unclean.leader(), "third in the election order, because the topic allows it");
        assertEquals(List.of(f2), unclean.isr());
        assertEquals(List.of(), unclean.elr(), "the unclean leader's history wins; old ELR members are no longer safe");
        assertTrue(unclean.leaderRecovering());
        unfence(l);
        assertEquals(List.of(), f.commit(f.controller.electPreferredLeaders(f.image)),
                "no preferred election while recovering");
        assertTrue(alterIsr("t", List.of(f2)).leaderRecovering(), "no expansion, still recovering");
        assertFalse(alterIsr("t", List.of(f2, l)).leaderRecovering(), "the leader's ISR expansion ends recovery");
    }

    @Test
    void loweringMinIsr_clearsElrTheIsrNowSatisfies_andEnablingUnclean_electsALeader() {
        cluster(2);
        PartitionRegistration p = create("t", 2, Map.of());
        int l = p.leader();
        int f1 = p.replicas().get(1);
        alterIsr("t", List.of(l));
        assertEquals(List.of(f1), f.partition("t", 0).elr());
        f.commit(f.controller.alterConfigs(f.image, ConfigResource.topic("t"),
                Map.of(TopicPolicy.MIN_INSYNC_REPLICAS, Optional.of("1"))));
        assertEquals(List.of(), f.partition("t", 0).elr(), "with min ISR 1 the HW advances on the leader alone");
        shutdown(l);
        assertEquals(PartitionRegistration.NO_LEADER, f.partition("t", 0).leader());
        f.commit(f.controller.alterConfigs(f.image, ConfigResource.topic("t"),
                Map.of(TopicPolicy.UNCLEAN_LEADER_ELECTION_ENABLE, Optional.of("true"))));
        PartitionRegistration after = f.partition("t", 0);
        assertEquals(f1, after.leader());
        assertTrue(after.leaderRecovering());
    }

    @Test
    void controlledShutdown_movesLeadershipBeforeTheFenceRecord() {
        cluster(2);
        PartitionRegistration p = create("t", 2, Map.of());
        int l = p.leader();
        ControllerResult<BrokerStatus> result = f.controller.controlledShutdown(f.image, l, incarnation(l), 5);
        List<MetadataRecord> records = result.records();
        assertTrue(records.get(0).hasPartitionChange(), records.toString());
        assertTrue(records.get(records.size() - 1).hasBrokerFenced(), records.toString());
        assertEquals(new BrokerStatus(l, true, true), f.commit(result));
        PartitionRegistration moved = f.partition("t", 0);
        assertEquals(p.replicas().get(1), moved.leader());
        assertEquals(List.of(l), moved.elr(), "ISR 1 < min ISR 2: the shut-down leader stays eligible");
    }

    @Test
    void heartbeat_withoutShutdown_isNeverShutdownReady() {
        cluster(1);
        create("t", 2, Map.of());
        BrokerStatus s = f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(1, incarnation(1), true, false), 5));
        assertEquals(new BrokerStatus(1, false, false), s);
    }

    @Test
    void restartAfterUncleanShutdown_leavesElr_cleanRestartStays() {
        cluster(2);
        PartitionRegistration p = create("t", 3, Map.of());
        int l = p.leader();
        int f1 = p.replicas().get(1);
        int f2 = p.replicas().get(2);
        alterIsr("t", List.of(l));
        assertEquals(List.of(f1, f2), f.partition("t", 0).elr());
        shutdown(f1);
        shutdown(f2);
        // f1 restarts cleanly (durable acks): still eligible. f2 crashed with unflushed acknowledged
        // records: KIP-966 drops it from the ELR.
        f.commit(f.controller.registerBroker(f.image, new BrokerRegistrationRequest(f1, new java.util.UUID(f1, 2),
                List.of(new dev.basalt.metadata.image.Endpoint("CLIENT", "127.0.0.1", 9400 + f1)), Optional.empty()), 30));
        f.commit(f.controller.registerBroker(f.image, new BrokerRegistrationRequest(f2, new java.util.UUID(f2, 2),
                List.of(new dev.basalt.metadata.image.Endpoint("CLIENT", "127.0.0.1", 9400 + f2)), Optional.empty(),
                true), 30));
        assertEquals(List.of(f1), f.partition("t", 0).elr());
    }

    @Test
    void restartLosingOnlyNonDurableTopics_leavesTheirElrs_staysInTheDurableOnes() {
        cluster(2);
        // RF 4 on four brokers: each topic's three followers join its ELR when the ISR shrinks to the leader.
        create("durable", 4, Map.of());
        create("lazy", 4, Map.of());
        for (String t : List.of("durable", "lazy")) {
            alterIsr(t, List.of(f.partition(t, 0).leader()));
        }
        int victim = f.partition("durable", 0).elr().stream().filter(f.partition("lazy", 0).elr()::contains).findFirst()
                .orElseThrow(() -> new AssertionError("no broker in both ELRs: " + f.partition("durable", 0) + " " + f.partition("lazy", 0)));
        shutdown(victim);
        // A crash with "lazy" on durable.acks=false: only that topic's acknowledged records may be gone.
        f.commit(f.controller.registerBroker(f.image, new BrokerRegistrationRequest(victim, new java.util.UUID(victim, 2),
                List.of(new dev.basalt.metadata.image.Endpoint("CLIENT", "127.0.0.1", 9400 + victim)), Optional.empty(),
                false, java.util.Set.of(f.topic("lazy").id())), 30));
        assertTrue(f.partition("durable", 0).elr().contains(victim), "durable topic: still eligible " + f.partition("durable", 0));
        assertFalse(f.partition("lazy", 0).elr().contains(victim), "non-durable topic: no longer eligible " + f.partition("lazy", 0));
    }
}
