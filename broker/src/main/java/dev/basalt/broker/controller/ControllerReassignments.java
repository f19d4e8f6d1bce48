package dev.basalt.broker.controller;

import dev.basalt.metadata.controller.ControllerException;
import dev.basalt.metadata.controller.ControllerResult;
import dev.basalt.metadata.controller.DecommissionStatus;
import dev.basalt.metadata.controller.PartitionRef;
import dev.basalt.metadata.controller.ReassignmentOutcome;
import dev.basalt.metadata.controller.ReassignmentRequest;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.AlterPartitionReassignmentsRequest;
import dev.basalt.proto.v1.AlterPartitionReassignmentsResponse;
import dev.basalt.proto.v1.DecommissionBrokerRequest;
import dev.basalt.proto.v1.DecommissionBrokerResponse;
import dev.basalt.proto.v1.ElectLeadersRequest;
import dev.basalt.proto.v1.ElectLeadersResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.TopicPartitionRef;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The reassignment, decommission and leader-election admin operations of the active controller:
 * maps the wire requests to the pure {@link dev.basalt.metadata.controller.MetadataController}'s
 * decisions (topic names resolved against the image the decision sees) and the results back. Each is
 * one decision on the controller thread, answered once its records are committed.
 *
 * <p>Thread-safety: stateless; callable from any thread.
 */
final class ControllerReassignments {
    /** Most partitions one AlterPartitionReassignments request may name (one metadata entry). */
    static final int PARTITIONS_PER_REQUEST_MAX = 10_000;
    private static final String TIMEOUT_REQUIRED = "timeout_ms must be > 0";

    private ControllerReassignments() {
    }

    /** A partition's outcome: the domain outcome, or a reason found while resolving names. */
    private record Resolved(TopicPartitionRef wire, Optional<PartitionRef> ref, ErrorCode code, String message) {
    }

    private record AlterOutcome(List<Resolved> unresolved, List<ReassignmentOutcome> outcomes) {
    }

    static CompletableFuture<AlterPartitionReassignmentsResponse> alter(QuorumController q,
                                                                        AlterPartitionReassignmentsRequest req) {
        if (req.getTimeoutMs() <= 0 || req.getReassignmentsCount() > PARTITIONS_PER_REQUEST_MAX) {
            return CompletableFuture.completedFuture(AlterPartitionReassignmentsResponse.newBuilder()
                    .setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(req.getTimeoutMs() <= 0 ? TIMEOUT_REQUIRED
                            : "at most " + PARTITIONS_PER_REQUEST_MAX + " partitions per request").build());
        }
        CompletableFuture<AlterOutcome> f = q.decideAdmin("alter partition reassignments", req.getTimeoutMs(),
                (c, image) -> {
                    List<Resolved> resolved = new ArrayList<>();
                    List<ReassignmentRequest> requests = new ArrayList<>();
                    for (AlterPartitionReassignmentsRequest.Reassignment r : req.getReassignmentsList()) {
                        Resolved res = resolve(image, r.getPartition());
                        resolved.add(res);
                        res.ref().ifPresent(ref -> requests.add(new ReassignmentRequest(ref, r.hasTarget()
                                ? Optional.of(r.getTarget().getBrokerIdsList()) : Optional.empty())));
                    }
                    ControllerResult<List<ReassignmentOutcome>> result = c.alterReassignments(image, requests);
                    return new ControllerResult<>(result.records(), new AlterOutcome(resolved, result.response()));
                });
        return f.handle((outcome, error) -> {
            AlterPartitionReassignmentsResponse.Builder b = AlterPartitionReassignmentsResponse.newBuilder();
            if (error != null) {
                QuorumController.Outcome whole = QuorumController.outcome(error);
                b.setErrorCode(whole.code()).setErrorMessage(whole.message());
                req.getReassignmentsList().forEach(r -> b.addResultsBuilder().setPartition(r.getPartition())
                        .setErrorCode(whole.code()).setErrorMessage(whole.message()));
                return b.build();
            }
            int next = 0;
            for (Resolved res : outcome.unresolved()) {
                var rb = b.addResultsBuilder().setPartition(res.wire());
                if (res.ref().isEmpty()) {
                    rb.setErrorCode(res.code()).setErrorMessage(res.message());
                    continue;
                }
                Optional<ControllerException> e = outcome.outcomes().get(next++).error();
                if (e.isPresent()) {
                    QuorumController.Outcome oc = QuorumController.outcome(e.get());
                    rb.setErrorCode(oc.code()).setErrorMessage(oc.message());
                } else {
                    rb.setErrorCode(ErrorCode.NONE);
                }
            }
            return b.build();
        });
    }

    private static Resolved resolve(MetadataImage image, TopicPartitionRef wire) {
        Optional<TopicImage> topic = image.topics().topic(wire.getTopic());
        if (topic.isEmpty()) {
            return new Resolved(wire, Optional.empty(), ErrorCode.UNKNOWN_TOPIC, "unknown topic '" + wire.getTopic() + "'");
        }
        if (topic.get().partition(wire.getPartition()).isEmpty()) {
            return new Resolved(wire, Optional.empty(), ErrorCode.INVALID_PARTITION, "topic '" + wire.getTopic()
                    + "' has no partition " + wire.getPartition());
        }
        return new Resolved(wire, Optional.of(new PartitionRef(topic.get().id(), wire.getPartition())), ErrorCode.NONE, "");
    }

