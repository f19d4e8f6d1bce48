package dev.basalt.jepsen.run;

import dev.basalt.client.Admin;
import dev.basalt.client.TopicExistsException;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.harness.Cluster;
import dev.basalt.harness.Netfilter;
import dev.basalt.jepsen.checker.CheckResult;
import dev.basalt.jepsen.checker.CheckerConfig;
import dev.basalt.jepsen.checker.MetaOp;
import dev.basalt.jepsen.checker.MetadataChecker;
import dev.basalt.jepsen.checker.QueueChecker;
import dev.basalt.jepsen.history.Fn;
import dev.basalt.jepsen.history.History;
import dev.basalt.jepsen.history.HistoryJson;
import dev.basalt.jepsen.history.HistoryRecorder;
import dev.basalt.jepsen.history.Op;
import dev.basalt.jepsen.history.OpType;
import dev.basalt.jepsen.nemesis.Nemeses;
import dev.basalt.jepsen.nemesis.Nemesis;
import dev.basalt.jepsen.report.ReportPage;
import dev.basalt.jepsen.schedule.FaultKind;
import dev.basalt.jepsen.schedule.FaultStep;
import dev.basalt.jepsen.schedule.Schedule;
import dev.basalt.jepsen.schedule.Schedules;
import dev.basalt.jepsen.workload.MetadataWorkload;
import dev.basalt.jepsen.workload.QueueWorkload;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs one {@link Schedule} against a fresh real-process cluster and writes its report:
 *
 * <ol>
 *   <li>start three combined nodes (own loopback addresses; iptables chains when packet faults
 *       are possible here), create the workload topic (RF 3, min.insync.replicas 2);</li>
 *   <li>start the {@link QueueWorkload} and the {@link MetadataWorkload} (topic create, delete,
 *       alter and describe through the quorum); after the quiet period, run each fault step:
 *       start its nemesis at its time, heal it after its duration, both recorded as nemesis ops;</li>
 *   <li>recovery: network healed, every node running, every partition back to a full ISR;</li>
 *   <li>final reads ({@link QueueWorkload#finish}), the {@link QueueChecker} and the
 *       {@link MetadataChecker} (a metadata history that is not linearizable is a run problem), and
 *       the report directory: history.jsonl, schedule.txt, result.json, metadata-history.jsonl,
 *       metadata-result.txt, logs/, index.html.</li>
 * </ol>
 *
 * {@link #runShrinking} re-runs simpler variants of a failing schedule ({@link Schedules#shrink})
 * within a budget of runs and returns the smallest that still fails.
 *
 * <p>Thread-safety: not thread-safe; one run at a time per instance.
 */
public final class JepsenRun {
    public static final String TOPIC = "jepsen-queue";
    private static final Duration READY = Duration.ofSeconds(60);
    private static final Duration RECOVERY = Duration.ofSeconds(60);
    private static final Duration DRAIN = Duration.ofSeconds(60);
    /** The metadata workload: three Admin processes over three topics, in every run. */
    private static final int METADATA_PROCESSES = 3;
    private static final int METADATA_TOPICS = 3;

    private final Path workDir;
    private final Path reportsDir;
    private final Consumer<String> log;
    private final String replayTarget;
    private final Schedules.Limits seedLimits;

    /**
     * @param workDir where clusters keep their data (deleted after each run)
     * @param reportsDir where each run's report directory is created
     * @param log progress lines (the first line of every run names its seed and replay command)
     * @param replayTarget the test (and profile) whose {@code -Djepsen.seed} generates the same schedules,
     *     e.g. {@code -Dtest=JepsenSuiteTest}
     */
    /**
     * @param replayTarget what selects the suite in a replay command (e.g. {@code -Dtest=JepsenSuiteTest})
     * @param seedLimits   the limits with which that suite turns {@code -Djepsen.seed=S} into a schedule
     */
    public JepsenRun(Path workDir, Path reportsDir, Consumer<String> log, String replayTarget, Schedules.Limits seedLimits) {
        this.workDir = workDir;
        this.reportsDir = reportsDir;
        this.log = log;
        this.replayTarget = replayTarget;
        this.seedLimits = seedLimits;
    }

    /** The command that replays {@code s}: by seed when the suite's seed gives exactly it, else by its encoding. */
    public String replayCommand(Schedule s) {
        boolean bySeed = Schedules.replaysFromSeed(s, seedLimits);
        String prop = bySeed ? "-Djepsen.seed=" + s.seed() : "-Djepsen.schedule='" + s.encode() + "'";
        return "./mvnw -B -ntp -o -pl jepsen-style-tests -am verify " + replayTarget + " -Dsurefire.failIfNoSpecifiedTests=false "
                + prop;
    }

    /** Runs {@code s}; when it fails, up to {@code shrinkRunsMax} more runs of simpler variants. */
    public List<RunResult> runShrinking(Schedule s, int shrinkRunsMax) {
        List<RunResult> results = new ArrayList<>();
        RunResult failing = run(s);
        results.add(failing);
        int budget = shrinkRunsMax;
        boolean progressed = !failing.ok();
        while (progressed && budget > 0) {
            progressed = false;
            for (Schedule candidate : Schedules.shrink(failing.schedule())) {
                if (budget-- <= 0) {
                    break;
                }
                log.accept("JEPSEN shrinking: trying " + candidate.encode());
                RunResult r = run(candidate);
                results.add(r);
                if (!r.ok()) {
                    failing = r;
                    progressed = true;
                    break;
                }
            }
        }
        return results;
    }

    public RunResult run(Schedule s) {
        long t0 = System.nanoTime();
        log.accept("JEPSEN seed=" + s.seed() + " schedule=" + s.encode() + "\n  replay: " + replayCommand(s));
        boolean packets = s.kinds().stream().anyMatch(k -> k.needsNetfilter());
        if (packets && Netfilter.unavailableReason().isPresent()) {
            throw new IllegalStateException("schedule needs packet faults: " + Netfilter.unavailableReason().get());
        }
        Path report = reportsDir.resolve("run-" + s.seed() + (s.shrunk() ? "-shrunk-" + Integer.toHexString(s.encode().hashCode()) : ""));
        List<String> problems = new ArrayList<>();
        HistoryRecorder history = null;
        Cluster.Builder b = Cluster.builder(workDir.resolve("cluster-" + s.seed() + "-" + System.nanoTime())).nodes(s.nodes())
                .rackPerNode().config("broker.session.timeout.ms", "3000").config("broker.heartbeat.interval.ms", "500")
                .config("replica.lag.time.max.ms", "4000");
        s.kinds().forEach(k -> k.nodeJvmOptions().forEach(b::jvmOption)); // test-only hooks (lazyfs, clock) the faults need
        if (s.kinds().stream().anyMatch(k -> k.nodeJvmOptions().contains(FaultKind.LAZYFS_OPTION))) {
            // The lazyfs layer reads the bytes a truncation cuts, to restore them on a crash: recovery
            // cutting a 1 GiB preallocated active segment cost ~2 s of reading holes per partition
            // (minutes for __consumer_offsets' 50). Small segments keep that, and restarts, short.
            b.config("log.segment.bytes", Integer.toString(FaultKind.LAZYFS_SEGMENT_BYTES))
                    .config("offsets.topic.segment.bytes", Integer.toString(FaultKind.LAZYFS_SEGMENT_BYTES));
        }
        if (Netfilter.unavailableReason().isEmpty()) {
            b.networkFaults();
        } else {
            b.ownAddresses();
        }
        Cluster cluster = b.build();
        QueueWorkload workload = null;
        MetadataWorkload metadata = null;
        List<MetaOp> metaHistory = List.of();
        boolean finished = false;
        try {
            cluster.start(READY);
            createTopic(cluster, s.partitions());
            // time 0 of the history (and of the report's charts) is the start of the workload
            history = new HistoryRecorder(System::currentTimeMillis, System::nanoTime);
            workload = new QueueWorkload(cluster, history, TOPIC, s.partitions(), s.producers(), s.consumers(), s.subscribers(),
                    s.seed());
            workload.start();
            metadata = new MetadataWorkload(cluster, METADATA_PROCESSES, METADATA_TOPICS, s.seed(), System.nanoTime());
            metadata.start();
            sleepMs(s.quietMs());
            long faultsStart = System.nanoTime();
            long delayMs = 0;
            for (int i = 0; i < s.faults().size(); i++) {
                delayMs = runFault(cluster, s, i, faultsStart, delayMs, history, problems);
            }
            recover(cluster, s, history, problems);
            metaHistory = metadata.finish();
            metadata.crashes().forEach(t -> problems.add("metadata workload thread crashed: " + t));
            problems.addAll(workload.finish(DRAIN));
            finished = true;
            workload.crashes().forEach(t -> problems.add("workload thread crashed: " + t));
        } catch (RuntimeException e) {
            problems.add("run aborted: " + e);
            log.accept("JEPSEN run aborted: " + e + "\n" + cluster.diagnostics());
        } finally {
            if (workload != null && !finished) {
                workload.stopNow();
            }
            if (metadata != null && !finished) {
                metaHistory = metadata.finish();
            }
            copyLogs(cluster, report.resolve("logs"));
            cluster.close();
        }
        History h = history == null ? History.of(List.of()) : history.snapshot();
        // The topic keeps Basalt's default durable.acks=true, so even lost-unfsynced-all may lose nothing acknowledged.
        CheckResult check = QueueChecker.check(h, CheckerConfig.basaltDefaults().withUnsyncedLoss(true,
                s.kinds().contains(dev.basalt.jepsen.schedule.FaultKind.LOST_UNFSYNCED_ALL)));
        problems.addAll(checkMetadata(metaHistory, report));
        RunResult result = new RunResult(s, check, problems, report, (System.nanoTime() - t0) / 1_000_000, replayCommand(s));
        writeReport(result, h);
        log.accept("JEPSEN " + result.summary());
        return result;
    }

    /**
     * Runs fault {@code i} {@code delayMs} later than scheduled and returns the delay for the next
     * one. Healing can take longer than planned (a killed node must restart and become ready), so
     * later faults are shifted: every fault keeps its duration and its gap to the previous heal.
     */
    private long runFault(Cluster cluster, Schedule s, int i, long faultsStart, long delayMs, HistoryRecorder history,
                          List<String> problems) {
        FaultStep step = s.faults().get(i);
        sleepUntil(faultsStart, step.startMs() + delayMs);
        Nemesis nemesis = Nemeses.of(step, cluster, TOPIC, s.partitions(), READY);
        String started;
        try {
            started = nemesis.start();
        } catch (RuntimeException e) {
            started = "failed to start: " + e.getMessage();
            problems.add("fault " + i + " " + step.kind().jsonName() + " " + started);
        }
        history.record(Op.of(Op.NEMESIS_PROCESS, OpType.INFO, Fn.NEMESIS, 0, 0).withNote("start " + i + " " + step.kind().jsonName()
                + ": " + started));
        log.accept("JEPSEN fault " + i + " " + step.kind().jsonName() + ": " + started);
        sleepUntil(faultsStart, step.endMs() + delayMs);
        String healed;
        try {
            healed = nemesis.heal();
        } catch (RuntimeException e) {
            healed = "failed to heal: " + e.getMessage();
            problems.add("fault " + i + " " + step.kind().jsonName() + " " + healed);
        }
        history.record(Op.of(Op.NEMESIS_PROCESS, OpType.INFO, Fn.NEMESIS, 0, 0).withNote("heal " + i + " " + step.kind().jsonName()
                + ": " + healed));
        log.accept("JEPSEN heal " + i + ": " + healed);
        return Math.max(delayMs, (System.nanoTime() - faultsStart) / 1_000_000 - step.endMs());
    }

    /** Network whole, every node running, every partition with a leader and a full ISR; then the recovery period. */
    private void recover(Cluster cluster, Schedule s, HistoryRecorder history, List<String> problems) {
        cluster.netfilter().ifPresent(Netfilter::heal);
        List<Integer> restarted = new ArrayList<>();
        for (int id : cluster.nodeIds()) {
            if (cluster.node(id).isPaused()) {
                cluster.resume(id);
            } else if (!cluster.node(id).isAlive()) {
                problems.add("node " + id + " was not running after the faults were healed");
                cluster.node(id).launch();
                restarted.add(id);
            }
        }
        if (!restarted.isEmpty()) {
            cluster.awaitReady(restarted, READY);
        }
        sleepMs(s.recoverMs());
        for (int p = 0; p < s.partitions(); p++) {
            try {
                cluster.awaitPartition(TOPIC, p, st -> st.hasLeader() && st.isr().containsAll(st.replicas()), "a full ISR after healing",
                        RECOVERY);
            } catch (RuntimeException e) {
                problems.add(TOPIC + "-" + p + " did not recover a full ISR within " + RECOVERY + " of healing");
            }
        }
        history.record(Op.of(Op.NEMESIS_PROCESS, OpType.INFO, Fn.NEMESIS, 0, 0).withNote("recovered: every node running, "
                + "network whole, ISRs checked"));
    }

    /**
     * Checks the metadata workload's history ({@link MetadataChecker}; describes may lag, as
     * Basalt answers them from the receiving node's image) and writes it to the report directory;
     * returns one problem when it is not linearizable.
     */
    private List<String> checkMetadata(List<MetaOp> ops, Path report) {
        MetadataChecker.Result r = MetadataChecker.check(ops, false);
        log.accept("JEPSEN " + r.summary());
        try {
            Files.createDirectories(report);
            Files.writeString(report.resolve("metadata-history.jsonl"), MetadataWorkload.toJsonLines(ops), StandardCharsets.UTF_8);
            StringBuilder sb = new StringBuilder(r.summary()).append('\n');
            r.examples().forEach((a, ex) -> {
                sb.append(a).append(" (").append(r.counts().get(a)).append(r.failing().contains(a) ? ", failing" : ", allowed")
                        .append("):\n");
                ex.forEach(e -> sb.append("  ").append(e).append('\n'));
            });
            Files.writeString(report.resolve("metadata-result.txt"), sb, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the metadata history to " + report, e);
        }
        if (r.valid()) {
            return List.of();
        }
        List<String> shown = new ArrayList<>();
        r.failing().forEach(a -> shown.add(a + " " + r.examples().getOrDefault(a, List.of()).stream().limit(2).toList()));
        return List.of("metadata workload: " + r.summary() + ": " + shown);
    }

    private static void createTopic(Cluster cluster, int partitions) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try (Admin admin = cluster.admin()) {
                Admin.getAll(admin.createTopics(List.of(new NewTopic(TOPIC, partitions, 3, Map.of("min.insync.replicas", "2"))), false),
                        Duration.ofSeconds(10));
                last = null;
                break;
            } catch (TopicExistsException e) {
                last = null;
                break;
            } catch (RuntimeException e) {
                last = e;
                sleepMs(300);
            }
        }
        if (last != null) {
            throw new IllegalStateException("cannot create " + TOPIC + ": " + last, last);
        }
        for (int p = 0; p < partitions; p++) {
            cluster.awaitPartition(TOPIC, p, st -> st.hasLeader() && st.isr().size() == 3, "a leader and a full ISR", Duration.ofSeconds(30));
        }
    }

    private void writeReport(RunResult r, History h) {
        try {
            Files.createDirectories(r.reportDir());
            HistoryJson.write(h, r.reportDir().resolve("history.jsonl"));
            StringBuilder sched = new StringBuilder(r.schedule().encode()).append("\n\nreplay: ").append(replayCommand(r.schedule()))
                    .append("\n\nquiet ").append(r.schedule().quietMs()).append(" ms, then (ms after the quiet period):\n");
            r.schedule().faults().forEach(f -> sched.append("  ").append(f.startMs()).append("..").append(f.endMs()).append("  ")
                    .append(f.kind().jsonName()).append(" (choice ").append(f.choice()).append("): ").append(f.kind().description())
                    .append('\n'));
            sched.append("then recovery ").append(r.schedule().recoverMs()).append(" ms and final reads\n");
            Files.writeString(r.reportDir().resolve("schedule.txt"), sched, StandardCharsets.UTF_8);
            Files.writeString(r.reportDir().resolve("result.json"), r.check().toJson(), StandardCharsets.UTF_8);
            Files.writeString(r.reportDir().resolve("index.html"), ReportPage.render("Basalt queue run, seed " + r.schedule().seed(),
                    replayCommand(r.schedule()), h, r.check(), r.problems()), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the report to " + r.reportDir(), e);
        }
    }

    private static void copyLogs(Cluster cluster, Path to) {
        try {
            Files.createDirectories(to);
            for (int id : cluster.nodeIds()) {
                Path log = cluster.node(id).logFile();
                if (Files.exists(log)) {
                    Files.copy(log, to.resolve("node-" + id + ".log"), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy node logs to " + to, e);
        }
    }

    private static void sleepUntil(long originNanos, long offsetMs) {
        long wait = offsetMs - (System.nanoTime() - originNanos) / 1_000_000;
        if (wait > 0) {
            sleepMs(wait);
        }
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
