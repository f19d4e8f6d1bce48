package dev.basalt.broker.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.controller.ControllerClient;
import dev.basalt.broker.metadata.MetadataPublisher;
import dev.basalt.metadata.MetadataStateMachine;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.proto.v1.BrokerHeartbeatRequest;
import dev.basalt.proto.v1.BrokerHeartbeatResponse;
import dev.basalt.proto.v1.BrokerSessionEvent;
import dev.basalt.proto.v1.BrokerSessionRequest;
import dev.basalt.proto.v1.ControllerServiceGrpc;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.RegisterBrokerRequest;
import dev.basalt.proto.v1.RegisterBrokerResponse;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Found probing a split cluster: a broker told (wrongly) that controller 2 was active closed its
 * session with controller 1, the real active controller, which fenced the live broker and moved its
 * leaderships. The session is moved make-before-break: the held one closes only once the new
 * controller granted its own; a refusal leaves it open. Real gRPC on loopback, fake controllers.
 */
class BrokerSessionMoveTest {
    private final List<Server> servers = new ArrayList<>();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final ScheduledExecutorService lifecycleThread = Executors.newSingleThreadScheduledExecutor();
    /** Session events at the controllers, in order: "granted@N", "refused@N", "closed@N". */
    private final ConcurrentLinkedQueue<String> events = new ConcurrentLinkedQueue<>();
    private ControllerClient client;
    private MetadataPublisher publisher;
    private BrokerLifecycle lifecycle;

    private final class FakeController extends ControllerServiceGrpc.ControllerServiceImplBase {
        private final int id;
        volatile boolean active;
        volatile int hint = -1;
        /** While set, an accepted session's grant (its NONE event) is held back until {@link #releaseGrant}. */
        volatile boolean holdGrant;
        private volatile Runnable heldGrant;

        void releaseGrant() {
            holdGrant = false;
            Runnable r = heldGrant;
            heldGrant = null;
            if (r != null) {
                r.run();
            }
        }

        FakeController(int id, boolean active) {
            this.id = id;
            this.active = active;
        }

        @Override
        public void registerBroker(RegisterBrokerRequest request, StreamObserver<RegisterBrokerResponse> out) {
            out.onNext(active ? RegisterBrokerResponse.newBuilder().setErrorCode(ErrorCode.NONE).setControllerId(id).setFenced(true).build()
                    : RegisterBrokerResponse.newBuilder().setErrorCode(ErrorCode.NOT_CONTROLLER).setControllerId(hint).build());
            out.onCompleted();
        }

        @Override
        public void brokerHeartbeat(BrokerHeartbeatRequest request, StreamObserver<BrokerHeartbeatResponse> out) {
            out.onNext(active ? BrokerHeartbeatResponse.newBuilder().setErrorCode(ErrorCode.NONE).setControllerId(id).setFenced(true).build()
                    : BrokerHeartbeatResponse.newBuilder().setErrorCode(ErrorCode.NOT_CONTROLLER).setControllerId(hint).build());
            out.onCompleted();
        }

        @Override
        public void brokerSession(BrokerSessionRequest request, StreamObserver<BrokerSessionEvent> out) {
            if (!active) {
                events.add("refused@" + id);
                out.onNext(BrokerSessionEvent.newBuilder().setErrorCode(ErrorCode.NOT_CONTROLLER).setControllerId(hint).build());
                out.onCompleted();
                return;
            }
            ((ServerCallStreamObserver<BrokerSessionEvent>) out).setOnCancelHandler(() -> events.add("closed@" + id));
            Runnable grant = () -> {
                events.add("granted@" + id);
                out.onNext(BrokerSessionEvent.newBuilder().setErrorCode(ErrorCode.NONE).setControllerId(id).build());
            };
            if (holdGrant) {
                events.add("accepted@" + id); // registered at the controller, its answer not sent yet
                heldGrant = grant;
                return;
            }
            grant.run();
            // the stream stays open while the broker lives (as QuorumController's)
        }
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (lifecycle != null) {
            lifecycle.close();
        }
        if (client != null) {
            client.close();
        }
        if (publisher != null) {
            publisher.close();
        }
        for (Server s : servers) {
            s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        lifecycleThread.shutdownNow();
        scheduler.shutdownNow();
    }

    @Test
    void aWrongHintDoesNotCloseTheHeldSession_aRealMoveClosesItOnlyAfterTheNewGrant() throws Exception {
        Map<Integer, NodeConfig.HostPort> voters = new TreeMap<>();
        Map<Integer, FakeController> fakes = new TreeMap<>();
        for (int id = 1; id <= 2; id++) {
            FakeController fake = new FakeController(id, id == 1);
            fake.hint = 1;
            Server s = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(fake).build().start();
            servers.add(s);
            voters.put(id, new NodeConfig.HostPort("127.0.0.1", s.getPort()));
            fakes.put(id, fake);
        }
        client = new ControllerClient(voters, scheduler, 4 << 20);
        AtomicInteger localLeader = new AtomicInteger(1);
        client.localLeader(localLeader::get);
        publisher = new MetadataPublisher(new MetadataStateMachine(8 << 20), () -> true);
        publisher.start();
        lifecycle = new BrokerLifecycle(7, new UUID(0, 7), List.of(new Endpoint("PLAINTEXT", "127.0.0.1", 1)), Optional.empty(),
                client, publisher, lifecycleThread, 100, 10_000, 5_000, () -> BrokerLifecycle.PossibleLoss.NONE);
        fakes.get(1).holdGrant = true;
        lifecycle.start();
        await(() -> events.contains("accepted@1"), "a session opened with controller 1");

        // before its grant arrives, a stale view names controller 2: the session opened with 1 stays
        // (found by review: closing it made controller 1 fence the broker)
        localLeader.set(2);
        await(() -> events.stream().filter("refused@2"::equals).count() >= 2, "controller 2 asked (twice) and refusing");
        assertTrue(!events.contains("closed@1"), "the session opened with 1 was closed for a wrong hint: " + events);
        localLeader.set(1);
        fakes.get(1).releaseGrant();
        await(() -> events.contains("granted@1"), "a session with controller 1");
        events.clear();

        // a stale view names controller 2, which is not active: it refuses, and the session with 1 stays
        localLeader.set(2);
        await(() -> events.stream().filter("refused@2"::equals).count() >= 2, "controller 2 asked (twice) and refusing");
        assertTrue(!events.contains("closed@1"), "the held session was closed for a wrong hint: " + events);

        // controller 2 really becomes active and accepts a session, its grant slow to arrive; a stale
        // view names controller 1 again meanwhile: the session opened with 2 must not be cancelled
        // (controller 2 would fence the broker: found by review), nor the one with 1 closed yet
        fakes.get(2).holdGrant = true;
        fakes.get(2).active = true;
        fakes.get(1).active = false;
        await(() -> events.contains("accepted@2"), "a session opened with controller 2");
        localLeader.set(1);
        Thread.sleep(300); // many lifecycle ticks
        assertTrue(!events.contains("closed@2") && !events.contains("closed@1"), "nothing closed before a grant: " + events);
        localLeader.set(2);
        fakes.get(2).releaseGrant();
        await(() -> events.contains("closed@1"), "the session with controller 1 closed after the move");
        List<String> order = List.copyOf(events);
        assertTrue(order.indexOf("granted@2") >= 0 && order.indexOf("granted@2") < order.indexOf("closed@1"),
                "make before break: " + order);
        assertEquals(1, order.stream().filter("granted@2"::equals).count(), "one session with controller 2: " + order);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }
}
