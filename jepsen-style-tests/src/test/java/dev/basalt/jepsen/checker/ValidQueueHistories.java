package dev.basalt.jepsen.checker;

import dev.basalt.jepsen.history.Fn;
import dev.basalt.jepsen.history.History;
import dev.basalt.jepsen.history.Msg;
import dev.basalt.jepsen.history.Op;
import dev.basalt.jepsen.history.OpType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Generates valid queue histories from a seed, by simulating a correct Kafka-like log: senders
 * append their operation's values atomically when the send completes (OK: offsets known; FAIL:
 * nothing appended; INFO: appended or not, offsets unknown); assign-based consumers read every key
 * in order; two group members own disjoint keys, hand keys over (revoke, then grant from the
 * committed offset) and commit after polls; at the end every consumer reads to the end and three
 * replicas report their logs below their high watermarks. Processes are sequential and
 * interleaved at random. Every appended value is read by at least two consumers, so an injected
 * anomaly never hides behind a missing observation.
 *
 * <p>Thread-safety: not thread-safe; one instance per generated history.
 */
final class ValidQueueHistories {
    static final String GROUP = "g";

    private final Random random;
    private final List<Op> ops = new ArrayList<>();
    private final Map<String, List<Long>> log = new TreeMap<>();
    private final List<String> keys = new ArrayList<>();
    private long nextValue = 1;
    private long time;

    private ValidQueueHistories(long seed) {
        this.random = new Random(seed);
    }

    static History generate(long seed) {
        return new ValidQueueHistories(seed).run();
    }

    private abstract class Proc {
        final int id;
        Op open;

        Proc(int id) {
            this.id = id;
        }

        void emit(Op op) {
            ops.add(op.withTimes(1_700_000_000_000L + time, time * 1_000_000));
            time++;
        }

        /** Invokes the next op when idle, completes the open one otherwise. */
        abstract void step();
    }

    private final class Sender extends Proc {
        Sender(int id) {
            super(id);
        }

        @Override
        void step() {
            if (open == null) {
                List<Msg> values = new ArrayList<>();
                int n = 1 + random.nextInt(3);
                for (int i = 0; i < n; i++) {
                    values.add(new Msg(keys.get(random.nextInt(keys.size())), Msg.UNKNOWN_OFFSET, nextValue++));
                }
                open = Op.of(id, OpType.INVOKE, Fn.SEND, 0, 0).withValues(values);
                emit(open);
                return;
            }
            int roll = random.nextInt(100);
            if (roll < 84) {
                List<Msg> acked = new ArrayList<>();
                for (Msg m : open.values()) {
                    List<Long> l = log.get(m.key());
                    acked.add(m.withOffset(l.size()));
                    l.add(m.value());
                }
                emit(open.withType(OpType.OK).withValues(acked));
            } else if (roll < 92) {
                emit(open.withType(OpType.FAIL).withError("definite"));
            } else {
                if (random.nextBoolean()) {
                    open.values().forEach(m -> log.get(m.key()).add(m.value()));
                }
                emit(open.withType(OpType.INFO).withError("timeout"));
            }
            open = null;
        }
    }

    private class Consumer extends Proc {
        final Map<String, Long> position = new LinkedHashMap<>();
        final String group;
        boolean assignedOnce;

        Consumer(int id, String group) {
            super(id);
            this.group = group;
        }

        List<String> initialKeys() {
            return keys;
        }

        @Override
        void step() {
            if (!assignedOnce) {
                assignedOnce = true;
                initialKeys().forEach(k -> position.put(k, 0L));
                assign();
                return;
            }
            if (open == null) {
                open = Op.of(id, OpType.INVOKE, Fn.POLL, 0, 0);
                emit(open);
                return;
            }
            emit(open.withType(OpType.OK).withValues(pollSome(random.nextInt(4))));
            open = null;
        }

        void assign() {
            Op invoke = Op.of(id, OpType.INVOKE, Fn.ASSIGN, 0, 0).withKeys(List.copyOf(position.keySet())).withGroup(group);
            emit(invoke);
            emit(invoke.withType(OpType.OK));
        }

        List<Msg> pollSome(int perKeyMax) {
            List<Msg> out = new ArrayList<>();
            for (var e : position.entrySet()) {
                List<Long> l = log.get(e.getKey());
                long p = e.getValue();
                int n = (int) Math.min(perKeyMax, l.size() - p);
                for (int i = 0; i < n; i++) {
                    out.add(new Msg(e.getKey(), p + i, l.get((int) (p + i))));
                }
                e.setValue(p + n);
            }
            return out;
        }

