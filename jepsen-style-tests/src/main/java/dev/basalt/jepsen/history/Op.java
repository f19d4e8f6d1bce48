package dev.basalt.jepsen.history;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One history entry (Jepsen's op map, typed). {@code index} is the entry's position in the
 * history; {@code process} the logical process that issued it ({@link #NEMESIS_PROCESS} for
 * faults); {@code wallMs} the wall-clock time (for people reading the report) and
 * {@code monoNanos} a monotonic time relative to the start of the run (for ordering and
 * latency; it never goes backwards even when a nemesis skews clocks).
 *
 * <p>Fields used per {@link Fn}: SEND and POLL use {@code values}; ASSIGN uses {@code keys};
 * COMMIT uses {@code group} and {@code values}; FINAL_READ uses {@code node}, {@code values} and
 * {@code highWatermarks}; NEMESIS uses {@code note}. {@code error} holds a FAIL's or INFO's cause.
 *
 * <p>Thread-safety: immutable record (the lists and maps are copied).
 */
public record Op(long index, int process, OpType type, Fn f, long wallMs, long monoNanos, List<Msg> values, List<String> keys,
                 String group, int node, Map<String, Long> highWatermarks, String note, String error) {
    public static final int NEMESIS_PROCESS = -1;
    public static final int NO_NODE = -1;

    public Op {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(f, "f");
        values = values == null ? List.of() : List.copyOf(values);
        keys = keys == null ? List.of() : List.copyOf(keys);
        highWatermarks = highWatermarks == null ? Map.of() : Map.copyOf(highWatermarks);
        group = group == null ? "" : group;
        note = note == null ? "" : note;
        error = error == null ? "" : error;
        if (f == Fn.NEMESIS && process != NEMESIS_PROCESS) {
            throw new IllegalArgumentException("nemesis ops belong to process " + NEMESIS_PROCESS);
        }
    }

    /** A new op of {@code f} with no payload; use the {@code with*} methods to fill it. */
    public static Op of(int process, OpType type, Fn f, long wallMs, long monoNanos) {
        return new Op(-1, process, type, f, wallMs, monoNanos, List.of(), List.of(), "", NO_NODE, Map.of(), "", "");
    }

    public Op withIndex(long i) {
        return new Op(i, process, type, f, wallMs, monoNanos, values, keys, group, node, highWatermarks, note, error);
    }

    public Op withType(OpType t) {
        return new Op(index, process, t, f, wallMs, monoNanos, values, keys, group, node, highWatermarks, note, error);
    }

    public Op withTimes(long wall, long mono) {
        return new Op(index, process, type, f, wall, mono, values, keys, group, node, highWatermarks, note, error);
    }

    public Op withValues(List<Msg> v) {
        return new Op(index, process, type, f, wallMs, monoNanos, v, keys, group, node, highWatermarks, note, error);
    }

    public Op withKeys(List<String> k) {
        return new Op(index, process, type, f, wallMs, monoNanos, values, k, group, node, highWatermarks, note, error);
    }

    public Op withGroup(String g) {
        return new Op(index, process, type, f, wallMs, monoNanos, values, keys, g, node, highWatermarks, note, error);
    }

    public Op withNode(int n, Map<String, Long> hws) {
        return new Op(index, process, type, f, wallMs, monoNanos, values, keys, group, n, hws, note, error);
    }

    public Op withNote(String n) {
        return new Op(index, process, type, f, wallMs, monoNanos, values, keys, group, node, highWatermarks, n, error);
    }

    public Op withError(String e) {
        return new Op(index, process, type, f, wallMs, monoNanos, values, keys, group, node, highWatermarks, note, e);
    }

    public boolean isInvoke() {
        return type == OpType.INVOKE;
    }

    public boolean isCompletion() {
        return type != OpType.INVOKE;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("{#").append(index).append(" p").append(process == NEMESIS_PROCESS ? "nemesis" : process)
                .append(' ').append(type.jsonName()).append(' ').append(f.jsonName());
        if (!values.isEmpty()) {
            sb.append(' ').append(values);
        }
        if (!keys.isEmpty()) {
            sb.append(" keys=").append(keys);
        }
        if (!group.isEmpty()) {
            sb.append(" group=").append(group);
        }
        if (node != NO_NODE) {
            sb.append(" node=").append(node).append(" hw=").append(new java.util.TreeMap<>(highWatermarks));
        }
        if (!note.isEmpty()) {
            sb.append(' ').append(note);
        }
        if (!error.isEmpty()) {
            sb.append(" error=").append(error);
        }
        return sb.append('}').toString();
    }
}
