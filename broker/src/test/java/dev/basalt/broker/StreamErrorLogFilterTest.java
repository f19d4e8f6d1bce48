package dev.basalt.broker;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Error;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Exception;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

/**
 * Found probing: each kill -9 of a broker put gRPC's "Stream Error ... Stream closed before write
 * could take place" WARNINGs with stack traces in the active controller's log. Only that kind is
 * dropped; the handler's other warnings stay.
 */
class StreamErrorLogFilterTest {

    private static LogRecord record(String message, Throwable thrown) {
        LogRecord r = new LogRecord(Level.WARNING, message);
        r.setThrown(thrown);
        return r;
    }

    @Test
    void onlyAStreamErrorOfAClosedStreamIsDropped() {
        assertTrue(BasaltNode.closedStreamError(record("Stream Error",
                Http2Exception.streamError(3, Http2Error.STREAM_CLOSED, "Stream closed before write could take place"))));
        assertFalse(BasaltNode.closedStreamError(record("Stream Error",
                Http2Exception.streamError(3, Http2Error.PROTOCOL_ERROR, "bad frame"))), "another stream error stays");
        assertFalse(BasaltNode.closedStreamError(record("Exception in onDataRead()", new IllegalStateException("rejected"))),
                "the handler's other warnings stay");
        assertFalse(BasaltNode.closedStreamError(record("Stream Error", null)));
    }
}
