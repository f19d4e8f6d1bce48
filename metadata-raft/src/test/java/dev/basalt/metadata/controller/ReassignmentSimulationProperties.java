package dev.basalt.metadata.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionChangeRecord;
import dev.basalt.raft.testkit.LongTestsOnly;
import dev.basalt.raft.testkit.ReplayOnFailure;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * Goal: the controller's reassignment state machine (KIP-455, {@link ReassignmentControl}) never
 * loses in-sync replicas it had, never moves leadership to a replica missing committed records, and
 * every reassignment ends cleanly — completed to its target or cancelled to its original replicas —
 * through broker failures, decommissions and controller failovers at any step.
 *
 * <p>Method: from a seed (swarm style: broker count, topic min ISR, replication factors and the fault
 * mix are derived from it and printed in every failure), a safety phase runs random operations against
 * {@link MetadataController}: reassignments to random targets (often replacing one in progress),
 * cancellations, leader ISR changes (an adding replica that joins has caught up), completion checks
 * (which the event loop runs after ISR changes), controlled shutdowns, session expiry, restarts,
 * unfencing, decommission and recommission, topic creation, and controller failover (a new
 * {@code MetadataController} with no soft state, which checks completions on activation). Each batch
 * is replayed record by record and checked:
 * <ul>
 *   <li>a change made by a reassignment decision never takes an ISR from at least min ISR members
 *       below it, never empties it, and elects only a live member of the old ISR;</li>
 *   <li>a reassignment that ends leaves replicas = its target (completion) or its original replicas
 *       (cancel), with no adding or removing replicas;</li>
 *   <li>every ISR member holds every committed record (the model of {@code PartitionSafetyProperties}:
 *       a replica joining the ISR has caught up; while the ISR has min ISR members only it is complete);</li>
 *   <li>image → records → image is exact; the same seed gives the same records.</li>
 * </ul>
 * A liveness phase then unfences every broker and lets leaders add every replica to the ISR: every
 * reassignment must complete and every decommissioned broker must hold no replica.
 * Reproduce: the failure message names seed and step; {@link ReplayOnFailure} prints the command.
 */
@AddLifecycleHook(ReplayOnFailure.class)
class ReassignmentSimulationProperties {

    @Property(tries = 300)
    void randomReassignmentsAndFailures_stayConsistent_andFinish(@ForAll long seed,
                                                                 @ForAll @IntRange(min = 1, max = 200) int steps) {
        List<List<MetadataRecord>> first = new Run(seed).run(steps);
        assertEquals(first, new Run(seed).run(steps), "same seed, different records: nondeterminism");
    }

    @Property(tries = 2000)
    @AddLifecycleHook(LongTestsOnly.class)
    void randomReassignmentsAndFailures_long(@ForAll long seed, @ForAll @IntRange(min = 1, max = 1000) int steps) {
        new Run(seed).run(steps);
    }

    /** One seeded run; not thread-safe. */
    private static final class Run {
        private final long seed;
        private final Random random;
        private final int brokers;
        private final ControllerConfig config;
        private final Map<Integer, Integer> restarts = new HashMap<>();
        private final Map<PartitionRef, Set<Integer>> complete = new HashMap<>();
        private MetadataController controller;
        private int failovers;
        private MetadataImage image = MetadataImage.EMPTY;
        private long nowMs;
        private String context = "";

        Run(long seed) {
            this.seed = seed;
            this.random = new Random(seed);
            this.brokers = 3 + random.nextInt(4);
            this.config = new ControllerConfig(500 + random.nextInt(1_000), 50, 10, 10, 1 + random.nextInt(2),
                    false, 1 + random.nextInt(5));
            this.controller = newController();
        }

        private MetadataController newController() {
            return new MetadataController(config, ConfigValidator.ACCEPT_ALL, new Random(~seed + failovers));
        }

