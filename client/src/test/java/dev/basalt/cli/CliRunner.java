package dev.basalt.cli;

import dev.basalt.client.testkit.FakeCluster;
import dev.basalt.record.RecordBatchBuilder;
import dev.basalt.record.TimestampType;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs {@code basalt} in-process against a {@link FakeCluster} (its bootstrap added), capturing
 * exit code, stdout and stderr; and builds the record batches the tests append to the fake's
 * logs. Thread-safety: immutable.
 */
final class CliRunner {
    record Result(int code, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    private final FakeCluster cluster;

    CliRunner(FakeCluster cluster) {
        this.cluster = cluster;
    }

    Result run(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--bootstrap-server");
        all.add(cluster.bootstrap());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = BasaltCli.run(all.toArray(new String[0]), new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Appends {@code count} one-record batches to topic-partition, each with this timestamp (CreateTime). */
    void append(String topic, int partition, int count, long timestampMs) {
        for (int i = 0; i < count; i++) {
            RecordBatchBuilder b = new RecordBatchBuilder(ByteBuffer.allocate(256), timestampMs).timestampType(TimestampType.CREATE_TIME);
            b.tryAppend(timestampMs, null, ("v" + i).getBytes(StandardCharsets.UTF_8), List.of());
            cluster.appendBatches(topic, partition, b.build().buffer());
        }
    }
}
