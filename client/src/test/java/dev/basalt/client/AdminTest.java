package dev.basalt.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.admin.AlterConfigOp;
import dev.basalt.client.admin.ClusterDescription;
import dev.basalt.client.admin.ConfigEntry;
import dev.basalt.client.admin.ConfigResource;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.admin.PartitionDescription;
import dev.basalt.client.admin.QuorumDescription;
import dev.basalt.client.admin.TopicCreated;
import dev.basalt.client.admin.TopicDescription;
import dev.basalt.client.admin.TopicListing;
import dev.basalt.client.testkit.FakeCluster;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The admin client against a {@link FakeCluster}: every operation, and typed errors for bad input. */
class AdminTest {
    private static final Duration T = Duration.ofSeconds(10);
    private FakeCluster cluster;
    private Admin admin;

    @BeforeEach
    void start() throws Exception {
        cluster = FakeCluster.start(2);
        admin = new Admin(Map.of("bootstrap.servers", cluster.bootstrap(), "default.api.timeout.ms", 3_000, "retry.backoff.ms", 20));
    }

    @AfterEach
    void stop() {
        admin.close();
        cluster.close();
    }

    @Test
    void createListDescribeDelete() {
        Map<String, TopicCreated> created = Admin.getAll(admin.createTopics(List.of(
                new NewTopic("a", 3, 1, Map.of("cleanup.policy", "compact")), new NewTopic("b", -1, -1)), false), T);
        assertEquals(3, created.get("a").partitions());
        assertEquals(1, created.get("b").partitions());
        assertFalse(created.get("a").topicId().isEmpty());
        assertEquals(List.of("a", "b"), Admin.get(admin.listTopics(false), T).stream().map(TopicListing::name).toList());
        TopicDescription a = Admin.get(admin.describeTopics(List.of("a")), T).get("a");
        assertEquals(3, a.partitions().size());
        assertEquals(Map.of("cleanup.policy", "compact"), a.configs(), "only overrides, not defaults");
        Admin.getAll(admin.deleteTopics(List.of("a")), T);
        assertFalse(cluster.hasTopic("a"));
        assertThrows(UnknownTopicException.class, () -> Admin.getAll(admin.deleteTopics(List.of("a")), T));
    }

