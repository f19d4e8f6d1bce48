package dev.basalt.jepsen.report;

import dev.basalt.jepsen.checker.Anomaly;
import dev.basalt.jepsen.checker.CheckResult;
import dev.basalt.jepsen.history.Fn;
import dev.basalt.jepsen.history.History;
import dev.basalt.jepsen.history.Msg;
import dev.basalt.jepsen.history.Op;
import dev.basalt.jepsen.history.OpType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The run's HTML page, self-contained (inline SVG and CSS, no scripts, nothing fetched from the
 * network): the verdict and replay command, the anomalies with examples, a timeline of every
 * client operation per process (a bar from invocation to completion, green ok, red fail, orange
 * info) under the fault intervals (shaded bands), and per-second charts of throughput, latency
 * (median and maximum of completed operations) and the unseen count (values acknowledged but
 * not yet read by any poll).
 *
 * <p>Thread-safety: stateless.
 */
public final class ReportPage {
    private static final int WIDTH = 1100;
    private static final int LANE = 14;
    private static final int LEFT = 90;
    private static final int BARS_MAX = 40_000;

    private ReportPage() {
    }

    /** A fault interval in seconds since the run started, with its label. */
    record Band(double fromS, double toS, String label) {
    }

    public static String render(String title, String replay, History history, CheckResult result, List<String> notes) {
        List<History.Pair> pairs = history.pairs().stream().filter(p -> p.f() != Fn.FINAL_READ).toList();
        double endS = Math.max(1, history.ops().stream().mapToLong(Op::monoNanos).max().orElse(0) / 1e9);
        List<Band> bands = bands(history, endS);
        StringBuilder sb = new StringBuilder(1 << 16);
        sb.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(Html.esc(title))
                .append("</title><style>body{font:13px sans-serif;margin:16px}h1{font-size:18px}.ok{color:#197a2e}.bad{color:#b3261e}"
                        + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
                        + "code{background:#f3f3f3;padding:1px 3px}svg{border:1px solid #ddd;margin:6px 0}</style></head><body>");
        sb.append("<h1>").append(Html.esc(title)).append("</h1>");
        boolean valid = result.valid() && notes.isEmpty();
        sb.append("<p>Verdict: <b class=\"").append(valid ? "ok\">valid" : "bad\">INVALID").append("</b></p>");
        sb.append("<p>Replay: <code>").append(Html.esc(replay)).append("</code></p>");
        anomalies(sb, result);
        if (!notes.isEmpty()) {
            sb.append("<h2>Run problems</h2><ul>");
            notes.forEach(n -> sb.append("<li>").append(Html.esc(n)).append("</li>"));
            sb.append("</ul>");
        }
        sb.append("<h2>Faults</h2><table><tr><th>from s</th><th>to s</th><th>fault</th></tr>");
        for (Band b : bands) {
            sb.append(String.format(Locale.ROOT, "<tr><td>%.1f</td><td>%.1f</td><td>%s</td></tr>", b.fromS(), b.toS(), Html.esc(b.label())));
        }
        sb.append("</table>");
        sb.append("<h2>Timeline</h2>");
        timeline(sb, pairs, bands, endS);
        sb.append("<h2>Throughput (completions per second)</h2>");
        series(sb, throughput(pairs, endS), bands, endS, List.of("ok", "fail", "info"), List.of("#197a2e", "#b3261e", "#e08a00"));
        sb.append("<h2>Latency of completed sends and polls (ms per second: median, max)</h2>");
        series(sb, latency(pairs, endS), bands, endS, List.of("median", "max"), List.of("#1f5fbf", "#9aa9c4"));
        sb.append("<h2>Unseen (acknowledged, not yet read by any poll)</h2>");
        series(sb, unseen(pairs, endS), bands, endS, List.of("unseen"), List.of("#7b3fb3"));
        sb.append("<h2>Statistics</h2><table>");
        new TreeMap<>(result.stats()).forEach((k, v) -> sb.append("<tr><td>").append(Html.esc(k)).append("</td><td>").append(v)
                .append("</td></tr>"));
        sb.append("</table><p>Files: <a href=\"history.jsonl\">history.jsonl</a>, <a href=\"schedule.txt\">schedule.txt</a>, "
                + "<a href=\"result.json\">result.json</a>, node logs in <a href=\"logs/\">logs/</a>.</p></body></html>\n");
        return sb.toString();
    }

