package dev.basalt.client.internal;

import dev.basalt.client.TopicPartition;
import java.util.HashMap;
import java.util.Map;

/**
 * The idempotent producer's identity and sequences (KIP-98): a producer id and epoch from the
 * cluster (InitProducerId) and, per partition, the sequence the next batch starts at. Each batch
 * is stamped once, when first drained for sending; retries resend its sequence, so a leader
 * recognises a retry of a batch it already stored and answers with the original offsets.
 *
 * <p>Epoch bump (KIP-360): once a stamped batch fails (its outcome unknown past
 * delivery.timeout.ms, or refused), the partition's next sequence may no longer follow what the
 * leader holds. No new batch is stamped from then on; when every stamped batch is resolved, the
 * producer asks for the next epoch of its id and restarts every partition at sequence 0, which the
 * leaders accept as a new epoch. A refused epoch (INVALID_PRODUCER_EPOCH) asks for a fresh id
 * instead. Nothing is ever stamped with an epoch older than one a batch already used.
 *
 * <p>Thread-safety: not thread-safe; confined to the sender thread (the accumulator calls
 * {@link #stamp} from {@code drain}, which the sender thread runs).
 */
public final class IdempotenceState {
    private final Map<TopicPartition, Integer> nextSequence = new HashMap<>();
    private long producerId = -1;
    private short epoch = -1;
    /** Stamped batches not yet completed or failed. */
    private int unresolved;
    private String bumpReason;
    private boolean freshIdNeeded;
    private boolean initInFlight;
    private long initNotBeforeMs = Long.MIN_VALUE;
    private long bumps;
    /** Why the last InitProducerId failed, null once one succeeded (named when a waiting batch expires). */
    private String lastInitFailure;

    public boolean hasProducerId() {
        return producerId >= 0;
    }

    public long producerId() {
        return producerId;
    }

    public short epoch() {
        return epoch;
    }

    /** Epoch bumps and fresh ids taken after the first id (a metric). */
    public long bumps() {
        return bumps;
    }

    /** Whether a new batch may be stamped now (an id is known and no bump is waiting). */
    public boolean mayStamp() {
        return hasProducerId() && bumpReason == null && !freshIdNeeded;
    }

    /** Stamps a batch about to be sent for the first time with the next sequence of its partition. */
    public void stamp(ProducerBatch b) {
        if (!mayStamp()) {
            throw new IllegalStateException("no batch may be stamped now (producer id " + producerId + ", bump: " + bumpReason + ")");
        }
        int seq = nextSequence.getOrDefault(b.partition(), 0);
        b.setProducerState(producerId, epoch, seq);
        nextSequence.put(b.partition(), (int) ((seq + (long) b.recordCount()) % (1L + Integer.MAX_VALUE)));
        unresolved++;
    }

    /** A batch completed (written, or a duplicate of a written one) or failed for good. */
    public void onResolved(ProducerBatch b, boolean failed) {
        if (!b.hasSequence() || b.producerId() != producerId || b.producerEpoch() != epoch) {
            return;
        }
        unresolved--;
        if (failed && bumpReason == null) {
            bumpReason = b.partition() + " seq " + b.baseSequence() + " failed";
        }
    }

    /** The leader refused our epoch: only a fresh id helps. */
    public void requestFreshId() {
        freshIdNeeded = true;
    }

    /** Whether an InitProducerId request should go out now. */
    public boolean needsInit(long nowMs) {
        if (initInFlight || nowMs < initNotBeforeMs) {
            return false;
        }
        return !hasProducerId() || ((bumpReason != null || freshIdNeeded) && unresolved == 0);
    }

    /** The (id, epoch) to send: -1/-1 for a fresh id, else ours (an epoch bump). */
    public long requestProducerId() {
        return hasProducerId() && !freshIdNeeded ? producerId : -1;
    }

    public int requestEpoch() {
        return hasProducerId() && !freshIdNeeded ? epoch : -1;
    }

    public void onInitSent() {
        initInFlight = true;
    }

    /** The cluster's answer: every partition starts again at sequence 0. */
    public void onInit(long newProducerId, short newEpoch) {
        initInFlight = false;
        if (hasProducerId()) {
            bumps++;
        }
        producerId = newProducerId;
        epoch = newEpoch;
        nextSequence.clear();
        bumpReason = null;
        freshIdNeeded = false;
        unresolved = 0;
        lastInitFailure = null;
    }

    /** @param why the broker's error or the transport failure, named by {@link #waitReason()} */
    public void onInitFailed(long retryAtMs, String why) {
        initInFlight = false;
        initNotBeforeMs = retryAtMs;
        lastInitFailure = why;
    }

    /**
     * Why new batches cannot be stamped (and so wait unsent), or null when they can: no producer id
     * yet, or an epoch bump or fresh id pending, with the last InitProducerId failure if any.
     */
    public String waitReason() {
        if (mayStamp()) {
            return null;
        }
        String what = !hasProducerId() ? "the producer has no producer id yet"
                : "the producer waits for " + (freshIdNeeded ? "a fresh producer id" : "its producer epoch bump (" + bumpReason + ")");
        return what + (lastInitFailure == null ? "" : "; the last InitProducerId failed: " + lastInitFailure);
    }

    /** Why a bump waits, or null. */
    public String bumpReason() {
        return bumpReason;
    }
}
