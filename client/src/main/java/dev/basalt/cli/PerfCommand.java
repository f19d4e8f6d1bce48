package dev.basalt.cli;

import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.Admin;
import dev.basalt.client.BasaltException;
import dev.basalt.client.TopicExistsException;
import dev.basalt.client.UnknownTopicException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt perf produce|consume|e2e}: throughput and latency measurements in the manner
 * of Kafka's ProducerPerformance, ConsumerPerformance and EndToEndLatency, so that the same
 * runs can be compared side by side. Thread-safety: one invocation per instance.
 */
@Command(name = "perf", mixinStandardHelpOptions = true, description = "Measure produce, consume and end-to-end performance.",
        subcommands = {PerfProduce.class, PerfConsume.class, PerfEndToEnd.class})
final class PerfCommand implements Runnable {
    @ParentCommand
    BasaltCli root;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        // found probing: a bare `basalt perf` printed its usage and exited 0, as if it had measured
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "perf needs a measurement: produce, consume or e2e");
    }

    /** Options every perf command shares. */
    static class Common {
        @Option(names = "--topic", required = true, description = "Topic to use.")
        String topic;

        @Option(names = "--records", required = true, description = "Number of records.")
        long records;

        @Option(names = "--partitions", description = "Create the topic with this many partitions if it does not exist.")
        Integer partitions;

        @Option(names = "--replication-factor", defaultValue = "-1", description = "With --partitions: replicas (default: broker's).")
        int replicationFactor;

        @Option(names = "--reporting-interval-ms", defaultValue = "5000", description = "Progress line interval (default: ${DEFAULT-VALUE}).")
        long reportingIntervalMs;

        void validate() {
            if (records <= 0) {
                throw new BasaltCli.UsageException("--records must be positive");
            }
            if (partitions != null && partitions <= 0) {
                throw new BasaltCli.UsageException("--partitions must be positive");
            }
            if (replicationFactor < 1 && replicationFactor != -1) {
                throw new BasaltCli.UsageException("--replication-factor must be at least 1 (omit it for the broker's default), got "
                        + replicationFactor);
            }
        }
    }

    /**
     * Creates the topic when --partitions was given and it does not exist yet; without --partitions
     * a missing topic fails at once, naming it (the producer would wait max.block.ms for it).
     */
    static void ensureTopic(BasaltCli root, Common c) {
        try (Admin admin = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, Map.of("default.api.timeout.ms", "15000")))) {
            try {
                Admin.get(admin.describeTopics(List.of(c.topic)), Duration.ofSeconds(20));
                return;
            } catch (UnknownTopicException e) {
                if (c.partitions == null) {
                    throw new UnknownTopicException("topic " + c.topic + " does not exist: create it first, or pass --partitions N"
                            + " (and --replication-factor R) to create it");
                }
                // create it below
            }
            try {
                Admin.getAll(admin.createTopics(List.of(new NewTopic(c.topic, c.partitions, c.replicationFactor)), false),
                        Duration.ofSeconds(20));
                root.err.println("Created topic " + c.topic + " with " + BasaltCli.count(c.partitions, "partition") + ".");
            } catch (TopicExistsException e) {
                // created concurrently: fine
            }
        }
    }

    /** Rethrows the first failure a perf run saw, so the exit code reflects it. */
    static void rethrow(Throwable first) {
        if (first instanceof BasaltException b) {
            throw b;
        }
        if (first != null) {
            throw new IllegalStateException(first.toString(), first);
        }
    }
}
