package dev.basalt.broker.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A broker that stood still longer than its session (SIGSTOP, then SIGCONT) is not ready until a
 * heartbeat sent after the pause is answered. Found probing: a resumed broker answered /ready 200
 * with its stale ISR for 100–200 ms, before the controller's answer said it was fenced.
 */
class PauseDetectorTest {
    static final long MS = 1_000_000L;

    @Test
    void aPauseLongerThanASession_lastsUntilAHeartbeatSentAfterItIsAnswered() {
        PauseDetector d = new PauseDetector(1_500);
        long t = 7_000 * MS; // any origin: monotonic nanoseconds
        assertFalse(d.onTick(t));
        assertFalse(d.onTick(t += 25 * MS));
        long sentBefore = t;
        assertTrue(d.onTick(t += 4_000 * MS), "4 s between two ticks 25 ms apart");
        assertEquals(4_000, d.pausedForMs());
        d.onAnswer(sentBefore);
        assertEquals(4_000, d.pausedForMs(), "answered before the pause: the controller may have fenced us since");
        long sentAfter = t += 1 * MS;
        assertFalse(d.onTick(t += 25 * MS));
        assertEquals(4_000, d.pausedForMs(), "ticks alone do not end it");
        d.onAnswer(sentAfter);
        assertEquals(-1, d.pausedForMs());
    }

    @Test
    void slowTicksWithinASession_areNotAPause() {
        PauseDetector d = new PauseDetector(1_500);
        long t = -3 * MS; // nanoTime may be negative
        d.onTick(t);
        assertFalse(d.onTick(t += 1_500 * MS), "exactly one session is not longer than one");
        assertFalse(d.onTick(t += 900 * MS));
        assertEquals(-1, d.pausedForMs());
        assertThrows(IllegalArgumentException.class, () -> new PauseDetector(0));
    }

    /** Property, seeded: whatever the schedule, it reports a pause exactly while the last long gap has no later-sent answer. */
    @Test
    void randomSchedules_matchAModel() {
        long seed = Long.getLong("pause.seed", System.nanoTime());
        Random r = new Random(seed);
        String replay = "replay: -Dpause.seed=" + seed + " (./mvnw -B -ntp -o test -pl broker -Dtest=PauseDetectorTest)";
        System.out.println("PauseDetectorTest.randomSchedules_matchAModel " + replay);
        for (int run = 0; run < 200; run++) {
            long session = 100 + r.nextInt(2_000);
            PauseDetector d = new PauseDetector(session);
            long t = r.nextLong() / 4;
            long noticed = Long.MIN_VALUE; // the model
            long length = 0;
            java.util.List<Long> sent = new java.util.ArrayList<>();
            boolean ticked = false;
            long lastTick = 0;
            for (int step = 0; step < 100; step++) {
                switch (r.nextInt(3)) {
                    case 0 -> {
                        long gap = r.nextInt(10) == 0 ? (session + 1 + r.nextInt(5_000)) * MS : r.nextInt((int) session + 1) * MS;
                        t += gap;
                        long sinceLastTick = t - lastTick; // heartbeats sent in between move the clock too
                        boolean expected = ticked && sinceLastTick > session * MS;
                        assertEquals(expected, d.onTick(t), replay);
                        ticked = true;
                        lastTick = t;
                        if (expected) {
                            noticed = t;
                            length = sinceLastTick;
                        }
                    }
                    case 1 -> sent.add(t += r.nextInt(5) * MS);
                    default -> {
                        if (!sent.isEmpty()) {
                            long s = sent.remove(r.nextInt(sent.size()));
                            d.onAnswer(s);
                            if (noticed != Long.MIN_VALUE && s >= noticed) {
                                noticed = Long.MIN_VALUE;
                            }
                        }
                    }
                }
                assertEquals(noticed == Long.MIN_VALUE ? -1 : length / MS, d.pausedForMs(), replay);
            }
        }
    }
}
