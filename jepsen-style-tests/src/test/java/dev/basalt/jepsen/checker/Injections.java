package dev.basalt.jepsen.checker;

import dev.basalt.jepsen.history.Fn;
import dev.basalt.jepsen.history.History;
import dev.basalt.jepsen.history.Msg;
import dev.basalt.jepsen.history.Op;
import dev.basalt.jepsen.history.OpType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Plants exactly one anomaly into a valid history from {@link ValidQueueHistories}. Each injection
 * picks its site with the given random source among the sites where the planted fault cannot
 * also look like another anomaly (the conditions are stated per method), and returns empty when
 * the history has no such site.
 *
 * <p>Thread-safety: stateless.
 */
final class Injections {
    private Injections() {
    }

    static Optional<History> inject(Anomaly a, History h, Random r) {
        List<Op> ops = new ArrayList<>(h.ops());
        Optional<List<Op>> out = switch (a) {
            case INCONSISTENT_OFFSETS -> inconsistentOffset(ops, h, r);
            case DUPLICATE -> appendAfterMax(ops, h, r, false);
            case PHANTOM -> appendAfterMax(ops, h, r, true);
            case LOST_WRITE -> hideAcked(ops, h, r, false);
            case UNSEEN -> hideAcked(ops, h, r, true);
            case G1A -> failReadSend(ops, h, r);
            case POLL_SKIP -> editPoll(ops, h, r, 2, true, (recs) -> recs.subList(1, recs.size()));
            case NONMONOTONIC_POLL -> prependPrevious(ops, h, r);
            case INT_POLL_SKIP -> editPoll(ops, h, r, 3, false, recs -> {
                List<Msg> l = new ArrayList<>(recs);
                l.remove(1);
                return l;
            });
            case INT_NONMONOTONIC_POLL -> editPoll(ops, h, r, 1, false, recs -> {
                List<Msg> l = new ArrayList<>(recs);
                l.add(1, recs.get(0));
                return l;
            });
            case NONMONOTONIC_SEND -> swapAcrossSends(ops, h, r);
            case INT_SEND_SKIP -> intSendSkip(ops, h, r);
            case INT_NONMONOTONIC_SEND -> swapInsideSend(ops, h, r);
            case LOST_ON_NODE -> dropFromReplica(ops, r);
            case NONMONOTONIC_COMMIT -> lowerCommit(ops, h, r);
            case DOUBLE_OWNER -> doubleOwner(ops, h, r);
        };
        return out.map(History::of);
    }

    // ------------------------------------------------------------------ helpers

    private static <T> Optional<T> pick(List<T> candidates, Random r) {
        return candidates.isEmpty() ? Optional.empty() : Optional.of(candidates.get(r.nextInt(candidates.size())));
    }

    private static List<History.Pair> okPolls(History h) {
        return h.pairs().stream().filter(p -> p.f() == Fn.POLL && p.outcome() == OpType.OK).toList();
    }

    /** How many polls returned each (key, offset). */
    private static Map<String, Integer> readCounts(History h) {
        Map<String, Integer> c = new HashMap<>();
        okPolls(h).forEach(p -> p.completion().values().forEach(m -> c.merge(m.key() + "@" + m.offset(), 1, Integer::sum)));
        return c;
    }

    private static long maxOffset(History h, String key) {
        long max = -1;
        for (History.Pair p : h.pairs()) {
            if ((p.f() == Fn.POLL || p.f() == Fn.SEND) && p.outcome() == OpType.OK) {
                for (Msg m : p.completion().values()) {
                    if (m.key().equals(key)) {
                        max = Math.max(max, m.offset());
                    }
                }
            }
        }
        return max;
    }

