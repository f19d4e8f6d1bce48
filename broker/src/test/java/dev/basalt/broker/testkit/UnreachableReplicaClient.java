package dev.basalt.broker.testkit;

import dev.basalt.broker.replica.fetcher.ReplicaClient;
import dev.basalt.proto.v1.OffsetForLeaderEpochRequest;
import dev.basalt.proto.v1.OffsetForLeaderEpochResponse;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;

/** A peer broker that never answers: for tests where no follower runs. Stateless, thread-safe. */
public final class UnreachableReplicaClient implements ReplicaClient {
    /** A factory handing out unreachable peers for every broker. */
    public static final ReplicaClient.Factory FACTORY = (id, host, port) -> new UnreachableReplicaClient();

    @Override
    public ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs) throws ReplicaClientException {
        throw new ReplicaClientException("unreachable", null);
    }

    @Override
    public OffsetForLeaderEpochResponse offsetForLeaderEpoch(OffsetForLeaderEpochRequest request, long timeoutMs)
            throws ReplicaClientException {
        throw new ReplicaClientException("unreachable", null);
    }

    @Override
    public void close() {
    }
}
