package dev.basalt.broker;

import com.google.common.util.concurrent.MoreExecutors;
import dev.basalt.broker.config.ConfigException;
import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.config.TopicConfigs;
import dev.basalt.broker.controller.ControllerChannel;
import dev.basalt.broker.controller.ControllerClient;
import dev.basalt.broker.controller.ForwardingControllerChannel;
import dev.basalt.broker.controller.MetadataQuorum;
import dev.basalt.broker.controller.QuorumController;
import dev.basalt.broker.controller.RaftMetadataQuorum;
import dev.basalt.broker.http.HttpAdminServer;
import dev.basalt.broker.lifecycle.BrokerLifecycle;
import dev.basalt.broker.metadata.MetadataPublisher;
import dev.basalt.broker.metadata.ObserverMetadataFollower;
import dev.basalt.broker.metadata.RegisteredBrokerGate;
import dev.basalt.broker.purgatory.Purgatory;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.broker.replica.ReplicaRequestHandler;
import dev.basalt.broker.rpc.ControllerAdminRpc;
import dev.basalt.broker.rpc.ControllerRpc;
import dev.basalt.broker.rpc.ReplicaRpc;
import dev.basalt.broker.server.AdminHandler;
import dev.basalt.broker.server.ClientServices;
import dev.basalt.broker.server.FetchHandler;
import dev.basalt.broker.server.ListOffsetsHandler;
import dev.basalt.broker.server.MetadataHandler;
import dev.basalt.broker.server.ProduceHandler;
import dev.basalt.log.InvalidConfigException;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.metadata.MetadataStateMachine;
import dev.basalt.metadata.controller.ConfigValidator;
import dev.basalt.metadata.controller.ControllerConfig;
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.proto.v1.DescribeQuorumResponse;
import dev.basalt.proto.v1.ReplicaServiceGrpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
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
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
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
/**
 * A Basalt node: the process {@code bin/basalt start} runs. Wiring only: it builds the parts and
 * starts them in order; each part owns its own thread and logic.
 *
 * <ul>
 *   <li>Metadata: a {@link MetadataStateMachine} fed by the Raft quorum (controller role: voter,
 *       durable in {@code <data.dir>/raft}) or by an {@link ObserverMetadataFollower} (broker-only
 *       role), and a {@link MetadataPublisher} that hands (previous, image) pairs to subscribers.</li>
 *   <li>Controller role: the {@link QuorumController} event loop on its own thread, active while
 *       this node leads the quorum, and the Controller/Admin services on the CONTROLLER listener.</li>
 *   <li>Broker role: partition logs ({@code <data.dir>/<topic>-<partition>}, index in
 *       {@code <data.dir>/index}), the replica manager subscribed to metadata, the client services
 *       on the PLAINTEXT listener (admin changes forwarded to the active controller), and the
 *       {@link BrokerLifecycle} (registration, heartbeats, controlled shutdown) on its own thread.</li>
 *   <li>The HTTP admin port (health, readiness, status).</li>
 * </ul>
 *
 * <p>Shutdown (SIGTERM) runs in reverse: stop taking client requests, controlled shutdown
 * (leadership moves away first), flush and close the logs, stop the quorum (Raft leadership is
 * transferred first when this node leads).
 *
 * <p>Thread-safety: {@link #start()} and {@link #close()} are called once each, by the main thread
 * and the shutdown hook.
 */
