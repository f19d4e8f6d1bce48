package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Computes a balanced reassignment plan for some topics over a set of brokers, moving as few replicas
 * as possible. Pure and stateless; thread-safe. The plan is advice: nothing changes until it is
 * submitted as reassignments.
 *
 * <p>Method, over the partitions of the named topics (topics in the order given, partitions in index
 * order; a partition with a reassignment in progress counts with its target):
 * <ol>
 *   <li>Quotas: with T replicas in all and N brokers, every broker gets T / N, and the T mod N brokers
 *       that already hold the most of these replicas (then the lowest ids) get one more — so the
 *       brokers that must give up replicas give up as few as possible.</li>
 *   <li>Keep every replica on a listed broker; a replica on an unlisted broker is replaced by a broker
 *       chosen as below.</li>
 *   <li>Shed: a broker above its quota hands replicas, one move each, to brokers below theirs that do
 *       not hold the partition yet — chosen with quota left first, then on the rack the partition uses
 *       least, then with the most quota left, then the lowest id. If every broker with room already
 *       holds every partition of an over-quota broker, that excess stays (a rare overshoot).</li>
 *   <li>Racks: a partition with more than ceil(RF / racks) replicas on one rack swaps the extra one to
 *       a less used rack.</li>
 *   <li>Preferred leaders: each target keeps its kept replicas in their old order, new ones after.
 *       Where the first replica already is the preferred leader of ceil(P / N) partitions, the member
 *       with the fewest preferred leaderships moves to the front (a reorder moves no data).</li>
 * </ol>
 * Without racks, when every replica is on a listed broker, the replicas moved are exactly
 * Σ max(0, held − quota), the least any assignment with these per-broker counts needs; a replica on an
 * unlisted broker costs its own move plus at most one more (its replacement may have to come from a
 * broker at quota, which then sheds one). {@code ReassignmentPlannerProperties} checks both.
 */
final class ReassignmentPlanner {
    /** Most topics one plan may cover. */
    static final int TOPICS_MAX = 1_000;
    /** Most brokers one plan may list. */
    static final int BROKERS_MAX = 10_000;

    private ReassignmentPlanner() {
    }

    /**
     * The targets that differ from the partitions' current targets.
     *
     * @throws ControllerException UNKNOWN_TOPIC, INVALID_REQUEST (empty, repeated or too many topics or
     *                             brokers), INVALID_REPLICA_ASSIGNMENT (an unregistered broker),
     *                             BROKER_DECOMMISSIONED, INSUFFICIENT_BROKERS (a partition's replication
     *                             factor exceeds the brokers listed)
     */
    static Map<PartitionRef, List<Integer>> plan(MetadataImage image, List<String> topicNames, List<Integer> brokers) {
        check(image, topicNames, brokers);
        Map<PartitionRef, List<Integer>> current = new LinkedHashMap<>();
        for (String name : topicNames) {
            TopicImage topic = image.topics().topic(name).orElseThrow();
            topic.partitions().forEach((p, reg) -> current.put(new PartitionRef(topic.id(), p), reg.targetReplicas()));
        }
        Map<Integer, String> rackOf = new HashMap<>();
        for (int id : brokers) {
            BrokerRegistration b = image.cluster().broker(id).orElseThrow();
            rackOf.put(id, b.rack().orElse("\u0000" + id));
        }
        int racks = new HashSet<>(rackOf.values()).size();
        Map<Integer, Integer> quota = quotas(current, brokers);
        Map<Integer, Integer> assigned = new HashMap<>();
        brokers.forEach(id -> assigned.put(id, 0));
        Map<PartitionRef, List<Integer>> kept = new LinkedHashMap<>();
        for (Map.Entry<PartitionRef, List<Integer>> e : current.entrySet()) {
            List<Integer> keep = new ArrayList<>();
            for (int id : e.getValue()) {
                if (assigned.containsKey(id)) {
                    keep.add(id);
                    assigned.merge(id, 1, Integer::sum);
                }
            }
            kept.put(e.getKey(), keep);
        }
        for (Map.Entry<PartitionRef, List<Integer>> e : current.entrySet()) {
            List<Integer> target = kept.get(e.getKey());
            while (target.size() < e.getValue().size()) {
                int chosen = choose(target, -1, brokers, rackOf, quota, assigned);
                target.add(chosen);
                assigned.merge(chosen, 1, Integer::sum);
            }
        }
        shedExcess(kept, brokers, rackOf, quota, assigned);
        separateRacks(kept, brokers, rackOf, quota, assigned, racks);
        balanceLeaders(kept, brokers);
        Map<PartitionRef, List<Integer>> plan = new LinkedHashMap<>();
        kept.forEach((ref, target) -> {
            if (!target.equals(current.get(ref))) {
                plan.put(ref, List.copyOf(target));
            }
        });
        return plan;
    }

