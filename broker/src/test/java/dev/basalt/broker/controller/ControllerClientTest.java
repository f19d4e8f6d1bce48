package dev.basalt.broker.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.proto.v1.BrokerHeartbeatRequest;
import dev.basalt.proto.v1.BrokerHeartbeatResponse;
import dev.basalt.proto.v1.ControllerServiceGrpc;
import dev.basalt.proto.v1.ErrorCode;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ControllerClient} against real gRPC servers on loopback: one controller that accepts calls
 * and never answers (a paused process keeps its connections open), one that disowns the role, one
 * active. The client must get past the silent one without waiting out the whole deadline on it, and
 * must not keep asking it first.
 */
class ControllerClientTest {
    private final List<Server> servers = new ArrayList<>();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private ControllerClient client;

    /** Who received which heartbeat, in order. */
    private final ConcurrentLinkedQueue<Integer> received = new ConcurrentLinkedQueue<>();

    private enum Role { SILENT, NOT_CONTROLLER, ACTIVE }

    private final class FakeController extends ControllerServiceGrpc.ControllerServiceImplBase {
        private final int id;
        private volatile Role role;
        private volatile int hint = -1;

        FakeController(int id, Role role) {
            this.id = id;
            this.role = role;
        }

        @Override
        public void brokerHeartbeat(BrokerHeartbeatRequest request, StreamObserver<BrokerHeartbeatResponse> out) {
            received.add(id);
            switch (role) {
                case SILENT -> { } // never answers; the caller's deadline ends the call
                case NOT_CONTROLLER -> {
                    out.onNext(BrokerHeartbeatResponse.newBuilder().setErrorCode(ErrorCode.NOT_CONTROLLER).setControllerId(hint).build());
                    out.onCompleted();
                }
                case ACTIVE -> {
                    out.onNext(BrokerHeartbeatResponse.newBuilder().setErrorCode(ErrorCode.NONE).setControllerId(id).build());
                    out.onCompleted();
                }
            }
        }
    }

    private Map<Integer, FakeController> start(Role... roles) throws IOException {
        Map<Integer, NodeConfig.HostPort> voters = new TreeMap<>();
        Map<Integer, FakeController> fakes = new TreeMap<>();
        for (int i = 0; i < roles.length; i++) {
            FakeController fake = new FakeController(i + 1, roles[i]);
            Server s = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(fake).build().start();
            servers.add(s);
            voters.put(i + 1, new NodeConfig.HostPort("127.0.0.1", s.getPort()));
            fakes.put(i + 1, fake);
        }
        client = new ControllerClient(voters, scheduler, 4 << 20);
        return fakes;
    }

    private BrokerHeartbeatResponse heartbeat(long timeoutMs, long attemptTimeoutMs) throws Exception {
        BrokerHeartbeatRequest req = BrokerHeartbeatRequest.newBuilder().setBrokerId(7).build();
        return client.call((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).brokerHeartbeat(req),
                BrokerHeartbeatResponse::getErrorCode, BrokerHeartbeatResponse::getControllerId, timeoutMs, attemptTimeoutMs)
                .get(timeoutMs + 5_000, TimeUnit.MILLISECONDS);
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (client != null) {
            client.close();
        }
        for (Server s : servers) {
            s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        scheduler.shutdownNow();
    }

    @Test
    void aSilentControllerCostsOneCappedAttemptAndIsNotAskedFirstAgain() throws Exception {
        start(Role.SILENT, Role.NOT_CONTROLLER, Role.ACTIVE);
        // The whole deadline (20 s) is far longer than the attempt cap (200 ms): the answer must come
        // from controller 3, which it can only reach if the attempt on the silent voter was cut short.
        BrokerHeartbeatResponse r = heartbeat(20_000, 200);
        assertEquals(ErrorCode.NONE, r.getErrorCode());
        assertEquals(3, r.getControllerId());
        assertEquals(3, client.preferredTarget());
        // Known now: the next calls go straight to controller 3.
        received.clear();
        for (int i = 0; i < 5; i++) {
            assertEquals(ErrorCode.NONE, heartbeat(20_000, 200).getErrorCode());
        }
        assertEquals(List.of(3, 3, 3, 3, 3), List.copyOf(received));
    }

    @Test
    void withoutAHintTheVotersAreTriedInTurnAcrossCalls() throws Exception {
        Map<Integer, FakeController> fakes = start(Role.SILENT, Role.SILENT, Role.SILENT);
        // No one answers: every call fails at its deadline, and the first attempts of successive calls
        // must not all land on voter 1.
        for (int i = 0; i < 3; i++) {
            BrokerHeartbeatRequest req = BrokerHeartbeatRequest.newBuilder().setBrokerId(7).build();
            try {
                client.call((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).brokerHeartbeat(req),
                        BrokerHeartbeatResponse::getErrorCode, BrokerHeartbeatResponse::getControllerId, 100, 100)
                        .get(5, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException expected) {
                // DEADLINE_EXCEEDED: no controller answered
            }
        }
        assertEquals(3, received.stream().distinct().count(), "first attempts went to " + received);
        // Once voter 2 becomes active it is found without any hint.
        fakes.get(2).role = Role.ACTIVE;
        assertEquals(2, heartbeat(10_000, 200).getControllerId());
    }

    @Test
    void theLocallyKnownLeaderGoesFirstAndItsRefusalFollowsItsHint() throws Exception {
        Map<Integer, FakeController> fakes = start(Role.NOT_CONTROLLER, Role.ACTIVE, Role.NOT_CONTROLLER);
        fakes.get(1).hint = 2;
        fakes.get(3).hint = 2;
        AtomicInteger local = new AtomicInteger(3);
        client.localLeader(local::get);
        assertEquals(3, client.preferredTarget());
        // Voter 3 (stale local knowledge) refuses and names 2; the retry goes to 2, not to 3 again.
        BrokerHeartbeatResponse r = heartbeat(5_000, 1_000);
        assertEquals(2, r.getControllerId());
        assertEquals(List.of(3, 2), List.copyOf(received));
        // The local Raft state learns of the new leader: calls go there first.
        local.set(2);
        received.clear();
        heartbeat(5_000, 1_000);
        assertEquals(List.of(2), List.copyOf(received));
        assertTrue(client.preferredTarget() == 2);
    }
}
