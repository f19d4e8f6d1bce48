package dev.basalt.broker.tools;

import dev.basalt.broker.config.ConfigException;
import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.storage.StorageDirectory;
import dev.basalt.broker.storage.StorageMeta;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * {@code basalt storage ...}: offline tools for a node's data directory (the node must not be
 * running). {@code random-uuid} prints a new cluster id; {@code format} writes a directory's
 * identity (see {@link StorageMeta}); {@code info} prints it.
 *
 * <p>Exit codes: 0 done; 1 the directory cannot be used as asked (the reason is printed); 2 bad
 * arguments or configuration.
 *
 * <p>Thread-safety: a command-line tool; one thread.
 */
public final class StorageTool {
    static final int EXIT_OK = 0;
    static final int EXIT_REFUSED = 1;
    static final int EXIT_USAGE = 2;

    static final String USAGE = """
            Usage: basalt storage <command> ...

              random-uuid                          print a new random cluster id
              format --config FILE --cluster-id ID [--initial-voters | --join]
                                                   format the node's data.dir (once, before its first start);
                                                   controllers say --initial-voters (the first voters of a new
                                                   cluster) or --join (rejoin after the metadata log was lost:
                                                   the node gets a new directory id and does not vote until a
                                                   voter change re-adds it; partition data is kept)
              info --config FILE                   print the directory's identity
            """;

    private final PrintStream out;
    private final PrintStream err;

    StorageTool(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(new StorageTool(System.out, System.err).run(args));
    }

    int run(String[] args) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            out.print(USAGE);
            return args.length == 0 ? EXIT_USAGE : EXIT_OK;
        }
        List<String> rest = new ArrayList<>(List.of(args).subList(1, args.length));
        try {
            return switch (args[0]) {
                case "random-uuid" -> {
                    requireEmpty(rest);
                    out.println(UUID.randomUUID());
                    yield EXIT_OK;
                }
                case "format" -> format(rest);
                case "info" -> info(rest);
                default -> usage("unknown command '" + args[0] + "'");
            };
        } catch (UsageException e) {
            return usage(e.getMessage());
        } catch (ConfigException e) {
            err.println("basalt storage: " + e.getMessage());
            return EXIT_USAGE;
        } catch (StorageDirectory.StorageIdentityException | IllegalArgumentException e) {
            err.println("basalt storage: " + e.getMessage());
            return EXIT_REFUSED;
        } catch (IOException e) {
            err.println("basalt storage: " + e);
            return EXIT_REFUSED;
        }
    }

    private int format(List<String> args) throws IOException {
        NodeConfig config = NodeConfig.load(Path.of(option(args, "--config")));
        String clusterId = option(args, "--cluster-id");
        boolean initial = args.remove("--initial-voters");
        boolean join = args.remove("--join");
        requireEmpty(args);
        if (initial && join) {
            throw new UsageException("--initial-voters and --join exclude each other");
        }
        StorageDirectory.VoterMode mode = initial ? StorageDirectory.VoterMode.INITIAL : join ? StorageDirectory.VoterMode.JOIN : null;
        StorageMeta meta = StorageDirectory.format(config, clusterId, mode);
        out.println("Formatted " + config.dataDir().toAbsolutePath() + ": cluster " + meta.clusterId() + ", node " + meta.nodeId()
                + ", directory " + meta.directoryId() + ", metadata log " + meta.metadataLog().name().toLowerCase(java.util.Locale.ROOT));
        if (join) {
            out.println("Start the node, then on the active controller: curl -X POST 'http://ADMIN/quorum/remove-voter?id="
                    + meta.nodeId() + "' and then 'http://ADMIN/quorum/add-voter?id=" + meta.nodeId() + "'");
        }
        return EXIT_OK;
    }

    private int info(List<String> args) throws IOException {
        NodeConfig config = NodeConfig.load(Path.of(option(args, "--config")));
        requireEmpty(args);
        StorageMeta meta = StorageMeta.read(config.dataDir());
        if (meta == null) {
            err.println("basalt storage: " + config.dataDir().toAbsolutePath() + " is not formatted");
            return EXIT_REFUSED;
        }
        out.println("directory " + config.dataDir().toAbsolutePath() + ": cluster " + meta.clusterId() + ", node " + meta.nodeId()
                + ", directory id " + meta.directoryId() + ", metadata log " + meta.metadataLog().name().toLowerCase(java.util.Locale.ROOT));
        return EXIT_OK;
    }

    private int usage(String message) {
        err.println("basalt storage: " + message);
        err.print(USAGE);
        return EXIT_USAGE;
    }

    /** Removes {@code name VALUE} from args and returns VALUE. */
    static String option(List<String> args, String name) {
        int i = args.indexOf(name);
        if (i < 0 || i + 1 >= args.size()) {
            throw new UsageException(name + " is required");
        }
        String v = args.get(i + 1);
        args.remove(i + 1);
        args.remove(i);
        return v;
    }

    static void requireEmpty(List<String> args) {
        if (!args.isEmpty()) {
            throw new UsageException("unexpected argument(s) " + args);
        }
    }

    /** Bad command-line use. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
