package dev.basalt.jepsen.schedule;

/**
 * One fault of a schedule: what, a choice used to pick targets, when it starts (ms after the
 * quiet period ended) and how long it lasts before its heal.
 *
 * <p>Thread-safety: immutable record.
 */
public record FaultStep(FaultKind kind, int choice, long startMs, long durationMs) {
    public FaultStep {
        if (kind == null) {
            throw new IllegalArgumentException("kind");
        }
        if (choice < 0 || startMs < 0 || durationMs < 1) {
            throw new IllegalArgumentException("choice, startMs >= 0 and durationMs >= 1: " + choice + " " + startMs + " " + durationMs);
        }
    }

    public long endMs() {
        return startMs + durationMs;
    }

    /** {@code kind:choice:start:duration}, as used in schedule encodings. */
    public String encode() {
        return kind.jsonName() + ":" + choice + ":" + startMs + ":" + durationMs;
    }

    public static FaultStep decode(String s) {
        String[] f = s.split(":");
        if (f.length != 4) {
            throw new IllegalArgumentException("fault step '" + s + "' is not kind:choice:startMs:durationMs");
        }
        return new FaultStep(FaultKind.ofJson(f[0]), Integer.parseInt(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]));
    }
}
