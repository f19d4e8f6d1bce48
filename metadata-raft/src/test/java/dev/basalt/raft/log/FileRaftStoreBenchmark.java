package dev.basalt.raft.log;

import dev.basalt.util.SuppressForbidden;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Benchmark main (not a test): measures {@link FileRaftStore#appendAndFlush} throughput with batched
 * entries, each call ending in one fsync, on the directory given as the first argument (default: a
 * fresh directory under java.io.tmpdir). Prints calls/s, entries/s and MB/s per batch size.
 *
 * <pre>
 * ./mvnw -B -ntp -pl metadata-raft -am test-compile
 * java -cp metadata-raft/target/classes:metadata-raft/target/test-classes:proto/target/classes:$(cat cp.txt) \
 *     dev.basalt.raft.log.FileRaftStoreBenchmark [dir] [seconds per case]
 * </pre>
 * Single-threaded; the numbers are bounded by the device's fsync latency.
 */
public final class FileRaftStoreBenchmark {
    private FileRaftStoreBenchmark() {
    }

    @SuppressForbidden(reason = "a benchmark measures wall-clock time")
    public static void main(String[] args) throws IOException {
        Path root = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("raftbench");
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 5;
        int payloadBytes = 256;
        for (int batch : new int[] {1, 16, 128}) {
            Path dir = Files.createDirectories(root.resolve("batch-" + batch));
            try (FileRaftStore store = FileRaftStore.open(dir, FileRaftStore.Config.DEFAULT)) {
                long index = 1;
                long calls = 0;
                long start = System.nanoTime();
                long deadline = start + (long) (seconds * 1e9);
                while (System.nanoTime() < deadline) {
                    List<LogEntry> entries = new ArrayList<>(batch);
                    for (int i = 0; i < batch; i++) {
                        entries.add(new LogEntry(1, index++, LogEntry.EntryType.DATA, new byte[payloadBytes]));
                    }
                    store.appendAndFlush(entries);
                    calls++;
                }
                double elapsed = (System.nanoTime() - start) / 1e9;
                System.out.printf("batch=%d payload=%dB: %.0f appendAndFlush/s, %.0f entries/s, %.1f MB/s%n", batch,
                        payloadBytes, calls / elapsed, calls * batch / elapsed, calls * batch * payloadBytes / elapsed / 1e6);
            }
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
