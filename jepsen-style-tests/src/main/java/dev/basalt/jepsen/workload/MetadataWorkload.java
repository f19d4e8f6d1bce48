package dev.basalt.jepsen.workload;

import dev.basalt.client.Admin;
import dev.basalt.client.InvalidConfigurationException;
import dev.basalt.client.InvalidReplicationFactorException;
import dev.basalt.client.InvalidRequestException;
import dev.basalt.client.InvalidTopicException;
import dev.basalt.client.TopicExistsException;
import dev.basalt.client.UnknownTopicException;
import dev.basalt.client.admin.AlterConfigOp;
import dev.basalt.client.admin.ConfigResource;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.admin.TopicDescription;
import dev.basalt.harness.Cluster;
import dev.basalt.jepsen.checker.MetaOp;
import dev.basalt.jepsen.checker.MetaOp.Kind;
import dev.basalt.jepsen.checker.MetaOp.Outcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The metadata workload: several client processes, each with its own Admin client bootstrapped
 * from every broker, create, delete, alter ({@code retention.ms}) and describe a few topics
 * ({@code jepsen-meta-0..}) concurrently, through whichever node the client reaches (changes are
 * forwarded to the active controller and committed through the Raft quorum; describes are
 * answered from the receiving node's image). Every create and alter writes a value of its own
 * ({@code retention.ms = 3600000 + n}), so the {@link dev.basalt.jepsen.checker.MetadataChecker}
 * can tell which write a describe saw.
 *
 * <p>Outcomes: a topic-exists or unknown-topic answer is an observed state ({@code exists},
 * {@code absent}); errors that say the request was rejected as invalid are {@code failed};
 * anything else (a timeout, a lost connection, an unknown server error) is {@code unknown}, and
 * the process continues under a new process number, as a crashed Jepsen process does. A failed
 * describe is recorded as failed (it changed nothing).
 *
 * <p>Thread-safety: {@link #start()} and {@link #finish} are called by one driver thread; each
 * process runs on its own thread with its own client and appends to a synchronized list.
 */
public final class MetadataWorkload {
    public static final String TOPIC_PREFIX = "jepsen-meta-";
    private static final String CONFIG = "retention.ms";
    private static final long VALUE_BASE = 3_600_000;
    private static final Duration OP_TIMEOUT = Duration.ofSeconds(12);

    private final Cluster cluster;
    private final int processes;
    private final int topics;
    private final long seed;
    private final long originNanos;
    private final AtomicBoolean running = new AtomicBoolean();
    private final AtomicLong nextValue = new AtomicLong(1);
    private final AtomicInteger nextProcess;
    private final List<MetaOp> ops = java.util.Collections.synchronizedList(new ArrayList<>());
    private final List<Thread> threads = new ArrayList<>();
    private final List<Throwable> crashes = java.util.Collections.synchronizedList(new ArrayList<>());

    /**
     * @param originNanos {@link System#nanoTime()} at time 0 of the run (operations are timed from it)
     */
    public MetadataWorkload(Cluster cluster, int processes, int topics, long seed, long originNanos) {
        if (processes < 1 || processes > 16 || topics < 1 || topics > 16) {
            throw new IllegalArgumentException("processes and topics must be 1..16");
        }
        this.cluster = cluster;
        this.processes = processes;
        this.topics = topics;
        this.seed = seed;
        this.originNanos = originNanos;
        this.nextProcess = new AtomicInteger(processes);
    }

    public void start() {
        running.set(true);
        for (int i = 0; i < processes; i++) {
            int process = i;
            Thread t = new Thread(() -> {
                try {
                    run(process);
                } catch (Throwable e) {
                    crashes.add(e);
                }
            }, "jepsen-meta-" + i);
            t.setDaemon(true);
            threads.add(t);
        }
        threads.forEach(Thread::start);
    }

    /** Stops the processes (each finishes its operation in flight) and returns the history, ordered by invocation. */
    public List<MetaOp> finish() {
        running.set(false);
        for (Thread t : threads) {
            try {
                t.join(OP_TIMEOUT.toMillis() + 5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return history();
    }

    public List<MetaOp> history() {
        List<MetaOp> copy;
        synchronized (ops) {
            copy = new ArrayList<>(ops);
        }
        copy.sort(Comparator.comparingLong(MetaOp::invokeNanos));
        List<MetaOp> out = new ArrayList<>();
        for (MetaOp op : copy) {
            out.add(op.withIndex(out.size()));
        }
        return out;
    }

    public List<Throwable> crashes() {
        return List.copyOf(crashes);
    }

    private Admin newAdmin() {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("bootstrap.servers", cluster.bootstrap());
        c.put("request.timeout.ms", 5_000);
        c.put("default.api.timeout.ms", 10_000);
        return new Admin(c);
    }

    private void run(int firstProcess) {
        SplittableRandom r = new SplittableRandom(seed * 31 + firstProcess);
        int process = firstProcess;
        Admin admin = newAdmin();
        try {
            while (running.get()) {
                String topic = TOPIC_PREFIX + r.nextInt(topics);
                int dice = r.nextInt(20);
                Kind kind = dice < 5 ? Kind.CREATE : dice < 8 ? Kind.DELETE : dice < 12 ? Kind.ALTER : Kind.READ;
                long value = kind == Kind.CREATE || kind == Kind.ALTER ? VALUE_BASE + nextValue.getAndIncrement() : 0;
                MetaOp op = invoke(admin, process, kind, topic, value);
                ops.add(op);
                if (op.outcome() == Outcome.UNKNOWN) {
                    process = nextProcess.getAndIncrement();
                    admin.close();
                    admin = newAdmin();
                }
                sleepMs(80 + r.nextInt(200));
            }
        } finally {
            admin.close();
        }
    }

    private MetaOp invoke(Admin admin, int process, Kind kind, String topic, long value) {
        long t0 = System.nanoTime() - originNanos;
        Outcome outcome;
        long shown = value;
        String error = null;
        try {
            switch (kind) {
                case CREATE -> {
                    Admin.getAll(admin.createTopics(List.of(new NewTopic(topic, 1, 1, Map.of(CONFIG, Long.toString(value)))), false),
                            OP_TIMEOUT);
                    outcome = Outcome.CREATED;
                }
                case DELETE -> {
                    Admin.getAll(admin.deleteTopics(List.of(topic)), OP_TIMEOUT);
                    outcome = Outcome.DELETED;
                }
                case ALTER -> {
                    Admin.getAll(admin.alterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, topic),
                            List.of(AlterConfigOp.set(CONFIG, Long.toString(value)))), false), OP_TIMEOUT);
                    outcome = Outcome.ALTERED;
                }
                default -> {
                    TopicDescription d = Admin.get(admin.describeTopics(List.of(topic)), OP_TIMEOUT).get(topic);
                    if (d == null) {
                        outcome = Outcome.ABSENT;
                    } else {
                        outcome = Outcome.VALUE;
                        String v = d.configs().get(CONFIG);
                        // a present topic without the override every create sets is a value nobody wrote
                        shown = v == null ? -1 : parse(v);
                    }
                }
            }
        } catch (TopicExistsException e) {
            outcome = kind == Kind.CREATE ? Outcome.EXISTS : Outcome.UNKNOWN;
            error = e.toString();
        } catch (UnknownTopicException e) {
            outcome = kind == Kind.CREATE ? Outcome.UNKNOWN : Outcome.ABSENT;
            error = e.toString();
            shown = kind == Kind.READ ? 0 : value;
        } catch (InvalidReplicationFactorException | InvalidConfigurationException | InvalidTopicException | InvalidRequestException e) {
            outcome = Outcome.FAILED; // refused on validation: nothing was written
            error = e.toString();
        } catch (RuntimeException e) {
            outcome = kind == Kind.READ ? Outcome.FAILED : Outcome.UNKNOWN;
            error = e.toString();
        }
        long t1 = outcome == Outcome.UNKNOWN ? MetaOp.NEVER : System.nanoTime() - originNanos;
        return new MetaOp(0, process, kind, topic, shown, outcome, t0, t1, error);
    }

    private static long parse(String v) {
        try {
            long x = Long.parseLong(v);
            return x == Long.MIN_VALUE || x == Long.MAX_VALUE ? -1 : x;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** One JSON object per operation, for the report directory. */
    public static String toJsonLines(List<MetaOp> history) {
        StringBuilder sb = new StringBuilder();
        for (MetaOp op : history) {
            sb.append("{\"index\":").append(op.index()).append(",\"process\":").append(op.process()).append(",\"f\":\"")
                    .append(op.kind().name().toLowerCase(java.util.Locale.ROOT)).append("\",\"topic\":\"").append(op.topic())
                    .append("\",\"value\":").append(op.value()).append(",\"outcome\":\"").append(op.outcome().jsonName())
                    .append("\",\"invoke-ns\":").append(op.invokeNanos()).append(",\"complete-ns\":")
                    .append(op.completeNanos() == MetaOp.NEVER ? "null" : Long.toString(op.completeNanos())).append(",\"error\":")
                    .append(new com.google.gson.Gson().toJson(op.error()))
                    .append("}\n");
        }
        return sb.toString();
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
