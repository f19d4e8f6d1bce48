package dev.basalt.broker;

import dev.basalt.broker.config.ConfigException;
import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.controller.MetadataQuorum;
import dev.basalt.broker.controller.QuorumController;
import dev.basalt.broker.controller.RaftMetadataQuorum;
import dev.basalt.broker.http.HttpAdminServer;
import dev.basalt.broker.purgatory.Purgatory;
import dev.basalt.broker.replica.AlterPartitionSender;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.broker.replica.ReplicaRequestHandler;
import dev.basalt.broker.rpc.ReplicaRpc;
import dev.basalt.broker.server.AdminHandler;
import dev.basalt.broker.server.ClientServices;
import dev.basalt.broker.server.FetchHandler;
import dev.basalt.broker.server.ListOffsetsHandler;
import dev.basalt.broker.server.MetadataHandler;
import dev.basalt.broker.server.ProduceHandler;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.metadata.MetadataStateMachine;
import dev.basalt.metadata.controller.BrokerRegistrationRequest;
import dev.basalt.metadata.controller.BrokerStatus;
import dev.basalt.metadata.controller.ControllerConfig;
import dev.basalt.metadata.controller.HeartbeatRequest;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Basalt node: the process {@code bin/basalt start} runs. Wires the metadata quorum (Raft over
 * gRPC, durable in {@code <data.dir>/raft}), the active controller's event loop, the partition logs
 * ({@code <data.dir>/<topic>-<partition>}, index in {@code <data.dir>/index}), the replica manager
 * that follows the metadata image, the client gRPC services, and the HTTP admin port.
 *
 * <p>Start-up order: logs are opened (crash recovery runs here), then the quorum starts and
 * replays the metadata log, the broker registers with the active controller and is unfenced once
 * its replicas follow the image, and only then is the node ready (GET /ready answers 200).
 * Shutdown (SIGTERM) runs in reverse: stop taking requests, controlled shutdown, flush and close
 * the logs (a clean-shutdown marker spares the next start a recovery scan), stop the quorum.
 *
 * <p>Thread-safety: {@link #start()} and {@link #close()} are called once each, by the main thread
 * and the shutdown hook.
 */
public final class BasaltNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BasaltNode.class);
    private static final int METADATA_ENTRY_BYTES_MAX = 8 << 20;
    private static final long COMMIT_TIMEOUT_MS_MAX = 30_000;

    private final NodeConfig config;
    private final Clock clock = Clock.systemUTC();
    private final UUID incarnationId = UUID.randomUUID();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final List<Runnable> shutdownSteps = new ArrayList<>();
    private volatile boolean registered;
    private volatile boolean shuttingDown;

    private LogManager logs;
    private MetadataStateMachine stateMachine;
    private RaftMetadataQuorum quorum;
    private QuorumController controller;
    private ReplicaManager replicas;
    private Server clientServer;
    private HttpAdminServer http;
    private ScheduledExecutorService controllerThread;
    private ScheduledExecutorService timers;
    private ExecutorService requestThreads;

    public BasaltNode(NodeConfig config) {
        this.config = config;
    }

    public NodeConfig config() {
        return config;
    }

    /** Starts every component; throws (having closed what it opened) if one cannot start. */
    public void start() throws IOException {
        log.info("Starting Basalt node {} (roles {}, data in {}), incarnation {}", config.nodeId(), config.roles(),
                config.dataDir().toAbsolutePath(), incarnationId);
        try {
            startLogs();
            startQuorum();
            startBroker();
            startHttp();
            startRegistration();
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
        log.info("Basalt node {} started: clients on {}, controller on {}, admin on http://{}", config.nodeId(),
                config.clientListener(), config.controllerListener(), config.httpAdminAddress());
    }

    private void startLogs() {
        LogConfig defaults = LogConfig.parse(onlyLogKeys(config.topicDefaults()));
        LogManagerOptions options = new LogManagerOptions(2, 2, config.getLong("log.retention.check.interval.ms"),
                config.getLong("log.cleaner.backoff.ms"), config.getLong("log.flush.scheduler.interval.ms"), 5_000, 1_000_000,
                true, config.getLong("shutdown.timeout.ms"));
        logs = LogManager.open(config.dataDir(), defaults, clock, options, FileLayer.DEFAULT);
        shutdownSteps.add(() -> logs.close());
    }

    private static Map<String, String> onlyLogKeys(Map<String, String> m) {
        Map<String, String> out = new java.util.TreeMap<>();
        m.forEach((k, v) -> {
            if (LogConfig.KEYS.contains(k)) {
                out.put(k, v);
            }
        });
        return out;
    }

    private void startQuorum() throws IOException {
        timers = Executors.newScheduledThreadPool(1, named("basalt-timer"));
        shutdownSteps.add(() -> timers.shutdownNow());
        stateMachine = new MetadataStateMachine(METADATA_ENTRY_BYTES_MAX);
        quorum = RaftMetadataQuorum.start(config, config.dataDir().resolve("raft"), stateMachine, clock);
        shutdownSteps.add(() -> quorum.close());
        controllerThread = Executors.newSingleThreadScheduledExecutor(named("basalt-controller"));
        shutdownSteps.add(() -> controllerThread.shutdownNow());
        ControllerConfig cc = new ControllerConfig(config.getLong("broker.session.timeout.ms"),
                ControllerConfig.DEFAULT.partitionsPerTopicMax(), ControllerConfig.DEFAULT.producerIdBlockSize(),
                ControllerConfig.DEFAULT.topicsPerRequestMax());
        // Replica placement and topic ids need unpredictable seeds in production; simulations pass their own.
        controller = new QuorumController(quorum, stateMachine, controllerThread, clock, new SplittableRandom(new SecureRandom().nextLong()),
                cc, config.topicDefaults(), config.getInt("num.partitions"), config.getInt("default.replication.factor"),
                COMMIT_TIMEOUT_MS_MAX);
        long sessionCheckMs = Math.max(100, config.getLong("broker.session.timeout.ms") / 3);
        controllerThread.scheduleWithFixedDelay(controller::fenceExpiredBrokers, sessionCheckMs, sessionCheckMs, TimeUnit.MILLISECONDS);
    }

    private void startBroker() throws IOException {
        Purgatory<TopicPartition> fetchWaiters = new Purgatory<>("fetch", timers, config.getInt("fetch.inflight.max"));
        Purgatory<TopicPartition> produceWaiters = new Purgatory<>("produce", timers, config.getInt("fetch.inflight.max"));
        // [repl] AlterPartitionSender: the lead's Controller-gRPC implementation replaces this placeholder,
        // which refuses every ISR change (no ISR change is needed while every topic has one replica).
        AlterPartitionSender alterPartition = req -> java.util.concurrent.CompletableFuture.completedFuture(
                new AlterPartitionSender.Result(dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER, "AlterPartition is not wired yet", null));
        replicas = new ReplicaManager(ReplicaConfig.from(config), logs, fetchWaiters, produceWaiters, alterPartition,
                () -> incarnationId, ReplicaRpc.clients(config.getInt("grpc.message.bytes.max")), clock);
        replicas.start();
        shutdownSteps.add(0, replicas::close);
        // [repl] until the lead's MetadataPublisher: hand (previous, image) pairs to the replica manager.
        java.util.concurrent.atomic.AtomicReference<dev.basalt.metadata.image.MetadataImage> seen =
                new java.util.concurrent.atomic.AtomicReference<>(dev.basalt.metadata.image.MetadataImage.EMPTY);
        quorum.onImage((img, caughtUp) -> {
            replicas.onMetadataUpdate(new dev.basalt.broker.metadata.MetadataUpdate(seen.get(), img, -1, caughtUp));
            seen.set(img);
        });

        ProduceHandler produce = new ProduceHandler(replicas, produceWaiters, config.getInt("request.timeout.ms.max"));
        FetchHandler fetch = new FetchHandler(replicas, config.getInt("fetch.wait.ms.max"));
        MetadataHandler metadata = new MetadataHandler(replicas, config.get("cluster.id"), quorum::leaderId);
        AdminHandler admin = new AdminHandler(replicas, config, quorum::leaderId);
        ClientServices services = new ClientServices(produce, fetch, new ListOffsetsHandler(replicas), metadata, admin, controller,
                quorum::describe, config.getInt("produce.request.bytes.max"));

        int threads = config.getInt("grpc.executor.threads");
        NodeConfig.HostPort addr = config.clientListener();
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(addr.host(), addr.port()));
        if (threads > 0) {
            requestThreads = Executors.newFixedThreadPool(threads, named("basalt-request"));
            builder.executor(requestThreads);
        } else {
            // Handlers run on the network threads: no hand-off per request (lower latency), but a
            // slow append (durable mode's fsync) then holds up every call on that connection.
            requestThreads = Executors.newSingleThreadExecutor(named("basalt-request"));
            builder.directExecutor();
        }
        builder
                .maxInboundMessageSize(config.getInt("grpc.message.bytes.max"))
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true);
        for (ServerServiceDefinition def : services.definitions()) {
            builder.addService(def);
        }
        builder.addService(ReplicaRpc.service(new ReplicaRequestHandler(replicas, config.getInt("fetch.wait.ms.max")))); // [repl]
        clientServer = builder.build();
        try {
            clientServer.start();
        } catch (IOException e) {
            throw bindError("client listener", addr, e);
        }
        shutdownSteps.add(0, this::stopClientServer);
    }

    private void stopClientServer() {
        clientServer.shutdown();
        try {
            if (!clientServer.awaitTermination(config.getLong("shutdown.timeout.ms"), TimeUnit.MILLISECONDS)) {
                clientServer.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            clientServer.shutdownNow();
        }
        requestThreads.shutdown();
    }

    private static IOException bindError(String what, NodeConfig.HostPort addr, IOException e) {
        Throwable cause = e;
        while (cause != null && !(cause instanceof BindException)) {
            cause = cause.getCause();
        }
        if (cause != null) {
            return new IOException("cannot listen on " + addr + " for the " + what + ": address already in use"
                    + " (is another node running?)", e);
        }
        return new IOException("cannot start the " + what + " on " + addr + ": " + e.getMessage(), e);
    }

    private void startHttp() throws IOException {
        try {
            http = new HttpAdminServer(config.httpAdminAddress(), new HttpAdminServer.StatusSource() {
                @Override
                public String notReadyReason() {
                    return BasaltNode.this.notReadyReason();
                }

                @Override
                public String statusJson() {
                    return BasaltNode.this.statusJson();
                }
            });
        } catch (IOException e) {
            throw bindError("HTTP admin port", config.httpAdminAddress(), e);
        }
        http.start();
        shutdownSteps.add(0, () -> http.close());
    }

    /** Registers this broker with the active controller and heartbeats; combined mode only for now. */
    private void startRegistration() {
        long intervalMs = config.getLong("broker.heartbeat.interval.ms");
        timers.scheduleWithFixedDelay(this::registerOrHeartbeat, 0, Math.min(intervalMs, 250), TimeUnit.MILLISECONDS);
    }

    private final AtomicInteger heartbeatTicks = new AtomicInteger();

    private void registerOrHeartbeat() {
        if (shuttingDown || !config.isBroker()) {
            return;
        }
        try {
            if (!quorum.maybeMarkCaughtUp()) {
                return;
            }
            if (!quorum.isActiveController()) {
                // A broker whose controller runs elsewhere registers over the Controller RPC (multi-node issue).
                return;
            }
            MetadataImage image = replicas.image();
            Optional<BrokerRegistration> me = image.cluster().broker(config.nodeId());
            if (me.isEmpty() || !me.get().incarnationId().equals(incarnationId)) {
                BrokerStatus s = controller.registerBroker(new BrokerRegistrationRequest(config.nodeId(), incarnationId,
                        List.of(new Endpoint("PLAINTEXT", config.advertisedClientAddress().host(), config.advertisedClientAddress().port())),
                        Optional.ofNullable(config.rack()))).get(COMMIT_TIMEOUT_MS_MAX, TimeUnit.MILLISECONDS);
                log.info("Registered broker {} (incarnation {}), fenced={}", config.nodeId(), incarnationId, s.fenced());
            }
            // Heartbeat at the configured interval; the first ones come fast so the broker unfences quickly.
            long intervalTicks = Math.max(1, config.getLong("broker.heartbeat.interval.ms") / 250);
            boolean fenced = replicas.image().cluster().broker(config.nodeId()).map(BrokerRegistration::fenced).orElse(true);
            if (fenced || heartbeatTicks.incrementAndGet() % intervalTicks == 0) {
                BrokerStatus s = controller.heartbeat(new HeartbeatRequest(config.nodeId(), incarnationId, true, false))
                        .get(COMMIT_TIMEOUT_MS_MAX, TimeUnit.MILLISECONDS);
                if (!registered && !s.fenced()) {
                    registered = true;
                    log.info("Broker {} is unfenced and serving", config.nodeId());
                }
            }
        } catch (Exception e) {
            log.warn("Broker registration/heartbeat failed; retrying: {}", e.toString());
        }
    }

    private String notReadyReason() {
        if (shuttingDown) {
            return "shutting down";
        }
        if (quorum.leaderId() < 0) {
            return "the metadata quorum has no leader yet";
        }
        if (!quorum.isCaughtUp()) {
            return "metadata not caught up with the quorum yet";
        }
        if (config.isBroker()) {
            Optional<BrokerRegistration> me = replicas.image().cluster().broker(config.nodeId());
            if (me.isEmpty() || !me.get().incarnationId().equals(incarnationId)) {
                return "broker not registered yet";
            }
            if (me.get().fenced()) {
                return "broker is fenced";
            }
            long leaderless = replicas.image().topics().topicsById().values().stream()
                    .flatMap(t -> t.partitions().values().stream())
                    .filter(p -> p.isr().contains(config.nodeId()) && !p.hasLeader())
                    .count();
            if (leaderless > 0) {
                return leaderless + " partitions with an in-sync replica here have no leader yet";
            }
        }
        return null;
    }

    private String statusJson() {
        MetadataImage image = replicas.image();
        String reason = notReadyReason();
        return "{\"nodeId\":" + config.nodeId() + ",\"incarnationId\":\"" + incarnationId + "\",\"ready\":" + (reason == null)
                + (reason == null ? "" : ",\"notReadyReason\":\"" + reason + "\"")
                + ",\"controllerId\":" + quorum.leaderId() + ",\"activeController\":" + quorum.isActiveController()
                + ",\"topics\":" + image.topics().topicsById().size() + ",\"brokers\":" + image.cluster().brokers().size()
                + ",\"localPartitions\":" + replicas.partitions().size() + ",\"metadataAppliedIndex\":" + quorum.brokerAppliedIndex() + "}";
    }

    /** Graceful shutdown: idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        shuttingDown = true;
        log.info("Shutting down Basalt node {}", config.nodeId());
        controlledShutdown();
        // Reverse start order: http and client server first (added at the front), logs, then the quorum.
        for (Runnable step : shutdownSteps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                log.warn("Shutdown step failed", e);
            }
        }
        stopped.countDown();
        log.info("Basalt node {} stopped", config.nodeId());
    }

    /** Tells the controller this broker is leaving, so leadership moves before it disappears. */
    private void controlledShutdown() {
        if (controller == null || !registered || !quorum.isActiveController()) {
            return;
        }
        try {
            controller.heartbeat(new HeartbeatRequest(config.nodeId(), incarnationId, false, true)).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("Controlled shutdown did not complete: {}", e.toString());
        }
    }

    public void awaitShutdown() throws InterruptedException {
        stopped.await();
    }

    public MetadataQuorum quorum() {
        return quorum;
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    // ------------------------------------------------------------------ main

    public static void main(String[] args) {
        dev.basalt.grpc.NettyDefaults.apply();
        Path configFile = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config", "-c" -> {
                    if (i + 1 >= args.length) {
                        fail(2, "--config needs a file");
                    }
                    configFile = Path.of(args[++i]);
                }
                case "--help", "-h" -> {
                    System.out.println("Usage: basalt start [--config FILE]\n\nWith no --config: a one-node cluster with data in"
                            + " ./data, clients on 127.0.0.1:9400.\n\nConfiguration keys (name, default, meaning):");
                    NodeConfig.describeKeys().forEach(System.out::println);
                    System.exit(0);
                }
                default -> fail(2, "unknown argument '" + args[i] + "' (try --help)");
            }
        }
        NodeConfig config;
        try {
            config = configFile == null ? NodeConfig.defaults() : NodeConfig.load(configFile);
        } catch (ConfigException e) {
            fail(2, e.getMessage());
            return;
        }
        BasaltNode node = new BasaltNode(config);
        installSignalHandlers(node);
        // Fallback for other ways the JVM may be asked to exit (System.exit elsewhere, SIGHUP).
        Runtime.getRuntime().addShutdownHook(new Thread(node::close, "basalt-shutdown"));
        try {
            node.start();
        } catch (IOException | RuntimeException e) {
            log.error("Start-up failed", e);
            fail(1, "cannot start: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
        }
        try {
            node.awaitShutdown();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * SIGTERM and SIGINT shut the node down gracefully and exit 0: a clean stop is not a failure
     * (the JVM's default would exit 143/130 from a shutdown hook).
     */
    @SuppressWarnings("restriction")
    private static void installSignalHandlers(BasaltNode node) {
        sun.misc.SignalHandler handler = signal -> new Thread(() -> {
            node.close();
            System.exit(0);
        }, "basalt-signal-" + signal.getName()).start();
        for (String name : List.of("TERM", "INT")) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), handler);
            } catch (IllegalArgumentException e) {
                log.warn("Cannot handle SIG{}: {}", name, e.getMessage());
            }
        }
    }

    private static void fail(int code, String message) {
        System.err.println("basalt: " + message);
        System.exit(code);
    }
}
