package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.basalt.harness.NodeProcess;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.proto.v1.ProduceResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Background scrubbing against a real node: a bit flipped on disk in a sealed segment of a running
 * node (the page cache sees it, as after bit rot and an eviction) is found within the time its
 * configured rate allows for one pass; as the only copy the node keeps serving the offsets before
 * it and answers CORRUPT_STORED_DATA (naming offset, file and byte) from there on.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=ScrubE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ScrubE2ETest {
    static final long RATE = 256 * 1024;
    @TempDir
    Path dir;

    @Test
    void aPlantedBitFlipIsFoundWithinOneScrubPass_andNothingFromItOnIsServed() throws Exception {
        try (NodeProcess node = NodeProcess.singleNode(dir, Map.of("log.scrub.bytes.per.second", Long.toString(RATE)))
                .start(Duration.ofSeconds(60))) {
            BadInputE2ETest.node = node;
            BadInputE2ETest.channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1",
                    node.clientPort()).usePlaintext().build();
            try {
                assertEquals(ErrorCode.NONE, BadInputE2ETest.create("rot", 1, Map.of("segment.bytes", "65536")).getErrorCode());
                for (int i = 0; i < 60; i++) {
                    assertEquals(ErrorCode.NONE, BadInputE2ETest.send("rot", 0, BadInputE2ETest.batch(10, 1000)).getErrorCode());
                }
                Path partition = node.dataDir().resolve("rot-0");
                List<Path> segments;
                try (var s = Files.list(partition)) {
                    segments = s.filter(p -> p.toString().endsWith(".log")).sorted().toList();
                }
                assertTrue(segments.size() >= 3, "sealed segments exist: " + segments);
                long totalBytes = 0;
                for (Path p : segments) {
                    totalBytes += Files.size(p);
                }
                Path victim = segments.get(1);
                long[] flipped = flipOneBitInFifthBatch(victim);
                long plantedAt = System.nanoTime();
                // the pass in progress, the pause between passes (10 s at most) and one full pass at RATE bytes/s
                long boundMs = 2 * (totalBytes * 1000 / RATE) + 10_000 + 2_000;
                long foundMs = -1;
                while (TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - plantedAt) < boundMs) {
                    if (!node.grepLog("Scrub found corrupt data in rot-0").isEmpty()) {
                        foundMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - plantedAt);
                        break;
                    }
                    Thread.sleep(100);
                }
                System.out.println("MEASURED scrub: planted flip in " + victim.getFileName() + " found after " + foundMs
                        + " ms (bound " + boundMs + " ms for " + totalBytes + " bytes at " + RATE + " B/s)");
                assertTrue(foundMs >= 0, "not found within " + boundMs + " ms:\n" + node.tail(30));
                assertTrue(node.httpGet("/status").body().contains("\"corruptFound\":1"), node.httpGet("/status").body());
                // The same through the admin API (what `basalt cluster` prints per broker).
                try (dev.basalt.client.Admin admin = new dev.basalt.client.Admin(java.util.Map.of("bootstrap.servers",
                        node.bootstrap()))) {
                    var storage = dev.basalt.client.Admin.get(admin.describeStorage("127.0.0.1", node.clientPort()),
                            Duration.ofSeconds(10));
                    assertEquals(1, storage.scrubCorruptBatchesFound(), storage.toString());
                    assertEquals(RATE, storage.scrubBytesPerSecond());
                    assertTrue(storage.scrubBytesVerified() > 0 && storage.usableBytes() > 0, storage.toString());
                }

                long corruptOffset = flipped[1];
                FetchResponse.PartitionResponse bad = BadInputE2ETest.fetch("rot", 0, corruptOffset, 0);
                assertEquals(ErrorCode.CORRUPT_STORED_DATA, bad.getErrorCode(), bad.getErrorMessage());
                assertTrue(bad.getErrorMessage().contains("from " + corruptOffset) && bad.getErrorMessage().contains(victim.toString())
                        && bad.getErrorMessage().contains("byte " + flipped[0]), bad.getErrorMessage());
                // everything before the corrupt batch is still served
                long next = 0;
                while (next < corruptOffset) {
                    FetchResponse.PartitionResponse p = BadInputE2ETest.fetch("rot", 0, next, 0);
                    assertEquals(ErrorCode.NONE, p.getErrorCode(), p.getErrorMessage());
                    ByteString records = p.getRecords();
                    assertTrue(!records.isEmpty());
                    for (var b : dev.basalt.record.Batches.iterate(records.asReadOnlyByteBuffer())) {
                        b.validate(Integer.MAX_VALUE);
                        next = b.nextOffset();
                    }
                }
                assertEquals(corruptOffset, next, "reads stop right before the corrupt batch");
                assertTrue(!node.grepLog("cannot be served and are lost").isEmpty(), "the loss is reported with counts");
                // ... and outside the log: /status names the replica refusing appends (it looked healthy); the node
                // stays ready, serving the rest (the next test's node starts in this state and must become ready)
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!node.httpGet("/status").body().contains("\"refusingAppends\":{\"rot-0\"") && System.nanoTime() < until) {
                    Thread.sleep(100);
                }
                assertTrue(node.httpGet("/status").body().contains("\"refusingAppends\":{\"rot-0\""), node.httpGet("/status").body());
                // found probing: it said a restart accepts the loss, but a clean restart opens the log without a scan
                assertTrue(node.httpGet("/status").body().contains("run basalt storage repair"), node.httpGet("/status").body());
                assertEquals(200, node.httpGet("/ready").code(), node.httpGet("/ready").body());
                // ... and through the admin API, which `basalt cluster` prints (it showed nothing: found probing)
                try (dev.basalt.client.Admin admin = new dev.basalt.client.Admin(java.util.Map.of("bootstrap.servers",
                        node.bootstrap()))) {
                    var storage = dev.basalt.client.Admin.get(admin.describeStorage("127.0.0.1", node.clientPort()),
                            Duration.ofSeconds(10));
                    assertEquals(1, storage.refusingAppends().size(), storage.toString());
                    assertEquals("rot", storage.refusingAppends().get(0).topic(), storage.toString());
                    assertTrue(storage.refusingAppends().get(0).reason().contains("storage repair"), storage.toString());
                }
            } finally {
                BadInputE2ETest.channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * The only copy, corrupt below the recovery point, found at the restart after a crash: the node
     * comes up, serves every offset before the corrupt batch, answers CORRUPT_STORED_DATA from it on,
     * refuses new records (they could not be read back), reports what is lost with counts, and keeps
     * the cut bytes in a lost-* directory.
     */
    @Test
    void theOnlyCopyCorruptAtRestart_servesTheOffsetsBeforeIt() throws Exception {
        NodeProcess node = NodeProcess.singleNode(dir, Map.of("log.scrub.bytes.per.second", "0")).start(Duration.ofSeconds(60));
        try (node) {
            BadInputE2ETest.node = node;
            BadInputE2ETest.channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1",
                    node.clientPort()).usePlaintext().build();
            Path victim;
            long[] flipped;
            try {
                // ~10 KB batches, 19 to a segment: the newest of four segments holds 13, all below the recovery point
                assertEquals(ErrorCode.NONE, BadInputE2ETest.create("only", 1, Map.of("segment.bytes", "200000")).getErrorCode());
                for (int i = 0; i < 70; i++) {
                    assertEquals(ErrorCode.NONE, BadInputE2ETest.send("only", 0, BadInputE2ETest.batch(10, 1000)).getErrorCode());
                }
                node.kill(); // a crash: the restart runs recovery, which meets the corruption below the recovery point
                try (var s = Files.list(node.dataDir().resolve("only-0"))) {
                    victim = s.filter(p -> p.toString().endsWith(".log")).sorted().reduce((a, b) -> b).orElseThrow();
                }
                flipped = flipOneBitInFifthBatch(victim);
            } finally {
                BadInputE2ETest.channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            node.launch();
            node.awaitReady(Duration.ofSeconds(60));
            BadInputE2ETest.channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1",
                    node.clientPort()).usePlaintext().build();
            try {
                long corruptOffset = flipped[1];
                long next = 0;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (next < corruptOffset) {
                    FetchResponse.PartitionResponse p = BadInputE2ETest.fetch("only", 0, next, 0);
                    if (p.getErrorCode() != ErrorCode.NONE) {
                        // leadership of the served prefix may take a moment after the restart
                        assertTrue(System.nanoTime() < deadline, p.getErrorCode() + " " + p.getErrorMessage() + "\n" + node.tail(30));
                        Thread.sleep(100);
                        continue;
                    }
                    for (var b : dev.basalt.record.Batches.iterate(p.getRecords().asReadOnlyByteBuffer())) {
                        b.validate(Integer.MAX_VALUE);
                        next = b.nextOffset();
                    }
                }
                assertEquals(corruptOffset, next, "reads stop right before the corrupt batch");
                FetchResponse.PartitionResponse bad = BadInputE2ETest.fetch("only", 0, corruptOffset, 0);
                assertEquals(ErrorCode.CORRUPT_STORED_DATA, bad.getErrorCode(), bad.getErrorMessage());
                ProduceResponse.PartitionResponse refused = BadInputE2ETest.send("only", 0, BadInputE2ETest.batch(1, 100));
                assertEquals(ErrorCode.APPEND_REFUSED, refused.getErrorCode(), refused.getErrorMessage());
                assertTrue(!node.grepLog("is lost").isEmpty(), "the loss is reported:\n" + node.tail(30));
                try (var s = Files.list(node.dataDir().resolve("only-0"))) {
                    assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("lost-")), "the cut bytes are kept");
                }
            } finally {
                BadInputE2ETest.channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            // The restart that accepts the loss (found probing: the lost offsets went to new
            // records, and a group committed past the cut skipped them): the next record takes the
            // old end, 700, and a read in the lost range goes on to it.
            assertEquals(0, node.stop(Duration.ofSeconds(30)));
            node.launch();
            node.awaitReady(Duration.ofSeconds(60));
            BadInputE2ETest.channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1",
                    node.clientPort()).usePlaintext().build();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                ProduceResponse.PartitionResponse after = BadInputE2ETest.send("only", 0, BadInputE2ETest.batch(1, 100));
                while (after.getErrorCode() != ErrorCode.NONE && System.nanoTime() < deadline) {
                    Thread.sleep(100); // leadership after the restart
                    after = BadInputE2ETest.send("only", 0, BadInputE2ETest.batch(1, 100));
                }
                assertEquals(ErrorCode.NONE, after.getErrorCode(), after.getErrorMessage() + "\n" + node.tail(30));
                assertEquals(700, after.getBaseOffset(), "after the offsets given out before the loss, not at the cut " + flipped[1]);
                FetchResponse.PartitionResponse inGap = BadInputE2ETest.fetch("only", 0, flipped[1] + 1, 0);
                assertEquals(ErrorCode.NONE, inGap.getErrorCode(), inGap.getErrorMessage());
                long first = -1;
                for (var b : dev.basalt.record.Batches.iterate(inGap.getRecords().asReadOnlyByteBuffer())) {
                    first = first < 0 ? b.baseOffset() : first;
                }
                assertEquals(700, first, "a read in the lost range goes on to the next record");
            } finally {
                BadInputE2ETest.channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    /** Flips one bit inside the records of the file's fifth batch; returns {byte position of the batch, its base offset}. */
    static long[] flipOneBitInFifthBatch(Path segment) throws IOException {
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long pos = 0;
            ByteBuffer h = ByteBuffer.allocate(12);
            for (int i = 0; i < 4; i++) {
                h.clear();
                ch.read(h, pos);
                pos += 12 + h.getInt(8);
            }
            h.clear();
            ch.read(h, pos);
            long base = h.getLong(0);
            long target = pos + 12 + h.getInt(8) / 2;
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, target);
            b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
            ch.write(b, target);
            return new long[] {pos, base};
        }
    }
}
