package dev.basalt.raft.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.basalt.raft.core.RaftMessage.AppendRequest;
import dev.basalt.raft.core.RaftMessage.AppendResponse;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotRequest;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotResponse;
import dev.basalt.raft.core.RaftMessage.TimeoutNowRequest;
import dev.basalt.raft.core.RaftMessage.VoteRequest;
import dev.basalt.raft.core.RaftMessage.VoteResponse;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.quorum.Configuration;
import dev.basalt.raft.testkit.ReplayOnFailure;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * Goal: no message a peer can send (well-formed, malformed or contradictory) leaves a Raft core
 * half-way through a call. Method: from a seed, a 3-node cluster elects a leader and commits a
 * few entries; then honest traffic (ticks, deliveries, proposals) interleaves with injected
 * messages whose every field is drawn from edge values (negative, zero, current, huge), with
 * entries of random types and bytes (undecodable and overlapping membership entries among them)
 * and snapshot chunks with random member lists and offsets. Checked per injected message: it is
 * either refused with an IllegalArgumentException and the node is unchanged (term, role, log,
 * commit, configuration), or handled; and the node's next tick works. The one exception allowed is
 * the core's own safety check on a well-formed message that contradicts what it knows (a second
 * leader in a term): a {@link RaftCore.CoreFailedException} naming it, after which the node stops
 * (as the driver stops it) and the run ends; any other failure inside a call fails the property. Reproduce: a failure names the seed and the step,
 * and {@link ReplayOnFailure} prints the command that replays it.
 */
@AddLifecycleHook(ReplayOnFailure.class)
class RaftMessageFuzzProperties {

    /**
     * Found by a CI run of the property below: an append from a node claiming a higher term, whose
     * entries below the follower's commit index were skipped, went on with an entry of a term below
     * the follower's committed one and broke the core ("term goes backwards at 6").
     */
    @net.jqwik.api.Example
    void anAppendWhoseSkippedCommittedPrefixHidesALowerTerm_isRejected() {
        injectedMessagesAreRefusedWholeOrHandled(25200L);
    }

    @Property(tries = 1000)
    void injectedMessagesAreRefusedWholeOrHandled(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        RaftCoreTest.Cluster c = new RaftCoreTest.Cluster(3);
        RaftCore leader = c.elect(1);
        for (int i = 0; i < 3; i++) {
            c.record(leader.propose(List.of(new byte[] {(byte) i}), c.nowMs));
            c.deliverAll();
        }
        for (int step = 0; step < 60; step++) {
            int kind = r.nextInt(4);
            if (kind == 0) {
                int id = 1 + r.nextInt(3);
                if (!honest(c, seed, step, () -> c.tick(id, c.nowMs + r.nextInt(400)))) {
                    return;
                }
            } else if (kind == 1) {
                RaftCore any = c.cores.get(1 + r.nextInt(3));
                if (!honest(c, seed, step, () -> c.record(any.propose(List.of(new byte[] {(byte) r.nextInt()}), c.nowMs)))) {
                    return;
                }
            } else if (kind == 2) {
                int n = r.nextInt(1 + c.inFlight.size());
                for (int i = 0; i < n && !c.inFlight.isEmpty(); i++) {
                    RaftMessage m = c.inFlight.poll();
                    if (!c.cores.containsKey(m.to())) {
                        continue; // to a member only an injected configuration named
                    }
                    if (!honest(c, seed, step, () -> c.record(c.cores.get(m.to()).step(m, c.nowMs)))) {
                        return;
                    }
                }
            } else if (!inject(c, randomMessage(r, c), seed, step)) {
                return;
            }
        }
    }

    /** False when the call made a node stop on a detected safety violation (injected messages can lead there). */
    private static boolean honest(RaftCoreTest.Cluster c, long seed, int step, Runnable call) {
        try {
            call.run();
        } catch (IllegalArgumentException refused) {
            // A check that turned away what an honest node sends would break the protocol
            fail("seed " + seed + " step " + step + ": an honest call was refused: " + refused, refused);
        } catch (RaftCore.CoreFailedException e) {
            if (isSafetyStop(e)) {
                return false;
            }
            fail("seed " + seed + " step " + step + ": an honest call failed: " + e, e);
        } catch (RuntimeException e) {
            fail("seed " + seed + " step " + step + ": an honest call failed: " + e, e);
        }
        return true;
    }

    private static boolean isSafetyStop(RaftCore.CoreFailedException e) {
        return e.getCause() instanceof IllegalStateException && e.getCause().getMessage().startsWith("two leaders in term");
    }

    /** False when the message made the node stop on a detected safety violation. */
    private static boolean inject(RaftCoreTest.Cluster c, RaftMessage m, long seed, int step) {
        RaftCore node = c.cores.get(m.to() >= 1 && m.to() <= 3 ? m.to() : 2);
        String before = state(node);
        try {
            c.record(node.step(m, c.nowMs));
        } catch (IllegalArgumentException refused) {
            assertEquals(before, state(node), "seed " + seed + " step " + step + ": refused " + m + " but changed the node");
        } catch (RaftCore.CoreFailedException e) {
            if (isSafetyStop(e)) {
                return false;
            }
            fail("seed " + seed + " step " + step + ": " + m + " broke the call: " + e, e);
        } catch (RuntimeException e) {
            fail("seed " + seed + " step " + step + ": " + m + " broke the call: " + e, e);
        }
        try {
            c.record(node.tick(c.nowMs));
        } catch (RuntimeException e) {
            fail("seed " + seed + " step " + step + ": the tick after " + m + " failed: " + e, e);
        }
        return true;
    }