        /** Polls until every assigned key is read to the end (final reads). */
        void drain() {
            while (position.entrySet().stream().anyMatch(e -> e.getValue() < log.get(e.getKey()).size())) {
                Op invoke = Op.of(id, OpType.INVOKE, Fn.POLL, 0, 0);
                emit(invoke);
                emit(invoke.withType(OpType.OK).withValues(pollSome(3)));
            }
        }
    }

    private final class Member extends Consumer {
        final Map<String, Long> committed;
        final List<String> start;

        Member(int id, List<String> start, Map<String, Long> committed) {
            super(id, GROUP);
            this.start = start;
            this.committed = committed;
        }

        @Override
        List<String> initialKeys() {
            return start;
        }

        @Override
        void step() {
            if (assignedOnce && open == null && random.nextInt(3) == 0 && !position.isEmpty()) {
                Op invoke = Op.of(id, OpType.INVOKE, Fn.COMMIT, 0, 0).withGroup(GROUP).withValues(position.entrySet().stream()
                        .map(e -> new Msg(e.getKey(), e.getValue(), Msg.NO_VALUE)).toList());
                emit(invoke);
                emit(invoke.withType(OpType.OK));
                position.forEach(committed::put);
                return;
            }
            super.step();
        }
    }

    private History run() {
        int keyCount = 1 + random.nextInt(3);
        for (int k = 0; k < keyCount; k++) {
            keys.add("t-" + k);
            log.put("t-" + k, new ArrayList<>());
        }
        List<Proc> procs = new ArrayList<>();
        int senders = 1 + random.nextInt(3);
        for (int i = 0; i < senders; i++) {
            procs.add(new Sender(procs.size()));
        }
        List<Consumer> consumers = new ArrayList<>();
        int consumerCount = 2 + random.nextInt(2);
        for (int i = 0; i < consumerCount; i++) {
            Consumer c = new Consumer(procs.size(), "");
            consumers.add(c);
            procs.add(c);
        }
        Map<String, Long> committed = new HashMap<>();
        List<String> firstHalf = new ArrayList<>();
        List<String> secondHalf = new ArrayList<>();
        for (int k = 0; k < keys.size(); k++) {
            (k % 2 == 0 ? firstHalf : secondHalf).add(keys.get(k));
        }
        Member a = new Member(procs.size(), firstHalf, committed);
        procs.add(a);
        Member b = new Member(procs.size(), secondHalf, committed);
        procs.add(b);
        int steps = 40 + random.nextInt(160);
        for (int s = 0; s < steps; s++) {
            if (random.nextInt(25) == 0) {
                handOff(random.nextBoolean() ? a : b, random.nextBoolean() ? b : a, committed);
            } else {
                procs.get(random.nextInt(procs.size())).step();
            }
        }
        for (Proc p : procs) {
            if (p.open != null) {
                p.step();
            }
        }
        for (Consumer c : consumers) {
            if (!c.assignedOnce) {
                c.step();
            }
            c.drain();
        }
        for (int node = 1; node <= 3; node++) {
            finalRead(node);
        }
        return History.of(ops);
    }

    /** Moves one key from {@code from} to {@code to}: revoke first, then grant from the committed offset (KIP-848). */
    private void handOff(Member from, Member to, Map<String, Long> committed) {
        if (from == to || from.open != null || to.open != null || !from.assignedOnce || !to.assignedOnce || from.position.isEmpty()) {
            return;
        }
        String key = from.position.keySet().iterator().next();
        from.position.remove(key);
        from.assign();
        to.position.put(key, committed.getOrDefault(key, 0L));
        to.assign();
    }

    private void finalRead(int node) {
        List<Msg> values = new ArrayList<>();
        Map<String, Long> hw = new TreeMap<>();
        log.forEach((key, l) -> {
            long h = Math.max(0, l.size() - random.nextInt(2));
            hw.put(key, h);
            for (int o = 0; o < h; o++) {
                values.add(new Msg(key, o, l.get(o)));
            }
        });
        int process = 1000 + node;
        Op invoke = Op.of(process, OpType.INVOKE, Fn.FINAL_READ, 0, 0);
        ops.add(invoke.withTimes(time, time));
        ops.add(invoke.withType(OpType.OK).withValues(values).withNode(node, hw).withTimes(time, time));
        time++;
    }
}
