package dev.basalt.jepsen.history;

/**
 * What an operation does (Jepsen's {@code :f}).
 *
 * <ul>
 *   <li>{@code SEND}: produce one or more values, each to a key (a topic-partition); the
 *       completion carries the offset of each value.</li>
 *   <li>{@code POLL}: one consumer poll; the completion carries the records read, per key in the
 *       order the consumer returned them.</li>
 *   <li>{@code ASSIGN}: a consumer's set of keys changed (assign() by the workload, or a group
 *       rebalance reported by the consumer); its {@code keys} are the full new assignment. A poll
 *       position is only meaningful between two assignments, so the checker restarts a process's
 *       per-key order at every assignment that (re)adds the key.</li>
 *   <li>{@code COMMIT}: a group member committed offsets ({@code values}: key and next offset).</li>
 *   <li>{@code FINAL_READ}: after healing, one replica's log read directly from that node
 *       ({@code node}), up to its high watermark per key ({@code highWatermarks}).</li>
 *   <li>{@code NEMESIS}: a fault started or healed; {@code note} says which and where.</li>
 * </ul>
 *
 * <p>Thread-safety: immutable enum.
 */
public enum Fn {
    SEND, POLL, ASSIGN, COMMIT, FINAL_READ, NEMESIS;

    public String jsonName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    public static Fn ofJson(String s) {
        return valueOf(s.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
    }
}
