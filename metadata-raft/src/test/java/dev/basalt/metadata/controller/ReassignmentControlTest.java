package dev.basalt.metadata.controller;

import static dev.basalt.metadata.controller.ControllerFixture.incarnation;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Goal: the reassignment state machine follows KIP-455 step by step — adding replicas recorded, the
 * original replicas kept until the new ones are in sync, leadership moved off a leaving leader only to
 * a live in-sync target replica, cancellation reverting, a new controller continuing — and refuses bad
 * requests with typed reasons; decommission drains a broker and placement avoids it. Method: a seeded
 * {@link ControllerFixture}, every result committed by replay. Reproduce: deterministic;
 * {@code -Dtest=ReassignmentControlTest}.
 */
class ReassignmentControlTest {
    ControllerFixture f;

    void cluster(int brokers, int minIsr) {
        f = new ControllerFixture(5, ConfigValidator.ACCEPT_ALL, new ControllerConfig(1_000, 1_000, 100, 100, minIsr,
                false, 100));
        for (int b = 1; b <= brokers; b++) {
            f.addLiveBroker(b, null, 0);
        }
    }

    PartitionRef ref(String topic, int p) {
        return new PartitionRef(f.topic(topic).id(), p);
    }

    /** Creates topic t with one partition on exactly {@code replicas} (placement, then a reorder if needed). */
    void topicOn(List<Integer> replicas) {
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t", 1, replicas.size(), Map.of())));
        PartitionRegistration p = f.partition("t", 0);
        if (!p.replicas().equals(replicas)) {
            // Direct replay of a hand-made state is not the point here: use the API itself (a reorder
            // or move), then let the new replicas join.
            reassign(replicas);
            catchUpAll();
        }
        assertEquals(replicas, f.partition("t", 0).replicas());
        assertFalse(f.partition("t", 0).isReassigning());
    }

    List<ReassignmentOutcome> reassign(List<Integer> target) {
        return f.commit(f.controller.alterReassignments(f.image, List.of(ReassignmentRequest.reassign(ref("t", 0),
                target))));
    }

