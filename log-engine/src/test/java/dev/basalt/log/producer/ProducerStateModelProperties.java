package dev.basalt.log.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Goal: the producer-state machine ({@link ProducerStateManager}) decides every batch exactly as a
 * straightforward reference does, through appends, retries (duplicates, inside and beyond the
 * window of 5), gaps, stale epochs, epoch bumps (KIP-360), truncation (rebuild from the newest
 * snapshot at or below the cut plus replay of the log), snapshots (encode, decode, restore and
 * replay must equal the live state) and expiry.
 *
 * <p>Method: the reference keeps the whole log (every stored batch) and derives a producer's state
 * by scanning it: its history is its batches after the point it last expired; its epoch is that of
 * its newest batch; its window is the newest 5 runs (batches stored back to back) of the trailing
 * stretch of that epoch, and a retry is a duplicate when its sequences lie inside one of them. A seeded random run of
 * {@value #STEPS} steps drives both and compares each decision and, after every step, the whole
 * state.
 *
 * <p>Reproduce: a failure prints its seed; run {@code ./mvnw -B -ntp -o -pl log-engine -am verify
 * -Dtest=ProducerStateModelProperties#replay -Dbasalt.seed=SEED -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ProducerStateModelProperties {
    private static final int STEPS = 400;
    private static final long EXPIRATION_MS = 1_000;

    @Property(tries = 300)
    void stateMatchesReference(@ForAll long seed) {
        runOne(seed);
    }

    /** Replays one run given as {@code -Dbasalt.seed=SEED} (skipped when unset). */
    @Test
    void replay() {
        String spec = System.getProperty("basalt.seed", "");
        Assumptions.assumeFalse(spec.isBlank(), "set -Dbasalt.seed=SEED to replay one run");
        runOne(Long.parseLong(spec.trim()));
    }

    private static void runOne(long seed) {
        try {
            new Run(seed).run();
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("producer-state run failed with seed " + seed + "; replay: ./mvnw -B -ntp -o -pl log-engine -am"
                    + " verify -Dtest=ProducerStateModelProperties#replay -Dbasalt.seed=" + seed
                    + " -Dsurefire.failIfNoSpecifiedTests=false", e);
        }
    }

    /** A batch in the log (the reference's whole truth). */
    private record Stored(long pid, short epoch, int firstSeq, int count, long firstOffset, long lastOffset, long maxTs) {
        int lastSeq() {
            return Sequences.last(firstSeq, count);
        }
    }

    /** A snapshot taken by the system under test plus what the reference needs to mirror it. */
    private record Snap(byte[] bytes, int logSize, Map<Long, Integer> expiredFrom) {
    }

    /** What a check decided. */
    private sealed interface Decision {
    }

    private record Append() implements Decision {
    }

    private record Duplicate(long firstOffset, long lastOffset) implements Decision {
    }

    private record Refused(String what) implements Decision {
    }

    private static final class Run {
        private final SplittableRandom random;
        private final long seed;
        private final ProducerStateManager sut = new ProducerStateManager(10_000);
        private final List<Stored> log = new ArrayList<>();
        /** Per producer: index into the log before which its history was forgotten (expiry). */
        private Map<Long, Integer> expiredFrom = new HashMap<>();
        private final List<Snap> snapshots = new ArrayList<>();
        /** What each producer "thinks" it is (the client side): epoch and next sequence. */
        private final Map<Long, short[]> epochOf = new HashMap<>();
        private final Map<Long, int[]> nextSeqOf = new HashMap<>();
        private long nowMs = 1_000_000;
        private final int producerCount;
        private final boolean wrapSequences;

        Run(long seed) {
            this.seed = seed;
            this.random = new SplittableRandom(seed);
            this.producerCount = 1 + random.nextInt(6);
            this.wrapSequences = random.nextInt(4) == 0;
        }

        void run() {
            for (int step = 0; step < STEPS; step++) {
                int action = random.nextInt(100);
                if (action < 45) {
                    sendNext();
                } else if (action < 60) {
                    retryOld();
                } else if (action < 66) {
                    sendWithGap();
                } else if (action < 71) {
                    bumpEpoch();
                } else if (action < 75) {
                    sendStaleEpoch();
                } else if (action < 82) {
                    takeSnapshot();
                } else if (action < 88) {
                    truncate();
                } else if (action < 93) {
                    expire();
                } else {
                    restoreFromNewestSnapshot();
                }
                nowMs += random.nextInt(50);
                assertEquals(reference(), sut.entries(), "state after step " + step + " (seed " + seed + ")");
            }
        }

        private long pickProducer() {
            long pid = 100 + random.nextInt(producerCount);
            epochOf.computeIfAbsent(pid, p -> new short[] {(short) random.nextInt(3)});
            nextSeqOf.computeIfAbsent(pid, p -> new int[] {wrapSequences ? Integer.MAX_VALUE - random.nextInt(20) : 0});
            return pid;
        }

        private void sendNext() {
            long pid = pickProducer();
            int count = 1 + random.nextInt(4);
            Decision d = send(pid, epochOf.get(pid)[0], nextSeqOf.get(pid)[0], count);
            if (d instanceof Append) {
                nextSeqOf.get(pid)[0] = Sequences.add(nextSeqOf.get(pid)[0], count);
            }
        }

        /** Resends one of the producer's stored batches of its current epoch: within the window a duplicate, older a gap. */
        private void retryOld() {
            long pid = pickProducer();
            List<Stored> mine = new ArrayList<>();
            for (Stored s : log) {
                if (s.pid() == pid && s.epoch() == epochOf.get(pid)[0]) {
                    mine.add(s);
                }
            }
            if (mine.isEmpty()) {
                sendNext();
                return;
            }
            Stored old = mine.get(mine.size() - 1 - random.nextInt(Math.min(mine.size(), 8)));
            send(pid, old.epoch(), old.firstSeq(), old.count());
        }

        private void sendWithGap() {
            long pid = pickProducer();
            send(pid, epochOf.get(pid)[0], Sequences.add(nextSeqOf.get(pid)[0], 1 + random.nextInt(3)), 1 + random.nextInt(3));
        }

        /** KIP-360: a new epoch restarts at 0 (and sometimes wrongly does not). */
        private void bumpEpoch() {
            long pid = pickProducer();
            short e = (short) (epochOf.get(pid)[0] + 1);
            int first = random.nextInt(5) == 0 ? 1 + random.nextInt(5) : 0;
            int count = 1 + random.nextInt(3);
            Decision d = send(pid, e, first, count);
            if (d instanceof Append) {
                epochOf.get(pid)[0] = e;
                nextSeqOf.get(pid)[0] = Sequences.add(first, count);
            }
        }

        private void sendStaleEpoch() {
            long pid = pickProducer();
            short e = epochOf.get(pid)[0];
            if (e == 0) {
                sendNext();
                return;
            }
            send(pid, (short) (e - 1 - random.nextInt(e)), random.nextInt(10), 1);
        }

        private Decision send(long pid, short epoch, int firstSeq, int count) {
            long first = log.isEmpty() ? 0 : log.get(log.size() - 1).lastOffset() + 1;
            long last = first + count - 1;
            long maxTs = nowMs - random.nextInt(20);
            Decision expected = decideReference(pid, epoch, firstSeq, count);
            Decision actual;
            ProducerStateManager.LeaderAppend append = sut.leaderAppend();
            try {
                Optional<BatchMetadata> dup = append.check(pid, epoch, firstSeq, count, first, last, maxTs);
                actual = dup.<Decision>map(m -> new Duplicate(m.firstOffset(), m.lastOffset())).orElse(new Append());
            } catch (OutOfOrderSequenceException e) {
                actual = new Refused("out-of-order");
            } catch (InvalidProducerEpochException e) {
                actual = new Refused("invalid-epoch");
            }
            assertEquals(expected, actual, "decision for producer " + pid + " epoch " + epoch + " seq " + firstSeq + "+" + count);
            if (actual instanceof Append) {
                append.commit();
                log.add(new Stored(pid, epoch, firstSeq, count, first, last, maxTs));
            }
            return actual;
        }

        private void takeSnapshot() {
            long offset = log.isEmpty() ? 0 : log.get(log.size() - 1).lastOffset() + 1;
            snapshots.add(new Snap(sut.snapshot(offset).encode(), log.size(), new HashMap<>(expiredFrom)));
        }

        /** As the log does on truncation: drop snapshots above the cut, restore the newest one left, replay the rest. */
        private void truncate() {
            if (log.isEmpty()) {
                return;
            }
            int keep = random.nextInt(log.size() + 1);
            log.subList(keep, log.size()).clear();
            snapshots.removeIf(s -> s.logSize() > keep);
            restoreFromNewestSnapshot();
        }

        private void restoreFromNewestSnapshot() {
            Snap snap = snapshots.isEmpty() ? null : snapshots.get(snapshots.size() - 1);
            ProducerStateSnapshot decoded = snap == null ? null : ProducerStateSnapshot.decode(snap.bytes());
            sut.restore(Optional.ofNullable(decoded));
            int from = snap == null ? 0 : snap.logSize();
            if (decoded != null) {
                long expectedOffset = from == 0 ? 0 : log.get(from - 1).lastOffset() + 1;
                assertEquals(expectedOffset, decoded.offset(), "snapshot offset");
            }
            for (Stored s : log.subList(from, log.size())) {
                sut.replay(s.pid(), s.epoch(), s.firstSeq(), s.count(), s.firstOffset(), s.lastOffset(), s.maxTs());
            }
            // The reference forgets what the restored state forgot: expiry after the snapshot is undone.
            expiredFrom = snap == null ? new HashMap<>() : new HashMap<>(snap.expiredFrom());
        }

        private void expire() {
            long now = nowMs + random.nextInt((int) EXPIRATION_MS * 2);
            Map<Long, List<Stored>> history = histories();
            int expected = 0;
            for (Map.Entry<Long, List<Stored>> e : history.entrySet()) {
                long last = e.getValue().stream().mapToLong(Stored::maxTs).max().orElseThrow();
                if (now - last >= EXPIRATION_MS) {
                    expiredFrom.put(e.getKey(), log.size());
                    expected++;
                }
            }
            assertEquals(expected, sut.removeExpired(now, EXPIRATION_MS), "expired producers");
        }

        // ---------------------------------------------------------------- the reference

        private Map<Long, List<Stored>> histories() {
            Map<Long, List<Stored>> out = new TreeMap<>();
            for (int i = 0; i < log.size(); i++) {
                Stored s = log.get(i);
                if (i >= expiredFrom.getOrDefault(s.pid(), 0)) {
                    out.computeIfAbsent(s.pid(), p -> new ArrayList<>()).add(s);
                }
            }
            return out;
        }

        private Decision decideReference(long pid, short epoch, int firstSeq, int count) {
            List<Stored> h = histories().get(pid);
            if (h == null) {
                return new Append();
            }
            short current = h.get(h.size() - 1).epoch();
            if (epoch < current) {
                return new Refused("invalid-epoch");
            }
            if (epoch > current) {
                return firstSeq == 0 ? new Append() : new Refused("out-of-order");
            }
            List<BatchMetadata> window = window(h);
            int lastSeq = Sequences.last(firstSeq, count);
            for (BatchMetadata r : window) {
                boolean wraps = r.firstSeq() > r.lastSeq() || firstSeq > lastSeq;
                if (wraps ? r.firstSeq() == firstSeq && r.lastSeq() == lastSeq
                        : firstSeq >= r.firstSeq() && lastSeq <= r.lastSeq()) {
                    long first = r.firstOffset() + (wraps ? 0 : firstSeq - r.firstSeq());
                    return new Duplicate(first, wraps ? r.lastOffset() : first + (lastSeq - firstSeq));
                }
            }
            int expectedNext = Sequences.next(window.get(window.size() - 1).lastSeq());
            return firstSeq == expectedNext ? new Append() : new Refused("out-of-order");
        }

        /**
         * The last 5 runs of the trailing run of the newest epoch (an older epoch after a newer one
         * means the leader had forgotten the producer and started it afresh); a run is batches
         * stored back to back (sequence and offset each following on), never across the wrap.
         */
        private static List<BatchMetadata> window(List<Stored> h) {
            short current = h.get(h.size() - 1).epoch();
            int start = h.size() - 1;
            while (start > 0 && h.get(start - 1).epoch() == current) {
                start--;
            }
            List<BatchMetadata> runs = new ArrayList<>();
            for (Stored s : h.subList(start, h.size())) {
                BatchMetadata b = new BatchMetadata(s.firstSeq(), s.lastSeq(), s.firstOffset(), s.lastOffset(), s.maxTs());
                BatchMetadata last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
                boolean extends_ = last != null && last.firstSeq() <= last.lastSeq() && b.firstSeq() <= b.lastSeq()
                        && (long) last.lastSeq() + 1 == b.firstSeq() && last.lastOffset() + 1 == b.firstOffset();
                if (extends_) {
                    runs.set(runs.size() - 1, new BatchMetadata(last.firstSeq(), b.lastSeq(), last.firstOffset(), b.lastOffset(),
                            Math.max(last.maxTimestamp(), b.maxTimestamp())));
                } else {
                    runs.add(b);
                }
            }
            return runs.subList(Math.max(0, runs.size() - ProducerStateManager.RUNS_PER_PRODUCER), runs.size());
        }

        private List<ProducerStateEntry> reference() {
            List<ProducerStateEntry> out = new ArrayList<>();
            histories().forEach((pid, h) -> {
                List<BatchMetadata> batches = window(h);
                long ts = h.stream().mapToLong(Stored::maxTs).max().orElseThrow();
                out.add(new ProducerStateEntry(pid, h.get(h.size() - 1).epoch(), batches, ts));
            });
            return out;
        }
    }
}
