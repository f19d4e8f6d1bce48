package dev.basalt.cli;

import java.io.PrintStream;
import java.util.Arrays;

/**
 * Throughput and latency bookkeeping for {@code basalt perf}, printed the way Kafka's perf
 * tools print it: a progress line per reporting window and a final summary with records/s, MB/s
 * and avg / p50 / p95 / p99 / p99.9 / max latency.
 *
 * <p>Latencies are kept in microseconds. To bound memory for long runs, at most
 * {@code samplesMax} latencies are kept for percentiles, taking every k-th record (k =
 * ceil(expectedRecords / samplesMax)); average and max use every record. 500,000 samples of 4
 * bytes are 2 MB.
 *
 * <p>Thread-safety: thread-safe (synchronized); records usually arrive on the producer's
 * sender thread while the main thread sends.
 */
final class LatencyStats {
    private final PrintStream out;
    private final String verb;
    private final long startNanos;
    private final long reportIntervalNanos;
    private final int sampleEvery;
    private final int[] samples;
    private int sampleCount;
    private long count;
    private long bytes;
    private long latencySumMicros;
    private long latencyMaxMicros;
    private long errors;
    private long windowStartNanos;
    private long windowCount;
    private long windowBytes;
    private long windowLatencySumMicros;
    private long windowLatencyMaxMicros;

    /** @param verb what happened to the records, for the report lines ("sent", "consumed") */
    LatencyStats(String verb, long expectedRecords, int samplesMax, long reportIntervalMs, PrintStream out, long nowNanos) {
        this.verb = verb;
        this.out = out;
        this.startNanos = nowNanos;
        this.windowStartNanos = nowNanos;
        this.reportIntervalNanos = reportIntervalMs * 1_000_000L;
        this.sampleEvery = (int) Math.max(1, (expectedRecords + samplesMax - 1) / samplesMax);
        this.samples = new int[(int) Math.min(samplesMax, Math.max(1, expectedRecords))];
    }

    /** One completed record: its latency and size; prints a progress line when a window ends. */
    synchronized void record(long latencyMicros, int sizeBytes, long nowNanos) {
        if (count % sampleEvery == 0 && sampleCount < samples.length) {
            samples[sampleCount++] = (int) Math.min(Integer.MAX_VALUE, latencyMicros);
        }
        count++;
        bytes += sizeBytes;
        latencySumMicros += latencyMicros;
        latencyMaxMicros = Math.max(latencyMaxMicros, latencyMicros);
        windowCount++;
        windowBytes += sizeBytes;
        windowLatencySumMicros += latencyMicros;
        windowLatencyMaxMicros = Math.max(windowLatencyMaxMicros, latencyMicros);
        if (reportIntervalNanos > 0 && nowNanos - windowStartNanos >= reportIntervalNanos) {
            printWindow(nowNanos);
        }
    }

    /**
     * {@code n} completed records that share one latency (a consumer's poll), totalling
     * {@code sizeBytes}: the same bookkeeping as n calls of {@link #record}, in one.
     */
    synchronized void recordAll(long latencyMicros, int n, long sizeBytes, long nowNanos) {
        if (n <= 0) {
            return;
        }
        // the samples record n would take: the multiples of sampleEvery in [count, count + n)
        long firstSampled = (count + sampleEvery - 1) / sampleEvery * sampleEvery;
        for (long i = firstSampled; i < count + n && sampleCount < samples.length; i += sampleEvery) {
            samples[sampleCount++] = (int) Math.min(Integer.MAX_VALUE, latencyMicros);
        }
        count += n;
        bytes += sizeBytes;
        latencySumMicros += latencyMicros * n;
        latencyMaxMicros = Math.max(latencyMaxMicros, latencyMicros);
        windowCount += n;
        windowBytes += sizeBytes;
        windowLatencySumMicros += latencyMicros * n;
        windowLatencyMaxMicros = Math.max(windowLatencyMaxMicros, latencyMicros);
        if (reportIntervalNanos > 0 && nowNanos - windowStartNanos >= reportIntervalNanos) {
            printWindow(nowNanos);
        }
    }

    synchronized void error() {
        errors++;
    }

    /**
     * Prints the progress line of a window that has ended even if no record completed in it, with
     * how many records still await their outcome ({@code pending}, when above 0). Called on a
     * timer: a run whose every record is stuck in retries (a full disk, a partition without its
     * ISR) otherwise printed nothing until delivery.timeout.ms failed them (found probing).
     */
    synchronized void tick(long pending, long nowNanos) {
        tick(pending, null, nowNanos);
    }

    /** As above; {@code retriedAfter}, when not null, is the error the stalled records were last retried after. */
    synchronized void tick(long pending, String retriedAfter, long nowNanos) {
        if (reportIntervalNanos > 0 && nowNanos - windowStartNanos >= reportIntervalNanos) {
            boolean stalled = windowCount == 0 && pending > 0;
            printWindow(nowNanos);
            if (stalled) {
                out.printf("(%d records awaiting acknowledgement, %d failed so far%s)%n", pending, errors,
                        retriedAfter == null ? "" : "; last retried after: " + retriedAfter);
            }
        }
    }

    synchronized long count() {
        return count;
    }

    synchronized long errors() {
        return errors;
    }

    private void printWindow(long nowNanos) {
        double seconds = (nowNanos - windowStartNanos) / 1e9;
        out.printf("%d records %s, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.%n", windowCount,
                verb, windowCount / seconds, windowBytes / seconds / (1024.0 * 1024.0),
                windowCount == 0 ? 0.0 : windowLatencySumMicros / 1000.0 / windowCount, windowLatencyMaxMicros / 1000.0);
        windowStartNanos = nowNanos;
        windowCount = 0;
        windowBytes = 0;
        windowLatencySumMicros = 0;
        windowLatencyMaxMicros = 0;
    }

    /** The summary line (Kafka ProducerPerformance format, with p99.9). */
    synchronized void printTotal(long nowNanos) {
        double seconds = Math.max(1e-9, (nowNanos - startNanos) / 1e9);
        double[] p = percentilesMillis(0.5, 0.95, 0.99, 0.999);
        out.printf("%d records %s, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, "
                        + "%.2f ms 50th, %.2f ms 95th, %.2f ms 99th, %.2f ms 99.9th.%n",
                count, verb, count / seconds, bytes / seconds / (1024.0 * 1024.0), avgMillis(), latencyMaxMicros / 1000.0,
                p[0], p[1], p[2], p[3]);
    }

    synchronized double avgMillis() {
        return count == 0 ? 0.0 : latencySumMicros / 1000.0 / count;
    }

    synchronized double maxMillis() {
        return latencyMaxMicros / 1000.0;
    }

    synchronized double throughputRecordsPerSec(long nowNanos) {
        return count / Math.max(1e-9, (nowNanos - startNanos) / 1e9);
    }

    /** Nearest-rank percentiles of the sampled latencies, in ms. */
    synchronized double[] percentilesMillis(double... quantiles) {
        int[] sorted = Arrays.copyOf(samples, sampleCount);
        Arrays.sort(sorted);
        double[] out = new double[quantiles.length];
        for (int i = 0; i < quantiles.length; i++) {
            if (sorted.length == 0) {
                continue;
            }
            int rank = (int) Math.ceil(quantiles[i] * sorted.length);
            out[i] = sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] / 1000.0;
        }
        return out;
    }
}
