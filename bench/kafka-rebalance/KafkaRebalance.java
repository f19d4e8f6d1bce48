import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The join/leave figures of Basalt's GroupWorkloadE2ETest, measured the same way on an Apache
 * Kafka cluster (issue 13): members are threads of this JVM, each its own KafkaConsumer, sharing a
 * 60-partition topic while a producer writes one record to each partition every ~30 ms
 * (round robin, 500 µs between sends, acks=all, linger.ms=2, at most 64 in flight).
 *
 * <p>Steps and definitions (as in GroupWorkloadE2ETest): N-1 members (default 9) until every
 * partition is owned by one of them, 3 s of steady state; a member joins (N-1 -> N) and the test
 * waits until every partition is owned by the N members, then 2 s; the first member closes (N ->
 * N-1: commit, revoke, leave), wait, 2 s. Ownership comes from the rebalance listeners
 * (assigned/revoked/lost). For each change, from the two ownership snapshots:
 * <ul>
 *   <li>moved partitions (owner before != owner after): unconsumed time = the last record
 *       consumed at or before the change to the first consumed after it (median, max);</li>
 *   <li>unmoved partitions: the largest gap between consecutive consumed records from the change
 *       to 1 s after it settled, beside the largest gap of the 3 s before the change (steady
 *       state: the producer's pacing and poll batching).</li>
 * </ul>
 * Prints one "FIGURES ..." line per change, as the Basalt test does.
 *
 * <p>Usage: {@code java -cp lib/*:. KafkaRebalance BOOTSTRAP PROTOCOL TOPIC [MEMBERS] [REPLICATION]}
 * with PROTOCOL {@code consumer} (KIP-848), {@code classic} (the classic protocol with the
 * consumer's default assignors: range first, an eager rebalance) or {@code classic-cooperative}
 * (classic with the CooperativeStickyAssignor, incremental). Creates TOPIC (60 partitions).
 *
 * <p>Thread-safety: members and the producer are threads; the history is under one lock.
 */
public final class KafkaRebalance {
    static final int PARTITIONS = 60;
    static final String SESSION_MS = "6000";

    /** Ownership and consumed records, under this object's lock. */
    static final class History {
        final Map<TopicPartition, String> owner = new HashMap<>();
        final Map<TopicPartition, List<long[]>> records = new HashMap<>(); // {nanos, offset}
        final List<String> violations = new ArrayList<>();

        synchronized void assigned(String member, Collection<TopicPartition> tps) {
            for (TopicPartition tp : tps) {
                String before = owner.putIfAbsent(tp, member);
                if (before != null && !before.equals(member)) {
                    violations.add(tp + " assigned to " + member + " while " + before + " owns it");
                }
            }
        }

        synchronized void released(String member, Collection<TopicPartition> tps) {
            tps.forEach(tp -> owner.remove(tp, member));
        }

        synchronized void consumed(ConsumerRecord<String, String> r, long nanos) {
            records.computeIfAbsent(new TopicPartition(r.topic(), r.partition()), k -> new ArrayList<>())
                    .add(new long[] {nanos, r.offset()});
        }

        synchronized Map<TopicPartition, String> ownersNow() {
            return new HashMap<>(owner);
        }

        synchronized long maxGapMs(TopicPartition tp, long fromNanos, long toNanos) {
            long prev = -1;
            long max = 0;
            for (long[] r : records.getOrDefault(tp, List.of())) {
                if (r[0] < fromNanos || r[0] > toNanos) {
                    continue;
                }
                if (prev >= 0) {
                    max = Math.max(max, (r[0] - prev) / 1_000_000);
                }
                prev = r[0];
            }
            return max;
        }

        synchronized long[] around(TopicPartition tp, long tNanos) {
            long last = -1;
            long first = -1;
            for (long[] r : records.getOrDefault(tp, List.of())) {
                if (r[0] <= tNanos) {
                    last = r[0];
                } else if (first < 0) {
                    first = r[0];
                }
            }
            return new long[] {last, first};
        }
    }

    static final class Member implements Runnable {
        final String name;
        final Properties props;
        final String topic;
        final History history;
        final AtomicBoolean running = new AtomicBoolean(true);
        final Thread thread;
        volatile Throwable failure;

        Member(String name, Properties props, String topic, History history) {
            this.name = name;
            this.props = props;
            this.topic = topic;
            this.history = history;
            this.thread = new Thread(this, "member-" + name);
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void run() {
            Properties p = new Properties();
            p.putAll(props);
            p.put("client.id", name);
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
                c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                    @Override
                    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                        history.released(name, partitions);
                    }

                    @Override
                    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                        history.assigned(name, partitions);
                    }

                    @Override
                    public void onPartitionsLost(Collection<TopicPartition> partitions) {
                        history.released(name, partitions);
                    }
                });
                while (running.get()) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(50))) {
                        history.consumed(r, System.nanoTime());
                    }
                }
            } catch (Throwable t) {
                failure = t;
            }
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join(60_000);
        }
    }

    /** The producer of GroupWorkloadE2ETest (AckedWrites): round robin, 500 µs apart, 64 in flight. */
    static Thread producer(String bootstrap, String topic, AtomicBoolean running, AtomicLong acked) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("acks", "all");
        p.put("linger.ms", "2");
        p.put("request.timeout.ms", "5000");
        p.put("delivery.timeout.ms", "30000");
        p.put("retry.backoff.ms", "50");
        p.put("max.block.ms", "10000");
        Thread t = new Thread(() -> {
            Semaphore inFlight = new Semaphore(64);
            try (KafkaProducer<String, String> prod = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
                long seq = 0;
                while (running.get()) {
                    inFlight.acquire();
                    int partition = (int) (seq % PARTITIONS);
                    prod.send(new ProducerRecord<>(topic, partition, null, "e-" + seq), (md, err) -> {
                        inFlight.release();
                        if (err == null) {
                            acked.incrementAndGet();
                        }
                    });
                    seq++;
                    TimeUnit.MICROSECONDS.sleep(500);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "producer");
        t.setDaemon(true);
        t.start();
        return t;
    }

    static void awaitAllOwned(History h, int members, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Map<TopicPartition, String> owners = h.ownersNow();
            if (owners.size() == PARTITIONS && new HashSet<>(owners.values()).size() == members) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("partitions not all owned by " + members + " members: " + h.ownersNow().size()
                + " owned by " + new HashSet<>(h.ownersNow().values()));
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    static long median(List<Long> v) {
        List<Long> s = new ArrayList<>(v);
        s.sort(Long::compare);
        return s.isEmpty() ? -1 : s.get(s.size() / 2);
    }

    static void figures(String what, String topic, History h, Map<TopicPartition, String> before,
                        Map<TopicPartition, String> after, long changeNanos, long settledNanos) {
        List<Long> unconsumed = new ArrayList<>();
        long unmovedMaxGap = 0;
        long steadyMaxGap = 0;
        for (int p = 0; p < PARTITIONS; p++) {
            TopicPartition tp = new TopicPartition(topic, p);
            steadyMaxGap = Math.max(steadyMaxGap, h.maxGapMs(tp, changeNanos - TimeUnit.SECONDS.toNanos(3), changeNanos));
            if (before.get(tp) != null && before.get(tp).equals(after.get(tp))) {
                unmovedMaxGap = Math.max(unmovedMaxGap, h.maxGapMs(tp, changeNanos, settledNanos + TimeUnit.SECONDS.toNanos(1)));
            } else {
                long[] around = h.around(tp, changeNanos);
                long[] next = h.around(tp, Math.max(changeNanos, around[0]));
                if (around[0] > 0 && next[1] > 0) {
                    unconsumed.add((next[1] - around[0]) / 1_000_000);
                }
            }
        }
        long max = unconsumed.stream().mapToLong(x -> x).max().orElse(-1);
        System.out.println("FIGURES " + what + ": moved partitions " + unconsumed.size() + ", unconsumed median " + median(unconsumed)
                + " ms, max " + max + " ms; unmoved partitions' largest gap " + unmovedMaxGap + " ms (steady state before: "
                + steadyMaxGap + " ms); settled after " + (settledNanos - changeNanos) / 1_000_000 + " ms; load " + loadAverage());
    }

    static Properties memberProps(String bootstrap, String protocol, String group) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", group);
        p.put("auto.offset.reset", "earliest");
        p.put("auto.commit.interval.ms", "500");
        switch (protocol) {
            case "consumer" -> p.put("group.protocol", "consumer"); // session and heartbeat are the broker's (6 s, 500 ms)
            case "classic", "classic-cooperative" -> {
                p.put("group.protocol", "classic");
                p.put("session.timeout.ms", SESSION_MS);
                p.put("heartbeat.interval.ms", "500");
                if (protocol.equals("classic-cooperative")) {
                    p.put("partition.assignment.strategy", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
                }
            }
            default -> throw new IllegalArgumentException("protocol: consumer, classic or classic-cooperative, not " + protocol);
        }
        return p;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: KafkaRebalance BOOTSTRAP consumer|classic|classic-cooperative TOPIC [MEMBERS=10] [REPLICATION=3]");
            System.exit(2);
        }
        String bootstrap = args[0];
        String protocol = args[1];
        String topic = args[2];
        int members = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        short rf = args.length > 4 ? Short.parseShort(args[4]) : 3;
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            NewTopic t = new NewTopic(topic, PARTITIONS, rf);
            if (rf > 1) {
                t.configs(Map.of("min.insync.replicas", "2"));
            }
            admin.createTopics(List.of(t)).all().get(60, TimeUnit.SECONDS);
        }
        AtomicBoolean producing = new AtomicBoolean(true);
        AtomicLong acked = new AtomicLong();
        Thread prod = producer(bootstrap, topic, producing, acked);
        Properties props = memberProps(bootstrap, protocol, "workers-" + topic);
        History h = new History();
        List<Member> group = new ArrayList<>();
        for (int i = 0; i < members - 1; i++) {
            group.add(new Member("m" + i, props, topic, h));
        }
        awaitAllOwned(h, members - 1, Duration.ofSeconds(120));
        Thread.sleep(3_000);
        System.out.println("kafka " + org.apache.kafka.common.utils.AppInfoParser.getVersion() + ", group.protocol " + protocol
                + ", " + PARTITIONS + " partitions RF " + rf + ", records acknowledged so far " + acked.get());

        Map<TopicPartition, String> before = h.ownersNow();
        long joinAt = System.nanoTime();
        group.add(new Member("m" + (members - 1), props, topic, h));
        awaitAllOwned(h, members, Duration.ofSeconds(60));
        long joinSettled = System.nanoTime();
        Thread.sleep(2_000);
        figures("kafka " + protocol + " join (" + (members - 1) + " -> " + members + " members)", topic, h, before, h.ownersNow(),
                joinAt, joinSettled);

        before = h.ownersNow();
        long leaveAt = System.nanoTime();
        group.remove(0).stop();
        awaitAllOwned(h, members - 1, Duration.ofSeconds(60));
        long leaveSettled = System.nanoTime();
        Thread.sleep(2_000);
        figures("kafka " + protocol + " leave (" + members + " -> " + (members - 1) + " members)", topic, h, before, h.ownersNow(),
                leaveAt, leaveSettled);

        producing.set(false);
        prod.join(30_000);
        for (Member m : group) {
            m.stop();
        }
        int failed = 0;
        for (Member m : group) {
            if (m.failure != null) {
                System.out.println("member " + m.name + " failed: " + m.failure);
                failed++;
            }
        }
        synchronized (h) {
            System.out.println("ownership violations: " + h.violations.size() + (h.violations.isEmpty() ? "" : " e.g. " + h.violations.get(0)));
        }
        System.out.println("records acknowledged " + acked.get() + ", members failed " + failed);
    }
}