        List<List<MetadataRecord>> run(int steps) {
            List<List<MetadataRecord>> history = new ArrayList<>();
            context = "seed=" + seed + " brokers=" + brokers + " config=" + config + " setup";
            for (int b = 0; b < brokers; b++) {
                history.add(commit(register(b), false));
                history.add(commit(heartbeat(b), false));
            }
            for (int t = 0; t < 3; t++) {
                int topic = t;
                tryCommit(history, () -> controller.createTopic(image, createRequest(topic)), false);
            }
            for (int step = 0; step < steps; step++) {
                nowMs += random.nextInt(100);
                int kind = random.nextInt(20);
                context = "seed=" + seed + " brokers=" + brokers + " config=" + config + " step=" + step + " op=" + kind
                        + " nowMs=" + nowMs;
                operation(kind, history);
            }
            liveness(history);
            MetadataDelta rebuilt = new MetadataDelta(MetadataImage.EMPTY);
            rebuilt.replayAll(image.toRecords());
            assertEquals(image, rebuilt.apply(), "image -> records -> image at " + context);
            return history;
        }

        private void operation(int kind, List<List<MetadataRecord>> history) {
            int broker = random.nextInt(brokers);
            switch (kind) {
                case 0, 1, 2, 3 -> tryCommit(history, () -> controller.alterReassignments(image, randomReassignments()),
                        true);
                case 4 -> tryCommit(history, () -> controller.alterReassignments(image, cancellations()), true);
                case 5, 6, 7, 8 -> {
                    tryCommit(history, this::alterIsr, false);
                    tryCommit(history, () -> controller.completeReassignments(image), true);
                }
                case 9 -> tryCommit(history, () -> controller.controlledShutdown(image, broker, incarnation(broker), nowMs),
                        false);
                case 10 -> {
                    nowMs += random.nextInt((int) config.sessionTimeoutMs());
                    tryCommit(history, () -> controller.fenceExpiredBrokers(image, nowMs), false);
                }
                case 11 -> {
                    boolean restart = random.nextInt(3) == 0;
                    if (restart) {
                        restarts.merge(broker, 1, Integer::sum);
                    }
                    if (!tryCommit(history, () -> register(broker), false) && restart) {
                        restarts.merge(broker, -1, Integer::sum); // refused: the old incarnation lives on
                    }
                }
                case 12, 13 -> tryCommit(history, () -> heartbeat(broker), false);
                case 14 -> tryCommit(history, () -> controller.decommissionBroker(image, broker), true);
                case 15 -> tryCommit(history, () -> controller.recommissionBroker(image, broker), true);
                case 16 -> tryCommit(history, () -> controller.createTopic(image, createRequest(random.nextInt(5))),
                        false);
                case 17 -> {
                    failovers++; // a new active controller: no sessions, checks pending reassignments first
                    controller = newController();
                    tryCommit(history, () -> controller.completeReassignments(image), true);
                }
                case 18 -> tryCommit(history, () -> controller.electPreferredLeaders(image), false);
                default -> tryCommit(history, () -> controller.completeReassignments(image), true);
            }
        }

        /** Every broker back and unfenced; leaders add every live replica to the ISR until all reassignments end. */
        private void liveness(List<List<MetadataRecord>> history) {
            context = "seed=" + seed + " brokers=" + brokers + " config=" + config + " liveness";
            for (int b = 0; b < brokers; b++) {
                int id = b;
                if (image.cluster().broker(id).map(r -> r.fenced()).orElse(true)) {
                    restarts.merge(id, 1, Integer::sum);
                    nowMs += config.sessionTimeoutMs() + 1;
                    controller = newController(); // no live session may block the re-registration
                    failovers++;
                    tryCommit(history, () -> register(id), false);
                    tryCommit(history, () -> heartbeat(id), false);
                }
            }
            tryCommit(history, () -> controller.electPreferredLeaders(image), false);
            for (int round = 0; round < 10 && !MetadataController.reassigningPartitions(image).isEmpty(); round++) {
                for (PartitionRef ref : MetadataController.reassigningPartitions(image)) {
                    PartitionRegistration reg = partition(ref);
                    if (reg.hasLeader() && !reg.isr().containsAll(reg.replicas())) {
                        tryCommit(history, () -> controller.alterPartition(image, new AlterPartitionRequest(reg.leader(),
                                incarnation(reg.leader()), ref.topicId(), ref.partition(), reg.leaderEpoch(),
                                reg.partitionEpoch(), reg.replicas())), false);
                    }
                }
                tryCommit(history, () -> controller.completeReassignments(image), true);
            }
            require(MetadataController.reassigningPartitions(image).isEmpty(), "reassignments still pending: "
                    + MetadataController.reassigningPartitions(image).stream().map(this::partition).toList()
                    + " brokers " + image.cluster(), "");
            for (int id : image.cluster().decommissionedBrokerIds()) {
                DecommissionStatus status = MetadataController.decommissionStatus(image, id);
                require(status.canStop(), "decommissioned broker still holds replicas: " + status, "");
            }
        }

