package dev.basalt.client.admin;

import java.util.List;

/**
 * One broker's storage as it describes it (DescribeStorage): its data directory, free space,
 * background scrubbing progress and findings since it started, and the replicas it cannot serve.
 * Immutable.
 *
 * @param usableBytes        free bytes for the node on the directory's file system, -1 when unknown
 * @param freeBytesMin       appends stop below this (log.dir.free.bytes.min)
 * @param directoryFailure   why the whole directory is out of service, empty when it is not
 * @param scrubBytesPerSecond scrubbing rate, 0 = off
 * @param readCorruptBatchesFound corrupt batches fetches found (each handled as a scrubbing finding)
 * @param refusingAppends    replicas in service that refuse appends (an only copy cut at corruption)
 * @param startupCorruptPartitionsFound partitions found corrupt when the broker opened its data
 *                           directory at start (flushed data failing its checks, or a vanished
 *                           partition directory); a torn tail after a crash is not counted
 */
public record StorageDescription(int brokerId, String dataDir, long usableBytes, long freeBytesMin, String directoryFailure,
                                 long scrubBytesPerSecond, long scrubBytesVerified, long scrubPassesCompleted,
                                 long scrubCorruptBatchesFound, List<BrokerDescription.OfflineReplica> offlineReplicas,
                                 long readCorruptBatchesFound, List<BrokerDescription.OfflineReplica> refusingAppends,
                                 long startupCorruptPartitionsFound) {
    public StorageDescription {
        offlineReplicas = List.copyOf(offlineReplicas);
        refusingAppends = List.copyOf(refusingAppends);
    }
}
