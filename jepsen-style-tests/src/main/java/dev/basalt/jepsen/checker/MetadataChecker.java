package dev.basalt.jepsen.checker;

import dev.basalt.jepsen.checker.MetaOp.Kind;
import dev.basalt.jepsen.checker.MetaOp.Outcome;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks a history of the metadata workload ({@link MetaOp}s: topic create, delete, config alter
 * and describe) for linearizability, with one register per topic: its state is "absent" or the
 * topic's {@code retention.ms} (every create and alter writes a value no other operation writes).
 *
 * <p>The model, per outcome: {@code create -> created} needs the topic absent and sets the value,
 * {@code create -> exists} needs it present; {@code delete -> deleted} needs it present and
 * removes it, {@code delete -> absent} needs it absent; {@code alter -> altered} needs it present
 * and sets the value, {@code alter -> absent} needs it absent; {@code read -> value v} needs the
 * value v, {@code read -> absent} needs it absent. {@code failed} operations did not happen and are
 * dropped; {@code unknown} ones (no answer) may take effect at any point after their invocation
 * or never (their effect follows the state: an unknown create of a present topic changes
 * nothing), and unknown reads are dropped.
 *
 * <p>Anomalies:
 * <ul>
 *   <li>{@code nonlinearizable}: the creates, deletes and alters of a topic (whose outcomes read
 *       the controller's state) have no linearization: the quorum lost or reordered a committed
 *       change, or answered from stale state (a second create succeeding, a delete of a topic
 *       that a completed create made, ...);</li>
 *   <li>{@code phantom-read}: a describe returned a value that no create or alter (not failed,
 *       invoked before the describe returned) wrote;</li>
 *   <li>{@code stale-read}: the changes are linearizable but a describe cannot be placed among
 *       them: it returned a state older than one a change completed before it began (reads are
 *       added in invocation order; each one that breaks linearizability is reported and left
 *       out). Basalt answers describes from the receiving node's metadata image, which may lag
 *       the quorum, so {@code readsLinearizable = false} allows these (they are still counted);</li>
 *   <li>{@code check-incomplete}: the search for one topic explored more than
 *       {@link #STATES_MAX} states and gave up (never seen with the workload's concurrency).</li>
 * </ul>
 *
 * <p>Method: topics are independent registers, each checked alone (P-compositionality); per
 * topic, the Wing–Gong backtracking search in Lowe's formulation with a cache of (linearized
 * set, state) pairs. Real time: an operation that completed at t precedes one invoked after t;
 * operations whose intervals touch are concurrent.
 *
 * <p>Pure: no I/O, clock or threads. Thread-safety: stateless.
 */
public final class MetadataChecker {
    public static final long ABSENT = Long.MIN_VALUE;
    public static final int STATES_MAX = 2_000_000;
    private static final int EXAMPLES_MAX = 8;

    /** The verdict: counts and examples per anomaly name, and which of them fail the check. */
    public record Result(boolean valid, Map<String, Integer> counts, Map<String, List<String>> examples, Set<String> failing,
                         int opsChecked) {
        public String summary() {
            return (valid ? "metadata history linearizable" : "metadata history NOT linearizable") + " (" + opsChecked + " ops"
                    + (counts.isEmpty() ? "" : ", " + counts + (valid ? " allowed" : ", failing " + failing)) + ")";
        }
    }

    private MetadataChecker() {
    }

    public static Result check(List<MetaOp> history, boolean readsLinearizable) {
        Map<String, List<MetaOp>> byTopic = new TreeMap<>();
        for (MetaOp op : history) {
            if (op.outcome() == Outcome.FAILED || (op.kind() == Kind.READ && op.outcome() == Outcome.UNKNOWN)) {
                continue;
            }
            byTopic.computeIfAbsent(op.topic(), k -> new ArrayList<>()).add(op);
        }
        Map<String, Integer> counts = new TreeMap<>();
        Map<String, List<String>> examples = new TreeMap<>();
        int checked = 0;
        for (Map.Entry<String, List<MetaOp>> e : byTopic.entrySet()) {
            List<MetaOp> changes = new ArrayList<>();
            List<MetaOp> reads = new ArrayList<>();
            for (MetaOp op : e.getValue()) {
                (op.kind() == Kind.READ ? reads : changes).add(op);
            }
            checked += e.getValue().size();
            List<MetaOp> plausibleReads = new ArrayList<>();
            for (MetaOp r : reads) {
                if (r.outcome() == Outcome.VALUE && !written(changes, r)) {
                    note(counts, examples, "phantom-read", r + ": no create or alter wrote " + r.value());
                } else {
                    plausibleReads.add(r);
                }
            }
            Boolean ok = linearizable(changes);
            if (ok == null) {
                note(counts, examples, "check-incomplete", e.getKey() + ": more than " + STATES_MAX + " states");
                continue;
            }
            if (!ok) {
                note(counts, examples, "nonlinearizable", e.getKey() + ": " + changes.size() + " changes " + shown(changes));
                continue;
            }
            plausibleReads.sort(Comparator.comparingLong(MetaOp::invokeNanos));
            List<MetaOp> kept = new ArrayList<>(changes);
            for (MetaOp r : plausibleReads) {
                kept.add(r);
                Boolean withRead = linearizable(kept);
                if (withRead == null) {
                    note(counts, examples, "check-incomplete", e.getKey() + ": more than " + STATES_MAX + " states");
                    kept.remove(kept.size() - 1);
                } else if (!withRead) {
                    kept.remove(kept.size() - 1);
                    note(counts, examples, "stale-read", r + " cannot be placed among " + around(changes, r));
                }
            }
        }
        Set<String> failing = new java.util.TreeSet<>(counts.keySet());
        if (!readsLinearizable) {
            failing.remove("stale-read");
        }
        return new Result(failing.isEmpty(), counts, examples, failing, checked);
    }

    private static boolean written(List<MetaOp> changes, MetaOp read) {
        for (MetaOp c : changes) {
            if ((c.kind() == Kind.CREATE || c.kind() == Kind.ALTER) && c.value() == read.value() && c.invokeNanos() <= read.completeNanos()) {
                return true;
            }
        }
        return false;
    }

    private static void note(Map<String, Integer> counts, Map<String, List<String>> examples, String anomaly, String example) {
        counts.merge(anomaly, 1, Integer::sum);
        List<String> ex = examples.computeIfAbsent(anomaly, k -> new ArrayList<>());
        if (ex.size() < EXAMPLES_MAX) {
            ex.add(example);
        }
    }

    private static String shown(List<MetaOp> ops) {
        List<String> s = new ArrayList<>();
        for (MetaOp op : ops.subList(0, Math.min(ops.size(), 40))) {
            s.add(op.toString());
        }
        return s + (ops.size() > 40 ? " ..." : "");
    }

    /** The changes that overlap or closely precede the read, for the example. */
    private static String around(List<MetaOp> changes, MetaOp r) {
        List<MetaOp> before = new ArrayList<>();
        for (MetaOp c : changes) {
            if (c.invokeNanos() <= r.completeNanos()) {
                before.add(c);
            }
        }
        return shown(before.subList(Math.max(0, before.size() - 6), before.size()));
    }

    /** Whether the state allows the op's outcome, and the state after it. */
    private static long step(MetaOp op, long s) {
        boolean present = s != ABSENT;
        return switch (op.outcome()) {
            case CREATED -> present ? Long.MAX_VALUE : op.value();
            case EXISTS -> present ? s : Long.MAX_VALUE;
            case DELETED -> present ? ABSENT : Long.MAX_VALUE;
            case ALTERED -> present ? op.value() : Long.MAX_VALUE;
            case ABSENT -> present ? Long.MAX_VALUE : s;
            case VALUE -> s == op.value() ? s : Long.MAX_VALUE;
            case UNKNOWN -> switch (op.kind()) {
                case CREATE -> present ? s : op.value();
                case DELETE -> ABSENT;
                case ALTER -> present ? op.value() : s;
                case READ -> s;
            };
            case FAILED -> s;
        };
    }

    private static final class Entry {
        final MetaOp op;
        final int id;
        final boolean call;
        Entry match;
        Entry prev;
        Entry next;

        Entry(MetaOp op, int id, boolean call) {
            this.op = op;
            this.id = id;
            this.call = call;
        }
    }

    private record CacheKey(BitSet linearized, long state) {
    }

    private record Frame(Entry call, long stateBefore) {
    }

    /** True, false, or null when the search gave up. Values never equal Long.MAX_VALUE (the refusal marker). */
    static Boolean linearizable(List<MetaOp> ops) {
        record Event(long time, boolean call, int id) {
        }
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            events.add(new Event(ops.get(i).invokeNanos(), true, i));
            if (ops.get(i).completeNanos() != MetaOp.NEVER) {
                events.add(new Event(ops.get(i).completeNanos(), false, i));
            }
        }
        events.sort(Comparator.comparingLong(Event::time).thenComparing(ev -> !ev.call()).thenComparingInt(Event::id));
        Entry head = new Entry(null, -1, false);
        Entry tail = head;
        Map<Integer, Entry> calls = new LinkedHashMap<>();
        for (Event ev : events) {
            Entry n = new Entry(ops.get(ev.id()), ev.id(), ev.call());
            if (ev.call()) {
                calls.put(ev.id(), n);
            } else {
                calls.get(ev.id()).match = n;
            }
            n.prev = tail;
            tail.next = n;
            tail = n;
        }
        BitSet linearized = new BitSet(ops.size());
        Set<CacheKey> cache = new HashSet<>();
        List<Frame> stack = new ArrayList<>();
        long state = ABSENT;
        Entry entry = head.next;
        while (head.next != null) {
            if (entry != null && entry.call) {
                long next = step(entry.op, state);
                if (next != Long.MAX_VALUE) {
                    BitSet lin = (BitSet) linearized.clone();
                    lin.set(entry.id);
                    if (cache.add(new CacheKey(lin, next))) {
                        if (cache.size() > STATES_MAX) {
                            return null;
                        }
                        stack.add(new Frame(entry, state));
                        linearized = lin;
                        state = next;
                        lift(entry);
                        entry = head.next;
                        continue;
                    }
                }
                entry = entry.next;
            } else {
                if (stack.isEmpty()) {
                    return false;
                }
                Frame top = stack.remove(stack.size() - 1);
                state = top.stateBefore();
                linearized = (BitSet) linearized.clone();
                linearized.clear(top.call().id);
                unlift(top.call());
                entry = top.call().next;
            }
        }
        return true;
    }

    private static void lift(Entry call) {
        call.prev.next = call.next;
        if (call.next != null) {
            call.next.prev = call.prev;
        }
        Entry ret = call.match;
        if (ret != null) {
            ret.prev.next = ret.next;
            if (ret.next != null) {
                ret.next.prev = ret.prev;
            }
        }
    }

    private static void unlift(Entry call) {
        Entry ret = call.match;
        if (ret != null) {
            ret.prev.next = ret;
            if (ret.next != null) {
                ret.next.prev = ret;
            }
        }
        call.prev.next = call;
        if (call.next != null) {
            call.next.prev = call;
        }
    }
}
