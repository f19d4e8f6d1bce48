package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.BrokerDecommissionRecord;
import dev.basalt.proto.v1.BrokerIdList;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionChangeRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntPredicate;

/**
 * Partition reassignment as KIP-455 runs it, and broker decommission, as pure decisions. Stateless
 * apart from the immutable config; thread-safe. Every step is a {@code PartitionChangeRecord}, so a
 * controller that takes over mid-way continues from the image alone ({@link #completeReassignments}
 * on activation and after every ISR change).
 *
 * <h2>State of one partition</h2>
 * <pre>
 *                 alter(target T), original O = replicas
 *   (steady) ─────────────────────────────────────────────▶ REASSIGNING
 *      ▲        replicas = T ++ (O − T), adding = T − O,      │  adding replicas fetch from the leader
 *      │        removing = O − T                              │  and join the ISR (leader's AlterPartition)
 *      │                                                      │
 *      ├──── complete (adding ⊆ ISR, ISR ∩ T large enough) ◀──┤  replicas = T, ISR = ISR ∩ T, leader moved to
 *      │                                                      │  the first live member of ISR ∩ T if it leaves
 *      └──── cancel ◀─────────────────────────────────────────┘  replicas = O, in its order (recorded at the start),
 *                                                                ISR − adding, leader moved if it was adding
 *   alter(T2) while REASSIGNING: the original stays O; the new target replaces T (dropped adding replicas
 *   leave replicas and ISR as in a cancel).
 * </pre>
 * A target that is a reordering of the replicas, or a pure shrink whose remaining replicas are in the
 * ISR, completes in the same batch that starts it.
 *
 * <h2>Safety</h2>
 * No step removes an ISR member if that leaves the ISR below {@code min(min.insync.replicas, |ISR|)}
 * or empty, so a partition that had min ISR in-sync replicas keeps them; a completion that cannot keep
 * them waits (the next ISR change retries), a cancel or replacement that cannot is refused with
 * {@code REASSIGNMENT_UNSAFE}. A leader is only ever moved to a live ISR member (it holds every
 * committed record). A target must have at least {@code min.insync.replicas} brokers, all registered
 * and none decommissioned.
 */
final class ReassignmentControl {
    /** Most partitions one request may name: the whole request is one Raft entry. */
    static final int PARTITIONS_PER_REQUEST_MAX = 10_000;
    /** Most replicas a target may list; far above any useful replication factor. */
    static final int TARGET_REPLICAS_MAX = 32;

    private final ControllerConfig config;

    ReassignmentControl(ControllerConfig config) {
        this.config = config;
    }

