package dev.basalt.jepsen.checker;

/**
 * One completed (or never completed) operation of the metadata workload on one topic, as the
 * {@link MetadataChecker} reads it: what was asked ({@code kind}, {@code value}: the
 * {@code retention.ms} a create or alter sets), what came back ({@code outcome}; a read's value
 * is in {@code value}), and when (monotonic nanoseconds of the invocation and the completion;
 * {@link #NEVER} when the operation did not complete: indeterminate).
 *
 * <p>Thread-safety: immutable record.
 */
public record MetaOp(long index, int process, Kind kind, String topic, long value, Outcome outcome, long invokeNanos,
                     long completeNanos, String error) {
    public static final long NEVER = Long.MAX_VALUE;

    /** What the operation asks. */
    public enum Kind {
        /** createTopics with {@code retention.ms = value}. */
        CREATE,
        /** deleteTopics. */
        DELETE,
        /** incremental alterConfigs setting {@code retention.ms = value}. */
        ALTER,
        /** describe: whether the topic exists and its {@code retention.ms} override. */
        READ
    }

    /** What came back; {@code FAILED} did not happen, {@code UNKNOWN} may or may not have happened. */
    public enum Outcome {
        CREATED, EXISTS, DELETED, ALTERED, ABSENT, VALUE, FAILED, UNKNOWN;

        public String jsonName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public MetaOp {
        if (kind == null || outcome == null || topic == null || topic.isEmpty()) {
            throw new IllegalArgumentException("kind, outcome and topic are required");
        }
        boolean fits = switch (kind) {
            case CREATE -> outcome == Outcome.CREATED || outcome == Outcome.EXISTS;
            case DELETE -> outcome == Outcome.DELETED || outcome == Outcome.ABSENT;
            case ALTER -> outcome == Outcome.ALTERED || outcome == Outcome.ABSENT;
            case READ -> outcome == Outcome.VALUE || outcome == Outcome.ABSENT;
        } || outcome == Outcome.FAILED || outcome == Outcome.UNKNOWN;
        if (!fits) {
            throw new IllegalArgumentException(outcome + " is not an outcome of " + kind);
        }
        if (completeNanos < invokeNanos) {
            throw new IllegalArgumentException("completed before invoked: " + invokeNanos + " > " + completeNanos);
        }
        if ((outcome == Outcome.UNKNOWN) != (completeNanos == NEVER)) {
            throw new IllegalArgumentException("exactly the UNKNOWN outcomes never complete");
        }
        if (value == Long.MIN_VALUE || value == Long.MAX_VALUE) {
            throw new IllegalArgumentException("value " + value + " is reserved");
        }
        error = error == null ? "" : error;
    }

    public MetaOp withOutcome(Outcome o, long v) {
        return new MetaOp(index, process, kind, topic, v, o, invokeNanos, completeNanos, error);
    }

    public MetaOp withIndex(long i) {
        return new MetaOp(i, process, kind, topic, value, outcome, invokeNanos, completeNanos, error);
    }

    @Override
    public String toString() {
        String arg = kind == Kind.CREATE || kind == Kind.ALTER ? "(" + value + ")" : "";
        String got = outcome == Outcome.VALUE ? "value " + value : outcome.jsonName();
        return "{#" + index + " p" + process + " " + kind.name().toLowerCase(java.util.Locale.ROOT) + arg + " " + topic + " -> " + got
                + " [" + invokeNanos / 1_000_000 + ".." + (completeNanos == NEVER ? "never" : completeNanos / 1_000_000 + "") + " ms]"
                + (error.isEmpty() ? "" : " " + error) + "}";
    }
}
