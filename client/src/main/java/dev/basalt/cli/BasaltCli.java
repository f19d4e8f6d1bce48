package dev.basalt.cli;

import dev.basalt.client.BasaltException;
import dev.basalt.client.ClientTimeoutException;
import dev.basalt.client.CommonClientConfigs;
import dev.basalt.client.ConfigException;
import dev.basalt.client.ConnectionException;
import dev.basalt.client.IndeterminateException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code basalt} command line (everything except {@code start}, which {@code bin/basalt}
 * hands to the broker's main class): topics, produce, consume, get-offsets, delete-records, groups,
 * cluster and perf, talking to the cluster at {@code --bootstrap-server} / {@code -b} (a comma-separated list;
 * default 127.0.0.1:9400).
 *
 * <p>Errors are printed as one line on stderr ("basalt: error: ..."), with the stack trace only
 * under {@code --verbose}. Exit codes:
 * <pre>
 *   0  success
 *   1  the cluster refused or failed the operation (unknown topic, topic exists, invalid config...)
 *   2  usage error (bad option, bad value, bad client configuration)
 *   3  cannot connect to any bootstrap broker
 *   4  timed out, or the outcome is unknown (a write may or may not have happened)
 *   5  local I/O error (reading a file or stdin)
 * </pre>
 *
 * <p>Thread-safety: one invocation per instance.
 */
@Command(name = "basalt", mixinStandardHelpOptions = true, versionProvider = BasaltCli.Version.class,
        description = "Basalt command line: manage topics, produce, consume and delete records, inspect the cluster, measure performance.",
        subcommands = {TopicsCommand.class, ProduceCommand.class, ConsumeCommand.class, GetOffsetsCommand.class,
                DeleteRecordsCommand.class, GroupsCommand.class,
                LagCommand.class, ClusterCommand.class, PerfCommand.class, ReassignCommand.class, BrokersCommand.class, ConfigsCommand.class,
                LeadersCommand.class,
                CommandLine.HelpCommand.class},
        footerHeading = "%nExit codes:%n",
        footer = {"  0  success", "  1  the cluster refused or failed the operation", "  2  usage error",
                "  3  cannot connect to any bootstrap broker", "  4  timed out, or outcome unknown", "  5  local I/O error"})
public final class BasaltCli implements Runnable {
    public static final int OK = 0;
    public static final int CLUSTER_ERROR = 1;
    public static final int USAGE = 2;
    public static final int CANNOT_CONNECT = 3;
    public static final int TIMEOUT_OR_UNKNOWN = 4;
    public static final int IO_ERROR = 5;

    @Option(names = {"--bootstrap-server", "--bootstrap", "-b"}, scope = ScopeType.INHERIT, paramLabel = "HOST:PORT[,HOST:PORT...]",
            description = "Brokers to contact first, comma-separated; any reachable one will do, unreachable ones are skipped "
                    + "(default: ${DEFAULT-VALUE}).", defaultValue = CommonClientConfigs.DEFAULT_BOOTSTRAP)
    String bootstrap;

    @Option(names = "--command-config", scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "Properties file with client configs (Kafka names), given to every client the command creates "
                    + "that accepts them (a consumer key such as client.rack reaches the consumer, not the producer or the "
                    + "admin client beside it); a key no client accepts is an error.")
    Path commandConfig;

    /** The kind of client a command creates, for routing --command-config keys. */
    enum ClientKind {
        PRODUCER, CONSUMER, ADMIN;

        java.util.Set<String> accepts() {
            return switch (this) {
                case PRODUCER -> dev.basalt.client.ProducerConfig.configNames();
                case CONSUMER -> dev.basalt.client.ConsumerConfig.configNames();
                case ADMIN -> dev.basalt.client.AdminConfig.configNames();
            };
        }
    }

    @Option(names = {"--verbose", "-v"}, scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    InputStream in = System.in;
    PrintStream out = System.out;
    PrintStream err = System.err;

    /**
     * No command given: exit code 2 and one line when options were given without one (found
     * probing: {@code basalt -b HOST:PORT} exited 0 as if something had run); plain {@code basalt}
     * prints the usage and exits 0.
     */
    @Override
    public void run() {
        if (spec.commandLine().getParseResult() != null && !spec.commandLine().getParseResult().originalArgs().isEmpty()) {
            throw new UsageException("no command given");
        }
        spec.commandLine().usage(out);
    }

    /** The CLI's socket.connection.setup.timeout.ms (the clients' default is 10 s). */
    static final String CLI_CONNECTION_SETUP_TIMEOUT_MS = "3000";

    /**
     * Client configs for a client of {@code kind}: bootstrap plus the --command-config keys it
     * accepts, then the command's own overrides. A file key that another kind of client accepts
     * is left out here (one file serves a command's producer, consumer and admin client alike);
     * a key that no client accepts is passed on, so the client refuses it by name.
     */
    Map<String, Object> clientConfig(ClientKind kind, Map<String, String> overrides) {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put(CommonClientConfigs.BOOTSTRAP_SERVERS, bootstrap);
        // A command has about 10 s in all: an address that accepts but never answers (a paused
        // broker) must cost a few seconds of it, not all. --command-config may set it otherwise.
        cfg.put(CommonClientConfigs.SOCKET_CONNECTION_SETUP_TIMEOUT_MS, CLI_CONNECTION_SETUP_TIMEOUT_MS);
        if (commandConfig != null) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(commandConfig, StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot read " + commandConfig + ": " + ioReason(e), e);
            }
            java.util.Set<String> mine = kind.accepts();
            for (String n : p.stringPropertyNames()) {
                boolean someClientAccepts = java.util.Arrays.stream(ClientKind.values()).anyMatch(k -> k.accepts().contains(n));
                if (mine.contains(n) || !someClientAccepts) {
                    cfg.put(n, p.getProperty(n));
                }
            }
        }
        cfg.putAll(overrides);
        return cfg;
    }

    /**
     * An admin command's client timeouts from its --timeout-ms: the API calls' (how long reads keep
     * trying) is --timeout-ms; each request's (and with it the timeout_ms the controller is given,
     * a little less) outlasts the command's own wait ({@link AdminWait#waitMs}), so the command
     * ends first and says which --timeout-ms passed. With the client's 30 s default, a --timeout-ms
     * above it was cut at 30 s (found probing).
     */
    static Map<String, String> adminTimeouts(long timeoutMs) {
        return Map.of("default.api.timeout.ms", String.valueOf(timeoutMs),
                "request.timeout.ms", String.valueOf(timeoutMs + 2 * AdminWait.GRACE_MS));
    }

    /** Set by shutdown hooks (Ctrl-C): then main must not call System.exit, which would block on the hooks. */
    static volatile boolean shutdownInProgress;

    /**
     * gRPC logs through java.util.logging: a channel that cannot resolve or reach its address logs
     * a WARNING with a stack trace on each attempt, before the command's own one-line error says
     * the same. Quiet unless --verbose (a strong reference: JUL holds its loggers weakly).
     */
    private static final java.util.logging.Logger GRPC_LOG = java.util.logging.Logger.getLogger("io.grpc");

    public static void main(String[] args) {
        try {
            CliLogging.configure();
        } catch (LinkageError noLogback) {
            // logback is optional: on a class path without it, the backend there keeps its own configuration
        }
        if (!java.util.Arrays.asList(args).contains("--verbose") && !java.util.Arrays.asList(args).contains("-v")) {
            GRPC_LOG.setLevel(java.util.logging.Level.OFF);
        }
        dev.basalt.grpc.NettyDefaults.apply();
        int code = run(args, System.in, System.out, System.err);
        System.out.flush();
        if (!shutdownInProgress) {
            System.exit(code);
        }
    }

    /** Runs one command line with the given streams and returns its exit code. */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        BasaltCli root = new BasaltCli();
        root.in = in;
        root.out = out;
        root.err = err;
        CommandLine cl = new CommandLine(root);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, a) -> {
            printUsageError(err, ex.getCommandLine(), parseErrorMessage(ex)); // the one error format, parse errors included
            return USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            int code = exitCodeOf(ex);
            if (code == USAGE) {
                // a check in a command's own code (UsageException, a client ConfigException) is a usage
                // error like picocli's: found probing, `topics --create --partitions 0` had no hint line
                printUsageError(err, commandLine, oneLine(ex));
            } else {
                err.println("basalt: error: " + oneLine(ex));
            }
            if (root.verbose) {
                ex.printStackTrace(err);
            }
            return code;
        });
        cl.setExecutionStrategy(parsed -> {
            // picocli skips its checks when help is asked for: "basalt configs --help" printed the
            // top-level help and exited 0 for a command that does not exist (found probing).
            for (CommandLine.ParseResult r = parsed; r != null; r = r.subcommand()) {
                if (!r.unmatched().isEmpty()) {
                    throw new CommandLine.UnmatchedArgumentException(r.commandSpec().commandLine(), r.unmatched());
                }
            }
            return new CommandLine.RunLast().execute(parsed);
        });
        return cl.execute(args);
    }

    /**
     * Prints a usage error (exit code {@link #USAGE}) the one way: the error line, then the hint
     * naming the --help of the command it was given to.
     */
    static void printUsageError(PrintStream err, CommandLine commandLine, String message) {
        err.println("basalt: error: " + message);
        err.println(usageHint(commandLine));
    }

    /** "Try 'basalt topics --help' for usage.": the second line of every usage error. */
    static String usageHint(CommandLine commandLine) {
        return "Try '" + commandLine.getCommandSpec().qualifiedName() + " --help' for usage.";
    }

    /**
     * A parse error in words a user of the command reads: an option the command does not have is
     * named first, even when a required one is missing too (found probing: `leaders --bogus` said
     * only "Missing required option: '--rebalance'"), and a number that does not parse says so
     * rather than naming a Java type ("'x' is not an int").
     */
    static String parseErrorMessage(CommandLine.ParameterException ex) {
        if (ex instanceof CommandLine.MissingParameterException) {
            List<String> unmatched = ex.getCommandLine().getUnmatchedArguments();
            if (!unmatched.isEmpty()) {
                String first = unmatched.get(0);
                return (first.startsWith("-") ? "Unknown option: '" : "Unexpected argument: '") + first + "'";
            }
        }
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()
                && !ex.getCommandLine().getSubcommands().isEmpty() && !u.getUnmatched().get(0).startsWith("-")) {
            // found probing: `basalt nope` said "Unmatched argument at index 0: 'nope'"
            return "unknown command '" + u.getUnmatched().get(0) + "' (commands: "
                    + String.join(", ", ex.getCommandLine().getSubcommands().keySet()) + ")";
        }
        String m = String.valueOf(ex.getMessage());
        // picocli's own wording: "Error: --a, --b are mutually exclusive", "Value for option option '--x'"
        m = m.replaceFirst("^Error: ", "").replace("option option", "option");
        return m.replaceAll("is not an? (int|long|short|integer)\\b", "is not a whole number in range");
    }

    /** Why a file could not be read, in words (NoSuchFileException's message is only the path). */
    static String ioReason(java.io.IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** Maps an exception to the documented exit code. */
    public static int exitCodeOf(Throwable ex) {
        if (ex instanceof IndeterminateException) {
            // may have been written: never "cannot connect" (which tells a script a retry is safe)
            return TIMEOUT_OR_UNKNOWN;
        }
        for (Throwable c = ex; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof ConnectionException) {
                return CANNOT_CONNECT;
            }
        }
        if (ex instanceof UsageException || ex instanceof ConfigException || ex instanceof CommandLine.ParameterException) {
            return USAGE;
        }
        if (ex instanceof ClientTimeoutException || ex instanceof IndeterminateException) {
            return TIMEOUT_OR_UNKNOWN;
        }
        if (ex instanceof BasaltException) {
            return CLUSTER_ERROR;
        }
        if (ex instanceof java.io.UncheckedIOException || ex instanceof IOException) {
            return IO_ERROR;
        }
        return CLUSTER_ERROR;
    }

    static String oneLine(Throwable ex) {
        String m = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
        if (!(ex instanceof IndeterminateException)
                && (ex instanceof ConnectionException || ex.getCause() instanceof ConnectionException)) {
            m = "cannot connect to the cluster: " + m;
        }
        return m.replace('\n', ' ');
    }

    /**
     * {@code s} fit for one cell of a line of output: control characters (a newline in a group id
     * someone else's client chose) escaped as \n, \r, \t or \\uXXXX, so a table stays one line per
     * row (other characters, a backslash included, as they are: an id printed plainly can be given
     * back to --group) (found probing: a group id with a newline broke groups --list
     * and lag into two lines).
     */
    static String printable(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
                    : Character.isISOControl(c) ? String.format("\\u%04x", (int) c) : null;
            if (esc != null && b == null) {
                b = new StringBuilder(s.length() + 8).append(s, 0, i);
            }
            if (b != null) {
                if (esc != null) {
                    b.append(esc);
                } else {
                    b.append(c);
                }
            }
        }
        return b == null ? s : b.toString();
    }

    /** "1 partition", "3 partitions": a count with its noun (plural by an s). */
    static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    /** Wrong use of options that picocli cannot check declaratively. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /** Reports the project version from the jar manifest (or "dev" when run from classes). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = BasaltCli.class.getPackage().getImplementationVersion();
            return new String[] {"basalt " + (v == null ? "dev" : v)};
        }
    }
}
