package dev.basalt.client.internal;

import dev.basalt.client.BasaltException;
import dev.basalt.client.BrokerNotAvailableException;
import dev.basalt.client.ClientTimeoutException;
import dev.basalt.client.ConnectionException;
import dev.basalt.client.CorruptRecordException;
import dev.basalt.client.DefiniteException;
import dev.basalt.client.IndeterminateException;
import dev.basalt.client.InvalidConfigurationException;
import dev.basalt.client.InvalidPartitionException;
import dev.basalt.client.InvalidPartitionsException;
import dev.basalt.client.InvalidRecordException;
import dev.basalt.client.InvalidReplicationFactorException;
import dev.basalt.client.InvalidRequestException;
import dev.basalt.client.InvalidTopicException;
import dev.basalt.client.InvalidTopicIdException;
import dev.basalt.client.NotControllerException;
import dev.basalt.client.NotEnoughReplicasException;
import dev.basalt.client.NotLeaderException;
import dev.basalt.client.RecordTooLargeException;
import dev.basalt.client.StaleLeaderEpochException;
import dev.basalt.client.StorageException;
import dev.basalt.client.ThrottledException;
import dev.basalt.client.TopicExistsException;
import dev.basalt.client.UnknownServerException;
import dev.basalt.client.UnknownTopicException;
import dev.basalt.common.ProduceAnswers;
import dev.basalt.proto.v1.ErrorCode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * Classifies protocol error codes and gRPC failures into the client's exception types: definite
 * (did not happen) or indeterminate (may have happened), retriable or not. This is the only
 * place that maps wire errors to domain exceptions.
 *
 * <p>Thread-safety: stateless.
 */
public final class Errors {
    private Errors() {
    }

    /** True if sending the same request again later may succeed without changing anything first. */
    public static boolean isRetriable(ErrorCode code) {
        switch (code) {
            case UNKNOWN_TOPIC, NOT_LEADER, NOT_ENOUGH_REPLICAS, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH,
                 NOT_CONTROLLER, BROKER_NOT_AVAILABLE, REPLICA_NOT_AVAILABLE, THROTTLED, STORAGE_ERROR, APPEND_REFUSED,
                 REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND, UNKNOWN_TOPIC_ID, CORRUPT_STORED_DATA,
                 COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS:
                return true;
            default:
                return false;
        }
    }

    /** True if the code means "the write may have happened" for a request that writes. */
    public static boolean isIndeterminate(ErrorCode code) {
        return code == ErrorCode.REQUEST_TIMED_OUT || code == ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    }

    /**
     * Whether a produce answer with this code leaves the batch possibly written (produce.proto):
     * only codes given before the append say it was not. NOT_LEADER with acks=all also comes when
     * leadership moved while the appended batch waited for the ISR; an unexpected error
     * (UNKNOWN_SERVER_ERROR, a code this client does not know) may follow the write too. Found by
     * the Jepsen-style suite: a batch appended and committed, answered NOT_LEADER, then refused
     * NOT_ENOUGH_REPLICAS on every retry (the leader checks the ISR before recognising the
     * retry), failed as definite, while consumers had read it.
     */
    public static boolean mayHaveBeenWritten(ErrorCode code, boolean acksAll) {
        return code != ErrorCode.NONE && code != ErrorCode.DUPLICATE_SEQUENCE && !ProduceAnswers.refusedBeforeAppend(code, acksAll);
    }

    /**
     * True if the code says this broker cannot serve the partition now because leadership is
     * moving or moved: the request should go to whichever broker the metadata names next.
     */
    public static boolean isLeadershipError(ErrorCode code) {
        switch (code) {
            case NOT_LEADER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, REPLICA_NOT_AVAILABLE, BROKER_NOT_AVAILABLE:
                return true;
            default:
                return false;
        }
    }

    /** True if the code means the client's metadata is stale. */
    public static boolean needsMetadataRefresh(ErrorCode code) {
        switch (code) {
            case UNKNOWN_TOPIC, NOT_LEADER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, STORAGE_ERROR, APPEND_REFUSED,
                 REPLICA_NOT_AVAILABLE, UNKNOWN_TOPIC_ID, INVALID_PARTITION, CORRUPT_STORED_DATA:
                return true;
            default:
                return false;
        }
    }

