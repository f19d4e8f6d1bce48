package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.BrokerRegistration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.random.RandomGenerator;

/**
 * Chooses replicas for new partitions, spread round-robin across brokers and racks. Stateless apart
 * from the injected seeded generator; not thread-safe (the controller thread owns it).
 *
 * <p>Method: order the live brokers so that racks alternate — the first broker of each rack (racks
 * sorted by name, brokers by id), then the second of each, and so on; brokers without a rack each
 * count as a rack of their own. Partition {@code p} takes the {@code replicationFactor} consecutive
 * brokers of that ring starting at {@code (start + p)}, where {@code start} is drawn once per request
 * from the generator. So leaders (the first replica) rotate over all brokers, the replicas of one
 * partition sit on as many different racks as the ring allows, and two topics created in a row do
 * not pile their leaders onto the same broker.
 */
final class ReplicaPlacer {
    private final RandomGenerator random;

    ReplicaPlacer(RandomGenerator random) {
        this.random = random;
    }

    /**
     * Replica lists for partitions {@code firstPartition .. firstPartition + count - 1}.
     *
     * @param liveBrokers registered, unfenced brokers (at least {@code replicationFactor} of them)
     */
    List<List<Integer>> place(List<BrokerRegistration> liveBrokers, int firstPartition, int count,
                              int replicationFactor) {
        List<Integer> ring = rackAlternatingRing(liveBrokers);
        if (replicationFactor < 1 || replicationFactor > ring.size()) {
            throw new IllegalArgumentException("replication factor " + replicationFactor + " with " + ring.size()
                    + " live brokers");
        }
        int start = random.nextInt(ring.size());
        List<List<Integer>> assignments = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int first = Math.floorMod(start + firstPartition + i, ring.size());
            List<Integer> replicas = new ArrayList<>(replicationFactor);
            for (int r = 0; r < replicationFactor; r++) {
                replicas.add(ring.get((first + r) % ring.size()));
            }
            assignments.add(List.copyOf(replicas));
        }
        return assignments;
    }

    static List<Integer> rackAlternatingRing(List<BrokerRegistration> brokers) {
        TreeMap<String, List<Integer>> byRack = new TreeMap<>();
        for (BrokerRegistration b : brokers) {
            // A broker without a rack is its own failure domain; "\u0000" keeps these keys apart from real racks.
            String rack = b.rack().orElse("\u0000" + b.brokerId());
            byRack.computeIfAbsent(rack, r -> new ArrayList<>()).add(b.brokerId());
        }
        byRack.values().forEach(list -> list.sort(Integer::compare));
        List<Integer> ring = new ArrayList<>(brokers.size());
        for (int round = 0; ring.size() < brokers.size(); round++) {
            for (Map.Entry<String, List<Integer>> rack : byRack.entrySet()) {
                if (round < rack.getValue().size()) {
                    ring.add(rack.getValue().get(round));
                }
            }
        }
        return ring;
    }
}
