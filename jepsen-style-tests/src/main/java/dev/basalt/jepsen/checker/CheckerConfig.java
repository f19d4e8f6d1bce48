package dev.basalt.jepsen.checker;

import java.util.EnumSet;
import java.util.Set;

/**
 * What the run promised, which decides the anomalies {@link QueueChecker} tolerates. Everything
 * not listed by {@link #allowed()} fails the run.
 *
 * <table>
 *   <caption>Allowed anomalies per configuration</caption>
 *   <tr><th>configuration</th><th>allowed</th><th>why</th></tr>
 *   <tr><td>{@code idempotentProducer = false}</td><td>duplicate, int-nonmonotonic-send</td>
 *       <td>a retried batch may be written twice, and with several batches in flight a retry
 *       may land after a later batch</td></tr>
 *   <tr><td>{@code acksAll = false} or {@code uncleanLeaderElection = true}</td>
 *       <td>lost-write, unseen, inconsistent-offsets, lost-on-node</td>
 *       <td>an acknowledged record may exist only on a leader that then fails, and an unclean
 *       leader rewrites offsets the old leader had handed out</td></tr>
 *   <tr><td>{@code durableAcks = false} and {@code crashLosesUnsyncedOnIsr = true}</td>
 *       <td>lost-write, unseen, inconsistent-offsets, lost-on-node</td>
 *       <td>without durable acks an acknowledgement means "in the ISR members' memory"; a crash
 *       that discards unfsynced data on every ISR member at once (the {@code lost-unfsynced-all}
 *       nemesis) loses it. With durable acks (Basalt's default: the high watermark counts only
 *       offsets fsynced on every ISR member) such a crash loses nothing acknowledged, and a
 *       crash of a minority never does</td></tr>
 *   <tr><td>{@code finalReads = false}</td><td>unseen</td>
 *       <td>without reads after healing, the tail of the log may simply not have been read
 *       yet</td></tr>
 *   <tr><td>{@code atomicMultiSends = false}</td><td>int-send-skip</td>
 *       <td>separate sends of one operation are separate batches; other producers'
 *       batches may land between them</td></tr>
 * </table>
 *
 * <p>Never allowed: G1a, phantom, poll-skip, nonmonotonic-poll, int-poll-skip,
 * int-nonmonotonic-poll, nonmonotonic-send, nonmonotonic-commit, double-owner. Poll order is
 * judged only between two assignments of a key to the process (see
 * {@link dev.basalt.jepsen.history.Fn#ASSIGN}), so a rebalance that hands a key back later is not
 * a skip.
 *
 * <p>Thread-safety: immutable record.
 */
public record CheckerConfig(boolean idempotentProducer, boolean acksAll, boolean uncleanLeaderElection, boolean finalReads,
                            boolean atomicMultiSends, int examplesMax, boolean durableAcks, boolean crashLosesUnsyncedOnIsr) {
    public CheckerConfig {
        if (examplesMax < 1 || examplesMax > 1000) {
            throw new IllegalArgumentException("examplesMax must be 1..1000");
        }
    }

    /** Durable acks and no crash that loses unsynced data on a whole ISR. */
    public CheckerConfig(boolean idempotentProducer, boolean acksAll, boolean uncleanLeaderElection, boolean finalReads,
                         boolean atomicMultiSends, int examplesMax) {
        this(idempotentProducer, acksAll, uncleanLeaderElection, finalReads, atomicMultiSends, examplesMax, true, false);
    }

    /** This configuration for a run with the topic's {@code durable.acks} and whether a crash can lose unsynced data on every ISR member. */
    public CheckerConfig withUnsyncedLoss(boolean durable, boolean wholeIsrCrashes) {
        return new CheckerConfig(idempotentProducer, acksAll, uncleanLeaderElection, finalReads, atomicMultiSends, examplesMax, durable,
                wholeIsrCrashes);
    }

    /** Basalt's defaults: idempotent acks=all producer, clean elections, final reads, non-atomic multi-sends. */
    public static CheckerConfig basaltDefaults() {
        return new CheckerConfig(true, true, false, true, false, 8);
    }

    /** Nothing tolerated: for tests that inject one anomaly and expect exactly it. */
    public static CheckerConfig strict() {
        return new CheckerConfig(true, true, false, true, true, 8);
    }

    public Set<Anomaly> allowed() {
        Set<Anomaly> a = EnumSet.noneOf(Anomaly.class);
        if (!idempotentProducer) {
            a.add(Anomaly.DUPLICATE);
            a.add(Anomaly.INT_NONMONOTONIC_SEND);
        }
        if (!acksAll || uncleanLeaderElection || (!durableAcks && crashLosesUnsyncedOnIsr)) {
            a.add(Anomaly.LOST_WRITE);
            a.add(Anomaly.UNSEEN);
            a.add(Anomaly.INCONSISTENT_OFFSETS);
            a.add(Anomaly.LOST_ON_NODE);
        }
        if (!finalReads) {
            a.add(Anomaly.UNSEEN);
        }
        if (!atomicMultiSends) {
            a.add(Anomaly.INT_SEND_SKIP);
        }
        return a;
    }
}
