package dev.basalt.broker.group.state;

import java.util.Objects;
import java.util.SortedMap;
import java.util.SortedSet;

/**
 * A server-side assignor (KIP-848): given every member's subscription and the previous target
 * assignment, it computes the next target assignment of the group. Pure and deterministic: the
 * same input gives the same output on every coordinator, so a replayed group reaches the same
 * target as the live one.
 *
 * <p>Contract: the answer has an entry for every member of the input (possibly empty); every
 * partition of every topic some member subscribes to is given to exactly one member subscribed to
 * its topic; no partition of an unsubscribed or absent topic is given.
 *
 * <p>Implementations are stateless and thread-safe.
 */
public interface Assignor {
    /** The name a group selects it by ({@code group.consumer.assignor} or the member's request). */
    String name();

    SortedMap<String, Assignment> assign(Spec spec);

    /**
     * One member as the assignor sees it.
     *
     * @param instanceId       {@code group.instance.id}, or null for a dynamic member
     * @param subscribedTopics the existing topics it subscribes to (names and regex resolved)
     * @param currentTarget    its partitions in the previous target assignment (for stickiness)
     */
    record MemberSpec(String instanceId, SortedSet<String> subscribedTopics, Assignment currentTarget) {
        public MemberSpec {
            Objects.requireNonNull(subscribedTopics, "subscribedTopics");
            Objects.requireNonNull(currentTarget, "currentTarget");
        }
    }

    /** Members by member id, and the topics' partition counts. */
    record Spec(SortedMap<String, MemberSpec> members, TopicsView topics) {
        public Spec {
            Objects.requireNonNull(members, "members");
            Objects.requireNonNull(topics, "topics");
        }
    }

    /** The assignor of that name, or null. */
    static Assignor byName(String name) {
        return switch (name) {
            case UniformAssignor.NAME -> UniformAssignor.INSTANCE;
            case RangeAssignor.NAME -> RangeAssignor.INSTANCE;
            default -> null;
        };
    }
}
