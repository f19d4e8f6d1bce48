package dev.basalt.broker.replica.state;

import dev.basalt.log.EpochEndOffset;

/**
 * The follower's truncation rule after a leader change (Kafka KIP-101, refined by KIP-279): before
 * fetching from a new leader the follower asks OffsetForLeaderEpoch for its own latest epoch
 * {@code E} and truncates to where its log and the leader's agree.
 *
 * <ul>
 *   <li>The leader knows {@code E} (answers epoch {@code E}): truncate to
 *       {@code min(our LEO, leader's end offset for E)}; done.</li>
 *   <li>The leader answers an older epoch {@code E' < E} (it never wrote in {@code E}): our
 *       entries of epochs above {@code E'} diverge. Truncate to
 *       {@code min(leader's end offset for E', our end offset for E')} and ask again with our new
 *       latest epoch (KIP-279's multi-round exchange; each round strictly lowers our latest epoch,
 *       so it ends within as many rounds as we have epochs).</li>
 *   <li>The leader has no epoch at or below {@code E} ({@link EpochEndOffset#UNDEFINED}), or we
 *       have no epoch at all: fall back to our high watermark, below which every ISR member agrees
 *       (KIP-101's fallback); done.</li>
 * </ul>
 *
 * <p>Pure and stateless; thread-safe.
 */
public final class FollowerTruncation {
    private FollowerTruncation() {
    }

    /** Looks up the follower's own OffsetForLeaderEpoch answer (its LeaderEpochCache). */
    @FunctionalInterface
    public interface LocalEpochs {
        /** Same semantics as the leader's answer: largest local epoch ≤ {@code epoch} and its end offset. */
        EpochEndOffset endOffsetFor(int epoch);
    }

    /**
     * What to do after one OffsetForLeaderEpoch answer.
     *
     * @param truncateToOffset the offset to truncate the local log to (never above the local LEO)
     * @param askAgain         true when another round is needed with the (new) latest local epoch
     */
    public record Decision(long truncateToOffset, boolean askAgain) {
    }

    /**
     * Decides the truncation offset.
     *
     * @param localLogEndOffset   our log end offset
     * @param localHighWatermark  our high watermark (the fallback; clamped to the LEO)
     * @param requestedEpoch      the epoch we asked about (our latest), or UNDEFINED_EPOCH if we have none
     * @param leaderAnswer        the leader's answer for {@code requestedEpoch}
     * @param local               our own epoch lookup, for the KIP-279 case of an older answer
     */
    public static Decision decide(long localLogEndOffset, long localHighWatermark, int requestedEpoch,
                                  EpochEndOffset leaderAnswer, LocalEpochs local) {
        if (localLogEndOffset < 0) {
            throw new IllegalArgumentException("negative log end offset " + localLogEndOffset);
        }
        long fallback = Math.max(0, Math.min(localHighWatermark, localLogEndOffset));
        if (requestedEpoch == EpochEndOffset.UNDEFINED_EPOCH
                || leaderAnswer.leaderEpoch() == EpochEndOffset.UNDEFINED_EPOCH
                || leaderAnswer.endOffset() == EpochEndOffset.UNDEFINED_OFFSET) {
            return new Decision(fallback, false);
        }
        if (leaderAnswer.leaderEpoch() > requestedEpoch) {
            throw new IllegalArgumentException("leader answered epoch " + leaderAnswer.leaderEpoch()
                    + " above the requested " + requestedEpoch);
        }
        if (leaderAnswer.leaderEpoch() == requestedEpoch) {
            return new Decision(Math.min(localLogEndOffset, leaderAnswer.endOffset()), false);
        }
        // KIP-279: the leader never wrote in our latest epoch; its answer E' is older.
        EpochEndOffset ours = local.endOffsetFor(leaderAnswer.leaderEpoch());
        if (ours.leaderEpoch() == EpochEndOffset.UNDEFINED_EPOCH || ours.endOffset() == EpochEndOffset.UNDEFINED_OFFSET) {
            // Every epoch we hold is newer than anything the leader has at or below E: fall back.
            return new Decision(fallback, false);
        }
        long to = Math.min(localLogEndOffset, Math.min(ours.endOffset(), leaderAnswer.endOffset()));
        // Every local epoch above our floor of E' started at or after ours.endOffset(), so after the
        // truncation our latest epoch is strictly below E: the next round terminates or descends.
        return new Decision(to, true);
    }
}