    static CompletableFuture<DecommissionBrokerResponse> decommission(QuorumController q, DecommissionBrokerRequest req,
                                                                      boolean decommission) {
        if (req.getTimeoutMs() <= 0) {
            return CompletableFuture.completedFuture(DecommissionBrokerResponse.newBuilder().setBrokerId(req.getBrokerId())
                    .setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(TIMEOUT_REQUIRED).build());
        }
        int id = req.getBrokerId();
        CompletableFuture<DecommissionStatus> f = q.decideAdmin((decommission ? "decommission" : "recommission")
                + " broker " + id, req.getTimeoutMs(), (c, image) -> {
                    if (!image.cluster().brokers().containsKey(id)) {
                        Optional<MetadataQuorum.Membership> m = q.quorumMembership(id);
                        if (m.isPresent()) {
                            throw new ControllerException(ControllerException.Reason.UNKNOWN_BROKER,
                                    notABroker(id, m.get(), decommission, image));
                        }
                    }
                    return decommission ? c.decommissionBroker(image, id) : c.recommissionBroker(image, id);
                });
        return f.handle((status, error) -> {
            DecommissionBrokerResponse.Builder b = DecommissionBrokerResponse.newBuilder().setBrokerId(req.getBrokerId());
            if (error != null) {
                QuorumController.Outcome oc = QuorumController.outcome(error);
                // Brokers' own calls map an unknown id to STALE_BROKER_INCARNATION (re-register);
                // for an operator naming a broker it is a typo or a broker gone.
                ErrorCode code = unwrapped(error) instanceof ControllerException ce
                        && ce.reason() == ControllerException.Reason.UNKNOWN_BROKER ? ErrorCode.UNKNOWN_BROKER_ID : oc.code();
                return b.setErrorCode(code).setErrorMessage(oc.message()).build();
            }
            return b.setErrorCode(ErrorCode.NONE).setDecommissioned(status.decommissioned())
                    .setReplicasRemaining(status.replicasRemaining()).setLeadersRemaining(status.leadersRemaining())
                    .setCanStop(status.canStop()).build();
        });
    }

    /**
     * Why a decommission or recommission of a controller-only node (a node of the metadata quorum
     * that never registered as a broker) is refused. Found probing: it read "broker 2 is not
     * registered", as for a typo.
     */
    static String notABroker(int nodeId, MetadataQuorum.Membership membership, boolean decommission, MetadataImage image) {
        boolean voter = membership == MetadataQuorum.Membership.VOTER;
        Set<Integer> brokers = image.cluster().brokers().keySet(); // sorted
        String what = decommission
                ? "it holds no partitions, so there is nothing to decommission" + (voter ? "; to take it out of the quorum,"
                        + " POST /quorum/remove-voter?id=" + nodeId + " on the active controller's admin endpoint" : "")
                : "it was never a broker, so never decommissioned";
        return "node " + nodeId + " is a controller-only node (" + (voter ? "a voter of the metadata quorum"
                : "a node of the metadata quorum, not a voter now") + ", never registered as a broker): " + what
                + " (brokers: " + (brokers.isEmpty() ? "none" : String.join(", ", brokers.stream().map(String::valueOf).toList())) + ")";
    }

    private static Throwable unwrapped(Throwable t) {
        return t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
    }

    private record Elected(List<TopicPartitionRef> elected, int notPreferredRemaining) {
    }

    static CompletableFuture<ElectLeadersResponse> electLeaders(QuorumController q, ElectLeadersRequest req) {
        if (req.getTimeoutMs() <= 0) {
            return CompletableFuture.completedFuture(ElectLeadersResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage(TIMEOUT_REQUIRED).build());
        }
        CompletableFuture<Elected> f = q.decideAdmin("elect preferred leaders", req.getTimeoutMs(), (c, image) -> {
            ControllerResult<List<PartitionRef>> result;
            if (req.getPartitionsCount() == 0) {
                result = c.electPreferredLeaders(image);
            } else {
                List<PartitionRef> refs = new ArrayList<>();
                Set<TopicPartitionRef> seen = new HashSet<>();
                for (TopicPartitionRef wire : req.getPartitionsList()) {
                    Resolved res = resolve(image, wire);
                    if (res.ref().isEmpty() || !seen.add(wire)) {
                        throw new ControllerException(res.ref().isEmpty() ? ControllerException.Reason.UNKNOWN_PARTITION
                                : ControllerException.Reason.INVALID_REQUEST, res.ref().isEmpty() ? res.message()
                                : "partition " + wire.getTopic() + "-" + wire.getPartition() + " is named twice");
                    }
                    refs.add(res.ref().get());
                }
                result = c.electPreferredLeaders(image, refs);
            }
            MetadataDelta after = new MetadataDelta(image);
            after.replayAll(result.records());
            MetadataImage next = after.apply();
            List<TopicPartitionRef> elected = new ArrayList<>();
            for (PartitionRef ref : result.response()) {
                elected.add(TopicPartitionRef.newBuilder().setTopic(next.topics().topic(ref.topicId()).orElseThrow().name())
                        .setPartition(ref.partition()).build());
            }
            return new ControllerResult<>(result.records(), new Elected(elected, c.leaderImbalance(next).notPreferred()));
        });
        return f.handle((elected, error) -> {
            ElectLeadersResponse.Builder b = ElectLeadersResponse.newBuilder();
            if (error != null) {
                QuorumController.Outcome oc = QuorumController.outcome(error);
                return b.setErrorCode(oc.code()).setErrorMessage(oc.message()).build();
            }
            return b.setErrorCode(ErrorCode.NONE).addAllElected(elected.elected())
                    .setNotPreferredRemaining(elected.notPreferredRemaining()).build();
        });
    }
}