    private static void check(MetadataImage image, List<String> topicNames, List<Integer> brokers) {
        if (topicNames.isEmpty() || topicNames.size() > TOPICS_MAX || new HashSet<>(topicNames).size() != topicNames.size()) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "name 1.." + TOPICS_MAX
                    + " distinct topics, not " + topicNames);
        }
        if (brokers.isEmpty() || brokers.size() > BROKERS_MAX || new HashSet<>(brokers).size() != brokers.size()) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "name 1.." + BROKERS_MAX
                    + " distinct brokers, not " + brokers);
        }
        for (int id : brokers) {
            if (image.cluster().broker(id).isEmpty()) {
                throw new ControllerException(ControllerException.Reason.INVALID_REPLICA_ASSIGNMENT, "broker " + id
                        + " is not registered");
            }
            if (image.cluster().isDecommissioned(id)) {
                throw new ControllerException(ControllerException.Reason.BROKER_DECOMMISSIONED, "broker " + id
                        + " is decommissioned");
            }
        }
        for (String name : topicNames) {
            TopicImage topic = TopicControl.requireTopic(image, name);
            for (PartitionRegistration p : topic.partitions().values()) {
                if (p.targetReplicas().size() > brokers.size()) {
                    throw new ControllerException(ControllerException.Reason.INSUFFICIENT_BROKERS, "topic " + name
                            + " has replication factor " + p.targetReplicas().size() + ", more than the "
                            + brokers.size() + " brokers listed");
                }
            }
        }
    }

    private static Map<Integer, Integer> quotas(Map<PartitionRef, List<Integer>> current, List<Integer> brokers) {
        Map<Integer, Integer> held = new HashMap<>();
        brokers.forEach(id -> held.put(id, 0));
        int total = 0;
        for (List<Integer> replicas : current.values()) {
            total += replicas.size();
            for (int id : replicas) {
                held.computeIfPresent(id, (k, v) -> v + 1);
            }
        }
        List<Integer> byHeld = new ArrayList<>(brokers);
        byHeld.sort(Comparator.comparing((Integer id) -> -held.get(id)).thenComparing(id -> id));
        Map<Integer, Integer> quota = new HashMap<>();
        for (int i = 0; i < byHeld.size(); i++) {
            quota.put(byHeld.get(i), total / brokers.size() + (i < total % brokers.size() ? 1 : 0));
        }
        return quota;
    }

    private static int rackUse(List<Integer> replicas, Map<Integer, String> rackOf, String rack) {
        int n = 0;
        for (int id : replicas) {
            if (rack.equals(rackOf.get(id))) {
                n++;
            }
        }
        return n;
    }

    /**
     * Moves replicas off brokers above their quota, one replica per move, to brokers below it that
     * the partition does not hold yet. Partitions are scanned in order, so the moves of one broker
     * spread over its partitions from the first on.
     */
    private static void shedExcess(Map<PartitionRef, List<Integer>> targets, List<Integer> brokers,
                                   Map<Integer, String> rackOf, Map<Integer, Integer> quota,
                                   Map<Integer, Integer> assigned) {
        for (int over : brokers) {
            for (List<Integer> target : targets.values()) {
                if (assigned.get(over) <= quota.get(over)) {
                    break;
                }
                int position = target.indexOf(over);
                if (position < 0) {
                    continue;
                }
                int chosen = choose(target, over, brokers, rackOf, quota, assigned);
                if (chosen < 0 || assigned.get(chosen) >= quota.get(chosen)) {
                    continue; // every broker with room already holds this partition
                }
                List<Integer> others = new ArrayList<>(target);
                others.remove(position);
                if (rackUse(others, rackOf, rackOf.get(chosen)) > rackUse(others, rackOf, rackOf.get(over))) {
                    continue; // the move would crowd a rack of this partition: another partition sheds instead
                }
                target.set(position, chosen);
                assigned.merge(over, -1, Integer::sum);
                assigned.merge(chosen, 1, Integer::sum);
            }
        }
    }

    /**
     * Where a partition has more than ceil(RF / racks) replicas on one rack, swaps the extra one for a
     * broker of a less used rack with room (or the least loaded one): rack spread beats one move.
     */
    private static void separateRacks(Map<PartitionRef, List<Integer>> targets, List<Integer> brokers,
                                      Map<Integer, String> rackOf, Map<Integer, Integer> quota,
                                      Map<Integer, Integer> assigned, int racks) {
        for (List<Integer> target : targets.values()) {
            int perRackMax = (target.size() + racks - 1) / racks;
            for (int i = target.size() - 1; i >= 0; i--) {
                int id = target.get(i);
                if (rackUse(target, rackOf, rackOf.get(id)) <= perRackMax) {
                    continue;
                }
                int chosen = -1;
                for (int candidate : brokers) {
                    if (target.contains(candidate) || rackUse(target, rackOf, rackOf.get(candidate)) >= perRackMax) {
                        continue;
                    }
                    // least used rack, then the broker furthest below its quota, then the lowest id
                    if (chosen < 0 || rackUse(target, rackOf, rackOf.get(candidate))
                            < rackUse(target, rackOf, rackOf.get(chosen))
                            || (rackUse(target, rackOf, rackOf.get(candidate)) == rackUse(target, rackOf, rackOf.get(chosen))
                            && assigned.get(candidate) - quota.get(candidate) < assigned.get(chosen) - quota.get(chosen))) {
                        chosen = candidate;
                    }
                }
                if (chosen < 0) {
                    continue;
                }
                target.set(i, chosen);
                assigned.merge(id, -1, Integer::sum);
                assigned.merge(chosen, 1, Integer::sum);
            }
        }
    }

    /**
     * The broker to take a replica of {@code target} (replacing {@code leaving}, or -1 when adding):
     * not in the partition; with quota left first; then on the rack the rest of the partition uses
     * least; then with the most quota left; then the lowest id. -1 if no broker is outside it.
     */
    private static int choose(List<Integer> target, int leaving, List<Integer> brokers, Map<Integer, String> rackOf,
                              Map<Integer, Integer> quota, Map<Integer, Integer> assigned) {
        List<Integer> others = new ArrayList<>(target);
        others.remove(Integer.valueOf(leaving));
        int best = -1;
        for (int id : brokers) {
            if (target.contains(id)) {
                continue;
            }
            if (best < 0 || better(id, best, others, rackOf, quota, assigned)) {
                best = id;
            }
        }
        return best;
    }

    private static boolean better(int a, int b, List<Integer> others, Map<Integer, String> rackOf,
                                  Map<Integer, Integer> quota, Map<Integer, Integer> assigned) {
        boolean aRoom = assigned.get(a) < quota.get(a);
        boolean bRoom = assigned.get(b) < quota.get(b);
        if (aRoom != bRoom) {
            return aRoom;
        }
        int c = Integer.compare(rackUse(others, rackOf, rackOf.get(a)), rackUse(others, rackOf, rackOf.get(b)));
        if (c == 0) {
            // most quota left first (or, past every quota, the least over it)
            c = Integer.compare(assigned.get(a) - quota.get(a), assigned.get(b) - quota.get(b));
        }
        return c != 0 ? c < 0 : a < b;
    }

    private static void balanceLeaders(Map<PartitionRef, List<Integer>> targets, List<Integer> brokers) {
        int cap = (targets.size() + brokers.size() - 1) / brokers.size();
        Map<Integer, Integer> leads = new HashMap<>();
        for (List<Integer> target : targets.values()) {
            int first = target.get(0);
            if (leads.getOrDefault(first, 0) >= cap) {
                int best = first;
                for (int id : target) {
                    if (leads.getOrDefault(id, 0) < leads.getOrDefault(best, 0)) {
                        best = id;
                    }
                }
                target.remove(Integer.valueOf(best));
                target.add(0, best);
            }
            leads.merge(target.get(0), 1, Integer::sum);
        }
    }
}
