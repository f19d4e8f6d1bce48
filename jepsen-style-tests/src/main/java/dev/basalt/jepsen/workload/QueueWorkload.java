package dev.basalt.jepsen.workload;

import dev.basalt.client.Consumer;
import dev.basalt.client.ConsumerRecord;
import dev.basalt.client.DefiniteException;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.RecordMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.StringDeserializer;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.harness.Cluster;
import dev.basalt.harness.NodeProcess;
import dev.basalt.harness.ReplicaReader;
import dev.basalt.jepsen.history.Fn;
import dev.basalt.jepsen.history.HistoryRecorder;
import dev.basalt.jepsen.history.Msg;
import dev.basalt.jepsen.history.Op;
import dev.basalt.jepsen.history.OpType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Jepsen's queue workload against a real cluster, through the Basalt Java client in this JVM:
 * each key is a partition of one topic ({@code <topic>-<p>}); producer processes send unique
 * values (one value per operation, acks=all, idempotent) and record invoke → ok (with the offset)
 * / fail (a {@link DefiniteException}: not written) / info (indeterminate: an
 * {@code IndeterminateException} or no answer in time; the process then continues under a new
 * process number, as a crashed Jepsen process does); consumer processes {@code assign} every
 * partition from the beginning and record every poll with the records in the order returned.
 *
 * <p>After the faults are healed, {@link #finish} stops the producers, lets every consumer poll
 * up to the end offsets of every partition (so every acknowledged value must be seen), then
 * reads every partition from every broker directly (a KIP-392 read of that replica up to its
 * high watermark) as {@code final-read} operations, so divergent replicas show up.
 *
 * <p>Thread-safety: {@link #start()} and {@link #finish} are called by one driver thread; each
 * process runs on its own thread and only touches its own client and the thread-safe recorder.
 */
public final class QueueWorkload {
    private static final long SEND_WAIT_MS = 20_000;
    private static final long POLL_MS = 250;
    /** The consumer group of the subscribing processes. */
    public static final String GROUP = "jepsen-group";

    private final Cluster cluster;
    private final HistoryRecorder history;
    private final String topic;
    private final int partitions;
    private final int producers;
    private final int consumers;
    private final int subscribers;
    private final long seed;
    private final AtomicBoolean producing = new AtomicBoolean();
    private final AtomicBoolean consuming = new AtomicBoolean();
    private final AtomicLong nextValue = new AtomicLong(1);
    private final List<Thread> producerThreads = new ArrayList<>();
    private final List<Thread> consumerThreads = new ArrayList<>();
    private final List<Thread> subscriberThreads = new ArrayList<>();
    private final AtomicBoolean subscribing = new AtomicBoolean();
    private volatile Map<TopicPartition, Long> finalTargets;
    /** Per partition, the highest offset a producer got acknowledged. */
    private final Map<Integer, Long> ackedOffsetMax = new java.util.concurrent.ConcurrentHashMap<>();
    private final List<Throwable> crashes = java.util.Collections.synchronizedList(new ArrayList<>());

    public QueueWorkload(Cluster cluster, HistoryRecorder history, String topic, int partitions, int producers, int consumers,
                         int subscribers, long seed) {
        this.subscribers = subscribers;
        this.cluster = cluster;
        this.history = history;
        this.topic = topic;
        this.partitions = partitions;
        this.producers = producers;
        this.consumers = consumers;
        this.seed = seed;
    }

    public static String key(String topic, int partition) {
        return topic + "-" + partition;
    }

    private String key(int partition) {
        return key(topic, partition);
    }

    /** The number of processes; process numbers of a crashed process's successors step by it. */
    private int stride() {
        return producers + consumers + subscribers;
    }

    public void start() {
        producing.set(true);
        consuming.set(true);
        for (int i = 0; i < producers; i++) {
            int process = i;
            Thread t = new Thread(() -> guard(() -> produce(process)), "jepsen-producer-" + i);
            t.setDaemon(true);
            producerThreads.add(t);
        }
        for (int i = 0; i < consumers; i++) {
            int process = producers + i;
            Thread t = new Thread(() -> guard(() -> consume(process)), "jepsen-consumer-" + i);
            t.setDaemon(true);
            consumerThreads.add(t);
        }
        subscribing.set(true);
        for (int i = 0; i < subscribers; i++) {
            int process = producers + consumers + i;
            Thread t = new Thread(() -> guard(() -> subscribe(process)), "jepsen-subscriber-" + i);
            t.setDaemon(true);
            subscriberThreads.add(t);
        }
        producerThreads.forEach(Thread::start);
        consumerThreads.forEach(Thread::start);
        subscriberThreads.forEach(Thread::start);
    }

    private void guard(Runnable r) {
        try {
            r.run();
        } catch (Throwable t) {
            crashes.add(t);
        }
    }

    private Map<String, Object> clientConfig() {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("bootstrap.servers", cluster.bootstrap());
        c.put("request.timeout.ms", 3_000);
        return c;
    }

    private Map<String, Object> consumerConfig() {
        Map<String, Object> c = clientConfig();
        c.put("default.api.timeout.ms", 10_000);
        return c;
    }

    private void produce(int firstProcess) {
        Map<String, Object> c = clientConfig();
        c.put("acks", "all");
        c.put("enable.idempotence", "true");
        c.put("linger.ms", 0);
        c.put("delivery.timeout.ms", 15_000);
        c.put("retry.backoff.ms", 50);
        c.put("max.block.ms", 10_000);
        SplittableRandom random = new SplittableRandom(seed ^ (firstProcess * 0x9E3779B97F4A7C15L));
        int process = firstProcess;
        try (Producer<String, String> producer = new Producer<>(c, new StringSerializer(), new StringSerializer())) {
            while (producing.get()) {
                int partition = random.nextInt(partitions);
                long value = nextValue.getAndIncrement();
                Op invoke = history.record(Op.of(process, OpType.INVOKE, Fn.SEND, 0, 0)
                        .withValues(List.of(new Msg(key(partition), Msg.UNKNOWN_OFFSET, value))));
                try {
                    RecordMetadata md = producer.send(new ProducerRecord<>(topic, partition, null, Long.toString(value)))
                            .get(SEND_WAIT_MS, TimeUnit.MILLISECONDS);
                    history.record(invoke.withType(OpType.OK).withValues(List.of(new Msg(key(md.partition()), md.offset(), value))));
                    ackedOffsetMax.merge(md.partition(), md.offset(), Math::max);
                } catch (ExecutionException e) {
                    boolean definite = e.getCause() instanceof DefiniteException;
                    history.record(invoke.withType(definite ? OpType.FAIL : OpType.INFO).withError(String.valueOf(e.getCause())));
                    if (!definite) {
                        process += stride();
                    }
                } catch (TimeoutException e) {
                    history.record(invoke.withType(OpType.INFO).withError("no answer within " + SEND_WAIT_MS + " ms"));
                    process += stride();
                } catch (RuntimeException e) {
                    // send() itself refused (buffer full, closed): nothing was handed to the network
                    history.record(invoke.withType(e instanceof DefiniteException ? OpType.FAIL : OpType.INFO).withError(e.toString()));
                    if (!(e instanceof DefiniteException)) {
                        process += stride();
                    }
                } catch (InterruptedException e) {
                    history.record(invoke.withType(OpType.INFO).withError("interrupted"));
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private void consume(int process) {
        Map<String, Object> c = consumerConfig();
        c.put("auto.offset.reset", "earliest");
        c.put("fetch.max.wait.ms", 100);
        List<TopicPartition> tps = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            tps.add(new TopicPartition(topic, p));
            keys.add(key(p));
        }
        try (Consumer<String, String> consumer = new Consumer<>(c, new StringDeserializer(), new StringDeserializer())) {
            Op assign = history.record(Op.of(process, OpType.INVOKE, Fn.ASSIGN, 0, 0).withKeys(keys));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            history.record(assign.withType(OpType.OK));
            while (consuming.get()) {
                Map<TopicPartition, Long> targets = finalTargets;
                if (targets != null && caughtUp(consumer, targets)) {
                    return;
                }
                Op invoke = history.record(Op.of(process, OpType.INVOKE, Fn.POLL, 0, 0));
                try {
                    List<Msg> read = new ArrayList<>();
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(POLL_MS))) {
                        read.add(new Msg(key(r.partition()), r.offset(), parseValue(r.value())));
                    }
                    history.record(invoke.withType(OpType.OK).withValues(read));
                } catch (RuntimeException e) {
                    history.record(invoke.withType(OpType.INFO).withError(e.toString()));
                    sleepMs(100);
                }
            }
        }
    }

    /**
     * A member of group {@value #GROUP}: subscribes to the topic, polls, and after every poll that
     * returned records commits the next offsets of those partitions (commitSync; auto-commit off).
     * Assignment changes reach the listener inside poll(); the open poll is then completed as ok
     * with nothing read (the consumer has returned nothing yet), the new assignment is recorded as
     * an ASSIGN op (keys, group), and a new poll op is opened for the rest of that poll() call, so
     * the history keeps the real order: assignment change, then records.
     */
    private void subscribe(int process) {
        Map<String, Object> c = consumerConfig();
        c.put("group.id", GROUP);
        c.put("enable.auto.commit", "false");
        c.put("auto.offset.reset", "earliest");
        c.put("fetch.max.wait.ms", 100);
        try (Consumer<String, String> consumer = new Consumer<>(c, new StringDeserializer(), new StringDeserializer())) {
            Member member = new Member(process);
            consumer.subscribe(List.of(topic), member);
            while (subscribing.get()) {
                member.open = history.record(Op.of(process, OpType.INVOKE, Fn.POLL, 0, 0));
                Map<TopicPartition, Long> next = new HashMap<>();
                try {
                    List<Msg> read = new ArrayList<>();
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(POLL_MS))) {
                        read.add(new Msg(key(r.partition()), r.offset(), parseValue(r.value())));
                        next.merge(new TopicPartition(topic, r.partition()), r.offset() + 1, Math::max);
                    }
                    history.record(member.open.withType(OpType.OK).withValues(read));
                } catch (RuntimeException e) {
                    history.record(member.open.withType(OpType.INFO).withError(e.toString()));
                    member.open = null;
                    sleepMs(100);
                    continue;
                }
                member.open = null;
                if (!next.isEmpty()) {
                    member.inCommit = true;
                    try {
                        commit(process, consumer, next);
                    } finally {
                        member.inCommit = false;
                    }
                    member.recordPendingChange();
                }
            }
        }
    }

    /**
     * A subscriber's view of its assignment, told by the consumer's listener. Changes reported
     * inside poll() split the open poll op (see {@link #subscribe}); a change reported while a
     * commit is open is recorded right after the commit completes, so processes stay sequential.
     * Confined to the subscriber's thread (the listener runs on the thread calling the consumer).
     */
    private final class Member implements dev.basalt.client.ConsumerRebalanceListener {
        final int process;
        final java.util.Set<Integer> owned = new java.util.TreeSet<>();
        Op open;
        boolean inCommit;
        String pending;

        Member(int process) {
            this.process = process;
        }

        @Override
        public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
            partitions.forEach(tp -> owned.remove(tp.partition()));
            changed("revoked " + partitions);
        }

        @Override
        public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
            partitions.forEach(tp -> owned.add(tp.partition()));
            changed("assigned " + partitions);
        }

        @Override
        public void onPartitionsLost(java.util.Collection<TopicPartition> partitions) {
            partitions.forEach(tp -> owned.remove(tp.partition()));
            changed("lost " + partitions);
        }

        private void changed(String what) {
            if (inCommit) {
                pending = pending == null ? what : pending + "; " + what;
                return;
            }
            boolean polling = open != null;
            if (polling) {
                history.record(open.withType(OpType.OK));
            }
            recordAssignment(what);
            open = polling ? history.record(Op.of(process, OpType.INVOKE, Fn.POLL, 0, 0)) : null;
        }

        void recordPendingChange() {
            if (pending != null) {
                recordAssignment(pending);
                pending = null;
            }
        }

        private void recordAssignment(String what) {
            List<String> keys = owned.stream().map(QueueWorkload.this::key).toList();
            Op assign = history.record(Op.of(process, OpType.INVOKE, Fn.ASSIGN, 0, 0).withKeys(keys).withGroup(GROUP).withNote(what));
            history.record(assign.withType(OpType.OK));
        }
    }

    private void commit(int process, Consumer<String, String> consumer, Map<TopicPartition, Long> next) {
        List<Msg> offsets = new ArrayList<>();
        Map<TopicPartition, dev.basalt.client.OffsetAndMetadata> request = new LinkedHashMap<>();
        next.forEach((tp, offset) -> {
            offsets.add(new Msg(key(tp.partition()), offset, Msg.NO_VALUE));
            request.put(tp, new dev.basalt.client.OffsetAndMetadata(offset));
        });
        Op invoke = history.record(Op.of(process, OpType.INVOKE, Fn.COMMIT, 0, 0).withGroup(GROUP).withValues(offsets));
        try {
            consumer.commitSync(request);
            history.record(invoke.withType(OpType.OK));
        } catch (DefiniteException e) {
            history.record(invoke.withType(OpType.FAIL).withError(e.toString()));
        } catch (RuntimeException e) {
            history.record(invoke.withType(OpType.INFO).withError(e.toString()));
        }
    }

    /** Values are decimal longs; anything else is recorded as a value no process sent (a phantom). */
    private static long parseValue(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException | NullPointerException e) {
            return Long.MIN_VALUE + 1;
        }
    }

    private static boolean caughtUp(Consumer<String, String> consumer, Map<TopicPartition, Long> targets) {
        for (var e : targets.entrySet()) {
            if (consumer.position(e.getKey(), Duration.ofSeconds(5)) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    /** Stops every process now without final reads (a run that aborted); waits briefly for the threads. */
    public void stopNow() {
        producing.set(false);
        consuming.set(false);
        List<String> ignored = new ArrayList<>();
        joinAll(producerThreads, Duration.ofMillis(SEND_WAIT_MS + 5_000), ignored);
        joinAll(consumerThreads, Duration.ofSeconds(10), ignored);
        subscribing.set(false);
        joinAll(subscriberThreads, Duration.ofSeconds(10), ignored);
    }

    /** Problems of the workload itself (a process thread died), for the run's failure message. */
    public List<Throwable> crashes() {
        return List.copyOf(crashes);
    }

    /**
     * Stops producing, lets consumers read to the end offsets as of now (at most
     * {@code drainTimeout}), then reads every partition from every broker.
     *
     * @return a note per problem met (consumers that could not catch up, replicas that could not be read)
     */
    public List<String> finish(Duration drainTimeout) {
        List<String> notes = new ArrayList<>();
        producing.set(false);
        joinAll(producerThreads, Duration.ofMillis(SEND_WAIT_MS + 5_000), notes);
        long deadline = System.nanoTime() + drainTimeout.toNanos();
        Map<TopicPartition, Long> ends = endOffsetsCoveringAcks(deadline, notes);
        finalTargets = ends;
        for (Thread t : consumerThreads) {
            try {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        consuming.set(false);
        joinAll(consumerThreads, Duration.ofSeconds(15), notes);
        subscribing.set(false);
        joinAll(subscriberThreads, Duration.ofSeconds(15), notes);
        if (consumerThreads.stream().anyMatch(Thread::isAlive)) {
            notes.add("consumers still running after the drain");
        }
        for (int id : cluster.brokerIds()) {
            NodeProcess node = cluster.node(id);
            for (int partition = 0; partition < partitions; partition++) {
                int p = partition;
                int process = 1000 + id;
                Op invoke = history.record(Op.of(process, OpType.INVOKE, Fn.FINAL_READ, 0, 0));
                try {
                    ReplicaReader.ReplicaRecords r = ReplicaReader.readRecords(node, topic, p);
                    List<Msg> values = r.records().stream().map(x -> new Msg(key(p), x.offset(), parseValue(x.value()))).toList();
                    history.record(invoke.withType(OpType.OK).withValues(values).withNode(id, Map.of(key(p), r.highWatermark())));
                } catch (RuntimeException e) {
                    history.record(invoke.withType(OpType.INFO).withError(e.toString()));
                    notes.add("node " + id + " " + key(p) + ": final read failed: " + e.getMessage());
                }
            }
        }
        return notes;
    }

    /**
     * End offsets (high watermarks) once they cover every acknowledged offset, or as they stand at
     * {@code deadline}. After a failover a new leader's HW can trail an offset its predecessor
     * acknowledged until every ISR member has fetched from it (or left the ISR); reading before
     * then would stop consumers short of a record that is there. A HW that never catches up is
     * still caught: consumers then stop short and the checker reports the record lost.
     */
    private Map<TopicPartition, Long> endOffsetsCoveringAcks(long deadline, List<String> notes) {
        while (true) {
            Map<TopicPartition, Long> ends = endOffsets(notes);
            List<String> shortOnes = new ArrayList<>();
            ackedOffsetMax.forEach((p, acked) -> {
                Long end = ends.get(new TopicPartition(topic, p));
                if (end != null && end <= acked) {
                    shortOnes.add(key(p) + ": end " + end + ", acknowledged up to " + acked);
                }
            });
            if (shortOnes.isEmpty() || ends.isEmpty()) {
                return ends;
            }
            if (System.nanoTime() - deadline > 0) {
                notes.add("high watermarks still below acknowledged offsets at the drain deadline: " + shortOnes);
                return ends;
            }
            sleepMs(POLL_MS);
        }
    }

    private Map<TopicPartition, Long> endOffsets(List<String> notes) {
        Map<String, Object> c = consumerConfig();
        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            tps.add(new TopicPartition(topic, p));
        }
        RuntimeException last = null;
        for (int attempt = 0; attempt < 10; attempt++) {
            try (Consumer<String, String> consumer = new Consumer<>(c, new StringDeserializer(), new StringDeserializer())) {
                return new HashMap<>(consumer.endOffsets(tps, Duration.ofSeconds(10)));
            } catch (RuntimeException e) {
                last = e;
                sleepMs(500);
            }
        }
        notes.add("end offsets unavailable after healing: " + last);
        return Map.of();
    }

    private static void joinAll(List<Thread> threads, Duration timeout, List<String> notes) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Thread t : threads) {
            try {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                notes.add(t.getName() + " did not stop within " + timeout);
                t.interrupt();
            }
        }
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