    @Test
    void createErrors_areTypedPerTopic() {
        cluster.createTopic("exists", 1);
        Map<String, java.util.concurrent.CompletableFuture<TopicCreated>> r = admin.createTopics(List.of(
                new NewTopic("exists", 1, 1), new NewTopic("bad/name", 1, 1), new NewTopic("ok", 2, 1),
                new NewTopic("rf", 1, 5), new NewTopic("cfg", 1, 1, Map.of("retention.ms", "soon"))), false);
        assertThrows(TopicExistsException.class, () -> Admin.get(r.get("exists"), T));
        assertThrows(InvalidTopicException.class, () -> Admin.get(r.get("bad/name"), T));
        assertThrows(InvalidReplicationFactorException.class, () -> Admin.get(r.get("rf"), T));
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, () -> Admin.get(r.get("cfg"), T));
        assertTrue(e.getMessage().contains("retention.ms"), e.getMessage());
        assertEquals(2, Admin.get(r.get("ok"), T).partitions());
    }

    /**
     * Calls run side by side: a create stuck at a slow controller no longer holds up a listing
     * issued after it (the admin client ran every call on one thread).
     */
    @Test
    void slowCall_doesNotHoldUpTheCallsIssuedAfterIt() {
        cluster.createTopic("old", 1);
        cluster.holdCreateTopics();
        try {
            Map<String, java.util.concurrent.CompletableFuture<TopicCreated>> slow =
                    admin.createTopics(List.of(new NewTopic("slow", 1, 1)), false);
            List<TopicListing> listed = Admin.get(admin.listTopics(false), T);
            assertEquals(List.of("old"), listed.stream().map(TopicListing::name).toList());
            assertFalse(slow.get("slow").isDone(), "the create is still waiting at the controller");
            cluster.releaseCreateTopics();
            assertEquals("slow", Admin.get(slow.get("slow"), T).name());
        } finally {
            cluster.releaseCreateTopics();
        }
    }

    @Test
    void notController_isRetried_untilCreated() {
        cluster.injectAdminError(dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER, 3, false);
        // its own admin, with room for three answers and their back-offs on a host loaded by other
        // processes (the shared one's 3 s was not always enough for that)
        TopicCreated c;
        try (Admin a = new Admin(Map.of("bootstrap.servers", cluster.bootstrap(), "default.api.timeout.ms", 9_000,
                "retry.backoff.ms", 20))) {
            c = Admin.getAll(a.createTopics(List.of(new NewTopic("late", 1, 1)), false), T).get("late");
        }
        assertEquals("late", c.name());
        assertTrue(cluster.hasTopic("late"));
    }

    @Test
    void timedOutAfterCommit_isIndeterminate_andNotRepeated() {
        cluster.injectAdminError(dev.basalt.proto.v1.ErrorCode.REQUEST_TIMED_OUT, 1, true);
        assertThrows(IndeterminateException.class,
                () -> Admin.getAll(admin.createTopics(List.of(new NewTopic("maybe", 1, 1)), false), T));
        assertTrue(cluster.hasTopic("maybe"), "the fake committed it before timing out");
    }

    @Test
    void validateOnly_createsNothing() {
        Admin.getAll(admin.createTopics(List.of(new NewTopic("v", 2, 1)), true), T);
        assertFalse(cluster.hasTopic("v"));
    }

    @Test
    void createPartitions_growsOnly() {
        cluster.createTopic("t", 2);
        Admin.getAll(admin.createPartitions(Map.of("t", 5), false), T);
        assertEquals(5, Admin.get(admin.describeTopics(List.of("t")), T).get("t").partitions().size());
        assertThrows(InvalidPartitionsException.class, () -> Admin.getAll(admin.createPartitions(Map.of("t", 3), false), T));
    }

    @Test
    void describeAndAlterConfigs() {
        cluster.createTopic("t", 1);
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, "t");
        Admin.getAll(admin.alterConfigs(Map.of(res, List.of(AlterConfigOp.set("retention.ms", "1000"))), false), T);
        Map<String, ConfigEntry> entries = entries(res);
        assertEquals("1000", entries.get("retention.ms").value());
        assertEquals("TOPIC_CONFIG", entries.get("retention.ms").source());
        assertEquals("DEFAULT_CONFIG", entries.get("segment.bytes").source());
        Admin.getAll(admin.alterConfigs(Map.of(res, List.of(AlterConfigOp.delete("retention.ms"))), false), T);
        assertEquals("DEFAULT_CONFIG", entries(res).get("retention.ms").source());
        assertThrows(InvalidConfigurationException.class, () -> Admin.getAll(admin.alterConfigs(
                Map.of(res, List.of(AlterConfigOp.set("segment.bytes", "many"))), false), T));
        assertThrows(UnknownTopicException.class, () -> Admin.get(admin.describeConfigs(
                List.of(new ConfigResource(ConfigResource.Type.TOPIC, "nope")), List.of()), T));
    }

    /** Found probing: any broker answered a broker id's configs with its own file's keys. */
    @Test
    void brokerConfigs_areAskedOfThatBroker() {
        for (int id : List.of(1, 2)) {
            ConfigResource res = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(id));
            assertEquals(Integer.toString(id), entries(res).get("node.id").value());
        }
        ConfigResource both = new ConfigResource(ConfigResource.Type.TOPIC, "t2");
        cluster.createTopic("t2", 1);
        var answered = Admin.get(admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.BROKER, "2"), both,
                new ConfigResource(ConfigResource.Type.BROKER, "1")), List.of()), T);
        assertEquals(List.of("2", "t2", "1"), answered.keySet().stream().map(ConfigResource::name).toList(), "the order asked");
        long start = System.nanoTime();
        assertThrows(InvalidRequestException.class, () -> Admin.get(admin.describeConfigs(
                List.of(new ConfigResource(ConfigResource.Type.BROKER, "9")), List.of()), T));
        assertTrue(System.nanoTime() - start < java.util.concurrent.TimeUnit.SECONDS.toNanos(2), "at once, not retried until the timeout");
    }

    private Map<String, ConfigEntry> entries(ConfigResource res) {
        Map<String, ConfigEntry> m = new java.util.HashMap<>();
        Admin.get(admin.describeConfigs(List.of(res), List.of()), T).get(res).forEach(e -> m.put(e.name(), e));
        return m;
    }

    @Test
    void clusterAndQuorum() {
        ClusterDescription c = Admin.get(admin.describeCluster(false), T);
        assertEquals(cluster.clusterId(), c.clusterId());
        assertEquals(1, c.controllerId());
        assertEquals(2, c.brokers().size());
        QuorumDescription q = Admin.get(admin.describeQuorum(), T);
        assertEquals(1, q.leaderId());
        assertEquals(1, q.voters().size());
        assertEquals(1, q.observers().size());
    }

    @Test
    void notControllerFromOneBroker_movesToAnotherBroker() {
        cluster.broker(1).answerNotController(true);
        // the bootstrap list starts with broker 1, which cannot reach the controller
        try (Admin a = new Admin(Map.of("bootstrap.servers", cluster.bootstrap(), "default.api.timeout.ms", 3_000,
                "retry.backoff.ms", 20))) {
            TopicCreated created = Admin.getAll(a.createTopics(List.of(new NewTopic("moved", 2, 1)), false), T).get("moved");
            assertEquals(2, created.partitions());
            assertTrue(cluster.broker(2).adminRequests() >= 1, "asked broker 2");
            assertEquals(1, Admin.get(a.describeQuorum(), T).leaderId());
            Admin.getAll(a.deleteTopics(List.of("moved")), T);
            assertFalse(cluster.hasTopic("moved"));
        }
    }

    @Test
    void notControllerEverywhere_failsDefinitely_atTheApiTimeout() {
        cluster.broker(1).answerNotController(true);
        cluster.broker(2).answerNotController(true);
        try (Admin a = new Admin(Map.of("bootstrap.servers", cluster.bootstrap(), "default.api.timeout.ms", 500,
                "retry.backoff.ms", 20))) {
            assertThrows(NotControllerException.class,
                    () -> Admin.getAll(a.createTopics(List.of(new NewTopic("never", 1, 1)), false), T));
        }
        assertFalse(cluster.hasTopic("never"));
        assertTrue(cluster.broker(1).adminRequests() >= 2 && cluster.broker(2).adminRequests() >= 2, "alternated");
    }

    @Test
    void describeTopics_reportsReplicationState() {
        try (FakeCluster three = FakeCluster.start(3);
             Admin a = new Admin(Map.of("bootstrap.servers", three.bootstrap(), "default.api.timeout.ms", 3_000))) {
            Admin.getAll(a.createTopics(List.of(new NewTopic("r", 2, 3, Map.of("min.insync.replicas", "2"))), false), T);
            three.setIsr("r", 1, List.of(2), List.of(3));
            three.setFenced(2, true);
            TopicDescription d = Admin.get(a.describeTopics(List.of("r")), T).get("r");
            PartitionDescription p0 = d.partitions().get(0);
            assertEquals(List.of(1, 2, 3), p0.replicas());
            assertEquals(List.of(2), p0.offlineReplicas());
            assertFalse(p0.underReplicated());
            PartitionDescription p1 = d.partitions().get(1);
            assertEquals(2, p1.leaderId());
            assertEquals(List.of(3), p1.eligibleLeaderReplicas());
            assertEquals(2, p1.minInsyncReplicas());
            assertTrue(p1.underReplicated());
            assertTrue(p1.underMinIsr());
            assertEquals(1, p1.partitionEpoch());
            assertTrue(p1.unavailable(Admin.get(a.describeCluster(true), T).liveBrokerIds()), "led by fenced broker 2");
            assertFalse(p0.unavailable(Admin.get(a.describeCluster(true), T).liveBrokerIds()));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * A broker that takes a read and never answers (paused, its connection open) does not hold the
     * admin client for request.timeout.ms (60 s here): once the read has gone unanswered for
     * {@code AdminCalls.READ_HEDGE_AFTER_MS} it goes to the next address as well, the first answer
     * wins, and the reads after it start at the broker that gave it.
     */
    @Test
    void reads_brokerStopsAnswering_theNextOneAnswersLongBeforeRequestTimeout() {
        try (FakeCluster three = FakeCluster.start(3);
             Admin a = new Admin(Map.of("bootstrap.servers", three.bootstrap(), "default.api.timeout.ms", 60_000,
                     "request.timeout.ms", 60_000))) {
            three.createTopic("h", 1, 3); // not through the admin: reads right after its own change are not hedged (below)
            int before = three.broker(1).adminRequests();
            three.holdAdminReadsOn(1);
            long start = System.nanoTime();
            assertEquals(List.of("h"), Admin.get(a.listTopics(false), T).stream().map(TopicListing::name).toList());
            assertEquals(1, Admin.get(a.describeTopics(List.of("h")), T).get("h").partitions().size());
            assertEquals(3, Admin.get(a.describeCluster(false), T).brokers().size());
            assertTrue(System.nanoTime() - start < java.util.concurrent.TimeUnit.SECONDS.toNanos(10),
                    "answered within 10 s (request.timeout.ms is 60 s)");
            assertEquals(before + 1, three.broker(1).adminRequests(), "only the first read went to the held broker");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Reads right after this client's own change go to the broker that took it, unhedged: it
     * answered once it had applied the change, and another broker may not have yet. Held there
     * for twice the hedge delay, the read waits for it rather than asking another broker.
     */
    @Test
    void readsRightAfterAChange_stayWithTheBrokerThatTookIt() throws Exception {
        try (FakeCluster three = FakeCluster.start(3);
             Admin a = new Admin(Map.of("bootstrap.servers", three.bootstrap(), "default.api.timeout.ms", 60_000,
                     "request.timeout.ms", 60_000))) {
            Admin.getAll(a.createTopics(List.of(new NewTopic("mine", 1, 3)), false), T);
            int[] before = {three.broker(1).adminRequests(), three.broker(2).adminRequests(), three.broker(3).adminRequests()};
            three.holdAdminReadsOn(1);
            java.util.concurrent.CompletableFuture<Map<String, TopicDescription>> d = a.describeTopics(List.of("mine"));
            Thread.sleep(2 * dev.basalt.client.internal.MetadataManager.HEDGE_AFTER_MS);
            assertFalse(d.isDone(), "waits for the broker that created it");
            three.releaseAdminReads();
            assertEquals(1, Admin.get(d, T).get("mine").partitions().size());
            assertEquals(before[0] + 1, three.broker(1).adminRequests());
            assertEquals(before[1] + before[2], three.broker(2).adminRequests() + three.broker(3).adminRequests(), "no other broker asked");
        }
    }

    @Test
    void noBroker_isConnectionException() {
        try (Admin dead = new Admin(Map.of("bootstrap.servers", "127.0.0.1:1", "default.api.timeout.ms", 300,
                "retry.backoff.ms", 50))) {
            assertThrows(ConnectionException.class, () -> Admin.get(dead.listTopics(false), T));
            assertThrows(ConnectionException.class, () -> Admin.getAll(dead.createTopics(List.of(new NewTopic("x", 1, 1)), false), T));
        }
    }

    @Test
    void firstBootstrapDown_movesToNext() {
        cluster.broker(1).stop();
        try (Admin a = new Admin(Map.of("bootstrap.servers", cluster.bootstrap()))) {
            assertEquals(2, Admin.get(a.describeCluster(false), T).brokers().size());
        }
    }

    /**
     * Wrong kinds of ports first in the bootstrap list (found probing a cluster: the first one
     * ended the command): a node's admin HTTP port and a gRPC port without the admin service (a
     * controller's) are skipped like unreachable ones.
     */
    @Test
    void bootstrapEntriesThatAreNotClientPorts_areSkipped() throws Exception {
        dev.basalt.client.testkit.Http1Server http = new dev.basalt.client.testkit.Http1Server();
        io.grpc.Server other = io.grpc.ServerBuilder.forPort(0)
                .addService(new dev.basalt.proto.v1.ProduceServiceGrpc.ProduceServiceImplBase() { }).build().start();
        try (Admin a = new Admin(Map.of("bootstrap.servers", http.address() + ",127.0.0.1:" + other.getPort() + ","
                + cluster.bootstrap()))) {
            assertEquals(cluster.brokers().size(), Admin.get(a.describeCluster(false), T).brokers().size());
        } finally {
            other.shutdownNow();
            http.close();
        }
    }

    /**
     * A bootstrap list of only wrong kinds of ports (found probing: {@code basalt -b HOST:HTTP_PORT}
     * or a controller's port waited out default.api.timeout.ms, retrying an answer that cannot
     * change): the admin call and a producer's send end at the first walk over the list, with
     * {@link dev.basalt.client.internal.NotAClientPortException}. The controller-like port counts
     * the requests it gets: one per address walk, not a retry loop. Timeouts here are a minute, so
     * a retry loop would show as a failed {@code get} bound, not a slow pass.
     */
    @Test
    void aBootstrapOfOnlyWrongPorts_failsAtOnce_notAfterTheApiTimeout() throws Exception {
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        dev.basalt.client.testkit.Http1Server http = new dev.basalt.client.testkit.Http1Server();
        io.grpc.Server controllerLike = io.grpc.ServerBuilder.forPort(0)
                .addService(new dev.basalt.proto.v1.ProduceServiceGrpc.ProduceServiceImplBase() { })
                .fallbackHandlerRegistry(new io.grpc.HandlerRegistry() {
                    @Override
                    public io.grpc.ServerMethodDefinition<?, ?> lookupMethod(String method, String authority) {
                        asked.incrementAndGet();
                        return null; // UNIMPLEMENTED, as a controller-only node answers the client services
                    }
                }).build().start();
        String wrong = http.address() + ",127.0.0.1:" + controllerLike.getPort();
        try (Admin a = new Admin(Map.of("bootstrap.servers", wrong, "default.api.timeout.ms", 60_000,
                "request.timeout.ms", 30_000))) {
            BasaltException e = assertThrows(BasaltException.class, () -> Admin.get(a.listTopics(false), Duration.ofSeconds(30)));
            assertInstanceOf(dev.basalt.client.internal.NotAClientPortException.class, e);
            assertEquals(dev.basalt.cli.BasaltCli.CANNOT_CONNECT, dev.basalt.cli.BasaltCli.exitCodeOf(e));
            assertEquals(1, asked.getAndSet(0), "requests the controller-like port got");
            // a change as well
            e = assertThrows(BasaltException.class, () -> Admin.getAll(a.createTopics(
                    List.of(new dev.basalt.client.admin.NewTopic("x", 1, 1)), false), Duration.ofSeconds(30)));
            assertInstanceOf(dev.basalt.client.internal.NotAClientPortException.class, e);
            assertEquals(1, asked.getAndSet(0), "requests the controller-like port got");
        }
        try (Producer<String, String> p = new Producer<>(Map.of("bootstrap.servers", wrong, "max.block.ms", 60_000,
                "request.timeout.ms", 30_000, "delivery.timeout.ms", 90_000), new dev.basalt.client.serialization.StringSerializer(),
                new dev.basalt.client.serialization.StringSerializer())) {
            java.util.concurrent.Future<RecordMetadata> sent = p.send(new ProducerRecord<>("t", 0, null, "v"));
            java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> sent.get(30, java.util.concurrent.TimeUnit.SECONDS));
            assertInstanceOf(dev.basalt.client.internal.NotAClientPortException.class, e.getCause());
            assertTrue(asked.get() >= 1 && asked.get() <= 2, "metadata requests the controller-like port got: " + asked.get());
        } finally {
            controllerLike.shutdownNow();
            http.close();
        }
    }

    /**
     * A wrong port beside a broker that is down (restarting, say) is not a reason to stop: the
     * broker may come back within the timeout, so that walk's failure is a plain, retried
     * {@link ConnectionException}.
     */
    @Test
    void aWrongPortBesideABrokerThatIsDown_isRetriedLikeAnyUnreachableList() throws Exception {
        dev.basalt.client.testkit.Http1Server http = new dev.basalt.client.testkit.Http1Server();
        int down;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            down = s.getLocalPort(); // closed again: nothing listens there
        }
        try (Admin a = new Admin(Map.of("bootstrap.servers", http.address() + ",127.0.0.1:" + down,
                "default.api.timeout.ms", 1_500))) {
            long startNs = System.nanoTime();
            BasaltException e = assertThrows(BasaltException.class, () -> Admin.get(a.listTopics(false), Duration.ofSeconds(30)));
            long tookMs = (System.nanoTime() - startNs) / 1_000_000;
            assertInstanceOf(ConnectionException.class, e);
            assertFalse(e instanceof dev.basalt.client.internal.NotAClientPortException, e.toString());
            // asked again until the api timeout, not ended at the first walk (a lower bound only)
            assertTrue(tookMs >= 1_000, "gave up after " + tookMs + " ms");
        } finally {
            http.close();
        }
    }

    /**
     * Found probing: with the active controller's node isolated and first in the bootstrap list,
     * `basalt cluster` said "Controller: none" while the others had one; the order of the list
     * decided the answer. An answer without a controller makes the other addresses be asked too,
     * and a better one wins; later reads start at its broker. With every broker without a
     * controller the first answer stands.
     */
    @Test
    void anAnswerWithoutAController_asksTheOtherBrokers_andTheBetterAnswerWins() {
        cluster.broker(1).isolate(true); // broker 1 is first in the bootstrap list
        try (Admin a = new Admin(Map.of("bootstrap.servers", cluster.bootstrap()))) {
            assertEquals(1, Admin.get(a.describeCluster(true), T).controllerId());
            cluster.broker(1).isolate(false); // broker 1 would answer well now: it is not asked first any more
            int before = cluster.broker(1).adminRequests();
            Admin.get(a.describeCluster(true), T);
            assertEquals(before, cluster.broker(1).adminRequests(), "the next read starts at broker 2");
            cluster.broker(1).isolate(true);
            cluster.broker(2).isolate(true);
            assertEquals(-1, Admin.get(a.describeCluster(true), T).controllerId(), "nobody knows better: as answered");
        }
    }

    /**
     * A first bootstrap address that accepts TCP connections but never speaks (a paused broker,
     * whose kernel still accepts; found probing a cluster: every command timed out): its
     * connection counts as not set up after socket.connection.setup.timeout.ms, and the admin
     * client and a producer's metadata move on to the next address, well within their deadlines.
     */
    @Test
    void aSilentFirstBootstrapAddress_isSkippedAfterTheConnectionSetupTimeout() throws Exception {
        cluster.createTopic("t", 1);
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            String bootstrap = "127.0.0.1:" + silent.getLocalPort() + "," + cluster.bootstrap();
            try (Admin a = new Admin(Map.of("bootstrap.servers", bootstrap, "socket.connection.setup.timeout.ms", 500,
                    "request.timeout.ms", 8000, "default.api.timeout.ms", 8000))) {
                assertEquals(cluster.brokers().size(), Admin.get(a.describeCluster(false), T).brokers().size());
            }
            // A change too (found probing: a create whose set-up was cut said "outcome unknown",
            // though a channel that never connected sent nothing): it goes to the next address.
            try (Admin a = new Admin(Map.of("bootstrap.servers", bootstrap, "socket.connection.setup.timeout.ms", 500,
                    "request.timeout.ms", 8000, "default.api.timeout.ms", 8000))) {
                Admin.getAll(a.createTopics(List.of(new dev.basalt.client.admin.NewTopic("made", 1, 1)), false), T);
                assertEquals(1, Admin.get(a.describeTopics(List.of("made")), T).get("made").partitions().size());
            }
            try (Producer<String, String> p = new Producer<>(Map.of("bootstrap.servers", bootstrap,
                    "socket.connection.setup.timeout.ms", 500, "max.block.ms", 8000, "request.timeout.ms", 8000,
                    "delivery.timeout.ms", 9000), new dev.basalt.client.serialization.StringSerializer(),
                    new dev.basalt.client.serialization.StringSerializer())) {
                assertEquals(0, p.send(new ProducerRecord<>("t", 0, null, "v")).get(10, java.util.concurrent.TimeUnit.SECONDS).offset());
            }
        }
    }

    /** A change with no answer in time (e.g. a create while the controller quorum is down) may still be applied: said so. */
    @Test
    void aChangeWithNoAnswerInTime_isIndeterminate() {
        IndeterminateException e = assertThrows(IndeterminateException.class, () -> Admin.getAll(
                Map.of("late-topic", new java.util.concurrent.CompletableFuture<Void>()), java.time.Duration.ofMillis(50)));
        assertTrue(e.getMessage().contains("late-topic") && e.getMessage().contains("may still be applied"), e.getMessage());
        assertEquals(dev.basalt.cli.BasaltCli.TIMEOUT_OR_UNKNOWN, dev.basalt.cli.BasaltCli.exitCodeOf(e));
    }
}
