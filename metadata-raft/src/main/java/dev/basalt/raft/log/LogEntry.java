package dev.basalt.raft.log;

import java.util.Objects;

/**
 * One entry of the Raft log (Raft paper §5.3): its term, its 1-based index, what kind it is, and
 * its opaque payload. Immutable; {@code data} is never modified after construction (callers
 * must not modify the array they pass in).
 *
 * @param term  the leader's term when the entry was created
 * @param index position in the log, starting at 1
 * @param type  NOOP (written by each new leader, §8), CONFIGURATION (voter set, §6), or DATA
 * @param data  payload; empty for NOOP
 */
public record LogEntry(long term, long index, EntryType type, byte[] data) {
    public LogEntry {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        if (term < 1) {
            throw new IllegalArgumentException("term must be >= 1: " + term);
        }
        if (index < 1) {
            throw new IllegalArgumentException("index must be >= 1: " + index);
        }
    }

    /** What an entry carries. Numbers are stored on disk and on the wire: never renumber. */
    public enum EntryType {
        NOOP(0), CONFIGURATION(1), DATA(2);

        private final int code;

        EntryType(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        public static EntryType fromCode(int code) {
            for (EntryType t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            throw new IllegalArgumentException("unknown entry type code " + code);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LogEntry e && term == e.term && index == e.index && type == e.type
                && java.util.Arrays.equals(data, e.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(term, index, type) * 31 + java.util.Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "LogEntry(term=" + term + ", index=" + index + ", " + type + ", " + data.length + " bytes)";
    }
}
