package dev.basalt.broker.server;

import com.google.protobuf.ByteString;
import dev.basalt.broker.purgatory.DelayedOperation;
import dev.basalt.broker.replica.Lookup;
import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.log.AppendRefusedException;
import dev.basalt.log.LogStorageException;
import dev.basalt.log.StaleLeaderEpochException;
import dev.basalt.log.TopicPartition;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.record.CorruptRecordException;
import dev.basalt.record.InvalidRecordException;
import dev.basalt.record.RecordTooLargeException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves Produce: validates the request, appends each partition's batches on its leader replica,
 * and answers per partition — at once for acks 0 and 1, after the high watermark passed every
 * appended batch for acks=all (a {@link DelayedOperation} parked in the produce purgatory until
 * then, or until timeout_ms: REQUEST_TIMED_OUT, indeterminate). With durable acks (the topic
 * default) the HW counts only fsynced offsets, so acks=all waits for the leader's group-commit
 * fsync and the followers' reported fsyncs; acks=1 never waits for an fsync. A leadership change
 * while waiting answers NOT_LEADER, an ISR below min.insync.replicas
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND (both indeterminate).
 *
 * <p>Thread-safety: stateless apart from its collaborators; runs on gRPC request threads.
 */
public final class ProduceHandler {
    private static final Logger log = LoggerFactory.getLogger(ProduceHandler.class);

    private final ReplicaManager replicas;
    private final dev.basalt.broker.purgatory.Purgatory<TopicPartition> produceWaiters;
    private final int timeoutMsMax;
    private final dev.basalt.broker.metrics.BrokerMetrics metrics;

    /** Without metrics (tests): counts go to a registry nobody scrapes. */
    public ProduceHandler(ReplicaManager replicas, dev.basalt.broker.purgatory.Purgatory<TopicPartition> produceWaiters,
                          int timeoutMsMax) {
        this(replicas, produceWaiters, timeoutMsMax, new dev.basalt.broker.metrics.BrokerMetrics(false, false));
    }

    public ProduceHandler(ReplicaManager replicas, dev.basalt.broker.purgatory.Purgatory<TopicPartition> produceWaiters,
                          int timeoutMsMax, dev.basalt.broker.metrics.BrokerMetrics metrics) {
        this.replicas = replicas;
        this.produceWaiters = produceWaiters;
        this.timeoutMsMax = timeoutMsMax;
        this.metrics = metrics;
    }

    /** Null, or why this broker must not take leader appends now although its image says it leads (see {@link #leadershipDoubt}). */
    private volatile java.util.function.Supplier<String> leadershipDoubt = () -> null;

    /**
     * Where appends ask whether this broker's leaderships may be stale: a broker that stood still
     * longer than its session may have been fenced and replaced as leader without knowing it yet.
     * While the supplier says why, every leader append answers NOT_LEADER (retriable: the client
     * refreshes its metadata and sends again), so nothing is acknowledged that the new leader's
     * log will not have. Found probing: a leader resumed with SIGCONT acknowledged about 9,600
     * acks=1 records in the ~130 ms before it learned it was a follower; all were truncated.
     */
    public void leadershipDoubt(java.util.function.Supplier<String> doubt) {
        this.leadershipDoubt = java.util.Objects.requireNonNull(doubt);
    }

    /**
     * Handles one client request; {@code respond} is called exactly once. Internal topics
     * ({@code __consumer_offsets}) are refused per partition with INVALID_TOPIC: only the group
     * coordinator writes there (found probing: one record a client produced to it made every group
     * of that partition fail to load, on every node, for good).
     */
    public void handle(ProduceRequest req, Consumer<ProduceResponse> respond) {
        handle(req, respond, false);
    }

    /** The group coordinator's writes to its internal topic: as {@link #handle}, internal topics allowed. */
    public void handleInternal(ProduceRequest req, Consumer<ProduceResponse> respond) {
        handle(req, respond, true);
    }

    private void handle(ProduceRequest req, Consumer<ProduceResponse> respond, boolean internalWriter) {
        String invalid = validate(req);
        if (invalid != null) {
            respond.accept(ProduceResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(invalid).build());
            return;
        }
        if (req.getAcks() == 0) {
            // acks=0: the client asked not to wait; errors are only logged.
            respond.accept(ProduceResponse.getDefaultInstance());
            appendAll(req, false, internalWriter);
            return;
        }
        List<Pending> pending = appendAll(req, req.getAcks() == -1, internalWriter);
        if (req.getAcks() != -1 || pending.stream().noneMatch(Pending::waits)) {
            respond.accept(buildResponse(req, pending, false));
            return;
        }
        DelayedProduce op = new DelayedProduce(req, pending, respond);
        Set<TopicPartition> keys = new HashSet<>();
        pending.stream().filter(Pending::waits).forEach(p -> keys.add(p.tp));
        long timeoutMs = Math.min(req.getTimeoutMs(), timeoutMsMax);
        if (!produceWaiters.tryWatch(op, keys, timeoutMs)) {
            // Appended but we cannot wait: the outcome is not known to the client.
            pending.stream().filter(Pending::waits).forEach(p -> p.fail(ErrorCode.REQUEST_TIMED_OUT,
                    "too many produce requests waiting for replication; the batch was appended on the leader"));
            respond.accept(buildResponse(req, pending, false));
        }
    }

