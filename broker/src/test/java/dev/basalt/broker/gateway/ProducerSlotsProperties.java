package dev.basalt.broker.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.testkit.SeededRuns;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * Goal: the gateway's producer slots never let two calls hold one producer id at once, never
 * hand out a sequence that a leader could take for a resend of an appended batch (per producer
 * id and epoch, the batches called APPENDED cover consecutive sequences from 0, each new lease
 * starts where the last APPENDED one ended, an epoch whose outcome was UNKNOWN is never leased
 * again, epochs never go back, and a FENCED id is never leased again), keep at
 * most slotsMax ids per partition, serve calls in line in order (when producer ids come at once),
 * and leave no call waiting while a slot is free.
 *
 * <p>Method: random calls on two partitions (lease, then release APPENDED with 1-5 records,
 * NOT_APPENDED, UNKNOWN or FENCED, in any order among the calls holding a slot; calls in line
 * give up at random), with producer ids that
 * arrive at once, later (completed by the run) or fail, against a model of who holds what.
 *
 * <p>Reproduce: a failure prints {@code ./mvnw -B -ntp -o -pl broker -am verify
 * -Dtest=ProducerSlotsProperties#replay -Dbasalt.seed=SEED -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ProducerSlotsProperties {

    @Property(tries = 500)
    void leasesAreExclusiveAndSequencesNeverRepeat(@ForAll long seed) {
        runOne(seed);
    }

    @Test
    void replay() {
        runOne(SeededRuns.replaySeed());
    }

    private static void runOne(long seed) {
        SeededRuns.run(ProducerSlotsProperties.class, seed, ProducerSlotsProperties::check);
    }

    private record Call(String topic, int partition, CompletableFuture<ProducerSlots.Slot> lease) {
    }

    private static void check(SplittableRandom rnd) {
        int slotsMax = 1 + rnd.nextInt(4);
        int waitersMax = rnd.nextInt(6);
        ArrayDeque<CompletableFuture<Long>> pendingIds = new ArrayDeque<>();
        long[] nextId = {1000};
        boolean idsLate = rnd.nextBoolean();
        double idFailure = rnd.nextInt(3) == 0 ? 0.2 : 0;
        ProducerSlots slots = new ProducerSlots(() -> {
            if (rnd.nextDouble() < idFailure) {
                return CompletableFuture.failedFuture(new IllegalStateException("no block"));
            }
            if (idsLate && rnd.nextBoolean()) {
                CompletableFuture<Long> f = new CompletableFuture<>();
                pendingIds.add(f);
                return f;
            }
            return CompletableFuture.completedFuture(nextId[0]++);
        }, slotsMax, waitersMax);

        List<Call> calls = new ArrayList<>(); // asked, not yet released
        Map<String, Integer> appendedEnd = new HashMap<>(); // per id and epoch: one past the last APPENDED sequence
        Set<String> ended = new HashSet<>(); // id and epoch pairs released UNKNOWN or FENCED
        Set<Long> fenced = new HashSet<>();
        Map<Long, Integer> lastEpoch = new HashMap<>();
        Set<Long> held = new HashSet<>();
        Map<Integer, List<Integer>> served = new HashMap<>(); // per partition: when each call served from the line asked
        for (int step = 0; step < 300; step++) {
            int action = rnd.nextInt(10);
            if (action < 4) {
                int partition = rnd.nextInt(2);
                Call c = new Call("t", partition, slots.acquire("t", partition));
                if (!c.lease.isDone()) {
                    int asked = step;
                    c.lease.thenRun(() -> served.computeIfAbsent(partition, k -> new ArrayList<>()).add(asked));
                }
                calls.add(c);
            } else if (action < 5 && rnd.nextBoolean()) {
                // a waiting call's time runs out: it leaves the line, unless a slot was handed to it meanwhile
                List<Call> waiting = calls.stream().filter(c -> !c.lease.isDone()).toList();
                if (!waiting.isEmpty()) {
                    Call c = waiting.get(rnd.nextInt(waiting.size()));
                    if (slots.abandon(c.topic, c.partition, c.lease)) {
                        c.lease.completeExceptionally(new IllegalStateException("timed out in line"));
                    }
                }
            } else if (action < 5 && !pendingIds.isEmpty()) {
                CompletableFuture<Long> f = pendingIds.poll();
                if (rnd.nextInt(4) == 0) {
                    f.completeExceptionally(new IllegalStateException("no block, late"));
                } else {
                    f.complete(nextId[0]++);
                }
            } else {
                List<Call> holding = calls.stream().filter(c -> c.lease.isDone() && !c.lease.isCompletedExceptionally()).toList();
                if (holding.isEmpty()) {
                    continue;
                }
                Call c = holding.get(rnd.nextInt(holding.size()));
                ProducerSlots.Slot s = c.lease.join();
                ProducerSlots.Outcome o = ProducerSlots.Outcome.values()[rnd.nextInt(ProducerSlots.Outcome.values().length)];
                int count = 1 + rnd.nextInt(5);
                calls.remove(c);
                held.remove(s.producerId);
                String key = s.producerId + ":" + s.epoch();
                if (o == ProducerSlots.Outcome.APPENDED) {
                    appendedEnd.put(key, s.nextSequence() + count);
                } else if (o == ProducerSlots.Outcome.UNKNOWN) {
                    ended.add(key);
                } else if (o == ProducerSlots.Outcome.FENCED) {
                    ended.add(key);
                    fenced.add(s.producerId);
                }
                slots.release(s, o, count, c.topic, c.partition);
            }
            // Calls that failed (line full, no id) leave.
            calls.removeIf(c -> c.lease.isCompletedExceptionally());
            // Every lease now held: exclusive, not retired, at the sequence its id's APPENDED batches reached.
            Set<Long> nowHeld = new HashSet<>();
            Map<Integer, Set<Long>> idsPerPartition = new HashMap<>();
            for (Call c : calls) {
                if (c.lease.isDone() && !c.lease.isCompletedExceptionally()) {
                    ProducerSlots.Slot s = c.lease.join();
                    String key = s.producerId + ":" + s.epoch();
                    assertTrue(nowHeld.add(s.producerId), "producer id " + s.producerId + " leased to two calls at once");
                    assertFalse(fenced.contains(s.producerId), "fenced producer id " + s.producerId + " leased again");
                    assertFalse(ended.contains(key), "producer id and epoch " + key + " leased again after an unknown outcome");
                    assertTrue(s.epoch() >= lastEpoch.getOrDefault(s.producerId, 0), "epoch of " + s.producerId + " went back");
                    lastEpoch.put(s.producerId, (int) s.epoch());
                    assertEquals(appendedEnd.getOrDefault(key, 0), s.nextSequence(), "sequence of " + key);
                    idsPerPartition.computeIfAbsent(c.partition, k -> new HashSet<>()).add(s.producerId);
                }
            }
            held = nowHeld;
            for (int p = 0; p < 2; p++) {
                assertTrue(slots.live("t", p) <= slotsMax, "live " + slots.live("t", p) + " > " + slotsMax);
                int holdingHere = idsPerPartition.getOrDefault(p, Set.of()).size();
                // Nobody waits in line while this partition could lease or make another slot.
                if (pendingIds.isEmpty() && holdingHere < slotsMax) {
                    int part = p;
                    assertFalse(calls.stream().anyMatch(c -> c.partition == part && !c.lease.isDone()),
                            "a call waits on partition " + p + " with " + holdingHere + " of " + slotsMax + " slots held");
                }
            }
        }
        // Calls in line were served in the order they asked (taken from the line in that order: a
        // call given a fresh slot whose producer id comes late is overtaken by later ones).
        for (List<Integer> order : idsLate ? List.<List<Integer>>of() : served.values()) {
            List<Integer> sorted = new ArrayList<>(order);
            sorted.sort(null);
            assertEquals(sorted, order, "calls in line served out of order");
        }
    }
}
