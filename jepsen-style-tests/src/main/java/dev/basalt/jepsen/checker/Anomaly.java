package dev.basalt.jepsen.checker;

/**
 * The anomalies {@link QueueChecker} reports: Jepsen's Kafka names (jepsen.tests.kafka) plus
 * Basalt's own. Definitions, for a key k (a topic-partition), where "the log" of k is every
 * (offset, value) that an acknowledged send or a client poll observed, and "read offsets" are
 * the offsets client polls returned:
 *
 * <ul>
 *   <li>{@code inconsistent-offsets}: two different values observed at one offset of k.</li>
 *   <li>{@code duplicate}: one value observed at more than one offset (of any keys).</li>
 *   <li>{@code lost-write}: a send acknowledged at offset o of k, never returned by any poll,
 *       although some poll returned an offset &ge; o of k.</li>
 *   <li>{@code unseen}: a send acknowledged at offset o of k, never returned by any poll, and no
 *       poll returned an offset &ge; o. Only an anomaly when the run ended with final reads
 *       (otherwise a count for the report).</li>
 *   <li>{@code G1a} (aborted read): a poll returned a value whose send failed definitely.</li>
 *   <li>{@code poll-skip}: a process's poll of k starts after its previous poll of k ended, and
 *       some poll (of any process) returned an offset between the two.</li>
 *   <li>{@code nonmonotonic-poll}: a process's poll of k starts at or below the offset its previous
 *       poll of k ended at.</li>
 *   <li>{@code int-poll-skip} / {@code int-nonmonotonic-poll}: the same, between two consecutive
 *       records of k inside one poll.</li>
 *   <li>{@code nonmonotonic-send}: a process's send to k was acknowledged at an offset at or below
 *       the offset of its previous acknowledged send to k (a process is sequential, so the later
 *       send was invoked after the earlier one completed).</li>
 *   <li>{@code int-send-skip}: inside one send operation, two consecutive values to k got offsets
 *       with an observed offset between them (the operation's values were not contiguous).</li>
 *   <li>{@code int-nonmonotonic-send}: inside one send operation, a later value to k got a lower
 *       or equal offset.</li>
 *   <li>{@code lost-on-node}: after healing, a replica read directly holds, below its high
 *       watermark, no value or a different value at an offset where the log has one: that
 *       replica's committed log disagrees with what clients saw.</li>
 *   <li>{@code phantom}: a poll returned a value no process ever sent.</li>
 *   <li>{@code nonmonotonic-commit}: a group's committed offset of k went backwards: an accepted
 *       commit of k invoked after another accepted commit of k completed has a lower offset.</li>
 *   <li>{@code double-owner}: two members of one group both owned k: member A acquired k, then
 *       member B had a commit of k accepted, then A (which had not lost k in between) had a
 *       commit of k accepted. Commits carry the member epoch and a fenced member's commit is
 *       rejected, so both acceptances mean the coordinator let two members own k at once.</li>
 * </ul>
 *
 * <p>Thread-safety: immutable enum.
 */
public enum Anomaly {
    INCONSISTENT_OFFSETS("inconsistent-offsets"),
    DUPLICATE("duplicate"),
    LOST_WRITE("lost-write"),
    UNSEEN("unseen"),
    G1A("G1a"),
    POLL_SKIP("poll-skip"),
    NONMONOTONIC_POLL("nonmonotonic-poll"),
    INT_POLL_SKIP("int-poll-skip"),
    INT_NONMONOTONIC_POLL("int-nonmonotonic-poll"),
    NONMONOTONIC_SEND("nonmonotonic-send"),
    INT_SEND_SKIP("int-send-skip"),
    INT_NONMONOTONIC_SEND("int-nonmonotonic-send"),
    LOST_ON_NODE("lost-on-node"),
    PHANTOM("phantom"),
    NONMONOTONIC_COMMIT("nonmonotonic-commit"),
    DOUBLE_OWNER("double-owner");

    private final String jepsenName;

    Anomaly(String jepsenName) {
        this.jepsenName = jepsenName;
    }

    /** The name used in reports (Jepsen's where Jepsen has one). */
    public String jepsenName() {
        return jepsenName;
    }

    public static Anomaly ofName(String name) {
        for (Anomaly a : values()) {
            if (a.jepsenName.equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("no anomaly named " + name);
    }
}
