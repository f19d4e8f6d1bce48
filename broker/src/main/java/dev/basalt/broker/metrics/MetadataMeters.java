package dev.basalt.broker.metrics;

import dev.basalt.broker.metadata.MetadataSubscriber;
import dev.basalt.broker.metadata.MetadataUpdate;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import io.prometheus.metrics.core.metrics.Counter;
import java.util.function.BooleanSupplier;

/**
 * Counts partition events from the metadata updates this node applies:
 * <ul>
 *   <li>ISR shrinks and expands of the partitions this broker leads after the change (Kafka's
 *       IsrShrinksPerSec/IsrExpandsPerSec are counted by the leader too);</li>
 *   <li>leader elections and unclean ones (the new leader was not in the previous ISR), counted
 *       by the node that is the active controller when it applies them, so the cluster's total is
 *       the sum over controllers;</li>
 * </ul>
 * and drops a deleted topic's traffic series. The publisher may coalesce updates (an ISR that
 * shrank and grew back between two updates is not seen): the counts are lower bounds.
 *
 * <p>Thread-safety: called on the metadata publisher's thread only; the counters are thread-safe.
 */
public final class MetadataMeters implements MetadataSubscriber {
    private final BrokerMetrics metrics;
    private final int brokerId;
    private final BooleanSupplier activeController;
    private final Counter isrShrinks;
    private final Counter isrExpands;
    private final Counter elections;
    private final Counter uncleanElections;

    public MetadataMeters(BrokerMetrics metrics, int brokerId, BooleanSupplier activeController) {
        this.metrics = metrics;
        this.brokerId = brokerId;
        this.activeController = activeController;
        var registry = metrics.registry();
        isrShrinks = Counter.builder().name("basalt_isr_shrinks_total").help("ISR shrinks of partitions led here")
                .withoutExemplars().register(registry);
        isrExpands = Counter.builder().name("basalt_isr_expands_total").help("ISR expands of partitions led here")
                .withoutExemplars().register(registry);
        elections = Counter.builder().name("basalt_leader_elections_total")
                .help("Partition leader elections (new leader epoch with a leader) applied while this node was the active"
                        + " controller").withoutExemplars().register(registry);
        uncleanElections = Counter.builder().name("basalt_unclean_leader_elections_total")
                .help("Leader elections whose new leader was not in the previous ISR (records may be lost)")
                .withoutExemplars().register(registry);
    }

    @Override
    public void onMetadataUpdate(MetadataUpdate update) {
        boolean controller = activeController.getAsBoolean();
        for (TopicImage removed : update.removedTopics()) {
            metrics.removeTopic(removed.name());
        }
        for (MetadataUpdate.PartitionChange c : update.changedPartitions()) {
            TopicImage before = update.previous().topics().topicsById().get(c.topic().id());
            PartitionRegistration was = before == null ? null : before.partitions().get(c.partition());
            if (was == null) {
                continue; // a new partition: its first leader is an assignment, not an election
            }
            PartitionRegistration now = c.registration();
            if (now.leader() == brokerId && now.leaderEpoch() == was.leaderEpoch()) {
                if (now.isr().size() < was.isr().size()) {
                    isrShrinks.inc();
                } else if (now.isr().size() > was.isr().size()) {
                    isrExpands.inc();
                }
            }
            if (controller && now.leaderEpoch() > was.leaderEpoch() && now.hasLeader() && now.leader() != was.leader()) {
                elections.inc();
                if (!was.isr().contains(now.leader()) && !was.elr().contains(now.leader())) {
                    uncleanElections.inc();
                }
            }
        }
    }
}