    private static String state(RaftCore n) {
        return n.term() + "/" + n.role().getClass().getSimpleName() + "/" + n.leaderId() + "/" + n.firstIndex() + ".."
                + n.lastIndex() + "@" + n.termAt(n.lastIndex()) + "/commit " + n.commitIndex() + "/" + n.configuration();
    }

    private static RaftMessage randomMessage(SplittableRandom r, RaftCoreTest.Cluster c) {
        RaftCore target = c.cores.get(1 + r.nextInt(3));
        int to = r.nextInt(10) == 0 ? r.nextInt(-1, 6) : target.localId();
        int from = r.nextInt(10) == 0 ? r.nextInt(-1, 6) : pick(r, 1, 2, 3, 4);
        long term = edge(r, target.term());
        long index = edge(r, target.lastIndex());
        long otherTerm = edge(r, target.term());
        return switch (r.nextInt(7)) {
            case 0 -> new VoteRequest(from, to, term, index, otherTerm, r.nextBoolean(), r.nextInt(4) == 0);
            case 1 -> new VoteResponse(from, to, term, r.nextBoolean(), r.nextBoolean());
            case 2 -> new AppendRequest(from, to, term, index, otherTerm, entries(r, index, otherTerm, term),
                    edge(r, target.commitIndex()), edge(r, 1));
            case 3 -> new AppendResponse(from, to, term, r.nextBoolean(), edge(r, target.lastIndex()),
                    edge(r, target.lastIndex()), edge(r, target.lastIndex()), edge(r, 1));
            case 4 -> new InstallSnapshotRequest(from, to, term, index, otherTerm, members(r), members(r),
                    r.nextInt(4) == 0 ? Integer.MAX_VALUE - r.nextInt(64) : r.nextInt(3), bytes(r), r.nextBoolean());
            case 5 -> new InstallSnapshotResponse(from, to, term, index, pick(r, -1, 0, 1, 5, Integer.MAX_VALUE),
                    r.nextBoolean());
            default -> new TimeoutNowRequest(from, to, term);
        };
    }

    /** Entries after {@code prev}: mostly consecutive with plausible terms, sometimes not. */
    private static List<LogEntry> entries(SplittableRandom r, long prev, long prevTerm, long term) {
        List<LogEntry> out = new ArrayList<>();
        int n = r.nextInt(4);
        long index = prev + 1;
        for (int i = 0; i < n; i++) {
            long t = r.nextInt(8) == 0 ? edge(r, term) : Math.max(prevTerm, Math.min(term, prevTerm + r.nextInt(2)));
            LogEntry.EntryType type = LogEntry.EntryType.values()[r.nextInt(LogEntry.EntryType.values().length)];
            byte[] data = type == LogEntry.EntryType.CONFIGURATION && r.nextBoolean() ? configuration(r) : bytes(r);
            out.add(new LogEntry(Math.max(1, t), Math.max(1, r.nextInt(8) == 0 ? edge(r, index) : index), type, data));
            index++;
        }
        return out;
    }

    /** A well-encoded configuration, possibly with a node both voter and observer. */
    private static byte[] configuration(SplittableRandom r) {
        List<Integer> voters = members(r);
        List<Integer> observers = members(r);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(12 + 4 * (voters.size() + observers.size()));
        b.putInt(1).putInt(voters.size());
        voters.forEach(b::putInt);
        b.putInt(observers.size());
        observers.forEach(b::putInt);
        return b.array();
    }

    private static List<Integer> members(SplittableRandom r) {
        if (r.nextInt(20) == 0) {
            List<Integer> many = new ArrayList<>();
            for (int i = 0; i <= Configuration.MEMBERS_MAX; i++) {
                many.add(i + 1);
            }
            return many;
        }
        List<Integer> out = new ArrayList<>();
        int n = r.nextInt(4);
        for (int i = 0; i < n; i++) {
            out.add(r.nextInt(-1, 6));
        }
        return out;
    }

    private static byte[] bytes(SplittableRandom r) {
        byte[] b = new byte[r.nextInt(12)];
        r.nextBytes(b);
        return b;
    }

    /** A value near {@code around}, or an edge: -1, 0, a large one. */
    private static long edge(SplittableRandom r, long around) {
        return switch (r.nextInt(6)) {
            case 0 -> -1;
            case 1 -> 0;
            case 2 -> Long.MAX_VALUE / 2;
            default -> Math.max(0, around + r.nextInt(-2, 3));
        };
    }

    private static int pick(SplittableRandom r, int... values) {
        return values[r.nextInt(values.length)];
    }
}
