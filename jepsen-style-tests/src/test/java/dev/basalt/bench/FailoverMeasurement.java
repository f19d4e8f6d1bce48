package dev.basalt.bench;

import dev.basalt.client.Admin;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Failover figures for issue 9's closing note: the time from kill -9 of a node to the next
 * acknowledged acks=all write, median over rounds. Starts its own cluster of real nodes (3
 * combined nodes on 127.0.0.1, the harness's {@link Cluster}), with a topic of 6 partitions, RF 3,
 * min.insync.replicas 2, like the Kafka anchor's failover probe
 * (../shared/bench/kafka-anchor/tools/AnchorProbe.java):
 *
 * <ul>
 *   <li>an acks=all producer sends a 100-byte record to every partition every 10 ms;</li>
 *   <li>{@code --mode leader}: the victim is the leader of a partition that is not the active
 *       controller (so only partition leadership fails over); {@code --mode controller}: the
 *       victim is the active controller (and whatever partitions it leads);</li>
 *   <li>reported per round, from the SIGKILL: {@code first_ack_ms} (the first record sent after
 *       the kill acknowledged, any partition), {@code victim_partition_ack_ms} (the same for the
 *       partitions the victim led), {@code all_partitions_ack_ms} (every partition has one);</li>
 *   <li>the victim is restarted on its data and the cluster waits until every partition has its
 *       full ISR before the next round.</li>
 * </ul>
 *
 * <p>Usage (bench/basalt-cluster-perf.sh runs it): {@code FailoverMeasurement --mode leader|controller
 * [--rounds 10] [--dir DIR] [--set KEY=VALUE]...}; node configuration is the default unless --set.
 * Prints one line per round and a {@code median ...} line; exits 1 when a round times out.
 *
 * <p>Thread-safety: a main program; the sender thread shares only atomics with the main thread.
 */
public final class FailoverMeasurement {
    private static final String TOPIC = "failover";
    private static final int PARTITIONS = 6;
    private static final Duration ROUND_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration READY = Duration.ofSeconds(120);

    private FailoverMeasurement() {
    }

    public static void main(String[] args) throws Exception {
        String mode = "leader";
        int rounds = 10;
        Path dir = null;
        Map<String, String> extra = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mode" -> mode = args[++i];
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--set" -> {
                    String[] kv = args[++i].split("=", 2);
                    extra.put(kv[0], kv[1]);
                }
                default -> {
                    System.err.println("usage: FailoverMeasurement --mode leader|controller [--rounds N] [--dir DIR] [--set K=V]...");
                    System.exit(2);
                }
            }
        }
        if (!mode.equals("leader") && !mode.equals("controller")) {
            System.err.println("--mode must be leader or controller");
            System.exit(2);
        }
        if (dir == null) {
            dir = Files.createTempDirectory("basalt-failover");
        }
        // The same JVM flags as `bin/basalt start` on this 2-core class of machine.
        List<String> jvm = List.of("-Xms1g", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:TieredStopAtLevel=1");
        Cluster.Builder b = Cluster.builder(dir).nodes(3).rackPerNode().jvmOptions(jvm);
        extra.forEach(b::config);
        List<long[]> results = new ArrayList<>();
        try (Cluster cluster = b.build()) {
            cluster.start(READY);
            try (Admin admin = cluster.admin()) {
                Admin.getAll(admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"))),
                        false), Duration.ofSeconds(30));
            }
            awaitFullIsr(cluster);
            for (int round = 1; round <= rounds; round++) {
                long[] r = round(cluster, mode, round);
                if (r == null) {
                    System.exit(1);
                }
                results.add(r);
            }
        }
        System.out.printf(Locale.ROOT, "median mode=%s rounds=%d first_ack_ms=%d victim_partition_ack_ms=%d all_partitions_ack_ms=%d%n",
                mode, results.size(), median(results, 0), median(results, 1), median(results, 2));
    }

    private static void awaitFullIsr(Cluster cluster) {
        for (int p = 0; p < PARTITIONS; p++) {
            cluster.awaitPartition(TOPIC, p, s -> s.hasLeader() && s.isr().size() == 3, "full ISR", READY);
        }
    }

    /** One kill and recovery; {first, victim partitions, all} in ms, or null on timeout. */
    private static long[] round(Cluster cluster, String mode, int round) throws Exception {
        int controller = cluster.activeController(Duration.ofSeconds(30));
        int[] leaders = new int[PARTITIONS];
        for (int p = 0; p < PARTITIONS; p++) {
            leaders[p] = cluster.partition(TOPIC, p).leader();
        }
        int victim = controller;
        if (mode.equals("leader")) {
            victim = -1;
            for (int l : leaders) {
                if (l != controller) {
                    victim = l;
                    break;
                }
            }
            if (victim < 0) {
                // Every partition is led by the controller: measure the leader failover of the controller's node anyway, noted.
                victim = controller;
                System.out.println("round=" + round + " note=every partition led by the active controller " + controller);
            }
        }
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("bootstrap.servers", cluster.bootstrap());
        c.put("acks", "all");
        c.put("linger.ms", 0);
        c.put("retry.backoff.ms", 20);
        c.put("retry.backoff.max.ms", 100);
        c.put("request.timeout.ms", 5_000);
        c.put("delivery.timeout.ms", 120_000);
        c.put("max.block.ms", 120_000);
        AtomicLong killNs = new AtomicLong(Long.MAX_VALUE);
        AtomicLongArray firstAck = new AtomicLongArray(PARTITIONS);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong errors = new AtomicLong();
        try (Producer<byte[], byte[]> producer = new Producer<>(c, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int p = 0; p < PARTITIONS; p++) {
                producer.send(new ProducerRecord<>(TOPIC, p, null, "warm".getBytes())).get(30, TimeUnit.SECONDS);
            }
            Thread sender = new Thread(() -> {
                byte[] v = new byte[100];
                while (!stop.get()) {
                    for (int p = 0; p < PARTITIONS; p++) {
                        int part = p;
                        long sentNs = System.nanoTime();
                        try {
                            producer.send(new ProducerRecord<>(TOPIC, part, null, v)).whenComplete((md, ex) -> {
                                if (ex != null) {
                                    errors.incrementAndGet();
                                } else if (sentNs - killNs.get() > 0) {
                                    firstAck.compareAndSet(part, 0, System.nanoTime());
                                }
                            });
                        } catch (RuntimeException e) {
                            errors.incrementAndGet();
                        }
                    }
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "failover-sender");
            sender.setDaemon(true);
            sender.start();
            Thread.sleep(2_000);

            long kill = System.nanoTime();
            killNs.set(kill);
            cluster.kill9(victim);
            long deadline = kill + ROUND_TIMEOUT.toNanos();
            while (System.nanoTime() < deadline && !allSet(firstAck)) {
                Thread.sleep(5);
            }
            stop.set(true);
            sender.join(5_000);
            long[] ms = new long[PARTITIONS];
            long first = Long.MAX_VALUE;
            long all = 0;
            long victimParts = 0;
            for (int p = 0; p < PARTITIONS; p++) {
                long t = firstAck.get(p);
                ms[p] = t == 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(t - kill);
                if (ms[p] >= 0) {
                    first = Math.min(first, ms[p]);
                }
                all = ms[p] < 0 || all < 0 ? -1 : Math.max(all, ms[p]);
                if (leaders[p] == victim) {
                    victimParts = ms[p] < 0 || victimParts < 0 ? -1 : Math.max(victimParts, ms[p]);
                }
            }
            System.out.printf(Locale.ROOT, "round=%d mode=%s victim=%d controller=%d partition_leaders=%s first_ack_ms=%d"
                    + " victim_partition_ack_ms=%d all_partitions_ack_ms=%d per_partition_ms=%s errors=%d%n", round, mode, victim,
                    controller, Arrays.toString(leaders), first == Long.MAX_VALUE ? -1 : first, victimParts, all,
                    Arrays.toString(ms), errors.get());
            if (all < 0) {
                System.out.println("round " + round + " timed out after " + ROUND_TIMEOUT + "\n" + cluster.diagnostics());
                return null;
            }
            cluster.restart(victim, READY);
            awaitFullIsr(cluster);
            return new long[] {first, victimParts, all};
        }
    }

    private static boolean allSet(AtomicLongArray a) {
        for (int i = 0; i < a.length(); i++) {
            if (a.get(i) == 0) {
                return false;
            }
        }
        return true;
    }

    private static long median(List<long[]> rs, int column) {
        long[] v = rs.stream().mapToLong(r -> r[column]).sorted().toArray();
        if (v.length == 0) {
            return -1;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