public final class BasaltNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BasaltNode.class);
    private static final int METADATA_ENTRY_BYTES_MAX = 8 << 20;
    /** Deadline of a broker's registration, heartbeat or ISR change at the controller. */
    private static final long BROKER_REQUEST_TIMEOUT_MS = 5_000;

    private final NodeConfig config;
    private final Clock clock = Clock.systemUTC();
    private final UUID incarnationId = UUID.randomUUID();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final List<Runnable> shutdownSteps = new ArrayList<>();
    private volatile boolean shuttingDown;

    private LogManager logs;
    private MetadataStateMachine stateMachine;
    private MetadataPublisher publisher;
    private volatile RaftMetadataQuorum quorum;
    private volatile QuorumController controller;
    private ObserverMetadataFollower observer;
    private ControllerClient controllers;
    private BrokerLifecycle lifecycle;
    private ReplicaManager replicas;
    private Server clientServer;
    private HttpAdminServer http;
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
            timers = newScheduler("basalt-timer");
            shutdownSteps.add(() -> timers.shutdownNow());
            if (config.isBroker()) {
                startLogs();
            }
            startMetadata();
            if (config.isBroker()) {
                startBroker();
            }
            startHttp();
            publisher.start();
            if (observer != null) {
                observer.start();
            }
            if (lifecycle != null) {
                lifecycle.start();
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
        log.info("Basalt node {} started: clients on {}, controller on {}, admin on http://{}", config.nodeId(),
                config.isBroker() ? config.clientListener() : "-", config.isController() ? config.controllerListener() : "-",
                config.httpAdminAddress());
    }

    private static ScheduledExecutorService newScheduler(String name) {
        ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, named(name));
        e.setRemoveOnCancelPolicy(true);
        return e;
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

    /** The metadata log: as a voter (controller role) or as an observer (broker-only role). */
    private void startMetadata() throws IOException {
        stateMachine = new MetadataStateMachine(METADATA_ENTRY_BYTES_MAX);
        publisher = new MetadataPublisher(stateMachine, this::metadataCaughtUp);
        shutdownSteps.add(0, () -> publisher.close());
        ScheduledExecutorService clientThread = newScheduler("basalt-controller-client");
        shutdownSteps.add(() -> clientThread.shutdownNow());
        controllers = new ControllerClient(config.voters(), clientThread, config.getInt("grpc.message.bytes.max"));
        shutdownSteps.add(() -> controllers.close());
        if (config.isController()) {
            ScheduledExecutorService controllerThread = newScheduler("basalt-controller");
            shutdownSteps.add(() -> controllerThread.shutdownNow());
            List<ServerServiceDefinition> services = List.of(
                    new ControllerRpc(() -> controller, () -> quorum, controllerThread).bindService(),
                    new ControllerAdminRpc(() -> controller).bindService());
            quorum = RaftMetadataQuorum.start(config, config.dataDir().resolve("raft"), stateMachine, publisher, services);
            shutdownSteps.add(() -> quorum.close());
            QuorumController c = new QuorumController(quorum, controllerThread, clock,
                    // Replica placement and topic ids need unpredictable seeds in production; simulations pass their own.
                    new SplittableRandom(new SecureRandom().nextLong()), controllerSettings(), topicConfigValidator());
            c.start();
            controller = c;
        } else {
            observer = new ObserverMetadataFollower(config.nodeId(), controllers, stateMachine, publisher::wake);
            shutdownSteps.add(0, () -> observer.close());
        }
    }

    private QuorumController.Settings controllerSettings() {
        ControllerConfig d = ControllerConfig.DEFAULT;
        ControllerConfig cc = new ControllerConfig(config.getLong("broker.session.timeout.ms"), d.partitionsPerTopicMax(),
                d.producerIdBlockSize(), d.topicsPerRequestMax(), config.getInt("min.insync.replicas"),
                config.getBoolean("unclean.leader.election.enable"), d.preferredElectionPartitionsMax());
        return new QuorumController.Settings(cc, config.getInt("num.partitions"), config.getInt("default.replication.factor"),
                BROKER_REQUEST_TIMEOUT_MS, config.getLong("leader.imbalance.check.interval.ms"),
                config.getLong("broker.session.failover.grace.ms"));
    }

    private ConfigValidator topicConfigValidator() {
        Map<String, String> defaults = Map.copyOf(config.topicDefaults());
        return (resource, key, value) -> {
            if (resource.type() != ConfigResource.Type.TOPIC) {
                // The only dynamic broker key: the reassignment catch-up throttle (bytes/s, 0 = unlimited).
                if (!key.equals(dev.basalt.broker.replica.fetcher.ReassignmentThrottle.CONFIG_KEY)) {
                    return Optional.of("broker configuration " + key + " is static (set it in the node's properties"
                            + " file); only " + dev.basalt.broker.replica.fetcher.ReassignmentThrottle.CONFIG_KEY
                            + " can change at runtime");
                }
                try {
                    return Long.parseLong(value.trim()) >= 0 ? Optional.empty()
                            : Optional.of("must be >= 0 bytes per second (0 = unlimited)");
                } catch (NumberFormatException e) {
                    return Optional.of("not a number of bytes per second: " + value);
                }
            }
            try {
                TopicConfigs.validate(Map.of(key, value), defaults);
                return Optional.empty();
            } catch (InvalidConfigException e) {
                return Optional.of(e.getMessage());
            }
        };
    }

    private boolean metadataCaughtUp() {
        RaftMetadataQuorum q = quorum;
        if (q != null) {
            return q.isCaughtUp();
        }
        return observer != null && observer.isCaughtUp();
    }

    /** The active controller as this node knows it, or -1. */
    private int controllerId() {
        RaftMetadataQuorum q = quorum;
        if (q != null) {
            return q.leaderId();
        }
        return observer == null ? -1 : observer.controllerId();
    }

    private DescribeQuorumResponse describeQuorum() {
        RaftMetadataQuorum q = quorum;
        if (q != null) {
            return q.describe();
        }
        // A broker-only node shows the quorum as its controller last described it, with its own
        // progress as an observer brought up to date.
        DescribeQuorumResponse seen = observer.quorum();
        DescribeQuorumResponse.Builder b = seen != null ? seen.toBuilder() : DescribeQuorumResponse.newBuilder()
                .setLeaderId(controllerId()).setTerm(-1).setHighWatermark(observer.controllerAppliedIndex());
        if (seen == null) {
            for (int voter : config.voters().keySet()) {
                b.addVotersBuilder().setReplicaId(voter).setLogEndOffset(-1).setLag(-1).setLastFetchTimestampMs(-1)
                        .setLastCaughtUpTimestampMs(-1);
            }
        }
        long now = clock.millis();
        DescribeQuorumResponse.ReplicaState.Builder me = DescribeQuorumResponse.ReplicaState.newBuilder()
                .setReplicaId(config.nodeId()).setLogEndOffset(stateMachine.appliedIndex())
                .setLag(Math.max(0, observer.controllerAppliedIndex() - stateMachine.appliedIndex()))
                .setLastFetchTimestampMs(now).setLastCaughtUpTimestampMs(observer.isCaughtUp() ? now : -1);
        int mine = -1;
        for (int i = 0; i < b.getObserversCount(); i++) {
            if (b.getObservers(i).getReplicaId() == config.nodeId()) {
                mine = i;
            }
        }
        if (mine >= 0) {
            b.setObservers(mine, me);
        } else {
            b.addObservers(me);
        }
        return b.build();
    }

    private void startBroker() throws IOException {
        Purgatory<TopicPartition> fetchWaiters = new Purgatory<>("fetch", timers, config.getInt("fetch.inflight.max"));
        Purgatory<TopicPartition> produceWaiters = new Purgatory<>("produce", timers, config.getInt("fetch.inflight.max"));
        NodeConfig.HostPort adv = config.advertisedClientAddress();
        ScheduledExecutorService lifecycleThread = newScheduler("basalt-broker-lifecycle");
        shutdownSteps.add(() -> lifecycleThread.shutdownNow());
        lifecycle = new BrokerLifecycle(config.nodeId(), incarnationId, List.of(new Endpoint("PLAINTEXT", adv.host(), adv.port())),
                Optional.ofNullable(config.rack()), controllers, publisher, lifecycleThread,
                config.getLong("broker.heartbeat.interval.ms"), BROKER_REQUEST_TIMEOUT_MS, this::mayHaveLostAcknowledgedRecords);
        // ISR changes go to the active controller through the lifecycle's controller client.
        replicas = new ReplicaManager(ReplicaConfig.from(config), logs, fetchWaiters, produceWaiters, lifecycle,
                () -> incarnationId, ReplicaRpc.clients(config.getInt("grpc.message.bytes.max")), clock);
        replicas.start();
        shutdownSteps.add(0, replicas::close);
        // Roles only once the image holds this incarnation's registration (see RegisteredBrokerGate).
        publisher.addSubscriber(new RegisteredBrokerGate(config.nodeId(), incarnationId, replicas));

        ProduceHandler produce = new ProduceHandler(replicas, produceWaiters, config.getInt("request.timeout.ms.max"));
        FetchHandler fetch = new FetchHandler(replicas, config.getInt("fetch.wait.ms.max"));
        MetadataHandler metadata = new MetadataHandler(replicas, config.get("cluster.id"), this::controllerId);
        AdminHandler admin = new AdminHandler(replicas, config, this::controllerId);
        ControllerChannel toController = new ForwardingControllerChannel(() -> controller, quorum, controllers);
        ClientServices services = new ClientServices(produce, fetch, new ListOffsetsHandler(replicas), metadata, admin, toController,
                this::describeQuorum, config.getInt("produce.request.bytes.max"));

        int threads = config.getInt("grpc.executor.threads");
        NodeConfig.HostPort addr = config.clientListener();
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(addr.host(), addr.port()));
        if (threads > 0) {
            requestThreads = Executors.newFixedThreadPool(threads, named("basalt-request"));
            builder.executor(requestThreads);
            // Follower fetches run on the network thread that read them: the handler never blocks
            // (an mmap read and a copy, or parking in the purgatory), and skipping the hand-off to
            // a request thread and back takes two thread wake-ups off every acks=all round trip.
            builder.callExecutor(new ServerCallExecutorSupplier() {
                @Override
                public <ReqT, RespT> Executor getExecutor(ServerCall<ReqT, RespT> call, Metadata headers) {
                    return ReplicaServiceGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())
                            ? MoreExecutors.directExecutor() : null;
                }
            });
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
        builder.addService(ReplicaRpc.service(new ReplicaRequestHandler(replicas, config.getInt("fetch.wait.ms.max"))));
        clientServer = builder.build();
        try {
            clientServer.start();
        } catch (IOException e) {
            throw bindError("client listener", addr, e);
        }
        shutdownSteps.add(0, this::stopClientServer);
    }

    /**
     * After a crash a replica keeps every record it had acknowledged to its leader only if those
     * were fsynced first (durable acks). If any topic opts out, the replica may have lost some, and
     * the controller must not count it as an eligible leader replica (KIP-966).
     */
    private boolean mayHaveLostAcknowledgedRecords() {
        if (logs.openedAfterCleanShutdown()) {
            return false;
        }
        MetadataImage image = publisher.image();
        if (!TopicConfigs.durableAcks(Map.of(), config.topicDefaults())) {
            return true;
        }
        return image.topics().topicsByName().keySet().stream().anyMatch(topic ->
                !TopicConfigs.durableAcks(image.configs().configs(ConfigResource.topic(topic)), config.topicDefaults()));
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

    private String notReadyReason() {
        if (shuttingDown) {
            return "shutting down";
        }
        if (controllerId() < 0) {
            return "the metadata quorum has no leader yet";
        }
        if (!metadataCaughtUp()) {
            return "metadata not caught up with the quorum yet";
        }
        if (config.isBroker()) {
            BrokerLifecycle.State s = lifecycle.state();
            if (s != BrokerLifecycle.State.RUNNING) {
                return switch (s) {
                    case CATCHING_UP -> "metadata not yet handed to the replicas";
                    case REGISTERING -> "broker not registered yet";
                    case FENCED -> "broker is fenced";
                    default -> "broker is " + s.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
                };
            }
            MetadataImage image = publisher.image();
            long leaderless = image.topics().topicsById().values().stream()
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
        MetadataImage image = publisher.image();
        String reason = notReadyReason();
        RaftMetadataQuorum q = quorum;
        return "{\"nodeId\":" + config.nodeId() + ",\"incarnationId\":\"" + incarnationId + "\",\"ready\":" + (reason == null)
                + (reason == null ? "" : ",\"notReadyReason\":\"" + reason + "\"")
                + ",\"controllerId\":" + controllerId() + ",\"activeController\":" + (q != null && q.isActiveController())
                + ",\"brokerState\":\"" + (lifecycle == null ? "none" : lifecycle.state()) + "\""
                + ",\"topics\":" + image.topics().topicsById().size() + ",\"brokers\":" + image.cluster().brokers().size()
                + ",\"localPartitions\":" + (replicas == null ? 0 : replicas.partitions().size())
                + ",\"metadataAppliedIndex\":" + publisher.publishedIndex() + "}";
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

    /** Asks the controller to move this broker's leaderships away before it disappears. */
    private void controlledShutdown() {
        if (lifecycle == null) {
            return;
        }
        try {
            lifecycle.beginControlledShutdown(config.getLong("controlled.shutdown.timeout.ms"))
                    .get(config.getLong("controlled.shutdown.timeout.ms") + 1_000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.warn("Controlled shutdown did not complete: {}", e.toString());
        }
        lifecycle.close();
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
