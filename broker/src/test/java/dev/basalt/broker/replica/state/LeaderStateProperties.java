package dev.basalt.broker.replica.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.testkit.SeededRuns;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * Goal: under any interleaving of leader appends and fsyncs, follower fetches (including a follower
 * that restarts and regresses), ISR proposals that the controller commits or refuses, and config
 * changes, {@link LeaderState} keeps its safety rules: the HW never moves back, never exceeds the
 * leader's LEO (or flushed offset with durable acks), and whenever it advances every member of the
 * maximal ISR has reported progress at or past it and the ISR has min.insync.replicas members
 * (KIP-101, KIP-966); the ISR always holds the leader; at most one change is pending. A change
 * that failed or was refused may still be applied later (a late request), as long as the partition
 * epoch it was sent at is current: every member it would make an ISR member counts too.
 *
 * <p>Method: a seeded random walk (1,000 seeds, 300 steps each) checked after every step against a
 * naive model of each follower's last report.
 *
 * <p>Reproduce: a failure prints {@code ./mvnw -B -ntp -o -pl broker -am verify
 * -Dtest=LeaderStateProperties#replay -Dbasalt.seed=SEED -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class LeaderStateProperties {

    @Property(tries = 1_000)
    void rulesHoldUnderRandomSchedules(@ForAll long seed) {
        runOne(seed);
    }

    @Test
    void replay() {
        runOne(SeededRuns.replaySeed());
    }

    private static void runOne(long seed) {
        SeededRuns.run(LeaderStateProperties.class, seed, LeaderStateProperties::walk);
    }

    private static void walk(SplittableRandom r) {
        int replicaCount = 1 + r.nextInt(5);
        List<Integer> replicas = new ArrayList<>();
        for (int i = 1; i <= replicaCount; i++) {
            replicas.add(i);
        }
        int leader = 1 + r.nextInt(replicaCount);
        List<Integer> isr = new ArrayList<>(List.of(leader));
        for (int id : replicas) {
            if (id != leader && r.nextBoolean()) {
                isr.add(id);
            }
        }
        boolean durable = r.nextBoolean();
        int minIsr = 1 + r.nextInt(replicaCount);
        long start = r.nextInt(1000);
        long hw0 = r.nextLong(start + 1);
        long flushed0 = hw0 + r.nextLong(start - hw0 + 1);
        long lagMs = 1 + r.nextInt(5_000);
        long now = r.nextInt(1_000_000);
        LeaderState s = new LeaderState(leader, 3, start, 10, replicas, isr, minIsr, durable, hw0, flushed0, now);
        long leo = start;
        long flushed = flushed0;
        Map<Integer, long[]> reported = new HashMap<>(); // id -> {leo, flushed}
        int[] epoch = {10}; // the partition epoch the controller has committed
        List<IsrChange> failed = new ArrayList<>(); // changes that failed or were refused, and may still apply
        long prevHw = s.highWatermark();
        for (int step = 0; step < 300; step++) {
            now += r.nextInt(2_000);
            boolean advanced;
            int action = r.nextInt(10);
            if (action < 3) {
                leo += r.nextInt(50);
                flushed = flushed + r.nextLong(leo - flushed + 1);
                advanced = s.updateLeaderLog(leo, flushed);
            } else if (action < 7 && replicaCount > 1) {
                int f = pickFollower(r, replicas, leader);
                long[] prev = reported.getOrDefault(f, new long[] {start, start});
                long off = r.nextInt(10) == 0 ? r.nextLong(leo + 1) : Math.min(leo, prev[0] + r.nextInt(80));
                long fl = r.nextLong(off + 1);
                advanced = s.recordFollowerFetch(f, off, fl, now);
                reported.put(f, new long[] {off, Math.min(fl, off)});
            } else if (action < 9 && r.nextInt(4) == 0 && failed.stream().anyMatch(c -> c.basePartitionEpoch() == epoch[0])) {
                // A change that failed or was refused is applied after all (delivered late): the
                // controller still accepts it while the partition epoch is the one it was sent at.
                IsrChange late = failed.stream().filter(c -> c.basePartitionEpoch() == epoch[0]).toList().get(0);
                epoch[0]++;
                advanced = s.applyCommittedIsr(epoch[0], late.newIsr());
            } else if (action < 9) {
                Optional<IsrChange> c = s.maybeProposeIsrChange(now, lagMs);
                advanced = false;
                if (c.isPresent()) {
                    assertTrue(c.get().newIsr().contains(leader), "a proposal keeps the leader");
                    assertEquals(epoch[0], c.get().basePartitionEpoch(), "proposed from the partition epoch it knows");
                    assertEquals(Optional.empty(), s.maybeProposeIsrChange(now, lagMs), "one pending change at a time");
                    if (r.nextInt(4) == 0) {
                        failed.add(c.get());
                        s.failPendingIsrChange(c.get());
                    } else {
                        epoch[0]++;
                        advanced = s.applyCommittedIsr(epoch[0], c.get().newIsr());
                    }
                }
            } else {
                minIsr = 1 + r.nextInt(replicaCount);
                durable = r.nextBoolean();
                advanced = s.updateConfig(minIsr, durable);
            }
            long hw = s.highWatermark();
            assertTrue(hw >= prevHw, "HW moved back from " + prevHw + " to " + hw);
            assertTrue(hw <= leo, "HW " + hw + " above leader LEO " + leo);
            assertTrue(s.isr().contains(leader), "ISR lost the leader: " + s);
            assertEquals(hw > prevHw, advanced, "the return value tells whether the HW advanced");
            if (advanced) {
                assertTrue(s.isr().size() >= minIsr, "KIP-966: HW advanced with ISR " + s.isr() + " < min " + minIsr);
                TreeSet<Integer> maximal = new TreeSet<>(s.isr());
                s.pendingIsrChange().ifPresent(p -> maximal.addAll(p.newIsr()));
                failed.stream().filter(c -> c.basePartitionEpoch() == epoch[0]).forEach(c -> maximal.addAll(c.newIsr()));
                for (int m : maximal) {
                    long progress = m == leader ? (durable ? flushed : leo)
                            : (durable ? reported.get(m)[1] : reported.get(m)[0]);
                    assertTrue(progress >= hw, "HW " + hw + " passed member " + m + "'s progress " + progress + ": " + s);
                }
            }
            prevHw = hw;
        }
    }

    private static int pickFollower(SplittableRandom r, List<Integer> replicas, int leader) {
        while (true) {
            int f = replicas.get(r.nextInt(replicas.size()));
            if (f != leader) {
                return f;
            }
        }
    }
}
