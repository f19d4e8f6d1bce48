package dev.basalt.broker.gateway;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.basalt.broker.server.FetchHandler;
import dev.basalt.broker.server.ListOffsetsHandler;
import dev.basalt.broker.server.ProduceHandler;
import dev.basalt.log.FetchSlice;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.proto.v1.FetchServiceGrpc;
import dev.basalt.proto.v1.ListOffsetsRequest;
import dev.basalt.proto.v1.ListOffsetsResponse;
import dev.basalt.proto.v1.ListOffsetsServiceGrpc;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.proto.v1.ProduceServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Where the gateway sends a partition's work: this broker's own handlers when it leads the
 * partition (no network hop), else the leader's client port over gRPC, through one channel per
 * broker endpoint, opened on first use and replaced when the broker's endpoint changes.
 *
 * <p>Thread-safety: thread-safe.
 */
final class Destinations implements AutoCloseable {
    /** One broker's client services. */
    interface Destination {
        CompletableFuture<ProduceResponse> produce(ProduceRequest request, long deadlineMs);

        CompletableFuture<FetchResponse> fetch(FetchRequest request, long deadlineMs);

        CompletableFuture<ListOffsetsResponse> listOffsets(ListOffsetsRequest request, long deadlineMs);
    }

    private final Destination local;
    private final int messageBytesMax;
    private final Map<String, Remote> remotes = new HashMap<>(); // "id@host:port" → channel; guarded by this
    private boolean closed; // guarded by this

    Destinations(ProduceHandler produce, FetchHandler fetch, ListOffsetsHandler listOffsets, int messageBytesMax) {
        this.local = new Local(produce, fetch, listOffsets);
        this.messageBytesMax = messageBytesMax;
    }

    Destination local() {
        return local;
    }

    /** The destination for broker {@code brokerId} at {@code host:port}. */
    synchronized Destination remote(int brokerId, String host, int port) {
        if (closed) {
            throw new IllegalStateException("gateway closed");
        }
        String key = brokerId + "@" + host + ":" + port;
        Remote r = remotes.get(key);
        if (r == null) {
            // A broker that moved to another endpoint leaves its old channel behind: close it.
            remotes.entrySet().removeIf(e -> {
                if (e.getKey().startsWith(brokerId + "@")) {
                    e.getValue().channel.shutdown();
                    return true;
                }
                return false;
            });
            r = new Remote(NettyChannelBuilder.forAddress(host, port).usePlaintext().directExecutor()
                    .maxInboundMessageSize(messageBytesMax).build());
            remotes.put(key, r);
        }
        return r;
    }

    @Override
    public synchronized void close() {
        closed = true;
        remotes.values().forEach(r -> r.channel.shutdownNow());
        remotes.clear();
    }

    /** This broker's handlers, called directly. */
    private static final class Local implements Destination {
        private final ProduceHandler produce;
        private final FetchHandler fetch;
        private final ListOffsetsHandler listOffsets;

        Local(ProduceHandler produce, FetchHandler fetch, ListOffsetsHandler listOffsets) {
            this.produce = produce;
            this.fetch = fetch;
            this.listOffsets = listOffsets;
        }

        @Override
        public CompletableFuture<ProduceResponse> produce(ProduceRequest request, long deadlineMs) {
            CompletableFuture<ProduceResponse> f = new CompletableFuture<>();
            produce.handle(request, f::complete);
            return f;
        }

        @Override
        public CompletableFuture<FetchResponse> fetch(FetchRequest request, long deadlineMs) {
            CompletableFuture<FetchResponse> f = new CompletableFuture<>();
            fetch.handle(request, (reply, slices) -> {
                try {
                    f.complete(reply.toResponse()); // copies the records out of the mapped slices
                } catch (RuntimeException e) {
                    f.completeExceptionally(e);
                } finally {
                    slices.forEach(FetchSlice::close);
                }
            });
            return f;
        }

        @Override
        public CompletableFuture<ListOffsetsResponse> listOffsets(ListOffsetsRequest request, long deadlineMs) {
            try {
                return CompletableFuture.completedFuture(listOffsets.handle(request));
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
    }

    /** Another broker's client port. */
    private static final class Remote implements Destination {
        private final ManagedChannel channel;
        private final ProduceServiceGrpc.ProduceServiceFutureStub produce;
        private final FetchServiceGrpc.FetchServiceFutureStub fetch;
        private final ListOffsetsServiceGrpc.ListOffsetsServiceFutureStub listOffsets;

        /** Caps gRPC's reconnect wait: each call below first starts an attempt if the channel is failing. */
        private final dev.basalt.broker.rpc.ReconnectingChannel reconnect;

        Remote(ManagedChannel channel) {
            this.channel = channel;
            this.reconnect = new dev.basalt.broker.rpc.ReconnectingChannel(channel);
            this.produce = ProduceServiceGrpc.newFutureStub(channel);
            this.fetch = FetchServiceGrpc.newFutureStub(channel);
            this.listOffsets = ListOffsetsServiceGrpc.newFutureStub(channel);
        }

        @Override
        public CompletableFuture<ProduceResponse> produce(ProduceRequest request, long deadlineMs) {
            reconnect.channel();
            return adapt(produce.withDeadlineAfter(remainingMs(deadlineMs), TimeUnit.MILLISECONDS).produce(request));
        }

        @Override
        public CompletableFuture<FetchResponse> fetch(FetchRequest request, long deadlineMs) {
            reconnect.channel();
            return adapt(fetch.withDeadlineAfter(remainingMs(deadlineMs), TimeUnit.MILLISECONDS).fetch(request));
        }

        @Override
        public CompletableFuture<ListOffsetsResponse> listOffsets(ListOffsetsRequest request, long deadlineMs) {
            reconnect.channel();
            return adapt(listOffsets.withDeadlineAfter(remainingMs(deadlineMs), TimeUnit.MILLISECONDS).listOffsets(request));
        }

        private static long remainingMs(long deadlineMs) {
            return Math.max(1, deadlineMs - System.currentTimeMillis());
        }

        private static <T> CompletableFuture<T> adapt(ListenableFuture<T> lf) {
            CompletableFuture<T> f = new CompletableFuture<>();
            Futures.addCallback(lf, new FutureCallback<>() {
                @Override
                public void onSuccess(T result) {
                    f.complete(result);
                }

                @Override
                public void onFailure(Throwable t) {
                    f.completeExceptionally(t);
                }
            }, MoreExecutors.directExecutor());
            return f;
        }
    }
}
