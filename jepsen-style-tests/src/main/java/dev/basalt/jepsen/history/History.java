package dev.basalt.jepsen.history;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An ordered, immutable list of {@link Op}s with each operation's invocation paired with its
 * completion. Every client process is sequential (Jepsen's rule): it invokes, then completes,
 * before it invokes again; an invocation left open at the end of the history counts as
 * indeterminate ({@code INFO}). Nemesis ops stand alone.
 *
 * <p>Thread-safety: immutable.
 */
public final class History {
    /** An operation: its invocation and its completion (an INFO stand-in when it never completed). */
    public record Pair(Op invoke, Op completion) {
        public OpType outcome() {
            return completion.type();
        }

        public int process() {
            return invoke.process();
        }

        public Fn f() {
            return invoke.f();
        }
    }

    private final List<Op> ops;
    private final List<Pair> pairs;

    private History(List<Op> ops) {
        this.ops = ops;
        this.pairs = pair(ops);
    }

    /** A history of {@code ops}, re-indexed 0..n-1 in list order. */
    public static History of(List<Op> ops) {
        List<Op> indexed = new ArrayList<>(ops.size());
        for (int i = 0; i < ops.size(); i++) {
            indexed.add(ops.get(i).withIndex(i));
        }
        return new History(List.copyOf(indexed));
    }

    public List<Op> ops() {
        return ops;
    }

    /** Client operations (invocation + completion) in invocation order; nemesis ops excluded. */
    public List<Pair> pairs() {
        return pairs;
    }

    /** Nemesis ops in history order. */
    public List<Op> nemesisOps() {
        return ops.stream().filter(o -> o.f() == Fn.NEMESIS).toList();
    }

    public int size() {
        return ops.size();
    }

    private static List<Pair> pair(List<Op> ops) {
        Map<Integer, Integer> open = new HashMap<>();
        List<Op[]> slots = new ArrayList<>();
        for (Op op : ops) {
            if (op.f() == Fn.NEMESIS) {
                continue;
            }
            Integer slot = open.get(op.process());
            if (op.isInvoke()) {
                if (slot != null) {
                    throw new IllegalArgumentException("process " + op.process() + " invoked " + op + " while "
                            + slots.get(slot)[0] + " was still open: processes are sequential");
                }
                open.put(op.process(), slots.size());
                slots.add(new Op[] {op, null});
            } else {
                if (slot == null) {
                    throw new IllegalArgumentException("completion " + op + " without an open invocation");
                }
                if (slots.get(slot)[0].f() != op.f()) {
                    throw new IllegalArgumentException("completion " + op + " does not match invocation " + slots.get(slot)[0]);
                }
                slots.get(slot)[1] = op;
                open.remove(op.process());
            }
        }
        List<Pair> out = new ArrayList<>(slots.size());
        for (Op[] s : slots) {
            Op completion = s[1] != null ? s[1]
                    : s[0].withType(OpType.INFO).withError("never completed").withIndex(Long.MAX_VALUE);
            out.add(new Pair(s[0], completion));
        }
        return List.copyOf(out);
    }
}
