package dev.basalt.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.internal.Errors;
import dev.basalt.proto.v1.ErrorCode;
import io.grpc.Status;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

/**
 * Error classification (STYLE.md §6): definite vs indeterminate, retriable or not, for every
 * protocol code and the gRPC failures that matter.
 */
class ErrorsTest {
    @Test
    void everyCodeMapsToATypedException() {
        for (ErrorCode c : ErrorCode.values()) {
            if (c == ErrorCode.NONE || c == ErrorCode.UNRECOGNIZED) {
                continue;
            }
            BasaltException e = Errors.forCode(c, "m", "ctx");
            assertEquals(Errors.isRetriable(c), e.retriable(), c.name());
            assertEquals(Errors.isIndeterminate(c), e instanceof IndeterminateException, c.name());
        }
    }

    @Test
    void specificMappings() {
        assertInstanceOf(UnknownTopicException.class, Errors.forCode(ErrorCode.UNKNOWN_TOPIC, "", "t"));
        assertInstanceOf(OffsetMetadataTooLargeException.class, Errors.forCode(ErrorCode.OFFSET_METADATA_TOO_LARGE, "", "g"));
        assertInstanceOf(CoordinatorNotAvailableException.class, Errors.forCode(ErrorCode.NOT_COORDINATOR, "", "g"));
        assertInstanceOf(InvalidTopicException.class, Errors.forCode(ErrorCode.INVALID_TOPIC, "", "t"));
        assertInstanceOf(RecordTooLargeException.class, Errors.forCode(ErrorCode.RECORD_TOO_LARGE, "", "t"));
        assertInstanceOf(TopicExistsException.class, Errors.forCode(ErrorCode.TOPIC_ALREADY_EXISTS, "", "t"));
        NotLeaderException nl = assertInstanceOf(NotLeaderException.class, Errors.forCode(ErrorCode.NOT_LEADER, "", "t", 3, 7));
        assertEquals(3, nl.leaderIdHint().getAsInt());
        assertEquals(7, nl.leaderEpochHint().getAsInt());
        assertTrue(Errors.forCode(ErrorCode.NOT_LEADER, "", "t").retriable());
        assertInstanceOf(IndeterminateException.class, Errors.forCode(ErrorCode.REQUEST_TIMED_OUT, "", "t"));
        assertInstanceOf(IndeterminateException.class, Errors.forCode(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, "", "t"));
        assertInstanceOf(DefiniteException.class, Errors.forCode(ErrorCode.NOT_ENOUGH_REPLICAS, "", "t"));
        assertFalse(Errors.forCode(ErrorCode.CORRUPT_RECORD, "", "t").retriable());
    }

    @Test
    void connectionRefused_isDefiniteEvenForWrites() {
        Throwable t = Status.UNAVAILABLE.withCause(new ConnectException("Connection refused")).asRuntimeException();
        assertInstanceOf(ConnectionException.class, Errors.forTransport(t, true, "x"));
    }

    @Test
    void aBrokerThatSaysItDidNotProcessTheRequest_isDefiniteEvenForWrites() {
        io.grpc.Metadata trailers = new io.grpc.Metadata();
        trailers.put(io.grpc.Metadata.Key.of("basalt-not-processed", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "true");
        Throwable t = Status.UNAVAILABLE.withDescription("not forwarded: no active controller could be reached")
                .asRuntimeException(trailers);
        assertInstanceOf(ConnectionException.class, Errors.forTransport(t, true, "x"));
    }

    /** Found probing: warnings about a SIGSTOPped broker read "UNAVAILABLE (Channel shutdownNow invoked)". */
    @Test
    void aConnectionThisClientDropped_isWordedForAUser() {
        Throwable t = Status.UNAVAILABLE.withDescription("Channel shutdownNow invoked").asRuntimeException();
        BasaltException e = Errors.forTransport(t, false, "metadata from 127.0.0.1:9420");
        assertInstanceOf(ConnectionException.class, e);
        assertEquals("metadata from 127.0.0.1:9420: UNAVAILABLE (this client dropped the connection: not set up within"
                + " socket.connection.setup.timeout.ms, or the client was closing)", e.getMessage());
    }

    @Test
    void connectionLostOrDeadline_isIndeterminateForWrites_definiteForReads() {
        Throwable lost = Status.UNAVAILABLE.withDescription("Network closed for unknown reason").asRuntimeException();
        assertInstanceOf(IndeterminateException.class, Errors.forTransport(lost, true, "x"));
        assertInstanceOf(ConnectionException.class, Errors.forTransport(lost, false, "x"));
        Throwable deadline = Status.DEADLINE_EXCEEDED.asRuntimeException();
        assertInstanceOf(IndeterminateException.class, Errors.forTransport(deadline, true, "x"));
        assertInstanceOf(ClientTimeoutException.class, Errors.forTransport(deadline, false, "x"));
    }

    /** An HTTP/1.x server given as bootstrap (a node's admin port) said "INTERNAL (http2 exception)", exit 1. */
    @Test
    void anHttp1ServerAsBootstrap_isCannotConnect_namingTheAdminPortMistake() throws Exception {
        try (dev.basalt.client.testkit.Http1Server http = new dev.basalt.client.testkit.Http1Server();
             Admin admin = new Admin(java.util.Map.of("bootstrap.servers", http.address(), "default.api.timeout.ms", 5_000))) {
            BasaltException e = org.junit.jupiter.api.Assertions.assertThrows(BasaltException.class,
                    () -> Admin.get(admin.listTopics(false), java.time.Duration.ofSeconds(10)));
            boolean found = false;
            for (Throwable c = e; c != null; c = c.getCause()) {
                found |= c instanceof ConnectionException && c.getMessage().contains("it answered HTTP/1.x")
                        && c.getMessage().contains("admin HTTP port");
            }
            assertTrue(found, e.toString());
            assertEquals(dev.basalt.cli.BasaltCli.CANNOT_CONNECT, dev.basalt.cli.BasaltCli.exitCodeOf(e));
        }
    }
}
