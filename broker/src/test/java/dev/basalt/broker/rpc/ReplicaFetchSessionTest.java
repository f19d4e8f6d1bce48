package dev.basalt.broker.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.replica.fetcher.ReplicaClient;
import dev.basalt.proto.v1.OffsetForLeaderEpochResponse;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;
import dev.basalt.proto.v1.ReplicaServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The ReplicaFetchSession transport at both ends (in-process gRPC): answers in order over one
 * stream, the one-request-at-a-time rule, late answers after a timeout, a stream ended by the
 * leader, and the fall-back to unary ReplicaFetch against a leader without sessions.
 */
class ReplicaFetchSessionTest {
    private final List<Server> servers = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final List<ReplicaClient> clients = new ArrayList<>();

    @AfterEach
    void tearDown() throws InterruptedException {
        clients.forEach(ReplicaClient::close);
        for (ManagedChannel c : channels) {
            c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        for (Server s : servers) {
            s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private String serve(ServerServiceDefinition service) throws Exception {
        String name = InProcessServerBuilder.generateName();
        servers.add(InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start());
        return name;
    }

    private ReplicaClient client(String name) {
        ReplicaClient c = ReplicaRpc.clients(target -> {
            ManagedChannel ch = InProcessChannelBuilder.forName(name).directExecutor().build();
            channels.add(ch);
            return ch;
        }).connect(7, "in-process", 0);
        clients.add(c);
        return c;
    }

    private static ServerServiceDefinition service(BiConsumer<ReplicaFetchRequest, Consumer<ReplicaFetchResponse>> fetch) {
        return ReplicaRpc.service(fetch, req -> OffsetForLeaderEpochResponse.getDefaultInstance());
    }

    private static ReplicaFetchRequest request(long offset) {
        return ReplicaFetchRequest.newBuilder().setReplicaId(2).addPartitions(
                ReplicaFetchRequest.PartitionData.newBuilder().setTopicId("t").setPartition(0).setFetchOffset(offset)).build();
    }

    /** An answer that names the request it answers (its fetch offset as the high watermark). */
    private static ReplicaFetchResponse echo(ReplicaFetchRequest req) {
        return ReplicaFetchResponse.newBuilder().addPartitions(ReplicaFetchResponse.PartitionResponse.newBuilder()
                .setHighWatermark(req.getPartitions(0).getFetchOffset())).build();
    }

    @Test
    void everyFetchGetsItsOwnAnswerOverOneStream() throws Exception {
        AtomicInteger handled = new AtomicInteger();
        ReplicaClient c = client(serve(service((req, respond) -> {
            handled.incrementAndGet();
            respond.accept(echo(req));
        })));
        for (long offset = 0; offset < 200; offset++) {
            assertEquals(offset, c.fetch(request(offset), 5_000).getPartitions(0).getHighWatermark());
        }
        assertEquals(200, handled.get());
    }

    @Test
    void aParkedAnswerArrivesLaterOnTheSameStream() throws Exception {
        LinkedBlockingQueue<Runnable> parked = new LinkedBlockingQueue<>();
        ReplicaClient c = client(serve(service((req, respond) -> parked.add(() -> respond.accept(echo(req))))));
        CompletableFuture<ReplicaFetchResponse> answer = CompletableFuture.supplyAsync(() -> {
            try {
                return c.fetch(request(41), 10_000);
            } catch (ReplicaClient.ReplicaClientException e) {
                throw new IllegalStateException(e);
            }
        });
        Runnable release = parked.poll(10, TimeUnit.SECONDS);
        assertTrue(release != null, "the leader never saw the request");
        new Thread(release, "purgatory-like").start(); // the answer comes from another thread, as from the purgatory
        assertEquals(41, answer.get(10, TimeUnit.SECONDS).getPartitions(0).getHighWatermark());
    }

    @Test
    void aTimedOutFetchDropsItsLateAnswerAndTheNextFetchUsesANewStream() throws Exception {
        LinkedBlockingQueue<Runnable> parked = new LinkedBlockingQueue<>();
        AtomicInteger calls = new AtomicInteger();
        ReplicaClient c = client(serve(service((req, respond) -> {
            if (calls.incrementAndGet() == 1) {
                parked.add(() -> respond.accept(echo(req))); // never answered in time
            } else {
                respond.accept(echo(req));
            }
        })));
        assertThrows(ReplicaClient.ReplicaClientException.class, () -> c.fetch(request(1), 200));
        // The first stream was cancelled: its late answer is dropped by the leader, not thrown.
        Runnable late = parked.poll(5, TimeUnit.SECONDS);
        assertTrue(late != null);
        late.run();
        assertEquals(2, c.fetch(request(2), 5_000).getPartitions(0).getHighWatermark());
        assertEquals(3, c.fetch(request(3), 5_000).getPartitions(0).getHighWatermark());
    }

    @Test
    void aSecondRequestBeforeTheAnswerEndsTheStream() throws Exception {
        String name = serve(service((req, respond) -> { })); // never answers
        ManagedChannel ch = InProcessChannelBuilder.forName(name).directExecutor().build();
        channels.add(ch);
        CompletableFuture<Status> ended = new CompletableFuture<>();
        StreamObserver<ReplicaFetchRequest> requests = ReplicaServiceGrpc.newStub(ch).replicaFetchSession(
                new StreamObserver<>() {
                    @Override
                    public void onNext(ReplicaFetchResponse value) {
                        ended.completeExceptionally(new AssertionError("no answer was expected"));
                    }

                    @Override
                    public void onError(Throwable t) {
                        ended.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        ended.complete(Status.OK);
                    }
                });
        requests.onNext(request(1));
        requests.onNext(request(2));
        assertEquals(Status.Code.FAILED_PRECONDITION, ended.get(5, TimeUnit.SECONDS).getCode());
    }

    @Test
    void aStreamEndedByTheLeaderFailsTheFetchAndTheNextOneReconnects() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        ReplicaClient c = client(serve(service((req, respond) -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("handler bug"); // the session ends with INTERNAL
            }
            respond.accept(echo(req));
        })));
        ReplicaClient.ReplicaClientException e = assertThrows(ReplicaClient.ReplicaClientException.class,
                () -> c.fetch(request(1), 5_000));
        assertTrue(e.getMessage().contains("INTERNAL"), e.getMessage());
        assertEquals(9, c.fetch(request(9), 5_000).getPartitions(0).getHighWatermark());
    }

