package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.util.JsonFormat;
import dev.basalt.harness.NodeProcess;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.FetchServiceGrpc;
import dev.basalt.proto.v1.ListOffsetsServiceGrpc;
import dev.basalt.proto.v1.MetadataServiceGrpc;
import dev.basalt.proto.v1.ProduceServiceGrpc;
import dev.basalt.proto.v1.RecordServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.ProtoServiceDescriptorSupplier;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/api.md's grpcurl examples work: every {@code grpcurl ... -d '<json>' ... service/Method}
 * line is sent, in the page's order, to a real quick-start-like node with grpc-java's dynamic
 * calls and protobuf's JSON mapping (what grpcurl does through reflection), and must be answered
 * without an error code (COORDINATOR_NOT_AVAILABLE and COORDINATOR_LOAD_IN_PROGRESS, which the page
 * says to retry, are retried for up to 30 s). grpcurl itself is not in Debian 12, so this is how the
 * page is checked.
 * Reproduce: {@code ./mvnw -B -ntp verify -pl jepsen-style-tests -am -Dtest=ApiDocE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ApiDocE2ETest {
    private static final Path DOC = Path.of(System.getProperty("user.dir")).getParent().resolve("docs/api.md");
    private static final Pattern CALL = Pattern.compile("^grpcurl -plaintext -d '([^']*)'.* (basalt\\.v1\\.\\w+)/(\\w+)$");

    @TempDir
    static Path dir;
    static NodeProcess node;
    static ManagedChannel channel;

    @BeforeAll
    static void start() {
        node = NodeProcess.singleNode(dir, Map.of()).start(Duration.ofSeconds(60));
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

    private static Descriptors.MethodDescriptor method(String service, String name) {
        for (ServiceDescriptor sd : List.of(RecordServiceGrpc.getServiceDescriptor(), ProduceServiceGrpc.getServiceDescriptor(),
                FetchServiceGrpc.getServiceDescriptor(), MetadataServiceGrpc.getServiceDescriptor(),
                ListOffsetsServiceGrpc.getServiceDescriptor(), AdminServiceGrpc.getServiceDescriptor(),
                dev.basalt.proto.v1.GroupServiceGrpc.getServiceDescriptor())) {
            if (sd.getName().equals(service)) {
                return ((ProtoServiceDescriptorSupplier) sd.getSchemaDescriptor()).getServiceDescriptor().findMethodByName(name);
            }
        }
        throw new AssertionError("docs/api.md calls an unknown service " + service);
    }

    private static DynamicMessage call(Descriptors.MethodDescriptor md, MethodDescriptor<DynamicMessage, DynamicMessage> rpc,
                                       DynamicMessage req) {
        CallOptions opts = CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS);
        if (md.isServerStreaming()) {
            ClientCall<DynamicMessage, DynamicMessage> call = channel.newCall(rpc, opts);
            Iterator<DynamicMessage> it = ClientCalls.blockingServerStreamingCall(call, req);
            DynamicMessage first = it.next();
            call.cancel("one message is enough", null);
            return first;
        }
        return ClientCalls.blockingUnaryCall(channel, rpc, opts, req);
    }

    private static boolean isRetriable(DynamicMessage answer) throws Exception {
        String json = JsonFormat.printer().print(answer);
        return json.contains("\"COORDINATOR_NOT_AVAILABLE\"") || json.contains("\"COORDINATOR_LOAD_IN_PROGRESS\"");
    }

    @Test
    void everyExampleCallOfTheApiPageIsAnsweredWithoutError() throws Exception {
        List<String> calls = new ArrayList<>();
        for (String line : Files.readAllLines(DOC)) {
            Matcher m = CALL.matcher(line.strip());
            if (!m.matches()) {
                continue;
            }
            Descriptors.MethodDescriptor md = method(m.group(2), m.group(3));
            assertTrue(md != null, "no method " + m.group(2) + "/" + m.group(3));
            DynamicMessage.Builder req = DynamicMessage.newBuilder(md.getInputType());
            JsonFormat.parser().merge(m.group(1), req);
            MethodDescriptor<DynamicMessage, DynamicMessage> rpc = MethodDescriptor.<DynamicMessage, DynamicMessage>newBuilder()
                    .setType(md.isServerStreaming() ? MethodDescriptor.MethodType.SERVER_STREAMING : MethodDescriptor.MethodType.UNARY)
                    .setFullMethodName(MethodDescriptor.generateFullMethodName(m.group(2), m.group(3)))
                    .setRequestMarshaller(ProtoUtils.marshaller(DynamicMessage.getDefaultInstance(md.getInputType())))
                    .setResponseMarshaller(ProtoUtils.marshaller(DynamicMessage.getDefaultInstance(md.getOutputType())))
                    .build();
            DynamicMessage answer = call(md, rpc, req.build());
            // the page says to retry these (the first FindCoordinator creates __consumer_offsets, then it loads)
            long retryUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (isRetriable(answer) && System.nanoTime() < retryUntil) {
                Thread.sleep(200);
                answer = call(md, rpc, req.build());
            }
            // The JSON printer omits defaults: an "errorCode" anywhere in it is an error (NONE is 0).
            String json = JsonFormat.printer().print(answer);
            assertFalse(json.contains("\"errorCode\""), line + "\nanswered with an error:\n" + json);
            calls.add(m.group(2) + "/" + m.group(3));
        }
        assertTrue(calls.size() >= 8, "calls found in docs/api.md (each page section has one): " + calls);
    }
}
