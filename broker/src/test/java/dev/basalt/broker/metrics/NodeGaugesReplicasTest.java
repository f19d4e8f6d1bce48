package dev.basalt.broker.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.broker.replica.Partition;
import dev.basalt.log.CorruptLogException;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node's replica gauges read from real local logs: a replica that was the only copy of a
 * corrupt batch refuses appends for as long as the process runs, and says so in
 * {@code basalt_partitions_refusing_appends_replicas} (found probing: such a follower fell behind
 * for good while no metric showed anything wrong).
 */
class NodeGaugesReplicasTest {
    @TempDir
    Path dir;

    @Test
    void aReplicaCutAtCorruptData_isCountedAsRefusingAppends() {
        try (LogManager logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(),
                LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT)) {
            Partition healthy = new Partition(new TopicPartition("t", 0), "id", 1, logs.getOrCreate(new TopicPartition("t", 0),
                    LogConfig.DEFAULT));
            Partition cut = new Partition(new TopicPartition("t", 1), "id", 1, logs.getOrCreate(new TopicPartition("t", 1),
                    LogConfig.DEFAULT));
            BrokerMetrics metrics = new BrokerMetrics(false, false);
            new NodeGauges(metrics).registerReplicas(() -> List.of(healthy, cut), () -> 0);
            assertEquals("0.0", sample(metrics, "basalt_partitions_refusing_appends_replicas"));

            BrokerMetrics later = new BrokerMetrics(false, false);
            new NodeGauges(later).registerReplicas(() -> List.of(healthy, cut), () -> 0);
            cut.log().markCorruptFrom(0, new CorruptLogException(dir.resolve("x.log"), 0, "test"));
            assertEquals("1.0", sample(later, "basalt_partitions_refusing_appends_replicas"));
            assertEquals("2.0", sample(later, "basalt_partitions"));
        }
    }

    /**
     * A full disk shows on /metrics: its replicas count as offline (as /ready counts them; found
     * probing: /ready said 68 replicas offline while the gauge read 0, their logs being intact), and
     * the data directory's free bytes, minimum and full state have gauges of their own.
     */
    @Test
    void aFullDisk_countsItsReplicasOffline_andShowsInTheDataDirectoryGauges() {
        try (LogManager logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(),
                LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT)) {
            Partition p = new Partition(new TopicPartition("t", 0), "id", 1, logs.getOrCreate(new TopicPartition("t", 0),
                    LogConfig.DEFAULT));
            dev.basalt.broker.storage.StorageFaults faults = new dev.basalt.broker.storage.StorageFaults(logs,
                    () -> dev.basalt.metadata.image.MetadataImage.EMPTY, 1);
            BrokerMetrics metrics = new BrokerMetrics(false, false);
            NodeGauges gauges = new NodeGauges(metrics);
            gauges.registerReplicas(() -> List.of(p), () -> faults.offline().size());
            gauges.registerDataDirectory(logs::usableBytes, logs::freeBytesMin, () -> logs.noSpace() != null);
            long minBytes = 1L << 60; // more than any disk has free: full at once
            logs.enforceFreeSpace(minBytes);
            logs.checkSpace();
            faults.poll();
            assertEquals("1.0", sample(metrics, "basalt_partitions_offline_replicas"), "the full disk's replica");
            assertEquals("1.0", sample(metrics, "basalt_log_dir_full"));
            assertEquals(Double.toString((double) minBytes), sample(metrics, "basalt_log_dir_free_min_bytes"));
            assertEquals(Double.toString((double) logs.usableBytes()), sample(metrics, "basalt_log_dir_usable_bytes"));
            org.junit.jupiter.api.Assertions.assertTrue(logs.usableBytes() >= 0, "measured: " + logs.usableBytes());
        }
    }

    /** As in Kafka: a reassignment's replicas still being added are not missing from the ISR. */
    @Test
    void clusterUnderReplicated_leavesOutReplicasBeingAdded() {
        java.util.UUID a = new java.util.UUID(1, 1);
        dev.basalt.metadata.delta.MetadataDelta d = new dev.basalt.metadata.delta.MetadataDelta(
                dev.basalt.metadata.image.MetadataImage.EMPTY);
        d.replayAll(List.of(broker(1), broker(2), broker(3), broker(4),
                dev.basalt.proto.v1.MetadataRecord.newBuilder().setTopic(dev.basalt.proto.v1.TopicRecord.newBuilder().setName("a")
                        .setTopicId(dev.basalt.metadata.image.ProtoIds.toProto(a))).build(),
                partition(a, 0, List.of(2, 3, 4, 1), List.of(1, 2, 3), List.of(4)), // copying onto 4: in sync
                partition(a, 1, List.of(2, 3, 4, 1), List.of(1, 2), List.of(4)), // 3 is out
                partition(a, 2, List.of(1, 2, 3), List.of(1, 2), List.of()))); // no move, 3 is out
        assertEquals(2, NodeGauges.clusterStats(d.apply()).underReplicated());
    }

    private static dev.basalt.proto.v1.MetadataRecord broker(int id) {
        return dev.basalt.proto.v1.MetadataRecord.newBuilder().setBrokerRegistration(dev.basalt.proto.v1.BrokerRegistrationRecord
                .newBuilder().setBrokerId(id).setIncarnationId(dev.basalt.metadata.image.ProtoIds.toProto(new java.util.UUID(7, id)))
                .addEndpoints(dev.basalt.proto.v1.BrokerEndpoint.newBuilder().setName("PLAINTEXT").setHost("127.0.0.1")
                        .setPort(9000 + id))).build();
    }

    private static dev.basalt.proto.v1.MetadataRecord partition(java.util.UUID topic, int index, List<Integer> replicas,
                                                                 List<Integer> isr, List<Integer> adding) {
        return dev.basalt.proto.v1.MetadataRecord.newBuilder().setPartition(dev.basalt.proto.v1.PartitionRecord.newBuilder()
                .setTopicId(dev.basalt.metadata.image.ProtoIds.toProto(topic)).setPartition(index).addAllReplicas(replicas)
                .addAllIsr(isr).addAllAddingReplicas(adding).setLeader(isr.get(0))).build();
    }

    private static String sample(BrokerMetrics m, String name) {
        for (String line : new String(m.scrape(null).body(), StandardCharsets.UTF_8).split("\n")) {
            if (line.startsWith(name + " ")) {
                return line.substring(name.length() + 1);
            }
        }
        throw new AssertionError(name + " not exposed");
    }
}
