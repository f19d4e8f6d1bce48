package dev.basalt.harness;

import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.proto.v1.FetchServiceGrpc;
import dev.basalt.record.Batches;
import dev.basalt.record.RecordBatch;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads one partition from one chosen replica, not from the leader: the way a KIP-392 consumer
 * reads from a follower in its rack. It sends the consumer Fetch RPC straight to that broker with
 * {@code client_rack} set to the broker's own rack, from offset 0 up to that replica's high
 * watermark, and returns each batch's identity (offsets, leader epoch, CRC). Comparing these
 * lists across replicas shows whether the replicas hold identical logs below their high
 * watermarks without stopping the cluster or reading data files; the CRC covers every record.
 *
 * <p>Why not read the data directories: the segment format and its files belong to the log
 * engine and change with it; a reader of files after a clean stop would also miss divergence
 * that only shows while the cluster runs.
 *
 * <p>Thread-safety: stateless; every call opens and closes its own channel.
 */
public final class ReplicaReader {
    private static final int MAX_BYTES = 4 << 20;
    private static final int ROUNDS_MAX = 100_000;

    /** A batch's identity: equal batches on two replicas mean equal records. */
    public record BatchId(long baseOffset, long lastOffset, int leaderEpoch, long crc) {
    }

    /** What one replica holds below its high watermark. */
    public record ReplicaLog(int nodeId, long highWatermark, long logStartOffset, List<BatchId> batches) {
        /** Batches ending below {@code offset}: the prefix two replicas must share. */
        public List<BatchId> below(long offset) {
            return batches.stream().filter(b -> b.lastOffset() < offset).toList();
        }
    }

    private ReplicaReader() {
    }

    /**
     * Reads {@code topic}-{@code partition} from the broker at {@code host:port} (rack {@code rack},
     * may be empty) from offset 0 to its high watermark.
     *
     * @throws IllegalStateException when the replica answers an error (NOT_LEADER here means the
     *     broker does not serve follower reads)
     */
    public static ReplicaLog read(int nodeId, String host, int port, String rack, String topic, int partition) {
        return scan(nodeId, host, port, rack, topic, partition, b -> { });
    }

    /** One record a replica holds: its offset and value (UTF-8; empty for a null value). */
    public record StoredRecord(long offset, String value) {
    }

    /** What one replica holds below its high watermark, record by record. */
    public record ReplicaRecords(int nodeId, long highWatermark, List<StoredRecord> records) {
    }

    /** The records {@code node} holds of {@code topic}-{@code partition} below its high watermark (a KIP-392 read of that replica). */
    public static ReplicaRecords readRecords(NodeProcess node, String topic, int partition) {
        List<StoredRecord> out = new ArrayList<>();
        ReplicaLog log = scan(node.nodeId(), node.host(), node.clientPort(), node.config().getOrDefault("broker.rack", ""), topic,
                partition, b -> {
                    for (dev.basalt.record.Record r : b.records()) {
                        java.nio.ByteBuffer v = r.value();
                        byte[] bytes = new byte[v == null ? 0 : v.remaining()];
                        if (v != null) {
                            v.duplicate().get(bytes);
                        }
                        out.add(new StoredRecord(r.offset(), new String(bytes, java.nio.charset.StandardCharsets.UTF_8)));
                    }
                });
        long hw = log.highWatermark();
        return new ReplicaRecords(node.nodeId(), hw, out.stream().filter(r -> r.offset() < hw).toList());
    }

    /** One record with its key and value as stored (null when null), and its timestamp. */
    public record KeyedRecord(long offset, String key, String value, long timestamp) {
    }

    /**
     * The records {@code node} holds of {@code topic}-{@code partition} below its high watermark,
     * with keys, null values (tombstones) and timestamps: what a compacted log is checked against.
     */
    public static List<KeyedRecord> readKeyedRecords(NodeProcess node, String topic, int partition) {
        return readKeyedLog(node, topic, partition).records();
    }

    /** What one replica holds below its high watermark, with keys: the records and that high watermark. */
    public record KeyedLog(long highWatermark, List<KeyedRecord> records) {
    }

    /**
     * {@link #readKeyedRecords} with the replica's high watermark: a follower learns the leader's
     * high watermark one fetch later, so a record it already holds may not be visible there yet.
     */
    public static KeyedLog readKeyedLog(NodeProcess node, String topic, int partition) {
        List<KeyedRecord> out = new ArrayList<>();
        ReplicaLog log = scan(node.nodeId(), node.host(), node.clientPort(), node.config().getOrDefault("broker.rack", ""), topic,
                partition, b -> {
                    for (dev.basalt.record.Record r : b.records()) {
                        byte[] k = r.keyBytes();
                        byte[] v = r.valueBytes();
                        out.add(new KeyedRecord(r.offset(), k == null ? null : new String(k, java.nio.charset.StandardCharsets.UTF_8),
                                v == null ? null : new String(v, java.nio.charset.StandardCharsets.UTF_8), r.timestamp()));
                    }
                });
        long hw = log.highWatermark();
        return new KeyedLog(hw, out.stream().filter(r -> r.offset() < hw).toList());
    }

