package dev.basalt.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.proto.v1.ErrorCode;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Which produce answers say nothing of the batch was appended. A wrong "refused" lets the client
 * fail a written batch as not written (the Jepsen-style suite found a NOT_LEADER after an acks=all
 * append), or the gateway reuse a sequence and have the next call's batch answered
 * DUPLICATE_SEQUENCE for records never written (a review found UNKNOWN_SERVER_ERROR, which the
 * leader also answers after an append, counted as refused): so the list is closed, and every
 * other code, a new one included, counts as possibly appended.
 */
class ProduceAnswersTest {
    private static final Set<ErrorCode> REFUSED = EnumSet.of(ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.INVALID_REQUEST,
            ErrorCode.RECORD_TOO_LARGE, ErrorCode.INVALID_RECORD, ErrorCode.CORRUPT_RECORD, ErrorCode.UNKNOWN_TOPIC,
            ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.INVALID_TOPIC, ErrorCode.INVALID_PARTITION, ErrorCode.REPLICA_NOT_AVAILABLE,
            ErrorCode.BROKER_NOT_AVAILABLE, ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH,
            ErrorCode.OUT_OF_ORDER_SEQUENCE, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.THROTTLED, ErrorCode.APPEND_REFUSED);

    @Test
    void onlyAnswersGivenBeforeTheWrite_areRefusals() {
        for (ErrorCode c : ErrorCode.values()) {
            if (c == ErrorCode.UNRECOGNIZED || c == ErrorCode.NOT_LEADER) {
                continue;
            }
            assertEquals(REFUSED.contains(c), ProduceAnswers.refusedBeforeAppend(c, true), c.name());
            assertEquals(REFUSED.contains(c), ProduceAnswers.refusedBeforeAppend(c, false), c.name());
        }
        for (ErrorCode afterAppend : new ErrorCode[] {ErrorCode.UNKNOWN_SERVER_ERROR, ErrorCode.REQUEST_TIMED_OUT,
                ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, ErrorCode.STORAGE_ERROR, ErrorCode.UNRECOGNIZED, ErrorCode.NONE,
                ErrorCode.DUPLICATE_SEQUENCE}) {
            assertFalse(ProduceAnswers.refusedBeforeAppend(afterAppend, true), afterAppend.name());
        }
    }

    @Test
    void notLeader_isUncertainOnlyWithAcksAll() {
        assertFalse(ProduceAnswers.refusedBeforeAppend(ErrorCode.NOT_LEADER, true), "acks=all: leadership may have moved after the append");
        assertTrue(ProduceAnswers.refusedBeforeAppend(ErrorCode.NOT_LEADER, false));
    }
}