    @Test
    void aStoppingLeaderEndsItsSessionsAndFollowersReconnect() throws Exception {
        LinkedBlockingQueue<Runnable> parked = new LinkedBlockingQueue<>();
        AtomicInteger calls = new AtomicInteger();
        ReplicaRpc.Server server = new ReplicaRpc.Server((req, respond) -> {
            if (calls.incrementAndGet() == 1) {
                parked.add(() -> respond.accept(echo(req))); // a long poll with nothing new
            } else {
                respond.accept(echo(req));
            }
        }, req -> OffsetForLeaderEpochResponse.getDefaultInstance());
        ReplicaClient c = client(serve(server.definition()));
        CompletableFuture<Throwable> failed = CompletableFuture.supplyAsync(() -> {
            try {
                c.fetch(request(1), 30_000);
                return null;
            } catch (ReplicaClient.ReplicaClientException e) {
                return e;
            }
        });
        assertTrue(parked.poll(10, TimeUnit.SECONDS) != null);
        assertEquals(1, server.openSessions());
        server.endSessions(Status.UNAVAILABLE.withDescription("stopping"));
        Throwable e = failed.get(10, TimeUnit.SECONDS);
        assertTrue(e != null && e.getMessage().contains("UNAVAILABLE"), String.valueOf(e));
        assertEquals(0, server.openSessions());
        assertEquals(4, c.fetch(request(4), 5_000).getPartitions(0).getHighWatermark());
    }

    @Test
    void aLeaderWithoutSessionsIsFetchedFromWithUnaryCalls() throws Exception {
        AtomicInteger unary = new AtomicInteger();
        ReplicaClient c = client(serve(new ReplicaServiceGrpc.ReplicaServiceImplBase() {
            @Override
            public void replicaFetch(ReplicaFetchRequest request, StreamObserver<ReplicaFetchResponse> obs) {
                unary.incrementAndGet();
                obs.onNext(echo(request));
                obs.onCompleted();
            }
        }.bindService()));
        assertEquals(5, c.fetch(request(5), 5_000).getPartitions(0).getHighWatermark());
        assertEquals(6, c.fetch(request(6), 5_000).getPartitions(0).getHighWatermark());
        assertEquals(2, unary.get());
    }
}
