package dev.basalt.broker.server;

import dev.basalt.broker.grpc.FetchReply;
import dev.basalt.broker.purgatory.DelayedOperation;
import dev.basalt.broker.replica.Lookup;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.log.FetchSlice;
import dev.basalt.log.LogStorageException;
import dev.basalt.log.OffsetOutOfRangeException;
import dev.basalt.log.TopicPartition;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchResponse;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves Fetch for consumers: reads whole batches below the high watermark as slices of the
 * segment mappings and answers with a {@link FetchReply}, which copies them from the mapping
 * straight into the transport's buffers when gRPC writes the answer.
 * A fetch that finds fewer than min_bytes parks in the fetch purgatory and is retried on every
 * append to one of its partitions until it has min_bytes or max_wait_ms passes (long poll).
 *
 * <p>Slice lifetime: every {@link FetchSlice} of a response is handed to the {@link Responder},
 * which closes them once gRPC has written the response (or the call was cancelled); until then the
 * segments cannot be unmapped.
 *
 * <p>Thread-safety: stateless apart from collaborators; runs on request threads and, for parked
 * fetches, on appending threads and the purgatory timer.
 */
public final class FetchHandler {
    private static final Logger log = LoggerFactory.getLogger(FetchHandler.class);
    /**
     * How long after a consumer's follower read (beyond its own wait) the follower keeps asking for
     * HW pushes: covers the gap between a consumer's polls.
     */
    static final long FOLLOWER_READ_INTEREST_GRACE_MS = 10_000;

    /** Sends a response and closes its slices once the bytes are out. */
    public interface Responder {
        void respond(FetchReply reply, List<FetchSlice> slices);
    }

    private final ReplicaManager replicas;
    private final int waitMsMax;
    private final dev.basalt.broker.metrics.BrokerMetrics metrics;

    /** Without metrics (tests): counts go to a registry nobody scrapes. */
    public FetchHandler(ReplicaManager replicas, int waitMsMax) {
        this(replicas, waitMsMax, new dev.basalt.broker.metrics.BrokerMetrics(false, false));
    }

    public FetchHandler(ReplicaManager replicas, int waitMsMax, dev.basalt.broker.metrics.BrokerMetrics metrics) {
        this.replicas = replicas;
        this.waitMsMax = waitMsMax;
        this.metrics = metrics;
    }

    public void handle(FetchRequest req, Responder responder) {
        String invalid = validate(req);
        if (invalid != null) {
            responder.respond(FetchReply.of(FetchResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage(invalid).build()), List.of());
            return;
        }
        Attempt first = read(req);
        if (first.done(req)) {
            first.respond(responder);
            return;
        }
        first.release();
        Set<TopicPartition> keys = new HashSet<>();
        for (FetchRequest.TopicData t : req.getTopicsList()) {
            for (FetchRequest.PartitionData p : t.getPartitionsList()) {
                if (p.getPartition() >= 0 && isLegalTopic(t.getName())) {
                    keys.add(new TopicPartition(t.getName(), p.getPartition()));
                }
            }
        }
        DelayedFetch op = new DelayedFetch(req, responder);
        if (!replicas.fetchWaiters().tryWatch(op, keys, Math.min(req.getMaxWaitMs(), waitMsMax))) {
            // fetch.proto promises THROTTLED when too many fetches are parked: nothing was readable
            // (else the first attempt would have answered), so the consumer loses nothing by backing off.
            responder.respond(FetchReply.of(FetchResponse.newBuilder().setErrorCode(ErrorCode.THROTTLED)
                    .setErrorMessage(replicas.fetchWaiters().inflight() + " fetches already wait on broker "
                            + replicas.brokerId() + " (fetch.inflight.max); retry later").build()), List.of());
        }
    }

