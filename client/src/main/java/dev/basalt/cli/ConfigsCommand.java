package dev.basalt.cli;

import dev.basalt.client.Admin;
import dev.basalt.client.admin.AlterConfigOp;
import dev.basalt.client.admin.ConfigEntry;
import dev.basalt.client.admin.ConfigResource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt configs}: describe or change the dynamic configs of one broker, of every broker
 * (the cluster-wide default, {@code --entity-default}) or of a topic, in the spirit of Kafka's
 * kafka-configs. A broker's dynamic key today is the reassignment catch-up throttle
 * ({@code reassignment.throttle.bytes.per.second}); a per-broker value wins over the default.
 * {@code --describe} prints the overrides (with {@code --all}: every key and where its value
 * comes from). Thread-safety: one invocation per instance.
 */
@Command(name = "configs", mixinStandardHelpOptions = true, description = "Describe or change broker and topic configs.")
final class ConfigsCommand implements Callable<Integer> {
    @ArgGroup(exclusive = true, multiplicity = "1")
    Action action;

    static final class Action {
        @Option(names = "--describe", description = "Print the entity's overrides (with --all: every key).") boolean describe;
        @Option(names = "--alter", description = "Change the entity's configs (--add-config, --delete-config).") boolean alter;
    }

    @Option(names = "--entity-type", required = true, paramLabel = "brokers|topics", description = "What to configure.")
    String entityType;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Entity entity;

    static final class Entity {
        @Option(names = "--entity-name", paramLabel = "NAME", description = "A broker id, or a topic name.") String name;
        @Option(names = "--entity-default", description = "With --entity-type brokers: the value every broker takes unless it has its own.")
        boolean clusterDefault;
    }

    @Option(names = "--add-config", split = ",", paramLabel = "KEY=VALUE", description = "With --alter: set these (repeatable, or comma-separated).")
    List<String> add = new ArrayList<>();
    @Option(names = "--delete-config", split = ",", paramLabel = "KEY", description = "With --alter: remove these overrides (repeatable, or comma-separated).")
    List<String> delete = new ArrayList<>();
    @Option(names = "--all", description = "With --describe: every key, not only the overrides.")
    boolean all;
    @Option(names = "--timeout-ms", defaultValue = "30000", description = "Give up after this long (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    BasaltCli root;

    @Override
    public Integer call() {
        ConfigResource resource = resource();
        String what = describe(resource);
        if (timeoutMs <= 0) {
            throw new BasaltCli.UsageException("--timeout-ms must be positive, not " + timeoutMs);
        }
        if (action.describe && (!add.isEmpty() || !delete.isEmpty())) {
            throw new BasaltCli.UsageException("--add-config and --delete-config go with --alter");
        }
        if (action.alter && all) {
            throw new BasaltCli.UsageException("--all goes with --describe");
        }
        Map<String, String> sets = new LinkedHashMap<>();
        for (String kv : add) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new BasaltCli.UsageException("--add-config takes KEY=VALUE, not '" + kv + "'");
            }
            if (sets.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim()) != null) {
                throw new BasaltCli.UsageException("config " + kv.substring(0, eq).trim() + " is given twice in --add-config");
            }
        }
        Set<String> removes = new LinkedHashSet<>();
        for (String k : delete) {
            if (k.isBlank()) {
                throw new BasaltCli.UsageException("--delete-config takes a key, not an empty string");
            }
            if (sets.containsKey(k.trim())) {
                throw new BasaltCli.UsageException("config " + k.trim() + " is both set (--add-config) and removed (--delete-config): give one");
            }
            removes.add(k.trim());
        }
        if (action.alter && sets.isEmpty() && removes.isEmpty()) {
            throw new BasaltCli.UsageException("--alter needs --add-config or --delete-config");
        }
        AdminWait t = new AdminWait(timeoutMs);
        try (Admin admin = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, BasaltCli.adminTimeouts(timeoutMs)))) {
            if (action.alter) {
                List<AlterConfigOp> ops = new ArrayList<>();
                sets.forEach((k, v) -> ops.add(AlterConfigOp.set(k, v)));
                removes.forEach(k -> ops.add(AlterConfigOp.delete(k)));
                t.getAll(admin.alterConfigs(Map.of(resource, ops), false));
                root.out.println("Updated configs of " + what + ".");
                return BasaltCli.OK;
            }
            List<ConfigEntry> entries = t.get(admin.describeConfigs(List.of(resource), List.of())).getOrDefault(resource, List.of());
            List<ConfigEntry> shown = entries.stream().filter(e -> all || isOverride(resource, e)).toList();
            root.out.println((all ? "Configs of " : "Overrides of ") + what + (shown.isEmpty() ? ": none." : ":"));
            for (ConfigEntry e : shown) {
                root.out.println("  " + e.name() + "=" + (e.sensitive() ? "(hidden)" : e.value()) + "  (" + e.source() + ")");
            }
            return BasaltCli.OK;
        }
    }

    private ConfigResource resource() {
        switch (entityType) {
            case "brokers", "broker" -> {
                if (entity.clusterDefault) {
                    return new ConfigResource(ConfigResource.Type.BROKER, "");
                }
                if (!entity.name.matches("[0-9]{1,9}")) {
                    throw new BasaltCli.UsageException("--entity-name of a broker is its id (a number), not '" + entity.name + "'");
                }
                return new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(Integer.parseInt(entity.name)));
            }
            case "topics", "topic" -> {
                if (entity.clusterDefault) {
                    throw new BasaltCli.UsageException("--entity-default goes with --entity-type brokers (topic defaults are the"
                            + " brokers' static configs)");
                }
                if (entity.name.isBlank()) {
                    throw new BasaltCli.UsageException("--entity-name must not be empty");
                }
                return new ConfigResource(ConfigResource.Type.TOPIC, entity.name);
            }
            default -> throw new BasaltCli.UsageException("--entity-type is brokers or topics, not '" + entityType + "'");
        }
    }

    private static String describe(ConfigResource r) {
        return r.type() == ConfigResource.Type.TOPIC ? "topic " + r.name() : r.name().isEmpty() ? "the broker default" : "broker " + r.name();
    }

    /** A value set on the entity itself: a topic's own, a broker's own, or (for the default) the cluster-wide one. */
    private static boolean isOverride(ConfigResource r, ConfigEntry e) {
        if (r.type() == ConfigResource.Type.TOPIC) {
            return "TOPIC_CONFIG".equals(e.source());
        }
        return r.name().isEmpty() ? "DYNAMIC_DEFAULT_BROKER_CONFIG".equals(e.source()) : "DYNAMIC_BROKER_CONFIG".equals(e.source());
    }
}
