package dev.basalt.broker.group.state;

import java.util.List;
import java.util.Objects;

/**
 * The one heartbeat RPC of KIP-848, as the group logic sees it (the gRPC edge maps the wire
 * message to these). Nullable fields mean "unchanged since the last heartbeat"; a joining member
 * (epoch 0) must send its subscription.
 */
public final class Heartbeat {
    private Heartbeat() {
    }

    /**
     * @param memberId            chosen by the client (a UUID), stable across rejoins of one consumer
     * @param memberEpoch         0 to join, the current epoch to stay, -1 to leave, -2 for a static
     *                            member leaving for a restart
     * @param instanceId          {@code group.instance.id}, or null for a dynamic member
     * @param rebalanceTimeoutMs  how long the member may take to revoke partitions (0 = unchanged)
     * @param topicNames          subscribed topic names, or null
     * @param topicRegex          subscribed regex (Java syntax, whole-name match), "" for none, or null
     * @param assignor            requested server assignor, or null
     * @param owned               partitions the member owns now, including any it is still taking, or
     *                            null when not reported
     * @param rebalanceRequested  the member's enforceRebalance(): recompute the target assignment
     */
    public record Request(String groupId, String memberId, int memberEpoch, String instanceId, String clientId,
                          String clientHost, int rebalanceTimeoutMs, List<String> topicNames, String topicRegex,
                          String assignor, Assignment owned, boolean rebalanceRequested) {
        public Request {
            Objects.requireNonNull(groupId, "groupId");
            Objects.requireNonNull(memberId, "memberId");
            clientId = clientId == null ? "" : clientId;
            clientHost = clientHost == null ? "" : clientHost;
            topicNames = topicNames == null ? null : List.copyOf(topicNames);
        }

        /** A heartbeat that does not ask for a rebalance. */
        public Request(String groupId, String memberId, int memberEpoch, String instanceId, String clientId, String clientHost,
                       int rebalanceTimeoutMs, List<String> topicNames, String topicRegex, String assignor, Assignment owned) {
            this(groupId, memberId, memberEpoch, instanceId, clientId, clientHost, rebalanceTimeoutMs, topicNames, topicRegex,
                    assignor, owned, false);
        }
    }

    /**
     * @param assignment the partitions the member owns at {@code memberEpoch}: it revokes any other it
     *                   holds and confirms with its next heartbeat; null with an error
     */
    public record Response(GroupError error, String errorMessage, String memberId, int memberEpoch, int heartbeatIntervalMs,
                           Assignment assignment) {
        static Response error(GroupError error, String message) {
            return new Response(error, message, "", -1, 0, null);
        }
    }
}
