package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
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
        if (existing.isPresent() && !existing.get().fenced()
                && sessions.isAlive(request.brokerId(), existing.get().incarnationId(), nowMs)) {
            throw new ControllerException(ControllerException.Reason.DUPLICATE_BROKER_REGISTRATION, "broker "
                    + request.brokerId() + " incarnation " + existing.get().incarnationId() + " is still alive");
        }
        if (existing.isPresent()) {
            int id = request.brokerId();
            // The old incarnation is gone: take its leaderships and ISR places before the new one registers.
            removeFromPartitions(out, image, id, other -> other != id && out.isLive(other));
        }
        out.add(registrationRecord(registration));
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
            if (!b.fenced()) {
                fence(out, image, b);
            }
            return out.result(new BrokerStatus(b.brokerId(), true));
        }
        sessions.touch(b.brokerId(), b.incarnationId(), nowMs);
        if (b.fenced() && request.caughtUp()) {
            unfence(out, image, b);
            return out.result(new BrokerStatus(b.brokerId(), false));
        }
        return out.result(new BrokerStatus(b.brokerId(), b.fenced()));
    }

    /** Fences every unfenced broker whose session expired at {@code nowMs}; returns their ids. */
    ControllerResult<List<Integer>> fenceExpired(MetadataImage image, long nowMs) {
        RecordBuffer out = new RecordBuffer(image);
        List<Integer> fenced = new ArrayList<>();
        for (BrokerRegistration b : image.cluster().brokers().values()) {
            if (!b.fenced() && sessions.expire(b.brokerId(), b.incarnationId(), nowMs)) {
                fence(out, image, b);
                sessions.remove(b.brokerId());
                fenced.add(b.brokerId());
            }
        }
        return out.result(fenced);
    }

    OptionalLong nextSessionExpiryMs() {
        return sessions.nextExpiryMs();
    }

    private static void fence(RecordBuffer out, MetadataImage image, BrokerRegistration b) {
        out.add(MetadataRecord.newBuilder().setBrokerFenced(BrokerFencedRecord.newBuilder().setBrokerId(b.brokerId())
                .setIncarnationId(ProtoIds.toProto(b.incarnationId()))).build());
        removeFromPartitions(out, image, b.brokerId(), out::isLive);
    }

    private static void unfence(RecordBuffer out, MetadataImage image, BrokerRegistration b) {
        out.add(MetadataRecord.newBuilder().setBrokerUnfenced(BrokerUnfencedRecord.newBuilder()
                .setBrokerId(b.brokerId()).setIncarnationId(ProtoIds.toProto(b.incarnationId()))).build());
        for (TopicImage topic : image.topics().topicsById().values()) {
            boolean unclean = TopicControl.uncleanAllowed(image, topic.name());
            for (PartitionRef ref : TopicControl.partitionsOf(topic)) {
                PartitionElections.electLeaderless(ref.topicId(), ref.partition(), TopicControl.current(out, ref),
                        out::isLive, unclean).ifPresent(out::add);
            }
        }
    }

    /** Leadership and ISR places of {@code brokerId} move to brokers {@code live} accepts. */
    private static void removeFromPartitions(RecordBuffer out, MetadataImage image, int brokerId, IntPredicate live) {
        for (TopicImage topic : image.topics().topicsById().values()) {
            boolean unclean = TopicControl.uncleanAllowed(image, topic.name());
            for (PartitionRef ref : TopicControl.partitionsOf(topic)) {
                PartitionElections.removeBroker(ref.topicId(), ref.partition(), TopicControl.current(out, ref),
                        brokerId, live, unclean).ifPresent(out::add);
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
