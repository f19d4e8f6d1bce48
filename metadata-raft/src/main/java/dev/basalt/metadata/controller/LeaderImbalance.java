package dev.basalt.metadata.controller;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * How far partition leadership is from the preferred replicas (the first replica of each partition),
 * for the controller's event loop to decide when to call {@code electPreferredLeaders}. Immutable.
 *
 * @param partitions                   every partition of every topic
 * @param notPreferred                 partitions with a leader other than their preferred replica
 * @param movable                      of those, how many a preferred election would move now (see
 *                                     {@code MetadataController.electPreferredLeaders} for the rules)
 * @param offline                      partitions without a leader (not counted in {@code notPreferred})
 * @param notPreferredByPreferredBroker for each broker, the partitions it should lead but does not
 *                                     (only brokers with at least one); Kafka's per-broker imbalance
 */
public record LeaderImbalance(int partitions, int notPreferred, int movable, int offline,
                              SortedMap<Integer, Integer> notPreferredByPreferredBroker) {
    public LeaderImbalance {
        notPreferredByPreferredBroker = Collections.unmodifiableSortedMap(new TreeMap<>(notPreferredByPreferredBroker));
        if (partitions < 0 || notPreferred < 0 || movable < 0 || offline < 0 || movable > notPreferred
                || notPreferred + offline > partitions) {
            throw new IllegalArgumentException("inconsistent counts: " + partitions + ", " + notPreferred + ", "
                    + movable + ", " + offline);
        }
    }

    /** {@code notPreferred / partitions}, 0 without partitions. */
    public double notPreferredRatio() {
        return partitions == 0 ? 0.0 : (double) notPreferred / partitions;
    }
}
