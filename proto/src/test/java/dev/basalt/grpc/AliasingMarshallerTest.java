package dev.basalt.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import dev.basalt.proto.v1.ProduceRequest;
import io.grpc.KnownLength;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/** Parsing with and without a known length, the size limit, and malformed input (transport-level tests are in broker). */
class AliasingMarshallerTest {
    private static final class Known extends ByteArrayInputStream implements KnownLength {
        Known(byte[] b) {
            super(b);
        }
    }

    private static ProduceRequest request(int recordBytes) {
        byte[] v = new byte[recordBytes];
        for (int i = 0; i < v.length; i++) {
            v[i] = (byte) (i * 31);
        }
        return ProduceRequest.newBuilder().setAcks(-1).setTimeoutMs(30_000).addTopics(ProduceRequest.TopicData.newBuilder()
                .setName("t").addPartitions(ProduceRequest.PartitionData.newBuilder().setPartition(2)
                        .setRecords(ByteString.copyFrom(v)))).build();
    }

    private static AliasingMarshaller<ProduceRequest> marshaller(int max) {
        return new AliasingMarshaller<>(ProtoUtils.marshaller(ProduceRequest.getDefaultInstance()),
                ProduceRequest.getDefaultInstance(), max);
    }

    @Test
    void parsesWhatTheDefaultMarshallerWrites() throws Exception {
        AliasingMarshaller<ProduceRequest> m = marshaller(1 << 20);
        for (int size : new int[] {0, 1, 4096, 100_000}) {
            ProduceRequest r = request(size);
            byte[] wire = r.toByteArray();
            assertEquals(r, m.parse(new Known(wire)));
            assertEquals(r, m.parse(new ByteArrayInputStream(wire)));
            try (InputStream s = m.stream(r)) {
                assertEquals(r, ProduceRequest.parseFrom(s));
            }
        }
    }

    @Test
    void refusesMessagesOverTheLimitAndMalformedOnes() {
        AliasingMarshaller<ProduceRequest> m = marshaller(1000);
        byte[] big = request(5000).toByteArray();
        StatusRuntimeException known = assertThrows(StatusRuntimeException.class, () -> m.parse(new Known(big)));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, known.getStatus().getCode());
        StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class, () -> m.parse(new ByteArrayInputStream(big)));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, unknown.getStatus().getCode());
        byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
        StatusRuntimeException bad = assertThrows(StatusRuntimeException.class, () -> m.parse(new Known(garbage)));
        assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
        assertThrows(IllegalArgumentException.class, () -> marshaller(0));
    }
}
