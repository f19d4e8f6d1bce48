package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.ProducerIdsImage;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.BrokerEndpoint;
import dev.basalt.proto.v1.BrokerFencedRecord;
import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.BrokerUnfencedRecord;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.ProducerIdBlockRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.function.IntPredicate;

/**
 * Decisions on brokers: registration, heartbeats, session-timeout fencing, unfencing, controlled
 * shutdown, and producer-id blocks. Fencing or unfencing a broker re-elects leaders in the same
 * batch, so no committed image has a fenced leader. Not thread-safe: the controller thread owns it
 * (it keeps the broker sessions).
 */
final class ClusterControl {
    private final ControllerConfig config;
    private final BrokerSessions sessions;
    /**
     * Broker id → the leader brokers its last heartbeat reported unreachable (only non-empty
     * reports). In memory, like the sessions: a new controller learns them from the next heartbeats.
     */
    private final java.util.Map<Integer, java.util.Set<Integer>> unreachableReports = new java.util.HashMap<>();
    /** Reported leader → when its partitions were last scanned for a gray-failure election. */
    private final java.util.Map<Integer, Long> grayEvaluatedAtMs = new java.util.HashMap<>();
    /** Partition → when a gray-failure election last moved it (bounded by the partitions that exist). */
    private final java.util.Map<PartitionRef, Long> grayMovedAtMs = new java.util.HashMap<>();
    /** A partition moved by a gray-failure election is not moved that way again for this long. */
    static final long GRAY_MOVE_INTERVAL_MS = 60_000;
    /** Unchanged reports of a leader make the controller scan its partitions at most this often. */
    static final long GRAY_EVALUATION_INTERVAL_MS = 1_000;

    ClusterControl(ControllerConfig config) {
        this.config = config;
        this.sessions = new BrokerSessions(config.sessionTimeoutMs());
    }

