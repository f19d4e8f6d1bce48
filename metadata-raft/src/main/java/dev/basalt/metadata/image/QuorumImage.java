package dev.basalt.metadata.image;

import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.QuorumVoter;
import dev.basalt.proto.v1.VoterSetChangeRecord;
import java.util.Collections;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The metadata quorum's voters as recorded in the metadata log (the Raft layer holds the
 * authoritative configuration; this copy lets brokers and tools see it in the image). Immutable and
 * thread-safe.
 */
public final class QuorumImage {
    public static final QuorumImage EMPTY = new QuorumImage(new TreeMap<>());

    private final SortedMap<Integer, Voter> voters;

    /**
     * A voter and its Raft endpoint.
     *
     * @param nodeId node id
     * @param host   host of its Raft endpoint
     * @param port   port of its Raft endpoint
     */
    public record Voter(int nodeId, String host, int port) {
        public Voter {
            Objects.requireNonNull(host, "host");
            if (nodeId < 0 || host.isEmpty() || port < 1 || port > 65535) {
                throw new IllegalArgumentException("bad voter " + nodeId + " " + host + ":" + port);
            }
        }
    }

    /** Takes ownership of {@code voters}. */
    public QuorumImage(TreeMap<Integer, Voter> voters) {
        this.voters = Collections.unmodifiableSortedMap(voters);
    }

    public SortedMap<Integer, Voter> voters() {
        return voters;
    }

    void toRecords(Consumer<MetadataRecord> out) {
        if (voters.isEmpty()) {
            return;
        }
        VoterSetChangeRecord.Builder record = VoterSetChangeRecord.newBuilder();
        voters.values().forEach(v -> record.addVoters(QuorumVoter.newBuilder().setNodeId(v.nodeId())
                .setHost(v.host()).setPort(v.port())));
        out.accept(MetadataRecord.newBuilder().setVoterSetChange(record).build());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuorumImage q && voters.equals(q.voters);
    }

    @Override
    public int hashCode() {
        return voters.hashCode();
    }

    @Override
    public String toString() {
        return "QuorumImage" + voters.values();
    }
}
