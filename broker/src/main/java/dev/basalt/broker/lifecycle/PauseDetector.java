package dev.basalt.broker.lifecycle;

/**
 * Notices that this process stood still longer than a broker session (SIGSTOP, a long GC pause, a
 * frozen VM) and says so until a heartbeat sent after the pause is answered. Meanwhile the
 * controller may have fenced this broker and moved its leaderships, but its image still shows the
 * old state: found probing, a broker resumed with SIGCONT answered {@code /ready} 200 with its
 * stale ISR for 100–200 ms. An answer to a heartbeat sent before the pause does not count: the
 * controller may have written it before the session expired.
 *
 * <p>Pure: times are passed in (monotonic nanoseconds); no clock, no I/O.
 *
 * <p>Thread-safety: confined to the lifecycle thread, except {@link #pausedForMs()}, which may be
 * read from any thread.
 */
final class PauseDetector {
    private final long sessionTimeoutNs;
    private long lastTickNs = Long.MIN_VALUE;
    /** When the last pause was noticed, or MIN_VALUE while none is unanswered. */
    private volatile long pauseNoticedNs = Long.MIN_VALUE;
    private volatile long pauseLengthNs;

    PauseDetector(long sessionTimeoutMs) {
        if (sessionTimeoutMs <= 0) {
            throw new IllegalArgumentException("session timeout must be positive, got " + sessionTimeoutMs + " ms");
        }
        this.sessionTimeoutNs = sessionTimeoutMs * 1_000_000L;
    }

    /** Called on every lifecycle tick; returns true when this tick ends a pause longer than a session. */
    boolean onTick(long nowNs) {
        long last = lastTickNs;
        lastTickNs = nowNs;
        if (last != Long.MIN_VALUE && nowNs - last > sessionTimeoutNs) {
            pauseLengthNs = nowNs - last;
            pauseNoticedNs = nowNs;
            return true;
        }
        return false;
    }

    /** A heartbeat sent at {@code sentNs} was answered without error: its answer is current if it was sent after the pause. */
    void onAnswer(long sentNs) {
        long noticed = pauseNoticedNs;
        if (noticed != Long.MIN_VALUE && sentNs >= noticed) {
            pauseNoticedNs = Long.MIN_VALUE;
        }
    }

    /** The length of the pause still waiting for an answer, in ms; -1 when none is. */
    long pausedForMs() {
        return pauseNoticedNs == Long.MIN_VALUE ? -1 : pauseLengthNs / 1_000_000L;
    }
}