        private PartitionRegistration partition(PartitionRef ref) {
            return image.topics().topic(ref.topicId()).orElseThrow().partitions().get(ref.partition());
        }

        private List<ReassignmentRequest> randomReassignments() {
            List<ReassignmentRequest> requests = new ArrayList<>();
            for (PartitionRef ref : somePartitions()) {
                List<Integer> ids = new ArrayList<>();
                for (int b = 0; b < brokers + 1; b++) { // broker `brokers` never registers: a refused target
                    ids.add(b);
                }
                java.util.Collections.shuffle(ids, random);
                int size = 1 + random.nextInt(Math.min(4, ids.size()));
                requests.add(ReassignmentRequest.reassign(ref, ids.subList(0, size)));
            }
            return requests;
        }

        private List<ReassignmentRequest> cancellations() {
            List<ReassignmentRequest> requests = new ArrayList<>();
            for (PartitionRef ref : somePartitions()) {
                requests.add(ReassignmentRequest.cancel(ref));
            }
            return requests;
        }

        private List<PartitionRef> somePartitions() {
            List<PartitionRef> refs = new ArrayList<>();
            for (TopicImage t : image.topics().topicsById().values()) {
                for (int p : t.partitions().keySet()) {
                    if (random.nextInt(3) == 0) {
                        refs.add(new PartitionRef(t.id(), p));
                    }
                }
            }
            return refs;
        }

        /** The leader's ISR change: adds some live replicas (caught up), drops some followers. */
        private ControllerResult<?> alterIsr() {
            List<TopicImage> topics = new ArrayList<>(image.topics().topicsById().values());
            if (topics.isEmpty()) {
                return controller.completeReassignments(image);
            }
            TopicImage topic = topics.get(random.nextInt(topics.size()));
            int p = random.nextInt(topic.partitionCount());
            PartitionRegistration reg = topic.partitions().get(p);
            if (!reg.hasLeader()) {
                return controller.completeReassignments(image);
            }
            List<Integer> isr = new ArrayList<>();
            isr.add(reg.leader());
            for (int r : reg.replicas()) {
                boolean keep = reg.isr().contains(r) ? random.nextInt(4) != 0 : random.nextBoolean();
                if (r != reg.leader() && keep && image.cluster().isUnfenced(r)) {
                    isr.add(r);
                }
            }
            return controller.alterPartition(image, new AlterPartitionRequest(reg.leader(), incarnation(reg.leader()),
                    topic.id(), p, reg.leaderEpoch(), reg.partitionEpoch(), isr));
        }

        private ControllerResult<?> register(int broker) {
            return controller.registerBroker(image, new BrokerRegistrationRequest(broker, incarnation(broker),
                    List.of(new Endpoint("CLIENT", "127.0.0.1", 9400 + broker)),
                    seed % 2 == 0 ? Optional.of("r" + broker % 3) : Optional.empty()), nowMs);
        }

        private ControllerResult<?> heartbeat(int broker) {
            return controller.heartbeat(image, new HeartbeatRequest(broker, incarnation(broker), true, false), nowMs);
        }

        private UUID incarnation(int broker) {
            return new UUID(broker + 1, restarts.getOrDefault(broker, 0) + 1);
        }

        private CreateTopicRequest createRequest(int t) {
            Map<String, String> configs = new HashMap<>();
            if (random.nextBoolean()) {
                configs.put(TopicPolicy.MIN_INSYNC_REPLICAS, "" + (1 + random.nextInt(2)));
            }
            return new CreateTopicRequest("t" + t, 1 + random.nextInt(4), 2 + random.nextInt(2), configs);
        }

