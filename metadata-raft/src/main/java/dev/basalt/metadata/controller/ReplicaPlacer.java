package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * Chooses replicas for new partitions, balancing leaders and replicas over the live (unfenced)
 * brokers and spreading each partition over racks. Stateless apart from the injected seeded
 * generator; not thread-safe (the controller thread owns it).
 *
 * <p>Method (greedy, one partition at a time, counting what the image already holds):
 * <ol>
 *   <li>Load: for every live broker, how many partitions of the whole image list it as a replica and
 *       as the preferred leader (first replica), plus what this request placed so far. Fenced brokers
 *       get nothing; their partitions do not count against others.</li>
 *   <li>Leader (first replica): the broker that is the preferred leader of the fewest partitions
 *       placed so far in this request (one topic's new partitions), then of the whole image, then the
 *       one with the fewest replicas, then the rank of a
 *       per-request shuffle drawn from the generator (so equal clusters do not always pile the first
 *       partition onto broker 0). The request comes first: a topic's traffic follows its leaders, and
 *       a broker with few leaderships cluster-wide (just recommissioned or added) otherwise led
 *       every partition of each new topic until it caught up (found probing).</li>
 *   <li>Each further replica: among the brokers not chosen yet, only those on the racks this
 *       partition uses least so far (racks first: with R racks and RF &lt;= R every replica is on its
 *       own rack; with RF &gt; R a rack gets a second replica only once every rack has one); among
 *       those, the broker with the fewest replicas, then the one leading the most (so brokers that
 *       lead less keep room for the next leadership without overtaking the others' replica count),
 *       then the rack holding the fewest replicas, then the shuffle rank. A broker without a rack is a
 *       rack of its own.</li>
 * </ol>
 * Within one request, the new partitions' preferred-leader counts per broker differ by at most one;
 * starting from empty brokers, so do the whole image's, after any number of partitions (each round
 * of as many partitions as brokers gives every broker one, and a partial round goes to the brokers
 * that lead least). Counting a topic's existing partitions as well (when partitions are added)
 * would break the second promise, so they count only cluster-wide. With one replication factor,
 * replica counts differ by at most two without racks and with equally sized racks and RF &lt;= R
 * (spreading a request's leaders first may make a broker lead while it holds a replica more than
 * others; it was one without racks when leaders went only to the cluster's least-leading broker);
 * with mixed replication factors no online rule can promise both counts. {@code ReplicaPlacerProperties}
 * checks these bounds. Cost: O(partitions × brokers × RF) per request, plus one scan of the image.
 */
final class ReplicaPlacer {
    private final RandomGenerator random;

    ReplicaPlacer(RandomGenerator random) {
        this.random = random;
    }

    /**
     * Replica lists for {@code count} new partitions.
     *
     * @param image       the image the partitions are added to (its partitions count as load)
     * @param liveBrokers registered, unfenced brokers (at least {@code replicationFactor} of them)
     */
    List<List<Integer>> place(MetadataImage image, List<BrokerRegistration> liveBrokers, int count,
                              int replicationFactor) {
        return placement(image, liveBrokers, count, replicationFactor).replicas();
    }

    /**
     * The new partitions' replica lists, and each live broker's replica count with them in place
     * (the load placement counted anyway).
     */
    record Placement(List<List<Integer>> replicas, Map<Integer, Integer> replicasPerBroker) {
    }

    /** As {@link #place}, with the resulting replica count of each live broker. */
    Placement placement(MetadataImage image, List<BrokerRegistration> liveBrokers, int count, int replicationFactor) {
        if (replicationFactor < 1 || replicationFactor > liveBrokers.size()) {
            throw new IllegalArgumentException("replication factor " + replicationFactor + " with "
                    + liveBrokers.size() + " live brokers");
        }
        Load load = new Load(liveBrokers, shuffledRanks(liveBrokers));
        for (TopicImage t : image.topics().topicsById().values()) {
            for (PartitionRegistration p : t.partitions().values()) {
                load.add(p.replicas(), false);
            }
        }
        List<List<Integer>> assignments = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            List<Integer> replicas = load.choose(replicationFactor);
            load.add(replicas, true);
            assignments.add(List.copyOf(replicas));
        }
        return new Placement(assignments, Map.copyOf(load.replicas));
    }

    /** Broker id to its rank in a fresh seeded shuffle (Fisher-Yates over the id-ordered list). */
    private Map<Integer, Integer> shuffledRanks(List<BrokerRegistration> brokers) {
        List<Integer> ids = new ArrayList<>(brokers.stream().map(BrokerRegistration::brokerId).sorted().toList());
        for (int i = ids.size() - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            ids.set(i, ids.set(j, ids.get(i)));
        }
        Map<Integer, Integer> ranks = new HashMap<>();
        for (int i = 0; i < ids.size(); i++) {
            ranks.put(ids.get(i), i);
        }
        return ranks;
    }

    /** Replica and leader counts of the live brokers and their racks. Not thread-safe; one request. */
    private static final class Load {
        private final List<Integer> brokers;
        private final Map<Integer, String> rackOf = new HashMap<>();
        private final Map<Integer, Integer> rank;
        private final Map<Integer, Integer> replicas = new HashMap<>();
        private final Map<Integer, Integer> leaders = new HashMap<>();
        /** Preferred leaderships of the partitions this request placed so far. */
        private final Map<Integer, Integer> requestLeaders = new HashMap<>();
        private final Map<String, Integer> rackReplicas = new HashMap<>();

        Load(List<BrokerRegistration> live, Map<Integer, Integer> rank) {
            this.rank = rank;
            this.brokers = live.stream().map(BrokerRegistration::brokerId).sorted().toList();
            for (BrokerRegistration b : live) {
                // "\u0000" keeps a rackless broker's own key apart from every real rack name.
                rackOf.put(b.brokerId(), b.rack().orElse("\u0000" + b.brokerId()));
                replicas.put(b.brokerId(), 0);
                leaders.put(b.brokerId(), 0);
                requestLeaders.put(b.brokerId(), 0);
            }
        }

        /** Counts a partition's replicas; {@code placedNow}: one this request placed. */
        void add(List<Integer> partitionReplicas, boolean placedNow) {
            for (int i = 0; i < partitionReplicas.size(); i++) {
                int id = partitionReplicas.get(i);
                if (!replicas.containsKey(id)) {
                    continue; // not live: its load does not matter for placement
                }
                replicas.merge(id, 1, Integer::sum);
                rackReplicas.merge(rackOf.get(id), 1, Integer::sum);
                if (i == 0) {
                    leaders.merge(id, 1, Integer::sum);
                    if (placedNow) {
                        requestLeaders.merge(id, 1, Integer::sum);
                    }
                }
            }
        }

        List<Integer> choose(int replicationFactor) {
            List<Integer> chosen = new ArrayList<>(replicationFactor);
            Map<String, Integer> rackUse = new HashMap<>(); // replicas of this partition per rack
            int leader = -1;
            for (int id : brokers) {
                if (leader < 0 || leaderOrder(id, leader) < 0) {
                    leader = id;
                }
            }
            chosen.add(leader);
            rackUse.merge(rackOf.get(leader), 1, Integer::sum);
            while (chosen.size() < replicationFactor) {
                // Racks first: only brokers on the racks this partition uses least (a new rack while any
                // is left; with RF > racks, a second replica per rack only once every rack has one).
                int leastUse = Integer.MAX_VALUE;
                for (int id : brokers) {
                    if (!chosen.contains(id)) {
                        leastUse = Math.min(leastUse, rackUse.getOrDefault(rackOf.get(id), 0));
                    }
                }
                int best = -1;
                for (int id : brokers) {
                    if (chosen.contains(id) || rackUse.getOrDefault(rackOf.get(id), 0) != leastUse) {
                        continue;
                    }
                    if (best < 0 || followerOrder(id, best) < 0) {
                        best = id;
                    }
                }
                chosen.add(best);
                rackUse.merge(rackOf.get(best), 1, Integer::sum);
            }
            return chosen;
        }

        private int leaderOrder(int a, int b) {
            int c = Integer.compare(requestLeaders.get(a), requestLeaders.get(b));
            if (c == 0) {
                c = Integer.compare(leaders.get(a), leaders.get(b));
            }
            if (c == 0) {
                c = Integer.compare(replicas.get(a), replicas.get(b));
            }
            return c != 0 ? c : Integer.compare(rank.get(a), rank.get(b));
        }

        private int followerOrder(int a, int b) {
            int c = Integer.compare(replicas.get(a), replicas.get(b));
            if (c == 0) {
                // Followers come from brokers that lead more, so those that lead less keep few replicas
                // and can take the next leadership without overtaking the others' replica count.
                c = Integer.compare(leaders.get(b), leaders.get(a));
            }
            if (c == 0) {
                c = Integer.compare(rackReplicas.getOrDefault(rackOf.get(a), 0),
                        rackReplicas.getOrDefault(rackOf.get(b), 0));
            }
            return c != 0 ? c : Integer.compare(rank.get(a), rank.get(b));
        }
    }
}
