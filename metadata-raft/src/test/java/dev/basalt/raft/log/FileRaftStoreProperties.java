package dev.basalt.raft.log;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.raft.testkit.FaultInjectingStorageIo;
import dev.basalt.raft.testkit.LongTestsOnly;
import dev.basalt.raft.testkit.ReplayOnFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * Model-based property of {@link FileRaftStore}: random sequences of appends (with conflict
 * truncation), snapshot installs, hard-state writes, reads, clean reopens and crashes at a random
 * byte or file operation are run against the store and against an in-memory model; after every step
 * the store must equal the model. After a crash, the reopened store must hold one of the states the
 * interrupted operation allows (old state, new state, or for an append: the old log cut anywhere
 * after the append point, or the append point followed by a prefix of the new entries) and never
 * lose anything an earlier call acknowledged.
 *
 * <p>Operations are generated as small integer tuples interpreted against the current state, so
 * every generated sequence is valid and jqwik can shrink a failure to a short one. Reproduce a failure
 * with the command the test prints (jqwik replays the stored failing sample first). The long
 * configuration ({@code -Plong-tests}) runs 3,000 sequences instead of 150.
 */
@AddLifecycleHook(ReplayOnFailure.class)
class FileRaftStoreProperties {

    /** One generated step; the ints are interpreted against the state at that point. */
    record Op(int kind, int a, int b, int c) {
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> op = Combinators.combine(Arbitraries.integers().between(0, 9),
                Arbitraries.integers().between(0, 1 << 20), Arbitraries.integers().between(0, 1 << 20),
                Arbitraries.integers().between(0, 1 << 20)).as(Op::new);
        return op.list().ofMinSize(1).ofMaxSize(40);
    }

    @Property(tries = 150)
    void storeMatchesModel(@ForAll("ops") List<Op> ops, @ForAll @IntRange(min = 100, max = 600) int segmentBytes)
            throws IOException {
        run(ops, segmentBytes);
    }

    @Property(tries = 3000)
    @AddLifecycleHook(LongTestsOnly.class)
    void storeMatchesModel_long(@ForAll("ops") List<Op> ops, @ForAll @IntRange(min = 100, max = 600) int segmentBytes)
            throws IOException {
        run(ops, segmentBytes);
    }

    private void run(List<Op> ops, int segmentBytes) throws IOException {
        Path dir = Files.createTempDirectory("raftstore");
        FileRaftStore.Config config = new FileRaftStore.Config(segmentBytes, 64, 1 << 16);
        FaultInjectingStorageIo io = new FaultInjectingStorageIo();
        FileRaftStore store = FileRaftStore.open(dir, config, io);
        Model model = new Model();
        try {
            for (Op op : ops) {
                switch (op.kind()) {
                    case 0, 1, 2 -> append(store, model, op);
                    case 3 -> snapshot(store, model, op);
                    case 4 -> hardState(store, model, op);
                    case 5 -> read(store, model, op);
                    case 6 -> {
                        store.close();
                        assertEquals(0, io.openFiles(), "files left open by close()");
                        store = FileRaftStore.open(dir, config, io);
                    }
                    default -> {
                        store = crash(store, model, op, dir, config, io);
                        io = freshIo;
                    }
                }
                assertMatches(model, store);
            }
        } finally {
            store.close();
            deleteTree(dir);
        }
        assertEquals(0, io.openFiles(), "files left open");
    }

    private FaultInjectingStorageIo freshIo;

    private static void append(RaftStore store, Model model, Op op) {
        store.appendAndFlush(plannedAppend(model, op));
        model.append(plannedAppend(model, op));
    }