    /** The leader adds every live replica to the ISR, then the event loop's completion check runs. */
    List<PartitionRef> catchUpAll() {
        PartitionRegistration p = f.partition("t", 0);
        List<Integer> isr = p.replicas().stream().filter(f.image.cluster()::isUnfenced).toList();
        if (!isr.equals(p.isr())) {
            f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(p.leader(), incarnation(p.leader()),
                    f.topic("t").id(), 0, p.leaderEpoch(), p.partitionEpoch(), isr)));
        }
        return f.commit(f.controller.completeReassignments(f.image));
    }

    /**
     * Review finding: during a move from 2 replicas to 3, min.insync.replicas=3 would be checked
     * against the target alone, and a cancel then left 2 replicas under min ISR 3. It is checked
     * against the smaller of the original and the target; once the move completes, 3 is accepted.
     */
    @Test
    void minInsyncReplicas_duringAReassignment_mustFitTheOriginalAndTheTarget() {
        cluster(3, 1);
        topicOn(List.of(1, 2));
        reassign(List.of(1, 2, 3));
        assertTrue(f.partition("t", 0).isReassigning());
        ConfigResource t = ConfigResource.topic("t");
        ControllerException e = assertThrows(ControllerException.class, () -> f.controller.alterConfigs(f.image, t,
                Map.of("min.insync.replicas", Optional.of("3"))));
        assertEquals(ControllerException.Reason.INVALID_CONFIG, e.reason());
        assertTrue(e.getMessage().contains("above its replication factor 2"), e.getMessage());
        catchUpAll();
        assertFalse(f.partition("t", 0).isReassigning());
        assertEquals(1, f.commit(f.controller.alterConfigs(f.image, t, Map.of("min.insync.replicas", Optional.of("3")))));
    }

    @Test
    void reassignment_addsReplicas_keepsOriginalsUntilInSync_thenMovesLeaderAndRemovesOriginals() {
        cluster(5, 2);
        topicOn(List.of(1, 2, 3));
        assertEquals(1, f.partition("t", 0).leader());
        List<ReassignmentOutcome> outcomes = reassign(List.of(3, 4, 5));
        assertEquals(Optional.empty(), outcomes.get(0).error());
        PartitionRegistration p = f.partition("t", 0);
        // KIP-455: replicas = target ++ (original − target) while in progress.
        assertEquals(List.of(3, 4, 5, 1, 2), p.replicas());
        assertEquals(List.of(4, 5), p.addingReplicas());
        assertEquals(List.of(1, 2), p.removingReplicas());
        assertEquals(List.of(1, 2, 3), p.isr(), "nothing leaves the ISR before the new replicas caught up");
        assertEquals(1, p.leader());
        assertEquals(List.of(), f.commit(f.controller.completeReassignments(f.image)), "4 and 5 not in sync yet");

        // Only 4 caught up: still waiting for 5.
        f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(1, incarnation(1), f.topic("t").id(), 0,
                p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2, 3, 4))));
        assertEquals(List.of(), f.commit(f.controller.completeReassignments(f.image)));

        assertEquals(List.of(ref("t", 0)), catchUpAll());
        PartitionRegistration done = f.partition("t", 0);
        assertEquals(List.of(3, 4, 5), done.replicas());
        assertEquals(List.of(3, 4, 5), done.isr());
        assertEquals(3, done.leader(), "the leaving leader hands over to the first in-sync target replica");
        assertEquals(p.leaderEpoch() + 1, done.leaderEpoch());
        assertFalse(done.isReassigning());
    }

    @Test
    void pureShrinkAndReorder_completeImmediately() {
        cluster(3, 1);
        topicOn(List.of(1, 2, 3));
        reassign(List.of(2, 1));
        PartitionRegistration p = f.partition("t", 0);
        assertEquals(List.of(2, 1), p.replicas());
        assertEquals(List.of(1, 2), p.isr());
        assertFalse(p.isReassigning());
        reassign(List.of(1, 2));
        assertEquals(List.of(1, 2), f.partition("t", 0).replicas());
        assertFalse(f.partition("t", 0).isReassigning());
    }

    @Test
    void shrink_waitsWhileTheRemainingReplicasAreOutOfSync() {
        cluster(3, 2);
        topicOn(List.of(1, 2, 3));
        // broker 3 falls out of the ISR
        PartitionRegistration p = f.partition("t", 0);
        f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(1, incarnation(1), f.topic("t").id(), 0,
                p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2))));
        reassign(List.of(2, 3));
        PartitionRegistration shrinking = f.partition("t", 0);
        assertTrue(shrinking.isReassigning(), "ISR ∩ target = [2] is below min ISR 2: must wait for 3");
        assertEquals(List.of(1, 2), shrinking.isr());
        assertEquals(List.of(ref("t", 0)), catchUpAll());
        assertEquals(List.of(2, 3), f.partition("t", 0).replicas());
        assertEquals(2, f.partition("t", 0).leader());
    }

    @Test
    void cancel_revertsToTheOriginalReplicas_andMovesLeadershipOffAnAddingReplica() {
        cluster(5, 1);
        topicOn(List.of(1, 2, 3));
        reassign(List.of(4, 5, 3));
        PartitionRegistration p = f.partition("t", 0);
        // 4 joins the ISR and, after 1 and 2 shut down, leads
        f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(1, incarnation(1), f.topic("t").id(), 0,
                p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2, 3, 4))));
        f.commit(f.controller.controlledShutdown(f.image, 1, incarnation(1), 0));
        f.commit(f.controller.controlledShutdown(f.image, 2, incarnation(2), 0));
        f.commit(f.controller.controlledShutdown(f.image, 3, incarnation(3), 0));
        assertEquals(4, f.partition("t", 0).leader());
        // no original replica is live and in sync: cancelling would lose the leader
        ControllerException unsafe = f.controller.alterReassignments(f.image, List.of(ReassignmentRequest.cancel(
                ref("t", 0)))).response().get(0).error().orElseThrow();
        assertEquals(ControllerException.Reason.REASSIGNMENT_UNSAFE, unsafe.reason());
        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(3, incarnation(3), true, false), 0));
        PartitionRegistration q = f.partition("t", 0);
        f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(4, incarnation(4), f.topic("t").id(), 0,
                q.leaderEpoch(), q.partitionEpoch(), List.of(3, 4))));
        List<ReassignmentOutcome> out = f.commit(f.controller.alterReassignments(f.image,
                List.of(ReassignmentRequest.cancel(ref("t", 0)))));
        assertEquals(Optional.empty(), out.get(0).error());
        PartitionRegistration reverted = f.partition("t", 0);
        assertEquals(List.of(1, 2, 3), reverted.replicas(), "the original replicas in their original order");
        assertEquals(List.of(), reverted.originalOrder(), "no reassignment runs");
        assertEquals(List.of(3), reverted.isr());
        assertEquals(3, reverted.leader());
        assertFalse(reverted.isReassigning());
    }

    /**
     * Found probing: a cancel put the original replicas back in the merged order (target first),
     * which changed the preferred leader, and the automatic leader rebalance then moved leadership
     * nobody asked to move. The order is recorded when a reassignment starts.
     */
    @Test
    void cancel_putsTheOriginalOrderBack_afterANewTargetToo_andASnapshotKeepsIt() {
        cluster(5, 1);
        topicOn(List.of(2, 1, 3));
        reassign(List.of(1, 4, 3));
        assertEquals(List.of(1, 4, 3, 2), f.partition("t", 0).replicas(), "target first, as KIP-455 lays it out");
        assertEquals(List.of(2, 1, 3), f.partition("t", 0).originalOrder());
        reassign(List.of(5, 3, 1)); // a new target while it runs: the original stays
        assertEquals(List.of(2, 1, 3), f.partition("t", 0).originalReplicas());
        MetadataDelta snapshot = new MetadataDelta(MetadataImage.EMPTY);
        snapshot.replayAll(f.image.toRecords());
        MetadataImage fromSnapshot = snapshot.apply();
        assertEquals(f.partition("t", 0), fromSnapshot.topics().topic("t").orElseThrow().partitions().get(0),
                "a snapshot keeps the original order");
        f.commit(f.controller.alterReassignments(f.image, List.of(ReassignmentRequest.cancel(ref("t", 0)))));
        assertEquals(List.of(2, 1, 3), f.partition("t", 0).replicas());
        assertEquals(2, f.partition("t", 0).preferredLeader());
        assertFalse(f.partition("t", 0).isReassigning());

        // Found probing: leader balancing moved leadership to the target's first replica mid-move,
        // so the cancel left the leader moved (and it moved back later).
        f.commit(f.controller.electPreferredLeaders(f.image));
        assertEquals(2, f.partition("t", 0).leader(), "the preferred leader leads");
        reassign(List.of(1, 4, 3));
        assertEquals(List.of(), f.commit(f.controller.electPreferredLeaders(f.image)), "no leader moves while it runs");
        assertEquals(2, f.partition("t", 0).leader());
        f.commit(f.controller.alterReassignments(f.image, List.of(ReassignmentRequest.cancel(ref("t", 0)))));
        assertEquals(2, f.partition("t", 0).leader());

        reassign(List.of(3, 1, 2)); // a pure reorder completes at once, recording nothing left over
        assertEquals(List.of(3, 1, 2), f.partition("t", 0).replicas());
        assertEquals(List.of(), f.partition("t", 0).originalOrder());
    }

    @Test
    void badRequests_areRefusedPerPartition_withTypedReasons() {
        cluster(4, 2);
        topicOn(List.of(1, 2, 3));
        PartitionRef t0 = ref("t", 0);
        ControllerResult<List<ReassignmentOutcome>> r = f.controller.alterReassignments(f.image, List.of(
                ReassignmentRequest.cancel(t0)));
        assertEquals(ControllerException.Reason.NO_REASSIGNMENT_IN_PROGRESS, r.response().get(0).error().orElseThrow()
                .reason());
        // found probing: the message named "PartitionRef[topicId=..., partition=0]"
        assertTrue(r.response().get(0).error().orElseThrow().getMessage().contains("partition t-0 has no reassignment"),
                r.response().get(0).error().orElseThrow().getMessage());
        assertTrue(r.records().isEmpty());
        for (List<Integer> bad : List.of(List.<Integer>of(), List.of(1, 1), List.of(1, 9), List.of(4))) {
            ControllerException e = f.controller.alterReassignments(f.image, List.of(ReassignmentRequest.reassign(t0,
                    bad))).response().get(0).error().orElseThrow();
            assertEquals(ControllerException.Reason.INVALID_REPLICA_ASSIGNMENT, e.reason(), bad.toString());
        }
        ControllerException unknown = f.controller.alterReassignments(f.image, List.of(ReassignmentRequest.reassign(
                new PartitionRef(t0.topicId(), 7), List.of(1, 2)))).response().get(0).error().orElseThrow();
        assertEquals(ControllerException.Reason.UNKNOWN_PARTITION, unknown.reason());
        assertEquals(ControllerException.Reason.INVALID_REQUEST, assertThrows(ControllerException.class,
                () -> f.controller.alterReassignments(f.image, List.of(ReassignmentRequest.cancel(t0),
                        ReassignmentRequest.cancel(t0)))).reason());
    }

    @Test
    void newController_continuesAPendingReassignment_fromTheImageAlone() {
        cluster(4, 1);
        topicOn(List.of(1, 2, 3));
        reassign(List.of(2, 3, 4));
        PartitionRegistration p = f.partition("t", 0);
        f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(p.leader(), incarnation(p.leader()),
                f.topic("t").id(), 0, p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2, 3, 4))));
        // the old controller dies before its completion check; the new one runs it on activation
        MetadataImage replayed = replayFromRecords(f.image);
        MetadataController successor = new MetadataController(new ControllerConfig(1_000, 1_000, 100, 100),
                ConfigValidator.ACCEPT_ALL, new SplittableRandom(99));
        ControllerResult<List<PartitionRef>> done = successor.completeReassignments(replayed);
        assertEquals(List.of(ref("t", 0)), done.response());
        f.commit(done);
        assertEquals(List.of(2, 3, 4), f.partition("t", 0).replicas());
        assertTrue(List.of(2, 3, 4).contains(f.partition("t", 0).leader()));
    }

    private static MetadataImage replayFromRecords(MetadataImage image) {
        MetadataDelta d = new MetadataDelta(MetadataImage.EMPTY);
        d.replayAll(image.toRecords());
        MetadataImage rebuilt = d.apply();
        assertEquals(image, rebuilt, "a snapshot carries the reassignment state");
        return rebuilt;
    }

    @Test
    void decommission_drainsTheBroker_newTopicsAvoidIt_andRecommissionUndoesPendingMoves() {
        cluster(4, 1);
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t", 6, 2, Map.of())));
        DecommissionStatus status = f.commit(f.controller.decommissionBroker(f.image, 1));
        assertTrue(status.decommissioned());
        assertTrue(f.image.cluster().isDecommissioned(1));
        for (PartitionRegistration p : f.topic("t").partitions().values()) {
            assertFalse(p.targetReplicas().contains(1), "every target avoids broker 1: " + p);
        }
        assertFalse(status.canStop(), "replicas still on broker 1 until the new ones catch up");
        // new topics avoid the decommissioned broker
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("u", 6, 3, Map.of())));
        for (PartitionRegistration p : f.topic("u").partitions().values()) {
            assertFalse(p.replicas().contains(1));
        }
        ControllerException tooMany = assertThrows(ControllerException.class,
                () -> f.controller.createTopic(f.image, new CreateTopicRequest("v", 1, 4, Map.of())));
        assertEquals(ControllerException.Reason.INVALID_REPLICATION_FACTOR, tooMany.reason());
        // found probing: with every broker running, "1..3 (live brokers)" read as if one were down
        assertTrue(tooMany.getMessage().contains("must be 1..3 (brokers in service; decommissioned: 1)"), tooMany.getMessage());
        // a target naming it is refused
        ControllerException e = f.controller.alterReassignments(f.image, List.of(ReassignmentRequest.reassign(
                ref("u", 0), List.of(1, 2, 3)))).response().get(0).error().orElseThrow();
        assertEquals(ControllerException.Reason.BROKER_DECOMMISSIONED, e.reason());

        DecommissionStatus back = f.commit(f.controller.recommissionBroker(f.image, 1));
        assertFalse(back.decommissioned());
        assertTrue(MetadataController.reassigningPartitions(f.image).isEmpty(), "pending moves off 1 cancelled");

        f.commit(f.controller.decommissionBroker(f.image, 1));
        for (int p = 0; p < 6; p++) {
            PartitionRegistration reg = f.partition("t", p);
            if (reg.isReassigning()) {
                List<Integer> isr = reg.replicas();
                f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(reg.leader(),
                        incarnation(reg.leader()), f.topic("t").id(), p, reg.leaderEpoch(), reg.partitionEpoch(), isr)));
            }
        }
        f.commit(f.controller.completeReassignments(f.image));
        DecommissionStatus drained = MetadataController.decommissionStatus(f.image, 1);
        assertTrue(drained.canStop(), drained.toString());
        assertEquals(0, drained.leadersRemaining());
    }

    @Test
    void decommission_refusedWhenNoBrokerCanTakeTheReplicas() {
        cluster(3, 1);
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t", 2, 3, Map.of())));
        assertEquals(ControllerException.Reason.INSUFFICIENT_BROKERS, assertThrows(ControllerException.class,
                () -> f.controller.decommissionBroker(f.image, 2)).reason());
        assertFalse(f.image.cluster().isDecommissioned(2));
        ControllerException unknown = assertThrows(ControllerException.class, () -> f.controller.decommissionBroker(f.image, 9));
        assertEquals(ControllerException.Reason.UNKNOWN_BROKER, unknown.reason());
        assertEquals("broker 9 is not registered (brokers: 1, 2, 3)", unknown.getMessage(), "the ids it could have meant");
    }

    @Test
    void plan_movesHalfThePartitionsOntoANewBroker_andNothingElse() {
        cluster(3, 1);
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t", 8, 3, Map.of())));
        f.addLiveBroker(4, null, 0);
        Map<PartitionRef, List<Integer>> plan = MetadataController.planReassignment(f.image, List.of("t"),
                List.of(1, 2, 3, 4));
        int moved = 0;
        int[] counts = new int[5];
        for (int p = 0; p < 8; p++) {
            List<Integer> before = f.partition("t", p).replicas();
            List<Integer> after = plan.getOrDefault(ref("t", p), before);
            assertEquals(3, after.size());
            moved += (int) after.stream().filter(id -> !before.contains(id)).count();
            after.forEach(id -> counts[id]++);
        }
        assertEquals(6, moved, "24 replicas over 4 brokers: 6 move to broker 4, no more");
        for (int b = 1; b <= 4; b++) {
            assertEquals(6, counts[b], "broker " + b);
        }
    }
}