    /** Replaces every message of polls, acked sends and final reads through {@code f}. */
    private static List<Op> mapMessages(List<Op> ops, UnaryOperator<Msg> pollOrReplica, Map<Long, UnaryOperator<Msg>> ackByOpIndex) {
        List<Op> out = new ArrayList<>(ops.size());
        for (Op op : ops) {
            if (op.type() == OpType.OK && (op.f() == Fn.POLL || op.f() == Fn.FINAL_READ)) {
                out.add(op.withValues(op.values().stream().map(pollOrReplica).toList()));
            } else if (op.type() == OpType.OK && op.f() == Fn.SEND && ackByOpIndex.containsKey(op.index())) {
                out.add(op.withValues(op.values().stream().map(ackByOpIndex.get(op.index())).toList()));
            } else {
                out.add(op);
            }
        }
        return out;
    }

    /** Swaps the values at offsets {@code o1} and {@code o2} of {@code key} in every observation, moving two acks accordingly. */
    private static List<Op> swapEverywhere(List<Op> ops, String key, long o1, long v1, long o2, long v2, long ack1Index,
                                           long ack2Index) {
        UnaryOperator<Msg> reads = m -> !m.key().equals(key) ? m
                : m.offset() == o1 && m.value() == v1 ? m.withValue(v2)
                : m.offset() == o2 && m.value() == v2 ? m.withValue(v1) : m;
        UnaryOperator<Msg> acks = m -> !m.key().equals(key) ? m
                : m.value() == v1 ? m.withOffset(o2)
                : m.value() == v2 ? m.withOffset(o1) : m;
        Map<Long, UnaryOperator<Msg>> byOp = new HashMap<>();
        byOp.put(ack1Index, acks);
        byOp.put(ack2Index, acks);
        return mapMessages(ops, reads, byOp);
    }

    private static List<Msg> ofKey(Op op, String key) {
        return op.values().stream().filter(m -> m.key().equals(key)).toList();
    }

    /** {@code op}'s values with those of {@code key} replaced by {@code replacement} (kept at the place of the first). */
    private static List<Msg> replaceKey(Op op, String key, List<Msg> replacement) {
        List<Msg> out = new ArrayList<>();
        boolean placed = false;
        for (Msg m : op.values()) {
            if (!m.key().equals(key)) {
                out.add(m);
            } else if (!placed) {
                out.addAll(replacement);
                placed = true;
            }
        }
        return out;
    }

    private static int at(List<Op> ops, Op op) {
        return (int) op.index();
    }

    // ------------------------------------------------------------------ injections

    /** A poll returns, at an offset other polls read too, an indeterminate send's value that was never written. */
    private static Optional<List<Op>> inconsistentOffset(List<Op> ops, History h, Random r) {
        Set<Long> read = new HashSet<>();
        okPolls(h).forEach(p -> p.completion().values().forEach(m -> read.add(m.value())));
        List<Long> unwritten = h.pairs().stream().filter(p -> p.f() == Fn.SEND && p.outcome() == OpType.INFO)
                .flatMap(p -> p.invoke().values().stream()).map(Msg::value).filter(v -> !read.contains(v)).toList();
        Map<String, Integer> counts = readCounts(h);
        List<long[]> sites = new ArrayList<>(); // [poll completion index, position in values]
        for (History.Pair p : okPolls(h)) {
            List<Msg> v = p.completion().values();
            for (int i = 0; i < v.size(); i++) {
                if (counts.get(v.get(i).key() + "@" + v.get(i).offset()) >= 2) {
                    sites.add(new long[] {p.completion().index(), i});
                }
            }
        }
        if (unwritten.isEmpty() || sites.isEmpty()) {
            return Optional.empty();
        }
        long z = unwritten.get(r.nextInt(unwritten.size()));
        long[] site = sites.get(r.nextInt(sites.size()));
        Op poll = ops.get((int) site[0]);
        List<Msg> values = new ArrayList<>(poll.values());
        values.set((int) site[1], values.get((int) site[1]).withValue(z));
        ops.set((int) site[0], poll.withValues(values));
        return Optional.of(ops);
    }

