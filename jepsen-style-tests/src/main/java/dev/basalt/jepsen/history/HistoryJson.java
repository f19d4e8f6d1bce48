package dev.basalt.jepsen.history;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The history as JSON lines, one op per line, fields named as in Jepsen where one exists:
 * {@code {"index":3,"process":1,"type":"ok","f":"send","wall-ms":…,"mono-ns":…,
 * "value":[{"key":"t-0","offset":12,"value":40}]}}; optional fields ({@code keys}, {@code group},
 * {@code node}, {@code hw}, {@code note}, {@code error}) appear only when set. {@link #read}
 * parses what {@link #write} wrote (round trip tested).
 *
 * <p>Thread-safety: stateless.
 */
public final class HistoryJson {
    private HistoryJson() {
    }

    public static String line(Op op) {
        JsonObject o = new JsonObject();
        o.addProperty("index", op.index());
        o.addProperty("process", op.process() == Op.NEMESIS_PROCESS ? "nemesis" : Integer.toString(op.process()));
        o.addProperty("type", op.type().jsonName());
        o.addProperty("f", op.f().jsonName());
        o.addProperty("wall-ms", op.wallMs());
        o.addProperty("mono-ns", op.monoNanos());
        if (!op.values().isEmpty()) {
            JsonArray a = new JsonArray();
            for (Msg m : op.values()) {
                JsonObject v = new JsonObject();
                v.addProperty("key", m.key());
                if (m.hasOffset()) {
                    v.addProperty("offset", m.offset());
                }
                if (m.value() != Msg.NO_VALUE) {
                    v.addProperty("value", m.value());
                }
                a.add(v);
            }
            o.add("value", a);
        }
        if (!op.keys().isEmpty()) {
            JsonArray a = new JsonArray();
            op.keys().forEach(a::add);
            o.add("keys", a);
        }
        if (!op.group().isEmpty()) {
            o.addProperty("group", op.group());
        }
        if (op.node() != Op.NO_NODE) {
            o.addProperty("node", op.node());
            JsonObject hw = new JsonObject();
            new TreeMap<>(op.highWatermarks()).forEach(hw::addProperty);
            o.add("hw", hw);
        }
        if (!op.note().isEmpty()) {
            o.addProperty("note", op.note());
        }
        if (!op.error().isEmpty()) {
            o.addProperty("error", op.error());
        }
        return o.toString();
    }

    public static Op parse(String line) {
        JsonObject o = JsonParser.parseString(line).getAsJsonObject();
        String p = o.get("process").getAsString();
        Op op = Op.of("nemesis".equals(p) ? Op.NEMESIS_PROCESS : Integer.parseInt(p), OpType.valueOf(o.get("type").getAsString()
                .toUpperCase(java.util.Locale.ROOT)), Fn.ofJson(o.get("f").getAsString()), o.get("wall-ms").getAsLong(),
                o.get("mono-ns").getAsLong()).withIndex(o.get("index").getAsLong());
        if (o.has("value")) {
            List<Msg> values = new ArrayList<>();
            for (JsonElement e : o.getAsJsonArray("value")) {
                JsonObject v = e.getAsJsonObject();
                values.add(new Msg(v.get("key").getAsString(), v.has("offset") ? v.get("offset").getAsLong() : Msg.UNKNOWN_OFFSET,
                        v.has("value") ? v.get("value").getAsLong() : Msg.NO_VALUE));
            }
            op = op.withValues(values);
        }
        if (o.has("keys")) {
            List<String> keys = new ArrayList<>();
            o.getAsJsonArray("keys").forEach(e -> keys.add(e.getAsString()));
            op = op.withKeys(keys);
        }
        if (o.has("group")) {
            op = op.withGroup(o.get("group").getAsString());
        }
        if (o.has("node")) {
            Map<String, Long> hw = new LinkedHashMap<>();
            o.getAsJsonObject("hw").entrySet().forEach(e -> hw.put(e.getKey(), e.getValue().getAsLong()));
            op = op.withNode(o.get("node").getAsInt(), hw);
        }
        if (o.has("note")) {
            op = op.withNote(o.get("note").getAsString());
        }
        if (o.has("error")) {
            op = op.withError(o.get("error").getAsString());
        }
        return op;
    }

    public static void write(List<Op> ops, Writer out) throws IOException {
        for (Op op : ops) {
            out.write(line(op));
            out.write('\n');
        }
    }

    public static void write(History h, Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            write(h.ops(), w);
        }
    }

    /** Reads a history file; indices are taken from the file order. */
    public static History read(Path file) throws IOException {
        List<Op> ops = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) {
                    ops.add(parse(line));
                }
            }
        }
        return History.of(ops);
    }
}