    /** The exception for a non-NONE code; {@code context} names what failed (topic, partition). */
    public static BasaltException forCode(ErrorCode code, String message, String context, int leaderIdHint, int leaderEpochHint) {
        String m = context + ": " + code.name() + (message == null || message.isEmpty() ? "" : " (" + message + ")");
        switch (code) {
            case UNKNOWN_TOPIC: return new UnknownTopicException(m);
            case UNKNOWN_TOPIC_ID: return new InvalidTopicIdException(m);
            case INVALID_TOPIC: return new InvalidTopicException(m);
            case INVALID_PARTITION: return new InvalidPartitionException(m);
            case NOT_LEADER: return new NotLeaderException(m, leaderIdHint, leaderEpochHint);
            case CORRUPT_RECORD: return new CorruptRecordException(m);
            case RECORD_TOO_LARGE: return new RecordTooLargeException(m);
            case NOT_ENOUGH_REPLICAS: return new NotEnoughReplicasException(m);
            case FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH: return new StaleLeaderEpochException(m);
            case TOPIC_ALREADY_EXISTS: return new TopicExistsException(m);
            case INVALID_CONFIG: return new InvalidConfigurationException(m);
            case INVALID_PARTITIONS: return new InvalidPartitionsException(m);
            case INVALID_REPLICATION_FACTOR: return new InvalidReplicationFactorException(m);
            case REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND: return new IndeterminateException(m);
            case NOT_CONTROLLER: return new NotControllerException(m);
            case INVALID_REQUEST: return new InvalidRequestException(m);
            case STORAGE_ERROR, APPEND_REFUSED, CORRUPT_STORED_DATA: return new StorageException(m);
            case BROKER_NOT_AVAILABLE, REPLICA_NOT_AVAILABLE: return new BrokerNotAvailableException(m);
            case THROTTLED: return new ThrottledException(m);
            case INVALID_RECORD: return new InvalidRecordException(m);
            case OUT_OF_ORDER_SEQUENCE: return new dev.basalt.client.OutOfOrderSequenceException(m);
            case INVALID_PRODUCER_EPOCH: return new dev.basalt.client.InvalidProducerEpochException(m);
            case INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS, BROKER_DECOMMISSIONED, REASSIGNMENT_UNSAFE,
                 INSUFFICIENT_BROKERS, UNKNOWN_BROKER_ID:
                return new dev.basalt.client.ReassignmentException(code.name(), m);
            case GROUP_ID_NOT_FOUND: return new dev.basalt.client.GroupNotFoundException(m);
            case NON_EMPTY_GROUP: return new dev.basalt.client.GroupNotEmptyException(m);
            case OFFSET_METADATA_TOO_LARGE: return new dev.basalt.client.OffsetMetadataTooLargeException(m);
            case INVALID_REGULAR_EXPRESSION: return new InvalidRequestException(m);
            case COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS:
                return new dev.basalt.client.CoordinatorNotAvailableException(m);
            case NONE: throw new IllegalArgumentException("NONE is not an error");
            default: return new UnknownServerException(m);
        }
    }

    public static BasaltException forCode(ErrorCode code, String message, String context) {
        return forCode(code, message, context, -1, -1);
    }

    /** gRPC's description of calls failed by {@code ManagedChannel.shutdownNow()} (see ChannelPool). */
    static final String SHUT_DOWN_BY_THIS_CLIENT = "Channel shutdownNow invoked";

    /**
     * Classifies a failed gRPC call.
     *
     * @param mutating true if the call changes state (produce, create topic): then any failure
     *                 after the request may have reached the broker is indeterminate
     */
    public static BasaltException forTransport(Throwable t, boolean mutating, String context) {
        if (t instanceof BasaltException b) {
            return b;
        }
        Status status = Status.fromThrowable(t);
        String description = status.getDescription();
        if (SHUT_DOWN_BY_THIS_CLIENT.equals(description)) {
            // found probing: warnings about a stopped broker read "UNAVAILABLE (Channel shutdownNow invoked)"
            description = "this client dropped the connection: not set up within "
                    + dev.basalt.client.CommonClientConfigs.SOCKET_CONNECTION_SETUP_TIMEOUT_MS + ", or the client was closing";
        }
        String m = context + ": " + status.getCode() + (description == null ? "" : " (" + description + ")");
        String notGrpc = notGrpcPeer(t);
        if (notGrpc != null) {
            // Nothing was processed: the peer never spoke HTTP/2 (e.g. a node's admin HTTP port given as bootstrap).
            return new NotAClientPortException(context + ": the address answered, but not as a Basalt client port (" + notGrpc
                    + "); is it a node's admin HTTP port? Use its client port (listeners)", t);
        }
        switch (status.getCode()) {
            case UNAVAILABLE:
                if (neverConnected(t) || dev.basalt.grpc.NotSent.isNotProcessed(t)) {
                    return new ConnectionException(m + (rootCauseMessage(t)), t);
                }
                return mutating ? new IndeterminateException(m + ": connection lost mid-request", t)
                        : new ConnectionException(m, t);
            case DEADLINE_EXCEEDED:
            case CANCELLED:
                return mutating ? new IndeterminateException(m + ": no answer in time, outcome unknown", t)
                        : new ClientTimeoutException(m, t);
            case RESOURCE_EXHAUSTED:
                return new DefiniteException(m, false, t);
            case INVALID_ARGUMENT:
                return new InvalidRequestException(m, t);
            case UNIMPLEMENTED:
                if (description != null && description.startsWith("Method not found: basalt.v1.MetadataService/")) {
                    // every client port serves metadata: this one is a controller-only node's (or not Basalt's)
                    return new NotAClientPortException(context + ": the address does not serve the client API (" + description
                            + "): not a Basalt client port (a controller's port?)", t);
                }
                return new UnknownServerException(m + ": the broker does not serve this API", t);
            default:
                return mutating ? new IndeterminateException(m, t) : new UnknownServerException(m, t);
        }
    }

    /**
     * Why the peer is not a gRPC server, when the HTTP/2 connection preface failed (its first bytes
     * were not an HTTP/2 SETTINGS frame: e.g. "HTTP/" from an HTTP/1.x server); else null.
     */
    static String notGrpcPeer(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String msg = c.getMessage();
            if (msg != null && msg.contains("First received frame was not SETTINGS")) {
                return msg.contains("485454502f") ? "it answered HTTP/1.x" : "its first bytes were not HTTP/2";
            }
        }
        return null;
    }

    /** True if the failure happened before any connection was established (request never sent). */
    public static boolean neverConnected(Throwable t) {
        return dev.basalt.grpc.NotSent.neverConnected(t);
    }

    private static String rootCauseMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c == t || c.getMessage() == null ? "" : ": " + c.getMessage();
    }

    /** True if the throwable is a gRPC status failure (as opposed to a local bug). */
    public static boolean isGrpc(Throwable t) {
        return t instanceof StatusRuntimeException || t instanceof io.grpc.StatusException;
    }
}
