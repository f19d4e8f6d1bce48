package dev.basalt.bench;

import dev.basalt.client.Admin;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.serialization.ByteArraySerializer;
import dev.basalt.harness.Cluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Reassignment figures for issue 12's closing note: the time to move {@code --bytes} of partitions
 * onto a broker that just joined, unthrottled, against the disk's sequential write speed measured in
 * the same run with dd, and the p99 latency of a concurrent acks=all probe producer during the move
 * against the same probe without a move. Prints the machine's load average with every figure.
 *
 * <p>Method: four combined nodes on 127.0.0.1 (the harness's {@link Cluster}); node 4 is stopped at
 * once. A topic of 4 partitions, RF 3, gets {@code --bytes} of 1000-byte records (acks=1, so the
 * fill is fast); a second topic "probe" (RF 3, min ISR 2) gets one 100-byte acks=all record every
 * 5 ms from one producer while latencies are recorded. Baseline: 20 s of probe. Then node 4 joins
 * and every partition of the data topic is reassigned from broker 1 to broker 4 (so broker 4 copies
 * all of it); the time runs from the request until no reassignment is listed, the probe running
 * throughout. dd writes the same number of bytes with {@code oflag=direct conv=fsync} in the
 * cluster's directory.
 *
 * <p>Usage: {@code ReassignmentMeasurement [--bytes 1073741824] [--dir DIR]}.
 *
 * <p>Thread-safety: a main program; the probe thread shares only a concurrent queue and a flag.
 */
public final class ReassignmentMeasurement {
    private static final String TOPIC = "bulk";
    private static final int PARTITIONS = 4;
    private static final Duration READY = Duration.ofSeconds(120);

    private ReassignmentMeasurement() {
    }

    public static void main(String[] args) throws Exception {
        long bytes = 1L << 30;
        Path dir = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bytes" -> bytes = Long.parseLong(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (dir == null) {
            dir = Files.createTempDirectory("basalt-reassign-bench");
        }
        Files.createDirectories(dir);
        double ddMBps = dd(dir, bytes);
        System.out.printf(Locale.ROOT, "dd sequential write: %.1f MB/s (%d bytes, oflag=direct conv=fsync) load %s%n",
                ddMBps, bytes, load());
        List<String> jvm = List.of("-Xms1g", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:TieredStopAtLevel=1");
        try (Cluster cluster = Cluster.builder(dir.resolve("cluster")).nodes(4).rackPerNode().jvmOptions(jvm).build()) {
            cluster.start(READY);
            cluster.stop(4, Duration.ofSeconds(30));
            try (Admin admin = cluster.admin()) {
                awaitFenced(admin, 4);
                Admin.getAll(admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, 3, Map.of()),
                        new NewTopic("probe", 1, 3, Map.of("min.insync.replicas", "2"))), false), Duration.ofSeconds(30));
            }
            long filled = fill(cluster, bytes);
            System.out.printf(Locale.ROOT, "filled %d bytes into %s load %s%n", filled, TOPIC, load());
            long[] baseline = probe(cluster, () -> sleep(20_000));
            System.out.printf(Locale.ROOT, "probe without a move: %s load %s%n", summary(baseline), load());

            cluster.node(4).launch();
            cluster.awaitReady(List.of(4), READY);
            long[] moveMs = new long[1];
            long[] during = probe(cluster, () -> moveMs[0] = move(cluster));
            double moveMBps = filled / 1e6 / (moveMs[0] / 1000.0);
            System.out.printf(Locale.ROOT, "moved %d bytes onto broker 4 in %d ms: %.1f MB/s = %.2f of dd's %.1f MB/s load %s%n",
                    filled, moveMs[0], moveMBps, moveMBps / ddMBps, ddMBps, load());
            System.out.printf(Locale.ROOT, "probe during the move: %s%n", summary(during));
        }
    }

    private static double dd(Path dir, long bytes) throws Exception {
        Path file = dir.resolve("dd.bin");
        long startNs = System.nanoTime();
        Process p = new ProcessBuilder("dd", "if=/dev/zero", "of=" + file, "bs=1M", "count=" + (bytes >> 20),
                "oflag=direct", "conv=fsync").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("dd failed");
        }
        double seconds = (System.nanoTime() - startNs) / 1e9;
        Files.delete(file);
        return (bytes >> 20) * 1048576.0 / 1e6 / seconds;
    }

    private static long fill(Cluster cluster, long bytes) throws Exception {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("bootstrap.servers", cluster.bootstrap());
        c.put("acks", "1");
        c.put("linger.ms", "5");
        c.put("batch.size", "262144");
        byte[] value = new byte[1000];
        Arrays.fill(value, (byte) 'x');
        long sent = 0;
        try (Producer<byte[], byte[]> producer = new Producer<>(c, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<CompletableFuture<?>> window = new ArrayList<>();
            for (long i = 0; sent < bytes; i++) {
                window.add(producer.send(new ProducerRecord<>(TOPIC, (int) (i % PARTITIONS), null, value)));
                sent += value.length;
                if (window.size() >= 10_000) {
                    CompletableFuture.allOf(window.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
                    window.clear();
                }
            }
            CompletableFuture.allOf(window.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        }
        return sent;
    }

    /** Reassigns every partition of the data topic from broker 1 to broker 4; returns ms until done. */
    private static long move(Cluster cluster) {
        try (Admin admin = cluster.admin()) {
            Map<TopicPartition, Optional<List<Integer>>> targets = new LinkedHashMap<>();
            for (int p = 0; p < PARTITIONS; p++) {
                List<Integer> target = new ArrayList<>(cluster.partition(TOPIC, p).replicas());
                target.replaceAll(id -> id == 1 ? 4 : id);
                targets.put(new TopicPartition(TOPIC, p), Optional.of(target));
            }
            long startNs = System.nanoTime();
            Admin.getAll(admin.alterPartitionReassignments(targets), Duration.ofSeconds(30));
            while (!Admin.get(admin.listPartitionReassignments(List.of(TOPIC)), Duration.ofSeconds(30)).isEmpty()) {
                sleep(100);
            }
            return (System.nanoTime() - startNs) / 1_000_000;
        }
    }

    /** Runs {@code during} while one acks=all producer sends a 100-byte record every 5 ms; returns latencies in µs. */
    private static long[] probe(Cluster cluster, Runnable during) throws Exception {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("bootstrap.servers", cluster.bootstrap());
        c.put("acks", "all");
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        AtomicBoolean running = new AtomicBoolean(true);
        try (Producer<byte[], byte[]> producer = new Producer<>(c, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("probe", 0, null, new byte[100])).get(30, TimeUnit.SECONDS);
            Thread t = new Thread(() -> {
                while (running.get()) {
                    long startNs = System.nanoTime();
                    producer.send(new ProducerRecord<>("probe", 0, null, new byte[100])).whenComplete((md, ex) -> {
                        if (ex == null) {
                            latencies.add((System.nanoTime() - startNs) / 1_000);
                        }
                    });
                    sleep(5);
                }
            }, "probe");
            t.start();
            during.run();
            running.set(false);
            t.join();
            producer.flush();
        }
        return latencies.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    private static String summary(long[] sortedUs) {
        if (sortedUs.length == 0) {
            return "no acknowledged probe record";
        }
        return String.format(Locale.ROOT, "%d records, p50 %.2f ms, p99 %.2f ms, max %.2f ms", sortedUs.length,
                sortedUs[sortedUs.length / 2] / 1000.0, sortedUs[(int) Math.min(sortedUs.length - 1, sortedUs.length * 99L / 100)]
                        / 1000.0, sortedUs[sortedUs.length - 1] / 1000.0);
    }

    private static void awaitFenced(Admin admin, int id) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (Admin.get(admin.describeCluster(true), Duration.ofSeconds(10)).brokers().stream()
                .anyMatch(b -> b.id() == id && !b.fenced())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("broker " + id + " not fenced");
            }
            sleep(200);
        }
    }

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
