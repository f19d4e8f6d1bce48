package dev.basalt.raft.testkit;

import dev.basalt.raft.testkit.KvHistory.Kind;
import dev.basalt.raft.testkit.KvHistory.Op;
import dev.basalt.raft.testkit.KvHistory.Status;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks that a {@link KvHistory} of reads and writes on registers is linearizable (Herlihy and
 * Wing): there is a total order of the operations, consistent with real time, in which every read
 * returns the latest write. Stateless; thread-safe.
 *
 * <p>Method: keys are independent registers, so each key is checked alone (P-compositionality,
 * Horn and Kroening). Per key, the Wing-Gong backtracking search in Lowe's formulation, as
 * Porcupine implements it: walk a list of call and return events; at a call, try to linearize that
 * operation now; at a return whose operation is not yet linearized, backtrack. A cache of
 * (linearized set, register value) pairs already explored prunes the exponential search. FAIL
 * operations are dropped (they did not happen); INFO operations never return (writes may take
 * effect at any later time or never; INFO reads have no effect and are dropped).
 *
 * <p>Time: an operation that completes at {@code t} precedes one invoked at {@code t' > t}; at equal
 * times the two are treated as concurrent (calls are ordered before returns), which never rejects
 * a valid history.
 */
public final class LinearizabilityChecker {
    /** Verdict; {@code key} and {@code ops} describe the first non-linearizable key. */
    public record Result(boolean linearizable, String key, List<String> ops) {
    }

    public Result check(KvHistory history) {
        Map<String, List<Op>> byKey = new TreeMap<>();
        for (Op op : history.ops()) {
            boolean keep = op.status == Status.OK || (op.status == Status.INFO && op.kind == Kind.WRITE)
                    || (op.status == Status.PENDING && op.kind == Kind.WRITE);
            if (keep) {
                byKey.computeIfAbsent(op.key, k -> new ArrayList<>()).add(op);
            }
        }
        for (Map.Entry<String, List<Op>> e : byKey.entrySet()) {
            if (!checkRegister(e.getValue())) {
                List<String> shown = e.getValue().stream().map(Op::toString).toList();
                return new Result(false, e.getKey(), shown);
            }
        }
        return new Result(true, null, List.of());
    }

    /** Porcupine's search over one register, initially absent (null). */
    private boolean checkRegister(List<Op> ops) {
        Node head = buildEventList(ops);
        int n = ops.size();
        BitSet linearized = new BitSet(n);
        Set<CacheKey> cache = new HashSet<>();
        ArrayList<Frame> stack = new ArrayList<>();
        String state = null;
        Node entry = head.next;
        while (head.next != null) {
            if (entry != null && entry.isCall) {
                Op op = entry.op;
                boolean ok = op.kind == Kind.WRITE || Objects.equals(op.value, state);
                String nextState = op.kind == Kind.WRITE ? op.value : state;
                if (ok) {
                    BitSet next = (BitSet) linearized.clone();
                    next.set(entry.index);
                    if (cache.add(new CacheKey(next, nextState))) {
                        stack.add(new Frame(entry, state));
                        linearized = next;
                        state = nextState;
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
                state = top.stateBefore;
                linearized = (BitSet) linearized.clone();
                linearized.clear(top.call.index);
                unlift(top.call);
                entry = top.call.next;
            }
        }
        return true;
    }

    private static Node buildEventList(List<Op> ops) {
        record Event(long time, boolean isCall, int index, Op op) {
        }
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            events.add(new Event(op.invokeMs, true, i, op));
            if (op.completeMs != Long.MAX_VALUE) {
                events.add(new Event(op.completeMs, false, i, op));
            }
        }
        events.sort(Comparator.comparingLong(Event::time).thenComparing(ev -> !ev.isCall()).thenComparingInt(Event::index));
        Node head = new Node(null, false, -1);
        Node[] calls = new Node[ops.size()];
        Node tail = head;
        for (Event ev : events) {
            Node node = new Node(ev.op(), ev.isCall(), ev.index());
            if (ev.isCall()) {
                calls[ev.index()] = node;
            } else {
                calls[ev.index()].match = node;
            }
            node.prev = tail;
            tail.next = node;
            tail = node;
        }
        return head;
    }

    /** Removes a call and its return (if any) from the list. */
    private static void lift(Node call) {
        call.prev.next = call.next;
        if (call.next != null) {
            call.next.prev = call.prev;
        }
        Node ret = call.match;
        if (ret != null) {
            ret.prev.next = ret.next;
            if (ret.next != null) {
                ret.next.prev = ret.prev;
            }
        }
    }

    /** Puts a lifted call and its return back, in reverse order of removal. */
    private static void unlift(Node call) {
        Node ret = call.match;
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

    private static final class Node {
        final Op op;
        final boolean isCall;
        final int index;
        Node match;
        Node prev;
        Node next;

        Node(Op op, boolean isCall, int index) {
            this.op = op;
            this.isCall = isCall;
            this.index = index;
        }
    }

    private record Frame(Node call, String stateBefore) {
    }

    private record CacheKey(BitSet linearized, String state) {
    }
}