        /** Runs {@code op} and commits its records; false when it was refused. */
        private boolean tryCommit(List<List<MetadataRecord>> history,
                                  java.util.function.Supplier<ControllerResult<?>> op, boolean reassignment) {
            ControllerResult<?> result;
            try {
                result = op.get();
            } catch (ControllerException refused) {
                return false;
            }
            history.add(commit(result, reassignment));
            return true;
        }

        // ---- checks ----

        private List<MetadataRecord> commit(ControllerResult<?> result, boolean reassignment) {
            MetadataDelta delta = new MetadataDelta(image);
            List<Runnable> afterBatch = new ArrayList<>();
            for (MetadataRecord record : result.records()) {
                if (record.hasPartitionChange()) {
                    PartitionChangeRecord c = record.getPartitionChange();
                    PartitionRef ref = new PartitionRef(ProtoIds.fromProto(c.getTopicId()), c.getPartition());
                    PartitionRegistration old = delta.partition(ref.topicId(), ref.partition()).orElseThrow();
                    delta.replay(record);
                    PartitionRegistration now = delta.partition(ref.topicId(), ref.partition()).orElseThrow();
                    afterBatch.add(() -> checkChange(ref, old, now, reassignment));
                } else {
                    delta.replay(record);
                }
            }
            image = delta.apply();
            afterBatch.forEach(Runnable::run);
            checkImage();
            return result.records();
        }

        private void checkChange(PartitionRef ref, PartitionRegistration old, PartitionRegistration now,
                                 boolean reassignment) {
            String where = context + " " + ref + " " + old + " -> " + now;
            TopicPolicy policy = TopicPolicy.of(image, image.topics().topic(ref.topicId()).orElseThrow().name(), config);
            if (reassignment) {
                require(!now.isr().isEmpty(), "reassignment emptied the ISR", where);
                require(now.isr().size() >= Math.min(policy.minInsyncReplicas(), old.isr().size()),
                        "reassignment took the ISR below min ISR", where);
                require(now.leader() == old.leader() || (old.isr().contains(now.leader())
                        && image.cluster().isUnfenced(now.leader())), "leader moved to a non-ISR or dead replica", where);
                for (int id : now.isr()) {
                    require(old.isr().contains(id), "a reassignment decision added an ISR member", where);
                }
            }
            if (old.isReassigning() && !now.isReassigning()) {
                require(now.replicas().equals(old.targetReplicas()) || new HashSet<>(now.replicas())
                        .equals(new HashSet<>(old.originalReplicas())), "ended neither at target "
                        + old.targetReplicas() + " nor at original " + old.originalReplicas(), where);
            }
            Set<Integer> done = complete.get(ref);
            if (now.leader() != old.leader() && now.hasLeader()) {
                require(done.contains(now.leader()), "new leader misses committed records " + done, where);
            }
            for (int id : now.isr()) {
                if (!old.isr().contains(id)) {
                    done.add(id); // joined: caught up with the leader
                }
            }
        }

        private void checkImage() {
            ControllerFixture.assertConsistent(image);
            for (TopicImage topic : image.topics().topicsById().values()) {
                TopicPolicy policy = TopicPolicy.of(image, topic.name(), config);
                topic.partitions().forEach((p, reg) -> {
                    PartitionRef ref = new PartitionRef(topic.id(), p);
                    String where = context + " " + topic.name() + "-" + p + " " + reg;
                    Set<Integer> done = complete.computeIfAbsent(ref, r -> new HashSet<>(reg.replicas()));
                    require(done.containsAll(reg.isr()), "ISR member misses committed records " + done, where);
                    for (int id : reg.targetReplicas()) {
                        require(!image.cluster().isDecommissioned(id) || !reg.isReassigning()
                                        || !reg.addingReplicas().contains(id),
                                "a decommissioned broker is being added", where);
                    }
                    if (reg.hasLeader() && reg.isr().size() >= policy.minInsyncReplicas()) {
                        complete.put(ref, new HashSet<>(reg.isr()));
                    }
                });
            }
            complete.keySet().removeIf(ref -> image.topics().topic(ref.topicId()).isEmpty());
        }

        private void require(boolean ok, String rule, String where) {
            if (!ok) {
                throw new AssertionError(rule + " at " + (where.isEmpty() ? context : where));
            }
        }
    }
}
