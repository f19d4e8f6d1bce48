package dev.basalt.broker.storage;

import dev.basalt.log.LogManager;
import dev.basalt.log.TopicPartition;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.OfflineReplica;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's view of its storage faults: which local replicas are offline and why (an I/O
 * error, a corrupt segment, a deleted or replaced data directory, found by the log engine), for
 * the heartbeat (the controller moves their leadership), {@code /ready} and {@code /status}. Each
 * replica going offline is logged once, with its reason, not once per check.
 *
 * <p>A replica that is only out of space (its log intact and readable, appends refused) is
 * reported to the controller only if another replica can take over its place: a live,
 * unfenced member of the partition's ISR or eligible leader replicas that its broker has not
 * reported offline. Otherwise reporting it would leave the partition with no leader, unreadable
 * for nothing: it keeps leading, serves reads and answers appends with "disk full" until space
 * returns. Once reported, it stays reported until space returns (two full replicas of one
 * partition must not take turns). The heartbeat decides from the last poll's snapshot alone, so a
 * kept replica is never reported in the moment space returns.
 *
 * <p>A replica whose log could not even be created or opened (a topic created while the disk was
 * full; the replica manager retries it once there is room) serves nothing, reads included: it is
 * reported like a storage fault, so that its leadership moves to an in-sync replica that can serve.
 *
 * <p>Thread-safety: thread-safe; {@link #poll()} runs on one timer thread, the readers take the
 * last published snapshot (a volatile).
 */
public final class StorageFaults {
    private static final Logger log = LoggerFactory.getLogger(StorageFaults.class);
    /** Offline replicas named in /ready (the rest are counted). */
    static final int READY_NAMES_MAX = 5;

    private final LogManager logs;
    private final Supplier<MetadataImage> image;
    private final int brokerId;
    /** The last poll: offline replicas and why, and which of them are only out of space (one snapshot, so both agree). */
    private volatile Snapshot last = new Snapshot(Map.of(), java.util.Set.of(), Map.of(), java.util.Set.of());
    /**
     * Out-of-space replicas reported once during the current shortage: they stay reported until
     * space returns, so that two full replicas of one partition, each seeing the other as a
     * candidate, cannot report and withdraw in turn and move leadership back and forth.
     */
    private final java.util.Set<TopicPartition> reportedFull = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Out-of-space replicas last kept from the heartbeat (no other replica could take over); for logging changes once. */
    private volatile java.util.Set<TopicPartition> keptServing = java.util.Set.of();

    /**
     * @param refusingAppends replicas in service that refuse appends: an only copy cut at a corrupt
     *                        batch (its lost offsets must not be reused until a restart accepts the loss)
     * @param setAside        replicas closed as corrupt (at load, or their data found damaged, deleted or
     *                        cut while the node ran), which the replica manager rebuilds from the leader
     */
    private record Snapshot(Map<TopicPartition, String> offline, java.util.Set<TopicPartition> outOfSpaceOnly,
                            Map<TopicPartition, String> refusingAppends, java.util.Set<TopicPartition> setAside) {
    }

    /** Replicas assigned here whose log could not be created or opened, and why (the replica manager's). */
    private final Supplier<Map<TopicPartition, String>> notOpened;

    public StorageFaults(LogManager logs, Supplier<MetadataImage> image, int brokerId) {
        this(logs, image, brokerId, Map::of);
    }

    public StorageFaults(LogManager logs, Supplier<MetadataImage> image, int brokerId,
                         Supplier<Map<TopicPartition, String>> notOpened) {
        this.logs = logs;
        this.image = image;
        this.brokerId = brokerId;
        this.notOpened = notOpened;
    }

    /** Re-reads the log engine's offline set (and checks the data directory); logs what is new. */
    public void poll() {
        logs.checkDirectory();
        Map<TopicPartition, String> now = new java.util.TreeMap<>(java.util.Comparator.comparing(TopicPartition::toString));
        now.putAll(logs.offlinePartitions());
        java.util.Set<TopicPartition> full = new java.util.HashSet<>();
        for (TopicPartition tp : List.copyOf(now.keySet())) {
            if (logs.onlyOutOfSpace(tp)) {
                full.add(tp);
            } else if (logs.offlineReason(tp) == null) {
                now.remove(tp); // space came back between the two reads: in service, not "offline, not out of space"
            }
        }
        notOpened.get().forEach(now::putIfAbsent);
        Map<TopicPartition, String> before = last.offline();
        for (Map.Entry<TopicPartition, String> e : now.entrySet()) {
            if (!before.containsKey(e.getKey())) {
                log.error("Replica {} is offline: {}; reporting it to the controller (its leadership moves to another replica"
                        + " if one can take it)", e.getKey(), e.getValue());
            }
        }
        Map<TopicPartition, String> refusing = new java.util.TreeMap<>(java.util.Comparator.comparing(TopicPartition::toString));
        for (TopicPartition tp : logs.partitions()) {
            try {
                dev.basalt.log.PartitionLog plog = logs.get(tp);
                dev.basalt.log.PartitionLog.CorruptAt cut = plog.corruptFrom();
                if (cut != null && !now.containsKey(tp)) {
                    // One rule with the append's refusal (found probing: a log cut at load that kept its
                    // lost offsets as a gap was told to run a repair that had nothing to cut).
                    boolean alreadyCut = cut.alreadyCut(plog.logEndOffset());
                    refusing.put(tp, "the only copy lost " + cut.lost() + " (" + cut.cause().getMessage()
                            + "); appends are refused " + (alreadyCut ? "until a restart accepts the loss"
                            : "until the log is cut there: stop the node and run basalt storage repair"));
                }
            } catch (RuntimeException gone) {
                // deleted or taken offline meanwhile: the next poll sees it
            }
        }
        Map<TopicPartition, String> refusingBefore = last.refusingAppends();
        refusing.forEach((tp, why) -> {
            if (!refusingBefore.containsKey(tp)) {
                log.error("Replica {} serves reads but refuses appends: {}", tp, why);
            }
        });
        last = new Snapshot(Map.copyOf(now), java.util.Set.copyOf(full), Map.copyOf(refusing), logs.corruptPartitions());
        reportedFull.retainAll(full);
    }

    /** Offline replicas and why. */
    public Map<TopicPartition, String> offline() {
        return last.offline();
    }

    /** The offline replicas as the heartbeat reports them (replicas of topics the image no longer has are left out). */
    public List<OfflineReplica> forHeartbeat() {
        Snapshot snap = last;
        Map<TopicPartition, String> now = snap.offline();
        if (now.isEmpty()) {
            logKeptChanges(java.util.Set.of());
            return List.of();
        }
        MetadataImage img = image.get();
        List<OfflineReplica> out = new ArrayList<>();
        java.util.Set<TopicPartition> kept = new java.util.HashSet<>();
        for (Map.Entry<TopicPartition, String> e : now.entrySet()) {
            TopicPartition tp = e.getKey();
            String why = e.getValue() == null ? "" : e.getValue();
            Optional<TopicImage> topic = img.topics().topic(tp.topic());
            if (topic.isEmpty()) {
                continue;
            }
            if (snap.outOfSpaceOnly().contains(tp)) {
                if (!reportedFull.contains(tp) && !anotherReplicaCanTakeOver(img, topic.get(), tp.partition())) {
                    kept.add(tp);
                    continue;
                }
                reportedFull.add(tp);
                // the controller keeps an only-out-of-space leader no replica in service can replace
                if (!dev.basalt.metadata.image.ReplicaFault.outOfSpaceOnly(why)) {
                    why = dev.basalt.metadata.image.ReplicaFault.OUT_OF_SPACE + ": " + why;
                }
            } else if (dev.basalt.metadata.image.ReplicaFault.outOfSpaceOnly(why)) {
                why = "storage fault: " + why; // not to be taken for a replica that still serves reads
            }
            if (snap.setAside().contains(tp) && !dev.basalt.common.OfflineReasons.toBeRebuilt(why)) {
                // its log is discarded and refetched: the controller takes it out of the ELR too
                why = dev.basalt.common.OfflineReasons.TO_BE_REBUILT + ": " + why;
            }
            out.add(OfflineReplica.newBuilder()
                    .setTopicId(ProtoIds.toProto(topic.get().id())).setPartition(tp.partition())
                    .setReason(why.length() > dev.basalt.metadata.image.ReplicaFault.REASON_CHARS_MAX
                            ? why.substring(0, dev.basalt.metadata.image.ReplicaFault.REASON_CHARS_MAX) : why).build());
        }
        logKeptChanges(kept);
        return out;
    }

    /**
     * Whether some other replica of the partition could lead it if this one were reported: a
     * member of its ISR or ELR (which hold every committed record) that is registered, unfenced
     * and not reported offline by its own broker.
     */
    private boolean anotherReplicaCanTakeOver(MetadataImage img, TopicImage topic, int partition) {
        PartitionRegistration reg = topic.partitions().get(partition);
        if (reg == null) {
            return false;
        }
        java.util.stream.Stream<Integer> candidates = java.util.stream.Stream.concat(reg.isr().stream(), reg.elr().stream());
        return candidates.anyMatch(id -> id != brokerId && img.cluster().broker(id)
                .map(b -> !b.fenced() && !b.isOffline(topic.id(), partition)).orElse(false));
    }

    private void logKeptChanges(java.util.Set<TopicPartition> kept) {
        java.util.Set<TopicPartition> before = keptServing;
        if (kept.equals(before)) {
            return;
        }
        for (TopicPartition tp : kept) {
            if (!before.contains(tp)) {
                log.warn("Replica {} is out of space and no other in-sync replica can take it over: it stays in service,"
                        + " serving reads, and refuses appends (disk full) until space returns", tp);
            }
        }
        keptServing = java.util.Set.copyOf(kept);
    }

    /**
     * Null when no replica is offline; else a one-line reason for /ready. (A replica that refuses
     * appends but serves reads leaves the node ready: it is in /status, "refusingAppends".)
     */
    public String notReadyReason() {
        Map<TopicPartition, String> now = last.offline();
        if (now.isEmpty()) {
            return null;
        }
        String dir = logs.directoryFailure();
        if (dir != null) {
            return now.size() + " replicas offline: " + dir;
        }
        // The reason a replica was reported with keeps the free bytes of the moment appends stopped
        // (a new text would be a new metadata record); /ready gives the latest check's figure.
        String fullThen = logs.noSpace();
        String fullNow = logs.noSpaceNow();
        StringBuilder b = new StringBuilder().append(now.size()).append(" replicas offline: ");
        int n = 0;
        for (Map.Entry<TopicPartition, String> e : now.entrySet()) {
            if (n++ == READY_NAMES_MAX) {
                b.append("; and ").append(now.size() - READY_NAMES_MAX).append(" more");
                break;
            }
            String why = fullThen != null && fullNow != null ? e.getValue().replace(fullThen, fullNow) : e.getValue();
            b.append(n > 1 ? "; " : "").append(e.getKey()).append(" (").append(why).append(')');
        }
        return b.toString();
    }

    /** Replicas in service that refuse appends, and why (see {@link Snapshot}). */
    public Map<TopicPartition, String> refusingAppends() {
        return last.refusingAppends();
    }

    /** A JSON object {"tp": "reason", ...} of the replicas that refuse appends, for /status. */
    public String refusingAppendsJson() {
        return toJson(last.refusingAppends());
    }

    /** A JSON object {"tp": "reason", ...} for /status. */
    public String json() {
        return toJson(last.offline());
    }

    private static String toJson(Map<TopicPartition, String> entries) {
        Map<String, String> m = new LinkedHashMap<>();
        entries.forEach((tp, why) -> m.put(tp.toString(), why));
        StringBuilder b = new StringBuilder("{");
        for (Map.Entry<String, String> e : m.entrySet()) {
            if (b.length() > 1) {
                b.append(',');
            }
            b.append('"').append(escape(e.getKey())).append("\":\"").append(escape(e.getValue())).append('"');
        }
        return b.append('}').toString();
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
