package dev.basalt.broker.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchResponse;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The hand-laid-out fetch answer parses, with the standard protobuf parser, to exactly the
 * FetchResponse that carries the same records in its bytes fields: for random shapes (no topics,
 * error partitions, empty and multi-MiB records, heap and direct buffers), through gRPC's drain
 * path and through plain reads; and cut into FetchInParts' parts, the same partitions in the same
 * order, each part ending where the rule says. Seeded: the seed is printed; replay with {@code -Dbasalt.seed=N}.
 */
class FetchReplyTest {

    @Test
    void writesTheSameBytesAProtobufParserExpects() throws Exception {
        String prop = System.getProperty("basalt.seed", "");
        long seed = prop.isEmpty() ? new SplittableRandom().nextLong() : Long.parseLong(prop);
        System.out.println("FetchReplyTest seed=" + seed + " (replay: ./mvnw -B -ntp verify -pl broker -am"
                + " -Dtest=FetchReplyTest -Dsurefire.failIfNoSpecifiedTests=false -Dbasalt.seed=" + seed + ")");
        SplittableRandom random = new SplittableRandom(seed);
        for (int round = 0; round < 200; round++) {
            FetchResponse.Builder expected = FetchResponse.newBuilder();
            FetchResponse.Builder header = FetchResponse.newBuilder();
            List<List<ByteBuffer>> records = new ArrayList<>();
            if (random.nextInt(10) == 0) {
                expected.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("bad " + round);
                header.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("bad " + round);
            }
            int topics = random.nextInt(4);
            for (int t = 0; t < topics; t++) {
                FetchResponse.TopicResponse.Builder et = expected.addTopicsBuilder().setName("topic-" + t).setTopicId("id" + t);
                FetchResponse.TopicResponse.Builder ht = header.addTopicsBuilder().setName("topic-" + t).setTopicId("id" + t);
                List<ByteBuffer> recs = new ArrayList<>();
                records.add(recs);
                int partitions = random.nextInt(5);
                for (int p = 0; p < partitions; p++) {
                    FetchResponse.PartitionResponse.Builder pr = FetchResponse.PartitionResponse.newBuilder().setPartition(p)
                            .setHighWatermark(random.nextLong(1L << 40)).setLogStartOffset(random.nextInt(100))
                            .setLogEndOffset(random.nextLong(1L << 40));
                    if (random.nextInt(6) == 0) {
                        pr.setErrorCode(ErrorCode.NOT_LEADER).setLeaderIdHint(random.nextInt(5)).setLeaderEpochHint(3);
                    }
                    ht.addPartitions(pr.clone());
                    int size = switch (random.nextInt(4)) {
                        case 0 -> 0;
                        case 1 -> 1 + random.nextInt(200);
                        case 2 -> 1 + random.nextInt(100_000);
                        default -> 1 + random.nextInt(3 << 20);
                    };
                    byte[] bytes = new byte[size];
                    random.nextBytes(bytes);
                    if (size > 0) {
                        pr.setRecords(ByteString.copyFrom(bytes));
                    }
                    ByteBuffer buf = random.nextBoolean() ? ByteBuffer.allocateDirect(size + 7) : ByteBuffer.allocate(size + 7);
                    buf.position(3);
                    buf.put(bytes);
                    buf.position(3).limit(3 + size);
                    recs.add(size == 0 && random.nextBoolean() ? null : buf.slice().asReadOnlyBuffer());
                    et.addPartitions(pr);
                }
            }
            FetchResponse want = expected.build();
            FetchReply reply = new FetchReply(header.build(), records);
            assertEquals(want.getSerializedSize(), reply.serializedSize(), "size, round " + round);

            InputStream drained = FetchReply.MARSHALLER.stream(reply);
            assertEquals(reply.serializedSize(), ((KnownLength) drained).available());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertEquals(reply.serializedSize(), ((Drainable) drained).drainTo(out));
            assertEquals(0, drained.available());
            assertEquals(want, FetchResponse.parseFrom(out.toByteArray()), "drained, round " + round);
            // the slices' positions are untouched: the same reply writes the same bytes again
            ByteArrayOutputStream again = new ByteArrayOutputStream();
            reply.writeTo(again);
            assertArrayEquals(out.toByteArray(), again.toByteArray());

            InputStream read = FetchReply.MARSHALLER.stream(reply);
            byte[] head = new byte[Math.min(5, reply.serializedSize())];
            assertEquals(head.length, read.readNBytes(head, 0, head.length));
            ByteArrayOutputStream rest = new ByteArrayOutputStream();
            rest.write(head);
            ((Drainable) read).drainTo(rest); // a partly read stream hands over the rest
            assertEquals(want, FetchResponse.parseFrom(rest.toByteArray()), "read then drained, round " + round);
            assertEquals(want, reply.toResponse());
            checkParts(want, reply, switch (random.nextInt(3)) {
                case 0 -> 1;
                case 1 -> 1 + random.nextInt(200_000);
                default -> 256 * 1024;
            }, round);
        }
    }

    /**
     * FetchInParts' cut: every partition in exactly one part, in order; each part repeats the
     * top-level fields; a part ends right after the partition whose records reach the minimum.
     */
    private static void checkParts(FetchResponse want, FetchReply reply, int partBytesMin, int round) throws Exception {
        List<FetchReply> parts = reply.parts(partBytesMin);
        List<String> flat = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ((Drainable) FetchReply.MARSHALLER.stream(parts.get(i))).drainTo(out);
            FetchResponse part = FetchResponse.parseFrom(out.toByteArray());
            assertEquals(want.getErrorCode(), part.getErrorCode());
            assertEquals(want.getErrorMessage(), part.getErrorMessage());
            long bytes = 0;
            long lastPartitionBytes = 0;
            for (FetchResponse.TopicResponse t : part.getTopicsList()) {
                for (FetchResponse.PartitionResponse p : t.getPartitionsList()) {
                    flat.add(t.getName() + "/" + t.getTopicId() + "/" + p);
                    lastPartitionBytes = p.getRecords().size();
                    bytes += lastPartitionBytes;
                }
            }
            if (i < parts.size() - 1) {
                assertTrue(bytes >= partBytesMin && bytes - lastPartitionBytes < partBytesMin,
                        "part " + i + " of " + parts.size() + " holds " + bytes + " bytes, round " + round);
            } else {
                assertTrue(bytes - lastPartitionBytes < partBytesMin, "last part too big, round " + round);
            }
        }
        List<String> wanted = new ArrayList<>();
        for (FetchResponse.TopicResponse t : want.getTopicsList()) {
            for (FetchResponse.PartitionResponse p : t.getPartitionsList()) {
                wanted.add(t.getName() + "/" + t.getTopicId() + "/" + p);
            }
        }
        assertEquals(wanted, flat, "parts merged, round " + round);
        if (want.getTopicsCount() == 0) {
            assertEquals(1, parts.size());
        }
    }

    @Test
    void recordListsMustMatchTheResponseShape() {
        FetchResponse r = FetchResponse.newBuilder()
                .addTopics(FetchResponse.TopicResponse.newBuilder().setName("t").addPartitions(
                        FetchResponse.PartitionResponse.newBuilder().setPartition(0))).build();
        assertThrows(IllegalArgumentException.class, () -> new FetchReply(r, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new FetchReply(r, List.of(List.of())));
        assertEquals(r, FetchReply.of(r).toResponse());
    }

    @Test
    void theServerNeverParsesAReply() {
        assertThrows(UnsupportedOperationException.class,
                () -> FetchReply.MARSHALLER.parse(InputStream.nullInputStream()));
    }
}
