package dev.basalt.jepsen.nemesis;

import dev.basalt.harness.Cluster;
import dev.basalt.harness.Netfilter;
import dev.basalt.jepsen.schedule.FaultKind;
import java.util.ArrayList;
import java.util.List;

/**
 * Network partitions between the nodes' processes at the packet level ({@link Netfilter}):
 *
 * <ul>
 *   <li>halves: ⌊n/2⌋ nodes against the rest;</li>
 *   <li>isolate one: one node against the rest;</li>
 *   <li>one way: every packet the chosen node sends to another node is dropped; it still
 *       receives theirs (TCP then breaks both ways for connections it needs to answer, as a real
 *       one-way fault does);</li>
 *   <li>majorities ring: each node reaches only its two neighbours in a ring (with 5 nodes each
 *       sees a different majority); with 3 nodes this is a bridge: one pair cut, the third node
 *       reaching both, so every node still sees a majority.</li>
 * </ul>
 *
 * Clients in the test JVM keep reaching every node (their packets come from 127.0.0.1). Heal
 * removes every drop rule.
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}).
 */
public final class PartitionNemesis implements Nemesis {
    private final Cluster cluster;
    private final Netfilter netfilter;
    private final FaultKind kind;
    private final int choice;

    public PartitionNemesis(Cluster cluster, FaultKind kind, int choice) {
        this.cluster = cluster;
        this.netfilter = cluster.netfilter().orElseThrow(() -> new IllegalStateException(
                "partition nemesis needs a cluster built with networkFaults(): " + Netfilter.unavailableReason().orElse("")));
        this.kind = kind;
        this.choice = choice;
    }

    @Override
    public String start() {
        List<Integer> ring = Targets.rotated(cluster, choice);
        int n = ring.size();
        switch (kind) {
            case PARTITION_HALVES -> netfilter.cut(ring.subList(0, n / 2), ring.subList(n / 2, n));
            case PARTITION_ISOLATE_ONE -> netfilter.cut(ring.subList(0, 1), ring.subList(1, n));
            case PARTITION_ONE_WAY -> ring.subList(1, n).forEach(other -> netfilter.drop(ring.get(0), other));
            case PARTITION_RING -> {
                if (n == 3) {
                    netfilter.cut(List.of(ring.get(1)), List.of(ring.get(2)));
                } else {
                    for (int i = 0; i < n; i++) {
                        for (int j = i + 1; j < n; j++) {
                            int distance = Math.min(j - i, n - (j - i));
                            if (distance > 1) {
                                netfilter.cut(List.of(ring.get(i)), List.of(ring.get(j)));
                            }
                        }
                    }
                }
            }
            default -> throw new IllegalArgumentException("not a partition: " + kind);
        }
        return kind.jsonName() + " dropping " + new ArrayList<>(netfilter.drops());
    }

    @Override
    public String heal() {
        netfilter.heal();
        return "network healed";
    }
}