    ControllerResult<BrokerStatus> register(MetadataImage image, BrokerRegistrationRequest request, long nowMs) {
        BrokerRegistration registration;
        try {
            registration = new BrokerRegistration(request.brokerId(), request.incarnationId(), request.endpoints(),
                    request.rack(), true);
        } catch (IllegalArgumentException e) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, e.getMessage());
        }
        RecordBuffer out = new RecordBuffer(image);
        Optional<BrokerRegistration> existing = image.cluster().broker(request.brokerId());
        if (existing.isPresent() && existing.get().incarnationId().equals(request.incarnationId())) {
            sessions.touch(request.brokerId(), request.incarnationId(), nowMs);
            return out.result(new BrokerStatus(request.brokerId(), existing.get().fenced())); // a retried request
        }
        // Fenced or not: a live session means the old process may still run (Kafka refuses it the same way).
        if (existing.isPresent() && sessions.isAlive(request.brokerId(), existing.get().incarnationId(), nowMs)) {
            throw new ControllerException(ControllerException.Reason.DUPLICATE_BROKER_REGISTRATION, "broker "
                    + request.brokerId() + " incarnation " + existing.get().incarnationId() + " is still alive");
        }
        if (existing.isPresent()) {
            int id = request.brokerId();
            // The old incarnation is gone: take its leaderships and ISR places before the new one registers.
            removeFromPartitions(out, id, other -> other != id && out.isLive(other));
            if (request.uncleanShutdown() || !request.uncleanTopicIds().isEmpty()) {
                removeFromElr(out, id, request::mayHaveLost);
            }
        }
        out.add(registrationRecord(registration));
        unreachableReports.remove(request.brokerId()); // the old incarnation's, if any
        sessions.touch(request.brokerId(), request.incarnationId(), nowMs);
        return out.result(new BrokerStatus(request.brokerId(), true));
    }

    private static MetadataRecord registrationRecord(BrokerRegistration b) {
        BrokerRegistrationRecord.Builder r = BrokerRegistrationRecord.newBuilder().setBrokerId(b.brokerId())
                .setIncarnationId(ProtoIds.toProto(b.incarnationId())).setRack(b.rack().orElse(""))
                .setFenced(b.fenced());
        for (Endpoint e : b.endpoints()) {
            r.addEndpoints(BrokerEndpoint.newBuilder().setName(e.name()).setHost(e.host()).setPort(e.port()));
        }
        return MetadataRecord.newBuilder().setBrokerRegistration(r).build();
    }

    ControllerResult<BrokerStatus> heartbeat(MetadataImage image, HeartbeatRequest request, long nowMs) {
        RecordBuffer out = new RecordBuffer(image);
        BrokerRegistration b = out.requireIncarnation(request.brokerId(), request.incarnationId());
        if (request.wantShutdown()) {
            sessions.remove(b.brokerId());
            unreachableReports.remove(b.brokerId());
            if (!b.fenced()) {
                fence(out, b);
            }
            return out.result(new BrokerStatus(b.brokerId(), true, leadsNothing(out, b.brokerId())));
        }
        sessions.touch(b.brokerId(), b.incarnationId(), nowMs);
        removeOfflineReplicas(out, b.brokerId(), request.offlineReplicas(), request.offlineReasons());
        List<dev.basalt.metadata.image.ReplicaFault> reported = reportedFaults(out, request);
        if (!reported.equals(b.offlineReplicas())) {
            // Recorded only when the set changes, so that every node (and `basalt cluster`) shows it.
            out.add(dev.basalt.metadata.image.ClusterImage.offlineReplicasRecord(b.brokerId(), b.incarnationId(), reported));
            // A replica back in service may be the only candidate of a partition left leaderless by its fault.
            for (dev.basalt.metadata.image.ReplicaFault f : b.offlineReplicas()) {
                PartitionRef ref = new PartitionRef(f.topicId(), f.partition());
                Optional<TopicImage> topic = out.state().base().topics().topic(f.topicId());
                if (topic.isPresent() && topic.get().partitions().containsKey(f.partition())
                        && !out.state().broker(b.brokerId()).orElseThrow().isOffline(f.topicId(), f.partition())) {
                    PartitionElections.electLeaderless(ref.topicId(), ref.partition(), TopicControl.current(out, ref),
                            servable(out, ref), TopicPolicy.of(out.state().base(), topic.get().name(), config)).ifPresent(out::add);
                }
            }
        }
        if (request.unreachableLeaders().isEmpty()) {
            unreachableReports.remove(b.brokerId());
        } else {
            java.util.Set<Integer> before = unreachableReports.getOrDefault(b.brokerId(), java.util.Set.of());
            unreachableReports.put(b.brokerId(), request.unreachableLeaders());
            if (!b.fenced()) {
                for (int leader : new java.util.TreeSet<>(request.unreachableLeaders())) {
                    // Each scan reads every partition: once per newly reported leader, then at most
                    // once per GRAY_EVALUATION_INTERVAL_MS while the reports go on unchanged.
                    Long last = grayEvaluatedAtMs.get(leader);
                    if (!before.contains(leader) || last == null || nowMs - last >= GRAY_EVALUATION_INTERVAL_MS) {
                        grayEvaluatedAtMs.put(leader, nowMs);
                        moveFromUnreachableLeader(out, leader, nowMs);
                    }
                }
            }
        }
        if (b.fenced() && request.caughtUp()) {
            unfence(out, b);
            return out.result(new BrokerStatus(b.brokerId(), false, false));
        }
        return out.result(new BrokerStatus(b.brokerId(), b.fenced(), false));
    }

    /**
     * A gray failure: {@code leader} heartbeats (so it is not fenced), but followers cannot fetch
     * from it (found probing: with only the packets to the leader's client port dropped, the leader
     * shrank its ISR to itself and its partition refused acks=all writes for the whole fault, as
     * Kafka's would). For each partition it leads that cannot commit (ISR below min ISR) and whose
     * every other live eligible replica (ISR or ELR member in service) reports it unreachable,
     * another eligible replica is elected by the usual order, and the old leader joins the ELR: it
     * holds every committed record, as the new leader does (nothing commits below min ISR). Requiring
     * every other eligible replica to report it keeps one broker with a broken network of its own
     * from taking leaderships it could not serve where there are two or more of them (with one, its
     * report alone decides); a partition that can still commit is left alone. A partition moved
     * this way is not moved this way again for {@link #GRAY_MOVE_INTERVAL_MS}: where two brokers
     * cannot reach each other at all, each would report the other and the leadership would go back
     * and forth (a leader epoch, a truncation and client retries each time).
     */
    private void moveFromUnreachableLeader(RecordBuffer out, int leader, long nowMs) {
        grayMovedAtMs.values().removeIf(t -> nowMs - t >= GRAY_MOVE_INTERVAL_MS); // keeps it to the last minute's moves
        grayEvaluatedAtMs.values().removeIf(t -> nowMs - t >= GRAY_EVALUATION_INTERVAL_MS);
        if (!out.isLive(leader)) {
            return; // a fenced leader's partitions were moved when it was fenced
        }
        for (TopicImage topic : out.state().base().topics().topicsById().values()) {
            TopicPolicy policy = null;
            for (PartitionRef ref : TopicControl.partitionsOf(topic)) {
                PartitionRegistration current = TopicControl.current(out, ref);
                if (current.leader() != leader) {
                    continue;
                }
                policy = policy != null ? policy : TopicPolicy.of(out.state().base(), topic.name(), config);
                if (current.isr().size() >= policy.minInsyncReplicas()) {
                    continue;
                }
                IntPredicate servable = servable(out, ref);
                boolean anyCandidate = false;
                boolean allReport = true;
                for (int id : current.replicas()) {
                    if (id == leader || !(current.isr().contains(id) || current.elr().contains(id)) || !servable.test(id)) {
                        continue;
                    }
                    anyCandidate = true;
                    allReport &= unreachableReports.getOrDefault(id, java.util.Set.of()).contains(leader);
                }
                Long movedAt = grayMovedAtMs.get(ref);
                if (anyCandidate && allReport && (movedAt == null || nowMs - movedAt >= GRAY_MOVE_INTERVAL_MS)) {
                    Optional<MetadataRecord> change = PartitionElections.removeBroker(ref.topicId(), ref.partition(), current,
                            leader, id -> id != leader && servable.test(id), policy);
                    if (change.isPresent()) {
                        out.add(change.get());
                        grayMovedAtMs.put(ref, nowMs);
                    }
                }
            }
        }
    }

    /** The heartbeat's offline replicas of partitions that exist, ordered and distinct, with their reasons. */
    private static List<dev.basalt.metadata.image.ReplicaFault> reportedFaults(RecordBuffer out, HeartbeatRequest request) {
        if (request.offlineReplicas().isEmpty()) {
            return List.of();
        }
        java.util.TreeSet<dev.basalt.metadata.image.ReplicaFault> faults = new java.util.TreeSet<>(dev.basalt.metadata.image.ReplicaFault.ORDER);
        for (PartitionRef ref : request.offlineReplicas()) {
            Optional<TopicImage> topic = out.state().base().topics().topic(ref.topicId());
            if (topic.isPresent() && topic.get().partitions().containsKey(ref.partition())) {
                faults.add(new dev.basalt.metadata.image.ReplicaFault(ref.topicId(), ref.partition(),
                        request.offlineReasons().getOrDefault(ref, "")));
            }
        }
        return List.copyOf(faults);
    }

    private static boolean leadsNothing(RecordBuffer out, int brokerId) {
        for (String name : out.state().topicNames()) {
            TopicImage topic = out.state().topic(name).orElseThrow();
            for (PartitionRef ref : TopicControl.partitionsOf(topic)) {
                if (TopicControl.current(out, ref).leader() == brokerId) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Fences every unfenced broker whose session expired at {@code nowMs}; returns their ids. */
    ControllerResult<List<Integer>> fenceExpired(MetadataImage image, long nowMs) {
        RecordBuffer out = new RecordBuffer(image);
        List<BrokerRegistration> expired = new ArrayList<>();
        for (BrokerRegistration b : image.cluster().brokers().values()) {
            if (b.fenced()) {
                // Nothing to fence; forgetting the dead session keeps nextSessionExpiryMs in the future.
                sessions.removeIfExpired(b.brokerId(), nowMs);
            } else if (sessions.expire(b.brokerId(), b.incarnationId(), nowMs)) {
                expired.add(b);
            }
        }
        // All expired brokers are excluded from every election of the batch, so no partition is handed to
        // a broker fenced a few records later (one leader change per partition, not a chain of them).
        List<Integer> fenced = expired.stream().map(BrokerRegistration::brokerId).toList();
        for (BrokerRegistration b : expired) {
            fence(out, b, other -> !fenced.contains(other) && out.isLive(other));
            sessions.remove(b.brokerId());
            unreachableReports.remove(b.brokerId());
        }
        return out.result(fenced);
    }

    OptionalLong nextSessionExpiryMs() {
        return sessions.nextExpiryMs();
    }

    /**
     * Leadership and ISR places move away first, then the fence record, in one batch: the partition
     * changes are decided as if the broker were already gone, and no committed image shows a fenced
     * leader (controlled shutdown in Kafka also moves leaders before the broker stops).
     */
    private void fence(RecordBuffer out, BrokerRegistration b) {
        int id = b.brokerId();
        fence(out, b, other -> other != id && out.isLive(other));
    }

    private void fence(RecordBuffer out, BrokerRegistration b, IntPredicate live) {
        int id = b.brokerId();
        removeFromPartitions(out, id, live);
        out.add(MetadataRecord.newBuilder().setBrokerFenced(BrokerFencedRecord.newBuilder().setBrokerId(id)
                .setIncarnationId(ProtoIds.toProto(b.incarnationId()))).build());
    }

    /** Unfences, then gives leaderless partitions a leader where one is now live (the broker may be it). */
    private void unfence(RecordBuffer out, BrokerRegistration b) {
        out.add(MetadataRecord.newBuilder().setBrokerUnfenced(BrokerUnfencedRecord.newBuilder()
                .setBrokerId(b.brokerId()).setIncarnationId(ProtoIds.toProto(b.incarnationId()))).build());
        for (TopicImage topic : out.state().base().topics().topicsById().values()) {
            TopicPolicy policy = TopicPolicy.of(out.state().base(), topic.name(), config);
            for (PartitionRef ref : TopicControl.partitionsOf(topic)) {
                PartitionElections.electLeaderless(ref.topicId(), ref.partition(), TopicControl.current(out, ref),
                        servable(out, ref), policy).ifPresent(out::add);
            }
        }
    }

    /** Live brokers whose replica of {@code ref} is in service or only out of space: it serves reads. */
    private static IntPredicate readable(RecordBuffer out, PartitionRef ref) {
        return id -> out.isLive(id) && out.state().broker(id).map(r -> {
            dev.basalt.metadata.image.ReplicaFault f = r.offlineFault(ref.topicId(), ref.partition());
            return f == null || f.outOfSpaceOnly();
        }).orElse(false);
    }

    /** Live brokers whose replica of {@code ref} is not one they reported offline: the partition's possible leaders. */
    private static IntPredicate servable(RecordBuffer out, PartitionRef ref) {
        return id -> out.isLive(id)
                && !out.state().broker(id).map(r -> r.isOffline(ref.topicId(), ref.partition())).orElse(false);
    }

    /**
     * Drops {@code brokerId} from every ELR: it may miss committed records now. (As the last ISR
     * member of a leaderless partition it stays, as in Kafka before KIP-966: that partition has no
     * better candidate, and dropping it would need unclean recovery.)
     */
    private static void removeFromElr(RecordBuffer out, int brokerId, java.util.function.Predicate<UUID> topics) {
        for (TopicImage topic : out.state().base().topics().topicsById().values()) {
            if (!topics.test(topic.id())) {
                continue;
            }
            for (PartitionRef ref : TopicControl.partitionsOf(topic)) {
                PartitionRegistration current = TopicControl.current(out, ref);
                if (current.elr().contains(brokerId)) {
                    List<Integer> elr = current.elr().stream().filter(id -> id != brokerId).toList();
                    PartitionElections.change(ref.topicId(), ref.partition(), current, new PartitionElections.Target(
                            current.leader(), current.isr(), elr, current.leaderRecovering())).ifPresent(out::add);
                }
            }
        }
    }

    /**
     * The broker cannot serve these replicas any more: for each, it leaves the ISR (unless it is the
     * last member: as with a fenced broker, it stays so it can come back as a clean leader) and, if
     * it led, the controller elects another leader from the replicas no broker reported offline; if
     * there is none it keeps leading ({@link PartitionElections#removeOfflineReplica}). Unknown
     * partitions are ignored (a topic deleted meanwhile); a replica already out of the ISR and not
     * leading needs nothing. Called with every heartbeat's report, so a kept leader hands over as
     * soon as another replica is back in service.
     */
    private void removeOfflineReplicas(RecordBuffer out, int brokerId, List<PartitionRef> offline,
                                       java.util.Map<PartitionRef, String> reasons) {
        for (PartitionRef ref : offline) {
            Optional<TopicImage> topic = out.state().base().topics().topic(ref.topicId());
            if (topic.isEmpty() || !topic.get().partitions().containsKey(ref.partition())) {
                continue;
            }
            PartitionRegistration current = TopicControl.current(out, ref);
            if (!current.replicas().contains(brokerId)) {
                continue;
            }
            TopicPolicy policy = TopicPolicy.of(out.state().base(), topic.get().name(), config);
            boolean outOfSpaceOnly = dev.basalt.metadata.image.ReplicaFault.outOfSpaceOnly(reasons.get(ref));
            boolean toBeRebuilt = dev.basalt.common.OfflineReasons.toBeRebuilt(reasons.get(ref));
            PartitionElections.removeOfflineReplica(ref.topicId(), ref.partition(), current, brokerId, outOfSpaceOnly,
                    toBeRebuilt, servable(out, ref), readable(out, ref), policy).ifPresent(out::add);
        }
    }

    /** Leadership and ISR places of {@code brokerId} move to brokers {@code live} accepts. */
    private void removeFromPartitions(RecordBuffer out, int brokerId, IntPredicate live) {
        for (TopicImage topic : out.state().base().topics().topicsById().values()) {
            TopicPolicy policy = TopicPolicy.of(out.state().base(), topic.name(), config);
            for (PartitionRef ref : TopicControl.partitionsOf(topic)) {
                PartitionElections.removeBroker(ref.topicId(), ref.partition(), TopicControl.current(out, ref),
                        brokerId, live, policy).ifPresent(out::add);
            }
        }
    }

    ControllerResult<ProducerIdsImage.ProducerIdBlock> allocateProducerIds(MetadataImage image, int brokerId,
                                                                          UUID incarnationId) {
        RecordBuffer out = new RecordBuffer(image);
        BrokerRegistration b = out.requireIncarnation(brokerId, incarnationId);
        if (b.fenced()) {
            throw new ControllerException(ControllerException.Reason.BROKER_FENCED, "broker " + brokerId + " is fenced");
        }
        long first = image.producerIds().nextProducerId();
        if (first > Long.MAX_VALUE - config.producerIdBlockSize()) {
            throw new IllegalStateException("producer id space exhausted at " + first);
        }
        ProducerIdsImage.ProducerIdBlock block = new ProducerIdsImage.ProducerIdBlock(brokerId, first,
                config.producerIdBlockSize());
        out.add(MetadataRecord.newBuilder().setProducerIdBlock(ProducerIdBlockRecord.newBuilder()
                .setOwnerBrokerId(brokerId).setFirstProducerId(first).setSize(block.size())).build());
        return out.result(block);
    }
}