    private static ReplicaLog scan(int nodeId, String host, int port, String rack, String topic, int partition,
                                   java.util.function.Consumer<RecordBatch> onBatch) {
        ManagedChannel channel = NettyChannelBuilder.forAddress(host, port).usePlaintext().maxInboundMessageSize(MAX_BYTES * 2)
                .build();
        try {
            FetchServiceGrpc.FetchServiceBlockingStub stub = FetchServiceGrpc.newBlockingStub(channel);
            List<BatchId> batches = new ArrayList<>();
            long next = 0;
            long hw = -1;
            long logStart = -1;
            for (int round = 0; round < ROUNDS_MAX; round++) {
                FetchRequest req = FetchRequest.newBuilder().setMaxWaitMs(0).setMinBytes(0).setMaxBytes(MAX_BYTES)
                        .setClientRack(rack == null ? "" : rack)
                        .addTopics(FetchRequest.TopicData.newBuilder().setName(topic)
                                .addPartitions(FetchRequest.PartitionData.newBuilder().setPartition(partition)
                                        .setFetchOffset(next).setPartitionMaxBytes(MAX_BYTES)))
                        .build();
                FetchResponse resp = stub.withDeadlineAfter(10, TimeUnit.SECONDS).fetch(req);
                if (resp.getErrorCode() != ErrorCode.NONE) {
                    throw new IllegalStateException("node " + nodeId + ": fetch " + topic + "-" + partition + " failed: "
                            + resp.getErrorCode() + " " + resp.getErrorMessage());
                }
                FetchResponse.PartitionResponse pr = resp.getTopics(0).getPartitions(0);
                if (pr.getErrorCode() == ErrorCode.OFFSET_OUT_OF_RANGE && next == 0 && pr.getLogStartOffset() > 0) {
                    next = pr.getLogStartOffset();
                    continue;
                }
                if (pr.getErrorCode() == ErrorCode.NOT_LEADER) {
                    throw new IllegalStateException("node " + nodeId + " answered NOT_LEADER to a consumer fetch of " + topic + "-"
                            + partition + " with client_rack '" + rack + "': a follower must serve consumer fetches up to its"
                            + " high watermark (KIP-392) for replicas to be compared");
                }
                if (pr.getErrorCode() != ErrorCode.NONE) {
                    throw new IllegalStateException("node " + nodeId + ": fetch " + topic + "-" + partition + " at " + next
                            + " failed: " + pr.getErrorCode() + " " + pr.getErrorMessage());
                }
                if (pr.hasPreferredReadReplica() && pr.getPreferredReadReplica() != nodeId) {
                    throw new IllegalStateException("node " + nodeId + " redirected a read of its own rack '" + rack
                            + "' to node " + pr.getPreferredReadReplica());
                }
                if (hw < 0) {
                    hw = pr.getHighWatermark();
                    logStart = pr.getLogStartOffset();
                }
                boolean progressed = false;
                for (RecordBatch b : Batches.iterate(pr.getRecords().asReadOnlyByteBuffer())) {
                    if (b.lastOffset() < next || b.baseOffset() >= hw) {
                        continue;
                    }
                    if (b.lastOffset() >= hw) {
                        // straddles the HW: its records below the HW are readable, the batch is not whole below it
                        onBatch.accept(b);
                        next = hw;
                        progressed = true;
                        break;
                    }
                    batches.add(new BatchId(b.baseOffset(), b.lastOffset(), b.partitionLeaderEpoch(), b.storedCrc()));
                    onBatch.accept(b);
                    next = b.nextOffset();
                    progressed = true;
                }
                if (next >= hw || !progressed) {
                    return new ReplicaLog(nodeId, hw, logStart, List.copyOf(batches));
                }
            }
            throw new IllegalStateException("node " + nodeId + ": more than " + ROUNDS_MAX + " fetch rounds");
        } finally {
            channel.shutdownNow();
        }
    }

    /** Reads from a node of a {@link Cluster}, using its configured rack. */
    public static ReplicaLog read(NodeProcess node, String topic, int partition) {
        String rack = node.config().getOrDefault("broker.rack", "");
        return read(node.nodeId(), node.host(), node.clientPort(), rack, topic, partition);
    }

}
