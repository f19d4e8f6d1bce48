package dev.basalt.harness;

import dev.basalt.client.Consumer;
import dev.basalt.client.ConsumerRecord;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.StringDeserializer;
import dev.basalt.client.serialization.StringSerializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stream of produces that records every acknowledgement (partition and offset per record) and
 * every failure, for checks after faults: every acknowledged record must be readable at its
 * acknowledged offset. Values are unique ({@code prefix-seq}) so a record found at an offset
 * identifies the write. Records go round-robin over the partitions, a bounded number in flight.
 *
 * <p>Thread-safety: {@link #start()} and {@link #stop(Duration)} are called by the test thread;
 * the sending thread and the producer's callbacks only append to concurrent queues.
 */
public final class AckedWrites implements AutoCloseable {
    /** An acknowledged record, with the time (System.nanoTime) the acknowledgement arrived. */
    public record Ack(String value, int partition, long offset, long ackNanos) {
    }

    /** A record the producer gave up on, with the error it reported (its outcome is unknown, not lost). */
    public record Failure(String value, int partition, String error, long failNanos) {
    }

    private final String topic;
    private final int partitions;
    private final String prefix;
    private final Map<String, Object> producerConfig;
    private final int inFlightMax;
    private final long pauseBetweenSendsMicros;
    private final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean();
    private Thread thread;
    private volatile Throwable crashed;

    /**
     * @param bootstrap the cluster's bootstrap list
     * @param overrides producer configs added to the defaults here (acks=all, short timeouts)
     * @param pauseBetweenSendsMicros pacing between sends (0 = as fast as the in-flight bound allows)
     */
    public AckedWrites(String bootstrap, String topic, int partitions, String prefix, Map<String, Object> overrides, int inFlightMax,
                       long pauseBetweenSendsMicros) {
        this.topic = topic;
        this.partitions = partitions;
        this.prefix = prefix;
        this.inFlightMax = inFlightMax;
        this.pauseBetweenSendsMicros = pauseBetweenSendsMicros;
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("bootstrap.servers", bootstrap);
        c.put("acks", "all");
        c.put("linger.ms", 2);
        c.put("request.timeout.ms", 5_000);
        c.put("delivery.timeout.ms", 30_000);
        c.put("retry.backoff.ms", 50);
        c.put("max.block.ms", 10_000);
        c.putAll(overrides);
        this.producerConfig = c;
    }

    public AckedWrites start() {
        if (!running.compareAndSet(false, true)) {
            throw new IllegalStateException("already started");
        }
        thread = new Thread(this::run, "acked-writes-" + topic);
        thread.setDaemon(true);
        thread.start();
        return this;
    }

    private void run() {
        Semaphore inFlight = new Semaphore(inFlightMax);
        try (Producer<String, String> producer = new Producer<>(producerConfig, new StringSerializer(), new StringSerializer())) {
            long seq = 0;
            while (running.get()) {
                if (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                    continue;
                }
                int partition = (int) (seq % partitions);
                String value = prefix + "-" + seq++;
                sent.incrementAndGet();
                try {
                    producer.send(new ProducerRecord<>(topic, partition, null, value)).whenComplete((md, err) -> {
                        inFlight.release();
                        if (err == null) {
                            acks.add(new Ack(value, md.partition(), md.offset(), System.nanoTime()));
                        } else {
                            failures.add(new Failure(value, partition, err.toString(), System.nanoTime()));
                        }
                    });
                } catch (RuntimeException e) {
                    inFlight.release();
                    failures.add(new Failure(value, partition, e.toString(), System.nanoTime()));
                }
                if (pauseBetweenSendsMicros > 0) {
                    TimeUnit.MICROSECONDS.sleep(pauseBetweenSendsMicros);
                }
            }
            // Let what is in flight finish (or fail) before the producer closes.
            inFlight.tryAcquire(inFlightMax, 40, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            crashed = t;
        }
    }

    /** Stops sending and waits for every record in flight to be acknowledged or to fail. */
    public void stop(Duration timeout) {
        running.set(false);
        if (thread != null) {
            long from = System.nanoTime();
            try {
                thread.join(timeout.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - from);
            if (tookMs > 5_000) {
                // records in flight to a node that is down wait out delivery.timeout.ms: a test's lost time
                System.out.println("AckedWrites of " + topic + ": stopping took " + tookMs + " ms (records in flight to a node that is down?)");
            }
            if (thread.isAlive()) {
                throw new IllegalStateException("producer of " + topic + " did not finish within " + timeout);
            }
        }
        if (crashed != null) {
            throw new IllegalStateException("producer of " + topic + " crashed", crashed);
        }
    }

    @Override
    public void close() {
        running.set(false);
    }

    public List<Ack> acks() {
        return List.copyOf(acks);
    }

    public List<Failure> failures() {
        return List.copyOf(failures);
    }

    public long sent() {
        return sent.get();
    }

    /** Acknowledgements that arrived after {@code nanos} (System.nanoTime). */
    public long acksAfter(long nanos) {
        return acks.stream().filter(a -> a.ackNanos() - nanos > 0).count();
    }

    /** Waits until at least {@code count} acknowledgements arrived after {@code sinceNanos}; false on timeout. */
    public boolean awaitAcks(long count, long sinceNanos, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (acksAfter(sinceNanos) >= count) {
                return true;
            }
            Cluster.sleepMs(20);
        }
        return false;
    }

    /** One line for failure messages. */
    public String summary() {
        List<Failure> f = failures();
        return "sent " + sent() + ", acknowledged " + acks.size() + ", failed " + f.size()
                + (f.isEmpty() ? "" : " (first: " + f.get(0).error() + ")");
    }

    // ------------------------------------------------------------------ checking

    /**
     * Reads every partition of {@code topic} from its first offset to its end (the high
     * watermark: what a consumer may see) and returns partition → offset → value.
     */
    public static Map<Integer, Map<Long, String>> readAll(String bootstrap, String topic, int partitions, Duration timeout) {
        Map<String, Object> c = new HashMap<>();
        c.put("bootstrap.servers", bootstrap);
        c.put("auto.offset.reset", "earliest");
        c.put("request.timeout.ms", 5_000);
        c.put("default.api.timeout.ms", 10_000);
        Map<Integer, Map<Long, String>> out = new TreeMap<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Consumer<String, String> consumer = new Consumer<>(c, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                tps.add(new TopicPartition(topic, p));
                out.put(p, new TreeMap<>());
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, timeout);
            Map<TopicPartition, Long> position = new HashMap<>();
            while (true) {
                boolean done = true;
                for (TopicPartition tp : tps) {
                    if (position.getOrDefault(tp, -1L) + 1 < end.get(tp)) {
                        done = false;
                    }
                }
                if (done) {
                    return out;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("reading " + topic + " did not reach the end offsets " + end + " within "
                            + timeout + "; at " + position);
                }
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    out.get(r.partition()).put(r.offset(), r.value());
                    position.merge(new TopicPartition(topic, r.partition()), r.offset(), Math::max);
                }
            }
        }
    }

    /**
     * Anomaly {@code duplicate}: a value stored at more than one offset (in any partitions), as
     * messages (empty = none). Values are unique per write, so any repeat is a write applied twice.
     */
    public static List<String> duplicates(Map<Integer, Map<Long, String>> log) {
        Map<String, String> firstSeen = new HashMap<>();
        List<String> out = new ArrayList<>();
        log.forEach((partition, records) -> records.forEach((offset, value) -> {
            String where = partition + "@" + offset;
            String before = firstSeen.putIfAbsent(value, where);
            if (before != null) {
                out.add(value + " stored at " + before + " and again at " + where);
            }
        }));
        return out;
    }

    /**
     * Anomaly {@code reordered}: within a partition, a write of {@code prefix} stored after a write
     * that was sent later (values carry the send sequence: {@code prefix-seq}), as messages.
     */
    public static List<String> reordered(Map<Integer, Map<Long, String>> log, String prefix) {
        List<String> out = new ArrayList<>();
        log.forEach((partition, records) -> {
            long lastSeq = -1;
            long lastOffset = -1;
            for (Map.Entry<Long, String> e : records.entrySet()) {
                if (!e.getValue().startsWith(prefix + "-")) {
                    continue;
                }
                long seq = Long.parseLong(e.getValue().substring(prefix.length() + 1));
                if (seq <= lastSeq) {
                    out.add(partition + "@" + e.getKey() + " holds " + e.getValue() + " after " + prefix + "-" + lastSeq
                            + " at " + partition + "@" + lastOffset);
                }
                lastSeq = Math.max(lastSeq, seq);
                lastOffset = e.getKey();
            }
        });
        return out;
    }

    /** Acknowledged records not found at their acknowledged offset in {@code log}, as messages (empty = none lost). */
    public static List<String> missing(List<Ack> acks, Map<Integer, Map<Long, String>> log) {
        List<String> out = new ArrayList<>();
        for (Ack a : acks) {
            String found = log.getOrDefault(a.partition(), Map.of()).get(a.offset());
            if (!a.value().equals(found)) {
                out.add(a.value() + " acknowledged at " + a.partition() + "@" + a.offset() + " but found "
                        + (found == null ? "nothing" : found));
            }
        }
        return out;
    }
}