    /** A poll that ended at a key's last offset returns one more record: a value already stored elsewhere, or one never sent. */
    private static Optional<List<Op>> appendAfterMax(List<Op> ops, History h, Random r, boolean phantom) {
        List<Op> sites = new ArrayList<>();
        for (History.Pair p : okPolls(h)) {
            List<Msg> v = p.completion().values();
            if (!v.isEmpty()) {
                Msg last = v.get(v.size() - 1);
                if (last.offset() == maxOffset(h, last.key())) {
                    sites.add(p.completion());
                }
            }
        }
        Optional<Op> site = pick(sites, r);
        if (site.isEmpty()) {
            return Optional.empty();
        }
        Op poll = site.get();
        Msg last = poll.values().get(poll.values().size() - 1);
        long value;
        if (phantom) {
            value = Long.MAX_VALUE / 2 + r.nextInt(1000);
        } else {
            List<Msg> anyRead = okPolls(h).stream().flatMap(p -> p.completion().values().stream()).toList();
            value = anyRead.get(r.nextInt(anyRead.size())).value();
        }
        List<Msg> values = new ArrayList<>(poll.values());
        values.add(new Msg(last.key(), last.offset() + 1, value));
        ops.set(at(ops, poll), poll.withValues(values));
        return Optional.of(ops);
    }

