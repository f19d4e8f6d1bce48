package dev.basalt.log;

/**
 * Answer to OffsetForLeaderEpoch: the largest epoch at or below the requested one and the offset
 * where it ended (the start offset of the next larger epoch, or the log end offset when it is the
 * current epoch). Kafka's semantics (KIP-101/KIP-279). Immutable.
 */
public record EpochEndOffset(int leaderEpoch, long endOffset) {
    public static final int UNDEFINED_EPOCH = -1;
    public static final long UNDEFINED_OFFSET = -1L;
    public static final EpochEndOffset UNDEFINED = new EpochEndOffset(UNDEFINED_EPOCH, UNDEFINED_OFFSET);
}
