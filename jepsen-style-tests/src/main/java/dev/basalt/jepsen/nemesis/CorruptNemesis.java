package dev.basalt.jepsen.nemesis;

import dev.basalt.harness.Cluster;
import dev.basalt.harness.NodeProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Corruption while stopped, on a minority (one node): kill -9 the node, then in one of its files
 * either flip one bit or cut the file short, at a position drawn from the step's choice; on heal,
 * restart the node and wait until it is ready. Nothing acknowledged may be lost cluster-wide.
 *
 * <ul>
 *   <li>{@link Target#SEGMENT} ({@code corrupt-minority}): a segment file
 *       ({@code <data>/<topic>-<p>/*.log}) of the workload's topic, inside the batches it holds.
 *       The node notices (CRC, torn tail), takes the replica offline or truncates it, and rebuilds
 *       it from the leader.</li>
 *   <li>{@link Target#INDEX} ({@code corrupt-index}): one RocksDB file of {@code <data>/index}
 *       (CURRENT, MANIFEST, WAL or table file). RocksDB either refuses the index as corrupt (the log
 *       manager then moves it to {@code index.corrupt} and rebuilds every partition from its
 *       segments; any damage in the WAL but a torn last record does this), replays a WAL cut short
 *       up to the cut (older partition state, so recovery scans more), or reports a damaged table
 *       block on a read (a lookup then finds no entry and the read scans the segment from its
 *       start).</li>
 *   <li>{@link Target#RAFT_LOG} ({@code corrupt-raft-log}): the tail (last eighth, at least its
 *       last 64 bytes) of the newest segment of {@code <data>/raft}. The store cuts a torn last
 *       frame on open (cut short, or with a block of zeros) and the node catches up from the quorum
 *       leader; damage it cannot tell from a torn write (a whole last frame with a bad CRC, a bad
 *       frame followed by a good one, or a log ending below the persisted commit index) makes the
 *       node refuse to start rather than forget entries it acknowledged:
 *       the nemesis reports that as detected and restores the directory it saved before the damage
 *       (the operator's procedure, re-formatting as a joining voter, is in docs/operations.md).</li>
 * </ul>
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}).
 */
public final class CorruptNemesis implements Nemesis {
    /** Which files of the stopped node are damaged. */
    public enum Target { SEGMENT, INDEX, RAFT_LOG }

    private static final Duration REFUSAL_WAIT = Duration.ofSeconds(20);
    /** What BasaltNode logs when its start fails (before it runs its shutdown steps and exits). */
    private static final String START_FAILED = "Start-up failed";

    private final Target target;
    private final Cluster cluster;
    private final String topic;
    private final int choice;
    private final Duration readyTimeout;
    private int victim = -1;

    private Path raftBackup;

    public CorruptNemesis(Cluster cluster, String topic, int choice, Duration readyTimeout) {
        this(Target.SEGMENT, cluster, topic, choice, readyTimeout);
    }

    public CorruptNemesis(Target target, Cluster cluster, String topic, int choice, Duration readyTimeout) {
        this.target = target;
        this.cluster = cluster;
        this.topic = topic;
        this.choice = choice;
        this.readyTimeout = readyTimeout;
    }

    @Override
    public String start() {
        victim = Targets.one(cluster, choice).get(0);
        NodeProcess node = cluster.node(victim);
        cluster.kill9(victim);
        SplittableRandom r = new SplittableRandom(choice);
        if (target != Target.SEGMENT) {
            return "kill-9 [" + victim + "], " + corruptOther(node, r);
        }
        List<Path> segments = segments(node.dataDir());
        if (segments.isEmpty()) {
            return "kill-9 [" + victim + "]; no segment of " + topic + " to corrupt yet";
        }
        Path segment = segments.get(r.nextInt(segments.size()));
        try {
            long size = dataEnd(segment);
            if (size == 0) {
                return "kill-9 [" + victim + "]; " + rel(node, segment) + " holds no batch yet, left as is";
            }
            long position = r.nextLong(size);
            if (r.nextBoolean()) {
                int bit = r.nextInt(8);
                try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    ByteBuffer b = ByteBuffer.allocate(1);
                    ch.read(b, position);
                    b.put(0, (byte) (b.get(0) ^ (1 << bit))).rewind();
                    ch.write(b, position);
                    ch.force(true);
                }
                return "kill-9 [" + victim + "], flipped bit " + bit + " of byte " + position + " of " + rel(node, segment) + " ("
                        + size + " bytes)";
            }
            try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
                ch.truncate(position);
                ch.force(true);
            }
            return "kill-9 [" + victim + "], truncated " + rel(node, segment) + " to " + position + " bytes (its batches ended at "
                    + size + ")";
        } catch (IOException e) {
            throw new UncheckedIOException("corrupting " + segment, e);
        }
    }

    @Override
    public String heal() {
        NodeProcess node = cluster.node(victim);
        int failedStartsBefore = node.grepLog(START_FAILED).size();
        node.launch();
        if (target == Target.RAFT_LOG) {
            String refused = awaitReadyOrRefusal(node, failedStartsBefore);
            if (refused != null) {
                node.kill(); // a refusing node may take a long time to run its shutdown steps
                restoreRaft(node);
                node.launch();
                cluster.awaitReady(List.of(victim), readyTimeout);
                return "[" + victim + "] refused to start (" + refused + "); its Raft directory restored, restarted";
            }
            return "restarted [" + victim + "] (the damaged tail was cut on open)";
        }
        cluster.awaitReady(List.of(victim), readyTimeout);
        return "restarted [" + victim + "]";
    }

    /** Damages one index or Raft file; returns what it did. */
    private String corruptOther(NodeProcess node, SplittableRandom r) {
        try {
            Path file;
            long from;
            long size;
            if (target == Target.INDEX) {
                List<Path> files = listFiles(node.dataDir().resolve("index"), n -> n.equals("CURRENT") || n.startsWith("MANIFEST-")
                        || n.endsWith(".log") || n.endsWith(".sst"));
                if (files.isEmpty()) {
                    return "no index file to corrupt";
                }
                file = files.get(r.nextInt(files.size()));
                size = Files.size(file);
                from = 0;
            } else {
                Path raft = node.dataDir().resolve("raft");
                List<Path> files = listFiles(raft, n -> n.endsWith(".log"));
                if (files.isEmpty()) {
                    return "no Raft segment to corrupt";
                }
                raftBackup = node.dataDir().resolveSibling("raft-backup-" + System.nanoTime());
                copyTree(raft, raftBackup);
                file = files.get(files.size() - 1);
                size = Files.size(file);
                from = Math.max(0, size - Math.max(64, size / 8));
            }
            if (size == 0) {
                return rel(node, file) + " is empty, left as is";
            }
            long position = from + r.nextLong(size - from);
            if (r.nextBoolean()) {
                int bit = r.nextInt(8);
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    ByteBuffer b = ByteBuffer.allocate(1);
                    ch.read(b, position);
                    b.put(0, (byte) (b.get(0) ^ (1 << bit))).rewind();
                    ch.write(b, position);
                    ch.force(true);
                }
                return "flipped bit " + bit + " of byte " + position + " of " + rel(node, file) + " (" + size + " bytes)";
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(position);
                ch.force(true);
            }
            return "truncated " + rel(node, file) + " from " + size + " to " + position + " bytes";
        } catch (IOException e) {
            throw new UncheckedIOException("corrupting " + target + " of node " + victim, e);
        }
    }

    /** Null once the node is ready; why it refused when its start failed (the node logs the failure, then shuts down). */
    private String awaitReadyOrRefusal(NodeProcess node, int failedStartsBefore) {
        long deadline = System.nanoTime() + readyTimeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (node.grepLog(START_FAILED).size() > failedStartsBefore || !node.isAlive()) {
                List<String> why = node.grepLog("RaftStorageException");
                return why.isEmpty() ? "start failed" : why.get(why.size() - 1).trim();
            }
            if (node.httpStatus("/ready") == 200) {
                return null;
            }
            LostUnfsyncedNemesis.sleepMsQuietly(100);
        }
        cluster.awaitReady(List.of(victim), REFUSAL_WAIT); // throws with the node's log
        return null;
    }

    private void restoreRaft(NodeProcess node) {
        Path raft = node.dataDir().resolve("raft");
        try {
            deleteTree(raft);
            copyTree(raftBackup, raft);
        } catch (IOException e) {
            throw new UncheckedIOException("restoring " + raft, e);
        }
    }

    private static List<Path> listFiles(Path dir, java.util.function.Predicate<String> name) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> Files.isRegularFile(f) && name.test(f.getFileName().toString())).sorted().toList();
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (Path f : listFiles(from, n -> true)) {
            Files.copy(f, to.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /**
     * Where the segment's batches end. Segments are preallocated (and mapped) larger than their
     * data, so a position drawn over the file size would almost always hit zeros nobody reads;
     * the batches are walked by their headers instead (base offset int64, length int32 counting
     * the bytes after the length field; a zero length is the preallocated tail).
     */
    static long dataEnd(Path segment) throws IOException {
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            long size = ch.size();
            long position = 0;
            ByteBuffer header = ByteBuffer.allocate(12);
            for (int batches = 0; batches < 10_000_000 && position + 12 <= size; batches++) {
                header.clear();
                if (ch.read(header, position) < 12) {
                    break;
                }
                int length = header.getInt(8);
                if (length <= 0 || position + 12 + length > size) {
                    break;
                }
                position += 12 + length;
            }
            return position;
        }
    }

    private List<Path> segments(Path dataDir) {
        try (Stream<Path> dirs = Files.list(dataDir)) {
            return dirs.filter(d -> d.getFileName().toString().startsWith(topic + "-") && Files.isDirectory(d)).sorted()
                    .flatMap(d -> {
                        try (Stream<Path> files = Files.list(d)) {
                            return files.filter(f -> f.toString().endsWith(".log")).sorted().toList().stream();
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String rel(NodeProcess node, Path file) {
        return node.dataDir().relativize(file).toString();
    }
}