    private static String validate(ProduceRequest req) {
        if (req.getAcks() != 0 && req.getAcks() != 1 && req.getAcks() != -1) {
            return "acks must be 0, 1 or -1 (all), got " + req.getAcks();
        }
        if (req.getTimeoutMs() < 0) {
            return "timeout_ms must be >= 0, got " + req.getTimeoutMs();
        }
        if (req.getTopicsCount() == 0) {
            return "no topics in the request";
        }
        Set<String> seen = new HashSet<>();
        for (ProduceRequest.TopicData t : req.getTopicsList()) {
            for (ProduceRequest.PartitionData p : t.getPartitionsList()) {
                if (!seen.add(t.getName() + "\u0000" + p.getPartition())) {
                    return "partition " + t.getName() + "-" + p.getPartition() + " appears twice";
                }
            }
        }
        return null;
    }

    private List<Pending> appendAll(ProduceRequest req, boolean acksAll, boolean internalWriter) {
        List<Pending> out = new ArrayList<>();
        for (ProduceRequest.TopicData t : req.getTopicsList()) {
            for (ProduceRequest.PartitionData pd : t.getPartitionsList()) {
                if (!internalWriter && dev.basalt.common.TopicNames.isInternal(t.getName())) {
                    Pending p = new Pending(t.getName(), pd.getPartition());
                    p.fail(ErrorCode.INVALID_TOPIC, t.getName() + " is an internal topic: only the group coordinator writes"
                            + " to it (commit offsets through a consumer or `basalt groups --reset-offsets`)");
                    out.add(p);
                    continue;
                }
                out.add(appendOne(t.getName(), pd.getPartition(), pd.getRecords(), req.getAcks(), acksAll));
            }
        }
        return out;
    }

    private Pending appendOne(String topic, int partition, ByteString records, int acks, boolean acksAll) {
        Pending p = new Pending(topic, partition);
        Lookup lookup = replicas.leaderFor(topic, partition);
        if (!lookup.ok()) {
            p.fail(lookup.error(), lookup.message());
            p.leaderHint = lookup.leaderHint();
            p.leaderEpochHint = lookup.leaderEpochHint();
            return p;
        }
        Partition part = lookup.partition();
        p.tp = part.topicPartition();
        String doubt = leadershipDoubt.get();
        if (doubt != null) {
            p.fail(ErrorCode.NOT_LEADER, "not taking appends as leader of " + part.topicPartition() + " yet: " + doubt);
            return p;
        }
        try {
            ByteBuffer payload = records.asReadOnlyByteBuffer();
            Partition.AppendOutcome outcome = part.appendAsLeader(payload, acks);
            if (outcome.error() != ErrorCode.NONE) {
                p.fail(outcome.error(), outcome.message());
                return p;
            }
            if (outcome.info().duplicate()) {
                // a retry of stored batches: answered DUPLICATE_SEQUENCE with their offsets once, for
                // acks=all, the HW passed them (they may still be uncommitted from the first attempt)
                p.duplicate = true;
            } else {
                metrics.meters(part).produced(records.size(), outcome.info().lastOffset() - outcome.info().firstOffset() + 1);
            }
            p.baseOffset = outcome.info().firstOffset();
            p.lastOffset = outcome.info().lastOffset();
            p.logAppendTimeMs = outcome.info().logAppendTimeMs();
            p.logStartOffset = outcome.info().logStartOffset();
            p.partition = part;
            p.leaderEpoch = outcome.leaderEpoch();
            p.waits = acksAll;
            replicas.onLeaderAppend(part, outcome);
        } catch (StaleLeaderEpochException e) {
            p.fail(ErrorCode.NOT_LEADER, e.getMessage());
        } catch (dev.basalt.log.producer.OutOfOrderSequenceException e) {
            p.fail(ErrorCode.OUT_OF_ORDER_SEQUENCE, e.getMessage());
        } catch (dev.basalt.log.producer.InvalidProducerEpochException e) {
            p.fail(ErrorCode.INVALID_PRODUCER_EPOCH, e.getMessage());
        } catch (dev.basalt.log.producer.InvalidProducerBatchException e) {
            p.fail(ErrorCode.INVALID_REQUEST, e.getMessage());
        } catch (RecordTooLargeException e) {
            p.fail(ErrorCode.RECORD_TOO_LARGE, e.getMessage());
        } catch (InvalidRecordException e) {
            p.fail(ErrorCode.INVALID_RECORD, e.getMessage());
        } catch (CorruptRecordException e) {
            p.fail(ErrorCode.CORRUPT_RECORD, e.getMessage());
        } catch (dev.basalt.log.UnknownPartitionException e) {
            // The log was closed before the append began (taken offline for a rebuild after its
            // corruption was found, or deleted): nothing was written, and leadership moves on.
            // Found probing: answered UNKNOWN_SERVER_ERROR, which ended an acks=all producer.
            p.fail(ErrorCode.NOT_LEADER, e.getMessage() + " (this replica was taken offline under the append; its leadership moves)");
        } catch (LogStorageException e) {
            dev.basalt.broker.storage.StorageErrorLog.report(log, "Storage error appending to", topic + "-" + partition,
                    part.log().isOffline(), e);
            // Refused before a byte was written (offline, only copy corrupt, disk full): a definite
            // answer. Found probing: answered STORAGE_ERROR, so producers reported the batch as
            // possibly written ("may have been written", CLI exit 4) when nothing was.
            p.fail(e instanceof AppendRefusedException ? ErrorCode.APPEND_REFUSED : ErrorCode.STORAGE_ERROR, e.getMessage());
        } catch (RuntimeException e) {
            log.error("Unexpected error appending to {}-{}", topic, partition, e);
            p.fail(ErrorCode.UNKNOWN_SERVER_ERROR, e.toString());
        }
        return p;
    }

