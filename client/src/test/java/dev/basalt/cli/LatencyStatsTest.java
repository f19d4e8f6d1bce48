package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Perf statistics: nearest-rank percentiles, averages, sampling bound, progress windows (explicit nanosecond clock). */
class LatencyStatsTest {
    @Test
    void percentiles_nearestRank() {
        LatencyStats s = new LatencyStats("sent", 1000, 1000, 0, new PrintStream(new ByteArrayOutputStream()), 0);
        for (int i = 1; i <= 1000; i++) {
            s.record(i * 1000L, 10, 0);
        }
        assertArrayEquals(new double[] {500, 990, 999, 1000}, s.percentilesMillis(0.5, 0.99, 0.999, 1.0));
        assertEquals(500.5, s.avgMillis(), 1e-9);
        assertEquals(1000, s.maxMillis(), 1e-9);
    }

    @Test
    void sampling_keepsBoundedSamples_butExactAverage() {
        LatencyStats s = new LatencyStats("sent", 10_000, 100, 0, new PrintStream(new ByteArrayOutputStream()), 0);
        for (int i = 0; i < 10_000; i++) {
            s.record(i % 2 == 0 ? 1000 : 3000, 1, 0);
        }
        assertEquals(2.0, s.avgMillis(), 1e-9);
        assertEquals(10_000, s.count());
    }

    /**
     * Found probing a full disk: every record stuck in retries, and nothing printed until the
     * delivery timeout. The timer's tick ends a window with no completed record too, and says how
     * many await their outcome; it prints nothing before the window's end.
     */
    @Test
    void tick_printsAWindowWithNoCompletedRecord_andThePendingCount() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        LatencyStats s = new LatencyStats("sent", 100, 100, 5_000, new PrintStream(buf, true, StandardCharsets.UTF_8), 0);
        s.record(2_000, 1024, 1_000_000_000L);
        s.tick(40, 4_000_000_000L);
        assertEquals("", buf.toString(StandardCharsets.UTF_8), "the window has not ended");
        s.tick(40, 5_000_000_000L);
        assertEquals("1 records sent, 0.2 records/sec (0.00 MB/sec), 2.0 ms avg latency, 2.0 ms max latency.\n",
                buf.toString(StandardCharsets.UTF_8), "records completed in it: the usual line alone");
        buf.reset();
        s.error();
        s.tick(39, 10_000_000_000L);
        assertEquals("0 records sent, 0.0 records/sec (0.00 MB/sec), 0.0 ms avg latency, 0.0 ms max latency.\n"
                + "(39 records awaiting acknowledgement, 1 failed so far)\n", buf.toString(StandardCharsets.UTF_8));
        buf.reset();
        s.tick(39, "NOT_ENOUGH_REPLICAS: ISR [1] is below min.insync.replicas 2", 15_000_000_000L);
        assertEquals("0 records sent, 0.0 records/sec (0.00 MB/sec), 0.0 ms avg latency, 0.0 ms max latency.\n"
                + "(39 records awaiting acknowledgement, 1 failed so far; last retried after: NOT_ENOUGH_REPLICAS: ISR [1] is"
                + " below min.insync.replicas 2)\n", buf.toString(StandardCharsets.UTF_8), "names what the records wait on");
        buf.reset();
        s.tick(0, 20_000_000_000L);
        assertEquals("0 records sent, 0.0 records/sec (0.00 MB/sec), 0.0 ms avg latency, 0.0 ms max latency.\n",
                buf.toString(StandardCharsets.UTF_8), "nothing pending: no stall line");
    }

    /** A consumer's poll recorded at once keeps exactly the statistics of its records one by one. */
    @Test
    void recordAll_isTheSameAsRecordingEachRecord() {
        long seed = Long.getLong("basalt.seed", System.nanoTime());
        System.out.println("LatencyStatsTest seed=" + seed + " (replay: ./mvnw -B -ntp verify -pl client -am"
                + " -Dtest=LatencyStatsTest -Dsurefire.failIfNoSpecifiedTests=false -Dbasalt.seed=" + seed + ")");
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        LatencyStats one = new LatencyStats("consumed", 10_000, 97, 0, new PrintStream(new ByteArrayOutputStream()), 0);
        LatencyStats all = new LatencyStats("consumed", 10_000, 97, 0, new PrintStream(new ByteArrayOutputStream()), 0);
        int total = 0;
        while (total < 10_000) {
            int n = Math.min(10_000 - total, random.nextInt(0, 700));
            long latency = random.nextLong(1, 50_000);
            int size = random.nextInt(0, 2048);
            for (int i = 0; i < n; i++) {
                one.record(latency, size, 0);
            }
            all.recordAll(latency, n, (long) n * size, 0);
            total += n;
        }
        double[] q = {0.5, 0.9, 0.99, 0.999, 1.0};
        assertArrayEquals(one.percentilesMillis(q), all.percentilesMillis(q), "seed " + seed);
        assertEquals(one.avgMillis(), all.avgMillis(), 1e-9);
        assertEquals(one.maxMillis(), all.maxMillis(), 1e-9);
        assertEquals(one.count(), all.count());
    }

    @Test
    void progressLine_perWindow_andSummary() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        LatencyStats s = new LatencyStats("sent", 10, 10, 1000, new PrintStream(bytes, true, StandardCharsets.UTF_8), 0);
        s.record(2000, 1024 * 1024, 500_000_000L);
        s.record(4000, 1024 * 1024, 1_000_000_000L);
        s.printTotal(2_000_000_000L);
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(2, lines.length);
        assertEquals("2 records sent, 2.0 records/sec (2.00 MB/sec), 3.0 ms avg latency, 4.0 ms max latency.", lines[0]);
        assertTrue(lines[1].startsWith("2 records sent, 1.0 records/sec (1.00 MB/sec), 3.00 ms avg latency, 4.00 ms max latency, "
                + "2.00 ms 50th"), lines[1]);
    }
}
