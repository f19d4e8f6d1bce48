package dev.basalt.log.testkit;

import dev.basalt.log.FetchSlice;
import dev.basalt.log.PartitionLog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Helpers shared by log tests: read a whole log back, count open file descriptors and mappings
 * of a directory (from /proc/self), remove directories. Thread-safety: stateless.
 */
public final class LogTestSupport {
    private LogTestSupport() {
    }

    /** Every record from {@code from} to the log end, following nextOffset. */
    public static List<TestBatches.Stored> readAll(PartitionLog log, long from) {
        List<TestBatches.Stored> out = new ArrayList<>();
        long next = from;
        long end = log.logEndOffset();
        // Bounded: each read returns at least one batch or ends the loop.
        while (next < end) {
            try (FetchSlice slice = log.read(next, 64 * 1024, Long.MAX_VALUE)) {
                if (slice.isEmpty()) {
                    break;
                }
                for (TestBatches.Stored s : TestBatches.decode(slice.records())) {
                    if (s.offset() >= next) {
                        out.add(s);
                    }
                }
                next = slice.nextOffset();
            }
        }
        return out;
    }

    /** Open file descriptors of this process whose target is under {@code dir}. */
    public static List<String> openFilesUnder(Path dir) {
        List<String> out = new ArrayList<>();
        String prefix = dir.toAbsolutePath().toString();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith(prefix)) {
                        out.add(target);
                    }
                } catch (IOException e) {
                    // the fd closed while we listed it (e.g. the listing's own)
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Lines of /proc/self/maps that map a file under {@code dir}. */
    public static List<String> mappingsUnder(Path dir) {
        String prefix = dir.toAbsolutePath().toString();
        try {
            return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains(prefix)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Appends {@code batches} one-record batches as leader epoch 1 (key "k" + i, value "value-i-"
     * and {@code padBytes} x's, timestamp 1000 + i) to {@code tp} of {@code manager}.
     */
    public static dev.basalt.log.PartitionLog fillOneRecordBatches(dev.basalt.log.LogManager manager, dev.basalt.log.TopicPartition tp,
                                                                   dev.basalt.log.LogConfig config, int batches, int padBytes) {
        dev.basalt.log.PartitionLog log = manager.getOrCreate(tp, config);
        for (int i = 0; i < batches; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "value-" + i + "-" + "x".repeat(padBytes)))), 1);
        }
        return log;
    }

    /** Byte positions of the batches in a segment file (parsing its documented layout directly). */
    public static List<long[]> batchPositions(Path segmentFile) {
        List<long[]> out = new ArrayList<>();
        try {
            byte[] bytes = Files.readAllBytes(segmentFile);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes);
            int pos = 0;
            while (pos + 61 <= bytes.length) {
                long base = b.getLong(pos);
                int len = b.getInt(pos + 8);
                if (len <= 0 || pos + 12L + len > bytes.length) {
                    break;
                }
                out.add(new long[] {pos, base, pos + 12L + len});
                pos += 12 + len;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
