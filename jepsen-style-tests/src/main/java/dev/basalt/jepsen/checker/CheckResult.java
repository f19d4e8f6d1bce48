package dev.basalt.jepsen.checker;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What {@link QueueChecker} found: the count and the first examples of every anomaly seen, which
 * of them the configuration allows, and summary statistics. {@link #valid()} is false when any
 * anomaly that is not allowed was seen.
 *
 * <p>Thread-safety: immutable.
 */
public record CheckResult(Map<Anomaly, Integer> counts, Map<Anomaly, List<String>> examples, Set<Anomaly> allowed,
                          Map<String, Long> stats) {
    public CheckResult {
        counts = Map.copyOf(counts);
        examples = Map.copyOf(examples);
        allowed = Set.copyOf(allowed);
        stats = Map.copyOf(stats);
    }

    /** Anomalies seen, allowed or not, in enum order. */
    public Set<Anomaly> found() {
        Set<Anomaly> out = EnumSet.noneOf(Anomaly.class);
        out.addAll(counts.keySet());
        return out;
    }

    /** Anomalies seen that the configuration does not allow. */
    public Set<Anomaly> failures() {
        Set<Anomaly> out = found();
        out.removeAll(allowed);
        return out;
    }

    public boolean valid() {
        return failures().isEmpty();
    }

    /** One paragraph for test failure messages: each anomaly with its count and first examples. */
    public String summary() {
        if (counts.isEmpty()) {
            return "no anomalies; " + new TreeMap<>(stats);
        }
        StringBuilder sb = new StringBuilder(valid() ? "valid (only allowed anomalies)" : "INVALID");
        for (Anomaly a : found()) {
            sb.append("\n  ").append(a.jepsenName()).append(allowed.contains(a) ? " (allowed)" : "").append(": ")
                    .append(counts.get(a)).append(", e.g. ").append(examples.get(a));
        }
        return sb.append("\n  ").append(new TreeMap<>(stats)).toString();
    }

    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("valid", valid());
        JsonObject anomalies = new JsonObject();
        for (Anomaly a : found()) {
            JsonObject e = new JsonObject();
            e.addProperty("count", counts.get(a));
            e.addProperty("allowed", allowed.contains(a));
            JsonArray ex = new JsonArray();
            examples.get(a).forEach(ex::add);
            e.add("examples", ex);
            anomalies.add(a.jepsenName(), e);
        }
        o.add("anomalies", anomalies);
        JsonArray al = new JsonArray();
        allowed.stream().sorted().forEach(a -> al.add(a.jepsenName()));
        o.add("allowed", al);
        JsonObject st = new JsonObject();
        new TreeMap<>(stats).forEach(st::addProperty);
        o.add("stats", st);
        return new GsonBuilder().setPrettyPrinting().create().toJson(o);
    }
}
