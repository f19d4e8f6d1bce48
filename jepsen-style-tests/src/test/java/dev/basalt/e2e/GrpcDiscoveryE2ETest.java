package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import dev.basalt.harness.NodeProcess;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a client in another language finds on a node's client port, checked with grpc-java's own
 * reflection and health client classes against a real node process: the basalt.v1 services by
 * server reflection (what `grpcurl list` and dynamic clients use), their .proto descriptors, and
 * a grpc.health.v1 status that follows the node's readiness and turns NOT_SERVING when the node
 * stops. Reproduce: {@code ./mvnw -B -ntp verify -pl jepsen-style-tests -am
 * -Dtest=GrpcDiscoveryE2ETest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class GrpcDiscoveryE2ETest {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    static Path dir;
    static NodeProcess node;
    static ManagedChannel channel;

    @BeforeAll
    static void start() {
        node = NodeProcess.singleNode(dir, Map.of()).start(READY_TIMEOUT);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", node.clientPort()).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (node != null) {
            node.close();
        }
    }

    /** Completes {@code answer} with a stream's first message, or its error. */
    private static <T> StreamObserver<T> firstAnswer(CompletableFuture<T> answer) {
        return new StreamObserver<>() {
            @Override
            public void onNext(T value) {
                answer.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                answer.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                answer.completeExceptionally(new AssertionError("stream ended without an answer"));
            }
        };
    }

    /** One reflection exchange on its own stream. */
    private static ServerReflectionResponse reflect(ServerReflectionRequest request) throws Exception {
        CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
        StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel).serverReflectionInfo(firstAnswer(answer));
        requests.onNext(request);
        try {
            return answer.get(10, TimeUnit.SECONDS);
        } finally {
            requests.onCompleted();
        }
    }

    @Test
    void reflectionListsTheClientServicesAndHealth() throws Exception {
        ServerReflectionResponse r = reflect(ServerReflectionRequest.newBuilder().setListServices("").build());
        Set<String> names = r.getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName)
                .collect(Collectors.toSet());
        for (String expected : List.of("basalt.v1.ProduceService", "basalt.v1.FetchService", "basalt.v1.MetadataService",
                "basalt.v1.AdminService", "basalt.v1.ListOffsetsService", "grpc.health.v1.Health")) {
            assertTrue(names.contains(expected), expected + " missing from " + names);
        }
    }

    /** Found probing: v1alpha, which older grpcurl and many GUI clients still speak, answered UNIMPLEMENTED. */
    @Test
    @SuppressWarnings("deprecation")
    void reflectionV1alphaListsTheServicesToo() throws Exception {
        CompletableFuture<io.grpc.reflection.v1alpha.ServerReflectionResponse> answer = new CompletableFuture<>();
        StreamObserver<io.grpc.reflection.v1alpha.ServerReflectionRequest> requests = io.grpc.reflection.v1alpha.ServerReflectionGrpc
                .newStub(channel).serverReflectionInfo(firstAnswer(answer));
        requests.onNext(io.grpc.reflection.v1alpha.ServerReflectionRequest.newBuilder().setListServices("").build());
        Set<String> names;
        try {
            names = answer.get(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList().stream()
                    .map(io.grpc.reflection.v1alpha.ServiceResponse::getName).collect(Collectors.toSet());
        } finally {
            requests.onCompleted();
        }
        assertTrue(names.contains("basalt.v1.ProduceService") && names.contains("grpc.reflection.v1.ServerReflection"), names.toString());
    }

    @Test
    void reflectionServesTheProtoFilesOfAMessage() throws Exception {
        ServerReflectionResponse r = reflect(ServerReflectionRequest.newBuilder()
                .setFileContainingSymbol("basalt.v1.ProduceService").build());
        assertTrue(r.hasFileDescriptorResponse(), r.toString());
        List<String> files = new ArrayList<>();
        boolean producePresent = false;
        for (var bytes : r.getFileDescriptorResponse().getFileDescriptorProtoList()) {
            FileDescriptorProto f = FileDescriptorProto.parseFrom(bytes);
            files.add(f.getName());
            producePresent |= f.getMessageTypeList().stream().anyMatch(m -> m.getName().equals("ProduceRequest"));
        }
        assertTrue(producePresent, "ProduceRequest not described in " + files);

        ServerReflectionResponse unknown = reflect(ServerReflectionRequest.newBuilder()
                .setFileContainingSymbol("basalt.v1.NoSuchThing").build());
        assertTrue(unknown.hasErrorResponse());
        assertEquals(Status.Code.NOT_FOUND.value(), unknown.getErrorResponse().getErrorCode());
    }

    @Test
    void healthIsServingForTheNodeAndEachService() throws InterruptedException {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        // The status follows /ready within its refresh period (200 ms): wait for it, boundedly.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        HealthCheckResponse.ServingStatus overall = health.check(HealthCheckRequest.getDefaultInstance()).getStatus();
        while (overall != HealthCheckResponse.ServingStatus.SERVING && System.nanoTime() < deadline) {
            Thread.sleep(50);
            overall = health.check(HealthCheckRequest.getDefaultInstance()).getStatus();
        }
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, overall, "a ready node is SERVING within 5 s");
        assertEquals(HealthCheckResponse.ServingStatus.SERVING,
                health.check(HealthCheckRequest.newBuilder().setService("basalt.v1.ProduceService").build()).getStatus());
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> health.check(HealthCheckRequest.newBuilder().setService("basalt.v1.NoSuchService").build()));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
    }

    /** On a node of its own, which it stops. */
    @Test
    void healthWatchersSeeNotServingWhenTheNodeStops() throws Exception {
        NodeProcess own = NodeProcess.singleNode(dir.resolve("watched"), Map.of()).start(READY_TIMEOUT);
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", own.clientPort()).usePlaintext().build();
        try {
            LinkedBlockingQueue<Object> seen = new LinkedBlockingQueue<>();
            HealthGrpc.newStub(ch).watch(HealthCheckRequest.getDefaultInstance(), new StreamObserver<>() {
                @Override
                public void onNext(HealthCheckResponse value) {
                    seen.add(value.getStatus());
                }

                @Override
                public void onError(Throwable t) {
                    seen.add(Status.fromThrowable(t).getCode());
                }

                @Override
                public void onCompleted() {
                    seen.add("completed");
                }
            });
            // The status follows readiness within a refresh period: wait for SERVING.
            Object first = seen.poll(10, TimeUnit.SECONDS);
            while (first == HealthCheckResponse.ServingStatus.NOT_SERVING) {
                first = seen.poll(10, TimeUnit.SECONDS);
            }
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, first);
            own.stop(Duration.ofSeconds(30));
            Object next = seen.poll(10, TimeUnit.SECONDS);
            assertEquals(HealthCheckResponse.ServingStatus.NOT_SERVING, next, "watchers are told before the port closes");
            assertFalse(own.isAlive());
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            own.close();
        }
    }
}
