package dev.basalt.raft.sim;

import dev.basalt.raft.core.Output;
import dev.basalt.raft.core.RaftCore;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.testkit.KvHistory;
import dev.basalt.raft.testkit.MemoryRaftStore;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * One simulated node: its store (which survives crashes, minus unflushed data), its core while up,
 * its KV state machine, and the client operations it is serving. Not thread-safe; driven by
 * {@link Simulation}'s single thread.
 *
 * <p>Entry payloads: {@code W|key|value} (a write) and {@code P|...} (a liveness probe), UTF-8.
 * Snapshot format: {@code key=value\n} lines in key order, UTF-8.
 */
final class SimNode {
    private record PendingWrite(KvHistory.Op op, long term, byte[] payload, Runnable next) {
    }

    private static final class PendingRead {
        final KvHistory.Op op;
        final Runnable next;
        long readIndex = -1;

        PendingRead(KvHistory.Op op, Runnable next) {
            this.op = op;
            this.next = next;
        }
    }

    final int id;
    final SplittableRandom random;
    final MemoryRaftStore store = new MemoryRaftStore();
    RaftCore core;
    int incarnation;
    long tickAtMs = Long.MAX_VALUE;
    boolean tearNextWrite;
    /** When positive, the node crashes right after that many more outputs (the new-leader nemesis). */
    int crashAfterOutputs;
    TreeMap<String, String> kv = new TreeMap<>();
    long applied;
    private final TreeMap<Long, PendingWrite> writes = new TreeMap<>();
    private final Map<Long, PendingRead> reads = new LinkedHashMap<>();

    SimNode(int id, SplittableRandom random) {
        this.id = id;
        this.random = random;
    }

    void submit(Simulation sim, KvHistory history, KvHistory.Op op, Runnable next, long nowMs) {
        if (op.kind() == KvHistory.Kind.WRITE) {
            byte[] payload = ("W|" + op.key() + "|" + op.value()).getBytes(StandardCharsets.UTF_8);
            Output o = core.propose(List.of(payload), nowMs);
            if (!o.proposal().accepted()) {
                history.fail(op, nowMs);
                next.run();
            } else {
                writes.put(o.proposal().firstIndex(), new PendingWrite(op, o.proposal().term(), payload, next));
            }
            sim.handle(this, o);
        } else {
            reads.put((long) op.id(), new PendingRead(op, next));
            sim.handle(this, core.readIndex(op.id(), nowMs));
        }
    }

    void apply(LogEntry e, KvHistory history, long nowMs) {
        String text = new String(e.data(), StandardCharsets.UTF_8);
        if (e.type() == LogEntry.EntryType.DATA && text.startsWith("W|")) {
            String[] parts = text.split("\\|", 3);
            kv.put(parts[1], parts[2]);
        }
        applied = e.index();
        PendingWrite w = writes.remove(e.index());
        if (w != null) {
            if (w.term == e.term() && Arrays.equals(w.payload, e.data())) {
                history.ok(w.op, null, nowMs);
            } else {
                history.fail(w.op, nowMs); // another entry committed at its index: ours never will
            }
            w.next.run();
        }
    }

    void readResult(Output.ReadResult r, KvHistory history, long nowMs) {
        PendingRead p = reads.get(r.readId());
        if (p == null) {
            return;
        }
        if (r.ok()) {
            p.readIndex = r.readIndex();
        } else {
            reads.remove(r.readId());
            history.fail(p.op, nowMs);
            p.next.run();
        }
    }

    void serveReads(KvHistory history, long nowMs) {
        List<PendingRead> done = new ArrayList<>();
        for (Iterator<PendingRead> it = reads.values().iterator(); it.hasNext(); ) {
            PendingRead p = it.next();
            if (p.readIndex >= 0 && p.readIndex <= applied) {
                it.remove();
                history.ok(p.op, kv.get(p.op.key()), nowMs);
                done.add(p);
            }
        }
        done.forEach(p -> p.next.run());
    }

    /** A client gave up on {@code op}: its outcome is unknown. */
    void timeout(KvHistory.Op op, int submittedIncarnation, KvHistory history) {
        if (op.status() != KvHistory.Status.PENDING) {
            return;
        }
        Runnable next = null;
        for (Iterator<PendingWrite> it = writes.values().iterator(); it.hasNext(); ) {
            PendingWrite w = it.next();
            if (w.op == op) {
                it.remove();
                next = w.next;
            }
        }
        PendingRead r = reads.remove((long) op.id());
        if (r != null) {
            next = r.next;
        }
        history.info(op);
        if (next != null) {
            next.run();
        }
    }

    /** Crash: every operation in flight here has an unknown outcome. */
    void failAllPending(KvHistory history) {
        List<Runnable> next = new ArrayList<>();
        for (PendingWrite w : writes.values()) {
            history.info(w.op);
            next.add(w.next);
        }
        for (PendingRead r : reads.values()) {
            history.info(r.op);
            next.add(r.next);
        }
        writes.clear();
        reads.clear();
        next.forEach(Runnable::run);
    }

    void installSnapshot(SnapshotMeta meta, byte[] data, KvHistory history, long nowMs) {
        kv = decode(data);
        applied = meta.lastIndex();
        List<Runnable> next = new ArrayList<>();
        while (!writes.isEmpty() && writes.firstKey() <= meta.lastIndex()) {
            PendingWrite w = writes.pollFirstEntry().getValue();
            history.info(w.op); // the snapshot hides which entry committed at its index
            next.add(w.next);
        }
        next.forEach(Runnable::run);
    }

    void restoreStateMachine() {
        kv = decode(store.snapshotData());
        applied = store.snapshot().lastIndex();
    }

    byte[] encodeStateMachine() {
        StringBuilder sb = new StringBuilder();
        kv.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static TreeMap<String, String> decode(byte[] data) {
        TreeMap<String, String> map = new TreeMap<>();
        for (String line : new String(data, StandardCharsets.UTF_8).split("\n")) {
            if (!line.isEmpty()) {
                int eq = line.indexOf('=');
                map.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return map;
    }
}
