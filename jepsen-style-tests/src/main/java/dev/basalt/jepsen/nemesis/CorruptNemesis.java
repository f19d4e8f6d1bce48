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
 * Corruption while stopped, on a minority (one node): kill -9 the node, then in one segment file
 * ({@code <data>/<topic>-<p>/*.log}) of the workload's topic either flip one bit or cut the file
 * short, both at a position drawn from the step's choice inside the batches it holds; on heal, restart the node and wait until
 * it is ready. A correct node notices (CRC, torn tail), takes the replica offline or truncates it,
 * and rebuilds it from the leader: nothing acknowledged may be lost cluster-wide.
 *
 * <p>Not covered: the index (RocksDB) and the Raft log files, whose layouts belong to other
 * modules.
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}).
 */
public final class CorruptNemesis implements Nemesis {
    private final Cluster cluster;
    private final String topic;
    private final int choice;
    private final Duration readyTimeout;
    private int victim = -1;

    public CorruptNemesis(Cluster cluster, String topic, int choice, Duration readyTimeout) {
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
        cluster.node(victim).launch();
        cluster.awaitReady(List.of(victim), readyTimeout);
        return "restarted [" + victim + "]";
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