    /**
     * An acknowledged record is removed from every poll: below the key's highest read offset it is
     * a lost write; at the key's last offset (nothing read after it) it is unseen.
     */
    private static Optional<List<Op>> hideAcked(List<Op> ops, History h, Random r, boolean tail) {
        List<Msg> candidates = new ArrayList<>();
        for (History.Pair p : h.pairs()) {
            if (p.f() == Fn.SEND && p.outcome() == OpType.OK) {
                for (Msg m : p.completion().values()) {
                    long max = maxOffset(h, m.key());
                    if (tail ? m.offset() == max : m.offset() < max) {
                        candidates.add(m);
                    }
                }
            }
        }
        Optional<Msg> victim = pick(candidates, r);
        if (victim.isEmpty()) {
            return Optional.empty();
        }
        Msg v = victim.get();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            if (op.f() == Fn.POLL && op.type() == OpType.OK) {
                ops.set(i, op.withValues(op.values().stream().filter(m -> !(m.key().equals(v.key()) && m.offset() == v.offset())).toList()));
            }
        }
        return Optional.of(ops);
    }

    /** An acknowledged single-value send whose value was read becomes a definite failure. */
    private static Optional<List<Op>> failReadSend(List<Op> ops, History h, Random r) {
        Set<Long> read = new HashSet<>();
        okPolls(h).forEach(p -> p.completion().values().forEach(m -> read.add(m.value())));
        List<History.Pair> sites = h.pairs().stream().filter(p -> p.f() == Fn.SEND && p.outcome() == OpType.OK
                && p.invoke().values().size() == 1 && read.contains(p.invoke().values().get(0).value())).toList();
        return pick(sites, r).map(p -> {
            Op c = p.completion();
            ops.set(at(ops, c), c.withType(OpType.FAIL).withValues(p.invoke().values()).withError("injected definite failure"));
            return ops;
        });
    }

    /**
     * Edits one poll's records of one key through {@code edit}: the poll is by an assign-based
     * consumer (never reassigned), has at least {@code recordsMin} records of the key and, when
     * {@code needsPrevious}, an earlier poll of that key by the same process; every record the
     * edit removes was read by at least one other poll.
     */
    private static Optional<List<Op>> editPoll(List<Op> ops, History h, Random r, int recordsMin, boolean needsPrevious,
                                               UnaryOperator<List<Msg>> edit) {
        Map<String, Integer> counts = readCounts(h);
        Set<Integer> members = new HashSet<>();
        h.pairs().stream().filter(p -> p.f() == Fn.ASSIGN && !p.invoke().group().isEmpty()).forEach(p -> members.add(p.process()));
        Map<Integer, Set<String>> polledBefore = new HashMap<>();
        List<Object[]> sites = new ArrayList<>();
        for (History.Pair p : okPolls(h)) {
            if (members.contains(p.process())) {
                continue;
            }
            Set<String> before = polledBefore.computeIfAbsent(p.process(), x -> new HashSet<>());
            for (String key : p.completion().values().stream().map(Msg::key).distinct().toList()) {
                List<Msg> recs = ofKey(p.completion(), key);
                boolean readElsewhere = recs.stream().allMatch(m -> counts.get(m.key() + "@" + m.offset()) >= 2);
                if (recs.size() >= recordsMin && (!needsPrevious || before.contains(key)) && readElsewhere) {
                    sites.add(new Object[] {p.completion(), key});
                }
                before.add(key);
            }
        }
        return pick(sites, r).map(s -> {
            Op poll = (Op) s[0];
            String key = (String) s[1];
            ops.set(at(ops, poll), poll.withValues(replaceKey(poll, key, edit.apply(ofKey(poll, key)))));
            return ops;
        });
    }

    /** A consumer's poll starts again at the record its previous poll of the key ended with. */
    private static Optional<List<Op>> prependPrevious(List<Op> ops, History h, Random r) {
        Set<Integer> members = new HashSet<>();
        h.pairs().stream().filter(p -> p.f() == Fn.ASSIGN && !p.invoke().group().isEmpty()).forEach(p -> members.add(p.process()));
        Map<String, Msg> lastOf = new HashMap<>();
        List<Object[]> sites = new ArrayList<>();
        for (History.Pair p : okPolls(h)) {
            if (members.contains(p.process())) {
                continue;
            }
            for (String key : p.completion().values().stream().map(Msg::key).distinct().toList()) {
                List<Msg> recs = ofKey(p.completion(), key);
                Msg prev = lastOf.get(p.process() + "|" + key);
                if (prev != null) {
                    sites.add(new Object[] {p.completion(), key, prev});
                }
                lastOf.put(p.process() + "|" + key, recs.get(recs.size() - 1));
            }
        }
        return pick(sites, r).map(s -> {
            Op poll = (Op) s[0];
            String key = (String) s[1];
            List<Msg> recs = new ArrayList<>(ofKey(poll, key));
            recs.add(0, (Msg) s[2]);
            ops.set(at(ops, poll), poll.withValues(replaceKey(poll, key, recs)));
            return ops;
        });
    }

    /** Acked sends with exactly one value to {@code key}, per process, in process order. */
    private static Map<String, List<History.Pair>> singleSendsByProcessAndKey(History h) {
        Map<String, List<History.Pair>> out = new HashMap<>();
        Map<String, List<History.Pair>> all = new HashMap<>();
        for (History.Pair p : h.pairs()) {
            if (p.f() == Fn.SEND && p.outcome() == OpType.OK) {
                for (String key : p.completion().values().stream().map(Msg::key).distinct().toList()) {
                    all.computeIfAbsent(p.process() + "|" + key, x -> new ArrayList<>()).add(p);
                }
            }
        }
        all.forEach((k, list) -> out.put(k, list));
        return out;
    }

    /** Two consecutive sends of one process to one key (one value each) trade their offsets everywhere. */
    private static Optional<List<Op>> swapAcrossSends(List<Op> ops, History h, Random r) {
        List<Object[]> sites = new ArrayList<>();
        singleSendsByProcessAndKey(h).forEach((pk, list) -> {
            String key = pk.substring(pk.indexOf('|') + 1);
            for (int i = 1; i < list.size(); i++) {
                List<Msg> a = ofKey(list.get(i - 1).completion(), key);
                List<Msg> b = ofKey(list.get(i).completion(), key);
                if (a.size() == 1 && b.size() == 1) {
                    sites.add(new Object[] {key, list.get(i - 1).completion(), a.get(0), list.get(i).completion(), b.get(0)});
                }
            }
        });
        return pick(sites, r).map(s -> {
            Msg a = (Msg) s[2];
            Msg b = (Msg) s[4];
            return swapEverywhere(ops, (String) s[0], a.offset(), a.value(), b.offset(), b.value(), ((Op) s[1]).index(),
                    ((Op) s[3]).index());
        });
    }

    /** A send op with exactly two values to a key: they trade offsets everywhere. */
    private static Optional<List<Op>> swapInsideSend(List<Op> ops, History h, Random r) {
        List<Object[]> sites = new ArrayList<>();
        for (History.Pair p : h.pairs()) {
            if (p.f() == Fn.SEND && p.outcome() == OpType.OK) {
                for (String key : p.completion().values().stream().map(Msg::key).distinct().toList()) {
                    List<Msg> recs = ofKey(p.completion(), key);
                    if (recs.size() == 2) {
                        sites.add(new Object[] {key, p.completion(), recs.get(0), recs.get(1)});
                    }
                }
            }
        }
        return pick(sites, r).map(s -> {
            Msg a = (Msg) s[2];
            Msg b = (Msg) s[3];
            long idx = ((Op) s[1]).index();
            return swapEverywhere(ops, (String) s[0], a.offset(), a.value(), b.offset(), b.value(), idx, idx);
        });
    }

    /**
     * A send op whose last two values to a key sit at o, o+1 trades the second with the record at
     * o+2, which is the only value to the key of an acked send of another process whose previous
     * acked send to the key is below o: the op's values are no longer contiguous, nothing else moves
     * out of order.
     */
    private static Optional<List<Op>> intSendSkip(List<Op> ops, History h, Random r) {
        Map<String, Object[]> ackAt = new HashMap<>(); // key@offset → [pair, msg]
        Map<String, List<History.Pair>> byProcKey = singleSendsByProcessAndKey(h);
        for (History.Pair p : h.pairs()) {
            if (p.f() == Fn.SEND && p.outcome() == OpType.OK) {
                p.completion().values().forEach(m -> ackAt.put(m.key() + "@" + m.offset(), new Object[] {p, m}));
            }
        }
        List<Object[]> sites = new ArrayList<>();
        for (History.Pair p : h.pairs()) {
            if (p.f() != Fn.SEND || p.outcome() != OpType.OK) {
                continue;
            }
            for (String key : p.completion().values().stream().map(Msg::key).distinct().toList()) {
                List<Msg> recs = ofKey(p.completion(), key);
                if (recs.size() < 2) {
                    continue;
                }
                Msg a = recs.get(recs.size() - 2);
                Msg b = recs.get(recs.size() - 1);
                Object[] next = ackAt.get(key + "@" + (b.offset() + 1));
                if (next == null || b.offset() != a.offset() + 1) {
                    continue;
                }
                History.Pair other = (History.Pair) next[0];
                if (other.process() == p.process() || ofKey(other.completion(), key).size() != 1) {
                    continue;
                }
                List<History.Pair> otherSends = byProcKey.get(other.process() + "|" + key);
                int i = otherSends.indexOf(other);
                long prevOffset = i == 0 ? -1 : ofKey(otherSends.get(i - 1).completion(), key).stream().mapToLong(Msg::offset).max()
                        .orElse(-1);
                if (prevOffset < a.offset()) {
                    sites.add(new Object[] {key, p.completion(), b, other.completion(), next[1]});
                }
            }
        }
        return pick(sites, r).map(s -> {
            Msg b = (Msg) s[2];
            Msg c = (Msg) s[4];
            return swapEverywhere(ops, (String) s[0], b.offset(), b.value(), c.offset(), c.value(), ((Op) s[1]).index(),
                    ((Op) s[3]).index());
        });
    }

    /** One replica's final read loses a record below its high watermark. */
    private static Optional<List<Op>> dropFromReplica(List<Op> ops, Random r) {
        List<Integer> sites = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            if (op.f() == Fn.FINAL_READ && op.type() == OpType.OK && !op.values().isEmpty()) {
                sites.add(i);
            }
        }
        return pick(sites, r).map(i -> {
            Op op = ops.get(i);
            List<Msg> values = new ArrayList<>(op.values());
            values.remove(r.nextInt(values.size()));
            ops.set(i, op.withValues(values));
            return ops;
        });
    }

    private record CommitSite(Op invoke, Op completion, Msg msg) {
    }

    private static List<CommitSite> commits(History h) {
        List<CommitSite> out = new ArrayList<>();
        for (History.Pair p : h.pairs()) {
            if (p.f() == Fn.COMMIT && p.outcome() == OpType.OK) {
                p.invoke().values().forEach(m -> out.add(new CommitSite(p.invoke(), p.completion(), m)));
            }
        }
        return out;
    }

    /** A group commit of a key goes below an earlier, completed commit of the key. */
    private static Optional<List<Op>> lowerCommit(List<Op> ops, History h, Random r) {
        List<CommitSite> all = commits(h);
        List<CommitSite[]> sites = new ArrayList<>();
        for (CommitSite a : all) {
            for (CommitSite b : all) {
                if (a.msg().key().equals(b.msg().key()) && a.completion().index() < b.invoke().index() && a.msg().offset() >= 1) {
                    sites.add(new CommitSite[] {a, b});
                }
            }
        }
        return pick(sites, r).map(s -> {
            CommitSite a = s[0];
            CommitSite b = s[1];
            UnaryOperator<Msg> lower = m -> m.key().equals(b.msg().key()) ? m.withOffset(a.msg().offset() - 1) : m;
            ops.set(at(ops, b.invoke()), b.invoke().withValues(b.invoke().values().stream().map(lower).toList()));
            ops.set(at(ops, b.completion()), b.completion().withValues(b.completion().values().stream().map(lower).toList()));
            return ops;
        });
    }

    /**
     * A member that handed a key over keeps it (its revoking assignment still lists the key) and,
     * after the new owner's commit of the key was accepted, commits the key too (at the highest
     * offset committed so far, so offsets never go backwards).
     */
    private static Optional<List<Op>> doubleOwner(List<Op> ops, History h, Random r) {
        List<Object[]> sites = new ArrayList<>();
        Map<Integer, Set<String>> assigned = new HashMap<>();
        List<History.Pair> assigns = h.pairs().stream().filter(p -> p.f() == Fn.ASSIGN && !p.invoke().group().isEmpty()).toList();
        for (History.Pair revoke : assigns) {
            Set<String> before = assigned.getOrDefault(revoke.process(), Set.of());
            Set<String> now = new HashSet<>(revoke.invoke().keys());
            assigned.put(revoke.process(), now);
            for (String key : before) {
                if (now.contains(key)) {
                    continue;
                }
                // the revoking member's next assignment change (if any) bounds where its extra commit may go
                Optional<History.Pair> next = assigns.stream()
                        .filter(p -> p.process() == revoke.process() && p.invoke().index() > revoke.invoke().index()).findFirst();
                if (next.isPresent() && next.get().invoke().keys().contains(key)) {
                    continue; // the key comes straight back: keeping it would hide the new grant
                }
                long end = next.map(p -> p.invoke().index()).orElse((long) ops.size());
                for (CommitSite c : commits(h)) {
                    if (c.msg().key().equals(key) && c.invoke().process() != revoke.process() && c.invoke().index() > revoke.invoke().index()
                            && c.completion().index() < end) {
                        sites.add(new Object[] {revoke, key, end});
                        break;
                    }
                }
            }
        }
        return pick(sites, r).map(s -> {
            History.Pair revoke = (History.Pair) s[0];
            String key = (String) s[1];
            int end = (int) (long) (Long) s[2];
            List<String> keys = new ArrayList<>(revoke.invoke().keys());
            keys.add(key);
            ops.set(at(ops, revoke.invoke()), revoke.invoke().withKeys(keys));
            ops.set(at(ops, revoke.completion()), revoke.completion().withKeys(keys));
            long maxCommitted = commits(h).stream().filter(c -> c.msg().key().equals(key) && c.completion().index() < end)
                    .mapToLong(c -> c.msg().offset()).max().orElse(0);
            Op invoke = Op.of(revoke.process(), OpType.INVOKE, Fn.COMMIT, 0, 0).withGroup(revoke.invoke().group())
                    .withValues(List.of(new Msg(key, maxCommitted, Msg.NO_VALUE)));
            ops.add(end, invoke.withType(OpType.OK));
            ops.add(end, invoke);
            return ops;
        });
    }
}
