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
import dev.basalt.broker.gateway.RecordGateway;
import dev.basalt.broker.grpc.LongLivedCalls;
import dev.basalt.broker.grpc.StrictRequestParsing;
import dev.basalt.broker.group.GroupCoordinator;
import dev.basalt.broker.group.state.GroupConfig;
import dev.basalt.broker.http.ClusterHttpApi;
import dev.basalt.broker.http.GroupsHttpApi;
import dev.basalt.broker.lag.LeaderLogOffsets;
import dev.basalt.broker.metrics.BrokerMetrics;
import dev.basalt.broker.metrics.MetadataMeters;
import dev.basalt.broker.metrics.NodeGauges;
import dev.basalt.broker.lag.LagMonitor;
import dev.basalt.broker.http.HttpAdminServer;
import dev.basalt.broker.lifecycle.BrokerLifecycle;
import dev.basalt.broker.metadata.MetadataPublisher;
import dev.basalt.broker.metadata.ObserverMetadataFollower;
import dev.basalt.broker.metadata.RegisteredBrokerGate;
import dev.basalt.broker.producer.InitProducerIdHandler;
import dev.basalt.broker.producer.ProducerIdManager;
import dev.basalt.broker.purgatory.Purgatory;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.broker.replica.ReplicaRequestHandler;
import dev.basalt.broker.rpc.ControllerAdminRpc;
import dev.basalt.broker.rpc.ControllerRpc;
import dev.basalt.broker.rpc.GroupRpc;
import dev.basalt.broker.rpc.RecordRpc;
import dev.basalt.broker.rpc.ReplicaRpc;
import dev.basalt.broker.server.AdminHandler;
import dev.basalt.broker.server.ClientServices;
import dev.basalt.broker.server.DeleteRecordsHandler;
import dev.basalt.broker.server.FetchHandler;
import dev.basalt.broker.server.ListOffsetsHandler;
import dev.basalt.broker.server.MetadataHandler;
import dev.basalt.broker.server.ProduceHandler;
import dev.basalt.broker.storage.StorageDirectory;
import dev.basalt.broker.storage.StorageFaults;
import dev.basalt.broker.storage.StorageMeta;
import dev.basalt.log.InvalidConfigException;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.TopicPartition;
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
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
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
    /**
     * How often a serving broker without a block of producer ids asks for one (ProducerIdManager#prefetch):
     * its first block within a second of serving, and again after a refusal.
     */
    private static final long PRODUCER_ID_PREFETCH_INTERVAL_MS = 1_000;
    /** How long a node other than the quorum leader waits for its DescribeQuorum before answering with its own view. */
    private static final long QUORUM_FORWARD_TIMEOUT_MS = 1_000;
    /** How long an HTTP /v1/quorum waits for the leader's view before answering with the node's own. */
    private static final long QUORUM_HTTP_WAIT_MS = 300;
    /** How often offline replicas are collected for the heartbeat and /ready (the log engine detects them). */
    private static final long STORAGE_CHECK_INTERVAL_MS = 500;
    /** The lag monitor uses a leader's answer for this many sampling rounds at most. */
    private static final int LEADER_OFFSETS_FRESH_ROUNDS = 5;
    /** Partitions whose leaders the lag monitor asks per sampling round, at most. */
    private static final int LEADER_OFFSETS_PER_ROUND_MAX = 10_000;

    private final NodeConfig config;
    private final boolean formatIfMissing;
    private final Clock clock = dev.basalt.broker.testsupport.TestHooks.clock(); // Clock.systemUTC() unless a test hook is on
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
    private GroupCoordinator groups;
    private LagMonitor lagMonitor;
    private Server clientServer;
    private HttpAdminServer http;
    private ScheduledExecutorService timers;
    /** How often the gRPC health status is recomputed from readiness. */
    private static final long HEALTH_REFRESH_MS = 200;
    private HealthStatusManager health;
    private RecordGateway gateway;
    private final LongLivedCalls healthWatches = new LongLivedCalls();
    private final dev.basalt.broker.grpc.UnaryCallsInFlight unaryCalls = new dev.basalt.broker.grpc.UnaryCallsInFlight();
    private ReplicaRpc.Server replicaServer;
    private volatile HealthCheckResponse.ServingStatus healthStatus; // written on the timer thread
    private ExecutorService requestThreads;
    private volatile StorageMeta storage;
    private volatile StorageFaults storageFaults;
    /** This run opened a data directory no earlier run had written (formatted or reformatted). */
    private boolean freshDirectory;
    private BrokerMetrics metrics;
    private NodeGauges gauges;
    private AdminHandler admin;

    public BasaltNode(NodeConfig config) {
        this(config, false);
    }

    /** {@code formatIfMissing}: format a missing or empty data directory as a new cluster (the quick start). */
    public BasaltNode(NodeConfig config, boolean formatIfMissing) {
        this.config = config;
        this.formatIfMissing = formatIfMissing;
    }

    public NodeConfig config() {
        return config;
    }

    /** Starts every component; throws (having closed what it opened) if one cannot start. */
    public void start() throws IOException {
        log.info("Starting Basalt node {} (roles {}, data in {}), incarnation {}", config.nodeId(), config.roles(),
                config.dataDir().toAbsolutePath(), incarnationId);
        storage = StorageDirectory.check(config, formatIfMissing);
        freshDirectory = !java.nio.file.Files.exists(config.dataDir().resolve(LogManager.INDEX_DIR));
        log.info("Data directory {}: cluster {}, node {}, directory {}, metadata log {}", config.dataDir().toAbsolutePath(),
                storage.clusterId(), storage.nodeId(), storage.directoryId(), storage.metadataLog());
        try {
            metrics = new BrokerMetrics(config.getBoolean(BrokerMetrics.PARTITION_LABELS_KEY), config.getBoolean("metrics.jvm.enable"));
            gauges = new NodeGauges(metrics);
            timers = newScheduler("basalt-timer");
            shutdownSteps.add(() -> timers.shutdownNow());
            if (config.isBroker()) {
                startLogs(); // the log manager holds the directory's lock
            } else {
                lockDirectory();
            }
            startMetadata();
            gauges.registerCluster(publisher::image);
            publisher.addSubscriber(new MetadataMeters(metrics, config.nodeId(), () -> {
                RaftMetadataQuorum q = quorum;
                return q != null && q.isActiveController();
            }));
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

    /** A controller-only node's hold on its data directory (a broker's log manager holds the same lock). */
    private java.nio.channels.FileChannel directoryLock;

    /**
     * A controller-only node takes the data directory's lock, as a broker's log manager does, so a
     * second process cannot run as the same voter on the same metadata log (its opening recovery
     * deletes temporary files and cuts a torn-looking tail of the live log) and `basalt storage`
     * sees the node as running. Found probing: a second start on a running controller's directory
     * came up as the same voter, and storage check and repair ran on the live metadata log.
     */
    private void lockDirectory() throws IOException {
        java.nio.file.Files.createDirectories(config.dataDir());
        directoryLock = LogManager.lockDirectory(config.dataDir());
    }

    private void unlockDirectory() {
        java.nio.channels.FileChannel ch = directoryLock;
        directoryLock = null;
        if (ch != null) {
            try {
                ch.close(); // releases the lock
            } catch (IOException e) {
                log.warn("Cannot release the lock of {}: {}", config.dataDir(), e.toString());
            }
        }
    }

    private static ScheduledExecutorService newScheduler(String name) {
        ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, named(name));
        e.setRemoveOnCancelPolicy(true);
        return e;
    }

    private void startLogs() {
        LogConfig defaults = LogConfig.parse(onlyLogKeys(config.topicDefaults())).checkRules(); // a bad node config stops the start
        LogManagerOptions options = new LogManagerOptions(2, 2, config.getLong("log.retention.check.interval.ms"),
                config.getLong("log.cleaner.backoff.ms"), config.getLong("log.flush.scheduler.interval.ms"), 5_000, 1_000_000,
                true, config.getLong("shutdown.timeout.ms")).withProducerState(config.getLong("producer.id.expiration.ms"),
                config.getLong("producer.id.expiration.check.interval.ms"), config.getInt("producer.state.producers.max"));
        long openStartNanos = System.nanoTime();
        logs = LogManager.open(config.dataDir(), defaults, clock, options, dev.basalt.broker.testsupport.TestHooks.fileLayer());
        logs.onFsync(metrics::fsynced);
        shutdownSteps.add(() -> logs.close());
        // a new directory had no shutdown, clean or not, and nothing to recover: 1, not an alarm
        // (found probing: a freshly formatted node read 0, as after a crash)
        gauges.registerLogRecovery((System.nanoTime() - openStartNanos) / 1e9, logs.openedAfterCleanShutdown() || freshDirectory);
        LogManager openedLogs = logs;
        gauges.registerCompaction(openedLogs::compactionProgress);
        gauges.registerCorruptionFound(openedLogs::startupCorruptPartitionsFound, () -> openedLogs.scrubProgress()[2],
                openedLogs::readCorruptBatchesFound);
        logs.enforceFreeSpace(config.getLong("log.dir.free.bytes.min"));
        gauges.registerDataDirectory(openedLogs::usableBytes, openedLogs::freeBytesMin, () -> openedLogs.noSpace() != null);
        long scrubRate = config.getLong("log.scrub.bytes.per.second");
        logs.corruptionHandler(this::onCorruptionFound); // corrupt batches met by reads
        if (scrubRate > 0) {
            logs.startScrubbing(scrubRate, this::onCorruptionFound);
        }
    }

    /** DescribeStorage: this broker's directory, free space, scrub progress and offline replicas. */
    private dev.basalt.proto.v1.DescribeStorageResponse describeStorage() {
        var b = dev.basalt.proto.v1.DescribeStorageResponse.newBuilder().setBrokerId(config.nodeId())
                .setDataDir(config.dataDir().toString()).setFreeBytesMin(config.getLong("log.dir.free.bytes.min"))
                .setScrubBytesPerSecond(config.getLong("log.scrub.bytes.per.second"));
        long usable;
        try {
            usable = java.nio.file.Files.getFileStore(config.dataDir()).getUsableSpace();
        } catch (IOException | RuntimeException e) {
            usable = -1;
        }
        b.setUsableBytes(usable);
        if (logs != null) {
            String failure = logs.directoryFailure();
            b.setDirectoryFailure(failure == null ? "" : failure);
            long[] scrub = logs.scrubProgress();
            b.setScrubBytesVerified(scrub[0]).setScrubPassesCompleted(scrub[1]).setScrubCorruptBatchesFound(scrub[2])
                    .setReadCorruptBatchesFound(logs.readCorruptBatchesFound())
                    .setStartupCorruptPartitionsFound(logs.startupCorruptPartitionsFound());
        }
        StorageFaults faults = storageFaults;
        if (faults != null) {
            faults.offline().forEach((tp, why) -> b.addOfflineReplicas(dev.basalt.proto.v1.DescribeClusterResponse.OfflineReplica
                    .newBuilder().setTopic(tp.topic()).setPartition(tp.partition()).setReason(why == null ? "" : why)));
            faults.refusingAppends().forEach((tp, why) -> b.addRefusingAppends(dev.basalt.proto.v1.DescribeClusterResponse.OfflineReplica
                    .newBuilder().setTopic(tp.topic()).setPartition(tp.partition()).setReason(why == null ? "" : why)));
        }
        return b.build();
    }

    /**
     * The scrubber or a read found a corrupt batch. Unless this is known to be the only copy, the
     * replica is quarantined: reported offline (so it neither stays in nor rejoins the ISR, nor
     * leads), and once metadata shows the partition's ISR, {@link ReplicaManager#repairCorruptReplicas}
     * rebuilds it from the leader or, if it is the only in-sync copy after all, serves the offsets
     * before the corrupt batch. Known to be the only copy (metadata caught up, no other ISR or
     * eligible-leader (KIP-966) member, which would hold every committed record),
     * it keeps serving the offsets before the corrupt batch at once. Right after a start the scrubber
     * can find damage before this node has caught up on metadata: the ISR is not known then, and an
     * unknown ISR is not "only this copy".
     */
    private void onCorruptionFound(dev.basalt.log.PartitionLog plog, long offset, dev.basalt.log.CorruptLogException e) {
        TopicPartition tp = plog.topicPartition();
        MetadataImage image = publisher == null ? MetadataImage.EMPTY : publisher.image();
        boolean onlyCopy = metadataCaughtUp() && image.topics().topic(tp.topic()).map(t -> t.partitions().get(tp.partition()))
                .map(reg -> reg.isr().stream().allMatch(id -> id == config.nodeId())
                        && reg.elr().stream().allMatch(id -> id == config.nodeId())).orElse(false);
        if (!onlyCopy) {
            logs.quarantine(tp, e);
            return;
        }
        long end = plog.logEndOffset();
        plog.markCorruptFrom(offset, e);
        if (plog.isOffline()) {
            // its directory deleted while the node ran: nothing of it can be served or rebuilt
            log.error("{}: this is the only in-sync copy and it is offline ({}); it serves nothing, and a restart finds its"
                    + " records gone", tp, e.getMessage());
            return;
        }
        log.error("{}: this is the only in-sync copy; offsets {}..{} ({} offsets) cannot be served and are lost; offsets before"
                + " {} are still served ({})", tp, offset, end - 1, end - offset, offset, e.getMessage());
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
                    new ControllerAdminRpc(() -> controller, () -> quorum == null ? DescribeQuorumResponse.getDefaultInstance()
                            : quorum.describe()).bindService());
            quorum = RaftMetadataQuorum.start(config, config.dataDir().resolve(StorageDirectory.RAFT_DIR), stateMachine, publisher,
                    services, storage.metadataLog() == StorageMeta.MetadataLog.JOIN, metrics.controllerRpc());
            shutdownSteps.add(() -> quorum.close());
            RaftMetadataQuorum q = quorum;
            controllers.localLeader(q::leaderId);
            NodeGauges.Raft raftMeters = gauges.registerQuorum(q::describe, q::isActiveController);
            q.addLeaderListener(raftMeters::leaderChanged);
            gauges.registerMetadata(publisher::publishedIndex, q::commitIndex);
            timers.scheduleWithFixedDelay(this::recordMetadataLogState, 100, 200, TimeUnit.MILLISECONDS);
            QuorumController c = new QuorumController(quorum, controllerThread, clock,
                    // Replica placement and topic ids need unpredictable seeds in production; simulations pass their own.
                    new SplittableRandom(new SecureRandom().nextLong()), controllerSettings(), topicConfigValidator());
            c.start();
            controller = c;
        } else {
            observer = new ObserverMetadataFollower(config.nodeId(), controllers, stateMachine, publisher::wake);
            shutdownSteps.add(0, () -> observer.close());
            ObserverMetadataFollower o = observer;
            gauges.registerMetadata(publisher::publishedIndex, o::controllerAppliedIndex);
        }
    }

    /**
     * Once this voter's metadata log holds something and it is a voter (a rejoined voter: once a
     * voter change re-added it), the meta file says so: from then on a missing log means a lost one.
     */
    private void recordMetadataLogState() {
        StorageMeta meta = storage;
        RaftMetadataQuorum q = quorum;
        if (meta == null || q == null || meta.metadataLog() == StorageMeta.MetadataLog.CREATED || !q.isVoter() || q.leaderId() < 0) {
            return;
        }
        try {
            storage = StorageDirectory.markMetadataLogCreated(config.dataDir(), meta);
            log.info("Voter {} is a member of the metadata quorum with its own log (directory {})", config.nodeId(),
                    meta.directoryId());
        } catch (IOException e) {
            log.warn("Cannot record the metadata log state in {}: {}", StorageMeta.file(config.dataDir()), e.toString());
        }
    }

    private QuorumController.Settings controllerSettings() {
        ControllerConfig d = ControllerConfig.DEFAULT;
        ControllerConfig cc = new ControllerConfig(config.getLong("broker.session.timeout.ms"), d.partitionsPerTopicMax(),
                d.producerIdBlockSize(), d.topicsPerRequestMax(), config.getInt("min.insync.replicas"),
                config.getBoolean("unclean.leader.election.enable"), d.preferredElectionPartitionsMax(),
                config.getInt("replicas.per.broker.max"));
        return new QuorumController.Settings(cc, config.getInt("num.partitions"), config.getInt("default.replication.factor"),
                BROKER_REQUEST_TIMEOUT_MS,
                config.getBoolean("auto.leader.rebalance.enable") ? config.getLong("leader.imbalance.check.interval.ms") : 0,
                config.getLong("broker.session.failover.grace.ms"),
                config.getBoolean("auto.rebalance.enable") ? config.getLong("auto.rebalance.check.interval.ms") : 0,
                config.getInt("auto.rebalance.partitions.per.step"));
    }

    /** Why a broker key other than the one dynamic key cannot be set at runtime: unknown, or static. */
    private static String notDynamic(String key) {
        String dynamic = dev.basalt.broker.replica.fetcher.ReassignmentThrottle.CONFIG_KEY;
        return NodeConfig.KEYS.containsKey(key)
                ? "broker configuration " + key + " is static (set it in the node's properties file); only " + dynamic
                        + " can change at runtime"
                // found probing: an unknown key was called static
                : "unknown broker configuration " + key + " (bin/basalt start --help lists every key); only " + dynamic
                        + " can change at runtime";
    }

    /** Room left in a produce request for what surrounds one batch (topic name, fields, framing). */
    private static final int PRODUCE_REQUEST_FRAMING_BYTES = 1024;

    private ConfigValidator topicConfigValidator() {
        Map<String, String> defaults = Map.copyOf(config.topicDefaults());
        ConfigValidator values = (resource, key, value) -> {
            if (resource.type() != ConfigResource.Type.TOPIC) {
                // The only dynamic broker key: the reassignment catch-up throttle (bytes/s, 0 = unlimited).
                if (!key.equals(dev.basalt.broker.replica.fetcher.ReassignmentThrottle.CONFIG_KEY)) {
                    return Optional.of(notDynamic(key));
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
            } catch (InvalidConfigException e) {
                return Optional.of(e.getMessage());
            }
            if (key.equals("max.message.bytes")) {
                // Found probing: 200 MB was accepted, and a record of 110 MB then failed at the gRPC layer.
                // The limits are this node's (the controller validating): brokers share them in practice.
                long requestMax = Math.min(config.getLong("produce.request.bytes.max"), config.getLong("grpc.message.bytes.max"));
                if (Long.parseLong(value.trim()) > requestMax - PRODUCE_REQUEST_FRAMING_BYTES) {
                    return Optional.of("above the largest produce request a broker accepts (" + requestMax + " bytes:"
                            + " produce.request.bytes.max and grpc.message.bytes.max, less " + PRODUCE_REQUEST_FRAMING_BYTES
                            + " for the request around the batch): no batch that large could be produced");
                }
            }
            return Optional.empty();
        };
        return new ConfigValidator() {
            @Override
            public Optional<String> problem(ConfigResource resource, String key, String value) {
                return values.problem(resource, key, value);
            }

            @Override
            public Optional<String> problemOfAll(ConfigResource resource, Map<String, String> overrides) {
                if (resource.type() != ConfigResource.Type.TOPIC) {
                    return Optional.empty();
                }
                Map<String, String> known = new java.util.TreeMap<>(overrides);
                known.keySet().retainAll(TopicConfigs.KEYS.keySet()); // a key no longer known stays until deleted
                try {
                    TopicConfigs.validateSet(known, defaults);
                    return Optional.empty();
                } catch (InvalidConfigException e) {
                    return Optional.of(e.getMessage());
                }
            }

            @Override
            public Optional<String> unknownKey(ConfigResource resource, String key) {
                if (resource.type() != ConfigResource.Type.TOPIC) {
                    return key.equals(dev.basalt.broker.replica.fetcher.ReassignmentThrottle.CONFIG_KEY) ? Optional.empty()
                            : Optional.of(notDynamic(key));
                }
                return TopicConfigs.unknownKey(key);
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

    /**
     * The quorum as the Raft leader describes it: only the leader knows every voter's and
     * observer's progress. The leader answers from its own state; any other node asks it (found
     * probing: a broker-only node answered with the copy its last metadata fetch carried, seconds
     * old after a voter change, observers ahead of the leader's log end, caught-up brokers "never"
     * caught up), and falls back to its own view when no leader answers within
     * QUORUM_FORWARD_TIMEOUT_MS. Concurrent callers share one question to the leader. Never blocks.
     */
    private CompletableFuture<DescribeQuorumResponse> describeQuorumAsync() {
        RaftMetadataQuorum q = quorum;
        if (q != null) {
            DescribeQuorumResponse local = q.describe();
            if (local.getLeaderId() < 0 || local.getLeaderId() == config.nodeId()) {
                return CompletableFuture.completedFuture(local);
            }
        }
        return askedLeader().thenApply(r -> r != null ? r : ownQuorumView());
    }

    /**
     * For the HTTP admin port, whose few handler threads also answer /health and /ready: waits at
     * most QUORUM_HTTP_WAIT_MS for the leader's view, then answers with this node's own.
     */
    private DescribeQuorumResponse describeQuorumWithin() {
        try {
            return describeQuorumAsync().get(QUORUM_HTTP_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return ownQuorumView();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ownQuorumView();
        }
    }

    private final java.util.concurrent.atomic.AtomicReference<CompletableFuture<DescribeQuorumResponse>> quorumQuestion =
            new java.util.concurrent.atomic.AtomicReference<>();

    /** The leader's answer, or null if none came within QUORUM_FORWARD_TIMEOUT_MS; one call in flight at a time. */
    private CompletableFuture<DescribeQuorumResponse> askedLeader() {
        while (true) {
            CompletableFuture<DescribeQuorumResponse> inFlight = quorumQuestion.get();
            if (inFlight != null && !inFlight.isDone()) {
                return inFlight;
            }
            CompletableFuture<DescribeQuorumResponse> mine = new CompletableFuture<>();
            if (!quorumQuestion.compareAndSet(inFlight, mine)) {
                continue;
            }
            try {
                controllers.callAdmin((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS)
                                        .describeQuorum(dev.basalt.proto.v1.DescribeQuorumRequest.getDefaultInstance()),
                                DescribeQuorumResponse::getErrorCode, DescribeQuorumResponse::getLeaderId, QUORUM_FORWARD_TIMEOUT_MS)
                        .orTimeout(QUORUM_FORWARD_TIMEOUT_MS + 500, TimeUnit.MILLISECONDS)
                        .whenComplete((r, e) -> {
                            if (e != null) {
                                log.debug("DescribeQuorum at the leader failed; answering with this node's view: {}", e.toString());
                            }
                            mine.complete(e == null && r.getErrorCode() == dev.basalt.proto.v1.ErrorCode.NONE ? r : null);
                        });
            } catch (RuntimeException e) {
                // never leave a question open that no answer will end: every later caller would wait on it
                log.debug("DescribeQuorum at the leader not sent: {}", e.toString());
                mine.complete(null);
            }
            return mine;
        }
    }

    /**
     * What this node knows without asking: a voter's own view, or for a broker-only node the
     * quorum as its controller last described it, with its own progress as an observer brought up
     * to date.
     */
    private DescribeQuorumResponse ownQuorumView() {
        RaftMetadataQuorum q = quorum;
        if (q != null) {
            return q.describe();
        }
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
        List<Endpoint> endpoints = new ArrayList<>(List.of(new Endpoint("PLAINTEXT", adv.host(), adv.port())));
        NodeConfig.HostPort httpAddr = config.httpAdminAddress();
        if (httpAddr.port() > 0) {
            // Other nodes' HTTP admin ports answer group requests by forwarding them to this one
            // when it coordinates the group (GroupsHttpApi): a wildcard host is reached at the
            // client address's host.
            String host = httpAddr.host().isEmpty() || httpAddr.host().equals("0.0.0.0") || httpAddr.host().equals("::")
                    ? adv.host() : httpAddr.host();
            endpoints.add(new Endpoint(GroupsHttpApi.HTTP_ENDPOINT, host, httpAddr.port()));
        }
        lifecycle = new BrokerLifecycle(config.nodeId(), incarnationId, List.copyOf(endpoints),
                Optional.ofNullable(config.rack()), controllers, publisher, lifecycleThread,
                config.getLong("broker.heartbeat.interval.ms"), config.getLong("broker.session.timeout.ms"), BROKER_REQUEST_TIMEOUT_MS,
                this::mayHaveLostAcknowledgedRecords);
        // ISR changes go to the active controller through the lifecycle's controller client.
        replicas = new ReplicaManager(ReplicaConfig.from(config), logs, fetchWaiters, produceWaiters, lifecycle,
                () -> incarnationId, ReplicaRpc.clients(config.getInt("grpc.message.bytes.max")), clock);
        replicas.start();
        shutdownSteps.add(0, replicas::close);
        StorageFaults faults = new StorageFaults(logs, publisher::image, config.nodeId(), replicas::notOpened);
        lifecycle.offlineReplicas(faults::forHeartbeat);
        lifecycle.unreachableLeaders(replicas::unreachableLeaders);
        timers.scheduleWithFixedDelay(() -> {
            try {
                faults.poll();
                replicas.repairCorruptReplicas();
            } catch (RuntimeException e) {
                log.warn("Storage fault check failed: {}", e.toString());
            }
        }, 0, STORAGE_CHECK_INTERVAL_MS, TimeUnit.MILLISECONDS);
        storageFaults = faults;
        // Roles only once the image holds this incarnation's registration (see RegisteredBrokerGate).
        publisher.addSubscriber(new RegisteredBrokerGate(config.nodeId(), incarnationId, replicas));

        ProduceHandler produce = new ProduceHandler(replicas, produceWaiters, config.getInt("request.timeout.ms.max"), metrics);
        BrokerLifecycle life = lifecycle;
        produce.leadershipDoubt(life::pausedReason);
        FetchHandler fetch = new FetchHandler(replicas, config.getInt("fetch.wait.ms.max"), metrics);
        MetadataPublisher published = publisher;
        ReplicaManager served = replicas;
        // Metadata and admin reads answer from the replica manager's image, which the gate above
        // holds back until this incarnation is registered, a moment after the catch-up (found
        // probing: /v1/topics answered 200 [] once between the 503s and the real list).
        java.util.function.BooleanSupplier imageServable = () -> published.publishedCaughtUp()
                && served.image() != MetadataImage.EMPTY;
        MetadataHandler metadata = new MetadataHandler(replicas, config.get("cluster.id"), this::controllerId, imageServable);
        admin = new AdminHandler(replicas, config, this::controllerId, imageServable);
        admin.storage(this::describeStorage);
        replicas.onFlushTimed(metrics::flushed);
        ReplicaManager rm = replicas;
        gauges.registerReplicas(() -> rm.partitions().values(), () -> {
            StorageFaults f = storageFaults;
            return f == null ? 0 : f.offline().size();
        });
        gauges.registerPurgatories(List.of(fetchWaiters, produceWaiters));
        ControllerChannel toController = new ForwardingControllerChannel(() -> controller, quorum, controllers);
        // Producer ids come in blocks from the active controller, through the lifecycle's controller client.
        ProducerIdManager producerIds = new ProducerIdManager(lifecycle::allocateProducerIds);
        lifecycleThread.scheduleWithFixedDelay(() -> {
            if (lifecycle.state() == BrokerLifecycle.State.RUNNING) {
                producerIds.prefetch(); // a no-op while a block with ids to spare is held or asked for
            }
        }, PRODUCER_ID_PREFETCH_INTERVAL_MS, PRODUCER_ID_PREFETCH_INTERVAL_MS, TimeUnit.MILLISECONDS);
        InitProducerIdHandler initProducerId = new InitProducerIdHandler(producerIds,
                () -> lifecycle.state() == BrokerLifecycle.State.RUNNING, lifecycleThread,
                () -> rm.image().producerIds().nextProducerId());
        ClientServices services = new ClientServices(produce, initProducerId, fetch, new ListOffsetsHandler(replicas), metadata, admin,
                new DeleteRecordsHandler(replicas, config.getInt("request.timeout.ms.max")), toController,
                this::describeQuorumAsync, config.getInt("produce.request.bytes.max"));

        groups = startGroupCoordinator(produce, toController);

        int threads = config.getInt("grpc.executor.threads");
        NodeConfig.HostPort addr = config.clientListener();
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(addr.host(), addr.port()));
        if (threads > 0) {
            ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 0L, TimeUnit.MILLISECONDS,
                    new java.util.concurrent.LinkedBlockingQueue<>(), named("basalt-request"));
            // Its queue is unbounded, so only a stopped pool refuses a task: gRPC's last callbacks
            // of streams closing during a graceful stop (found probing: each SIGTERM logged a
            // RejectedExecutionException WARN with a stack trace). Nothing is left to do for them.
            pool.setRejectedExecutionHandler((task, executor) -> log.debug("request pool stopped; dropped {}", task));
            requestThreads = pool;
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
        builder.addStreamTracerFactory(metrics.rpc().tracerFactory());
        builder.intercept(metrics.rpc().interceptor());
        builder.intercept(unaryCalls);
        builder
                .maxInboundMessageSize(config.getInt("grpc.message.bytes.max"))
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true);
        for (ServerServiceDefinition def : services.definitions()) {
            builder.addService(def);
        }
        replicaServer = ReplicaRpc.server(new ReplicaRequestHandler(replicas, config.getInt("fetch.wait.ms.max")));
        builder.addService(replicaServer.definition());
        builder.addService(new GroupRpc(groups, config.nodeId()));
        gateway = new RecordGateway(replicas, RecordGateway.destinations(produce, fetch, new ListOffsetsHandler(replicas),
                config.getInt("grpc.message.bytes.max")), timers, requestThreads, new RecordGateway.Limits(
                config.getInt("gateway.retries.max"), config.getLong("gateway.retry.backoff.ms"),
                config.getLong("gateway.inflight.bytes.max"), config.getInt("gateway.records.per.request.max"),
                config.getInt("gateway.fetch.records.max"), config.getInt("produce.request.bytes.max"),
                config.getInt("request.timeout.ms.max"), config.getInt("fetch.wait.ms.max"),
                config.getInt("gateway.producers.per.partition.max"), config.getInt("gateway.waiting.calls.per.partition.max")),
                producerIds::nextProducerId);
        shutdownSteps.add(0, gateway::close);
        ServerServiceDefinition records = StrictRequestParsing.wrap(RecordRpc.service(gateway).bindService());
        builder.addService(records);
        // Any-language clients: `grpcurl list` and generated clients discover the services by
        // reflection; load balancers and orchestrators probe grpc.health.v1 (SERVING = /ready's 200).
        builder.addService(ProtoReflectionServiceV1.newInstance());
        builder.addService(v1alphaReflection()); // what older grpcurl, Postman and many GUI clients still ask
        health = new HealthStatusManager();
        builder.addService(ServerInterceptors.intercept(health.getHealthService(), healthWatches));
        List<String> healthNames = new ArrayList<>();
        healthNames.add(HealthStatusManager.SERVICE_NAME_ALL_SERVICES);
        for (ServerServiceDefinition def : services.definitions()) {
            healthNames.add(def.getServiceDescriptor().getName());
        }
        healthNames.add(records.getServiceDescriptor().getName());
        healthNames.add(dev.basalt.proto.v1.GroupServiceGrpc.SERVICE_NAME);
        refreshHealth(healthNames);
        timers.scheduleWithFixedDelay(() -> refreshHealth(healthNames), HEALTH_REFRESH_MS, HEALTH_REFRESH_MS, TimeUnit.MILLISECONDS);
        clientServer = builder.build();
        try {
            clientServer.start();
        } catch (IOException e) {
            throw bindError("client listener", addr, e);
        }
        shutdownSteps.add(0, this::stopClientServer);
    }

    /** The group coordinator: follows the leadership of __consumer_offsets partitions (docs/consumer-groups.md). */
    private GroupCoordinator startGroupCoordinator(ProduceHandler produce, ControllerChannel toController) {
        GroupConfig groupConfig = new GroupConfig(config.getInt("group.consumer.session.timeout.ms"),
                config.getInt("group.consumer.heartbeat.interval.ms"), config.getInt("group.consumer.max.size"),
                config.get("group.consumer.assignor"), config.getLong("offsets.retention.minutes") * 60_000L,
                config.getInt("offset.metadata.max.bytes"));
        GroupCoordinator.Settings settings = new GroupCoordinator.Settings(config.getInt("offsets.topic.num.partitions"),
                config.getInt("offsets.topic.replication.factor"), config.getInt("offsets.topic.segment.bytes"), groupConfig,
                config.getLong("group.coordinator.poll.interval.ms"),
                config.getInt("request.timeout.ms.max"));
        ExecutorService pool = Executors.newFixedThreadPool(config.getInt("group.coordinator.threads"), named("basalt-group"));
        shutdownSteps.add(() -> pool.shutdownNow());
        GroupCoordinator c = new GroupCoordinator(config.nodeId(), settings, replicas, produce, toController, clock, timers, pool);
        shutdownSteps.add(0, c::close);
        publisher.addSubscriber(c);
        // a partition's offsets as its leader has them: asked from the leader when this broker
        // does not lead it (it may hold no replica at all, or a follower's trailing one)
        long sampleMs = config.getLong("lag.sample.interval.ms");
        LeaderLogOffsets leaderOffsets = new LeaderLogOffsets(new LeaderLogOffsets.Local() {
            @Override
            public boolean leads(String topic, int partition) {
                dev.basalt.broker.replica.Lookup l = replicas.replicaFor(topic, partition);
                return l.ok() && l.partition().isLeader();
            }

            @Override
            public java.util.OptionalLong highWatermark(String topic, int partition) {
                dev.basalt.broker.replica.Lookup l = replicas.replicaFor(topic, partition);
                return l.ok() ? java.util.OptionalLong.of(l.partition().highWatermark()) : java.util.OptionalLong.empty();
            }

            @Override
            public java.util.OptionalLong logStartOffset(String topic, int partition) {
                dev.basalt.broker.replica.Lookup l = replicas.replicaFor(topic, partition);
                return l.ok() ? java.util.OptionalLong.of(l.partition().log().logStartOffset()) : java.util.OptionalLong.empty();
            }
        }, (ask, sink) -> gateway.leaderOffsets(ask, Math.max(100, sampleMs * 4 / 5), answers -> sink.accept(answers.stream()
                .map(a -> new LeaderLogOffsets.Answer(new dev.basalt.broker.group.state.PartitionKey(a.topic(), a.partition()),
                        a.highWatermark(), a.logStartOffset())).toList())),
                LEADER_OFFSETS_FRESH_ROUNDS, Math.max(LEADER_OFFSETS_FRESH_ROUNDS, config.getInt("lag.samples.max")),
                LEADER_OFFSETS_PER_ROUND_MAX);
        // a leader's answer is used for LEADER_OFFSETS_FRESH_ROUNDS rounds, and was sent up to a round
        // before; rounds are sampleMs apart plus their own run time: twice that, to be safe
        lagMonitor = new LagMonitor(config.getInt("lag.window.commits"), config.getLong("lag.allowed"),
                config.getInt("lag.samples.max"), leaderOffsets, 2 * (LEADER_OFFSETS_FRESH_ROUNDS + 1) * sampleMs);
        c.addCommitListener(new GroupCoordinator.CommitListener() {
            @Override
            public void onCommitted(java.util.List<dev.basalt.broker.group.state.GroupRecord> records) {
                lagMonitor.onCommitted(records);
            }

            @Override
            public void onReplayed(java.util.List<dev.basalt.broker.group.state.GroupRecord> records, Object load) {
                lagMonitor.onReplayed(records, load); // windows rebuilt from the log's commits
            }
        });
        c.addCommitListener(gauges.registerGroups(c, lagMonitor));
        timers.scheduleWithFixedDelay(() -> {
            try {
                leaderOffsets.refresh();
            } catch (RuntimeException e) {
                log.warn("Asking partition leaders for lag offsets failed", e); // sampled below all the same
            }
            try {
                lagMonitor.sample(clock.millis());
            } catch (RuntimeException e) {
                log.warn("Lag sampling failed", e); // a thrown task would end the schedule
            }
        }, sampleMs, sampleMs, TimeUnit.MILLISECONDS);
        return c;
    }

    /**
     * After a crash a replica keeps every record it had acknowledged to its leader only if those
     * were fsynced first (durable acks). For topics that opt out it may have lost some, and the
     * controller must not count it as an eligible leader replica of their partitions (KIP-966);
     * it stays eligible for the durable ones.
     */
    private BrokerLifecycle.PossibleLoss mayHaveLostAcknowledgedRecords() {
        if (freshDirectory) {
            return BrokerLifecycle.PossibleLoss.EVERYTHING; // a new or reformatted directory: whatever this broker held before is gone
        }
        if (logs.openedAfterCleanShutdown()) {
            return BrokerLifecycle.PossibleLoss.NONE;
        }
        MetadataImage image = publisher.image();
        java.util.Set<UUID> lossy = new java.util.HashSet<>();
        image.topics().topicsById().forEach((id, topic) -> {
            if (!TopicConfigs.durableAcks(image.configs().configs(ConfigResource.topic(topic.name())), config.topicDefaults())) {
                lossy.add(id);
            }
        });
        return new BrokerLifecycle.PossibleLoss(false, lossy);
    }

    /** The health service follows readiness: SERVING exactly when GET /ready would answer 200. */
    private void refreshHealth(List<String> names) {
        HealthCheckResponse.ServingStatus st = notReadyReason() == null ? HealthCheckResponse.ServingStatus.SERVING
                : HealthCheckResponse.ServingStatus.NOT_SERVING;
        if (st == healthStatus) {
            return;
        }
        healthStatus = st;
        for (String n : names) {
            health.setStatus(n, st);
        }
    }

    private void stopClientServer() {
        // Watchers see NOT_SERVING before the port closes, and the status can no longer change.
        health.enterTerminalState();
        clientServer.shutdown(); // no new calls from here on
        // Streams that never end by themselves would hold the graceful shutdown for its whole
        // timeout; unary calls in flight still get shutdown.timeout.ms to finish.
        Status stopping = Status.UNAVAILABLE.withDescription("node " + config.nodeId() + " is shutting down");
        healthWatches.closeAll(stopping);
        replicaServer.endSessions(stopping);
        // Clients' produce and fetch streams never end by themselves either: once no unary call is
        // left (they get up to shutdown.timeout.ms), the rest is cancelled. This node leads nothing
        // after its controlled shutdown, so what a stream still waits for is answered elsewhere:
        // its client reconnects to the new leaders (a produce in doubt is retried, idempotently).
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.getLong("shutdown.timeout.ms"));
        try {
            while (!clientServer.isTerminated() && unaryCalls.count() > 0 && System.nanoTime() < deadline) {
                clientServer.awaitTermination(20, TimeUnit.MILLISECONDS);
            }
            clientServer.shutdownNow();
            clientServer.awaitTermination(Math.max(1_000, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())),
                    TimeUnit.MILLISECONDS);
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
            }, config.get("http.auth.token"));
        } catch (IOException e) {
            throw bindError("HTTP admin port", config.httpAdminAddress(), e);
        }
        if (config.isController()) {
            http.addAction("/quorum/add-voter", params -> changeVoter(true, params));
            http.addAction("/quorum/remove-voter", params -> changeVoter(false, params));
        }
        if (groups != null) {
            // The brokers as the coordinator's own image has them (the replica manager's is held back
            // until registration: found probing, /v1/groups listed no peer's groups just after a restart).
            MetadataPublisher images = publisher;
            GroupsHttpApi groupsApi = new GroupsHttpApi(groups, lagMonitor, config.nodeId(),
                    () -> GroupsHttpApi.httpAddresses(images.image().cluster(), config.nodeId()), config.get("http.auth.token"));
            http.addRoute(GroupsHttpApi.PREFIX, groupsApi::handle);
        }
        ClusterHttpApi clusterApi = new ClusterHttpApi(admin, replicas, this::describeQuorumWithin, gateway,
                replicas == null ? null : new ListOffsetsHandler(replicas));
        http.addRoute(ClusterHttpApi.PREFIX, clusterApi::handle);
        http.addRoute("/v1", clusterApi::handle); // "/v1" itself lists the endpoints as "/v1/" does (the server routes by prefix)
        http.addConsole(new dev.basalt.broker.http.ConsoleAssets());
        BrokerMetrics m = metrics;
        http.addRawEndpoint("/metrics", ex -> {
            BrokerMetrics.Scrape scrape = m.scrape(ex.getRequestHeaders().getFirst("Accept"));
            return new HttpAdminServer.RawReply(200, scrape.contentType(), scrape.body());
        });
        http.start();
        shutdownSteps.add(0, () -> http.close());
    }

    /** POST /quorum/add-voter?id=N and /quorum/remove-voter?id=N on the active controller. */
    private HttpAdminServer.Answer changeVoter(boolean add, Map<String, String> params) {
        RaftMetadataQuorum q = quorum;
        int id;
        String given = params.get("id");
        if (given == null || given.isEmpty()) {
            return new HttpAdminServer.Answer(400, "id=<node id> is required\n");
        }
        try {
            id = Integer.parseInt(given);
        } catch (NumberFormatException e) {
            return new HttpAdminServer.Answer(400, "id must be a node id (an integer), not '" + given + "'\n");
        }
        if (q == null || !q.isActiveController()) {
            return new HttpAdminServer.Answer(409, "not the active controller (leader: " + controllerId() + ")\n");
        }
        try {
            long index = q.changeVoter(add, id).get(30, TimeUnit.SECONDS);
            return new HttpAdminServer.Answer(200, (add ? "added voter " : "removed voter ") + id + " at index " + index + "\n");
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable why = e.getCause() instanceof java.util.concurrent.CompletionException ce && ce.getCause() != null
                    ? ce.getCause() : e.getCause();
            if (why instanceof RaftMetadataQuorum.ObserverStepFailed partial) {
                // The removal committed (it is not refused); only the demotion to observer did not.
                return new HttpAdminServer.Answer(200, partial.getMessage() + "\n");
            }
            // a change that makes no sense is the caller's mistake (400), one refused now a conflict (409)
            int code = why instanceof IllegalArgumentException ? 400 : 409;
            return new HttpAdminServer.Answer(code, (add ? "add-voter" : "remove-voter") + " " + id + " refused: "
                    + (why.getMessage() == null ? why.getClass().getSimpleName() : why.getMessage()) + "\n");
        } catch (java.util.concurrent.TimeoutException e) {
            return new HttpAdminServer.Answer(504, "the voter change was not committed within 30 s\n");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new HttpAdminServer.Answer(503, "interrupted\n");
        }
    }

    private String notReadyReason() {
        if (shuttingDown) {
            return "shutting down";
        }
        RaftMetadataQuorum local = quorum;
        String suspended = local == null ? null : local.suspendedReason();
        if (suspended != null) {
            return suspended + " (this voter stands aside until there is room, then rejoins by itself)";
        }
        if (controllerId() < 0) {
            RaftMetadataQuorum q = quorum;
            return q != null && !q.isVoter() ? "this voter rejoins with a new directory and does not vote until a voter change"
                    + " re-adds it; the metadata quorum has no leader yet" : "the metadata quorum has no leader yet";
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
            String paused = lifecycle.pausedReason();
            if (paused != null) {
                return paused;
            }
            MetadataImage image = publisher.image();
            long leaderless = image.topics().topicsById().values().stream()
                    .flatMap(t -> t.partitions().values().stream())
                    .filter(p -> p.isr().contains(config.nodeId()) && !p.hasLeader())
                    .count();
            if (leaderless > 0) {
                return leaderless + " partitions with an in-sync replica here have no leader yet";
            }
            StorageFaults faults = storageFaults;
            String offline = faults == null ? null : faults.notReadyReason();
            if (offline != null) {
                return offline;
            }
        }
        return null;
    }

    private String statusJson() {
        MetadataImage image = publisher.image();
        String reason = notReadyReason();
        RaftMetadataQuorum q = quorum;
        StorageMeta meta = storage;
        return "{\"nodeId\":" + config.nodeId() + ",\"incarnationId\":\"" + incarnationId + "\",\"ready\":" + (reason == null)
                + (meta == null ? "" : ",\"clusterId\":\"" + meta.clusterId() + "\",\"directoryId\":\"" + meta.directoryId()
                + "\",\"metadataLog\":\"" + meta.metadataLog().name().toLowerCase(java.util.Locale.ROOT) + "\"")
                + (q == null ? "" : ",\"voter\":" + q.isVoter())
                + (reason == null ? "" : ",\"notReadyReason\":\"" + reason + "\"")
                + ",\"controllerId\":" + controllerId() + ",\"activeController\":" + (q != null && q.isActiveController())
                + ",\"brokerState\":\"" + (lifecycle == null ? "none" : lifecycle.state()) + "\""
                + ",\"topics\":" + image.topics().topicsById().size() + ",\"brokers\":" + image.cluster().brokers().size()
                + ",\"localPartitions\":" + (replicas == null ? 0 : replicas.partitions().size())
                // producer-state size (issue 11): idempotent producers remembered over the local partitions
                + ",\"idempotentProducerStates\":" + (replicas == null ? 0 : replicas.partitions().values().stream()
                        .mapToLong(p -> p.log().producerStateSize()).sum())
                + ",\"metadataAppliedIndex\":" + publisher.publishedIndex()
                + (storageFaults == null ? "" : ",\"offlineReplicas\":" + storageFaults.json()
                        + ",\"refusingAppends\":" + storageFaults.refusingAppendsJson())
                + (logs == null ? "" : ",\"scrub\":{\"bytesVerified\":" + logs.scrubProgress()[0] + ",\"passes\":"
                + logs.scrubProgress()[1] + ",\"corruptFound\":" + logs.scrubProgress()[2] + "},\"corruptFoundByReads\":"
                + logs.readCorruptBatchesFound() + ",\"corruptPartitionsFoundAtStart\":" + logs.startupCorruptPartitionsFound()) + "}";
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
        unlockDirectory();
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

    /**
     * gRPC's server handler logs each stream error as a JUL WARNING with a stack trace, among them
     * "Stream closed before write could take place" whenever a peer dies mid-stream (found probing:
     * two per kill -9 of a broker in the active controller's log). Only those are dropped: a
     * "Stream Error" whose cause is a stream already closed (the call it belonged to has ended and
     * was handled as such); the handler's other warnings stay. Strong reference: JUL holds its
     * loggers weakly.
     */
    private static final java.util.logging.Logger STREAM_ERROR_LOG =
            java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerHandler");

    static boolean closedStreamError(java.util.logging.LogRecord r) {
        return "Stream Error".equals(r.getMessage())
                && r.getThrown() instanceof io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Exception.StreamException se
                && se.error() == io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Error.STREAM_CLOSED;
    }

    public static void main(String[] args) {
        STREAM_ERROR_LOG.setFilter(r -> !closedStreamError(r));
        dev.basalt.grpc.NettyDefaults.apply();
        dev.basalt.broker.testsupport.TestHooks.startControl(); // no-op unless -Dbasalt.test.* is set
        Path configFile = null;
        boolean formatIfMissingFlag = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--format-if-missing" -> formatIfMissingFlag = true;
                case "--config", "-c" -> {
                    if (i + 1 >= args.length) {
                        fail(2, "--config needs a file");
                    }
                    configFile = Path.of(args[++i]);
                }
                case "--help", "-h" -> {
                    System.out.println("Usage: basalt start [--config FILE] [--format-if-missing]\n\nWith no --config: a one-node"
                            + " cluster with data in ./data, clients on 127.0.0.1:9400 (formats ./data on first run).\n"
                            + "With --config the data directory must be formatted first (basalt storage format); a missing,"
                            + " unformatted or foreign\ndirectory stops the node. --format-if-missing formats a missing or empty"
                            + " one as a new cluster.\n\nConfiguration keys (name, default, meaning):");
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
        // The quick start (no --config) formats ./data on first run; a configured node only when asked.
        BasaltNode node = new BasaltNode(config, configFile == null || formatIfMissingFlag);
        installSignalHandlers(node);
        // Fallback for other ways the JVM may be asked to exit (System.exit elsewhere, SIGHUP).
        Runtime.getRuntime().addShutdownHook(new Thread(node::close, "basalt-shutdown"));
        try {
            node.start();
        } catch (StorageDirectory.StorageIdentityException e) {
            log.error("Start-up refused: {}", e.getMessage());
            fail(3, "cannot start: " + e.getMessage());
        } catch (dev.basalt.raft.log.RaftStorageException e) {
            String known = knownStartFailure(e);
            boolean saysNoSpace = known != null && known.endsWith(NO_SPACE_AT_START);
            if (saysNoSpace || e.outOfSpace()) {
                String line = saysNoSpace ? known : e.getMessage() + NO_SPACE_AT_START;
                log.error("Start-up failed: {}", line); // not damage: moving the metadata log aside would be wrong advice
                fail(1, "cannot start: " + line);
            }
            // Damage below what the quorum committed: the node cannot tell which of its votes and
            // acknowledgements survived, so it must not take part as the same voter (docs/operations.md).
            log.error("Start-up failed: the metadata log cannot be read", e);
            fail(1, "cannot start: " + e.getMessage() + " (if the metadata log in " + config.dataDir().resolve(StorageDirectory.RAFT_DIR)
                    + " is damaged rather than unreadable for a permission or disk error: move that directory aside and rejoin"
                    + " the quorum as docs/operations.md, \"A lost metadata log\", describes: storage format --join, then"
                    + " remove-voter / add-voter)");
        } catch (IOException | RuntimeException e) {
            String known = knownStartFailure(e);
            if (known != null) {
                log.error("Start-up failed: {}", known); // an operator's situation, not a bug: no stack trace
                fail(1, "cannot start: " + known);
            }
            log.error("Start-up failed", e);
            fail(1, "cannot start: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
        }
        try {
            node.awaitShutdown();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** What {@link #knownStartFailure} adds to a start that found no room. */
    static final String NO_SPACE_AT_START = " (the disk holding the data directory is full or over its quota: free space or grow"
            + " the volume, then start again; what the node acknowledged is on disk and is not lost)";

    /**
     * The one-line reason for a start that failed for an operator's reason (a port another
     * process holds, a data directory in use), or null for anything else, which is logged with
     * its stack trace. Found probing: both printed a full stack trace before the one-line error.
     */
    public static String knownStartFailure(Throwable e) {
        if (e instanceof dev.basalt.log.LogStorageException && String.valueOf(e.getMessage()).contains("in use by another process")) {
            return e.getMessage();
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (t instanceof java.nio.file.AccessDeniedException || t instanceof java.nio.file.FileSystemException
                    && m.endsWith("Read-only file system")) {
                // found probing: a data directory on a file system mounted read-only printed 13 stack lines first
                String top = String.valueOf(e.getMessage());
                String path = t instanceof java.nio.file.AccessDeniedException ? m + ": permission denied" : m;
                return top + (top.contains(m) ? "" : ": " + path)
                        + " (the data directory cannot be used: a read-only file system, or its permissions)";
            }
            if (dev.basalt.common.NoSpaceMessages.saysNoSpace(m)) {
                // found probing: a node killed while its disk was full crash-looped on a stack trace
                // (RocksDB writes at open); nothing is lost, it needs room
                String top = String.valueOf(e.getMessage());
                return top + (top.contains(m) ? "" : ": " + m) + NO_SPACE_AT_START;
            }
            if (t instanceof java.net.BindException || m.contains("Address already in use")) {
                String what = String.valueOf(e.getMessage());
                int cut = what.indexOf(": Failed to bind");
                return (cut > 0 ? what.substring(0, cut) : what) + ": the address is already in use (another process listens there)";
            }
        }
        return null;
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

    /** grpc.reflection.v1alpha, deprecated upstream in favour of v1 but still the only one many tools speak. */
    @SuppressWarnings("deprecation")
    private static io.grpc.BindableService v1alphaReflection() {
        return io.grpc.protobuf.services.ProtoReflectionService.newInstance();
    }
}
