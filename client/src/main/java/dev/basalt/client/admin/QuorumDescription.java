package dev.basalt.client.admin;

import java.util.List;

/** The metadata quorum: leader (-1 = none), term, high watermark, voters and observers. Immutable. */
public record QuorumDescription(int leaderId, long term, long highWatermark, List<QuorumReplica> voters, List<QuorumReplica> observers) {
    public QuorumDescription {
        voters = List.copyOf(voters);
        observers = List.copyOf(observers);
    }
}