    private static void anomalies(StringBuilder sb, CheckResult result) {
        sb.append("<h2>Anomalies</h2>");
        if (result.found().isEmpty()) {
            sb.append("<p>none</p>");
            return;
        }
        sb.append("<table><tr><th>anomaly</th><th>count</th><th>allowed here</th><th>examples</th></tr>");
        for (Anomaly a : result.found()) {
            sb.append("<tr><td>").append(a.jepsenName()).append("</td><td>").append(result.counts().get(a)).append("</td><td>")
                    .append(result.allowed().contains(a) ? "yes" : "<b class=\"bad\">no</b>").append("</td><td><ul>");
            result.examples().get(a).forEach(e -> sb.append("<li>").append(Html.esc(e)).append("</li>"));
            sb.append("</ul></td></tr>");
        }
        sb.append("</table>");
    }

    /** Fault intervals from the nemesis ops: "start N ..." opens band N, "heal N ..." closes it. */
    static List<Band> bands(History history, double endS) {
        Map<String, double[]> open = new HashMap<>();
        Map<String, String> labels = new HashMap<>();
        List<Band> out = new ArrayList<>();
        for (Op op : history.nemesisOps()) {
            String[] f = op.note().split(" ", 3);
            if (f.length < 2) {
                continue;
            }
            double t = op.monoNanos() / 1e9;
            if ("start".equals(f[0])) {
                open.put(f[1], new double[] {t});
                labels.put(f[1], f.length > 2 ? f[2] : "");
            } else if ("heal".equals(f[0]) && open.containsKey(f[1])) {
                out.add(new Band(open.remove(f[1])[0], t, labels.get(f[1])));
            }
        }
        open.forEach((id, from) -> out.add(new Band(from[0], endS, labels.get(id) + " (never healed)")));
        out.sort((a, b) -> Double.compare(a.fromS(), b.fromS()));
        return out;
    }

    private static double x(double s, double endS) {
        return LEFT + (WIDTH - LEFT - 10) * s / endS;
    }

