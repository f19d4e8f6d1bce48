package dev.basalt.cli;

import dev.basalt.client.admin.PartitionReassignment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code reassign --verify}'s copy rate and ETA from two listings of the reassignments in progress
 * taken {@code windowMs} apart (measured, not the nominal sleep). Per receiving broker, since the
 * catch-up throttle ({@code reassignment.throttle.bytes.per.second}) is a per-broker limit on the
 * brokers being added to:
 * <ul>
 *   <li>copied: the growth of each adding replica present (and still adding) in both listings; a
 *       replica that appears only in the second counts nothing (its whole size was not copied in
 *       the window), one that finished meanwhile counts nothing either;</li>
 *   <li>rate: copied over the window, capped at that broker's throttle when it has one (the
 *       throttle's one-second burst and a leader's whole first batch can exceed it in a short
 *       window, never over a catch-up);</li>
 *   <li>ETA: the longest of the brokers' remaining bytes over their rates (unknown when a broker
 *       with bytes left copied nothing, or did not report).</li>
 * </ul>
 * Found probing: a 1 MB/s throttle showed 1.56 MB/s and "ETA 9 s" for a copy that took 19 s more
 * (bytes over the nominal 1 s, the throttle's burst included). Thread-safety: stateless.
 */
final class CopyRate {
    private CopyRate() {
    }

    /**
     * @param bytesPerSecond   the copy rate, capped at the throttles
     * @param windowMs         the window it was measured over
     * @param capped           whether a broker's measured rate exceeded its throttle (and was cut to it)
     * @param throttles        the throttle of each adding broker that has one (bytes/s), by broker id
     * @param etaSeconds       seconds until the adding replicas hold the leaders' bytes; NaN when unknown
     */
    record Estimate(double bytesPerSecond, long windowMs, boolean capped, Map<Integer, Long> throttles, double etaSeconds) {
    }

    /**
     * @param throttleByBroker each broker's catch-up throttle in bytes/s; absent or 0 = unlimited
     */
    static Estimate estimate(List<PartitionReassignment> first, List<PartitionReassignment> second, long windowMs,
                             Map<Integer, Long> throttleByBroker) {
        Map<String, PartitionReassignment> before = new HashMap<>();
        first.forEach(r -> before.put(r.topic() + "-" + r.partition(), r));
        Map<Integer, Long> copied = new TreeMap<>();
        Map<Integer, Long> remaining = new TreeMap<>();
        boolean remainingKnown = true;
        for (PartitionReassignment r : second) {
            PartitionReassignment was = before.get(r.topic() + "-" + r.partition());
            PartitionReassignment.ReplicaProgress lead = r.progress().get(r.leader());
            for (int id : r.adding()) {
                PartitionReassignment.ReplicaProgress now = r.progress().get(id);
                PartitionReassignment.ReplicaProgress then = was == null || !was.adding().contains(id) ? null : was.progress().get(id);
                copied.merge(id, now == null || then == null ? 0 : Math.max(0, now.sizeBytes() - then.sizeBytes()), Long::sum);
                if (now == null || lead == null) {
                    remainingKnown = false;
                } else {
                    remaining.merge(id, Math.max(0, lead.sizeBytes() - now.sizeBytes()), Long::sum);
                }
            }
        }
        Map<Integer, Long> throttles = new TreeMap<>();
        double total = 0;
        boolean capped = false;
        double eta = remainingKnown ? 0 : Double.NaN;
        long window = Math.max(1, windowMs);
        for (Map.Entry<Integer, Long> e : copied.entrySet()) {
            int id = e.getKey();
            double rate = e.getValue() * 1000.0 / window;
            long throttle = throttleByBroker.getOrDefault(id, 0L);
            if (throttle > 0) {
                throttles.put(id, throttle);
                if (rate > throttle) {
                    rate = throttle;
                    capped = true;
                }
            }
            total += rate;
            long left = remaining.getOrDefault(id, 0L);
            if (left > 0) {
                eta = rate > 0 ? Math.max(eta, left / rate) : Double.NaN;
            }
        }
        return new Estimate(total, window, capped, throttles, eta);
    }

    /** ", copying N bytes/s (measured over S s; ...), ETA T s" or with "ETA unknown". */
    static String describe(Estimate e) {
        StringBuilder b = new StringBuilder();
        if (e.bytesPerSecond() > 0) {
            b.append(String.format(java.util.Locale.ROOT, ", copying %.0f bytes/s (over %.1f s", e.bytesPerSecond(),
                    e.windowMs() / 1000.0));
            if (!e.throttles().isEmpty()) {
                java.util.Set<Long> values = new java.util.TreeSet<>(e.throttles().values());
                b.append(e.capped() ? "; capped at " : "; within ").append("the catch-up throttle of ")
                        .append(values.size() == 1 ? values.iterator().next() + " bytes/s per broker"
                                : "brokers " + e.throttles() + " bytes/s");
            }
            b.append(")");
        }
        b.append(Double.isNaN(e.etaSeconds()) ? ", ETA unknown"
                : String.format(java.util.Locale.ROOT, ", ETA %.0f s", Math.ceil(e.etaSeconds())));
        return b.toString();
    }
}
