package dev.basalt.broker.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.common.OfflineReasons;
import dev.basalt.log.CorruptLogException;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.BrokerEndpoint;
import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.OfflineReplica;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.TopicRecord;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a broker tells the controller about its offline replicas: a replica set aside for a rebuild
 * (its data found corrupt, its files deleted or cut while the node ran) is reported with a reason
 * starting {@link OfflineReasons#TO_BE_REBUILT}, so the controller takes it out of the eligible
 * leader replicas as well as the ISR before the broker discards its log.
 */
class StorageFaultsTest {
    @TempDir
    Path dir;
    private LogManager logs;

    @AfterEach
    void close() {
        if (logs != null) {
            logs.close();
        }
    }

    @Test
    void aReplicaSetAsideForARebuild_isReportedToBeRebuilt() {
        logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(),
                FileLayer.DEFAULT);
        UUID id = new UUID(7, 7);
        TopicPartition tp = new TopicPartition("orders", 0);
        logs.getOrCreate(tp, LogConfig.DEFAULT);
        MetadataDelta d = new MetadataDelta(MetadataImage.EMPTY);
        for (int broker = 1; broker <= 2; broker++) {
            d.replay(MetadataRecord.newBuilder().setBrokerRegistration(BrokerRegistrationRecord.newBuilder().setBrokerId(broker)
                    .setIncarnationId(ProtoIds.toProto(new UUID(9, broker))).setFenced(false)
                    .addEndpoints(BrokerEndpoint.newBuilder().setName("PLAINTEXT").setHost("127.0.0.1").setPort(9400 + broker)))
                    .build());
        }
        d.replay(MetadataRecord.newBuilder().setTopic(TopicRecord.newBuilder().setName("orders").setTopicId(ProtoIds.toProto(id)))
                .build());
        d.replay(MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder().setTopicId(ProtoIds.toProto(id))
                .setPartition(0).addReplicas(1).addReplicas(2).addIsr(1).addIsr(2).setLeader(2).setLeaderEpoch(0)
                .setPartitionEpoch(0)).build());
        MetadataImage image = d.apply();
        StorageFaults faults = new StorageFaults(logs, () -> image, 1);
        faults.poll();
        assertEquals(List.of(), faults.forHeartbeat(), "nothing offline");

        logs.quarantine(tp, new CorruptLogException(dir.resolve(tp.dirName()), 0,
                "the partition directory was deleted while the node ran: its records are gone from disk"));
        faults.poll();
        List<OfflineReplica> reported = faults.forHeartbeat();
        assertEquals(1, reported.size(), reported.toString());
        String reason = reported.get(0).getReason();
        assertTrue(OfflineReasons.toBeRebuilt(reason), reason);
        assertTrue(reason.contains("deleted while the node ran"), "keeps the cause: " + reason);
        assertEquals(ProtoIds.toProto(id), reported.get(0).getTopicId());
    }

    /**
     * /ready gives the free bytes of the latest space check, not those of the moment appends
     * stopped (found probing: it kept saying 65536000 bytes free with the disk at 0). The reason
     * reported to the controller keeps its first text: a new one every check would be a new
     * metadata record.
     */
    @Test
    void aFullDisk_readyGivesTheFreeBytesNow_theHeartbeatAStableReason() {
        logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(),
                FileLayer.DEFAULT);
        logs.getOrCreate(new TopicPartition("orders", 0), LogConfig.DEFAULT);
        StorageFaults faults = new StorageFaults(logs, () -> MetadataImage.EMPTY, 1);
        logs.enforceFreeSpace(1L << 60); // more than any disk has free: full at once
        logs.checkSpace();
        faults.poll();
        String stopped = logs.noSpace();
        assertTrue(stopped != null && OfflineReasons.outOfSpaceOnly(stopped), stopped);
        logs.checkSpace();
        assertEquals(stopped, logs.noSpace(), "the reported reason stays while the shortage lasts");
        String ready = faults.notReadyReason();
        assertTrue(ready.contains("orders-0 (disk full: " + logs.usableBytes() + " bytes free now on "), ready);
        assertTrue(!ready.contains(stopped), "not the figure of the moment appends stopped: " + ready);
    }
}
