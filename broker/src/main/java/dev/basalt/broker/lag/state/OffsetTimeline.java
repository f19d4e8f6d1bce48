package dev.basalt.broker.lag.state;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A partition's log end offset over time, as (offset, time) samples, to turn an offset lag into a
 * time lag (as kafka-lag-exporter does): the lag in seconds of a committed offset is how long ago
 * the log end was at that offset, found by linear interpolation between the two samples around it.
 * Below the oldest sample it is the oldest sample's age, a lower bound (no extrapolation: rates
 * change, and a burst followed by a trickle projected back gives any number); at or past the
 * newest sample the lag is 0.
 *
 * <p>Samples are kept in order of time with non-decreasing offsets (a sample whose offset is lower
 * than the last one's — a truncation after a leader change — restarts the table); at most
 * {@code samplesMax}, the oldest dropped first.
 *
 * <p>Thread-safety: not thread-safe; its owner serializes calls.
 */
public final class OffsetTimeline {
    /** One sample: the log end offset at a time. */
    public record Sample(long offset, long timeMs) {
    }

    private final int samplesMax;
    private final ArrayDeque<Sample> samples = new ArrayDeque<>();

    public OffsetTimeline(int samplesMax) {
        if (samplesMax < 2) {
            throw new IllegalArgumentException("need at least 2 samples to interpolate, not " + samplesMax);
        }
        this.samplesMax = samplesMax;
    }

    public void record(long logEndOffset, long timeMs) {
        Sample last = samples.peekLast();
        if (last != null && (logEndOffset < last.offset() || timeMs < last.timeMs())) {
            samples.clear();
        } else if (last != null && logEndOffset == last.offset()) {
            // the log end did not move: keep the first time it reached this offset (what interpolation
            // needs) and the newest (so the table reaches now); drop a sample between them
            Sample newest = samples.pollLast();
            Sample before = samples.peekLast();
            if (before == null || before.offset() != logEndOffset) {
                samples.addLast(newest);
            }
        }
        samples.addLast(new Sample(logEndOffset, timeMs));
        while (samples.size() > samplesMax) {
            samples.pollFirst();
        }
    }

    public List<Sample> samples() {
        return new ArrayList<>(samples);
    }

    /**
     * Seconds since the log end was at {@code committedOffset}, or -1 with no samples.
     */
    public double lagSeconds(long committedOffset, long nowMs) {
        if (samples.isEmpty()) {
            return -1;
        }
        List<Sample> s = samples();
        Sample newest = s.get(s.size() - 1);
        if (committedOffset >= newest.offset()) {
            return 0;
        }
        Sample oldest = s.get(0);
        if (committedOffset < oldest.offset()) {
            // The log end passed it before the first sample: when, the samples cannot say. No
            // extrapolation: a rate seen after a burst, projected back, gave a 38-second-old topic
            // 48 minutes of lag. The oldest sample's age is what is known: a lower bound.
            return Math.max(0, (nowMs - oldest.timeMs()) / 1000.0);
        }
        for (int i = 1; i < s.size(); i++) {
            Sample a = s.get(i - 1);
            Sample b = s.get(i);
            if (committedOffset >= a.offset() && committedOffset < b.offset()) {
                // the log end passed committedOffset between a and b: records after it waited since then
                double at = a.timeMs() + (double) (committedOffset - a.offset()) * (b.timeMs() - a.timeMs()) / (b.offset() - a.offset());
                return Math.max(0, (nowMs - at) / 1000.0);
            }
        }
        throw new IllegalStateException("offset " + committedOffset + " not within samples " + s);
    }
}
