package dev.basalt.broker.metadata;

import dev.basalt.broker.controller.ControllerClient;
import dev.basalt.metadata.MetadataStateMachine;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchMetadataRequest;
import dev.basalt.proto.v1.FetchMetadataResponse;
import dev.basalt.raft.log.LogEntry;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a broker-only node ({@code process.roles=broker}) follows the metadata log as a Raft observer:
 * a loop on its own thread that long-polls FetchMetadata on the controllers for committed entries
 * after its applied index (or a snapshot when it is too far behind), and applies them to the node's
 * {@link MetadataStateMachine}, from which the publisher hands them to the subscribers.
 *
 * <p>Caught up: once the node has applied the index the first answering controller had applied at
 * that time. The node keeps no metadata on disk: after a restart it starts from a snapshot fetched
 * from a controller (the partition data on disk is protected by the caught-up rule until then).
 *
 * <p>Thread-safety: thread-safe; the loop is the only writer of the state machine.
 */
public final class ObserverMetadataFollower implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ObserverMetadataFollower.class);
    /** Long-poll bound of one fetch. */
    static final int FETCH_WAIT_MS = 2_000;
    /**
     * A controller that has not answered a long poll this long after its bound is not answering
     * (a paused process keeps its connections open): the next voter is asked.
     */
    static final int FETCH_ANSWER_GRACE_MS = 1_000;
    /** Back-off after a failed fetch (no controller reachable). */
    static final long FETCH_BACKOFF_MS = 100;
    /**
     * With no answer from any controller for this long, the last named controller is no longer
     * reported: an answer comes at least every {@link #FETCH_WAIT_MS} while a controller is active,
     * and a quorum without a leader must not look healthy from a broker-only node.
     */
    static final long CONTROLLER_STALE_MS = 2L * FETCH_WAIT_MS + FETCH_ANSWER_GRACE_MS;

    private final int nodeId;
    private final ControllerClient controllers;
    private final MetadataStateMachine stateMachine;
    private final Runnable onCaughtUp;
    private final Thread thread;
    private volatile long caughtUpTarget = -1;
    private volatile boolean caughtUp;
    private volatile int controllerId = -1;
    private volatile long lastAnswerNanos;
    private volatile long controllerAppliedIndex;
    private volatile dev.basalt.proto.v1.DescribeQuorumResponse quorum;
    private volatile boolean closed;

    public ObserverMetadataFollower(int nodeId, ControllerClient controllers, MetadataStateMachine stateMachine, Runnable onCaughtUp) {
        this.nodeId = nodeId;
        this.controllers = controllers;
        this.stateMachine = stateMachine;
        this.onCaughtUp = onCaughtUp;
        this.thread = new Thread(this::run, "basalt-metadata-observer");
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    public boolean isCaughtUp() {
        return caughtUp;
    }

    /** The active controller named by the last answer, or -1 (also once no answer came for {@link #CONTROLLER_STALE_MS}). */
    public int controllerId() {
        int id = controllerId;
        return id >= 0 && System.nanoTime() - lastAnswerNanos > TimeUnit.MILLISECONDS.toNanos(CONTROLLER_STALE_MS) ? -1 : id;
    }

    /** The quorum as the controller that answered last described it, or null before any answer. */
    public dev.basalt.proto.v1.DescribeQuorumResponse quorum() {
        return quorum;
    }

    /** The applied index of the controller that answered last. */
    public long controllerAppliedIndex() {
        return controllerAppliedIndex;
    }

    private void run() {
        while (!closed) {
            try {
                fetchOnce();
            } catch (InterruptedException e) {
                return;
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                if (closed) {
                    return;
                }
                log.debug("Metadata fetch failed; retrying: {}", e.toString());
                try {
                    Thread.sleep(FETCH_BACKOFF_MS);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void fetchOnce() throws InterruptedException, ExecutionException, TimeoutException {
        long from = stateMachine.appliedIndex();
        FetchMetadataRequest req = FetchMetadataRequest.newBuilder().setNodeId(nodeId).setFromIndex(from)
                .setMaxWaitMs(FETCH_WAIT_MS).build();
        FetchMetadataResponse r = controllers.call((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).fetchMetadata(req),
                FetchMetadataResponse::getErrorCode, FetchMetadataResponse::getControllerId, FETCH_WAIT_MS + 5_000L,
                FETCH_WAIT_MS + FETCH_ANSWER_GRACE_MS)
                .get(FETCH_WAIT_MS + 10_000L, TimeUnit.MILLISECONDS);
        if (r.getErrorCode() != ErrorCode.NONE) {
            throw new IllegalStateException("FetchMetadata: " + r.getErrorCode() + " " + r.getErrorMessage());
        }
        lastAnswerNanos = System.nanoTime();
        controllerId = r.getControllerId();
        controllers.hint(r.getControllerId());
        controllerAppliedIndex = r.getAppliedIndex();
        if (r.hasQuorum()) {
            quorum = r.getQuorum();
        }
        if (!r.getSnapshot().isEmpty()) {
            stateMachine.restore(r.getSnapshot().toByteArray());
            log.info("Metadata restored from a controller's snapshot at index {}", stateMachine.appliedIndex());
        }
        for (FetchMetadataResponse.MetadataEntry e : r.getEntriesList()) {
            if (e.getIndex() <= stateMachine.appliedIndex()) {
                continue; // already applied (an overlap after a snapshot)
            }
            if (e.getBatch().isEmpty()) {
                stateMachine.apply(new LogEntry(1, e.getIndex(), LogEntry.EntryType.NOOP, new byte[0]));
            } else {
                stateMachine.applyBatch(e.getIndex(), e.getBatch().toByteArray());
            }
        }
        if (caughtUpTarget < 0 && r.getControllerId() >= 0) {
            // Only from a controller that knows the quorum's leader: one cut off from it (or standing
            // aside for a full disk) can be far behind, and "caught up" lets the broker settle what
            // it holds on disk against this image (deleting replicas the image does not know).
            caughtUpTarget = r.getAppliedIndex();
        }
        if (!caughtUp && caughtUpTarget >= 0 && stateMachine.appliedIndex() >= caughtUpTarget) {
            caughtUp = true;
            log.info("Metadata image caught up with the quorum at index {}", stateMachine.appliedIndex());
            onCaughtUp.run();
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