    /** Starts, replaces or cancels reassignments; each partition succeeds or is refused on its own. */
    ControllerResult<List<ReassignmentOutcome>> alterReassignments(MetadataImage image,
                                                                   List<ReassignmentRequest> requests) {
        if (requests.size() > PARTITIONS_PER_REQUEST_MAX) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "request names "
                    + requests.size() + " partitions, over " + PARTITIONS_PER_REQUEST_MAX);
        }
        if (new HashSet<>(requests.stream().map(ReassignmentRequest::partition).toList()).size() != requests.size()) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "a partition is named twice");
        }
        RecordBuffer out = new RecordBuffer(image);
        List<ReassignmentOutcome> outcomes = new ArrayList<>(requests.size());
        for (ReassignmentRequest request : requests) {
            try {
                // Every check of a partition runs before its first record, so a refusal leaves nothing behind.
                PartitionRef ref = request.partition();
                PartitionRegistration current = TopicControl.current(out, ref);
                TopicPolicy policy = policyOf(out, ref);
                if (request.target().isPresent()) {
                    reassign(out, ref, current, request.target().get(), policy);
                } else {
                    cancel(out, ref, current, policy);
                }
                outcomes.add(ReassignmentOutcome.accepted(ref));
            } catch (ControllerException e) {
                outcomes.add(ReassignmentOutcome.refused(request.partition(), e));
            }
        }
        return out.result(outcomes);
    }

    /**
     * Completes every reassignment that can complete now (see the class javadoc); the response lists
     * them. Cost: one pass over the image's partitions.
     */
    ControllerResult<List<PartitionRef>> completeReassignments(MetadataImage image) {
        RecordBuffer out = new RecordBuffer(image);
        List<PartitionRef> completed = new ArrayList<>();
        for (TopicImage topic : image.topics().topicsById().values()) {
            for (Map.Entry<Integer, PartitionRegistration> e : topic.partitions().entrySet()) {
                if (!e.getValue().isReassigning()) {
                    continue;
                }
                PartitionRef ref = new PartitionRef(topic.id(), e.getKey());
                Optional<MetadataRecord> done = maybeComplete(out, ref, policyOf(out, ref));
                if (done.isPresent()) {
                    out.add(done.get());
                    completed.add(ref);
                }
            }
        }
        return out.result(completed);
    }

    /** Partitions with a reassignment in progress, topics in id order, partitions in index order. */
    static List<PartitionRef> reassigning(MetadataImage image) {
        List<PartitionRef> refs = new ArrayList<>();
        for (TopicImage topic : image.topics().topicsById().values()) {
            topic.partitions().forEach((p, reg) -> {
                if (reg.isReassigning()) {
                    refs.add(new PartitionRef(topic.id(), p));
                }
            });
        }
        return refs;
    }

    private void reassign(RecordBuffer out, PartitionRef ref, PartitionRegistration current, List<Integer> target,
                          TopicPolicy policy) {
        checkTarget(out, target, policy);
        if (!current.isReassigning() && target.equals(current.replicas())) {
            return; // already there: nothing to record
        }
        List<Integer> original = current.originalReplicas();
        List<Integer> replicas = new ArrayList<>(target);
        List<Integer> removing = new ArrayList<>();
        for (int id : original) {
            if (!target.contains(id)) {
                replicas.add(id);
                removing.add(id);
            }
        }
        List<Integer> adding = target.stream().filter(id -> !original.contains(id)).toList();
        setMembers(out, ref, current, replicas, adding, removing, policy);
        maybeComplete(out, ref, policy).ifPresent(out::add);
    }

    private void cancel(RecordBuffer out, PartitionRef ref, PartitionRegistration current, TopicPolicy policy) {
        if (!current.isReassigning()) {
            throw new ControllerException(ControllerException.Reason.NO_REASSIGNMENT_IN_PROGRESS, "partition " + name(out, ref)
                    + " has no reassignment in progress");
        }
        for (int id : current.removingReplicas()) {
            if (out.state().isDecommissioned(id)) {
                // A cancel would hand the partition back to a broker being drained; recommission it first.
                throw new ControllerException(ControllerException.Reason.BROKER_DECOMMISSIONED, "cancelling the"
                        + " reassignment of " + name(out, ref) + " would keep decommissioned broker " + id);
            }
        }
        setMembers(out, ref, current, current.originalReplicas(), List.of(), List.of(), policy);
    }

    private static void checkTarget(RecordBuffer out, List<Integer> target, TopicPolicy policy) {
        if (target.isEmpty() || target.size() > TARGET_REPLICAS_MAX) {
            throw new ControllerException(ControllerException.Reason.INVALID_REPLICA_ASSIGNMENT, "target must list 1.."
                    + TARGET_REPLICAS_MAX + " brokers, not " + target.size());
        }
        if (new HashSet<>(target).size() != target.size()) {
            throw new ControllerException(ControllerException.Reason.INVALID_REPLICA_ASSIGNMENT, "target " + target
                    + " lists a broker twice");
        }
        for (int id : target) {
            if (out.state().broker(id).isEmpty()) {
                throw new ControllerException(ControllerException.Reason.INVALID_REPLICA_ASSIGNMENT, "broker " + id
                        + " in target " + target + " is not registered");
            }
            if (out.state().isDecommissioned(id)) {
                throw new ControllerException(ControllerException.Reason.BROKER_DECOMMISSIONED, "broker " + id
                        + " in target " + target + " is decommissioned");
            }
        }
        if (target.size() < policy.minInsyncReplicas()) {
            throw new ControllerException(ControllerException.Reason.INVALID_REPLICA_ASSIGNMENT, "target " + target
                    + " has fewer replicas than min.insync.replicas=" + policy.minInsyncReplicas()
                    + ": acks=all writes would fail");
        }
    }

    /**
     * Sets replicas and the adding/removing sets; replicas no longer listed leave the ISR and the ELR,
     * and the leadership if they held it — refused when that is unsafe (class javadoc).
     */
    private static void setMembers(RecordBuffer out, PartitionRef ref, PartitionRegistration current,
                                   List<Integer> replicas, List<Integer> adding, List<Integer> removing,
                                   TopicPolicy policy) {
        List<Integer> isr = current.isr().stream().filter(replicas::contains).toList();
        if (isr.size() < current.isr().size()
                && (isr.isEmpty() || isr.size() < Math.min(policy.minInsyncReplicas(), current.isr().size()))) {
            throw new ControllerException(ControllerException.Reason.REASSIGNMENT_UNSAFE, "partition " + name(out, ref)
                    + " would keep ISR " + isr + " of " + current.isr() + ", below min.insync.replicas="
                    + policy.minInsyncReplicas());
        }
        int leader = current.leader();
        if (current.hasLeader() && !replicas.contains(leader)) {
            leader = firstLive(replicas, isr, out::isLive);
            if (leader == PartitionRegistration.NO_LEADER) {
                throw new ControllerException(ControllerException.Reason.REASSIGNMENT_UNSAFE, "partition " + name(out, ref)
                        + " has no live in-sync replica in " + replicas + " to take over from leader "
                        + current.leader());
            }
        }
        List<Integer> elr = isr.size() >= policy.minInsyncReplicas() ? List.of()
                : current.elr().stream().filter(replicas::contains).toList();
        change(ref, current, replicas, isr, leader, elr, adding, removing).ifPresent(out::add);
    }

    /** The completion record if the partition's reassignment can complete now (class javadoc). */
    private static Optional<MetadataRecord> maybeComplete(RecordBuffer out, PartitionRef ref, TopicPolicy policy) {
        PartitionRegistration current = TopicControl.current(out, ref);
        if (!current.isReassigning() || !current.hasLeader() || !current.isr().containsAll(current.addingReplicas())) {
            return Optional.empty();
        }
        List<Integer> target = current.targetReplicas();
        List<Integer> isr = current.isr().stream().filter(target::contains).toList();
        if (isr.isEmpty() || isr.size() < Math.min(policy.minInsyncReplicas(), current.isr().size())) {
            return Optional.empty(); // the removing replicas are still needed in the ISR
        }
        int leader = current.leader();
        if (!target.contains(leader)) {
            leader = firstLive(target, isr, out::isLive);
            if (leader == PartitionRegistration.NO_LEADER) {
                return Optional.empty();
            }
        }
        List<Integer> elr = isr.size() >= policy.minInsyncReplicas() ? List.of()
                : current.elr().stream().filter(target::contains).toList();
        return change(ref, current, target, isr, leader, elr, List.of(), List.of());
    }

    private static int firstLive(List<Integer> order, List<Integer> allowed, IntPredicate live) {
        for (int id : order) {
            if (allowed.contains(id) && live.test(id)) {
                return id;
            }
        }
        return PartitionRegistration.NO_LEADER;
    }

    private static Optional<MetadataRecord> change(PartitionRef ref, PartitionRegistration current,
                                                   List<Integer> replicas, List<Integer> isr, int leader,
                                                   List<Integer> elr, List<Integer> adding, List<Integer> removing) {
        PartitionChangeRecord.Builder b = PartitionChangeRecord.newBuilder().setTopicId(ProtoIds.toProto(ref.topicId()))
                .setPartition(ref.partition()).setExpectedPartitionEpoch(current.partitionEpoch());
        boolean changed = false;
        if (!replicas.equals(current.replicas())) {
            b.setReplicas(ids(replicas));
            changed = true;
        }
        if (!isr.equals(current.isr())) {
            b.setIsr(ids(isr));
            changed = true;
        }
        if (leader != current.leader()) {
            b.setLeader(leader);
            changed = true;
        }
        if (!elr.equals(current.elr())) {
            b.setEligibleLeaderReplicas(ids(elr));
            changed = true;
        }
        if (!adding.equals(current.addingReplicas())) {
            b.setAddingReplicas(ids(adding));
            changed = true;
        }
        if (!removing.equals(current.removingReplicas())) {
            b.setRemovingReplicas(ids(removing));
            changed = true;
        }
        // The order before the reassignment: recorded when it starts, kept while it runs (a new
        // target too), dropped when it ends; a cancel puts it back.
        List<Integer> original = adding.isEmpty() && removing.isEmpty() ? List.of()
                : current.isReassigning() ? current.originalReplicas() : current.replicas();
        if (changed && !original.equals(current.originalOrder())) {
            b.setOriginalReplicas(ids(original));
        }
        return changed ? Optional.of(MetadataRecord.newBuilder().setPartitionChange(b).build()) : Optional.empty();
    }

    private static BrokerIdList ids(List<Integer> ids) {
        return BrokerIdList.newBuilder().addAllBrokerIds(ids).build();
    }

    /** "topic-partition" for messages an operator reads (the id where the topic is gone). */
    private static String name(RecordBuffer out, PartitionRef ref) {
        return out.state().topic(ref.topicId()).map(t -> t.name() + "-" + ref.partition())
                .orElse(ref.topicId() + "-" + ref.partition());
    }

    private TopicPolicy policyOf(RecordBuffer out, PartitionRef ref) {
        String name = out.state().topic(ref.topicId()).orElseThrow(() -> new ControllerException(
                ControllerException.Reason.UNKNOWN_PARTITION, "unknown partition " + ref)).name();
        return TopicPolicy.of(out.state().base(), name, config);
    }

    // ------------------------------------------------------------------ decommission

    /**
     * Decommissions a broker (idempotent): records it, then reassigns every partition whose target
     * lists it, replacing it in place by an active broker (the rack this partition uses least, then
     * the broker with the fewest replicas, then the lowest id). Refused as a whole with
     * INSUFFICIENT_BROKERS when a partition has no replacement, or REASSIGNMENT_UNSAFE.
     */
    ControllerResult<DecommissionStatus> decommission(MetadataImage image, int brokerId) {
        RecordBuffer out = new RecordBuffer(image);
        requireRegistered(out, brokerId);
        if (!out.state().isDecommissioned(brokerId)) {
            out.add(decommissionRecord(brokerId, true));
        }
        Map<Integer, Integer> load = replicaCounts(image);
        for (TopicImage topic : image.topics().topicsById().values()) {
            for (PartitionRef ref : TopicControl.partitionsOf(topic)) {
                PartitionRegistration current = TopicControl.current(out, ref);
                int position = current.targetReplicas().indexOf(brokerId);
                if (position < 0) {
                    continue;
                }
                List<Integer> target = new ArrayList<>(current.targetReplicas());
                int replacement = replacementFor(out, target, load);
                if (replacement < 0) {
                    throw new ControllerException(ControllerException.Reason.INSUFFICIENT_BROKERS, "no active broker"
                            + " outside " + target + " can take the replica of " + topic.name() + "-"
                            + ref.partition() + " from broker " + brokerId);
                }
                target.set(position, replacement);
                load.merge(replacement, 1, Integer::sum);
                reassign(out, ref, current, target, policyOf(out, ref));
            }
        }
        return out.result(status(out.state().apply(), brokerId));
    }

    /**
     * Puts a decommissioned broker back in service (idempotent) and cancels the reassignments that
     * are still removing it where a cancel is safe; completed moves stay.
     */
    ControllerResult<DecommissionStatus> recommission(MetadataImage image, int brokerId) {
        RecordBuffer out = new RecordBuffer(image);
        requireRegistered(out, brokerId);
        if (out.state().isDecommissioned(brokerId)) {
            out.add(decommissionRecord(brokerId, false));
        }
        for (PartitionRef ref : reassigning(image)) {
            PartitionRegistration current = TopicControl.current(out, ref);
            if (current.removingReplicas().contains(brokerId)) {
                try {
                    cancel(out, ref, current, policyOf(out, ref));
                } catch (ControllerException e) {
                    if (e.reason() != ControllerException.Reason.REASSIGNMENT_UNSAFE) {
                        throw e;
                    }
                    // cannot revert now; the move completes as planned
                }
            }
        }
        return out.result(status(out.state().apply(), brokerId));
    }

    /** How far draining {@code brokerId} has come in {@code image}. */
    static DecommissionStatus status(MetadataImage image, int brokerId) {
        int replicas = 0;
        int leaders = 0;
        for (TopicImage topic : image.topics().topicsById().values()) {
            for (PartitionRegistration p : topic.partitions().values()) {
                if (p.replicas().contains(brokerId)) {
                    replicas++;
                }
                if (p.leader() == brokerId) {
                    leaders++;
                }
            }
        }
        return new DecommissionStatus(brokerId, image.cluster().isDecommissioned(brokerId), replicas, leaders);
    }

    private static void requireRegistered(RecordBuffer out, int brokerId) {
        if (out.state().broker(brokerId).isEmpty()) {
            // The registered ids named: a controller-only node's id is a typo here (found probing).
            throw new ControllerException(ControllerException.Reason.UNKNOWN_BROKER, "broker " + brokerId
                    + " is not registered (brokers: " + (out.state().brokerIds().isEmpty() ? "none"
                    : String.join(", ", out.state().brokerIds().stream().map(String::valueOf).toList())) + ")");
        }
    }

    private static MetadataRecord decommissionRecord(int brokerId, boolean decommissioned) {
        return MetadataRecord.newBuilder().setBrokerDecommission(BrokerDecommissionRecord.newBuilder()
                .setBrokerId(brokerId).setDecommissioned(decommissioned)).build();
    }

    private static Map<Integer, Integer> replicaCounts(MetadataImage image) {
        Map<Integer, Integer> load = new HashMap<>();
        for (TopicImage topic : image.topics().topicsById().values()) {
            for (PartitionRegistration p : topic.partitions().values()) {
                p.replicas().forEach(id -> load.merge(id, 1, Integer::sum));
            }
        }
        return load;
    }

    /** An active broker outside {@code target}: least-used rack of the partition, fewest replicas, lowest id. */
    private static int replacementFor(RecordBuffer out, List<Integer> target, Map<Integer, Integer> load) {
        Map<String, Integer> rackUse = new HashMap<>();
        for (int id : target) {
            rackUse.merge(rackOf(out, id), 1, Integer::sum);
        }
        int best = -1;
        for (BrokerRegistration b : out.state().base().cluster().brokers().values()) {
            int id = b.brokerId();
            if (target.contains(id) || !out.isLive(id) || out.state().isDecommissioned(id)) {
                continue;
            }
            if (best < 0 || compareCandidates(id, best, out, rackUse, load) < 0) {
                best = id;
            }
        }
        return best;
    }

    private static int compareCandidates(int a, int b, RecordBuffer out, Map<String, Integer> rackUse,
                                         Map<Integer, Integer> load) {
        int c = Integer.compare(rackUse.getOrDefault(rackOf(out, a), 0), rackUse.getOrDefault(rackOf(out, b), 0));
        if (c == 0) {
            c = Integer.compare(load.getOrDefault(a, 0), load.getOrDefault(b, 0));
        }
        return c != 0 ? c : Integer.compare(a, b);
    }

    /** The broker's rack; a broker without one is a rack of its own ("\u0000" keeps it apart from names). */
    static String rackOf(RecordBuffer out, int brokerId) {
        return out.state().broker(brokerId).flatMap(BrokerRegistration::rack).orElse("\u0000" + brokerId);
    }
}
