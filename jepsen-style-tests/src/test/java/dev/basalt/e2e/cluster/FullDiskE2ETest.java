package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.harness.AckedWrites;
import dev.basalt.harness.Cluster;
import dev.basalt.harness.NodeProcess;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A full disk on one broker, against real node processes: the broker's data directory lives on a
 * small tmpfs mounted by this test (root is required: the test says so if mount is refused) and
 * unmounted afterwards. Another writer fills the file system; the broker refuses appends at once
 * (APPEND_REFUSED, nothing half-written), reports its replicas offline, the controller moves their
 * leadership, producers continue on the other brokers, /ready says why; once space is freed the
 * broker resumes by itself and its replicas rejoin the ISR; nothing acknowledged is lost. A
 * replica no other can take over (a replication-factor-1 partition on the full broker) keeps its
 * leader: it is still read, appends to it fail with "disk full", and they succeed again once
 * space returns.
 *
 * <p>Reproduce (as root): {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify
 * -Dtest=FullDiskE2ETest -Dsurefire.failIfNoSpecifiedTests=false}. Timings print as "MEASURED ...".
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FullDiskE2ETest extends ClusterTestSupport {
    private static final String TOPIC = "orders";
    private static final String SOLO = "solo";
    private static final int PARTITIONS = 3;
    private static final int VICTIM = 4;
    private static final long MIN_FREE = 24L << 20;

    static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (exit " + (p.isAlive() ? "timeout" : p.exitValue()) + "): " + out.trim());
        }
        return out;
    }

    /** Sends one record to partition {@code partition} of {@link #SOLO} and waits for its acknowledgement. */
    private void soloSend(int partition, String value, Duration deliveryTimeout) {
        Map<String, Object> c = Map.of("bootstrap.servers", cluster.bootstrap(), "acks", "all",
                "delivery.timeout.ms", (int) deliveryTimeout.toMillis(),
                "request.timeout.ms", (int) Math.min(deliveryTimeout.toMillis() / 2, 5_000));
        try (Producer<String, String> p = new Producer<>(c, new StringSerializer(), new StringSerializer())) {
            Producer.await(p.send(new ProducerRecord<>(SOLO, partition, null, value)), deliveryTimeout.plusSeconds(10));
        }
    }

    static long free(Path p) throws IOException {
        return Files.getFileStore(p).getUsableSpace();
    }

    /** Mounts a tmpfs of {@code sizeMib} MiB at {@code tmp/name} (root needed; the test says so if refused). */
    private Path mountTmpfs(String name, int sizeMib) throws Exception {
        Path mount = tmp.resolve(name);
        Files.createDirectories(mount);
        try {
            run("mount", "-t", "tmpfs", "-o", "size=" + sizeMib + "m", "tmpfs", mount.toString());
        } catch (IOException e) {
            fail("this test needs to mount a " + sizeMib + " MiB tmpfs (run it as root, as CI does, or with CAP_SYS_ADMIN): "
                    + e.getMessage());
        }
        return mount;
    }

    static void unmount(Path mount) throws Exception {
        try {
            run("umount", mount.toString());
        } catch (IOException e) {
            run("umount", "-l", mount.toString());
        }
    }

    /** Another writer fills the file system of {@code mount} to half the brokers' minimum free space; returns its file. */
    static Path fillTheFileSystem(Path mount) throws IOException {
        Path filler = mount.resolve("filler");
        long fillBytes = free(mount) - MIN_FREE / 2;
        try (RandomAccessFile f = new RandomAccessFile(filler.toFile(), "rw")) {
            byte[] chunk = new byte[1 << 20];
            for (long written = 0; written < fillBytes; written += chunk.length) {
                f.write(chunk, 0, (int) Math.min(chunk.length, fillBytes - written));
            }
        }
        return filler;
    }

    @Test
    void aFullDiskMovesTheBrokersLeadershipsAndItResumesWhenSpaceReturns() throws Exception {
        Path mount = mountTmpfs("tmpfs", 64);
        try {
            start(builder(4).controllers(1).nodeConfig(VICTIM, "data.dir", mount.resolve("data").toString())
                    .nodeConfig(VICTIM, "log.dir.free.bytes.min", Long.toString(MIN_FREE)));
            createTopic(TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"));
            int brokers = cluster.brokerIds().size();
            createTopic(SOLO, brokers, 1, Map.of());
            int soloOnVictim = -1;
            for (int p = 0; p < brokers; p++) {
                if (cluster.partition(SOLO, p).replicas().equals(List.of(VICTIM))) {
                    soloOnVictim = p;
                }
            }
            assertTrue(soloOnVictim >= 0, "placement put no partition of " + SOLO + " on broker " + VICTIM + ":\n"
                    + cluster.diagnostics());
            soloSend(soloOnVictim, "before-full", Duration.ofSeconds(20));
            int soloEpoch = cluster.partition(SOLO, soloOnVictim).leaderEpoch();
            // make the victim lead partition 0 if it does not (preferred leader of some partition is enough)
            AckedWrites w = writes(cluster.bootstrap(), TOPIC, PARTITIONS, "f").start();
            assertTrue(w.awaitAcks(300, System.nanoTime() - Duration.ofMinutes(1).toNanos(), FAILOVER), w.summary());
            NodeProcess node = cluster.node(VICTIM);

            // Another writer fills the file system to below the broker's minimum.
            Path filler = fillTheFileSystem(mount);
            long filledAt = System.nanoTime();
            for (int p = 0; p < PARTITIONS; p++) {
                cluster.awaitPartition(TOPIC, p, s -> s.hasLeader() && s.leader() != VICTIM && !s.isr().contains(VICTIM),
                        "leadership and ISR away from the full broker", FAILOVER);
            }
            long movedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - filledAt);
            NodeProcess.HttpAnswer ready = node.httpGet("/ready");
            assertEquals(503, ready.code(), ready.body());
            assertTrue(ready.body().contains("disk full"), ready.body());
            assertTrue(w.awaitAcks(300, System.nanoTime(), FAILOVER), "produce did not continue on the others: " + w.summary());
            System.out.println("MEASURED full disk: leaderships and ISR moved off broker " + VICTIM + " " + movedMs
                    + " ms after the file system filled (" + free(mount) + " bytes free)");

            // The same heartbeats that moved those leaderships left the partition nobody can take over where it was.
            Cluster.PartitionState solo = cluster.partition(SOLO, soloOnVictim);
            assertEquals(VICTIM, solo.leader(), "the full broker's only-copy partition lost its leader: " + solo);
            Map<Long, String> soloLog = AckedWrites.readAll(cluster.bootstrap(), SOLO, brokers, FAILOVER).get(soloOnVictim);
            assertEquals(List.of("before-full"), List.copyOf(soloLog.values()), "reading the full broker's partition");
            try {
                soloSend(soloOnVictim, "while-full", Duration.ofSeconds(3));
                fail("an append to a partition on a full disk was acknowledged");
            } catch (RuntimeException e) {
                assertTrue(String.valueOf(e.getMessage()).contains("disk full"), "the producer was not told why: " + e);
                // refused before anything was written: a definite failure, not "may have been written"
                assertTrue(e instanceof dev.basalt.client.StorageException && e.getMessage().contains("APPEND_REFUSED"),
                        "a refused append was not reported as refused: " + e);
            }
            assertTrue(node.grepLog("is out of space and no other in-sync replica can take it over").size() >= 1,
                    "no log line for the partition kept in service");

            // Space returns: the broker resumes by itself.
            Files.delete(filler);
            long freedAt = System.nanoTime();
            for (int p = 0; p < PARTITIONS; p++) {
                cluster.awaitPartition(TOPIC, p, s -> s.isr().contains(VICTIM), "the broker back in the ISR", CATCH_UP);
            }
            node.awaitReady(FAILOVER);
            soloSend(soloOnVictim, "after-full", Duration.ofSeconds(20));
            // Kept throughout: never reported, never leaderless, not even in the moment space returned.
            assertEquals(soloEpoch, cluster.partition(SOLO, soloOnVictim).leaderEpoch(),
                    "the full broker's only-copy partition changed leader epoch: " + cluster.partition(SOLO, soloOnVictim));
            System.out.println("MEASURED full disk: broker " + VICTIM + " back in every ISR and ready "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freedAt) + " ms after space was freed");
            w.stop(Duration.ofSeconds(40));
            List<AckedWrites.Ack> acks = w.acks();
            int traces = node.grepLog("\tat ").size();
            long errorLines = node.grepLog(" ERROR ").size();
            System.out.println("MEASURED full disk: " + acks.size() + " acknowledged writes; broker log: " + errorLines
                    + " ERROR lines, " + traces + " stack-trace lines");
            assertNothingLost(TOPIC, PARTITIONS, acks);
            for (int p = 0; p < PARTITIONS; p++) {
                assertReplicasIdentical(TOPIC, p);
            }
        } finally {
            if (cluster != null) {
                cluster.node(VICTIM).close();
            }
            unmount(mount);
        }
    }

    /**
     * Found probing a dev cluster, whose nodes share one file system: every broker's disk full at
     * once. Each reported its replicas offline and the controller handed every partition to
     * another replica that had reported the same, then back, with every heartbeat (hundreds of
     * leader epochs a minute, each a metadata record on the full disk), and producers were told
     * NOT_ENOUGH_REPLICAS. Now leadership settles and stays; reads go on; producers are told
     * "disk full"; once space returns every replica rejoins and nothing acknowledged is lost.
     */
    @Test
    void everyBrokersDiskFull_leadershipSettles_producersAreToldDiskFull_andAllResumes() throws Exception {
        Path mount = mountTmpfs("tmpfs-shared", 96);
        try {
            // node 1 controls (its metadata log elsewhere); brokers 2..4 keep their data on the one file system
            Cluster.Builder b = builder(4).controllers(1);
            for (int id = 2; id <= 4; id++) {
                b.nodeConfig(id, "data.dir", mount.resolve("data-" + id).toString())
                        .nodeConfig(id, "log.dir.free.bytes.min", Long.toString(MIN_FREE));
            }
            start(b);
            createTopic(TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"));
            AckedWrites w = writes(cluster.bootstrap(), TOPIC, PARTITIONS, "a").start();
            assertTrue(w.awaitAcks(300, System.nanoTime() - Duration.ofMinutes(1).toNanos(), FAILOVER), w.summary());

            Path filler = fillTheFileSystem(mount);
            for (int id = 2; id <= 4; id++) {
                NodeProcess node = cluster.node(id);
                long deadline = System.nanoTime() + FAILOVER.toNanos();
                NodeProcess.HttpAnswer ready = node.httpGet("/ready");
                while (!(ready.code() == 503 && ready.body().contains("disk full")) && System.nanoTime() < deadline) {
                    sleepMs(200);
                    ready = node.httpGet("/ready");
                }
                assertTrue(ready.code() == 503 && ready.body().contains("disk full"), "broker " + id + ": " + ready.body());
            }
            // a few heartbeats for the reports to reach the controller and leadership to settle
            sleepMs(3_000);
            int[] epochs = new int[PARTITIONS];
            for (int p = 0; p < PARTITIONS; p++) {
                Cluster.PartitionState s = cluster.partition(TOPIC, p);
                assertTrue(s.hasLeader(), "left leaderless: " + s);
                epochs[p] = s.leaderEpoch();
            }
            sleepMs(8_000); // ~30 heartbeats per broker
            for (int p = 0; p < PARTITIONS; p++) {
                Cluster.PartitionState s = cluster.partition(TOPIC, p);
                assertEquals(epochs[p], s.leaderEpoch(), "partition " + p + " changed leader while every disk stayed full: " + s);
            }
            try (Producer<String, String> producer = new Producer<>(Map.of("bootstrap.servers", cluster.bootstrap(), "acks", "all",
                    "delivery.timeout.ms", 3_000, "request.timeout.ms", 1_500), new StringSerializer(), new StringSerializer())) {
                Producer.await(producer.send(new ProducerRecord<>(TOPIC, 0, null, "while-full")), Duration.ofSeconds(15));
                fail("an append on a full disk was acknowledged");
            } catch (RuntimeException e) {
                assertTrue(String.valueOf(e.getMessage()).contains("disk full") && e instanceof dev.basalt.client.StorageException,
                        "the producer was not told why: " + e);
            }
            // Reads go on, up to each leader's high watermark. A leader elected from the ELR while the
            // disks filled may hold records the old leader acknowledged above its high watermark, which
            // moves only with an ISR of min.insync.replicas: those show once space returns (checked below).
            Map<Integer, Map<Long, String>> readable = AckedWrites.readAll(cluster.bootstrap(), TOPIC, PARTITIONS, FAILOVER);
            List<AckedWrites.Ack> acked = w.acks();
            List<String> wrong = AckedWrites.missing(acked, readable).stream().filter(m -> !m.endsWith("but found nothing")).toList();
            assertTrue(wrong.isEmpty(), "read other values than acknowledged while full: " + wrong);
            long seen = acked.stream().filter(a -> readable.getOrDefault(a.partition(), Map.of()).containsKey(a.offset())).count();
            assertTrue(seen > 0, "nothing readable while every disk was full");
            System.out.println("MEASURED every disk full: " + seen + " of " + acked.size() + " acknowledged records readable while full");

            Files.delete(filler);
            long freedAt = System.nanoTime();
            for (int p = 0; p < PARTITIONS; p++) {
                cluster.awaitPartition(TOPIC, p, s -> s.hasLeader() && s.isr().size() == 3, "every replica back in the ISR", CATCH_UP);
            }
            assertTrue(w.awaitAcks(300, System.nanoTime(), FAILOVER), "writes did not resume: " + w.summary());
            System.out.println("MEASURED every disk full: leader epochs steady for 8 s while full; every ISR whole again "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freedAt) + " ms after space was freed");
            stopAndCheckNothingLost(w);
        } finally {
            stopNodesThenUnmount(2, 4, mount);
        }
    }

    /**
     * Found probing: a topic created while a broker's disk was full to the last byte kept that
     * broker as leader; its replica could not be created (the index refused the write), was not
     * reported, producers were told "still loading" for as long as the disk stayed full, and the
     * in-sync replica elsewhere never took over. Now the replica is reported offline, leadership
     * moves to a replica that can serve and writes go through; once space returns it is created
     * and rejoins the ISR. Meanwhile monitoring says the disk is full: /metrics counts the offline
     * replicas and has the free-space gauges, /ready gives the free bytes now.
     */
    @Test
    void aTopicCreatedOnADiskFullToTheLastByte_isLedByAReplicaThatCanServe_andMonitoringSaysFull() throws Exception {
        Path mount = mountTmpfs("tmpfs-whilefull", 64);
        try {
            start(builder(4).controllers(1).nodeConfig(VICTIM, "data.dir", mount.resolve("data").toString())
                    .nodeConfig(VICTIM, "log.dir.free.bytes.min", Long.toString(MIN_FREE)));
            NodeProcess node = cluster.node(VICTIM);
            Path filler = fillToTheLastByte(mount);
            long deadline = System.nanoTime() + FAILOVER.toNanos();
            while (!metric(node, "basalt_log_dir_full").equals("1.0") && System.nanoTime() < deadline) {
                sleepMs(100);
            }
            assertEquals("1.0", metric(node, "basalt_log_dir_full"), "the full disk on /metrics");
            assertEquals(Double.toString((double) MIN_FREE), metric(node, "basalt_log_dir_free_min_bytes"));

            int brokers = cluster.brokerIds().size();
            try (dev.basalt.client.Admin admin = cluster.admin()) {
                dev.basalt.client.Admin.getAll(admin.createTopics(List.of(new dev.basalt.client.admin.NewTopic("whilefull", brokers, 2,
                        Map.of())), false), Duration.ofSeconds(10));
            }
            List<Integer> onVictim = new java.util.ArrayList<>();
            for (int p = 0; p < brokers; p++) {
                if (cluster.partition("whilefull", p).replicas().contains(VICTIM)) {
                    onVictim.add(p);
                }
            }
            assertTrue(!onVictim.isEmpty(), "placement put no replica on broker " + VICTIM + ":\n" + cluster.diagnostics());
            long createdAt = System.nanoTime();
            for (int p : onVictim) {
                cluster.awaitPartition("whilefull", p, s -> s.hasLeader() && s.leader() != VICTIM,
                        "leadership with the replica that could be created", FAILOVER);
            }
            long movedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - createdAt);
            try (Producer<String, String> producer = new Producer<>(Map.of("bootstrap.servers", cluster.bootstrap(), "acks", "all",
                    "delivery.timeout.ms", 20_000, "request.timeout.ms", 5_000), new StringSerializer(), new StringSerializer())) {
                for (int p : onVictim) {
                    Producer.await(producer.send(new ProducerRecord<>("whilefull", p, null, "while-full")), Duration.ofSeconds(30));
                }
            }
            NodeProcess.HttpAnswer ready = node.httpGet("/ready");
            assertEquals(503, ready.code(), ready.body());
            assertTrue(ready.body().contains("could not be created") && ready.body().contains("bytes free now"), ready.body());
            double offline = Double.parseDouble(metric(node, "basalt_partitions_offline_replicas"));
            assertTrue(offline >= onVictim.size(), "offline replicas on /metrics: " + offline);
            System.out.println("MEASURED full disk: a topic created on it led elsewhere " + movedMs + " ms after its creation");

            Files.delete(filler);
            for (int p : onVictim) {
                cluster.awaitPartition("whilefull", p, s -> s.isr().contains(VICTIM), "the replica created and in the ISR", CATCH_UP);
            }
            node.awaitReady(FAILOVER);
            assertEquals("0.0", metric(node, "basalt_log_dir_full"));
        } finally {
            stopNodesThenUnmount(VICTIM, VICTIM, mount);
        }
    }

    /** The value of an unlabelled series on {@code node}'s /metrics, or "" if absent. */
    private static String metric(NodeProcess node, String name) {
        for (String line : node.httpGet("/metrics").body().split("\n")) {
            if (line.startsWith(name + " ")) {
                return line.substring(name.length() + 1).trim();
            }
        }
        return "";
    }

    /** Stops the writer; every acknowledged record readable at its offset, and the replicas identical. */
    private void stopAndCheckNothingLost(AckedWrites w) {
        w.stop(Duration.ofSeconds(40));
        assertNothingLost(TOPIC, PARTITIONS, w.acks());
        for (int p = 0; p < PARTITIONS; p++) {
            assertReplicasIdentical(TOPIC, p);
        }
    }

    /** Stops nodes {@code from..to} (their data lives on the mount) before unmounting it. */
    private void stopNodesThenUnmount(int from, int to, Path mount) throws Exception {
        if (cluster != null) {
            for (int id = from; id <= to; id++) {
                cluster.node(id).close();
            }
        }
        unmount(mount);
    }

    /** Another writer fills the file system of {@code mount} to the last byte it can; returns its file. */
    static Path fillToTheLastByte(Path mount) throws IOException {
        Path filler = mount.resolve("filler");
        try (RandomAccessFile f = new RandomAccessFile(filler.toFile(), "rw")) {
            for (int chunk : new int[] {1 << 20, 4096, 1}) {
                byte[] bytes = new byte[chunk];
                try {
                    while (true) {
                        f.write(bytes);
                    }
                } catch (IOException full) {
                    // ENOSPC at this granularity: go on with smaller writes
                }
            }
        }
        return filler;
    }

    /**
     * Found probing a dev cluster whose nodes share one small file system, filled to the last byte
     * by another writer: the next metadata record failed to append (ENOSPC) and each voter that
     * hit it halted, two of three, and the cluster was gone. Now a voter whose metadata log has no
     * room stands aside (no vote, no leadership, /ready says why) and rejoins by itself once there
     * is room; no process exits, the quorum takes changes again, nothing acknowledged is lost.
     */
    @Test
    void metadataLogsOnADiskFullToTheLastByte_votersStandAsideAndRejoin_noProcessExits() throws Exception {
        Path mount = mountTmpfs("tmpfs-metadata", 96);
        try {
            Cluster.Builder b = builder(3);
            for (int id = 1; id <= 3; id++) {
                b.nodeConfig(id, "data.dir", mount.resolve("data-" + id).toString())
                        .nodeConfig(id, "log.dir.free.bytes.min", Long.toString(MIN_FREE));
            }
            start(b);
            createTopic(TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"));
            AckedWrites w = writes(cluster.bootstrap(), TOPIC, PARTITIONS, "m").start();
            assertTrue(w.awaitAcks(300, System.nanoTime() - Duration.ofMinutes(1).toNanos(), FAILOVER), w.summary());

            Path filler = fillToTheLastByte(mount);
            // The replicas go offline, which is metadata to write; topic creations add more until a
            // voter's append finds no room (a record may first fit in the slack of a page).
            java.util.Set<Integer> asideSeen = new java.util.TreeSet<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            for (int attempt = 0; asideSeen.isEmpty() && System.nanoTime() < deadline; attempt++) {
                try (dev.basalt.client.Admin admin = cluster.admin()) {
                    dev.basalt.client.Admin.getAll(admin.createTopics(List.of(new dev.basalt.client.admin.NewTopic("probe-" + attempt, 3, 3,
                            Map.of())), false), Duration.ofSeconds(5));
                } catch (RuntimeException refusedOrLate) {
                    // a quorum without room may neither commit nor refuse in time: only the voters' state matters here
                }
                for (int id = 1; id <= 3; id++) {
                    NodeProcess node = cluster.node(id);
                    assertTrue(node.isAlive(), "node " + id + " exited on the full disk:\n" + node.tail(40));
                    NodeProcess.HttpAnswer ready = node.httpGet("/ready");
                    if (ready.code() == 503 && ready.body().contains("metadata log out of space")) {
                        asideSeen.add(id);
                    }
                }
            }
            assertTrue(!asideSeen.isEmpty(), "no voter's metadata log ran out of space within 90 s:\n" + cluster.diagnostics());
            sleepMs(3_000);
            for (int id = 1; id <= 3; id++) {
                assertTrue(cluster.node(id).isAlive(), "node " + id + " exited on the full disk:\n" + cluster.node(id).tail(40));
            }

            Files.delete(filler);
            long freedAt = System.nanoTime();
            for (int id = 1; id <= 3; id++) {
                cluster.node(id).awaitReady(CATCH_UP);
            }
            createTopic("after-full", 3, 3, Map.of());
            for (int p = 0; p < PARTITIONS; p++) {
                cluster.awaitPartition(TOPIC, p, s -> s.hasLeader() && s.isr().size() == 3, "every replica back in the ISR", CATCH_UP);
            }
            // Topics created while the disks were full: their replicas that could not be opened then
            // (the index refused the write) open now, and every ISR fills.
            List<String> probes;
            try (dev.basalt.client.Admin admin = cluster.admin()) {
                probes = dev.basalt.client.Admin.get(admin.listTopics(false), Duration.ofSeconds(10)).stream()
                        .map(t -> t.name()).filter(n -> n.startsWith("probe-")).toList();
            }
            for (String probe : probes) {
                for (int p = 0; p < 3; p++) {
                    cluster.awaitPartition(probe, p, s -> s.hasLeader() && s.isr().size() == 3,
                            "every replica of a topic created on the full disk in the ISR", CATCH_UP);
                }
            }
            assertTrue(w.awaitAcks(300, System.nanoTime(), FAILOVER), "writes did not resume: " + w.summary());
            long backMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - freedAt);
            for (int id : asideSeen) {
                assertTrue(cluster.node(id).grepLog("rejoining from the stored state").size() >= 1,
                        "node " + id + " stood aside but never logged rejoining");
            }
            System.out.println("MEASURED metadata log on a full disk: voters " + asideSeen + " stood aside, none exited; "
                    + probes.size() + " topics created while full, every replica of them in the ISR; "
                    + "every node ready, a topic created and every ISR whole " + backMs + " ms after space was freed");
            stopAndCheckNothingLost(w);
        } finally {
            stopNodesThenUnmount(1, 3, mount);
        }
    }
}