    /** Entries to append: start after the commit index (committed entries are never overwritten). */
    static List<LogEntry> plannedAppend(Model model, Op op) {
        long lo = Math.max(model.firstIndex(), model.hardState.commitIndex() + 1);
        long hi = model.lastIndex() + 1;
        long from = lo + op.a() % (hi - lo + 1);
        int count = 1 + op.b() % 6;
        long term = Math.max(model.termAt(from - 1), model.maxTerm) + op.c() % 2;
        term = Math.max(term, 1);
        List<LogEntry> entries = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] data = new byte[(op.c() + i * 7) % 65];
            for (int j = 0; j < data.length; j++) {
                data[j] = (byte) (from + i + j * 31 + term);
            }
            entries.add(new LogEntry(term, from + i, LogEntry.EntryType.values()[(op.b() + i) % 3], data));
        }
        return entries;
    }

    private static void snapshot(RaftStore store, Model model, Op op) {
        SnapshotMeta meta = plannedSnapshot(model, op);
        byte[] data = snapshotData(op);
        store.installSnapshot(meta, data);
        model.installSnapshot(meta, data);
    }

    static SnapshotMeta plannedSnapshot(Model model, Op op) {
        long index = model.snapshot.lastIndex() + 1 + op.a() % (model.lastIndex() - model.snapshot.lastIndex() + 3);
        long term;
        if (index <= model.lastIndex() && op.b() % 3 != 0) {
            term = model.termAt(index); // matches the log: Raft §7 keeps the tail
        } else {
            term = model.maxTerm + 1; // from a newer leader: the whole log is discarded
            index = Math.max(index, model.hardState.commitIndex());
        }
        return new SnapshotMeta(index, term, Set.of(1, 2, 3 + op.c() % 3), op.c() % 2 == 0 ? Set.of() : Set.of(7));
    }

    static byte[] snapshotData(Op op) {
        byte[] data = new byte[op.c() % 100];
        java.util.Arrays.fill(data, (byte) op.b());
        return data;
    }

    private static void hardState(RaftStore store, Model model, Op op) {
        HardState state = plannedHardState(model, op);
        store.persistAndFlushHardState(state);
        model.hardState = state;
    }

    static HardState plannedHardState(Model model, Op op) {
        long commit = model.hardState.commitIndex();
        long commitIndex = commit + op.c() % (model.lastIndex() - commit + 1);
        long term = model.hardState.term() + op.a() % 3;
        boolean keepVote = term == model.hardState.term() && model.hardState.votedFor() != HardState.NO_VOTE;
        return new HardState(term, keepVote ? model.hardState.votedFor() : op.b() % 5 - 1, commitIndex);
    }

    private static void read(RaftStore store, Model model, Op op) {
        long first = model.firstIndex();
        long end = model.lastIndex() + 1;
        long from = first + op.a() % (end - first + 1);
        long to = from + op.b() % (end - from + 1);
        long sizeBytesMax = op.c() % 200;
        List<LogEntry> expected = new ArrayList<>();
        long bytes = 0;
        for (long i = from; i < to; i++) {
            LogEntry e = model.entry(i);
            if (!expected.isEmpty() && bytes + e.data().length > sizeBytesMax) {
                break;
            }
            expected.add(e);
            bytes += e.data().length;
        }
        assertEquals(expected, store.entries(from, to, sizeBytesMax));
    }

    /** Arms a crash, runs one mutating operation into it, reopens on a healthy layer, checks the state. */
    private FileRaftStore crash(FileRaftStore store, Model model, Op op, Path dir, FileRaftStore.Config config,
                                FaultInjectingStorageIo io) {
        Op inner = new Op(op.b() % 3, op.c(), op.a(), op.b());
        List<Model> allowed = new ArrayList<>();
        allowed.add(model.copy());
        if (op.c() % 2 == 0) {
            io.crashAfterBytes(op.a() % 500);
        } else {
            io.crashAfterOperations(op.a() % 10);
        }
        boolean completed = true;
        try {
            switch (inner.kind()) {
                case 0 -> {
                    List<LogEntry> entries = plannedAppend(model, inner);
                    allowed.addAll(model.appendCrashStates(entries));
                    store.appendAndFlush(entries);
                }
                case 1 -> {
                    SnapshotMeta meta = plannedSnapshot(model, inner);
                    Model next = model.copy();
                    next.installSnapshot(meta, snapshotData(inner));
                    allowed.add(next);
                    store.installSnapshot(meta, snapshotData(inner));
                }
                default -> {
                    Model next = model.copy();
                    next.hardState = plannedHardState(model, inner);
                    allowed.add(next);
                    store.persistAndFlushHardState(next.hardState);
                }
            }
        } catch (RaftStorageException e) {
            completed = false;
        }
        store.close();
        assertEquals(0, io.openFiles(), "files left open after a crash");
        freshIo = new FaultInjectingStorageIo();
        FileRaftStore reopened = FileRaftStore.open(dir, config, freshIo);
        Model recovered = Model.of(reopened);
        assertTrue(allowed.stream().anyMatch(recovered::sameAs), () -> "recovered " + recovered + " is none of "
                + allowed);
        if (completed) {
            assertTrue(allowed.get(allowed.size() - 1).sameAs(recovered), "a completed operation was lost");
        }
        model.become(recovered);
        return reopened;
    }

    private static void assertMatches(Model model, RaftStore store) {
        assertEquals(model.firstIndex(), store.firstIndex());
        assertEquals(model.lastIndex(), store.lastIndex());
        assertEquals(model.hardState, store.hardState());
        assertEquals(model.snapshot, store.snapshot());
        assertArrayEquals(model.snapshotData, store.snapshotData());
        for (long i = Math.max(0, model.firstIndex() - 2); i <= model.lastIndex() + 1; i++) {
            Optional<Long> expected = i == 0 || i == model.snapshot.lastIndex() || (i >= model.firstIndex()
                    && i <= model.lastIndex()) ? Optional.of(model.termAt(i)) : Optional.empty();
            assertEquals(expected, store.termAt(i), "term at " + i);
        }
        assertEquals(model.log, store.entries(model.firstIndex(), model.lastIndex() + 1, Long.MAX_VALUE));
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** The naive model: a list of entries after a snapshot, and the hard state. */
    static final class Model {
        SnapshotMeta snapshot = SnapshotMeta.NONE;
        byte[] snapshotData = new byte[0];
        List<LogEntry> log = new ArrayList<>();
        HardState hardState = HardState.INITIAL;
        long maxTerm;

        static Model of(RaftStore store) {
            Model m = new Model();
            m.snapshot = store.snapshot();
            m.snapshotData = store.snapshotData();
            m.hardState = store.hardState();
            m.log = new ArrayList<>(store.entries(store.firstIndex(), store.lastIndex() + 1, Long.MAX_VALUE));
            return m;
        }

        Model copy() {
            Model m = new Model();
            m.snapshot = snapshot;
            m.snapshotData = snapshotData;
            m.log = new ArrayList<>(log);
            m.hardState = hardState;
            m.maxTerm = maxTerm;
            return m;
        }

        void become(Model other) {
            snapshot = other.snapshot;
            snapshotData = other.snapshotData;
            log = other.log;
            hardState = other.hardState;
        }

        boolean sameAs(Model o) {
            return snapshot.equals(o.snapshot) && java.util.Arrays.equals(snapshotData, o.snapshotData)
                    && log.equals(o.log) && hardState.equals(o.hardState);
        }

        long firstIndex() {
            return snapshot.lastIndex() + 1;
        }

        long lastIndex() {
            return snapshot.lastIndex() + log.size();
        }

        LogEntry entry(long index) {
            return log.get((int) (index - firstIndex()));
        }

        long termAt(long index) {
            if (index == 0) {
                return 0;
            }
            if (index == snapshot.lastIndex()) {
                return snapshot.lastTerm();
            }
            return entry(index).term();
        }

        void append(List<LogEntry> entries) {
            long from = entries.get(0).index();
            log.subList((int) (from - firstIndex()), log.size()).clear();
            log.addAll(entries);
            entries.forEach(e -> maxTerm = Math.max(maxTerm, e.term()));
        }

        /** States a crash inside this append may leave (the old state is added by the caller). */
        List<Model> appendCrashStates(List<LogEntry> entries) {
            List<Model> states = new ArrayList<>();
            int cut = (int) (entries.get(0).index() - firstIndex());
            for (int keep = cut; keep < log.size(); keep++) {
                Model m = copy();
                m.log = new ArrayList<>(log.subList(0, keep));
                states.add(m);
            }
            for (int k = 0; k <= entries.size(); k++) {
                Model m = copy();
                m.log = new ArrayList<>(log.subList(0, cut));
                m.log.addAll(entries.subList(0, k));
                states.add(m);
            }
            return states;
        }

        void installSnapshot(SnapshotMeta meta, byte[] data) {
            boolean keep = meta.lastIndex() == snapshot.lastIndex()
                    || (meta.lastIndex() <= lastIndex() && termAt(meta.lastIndex()) == meta.lastTerm());
            if (keep) {
                log = new ArrayList<>(log.subList((int) (meta.lastIndex() - snapshot.lastIndex()), log.size()));
            } else {
                log = new ArrayList<>();
            }
            snapshot = meta;
            snapshotData = data;
            maxTerm = Math.max(maxTerm, meta.lastTerm());
        }

        @Override
        public String toString() {
            return "Model(" + snapshot + ", log " + firstIndex() + ".." + lastIndex() + " terms "
                    + log.stream().map(LogEntry::term).toList() + ", " + hardState + ")";
        }
    }
}