    private static void bandsSvg(StringBuilder sb, List<Band> bands, double endS, int height) {
        for (Band b : bands) {
            double x0 = x(b.fromS(), endS);
            sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"%d\" fill=\"#f4c542\" opacity=\"0.25\">"
                    + "<title>%s</title></rect>", x0, Math.max(1, x(b.toS(), endS) - x0), height, Html.esc(b.label())));
        }
    }

    private static void axis(StringBuilder sb, double endS, int y) {
        double step = endS > 120 ? 30 : endS > 40 ? 10 : 5;
        for (double s = 0; s <= endS; s += step) {
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>"
                    + "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%.0fs</text>", x(s, endS), x(s, endS), y, x(s, endS) + 2, y + 11, s));
        }
    }

    private static void timeline(StringBuilder sb, List<History.Pair> pairs, List<Band> bands, double endS) {
        TreeSet<Integer> processes = new TreeSet<>();
        pairs.forEach(p -> processes.add(p.process()));
        List<Integer> lanes = new ArrayList<>(processes);
        int height = lanes.size() * LANE + 4;
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"").append(height + 16)
                .append("\">");
        bandsSvg(sb, bands, endS, height);
        axis(sb, endS, height);
        for (int i = 0; i < lanes.size(); i++) {
            sb.append("<text x=\"2\" y=\"").append(i * LANE + 11).append("\" font-size=\"10\">process ").append(lanes.get(i))
                    .append("</text>");
        }
        int drawn = 0;
        for (History.Pair p : pairs) {
            if (drawn++ >= BARS_MAX) {
                break;
            }
            int lane = lanes.indexOf(p.process());
            double from = p.invoke().monoNanos() / 1e9;
            double to = p.completion().index() == Long.MAX_VALUE ? endS : p.completion().monoNanos() / 1e9;
            String color = switch (p.outcome()) {
                case OK -> "#197a2e";
                case FAIL -> "#b3261e";
                default -> "#e08a00";
            };
            double x0 = x(from, endS);
            sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s</title></rect>",
                    x0, lane * LANE + 2, Math.max(0.8, x(to, endS) - x0), LANE - 4, color,
                    Html.esc(p.f().jsonName() + " " + p.outcome().jsonName() + " " + p.completion().values() + " " + p.completion().error())));
        }
        sb.append("</svg>");
        if (pairs.size() > BARS_MAX) {
            sb.append("<p>(first ").append(BARS_MAX).append(" of ").append(pairs.size()).append(" operations drawn)</p>");
        }
    }

    private static int seconds(double endS) {
        return (int) Math.ceil(endS) + 1;
    }

    private static double[][] throughput(List<History.Pair> pairs, double endS) {
        double[][] s = new double[3][seconds(endS)];
        for (History.Pair p : pairs) {
            if (p.completion().index() == Long.MAX_VALUE || p.f() == Fn.ASSIGN) {
                continue;
            }
            int sec = (int) (p.completion().monoNanos() / 1_000_000_000L);
            s[p.outcome() == OpType.OK ? 0 : p.outcome() == OpType.FAIL ? 1 : 2][Math.min(sec, s[0].length - 1)]++;
        }
        return s;
    }

    private static double[][] latency(List<History.Pair> pairs, double endS) {
        int n = seconds(endS);
        List<List<Double>> per = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            per.add(new ArrayList<>());
        }
        for (History.Pair p : pairs) {
            if ((p.f() == Fn.SEND || p.f() == Fn.POLL) && p.completion().index() != Long.MAX_VALUE) {
                int sec = Math.min(n - 1, (int) (p.completion().monoNanos() / 1_000_000_000L));
                per.get(sec).add((p.completion().monoNanos() - p.invoke().monoNanos()) / 1e6);
            }
        }
        double[][] s = new double[2][n];
        for (int i = 0; i < n; i++) {
            double[] v = per.get(i).stream().mapToDouble(Double::doubleValue).toArray();
            Arrays.sort(v);
            s[0][i] = v.length == 0 ? 0 : v[v.length / 2];
            s[1][i] = v.length == 0 ? 0 : v[v.length - 1];
        }
        return s;
    }

    private static double[][] unseen(List<History.Pair> pairs, double endS) {
        int n = seconds(endS);
        Map<Long, Long> ackedAt = new HashMap<>();
        Map<Long, Long> firstReadAt = new HashMap<>();
        for (History.Pair p : pairs) {
            if (p.outcome() != OpType.OK) {
                continue;
            }
            long t = p.completion().monoNanos();
            if (p.f() == Fn.SEND) {
                p.completion().values().forEach(m -> ackedAt.put(m.value(), t));
            } else if (p.f() == Fn.POLL) {
                for (Msg m : p.completion().values()) {
                    firstReadAt.merge(m.value(), t, Math::min);
                }
            }
        }
        double[][] s = new double[1][n];
        ackedAt.forEach((value, acked) -> {
            long read = firstReadAt.getOrDefault(value, Long.MAX_VALUE);
            int from = (int) Math.min(n - 1, acked / 1_000_000_000L);
            int to = read == Long.MAX_VALUE ? n : (int) Math.min(n, read / 1_000_000_000L);
            for (int i = from; i < to; i++) {
                s[0][i]++;
            }
        });
        return s;
    }

    private static void series(StringBuilder sb, double[][] series, List<Band> bands, double endS, List<String> names,
                               List<String> colors) {
        int height = 140;
        double max = 1;
        for (double[] s : series) {
            for (double v : s) {
                max = Math.max(max, v);
            }
        }
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"").append(height + 16)
                .append("\">");
        bandsSvg(sb, bands, endS, height);
        axis(sb, endS, height);
        sb.append(String.format(Locale.ROOT, "<text x=\"2\" y=\"10\" font-size=\"10\">%.0f</text><text x=\"2\" y=\"%d\" font-size=\"10\">0</text>",
                max, height));
        for (int k = 0; k < series.length; k++) {
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i < series[k].length; i++) {
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x(i + 0.5, endS), height - (height - 4) * series[k][i] / max));
            }
            sb.append("<polyline fill=\"none\" stroke=\"").append(colors.get(k)).append("\" stroke-width=\"1.5\" points=\"")
                    .append(pts.toString().trim()).append("\"><title>").append(names.get(k)).append("</title></polyline>");
            sb.append("<text x=\"").append(LEFT + 10 + k * 90).append("\" y=\"12\" font-size=\"11\" fill=\"").append(colors.get(k))
                    .append("\">").append(names.get(k)).append("</text>");
        }
        sb.append("</svg>");
    }
}
