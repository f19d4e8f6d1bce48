package dev.basalt.broker.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.replica.Partition;
import dev.basalt.log.TopicPartition;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Goal: counting on the produce and fetch paths allocates nothing and looks nothing up once a
 * partition's counters are resolved: the per-request cost is a volatile read and striped adds.
 *
 * <p>Method: the HotSpot per-thread allocation counter around a million counting calls, after a
 * warm-up million (JIT compilation); every partition of a topic shares one {@link TopicMeters} in
 * per-topic mode. Skipped on a JVM without the allocation counter.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=HotPathAllocationTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class HotPathAllocationTest {
    private static final int CALLS = 1_000_000;

    @Test
    void countingAProduceAndAFetch_allocatesNothing() {
        var threads = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(threads instanceof com.sun.management.ThreadMXBean, "no per-thread allocation counter");
        var hotspot = (com.sun.management.ThreadMXBean) threads;
        Assumptions.assumeTrue(hotspot.isThreadAllocatedMemorySupported() && hotspot.isThreadAllocatedMemoryEnabled(),
                "per-thread allocation counter disabled");
        BrokerMetrics metrics = new BrokerMetrics(false, false);
        // the log is not touched by counting: a partition object without one is enough here
        Partition p0 = new Partition(new TopicPartition("orders", 0), "id", 1, null);
        Partition p1 = new Partition(new TopicPartition("orders", 1), "id", 1, null);
        assertSame(metrics.meters(p0), metrics.meters(p1), "per-topic: one set of children per topic");
        count(metrics, p0); // warm-up: the JIT compiles the loop
        long tid = Thread.currentThread().getId();
        long before = hotspot.getThreadAllocatedBytes(tid);
        count(metrics, p0);
        long allocated = hotspot.getThreadAllocatedBytes(tid) - before;
        // a few hundred bytes of noise (the counter's own call) at most; one allocation per call would be >= 16 MB
        assertTrue(allocated < 64 * 1024, allocated + " bytes allocated by " + CALLS + " counting calls");
        String text = new String(metrics.scrape(null).body(), StandardCharsets.UTF_8);
        double recordsIn = text.lines().filter(l -> l.startsWith("basalt_topic_in_records_total{topic=\"orders\"} "))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(-1);
        assertEquals(2.0 * CALLS, recordsIn, "every call counted");
        assertEquals(p0.meters(), p1.meters());
    }

    private static void count(BrokerMetrics metrics, Partition p) {
        for (int i = 0; i < CALLS; i++) {
            metrics.meters(p).produced(100, 1);
            metrics.meters(p).fetched(100, 1);
        }
    }
}
