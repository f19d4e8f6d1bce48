package dev.basalt.common;

import dev.basalt.proto.v1.ErrorCode;

/**
 * What a produce answer's error code says about the batch it answers (produce.proto), in one place
 * for the Java client and the brokers' thin-client gateway: both resend a batch and must never
 * tell their caller "not written" for a batch the leader may hold.
 *
 * <p>Thread-safety: stateless.
 */
public final class ProduceAnswers {
    private ProduceAnswers() {
    }

    /**
     * True only for codes the leader gives before it appends anything of the batch: the list is
     * closed, so every other code (UNKNOWN_SERVER_ERROR, REQUEST_TIMED_OUT,
     * NOT_ENOUGH_REPLICAS_AFTER_APPEND, STORAGE_ERROR, a code added later) counts as possibly
     * appended. NOT_LEADER with {@code acksAll} also comes when leadership moved while the
     * appended batch waited for the ISR, so it is refused-before only without acks=all. NONE and
     * DUPLICATE_SEQUENCE are answers about a stored batch, not refusals: false.
     */
    public static boolean refusedBeforeAppend(ErrorCode code, boolean acksAll) {
        return switch (code) {
            case NOT_ENOUGH_REPLICAS, INVALID_REQUEST, RECORD_TOO_LARGE, INVALID_RECORD, CORRUPT_RECORD, UNKNOWN_TOPIC,
                 UNKNOWN_TOPIC_ID, INVALID_TOPIC, INVALID_PARTITION, REPLICA_NOT_AVAILABLE, BROKER_NOT_AVAILABLE,
                 FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, OUT_OF_ORDER_SEQUENCE, INVALID_PRODUCER_EPOCH, THROTTLED, APPEND_REFUSED -> true;
            case NOT_LEADER -> !acksAll;
            default -> false;
        };
    }
}
