package dev.basalt.jepsen.schedule;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A fault schedule and the workload parameters it runs with (producers, assign-based consumers,
 * and subscribers: members of one consumer group): a quiet period, faults one after
 * another (never overlapping: each is healed before the next starts), then a recovery period
 * with the network whole and every node running, then final reads.
 *
 * <p>{@link #encode()} gives a one-line form that {@link #decode} reads back, for replaying a
 * shrunk schedule with {@code -Djepsen.schedule=...}; {@code seed} is the seed it was generated
 * from (shrunk schedules keep it, marked by {@code shrunk}).
 *
 * <p>Thread-safety: immutable record.
 */
public record Schedule(long seed, boolean shrunk, int nodes, int partitions, int producers, int consumers, int subscribers, long quietMs,
                       List<FaultStep> faults, long recoverMs) {
    public static final int NODES_MAX = 5;
    public static final int PROCESSES_MAX = 16;

    public Schedule {
        faults = List.copyOf(faults);
        if (nodes < 3 || nodes > NODES_MAX) {
            throw new IllegalArgumentException("nodes must be 3.." + NODES_MAX);
        }
        if (partitions < 1 || partitions > 8 || producers < 1 || producers > PROCESSES_MAX || consumers < 1 || consumers > PROCESSES_MAX) {
            throw new IllegalArgumentException("partitions 1..8, producers and consumers 1.." + PROCESSES_MAX);
        }
        if (subscribers < 0 || subscribers > PROCESSES_MAX) {
            throw new IllegalArgumentException("subscribers 0.." + PROCESSES_MAX);
        }
        for (int i = 1; i < faults.size(); i++) {
            if (faults.get(i).startMs() < faults.get(i - 1).endMs()) {
                throw new IllegalArgumentException("faults overlap: " + faults.get(i - 1) + " and " + faults.get(i));
            }
        }
    }

    /** Milliseconds from the end of the quiet period to the end of the last heal. */
    public long faultPhaseMs() {
        return faults.isEmpty() ? 0 : faults.get(faults.size() - 1).endMs();
    }

    public Set<FaultKind> kinds() {
        Set<FaultKind> k = EnumSet.noneOf(FaultKind.class);
        faults.forEach(f -> k.add(f.kind()));
        return k;
    }

    public String encode() {
        List<String> f = new ArrayList<>();
        faults.forEach(s -> f.add(s.encode()));
        return "v1;seed=" + seed + ";shrunk=" + shrunk + ";nodes=" + nodes + ";partitions=" + partitions + ";producers=" + producers
                + ";consumers=" + consumers + ";subscribers=" + subscribers + ";quiet=" + quietMs + ";recover=" + recoverMs + ";faults=" + String.join(",", f);
    }

    public static Schedule decode(String s) {
        String[] parts = s.trim().split(";");
        if (parts.length != 11 || !"v1".equals(parts[0])) {
            throw new IllegalArgumentException("not a v1 schedule encoding: " + s);
        }
        java.util.Map<String, String> m = new java.util.HashMap<>();
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("field without '=': " + parts[i]);
            }
            m.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
        }
        List<FaultStep> faults = new ArrayList<>();
        if (!m.get("faults").isEmpty()) {
            for (String f : m.get("faults").split(",")) {
                faults.add(FaultStep.decode(f));
            }
        }
        return new Schedule(Long.parseLong(m.get("seed")), Boolean.parseBoolean(m.get("shrunk")), Integer.parseInt(m.get("nodes")),
                Integer.parseInt(m.get("partitions")), Integer.parseInt(m.get("producers")), Integer.parseInt(m.get("consumers")),
                Integer.parseInt(m.get("subscribers")),
                Long.parseLong(m.get("quiet")), faults, Long.parseLong(m.get("recover")));
    }
}