    private static boolean isLegalTopic(String name) {
        try {
            new TopicPartition(name, 0);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String validate(FetchRequest req) {
        if (req.getMaxWaitMs() < 0 || req.getMinBytes() < 0 || req.getMaxBytes() < 0) {
            return "max_wait_ms, min_bytes and max_bytes must be >= 0";
        }
        Set<String> seen = new HashSet<>();
        for (FetchRequest.TopicData t : req.getTopicsList()) {
            for (FetchRequest.PartitionData p : t.getPartitionsList()) {
                if (p.getPartitionMaxBytes() < 0) {
                    return "partition_max_bytes must be >= 0";
                }
                if (!seen.add(t.getName() + "\u0000" + p.getPartition())) {
                    return "partition " + t.getName() + "-" + p.getPartition() + " appears twice";
                }
            }
        }
        return null;
    }

    /** One pass over the request's partitions. */
    private final class Attempt {
        final FetchResponse response;
        final List<List<ByteBuffer>> records;
        final List<FetchSlice> slices;
        /** The partition of each slice, in order (for the bytes/records out counters). */
        final List<dev.basalt.broker.replica.Partition> owners;
        final long bytes;
        final boolean anyError;

        Attempt(FetchResponse response, List<List<ByteBuffer>> records, List<FetchSlice> slices,
                List<dev.basalt.broker.replica.Partition> owners, long bytes, boolean anyError) {
            this.response = response;
            this.records = records;
            this.slices = slices;
            this.owners = owners;
            this.bytes = bytes;
            this.anyError = anyError;
        }

        boolean done(FetchRequest req) {
            return anyError || bytes >= Math.max(1, req.getMinBytes()) || req.getMaxWaitMs() == 0 || req.getTopicsCount() == 0;
        }

        FetchReply reply() {
            return new FetchReply(response, records);
        }

        void release() {
            slices.forEach(FetchSlice::close);
        }

        /** Counts what goes out, then answers (the responder closes the slices once written). */
        void respond(Responder responder) {
            for (int i = 0; i < slices.size(); i++) {
                FetchSlice s = slices.get(i);
                if (!s.isEmpty()) {
                    metrics.meters(owners.get(i)).fetched(s.sizeBytes(), recordCount(s.records()));
                }
            }
            responder.respond(reply(), slices);
        }
    }

    private Attempt read(FetchRequest req) {
        FetchResponse.Builder b = FetchResponse.newBuilder();
        List<List<ByteBuffer>> records = new ArrayList<>(req.getTopicsCount());
        List<FetchSlice> slices = new ArrayList<>();
        List<dev.basalt.broker.replica.Partition> owners = new ArrayList<>();
        long budget = req.getMaxBytes() == 0 ? Integer.MAX_VALUE : req.getMaxBytes();
        long total = 0;
        boolean anyError = false;
        for (FetchRequest.TopicData t : req.getTopicsList()) {
            FetchResponse.TopicResponse.Builder tb = b.addTopicsBuilder().setName(t.getName()).setTopicId(t.getTopicId());
            List<ByteBuffer> topicRecords = new ArrayList<>(t.getPartitionsCount());
            records.add(topicRecords);
            for (FetchRequest.PartitionData p : t.getPartitionsList()) {
                FetchResponse.PartitionResponse.Builder pb = tb.addPartitionsBuilder().setPartition(p.getPartition());
                topicRecords.add(null); // replaced below when the partition has records
                boolean rackAware = !req.getClientRack().isEmpty();
                Lookup lookup = p.getPartition() < 0
                        ? Lookup.error(ErrorCode.INVALID_PARTITION, "partition " + p.getPartition() + " < 0")
                        // KIP-392: a consumer that names its rack may read from a follower (≤ its HW).
                        : rackAware ? replicas.replicaFor(t.getName(), p.getPartition()) : replicas.leaderFor(t.getName(), p.getPartition());
                if (lookup.ok() && !t.getTopicId().isEmpty() && !t.getTopicId().equals(lookup.partition().topicId())) {
                    // before any other answer, a read-replica hint included: the consumer takes an
                    // answer without error as this broker confirming the position's topic (found by review)
                    anyError = true;
                    pb.setErrorCode(ErrorCode.UNKNOWN_TOPIC_ID).setErrorMessage("topic '" + t.getName() + "' now has id "
                            + lookup.partition().topicId() + ", not " + t.getTopicId() + " (deleted and re-created)")
                            .setHighWatermark(-1).setLogStartOffset(-1).setLogEndOffset(-1);
                    continue;
                }
                if (lookup.ok()) {
                    ErrorCode epochError = lookup.partition().checkClientLeaderEpoch(p.hasCurrentLeaderEpoch() ? p.getCurrentLeaderEpoch() : -1);
                    if (epochError != ErrorCode.NONE) {
                        anyError = true;
                        var st = lookup.partition().state();
                        pb.setErrorCode(epochError).setErrorMessage("current_leader_epoch " + p.getCurrentLeaderEpoch() + " vs "
                                + st.leaderEpoch() + " on broker " + replicas.brokerId()).setHighWatermark(-1).setLogStartOffset(-1)
                                .setLogEndOffset(-1);
                        if (st.leaderId() >= 0) {
                            pb.setLeaderIdHint(st.leaderId()).setLeaderEpochHint(st.leaderEpoch());
                        }
                        continue;
                    }
                    if (rackAware && lookup.partition().isLeader()) {
                        int preferred = preferredReadReplica(lookup.partition(), req.getClientRack());
                        if (preferred >= 0) {
                            var plog = lookup.partition().log();
                            pb.setPreferredReadReplica(preferred).setHighWatermark(plog.highWatermark())
                                    .setLogStartOffset(plog.logStartOffset()).setLastStableOffset(plog.highWatermark())
                                    .setLogEndOffset(plog.logEndOffset());
                            continue;
                        }
                    }
                }
                if (!lookup.ok()) {
                    anyError = true;
                    pb.setErrorCode(lookup.error()).setErrorMessage(lookup.message()).setHighWatermark(-1).setLogStartOffset(-1)
                            .setLogEndOffset(-1);
                    if (lookup.leaderHint() >= 0) {
                        pb.setLeaderIdHint(lookup.leaderHint()).setLeaderEpochHint(lookup.leaderEpochHint());
                    }
                    continue;
                }
                var plog = lookup.partition().log();
                if (!lookup.partition().isLeader()) {
                    // A follower read: ask the leader to push HW moves while such consumers are around.
                    lookup.partition().noteConsumerReadAsFollower(replicas.clock().millis() + req.getMaxWaitMs()
                            + FOLLOWER_READ_INTEREST_GRACE_MS);
                }
                int partitionMax = p.getPartitionMaxBytes() == 0 ? 1 << 20 : p.getPartitionMaxBytes();
                int maxBytes = (int) Math.max(0, Math.min(partitionMax, budget - total));
                try {
                    if (maxBytes == 0 && total > 0) {
                        pb.setHighWatermark(plog.highWatermark()).setLogStartOffset(plog.logStartOffset())
                                .setLastStableOffset(plog.highWatermark()).setLogEndOffset(plog.logEndOffset());
                        continue;
                    }
                    FetchSlice slice = lookup.partition().readForConsumer(p.getFetchOffset(), Math.max(1, maxBytes),
                            p.getVerifyChecksums());
                    slices.add(slice);
                    owners.add(lookup.partition());
                    total += slice.sizeBytes();
                    pb.setHighWatermark(slice.highWatermark()).setLogStartOffset(slice.logStartOffset())
                            .setLastStableOffset(slice.highWatermark()).setLogEndOffset(slice.logEndOffset());
                    if (!slice.isEmpty()) {
                        topicRecords.set(topicRecords.size() - 1, slice.records());
                    }
                } catch (OffsetOutOfRangeException e) {
                    anyError = true;
                    pb.setErrorCode(ErrorCode.OFFSET_OUT_OF_RANGE).setErrorMessage(e.getMessage())
                            .setHighWatermark(plog.highWatermark()).setLogStartOffset(plog.logStartOffset())
                            .setLogEndOffset(plog.logEndOffset());
                } catch (dev.basalt.log.CorruptLogException e) {
                    anyError = true;
                    pb.setErrorCode(ErrorCode.CORRUPT_STORED_DATA).setErrorMessage(e.getMessage());
                } catch (dev.basalt.log.UnknownPartitionException e) {
                    // The log was closed under the read (taken offline or deleted): leadership moves
                    // on; this partition's answer says so instead of failing the whole fetch.
                    anyError = true;
                    pb.setErrorCode(ErrorCode.NOT_LEADER).setErrorMessage(e.getMessage() + " (closed under the read)");
                } catch (LogStorageException e) {
                    anyError = true;
                    dev.basalt.broker.storage.StorageErrorLog.report(log, "Storage error reading", t.getName() + "-" + p.getPartition(),
                            plog.isOffline(), e);
                    pb.setErrorCode(ErrorCode.STORAGE_ERROR).setErrorMessage(e.getMessage());
                }
            }
        }
        return new Attempt(b.build(), records, slices, owners, total, anyError);
    }

    /**
     * KIP-392: the broker a consumer in {@code clientRack} should read from, or -1 to keep reading
     * here (this leader is in that rack, or no in-sync, caught-up replica is).
     */
    private int preferredReadReplica(dev.basalt.broker.replica.Partition p, String clientRack) {
        if (replicas.rackOf(replicas.brokerId()).map(clientRack::equals).orElse(false)) {
            return -1;
        }
        for (int id : p.state().replicas()) {
            if (id != replicas.brokerId() && replicas.rackOf(id).map(clientRack::equals).orElse(false)
                    && replicas.image().cluster().isUnfenced(id) && p.isCaughtUpReadReplica(id)) {
                return id;
            }
        }
        return -1;
    }

    /**
     * Records in whole batches (v2 headers: length at 8, record count at 57), read with absolute
     * gets: no copy, no allocation. A trailing partial batch (the slice ends mid-batch) is skipped.
     */
    static long recordCount(ByteBuffer batches) {
        long count = 0;
        int pos = batches.position();
        int limit = batches.limit();
        while (pos + dev.basalt.record.RecordBatch.RECORDS_OFFSET <= limit) {
            int length = batches.getInt(pos + dev.basalt.record.RecordBatch.LENGTH_OFFSET);
            int next = pos + dev.basalt.record.RecordBatch.LOG_OVERHEAD_BYTES + length;
            if (length <= 0 || next > limit || next < pos) {
                break;
            }
            count += Math.max(0, batches.getInt(pos + dev.basalt.record.RecordBatch.RECORD_COUNT_OFFSET));
            pos = next;
        }
        return count;
    }

    /** A parked long poll: completes when enough bytes are readable or on timeout. */
    private final class DelayedFetch extends DelayedOperation {
        private final FetchRequest req;
        private final Responder responder;
        private Attempt ready;

        DelayedFetch(FetchRequest req, Responder responder) {
            this.req = req;
            this.responder = responder;
        }

        @Override
        public synchronized boolean tryComplete() {
            if (isCompleted()) {
                return true;
            }
            Attempt a = read(req);
            if (!a.anyError && a.bytes < Math.max(1, req.getMinBytes())) {
                a.release();
                return false;
            }
            ready = a;
            if (forceComplete()) {
                return true;
            }
            // The timer won the race; its onComplete (blocked on this lock) must read afresh.
            ready = null;
            a.release();
            return false;
        }

        @Override
        protected synchronized void onComplete(boolean expired) {
            Attempt a = ready != null ? ready : read(req);
            ready = null;
            a.respond(responder);
        }
    }
}
