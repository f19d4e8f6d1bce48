package dev.basalt.jepsen.checker;

import dev.basalt.jepsen.history.Fn;
import dev.basalt.jepsen.history.History;
import dev.basalt.jepsen.history.Msg;
import dev.basalt.jepsen.history.Op;
import dev.basalt.jepsen.history.OpType;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Checks a queue-workload {@link History} for the anomalies of {@link Anomaly} (definitions
 * there) and judges them against a {@link CheckerConfig}. Pure: no I/O, no clock, no threads;
 * "time" is the history order (an op's index), which is the real-time order the recorder saw.
 *
 * <p>Method: one pass collects the log per key (offset → values, from acknowledged sends and
 * polls), the offsets polls returned, and the values sent, failed and read; then each analysis
 * walks the operations again per process (poll and send order), per node (final reads) and per
 * group (commits, ownership). Cost is O(n log n) in the history size except the group analyses,
 * which are O(c²) in the commits of one key of one group.
 *
 * <p>Thread-safety: stateless; {@link #check} may run concurrently on different histories.
 */
public final class QueueChecker {
    private QueueChecker() {
    }

    /** Per-run state of one check; discarded afterwards. */
    private static final class Run {
        final CheckerConfig config;
        final Map<Anomaly, Integer> counts = new EnumMap<>(Anomaly.class);
        final Map<Anomaly, List<String>> examples = new EnumMap<>(Anomaly.class);
        /** key → offset → values observed there (acks and polls). */
        final Map<String, NavigableMap<Long, Set<Long>>> log = new TreeMap<>();
        /** key → offsets returned by client polls. */
        final Map<String, TreeSet<Long>> readOffsets = new HashMap<>();
        final Set<Long> sent = new HashSet<>();
        final Set<Long> failed = new HashSet<>();
        final Set<Long> read = new HashSet<>();
        /** value → acknowledged (key, offset). */
        final Map<Long, Msg> acked = new LinkedHashMap<>();

        Run(CheckerConfig config) {
            this.config = config;
        }

        void report(Anomaly a, String example) {
            counts.merge(a, 1, Integer::sum);
            List<String> ex = examples.computeIfAbsent(a, k -> new ArrayList<>());
            if (ex.size() < config.examplesMax()) {
                ex.add(example);
            }
        }

        void observe(Msg m) {
            log.computeIfAbsent(m.key(), k -> new TreeMap<>()).computeIfAbsent(m.offset(), o -> new TreeSet<>()).add(m.value());
        }

        boolean readBetween(String key, long lowExclusive, long highExclusive) {
            TreeSet<Long> offsets = readOffsets.get(key);
            if (offsets == null) {
                return false;
            }
            Long next = offsets.higher(lowExclusive);
            return next != null && next < highExclusive;
        }

        boolean observedBetween(String key, long lowExclusive, long highExclusive) {
            NavigableMap<Long, Set<Long>> l = log.get(key);
            return l != null && !l.subMap(lowExclusive, false, highExclusive, false).isEmpty();
        }
    }

    public static CheckResult check(History history, CheckerConfig config) {
        Run run = new Run(config);
        Map<String, Long> stats = new TreeMap<>();
        collect(history, run, stats);
        inconsistentOffsets(run);
        duplicates(history, run);
        readsOfUnsentOrFailed(history, run);
        lostAndUnseen(run, stats);
        pollOrder(history, run);
        sendOrder(history, run);
        replicas(history, run);
        commits(history, run);
        return new CheckResult(run.counts, run.examples, config.allowed(), stats);
    }

    private static void collect(History history, Run run, Map<String, Long> stats) {
        for (History.Pair p : history.pairs()) {
            String outcome = p.outcome().jsonName();
            stats.merge(p.f().jsonName() + "-" + outcome, 1L, Long::sum);
            if (p.f() == Fn.SEND) {
                for (Msg m : p.invoke().values()) {
                    run.sent.add(m.value());
                    if (p.outcome() == OpType.FAIL) {
                        run.failed.add(m.value());
                    }
                }
                if (p.outcome() == OpType.OK) {
                    for (Msg m : p.completion().values()) {
                        if (!m.hasOffset()) {
                            throw new IllegalArgumentException("acknowledged send without an offset: " + p.completion());
                        }
                        run.acked.put(m.value(), m);
                        run.observe(m);
                    }
                }
            } else if (p.f() == Fn.POLL && p.outcome() == OpType.OK) {
                for (Msg m : p.completion().values()) {
                    if (!m.hasOffset()) {
                        throw new IllegalArgumentException("polled record without an offset: " + p.completion());
                    }
                    run.read.add(m.value());
                    run.readOffsets.computeIfAbsent(m.key(), k -> new TreeSet<>()).add(m.offset());
                    run.observe(m);
                }
            }
        }
        stats.put("values-sent", (long) run.sent.size());
        stats.put("values-acknowledged", (long) run.acked.size());
        stats.put("values-read", (long) run.read.size());
    }

    private static void inconsistentOffsets(Run run) {
        run.log.forEach((key, offsets) -> offsets.forEach((offset, values) -> {
            if (values.size() > 1) {
                run.report(Anomaly.INCONSISTENT_OFFSETS, key + " offset " + offset + " holds values " + values);
            }
        }));
    }

    private static void duplicates(History history, Run run) {
        Map<Long, Set<String>> where = new HashMap<>();
        run.log.forEach((key, offsets) -> offsets.forEach((offset, values) -> {
            for (long v : values) {
                where.computeIfAbsent(v, x -> new TreeSet<>()).add(key + "@" + offset);
            }
        }));
        where.entrySet().stream().filter(e -> e.getValue().size() > 1).sorted(Map.Entry.comparingByKey())
                .forEach(e -> run.report(Anomaly.DUPLICATE, "value " + e.getKey() + " at " + e.getValue()));
    }

    private static void readsOfUnsentOrFailed(History history, Run run) {
        for (History.Pair p : history.pairs()) {
            if (p.f() != Fn.POLL || p.outcome() != OpType.OK) {
                continue;
            }
            for (Msg m : p.completion().values()) {
                if (!run.sent.contains(m.value())) {
                    run.report(Anomaly.PHANTOM, "op " + p.completion().index() + " (process " + p.process() + ") read " + m
                            + ", never sent");
                } else if (run.failed.contains(m.value())) {
                    run.report(Anomaly.G1A, "op " + p.completion().index() + " (process " + p.process() + ") read " + m
                            + ", whose send failed");
                }
            }
        }
    }

    private static void lostAndUnseen(Run run, Map<String, Long> stats) {
        long unseen = 0;
        for (Msg m : run.acked.values()) {
            if (run.read.contains(m.value())) {
                continue;
            }
            TreeSet<Long> offsets = run.readOffsets.get(m.key());
            long maxRead = offsets == null || offsets.isEmpty() ? -1 : offsets.last();
            if (m.offset() <= maxRead) {
                run.report(Anomaly.LOST_WRITE, m + " acknowledged, never read, though " + m.key() + " was read up to " + maxRead);
            } else {
                unseen++;
                run.report(Anomaly.UNSEEN, m + " acknowledged, never read (" + m.key() + " read up to " + maxRead + ")");
            }
        }
        stats.put("unseen", unseen);
        if (!run.config.finalReads() && unseen > 0) {
            // without final reads an unread tail is expected: counted for the report, not an anomaly
            run.counts.remove(Anomaly.UNSEEN);
            run.examples.remove(Anomaly.UNSEEN);
        }
    }

    /** Records of {@code values} grouped by key, each key's records in op order. */
    private static Map<String, List<Msg>> byKey(List<Msg> values) {
        Map<String, List<Msg>> out = new LinkedHashMap<>();
        for (Msg m : values) {
            out.computeIfAbsent(m.key(), k -> new ArrayList<>()).add(m);
        }
        return out;
    }

    private static void pollOrder(History history, Run run) {
        // (process, key) → last offset polled since the key was last assigned to the process
        Map<Integer, Map<String, Long>> last = new HashMap<>();
        Map<Integer, Set<String>> assigned = new HashMap<>();
        for (History.Pair p : history.pairs()) {
            int proc = p.process();
            if (p.f() == Fn.ASSIGN && p.outcome() == OpType.OK) {
                Set<String> before = assigned.getOrDefault(proc, Set.of());
                Set<String> now = new HashSet<>(p.invoke().keys().isEmpty() ? p.completion().keys() : p.invoke().keys());
                Map<String, Long> positions = last.computeIfAbsent(proc, x -> new HashMap<>());
                positions.keySet().removeIf(k -> !now.contains(k) || !before.contains(k));
                assigned.put(proc, now);
                continue;
            }
            if (p.f() != Fn.POLL || p.outcome() != OpType.OK) {
                continue;
            }
            Map<String, Long> positions = last.computeIfAbsent(proc, x -> new HashMap<>());
            byKey(p.completion().values()).forEach((key, records) -> {
                Long prev = positions.get(key);
                long first = records.get(0).offset();
                if (prev != null) {
                    if (first <= prev) {
                        run.report(Anomaly.NONMONOTONIC_POLL, "process " + proc + " polled " + key + " from " + first
                                + " (op " + p.completion().index() + ") after its previous poll ended at " + prev);
                    } else if (run.readBetween(key, prev, first)) {
                        run.report(Anomaly.POLL_SKIP, "process " + proc + " polled " + key + " from " + first + " (op "
                                + p.completion().index() + ") after its previous poll ended at " + prev + ", skipping "
                                + run.readOffsets.get(key).subSet(prev, false, first, false));
                    }
                }
                for (int i = 1; i < records.size(); i++) {
                    long a = records.get(i - 1).offset();
                    long b = records.get(i).offset();
                    if (b <= a) {
                        run.report(Anomaly.INT_NONMONOTONIC_POLL, "op " + p.completion().index() + " (process " + proc + ") returned "
                                + key + " offset " + b + " after " + a);
                    } else if (run.readBetween(key, a, b)) {
                        run.report(Anomaly.INT_POLL_SKIP, "op " + p.completion().index() + " (process " + proc + ") returned " + key
                                + " offset " + b + " right after " + a + ", skipping " + run.readOffsets.get(key).subSet(a, false, b, false));
                    }
                }
                positions.put(key, records.get(records.size() - 1).offset());
            });
        }
    }

    private static void sendOrder(History history, Run run) {
        Map<Integer, Map<String, Long>> last = new HashMap<>();
        for (History.Pair p : history.pairs()) {
            if (p.f() != Fn.SEND || p.outcome() != OpType.OK) {
                continue;
            }
            int proc = p.process();
            Map<String, Long> positions = last.computeIfAbsent(proc, x -> new HashMap<>());
            byKey(p.completion().values()).forEach((key, records) -> {
                Long prev = positions.get(key);
                long first = records.get(0).offset();
                if (prev != null && first <= prev) {
                    run.report(Anomaly.NONMONOTONIC_SEND, "process " + proc + " sent " + records.get(0) + " (op "
                            + p.completion().index() + ") after its previous send to " + key + " got offset " + prev);
                }
                for (int i = 1; i < records.size(); i++) {
                    long a = records.get(i - 1).offset();
                    long b = records.get(i).offset();
                    if (b <= a) {
                        run.report(Anomaly.INT_NONMONOTONIC_SEND, "op " + p.completion().index() + " (process " + proc + ") sent "
                                + records.get(i) + " after " + records.get(i - 1));
                    } else if (run.observedBetween(key, a, b)) {
                        run.report(Anomaly.INT_SEND_SKIP, "op " + p.completion().index() + " (process " + proc + ") sent "
                                + records.get(i) + " right after " + records.get(i - 1) + " with other records between");
                    }
                }
                positions.put(key, Math.max(prev == null ? -1 : prev, records.get(records.size() - 1).offset()));
            });
        }
    }

    private static void replicas(History history, Run run) {
        for (History.Pair p : history.pairs()) {
            if (p.f() != Fn.FINAL_READ || p.outcome() != OpType.OK) {
                continue;
            }
            Op read = p.completion();
            Map<String, Map<Long, Long>> held = new HashMap<>();
            for (Msg m : read.values()) {
                held.computeIfAbsent(m.key(), k -> new HashMap<>()).put(m.offset(), m.value());
            }
            new TreeMap<>(read.highWatermarks()).forEach((key, hw) -> {
                NavigableMap<Long, Set<Long>> l = run.log.getOrDefault(key, new TreeMap<>());
                Map<Long, Long> node = held.getOrDefault(key, Map.of());
                l.headMap(hw, false).forEach((offset, values) -> {
                    Long v = node.get(offset);
                    if (v == null || !values.contains(v)) {
                        run.report(Anomaly.LOST_ON_NODE, "node " + read.node() + " " + key + " offset " + offset + " (below its HW "
                                + hw + ") holds " + (v == null ? "nothing" : v) + " where clients saw " + values);
                    }
                });
            });
        }
    }

    /** An accepted commit of one key by one group member, with its place in real-time order. */
    private record Commit(int process, long invokeIndex, long completeIndex, long offset) {
    }

    private static void commits(History history, Run run) {
        // (group, key) → accepted commits; (group, process, key) → ownership start indices and end indices
        Map<String, Map<String, List<Commit>>> commits = new TreeMap<>();
        Map<Integer, Map<String, long[]>> owning = new HashMap<>();
        Map<String, List<long[]>> intervals = new HashMap<>(); // "group|process|key" → [start, end]
        for (History.Pair p : history.pairs()) {
            int proc = p.process();
            if (p.f() == Fn.ASSIGN && p.outcome() == OpType.OK) {
                String group = p.invoke().group().isEmpty() ? p.completion().group() : p.invoke().group();
                Set<String> now = new HashSet<>(p.invoke().keys().isEmpty() ? p.completion().keys() : p.invoke().keys());
                Map<String, long[]> open = owning.computeIfAbsent(proc, x -> new HashMap<>());
                for (var it = open.entrySet().iterator(); it.hasNext(); ) {
                    var e = it.next();
                    if (!now.contains(e.getKey())) {
                        e.getValue()[1] = p.invoke().index();
                        it.remove();
                    }
                }
                for (String k : now) {
                    if (!open.containsKey(k)) {
                        long[] interval = {p.completion().index(), Long.MAX_VALUE};
                        open.put(k, interval);
                        intervals.computeIfAbsent(group + "|" + proc + "|" + k, x -> new ArrayList<>()).add(interval);
                    }
                }
            } else if (p.f() == Fn.COMMIT && p.outcome() == OpType.OK) {
                for (Msg m : p.invoke().values()) {
                    commits.computeIfAbsent(p.invoke().group(), g -> new TreeMap<>()).computeIfAbsent(m.key(), k -> new ArrayList<>())
                            .add(new Commit(proc, p.invoke().index(), p.completion().index(), m.offset()));
                }
            }
        }
        commits.forEach((group, byKey) -> byKey.forEach((key, list) -> {
            for (Commit b : list) {
                for (Commit a : list) {
                    if (a.completeIndex() < b.invokeIndex() && b.offset() < a.offset()) {
                        run.report(Anomaly.NONMONOTONIC_COMMIT, "group " + group + " " + key + ": commit of " + b.offset()
                                + " by process " + b.process() + " (op " + b.invokeIndex() + ") after commit of " + a.offset()
                                + " by process " + a.process() + " (op " + a.completeIndex() + ")");
                        break;
                    }
                }
            }
            for (Commit a : list) {
                long start = ownershipStart(intervals.get(group + "|" + a.process() + "|" + key), a.invokeIndex());
                if (start < 0) {
                    continue;
                }
                for (Commit b : list) {
                    if (b.process() != a.process() && start < b.invokeIndex() && b.completeIndex() < a.invokeIndex()) {
                        run.report(Anomaly.DOUBLE_OWNER, "group " + group + " " + key + ": process " + a.process() + " owned it from op "
                                + start + " and committed at op " + a.invokeIndex() + ", while process " + b.process()
                                + " committed it at op " + b.invokeIndex());
                        break;
                    }
                }
            }
        }));
    }

    /** The start of the ownership interval containing {@code index}, or -1. */
    private static long ownershipStart(List<long[]> intervals, long index) {
        if (intervals == null) {
            return -1;
        }
        for (long[] i : intervals) {
            if (i[0] < index && index < i[1]) {
                return i[0];
            }
        }
        return -1;
    }
}
