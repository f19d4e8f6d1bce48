package dev.basalt.broker.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.controller.ControllerClient;
import dev.basalt.metadata.MetadataStateMachine;
import dev.basalt.proto.v1.ControllerServiceGrpc;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchMetadataRequest;
import dev.basalt.proto.v1.FetchMetadataResponse;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A broker-only node's metadata follower against a real gRPC controller on loopback whose answers
 * the test scripts. It counts itself caught up (after which the broker settles its disk against
 * the image, deleting replicas the image does not know) only once it has applied what a controller
 * that knows the quorum's leader had applied: an answer from a voter cut off from the leader, or
 * one that lost it in an election, names no controller and may be far behind.
 */
class ObserverMetadataFollowerTest {
    private Server server;
    private ControllerClient client;
    private ObserverMetadataFollower follower;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    /** What the fake controller answers: its applied index (it serves NOOP entries 1..index) and the leader it names. */
    private volatile long controllerApplied = 3;
    private volatile int leaderNamed = -1;
    private final AtomicInteger answers = new AtomicInteger();

    private final class FakeController extends ControllerServiceGrpc.ControllerServiceImplBase {
        @Override
        public void fetchMetadata(FetchMetadataRequest req, StreamObserver<FetchMetadataResponse> out) {
            FetchMetadataResponse.Builder r = FetchMetadataResponse.newBuilder().setErrorCode(ErrorCode.NONE)
                    .setControllerId(leaderNamed).setAppliedIndex(controllerApplied);
            for (long i = req.getFromIndex() + 1; i <= controllerApplied; i++) {
                r.addEntries(FetchMetadataResponse.MetadataEntry.newBuilder().setIndex(i)); // an empty batch: a NOOP
            }
            answers.incrementAndGet();
            if (r.getEntriesCount() == 0) {
                // A long poll with nothing new: answer after a short wait, as the real one does at its bound.
                scheduler.schedule(() -> {
                    out.onNext(r.build());
                    out.onCompleted();
                }, 20, TimeUnit.MILLISECONDS);
                return;
            }
            out.onNext(r.build());
            out.onCompleted();
        }
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (follower != null) {
            follower.close();
        }
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        scheduler.shutdownNow();
    }

    private CountDownLatch start(MetadataStateMachine image) throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new FakeController()).build().start();
        client = new ControllerClient(Map.of(1, new NodeConfig.HostPort("127.0.0.1", server.getPort())), scheduler, 8 << 20);
        CountDownLatch caughtUp = new CountDownLatch(1);
        follower = new ObserverMetadataFollower(4, client, image, caughtUp::countDown);
        follower.start();
        return caughtUp;
    }

    private void awaitAnswers(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        int target = answers.get() + n;
        while (answers.get() < target) {
            assertTrue(System.nanoTime() < deadline, "the follower stopped fetching");
            Thread.sleep(5);
        }
    }

    @Test
    void answersNamingNoLeader_neverMakeItCaughtUp_theFirstNamingOneSetsTheTarget() throws Exception {
        MetadataStateMachine image = new MetadataStateMachine(8 << 20);
        CountDownLatch caughtUp = start(image);
        // A voter that knows no leader: its entries are applied, but they may be far behind the quorum.
        awaitAnswers(5);
        assertEquals(3, image.appliedIndex(), "what that voter had was applied");
        assertFalse(follower.isCaughtUp(), "not caught up on answers that name no controller");
        assertEquals(1, caughtUp.getCount());

        // The quorum has a leader again and has applied more: caught up once that much is applied here.
        controllerApplied = 7;
        leaderNamed = 1;
        assertTrue(caughtUp.await(20, TimeUnit.SECONDS), "caught up after an answer from a controller that knows the leader");
        assertTrue(follower.isCaughtUp());
        assertTrue(image.appliedIndex() >= 7, "caught up means the target index applied: " + image.appliedIndex());
        assertEquals(1, follower.controllerId());
    }
}