    private static ProduceResponse buildResponse(ProduceRequest req, List<Pending> pending, boolean expired) {
        ProduceResponse.Builder b = ProduceResponse.newBuilder();
        int i = 0;
        for (ProduceRequest.TopicData t : req.getTopicsList()) {
            ProduceResponse.TopicResponse.Builder tb = b.addTopicsBuilder().setName(t.getName());
            for (int n = 0; n < t.getPartitionsCount(); n++) {
                Pending p = pending.get(i++);
                if (expired && p.waits && p.error == ErrorCode.NONE && !p.replicated()) {
                    p.fail(ErrorCode.REQUEST_TIMED_OUT, "the ISR did not acknowledge the batch within timeout_ms;"
                            + " it is in the leader's log and may still be committed");
                }
                boolean duplicate = p.error == ErrorCode.NONE && p.duplicate;
                ProduceResponse.PartitionResponse.Builder pb = tb.addPartitionsBuilder()
                        .setPartition(p.partitionIndex)
                        .setErrorCode(duplicate ? ErrorCode.DUPLICATE_SEQUENCE : p.error)
                        .setErrorMessage(duplicate ? "a retry of batches already stored at offset " + p.baseOffset : p.message)
                        .setBaseOffset(p.error == ErrorCode.NONE ? p.baseOffset : -1)
                        .setLogAppendTimeMs(p.logAppendTimeMs)
                        .setLogStartOffset(p.logStartOffset);
                if (p.leaderHint >= 0) {
                    pb.setLeaderIdHint(p.leaderHint).setLeaderEpochHint(p.leaderEpochHint);
                }
            }
        }
        return b.build();
    }

    /** Per-partition progress of one request. Confined to the request, then to its delayed op. */
    private static final class Pending {
        final String topic;
        final int partitionIndex;
        TopicPartition tp;
        Partition partition;
        ErrorCode error = ErrorCode.NONE;
        String message = "";
        long baseOffset = -1;
        long lastOffset = -1;
        long logAppendTimeMs = -1;
        long logStartOffset = -1;
        int leaderHint = -1;
        int leaderEpochHint = -1;
        int leaderEpoch = -1;
        boolean waits;
        boolean duplicate;

        Pending(String topic, int partitionIndex) {
            this.topic = topic;
            this.partitionIndex = partitionIndex;
        }

        void fail(ErrorCode code, String msg) {
            error = code;
            message = msg == null ? "" : msg;
            waits = false;
        }

        boolean waits() {
            return waits && error == ErrorCode.NONE;
        }

        boolean replicated() {
            return partition.highWatermark() > lastOffset;
        }
    }

    /** acks=all: waits until the HW passed every appended batch, or until timeout. */
    private static final class DelayedProduce extends DelayedOperation {
        private final ProduceRequest req;
        private final List<Pending> pending;
        private final Consumer<ProduceResponse> respond;

        DelayedProduce(ProduceRequest req, List<Pending> pending, Consumer<ProduceResponse> respond) {
            this.req = req;
            this.pending = pending;
            this.respond = respond;
        }

        @Override
        public boolean tryComplete() {
            for (Pending p : pending) {
                if (!p.waits()) {
                    continue;
                }
                // A leader change means this HW can no longer acknowledge the batch: the new
                // leader may have truncated it (or kept it; indeterminate).
                if (!p.partition.isLeader() || p.partition.leaderEpoch() != p.leaderEpoch) {
                    p.fail(ErrorCode.NOT_LEADER, "leadership moved while waiting for the ISR; the batch may or may"
                            + " not survive");
                    continue;
                }
                if (p.replicated()) {
                    continue;
                }
                if (!p.partition.hasMinIsr()) {
                    // KIP-966: below min ISR the HW stands still; answer now rather than time out.
                    p.fail(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, "the ISR shrank below min.insync.replicas after the"
                            + " append; the batch is in the leader's log and may still be committed");
                    continue;
                }
                return false;
            }
            return forceComplete();
        }

        @Override
        protected void onComplete(boolean expired) {
            respond.accept(buildResponse(req, pending, expired));
        }
    }
}
