package dev.basalt.client.testkit;

import dev.basalt.common.TopicNames;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.record.Batches;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * An in-memory stand-in for a Basalt cluster, for client tests: N {@link FakeBroker}s, each a
 * real gRPC server on 127.0.0.1 (free port), sharing one in-memory state of topics, partition
 * logs (record batches stored as produced, offsets stamped) and configs. Every acknowledged
 * write is committed at once on the leader (HW = log end); followers hold it up to
 * {@link #setFollowerHighWatermark}. Partitions have replicas, an ISR and ELR ({@link #setIsr}),
 * brokers a rack ({@link FakeBroker#setRack}) and may be fenced ({@link #setFenced}); a leader
 * names a follower in the consumer's rack as preferred read replica, and fetches check
 * current_leader_epoch. Faults are injected per request kind:
 * {@link #injectProduceError}, {@link #injectProduceErrorAfterAppend}, {@link #disconnectNextProduceAfterAppend},
 * {@link #injectFetchError}, {@link #holdProduce}, {@link #stallIsr}, {@link #moveLeader}, {@link #truncateLogStart},
 * {@link #injectDeleteRecordsError}, {@link #staleMetadataLeader}, {@link FakeBroker#answerNotController}, {@link FakeBroker#stop}.
 * DeleteRecords is answered by each partition's leader (NOT_LEADER with a leader hint elsewhere) and
 * moves the log start, which ListOffsets EARLIEST and fetches then follow.
 *
 * <p>Not a broker: no replication, retention or durability; it exists to drive the client's
 * produce, fetch, metadata and admin paths, including their error handling.
 *
 * <p>Thread-safety: thread-safe; all state is guarded by {@code this}, and fetches long-poll
 * on its monitor.
 */
public final class FakeCluster implements AutoCloseable {
    static final Map<String, String> TOPIC_CONFIG_DEFAULTS = defaults();
    /** Topic config defaults the brokers were started with (as a broker's server config sets them). */
    final Map<String, String> brokerDefaults = new java.util.concurrent.ConcurrentHashMap<>();

    /** A stored batch with its stamped offsets. */
    record StoredBatch(byte[] bytes, long baseOffset, long lastOffset, long maxTimestamp) {
    }

    static final class PartitionLog {
        final List<StoredBatch> batches = new ArrayList<>();
        long logStartOffset;
        long logEndOffset;
        int leaderId;
        int leaderEpoch;
        int partitionEpoch;
        List<Integer> replicas = List.of();
        List<Integer> isr = List.of();
        List<Integer> elr = List.of();
        /** A reassignment in progress: replicas being added and removed (both within {@code replicas}). */
        List<Integer> addingReplicas = List.of();
        List<Integer> removingReplicas = List.of();
        /** How far followers have the log (their HW); -1 = as far as the leader. */
        long followerHighWatermark = -1;
        /** Idempotent producers: id → (epoch, last 5 batches as {firstSeq, lastSeq, baseOffset}). */
        final Map<Long, ProducerWindow> producers = new java.util.HashMap<>();

        long followerHw() {
            return followerHighWatermark < 0 ? logEndOffset : Math.min(followerHighWatermark, logEndOffset);
        }
    }

    /** A fake of the broker's producer state: the epoch and the last 5 batches of one producer in one partition. */
    static final class ProducerWindow {
        short epoch;
        final java.util.ArrayDeque<long[]> batches = new java.util.ArrayDeque<>();
    }

    /** What an idempotent-aware append did: appended at baseOffset, or found the payload stored there already. */
    record AppendResult(long baseOffset, ErrorCode error) {
    }

    static final class Topic {
        final String name;
        final String id;
        final List<PartitionLog> partitions = new ArrayList<>();
        final Map<String, String> configs = new TreeMap<>();

        Topic(String name, String id) {
            this.name = name;
            this.id = id;
        }
    }

    /** A request kind faults can target. */
    public enum Fault { ERROR_BEFORE_APPEND, ERROR_AFTER_APPEND, DISCONNECT_AFTER_APPEND, CALL_FAILS_AFTER_ANSWER }

    record PlannedFault(Fault kind, ErrorCode code) {
    }

    private final List<FakeBroker> brokers = new ArrayList<>();
    final Map<String, Topic> topics = new LinkedHashMap<>();
    final ConcurrentLinkedQueue<PlannedFault> produceFaults = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<PlannedFault> adminFaults = new ConcurrentLinkedQueue<>();
    /** timeout_ms of the last CreateTopics request any broker received. */
    volatile int lastCreateTopicsTimeoutMs = -1;

    public int lastCreateTopicsTimeoutMs() {
        return lastCreateTopicsTimeoutMs;
    }
    private final String clusterId = "fake-" + UUID.randomUUID();
    private boolean produceHeld;
    private final java.util.Set<Integer> produceHeldOn = new java.util.HashSet<>();
    /** Brokers the controller fenced: left out of Metadata, shown fenced in DescribeCluster. */
    final java.util.Set<Integer> fenced = new java.util.TreeSet<>();
    /** Replicas brokers reported they cannot serve: broker id -> "topic-partition" -> the broker's reason. */
    final Map<Integer, Map<String, String>> offlineReplicas = new java.util.TreeMap<>();
    /** Broker id → planned fetch partition errors (answered to whoever fetches from that broker). */
    final Map<Integer, ConcurrentLinkedQueue<ErrorCode>> fetchFaults = new java.util.concurrent.ConcurrentHashMap<>();
    /** Partitions served per broker by Fetch (for fetch-from-follower tests). */
    final Map<Integer, Integer> fetchedPartitions = new java.util.HashMap<>();
    int controllerId = 1;
    long metadataChanges;
    int produceRequests;
    final List<Integer> produceTimeoutsMs = new ArrayList<>();
    final List<Integer> producePartitionCounts = new ArrayList<>();
    boolean isrStalled;
    private final java.util.concurrent.ScheduledExecutorService answerTimer =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "fake-cluster-answer-timer");
                t.setDaemon(true);
                return t;
            });
    /** ProduceStream calls opened (the Java client opens one per broker and keeps it). */
    int produceStreams;
    boolean produceStreamUnimplemented;
    /** FetchStream calls opened (the Java consumer opens one per broker and keeps it). */
    int fetchStreams;
    /** Request message size limit of the brokers' servers. */
    int messageBytesMax = 4 << 20;
    boolean fetchStreamUnimplemented;
    boolean fetchHeld;
    final java.util.Set<Integer> fetchHeldOn = new java.util.HashSet<>();
    int initProducerIdRequests;
    /** Fetch requests received, each with its partitions' fetch offsets (for pipelining tests). */
    final List<Map<String, Long>> fetches = new ArrayList<>();

    /** The group side (scripted coordinator, offsets): see {@link FakeGroupService}. */
    private final FakeGroupService groups = new FakeGroupService(this);

    private FakeCluster() {
    }

    public FakeGroupService groups() {
        return groups;
    }

    /** Starts a cluster of brokers with ids 1..count on free loopback ports. */
    public static FakeCluster start(int count) throws IOException {
        return start(count, 4 << 20);
    }

    /** With brokers that refuse request messages over {@code messageBytesMax} (RESOURCE_EXHAUSTED), as a broker's grpc.message.bytes.max does. */
    public static FakeCluster start(int count, int messageBytesMax) throws IOException {
        FakeCluster c = new FakeCluster();
        c.messageBytesMax = messageBytesMax;
        for (int id = 1; id <= count; id++) {
            c.brokers.add(new FakeBroker(c, id));
        }
        return c;
    }

    /**
     * A loopback address nobody listens on (a port just bound and released), for bootstrap lists
     * with a dead broker: connecting to it is refused at once.
     */
    public static String deadAddress() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return "127.0.0.1:" + s.getLocalPort();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The bootstrap.servers value for this cluster. */
    public String bootstrap() {
        List<String> parts = new ArrayList<>();
        brokers.forEach(b -> parts.add("127.0.0.1:" + b.port()));
        return String.join(",", parts);
    }

    public List<FakeBroker> brokers() {
        return Collections.unmodifiableList(brokers);
    }

    public FakeBroker broker(int id) {
        return brokers.get(id - 1);
    }

    public String clusterId() {
        return clusterId;
    }

    /** Creates a topic directly (as an admin would); leaders spread round-robin over brokers. */
    public synchronized String createTopic(String name, int partitions) {
        return createTopic(name, partitions, 1);
    }

    /**
     * Creates a topic with replicationFactor replicas per partition: partition p on brokers
     * p, p+1, ... (round robin), the first one leading, all in the ISR.
     */
    public synchronized String createTopic(String name, int partitions, int replicationFactor) {
        ErrorCode err = validateNewTopic(name, partitions, replicationFactor);
        if (err != ErrorCode.NONE) {
            throw new IllegalArgumentException(err + " for " + name);
        }
        Topic t = new Topic(name, UUID.randomUUID().toString());
        for (int p = 0; p < partitions; p++) {
            t.partitions.add(newPartition(p, replicationFactor));
        }
        topics.put(name, t);
        metadataChanges++;
        return t.id;
    }

    /** Grows a topic to totalPartitions (as CreatePartitions does), leaving clients' metadata stale. */
    public synchronized void addPartitions(String name, int totalPartitions) {
        Topic t = topics.get(name);
        for (int p = t.partitions.size(); p < totalPartitions; p++) {
            t.partitions.add(newPartition(p, t.partitions.get(0).replicas.size()));
        }
        metadataChanges++;
    }

    synchronized ErrorCode validateNewTopic(String name, int partitions, int replicationFactor) {
        if (!isLegalTopicName(name)) {
            return ErrorCode.INVALID_TOPIC;
        }
        if (topics.containsKey(name)) {
            return ErrorCode.TOPIC_ALREADY_EXISTS;
        }
        if (partitions <= 0 || partitions > 10_000) {
            return ErrorCode.INVALID_PARTITIONS;
        }
        if (replicationFactor <= 0 || replicationFactor > brokers.size()) {
            return ErrorCode.INVALID_REPLICATION_FACTOR;
        }
        return ErrorCode.NONE;
    }

    /** The cluster's rule, shared with the real controller ({@link TopicNames}). */
    public static boolean isLegalTopicName(String name) {
        return TopicNames.isLegal(name);
    }

    PartitionLog newPartition(int p, int replicationFactor) {
        PartitionLog log = new PartitionLog();
        List<Integer> replicas = new ArrayList<>();
        for (int i = 0; i < replicationFactor; i++) {
            replicas.add(brokers.get((p + i) % brokers.size()).id());
        }
        log.leaderId = replicas.get(0);
        log.replicas = List.copyOf(replicas);
        log.isr = List.copyOf(replicas);
        return log;
    }

    private PartitionLog partition(String topic, int partition) {
        return topics.get(topic).partitions.get(partition);
    }

    /**
     * Makes another broker the partition's leader (bumping the leader epoch and partition
     * epoch); -1 leaves the partition without a leader. A new leader joins the replicas and ISR
     * if it was not in them.
     */
    public synchronized void moveLeader(String topic, int partition, int brokerId) {
        PartitionLog log = partition(topic, partition);
        log.leaderId = brokerId;
        log.leaderEpoch++;
        log.partitionEpoch++;
        if (brokerId >= 0 && !log.replicas.contains(brokerId)) {
            log.replicas = append(log.replicas, brokerId);
        }
        if (brokerId >= 0 && !log.isr.contains(brokerId)) {
            log.isr = append(log.isr, brokerId);
        }
        metadataChanges++;
        notifyAll();
    }

    private static List<Integer> append(List<Integer> list, int id) {
        List<Integer> out = new ArrayList<>(list);
        out.add(id);
        return List.copyOf(out);
    }

    /** Sets a partition's replicas and ISR to {@code replicas} (a completed reassignment; bumps the partition epoch). */
    public synchronized void setReplicas(String topic, int partition, List<Integer> replicas) {
        PartitionLog log = partition(topic, partition);
        log.replicas = List.copyOf(replicas);
        log.isr = List.copyOf(replicas);
        log.addingReplicas = List.of();
        log.removingReplicas = List.of();
        log.partitionEpoch++;
        metadataChanges++;
    }

    /**
     * Starts a reassignment of the partition: its replicas become the target then the replicas
     * being removed, the ISR stays (bumps the partition epoch).
     */
    public synchronized void startReassignment(String topic, int partition, List<Integer> target) {
        PartitionLog log = partition(topic, partition);
        List<Integer> all = new ArrayList<>(target);
        log.replicas.stream().filter(r -> !target.contains(r)).forEach(all::add);
        log.addingReplicas = target.stream().filter(r -> !log.replicas.contains(r)).toList();
        log.removingReplicas = log.replicas.stream().filter(r -> !target.contains(r)).toList();
        log.replicas = List.copyOf(all);
        log.partitionEpoch++;
        metadataChanges++;
    }

    /** Sets a partition's ISR and eligible leader replicas (bumping the partition epoch). */
    public synchronized void setIsr(String topic, int partition, List<Integer> isr, List<Integer> elr) {
        PartitionLog log = partition(topic, partition);
        log.isr = List.copyOf(isr);
        log.elr = List.copyOf(elr);
        log.partitionEpoch++;
        metadataChanges++;
    }

    /** Followers of the partition have its records below this offset only (-1 = all of them). */
    public synchronized void setFollowerHighWatermark(String topic, int partition, long offset) {
        partition(topic, partition).followerHighWatermark = offset;
        notifyAll();
    }

    /** Fences (true) or unfences a broker: a fenced broker leaves Metadata and counts as offline. */
    public synchronized void setFenced(int brokerId, boolean isFenced) {
        if (isFenced) {
            fenced.add(brokerId);
        } else {
            fenced.remove(brokerId);
        }
        metadataChanges++;
    }

    /**
     * Marks one replica as reported offline by its broker (a storage fault), with the broker's
     * reason (null = in service again): DescribeCluster lists it and the partition's offline
     * replicas include it.
     */
    public synchronized void setReplicaOffline(int brokerId, String topic, int partition, String reason) {
        Map<String, String> m = offlineReplicas.computeIfAbsent(brokerId, k -> new java.util.TreeMap<>());
        if (reason == null) {
            m.remove(topic + "-" + partition);
        } else {
            m.put(topic + "-" + partition, reason);
        }
        metadataChanges++;
    }

    /** The broker DescribeCluster and Metadata name as active controller (-1 = none). */
    public synchronized void setControllerId(int id) {
        controllerId = id;
    }

    synchronized int controllerId() {
        return controllerId;
    }

    /** Sets a topic config's default on every broker, as a broker config file would (e.g. min.insync.replicas). */
    public void setBrokerDefault(String name, String value) {
        brokerDefaults.put(name, value);
    }

    /** The next {@code times} partitions fetched from this broker answer code (nothing else happens). */
    public void injectFetchError(int brokerId, ErrorCode code, int times) {
        ConcurrentLinkedQueue<ErrorCode> q = fetchFaults.computeIfAbsent(brokerId, k -> new ConcurrentLinkedQueue<>());
        for (int i = 0; i < times; i++) {
            q.add(code);
        }
    }

    /** The partition's replicas whose broker is fenced or stopped, or that their broker reported offline. */
    synchronized List<Integer> offline(String topic, int partition, PartitionLog log) {
        List<Integer> out = new ArrayList<>();
        for (int r : log.replicas) {
            if (fenced.contains(r) || r < 1 || r > brokers.size() || broker(r).stopped()
                    || offlineReplicas.getOrDefault(r, Map.of()).containsKey(topic + "-" + partition)) {
                out.add(r);
            }
        }
        return out;
    }

    /** Partitions this broker has answered in fetches (with data or without, errors excluded). */
    public synchronized int fetchedPartitions(int brokerId) {
        return fetchedPartitions.getOrDefault(brokerId, 0);
    }

    /** Simulates retention: records below offset disappear (whole batches below it). */
    public synchronized void truncateLogStart(String topic, int partition, long offset) {
        PartitionLog log = topics.get(topic).partitions.get(partition);
        log.batches.removeIf(b -> b.lastOffset < offset);
        log.logStartOffset = Math.min(offset, log.logEndOffset);
    }

    /** The partition's log start offset (moved by DeleteRecords and {@link #truncateLogStart}). */
    public synchronized long logStartOffset(String topic, int partition) {
        return topics.get(topic).partitions.get(partition).logStartOffset;
    }

    /** Planned answers of DeleteRecords partitions (at their leader, after its checks): see {@link #injectDeleteRecordsError}. */
    final ConcurrentLinkedQueue<PlannedFault> deleteRecordsFaults = new ConcurrentLinkedQueue<>();
    /** Every partition of every DeleteRecords request, as "brokerId:topic-partition@offset", in arrival order. */
    final List<String> deleteRecordsRequests = new ArrayList<>();
    /** timeout_ms of the last DeleteRecords request any broker received. */
    volatile int lastDeleteRecordsTimeoutMs = -1;
    /** "topic-partition" → {leader id, leader epoch} that Metadata answers instead of the partition's own (a lagging image). */
    final Map<String, int[]> staleMetadataLeaders = new HashMap<>();

    /**
     * The next {@code times} partitions that reach their leader's DeleteRecords check answer code;
     * with afterApply the log start is moved first (REQUEST_TIMED_OUT: the replicas had not
     * followed), else nothing is done (STORAGE_ERROR ...).
     */
    public void injectDeleteRecordsError(ErrorCode code, int times, boolean afterApply) {
        for (int i = 0; i < times; i++) {
            deleteRecordsFaults.add(new PlannedFault(afterApply ? Fault.ERROR_AFTER_APPEND : Fault.ERROR_BEFORE_APPEND, code));
        }
    }

    /** Each partition of each DeleteRecords request so far, as "brokerId:topic-partition@offset". */
    public synchronized List<String> deleteRecordsRequests() {
        return List.copyOf(deleteRecordsRequests);
    }

    public int lastDeleteRecordsTimeoutMs() {
        return lastDeleteRecordsTimeoutMs;
    }

    /**
     * While set, every broker's Metadata names {@code leaderId} (with {@code leaderEpoch}) as the
     * partition's leader whatever leads it (a broker whose metadata image lags the controller's);
     * {@code leaderId} null clears it.
     */
    public synchronized void staleMetadataLeader(String topic, int partition, Integer leaderId, int leaderEpoch) {
        if (leaderId == null) {
            staleMetadataLeaders.remove(topic + "-" + partition);
        } else {
            staleMetadataLeaders.put(topic + "-" + partition, new int[] {leaderId, leaderEpoch});
        }
    }

    /** The next {@code times} produce partition results fail with code, appending nothing. */
    public void injectProduceError(ErrorCode code, int times) {
        for (int i = 0; i < times; i++) {
            produceFaults.add(new PlannedFault(Fault.ERROR_BEFORE_APPEND, code));
        }
    }

    /** The next {@code times} InitProducerId requests answer code (and hand out nothing). */
    public synchronized void injectInitProducerIdError(ErrorCode code, int times) {
        initProducerIdErrors.addAll(java.util.Collections.nCopies(times, code));
    }

    /** The next InitProducerId fault, or null. */
    synchronized ErrorCode nextInitProducerIdError() {
        return initProducerIdErrors.poll();
    }

    private final java.util.ArrayDeque<ErrorCode> initProducerIdErrors = new java.util.ArrayDeque<>();

    /** The next produce partition result appends and then answers code (REQUEST_TIMED_OUT ...). */
    public void injectProduceErrorAfterAppend(ErrorCode code) {
        produceFaults.add(new PlannedFault(Fault.ERROR_AFTER_APPEND, code));
    }

    /**
     * The next produce request is appended and answered, then its call fails (UNAVAILABLE) before
     * it completes, as when a connection drops between the answer and the call's trailers.
     */
    public void failNextProduceCallAfterAnswer() {
        produceFaults.add(new PlannedFault(Fault.CALL_FAILS_AFTER_ANSWER, ErrorCode.NONE));
    }

    /** The next produce request is appended, then its broker drops every connection without answering. */
    public void disconnectNextProduceAfterAppend() {
        produceFaults.add(new PlannedFault(Fault.DISCONNECT_AFTER_APPEND, ErrorCode.NONE));
    }

    /**
     * The next {@code times} admin mutations (per topic of CreateTopics and DeleteTopics) answer code; with
     * afterApply the change is made first (REQUEST_TIMED_OUT after commit), else nothing is done.
     */
    public void injectAdminError(ErrorCode code, int times, boolean afterApply) {
        for (int i = 0; i < times; i++) {
            adminFaults.add(new PlannedFault(afterApply ? Fault.ERROR_AFTER_APPEND : Fault.ERROR_BEFORE_APPEND, code));
        }
    }

    private boolean createTopicsHeld;
    private boolean metadataHeld;
    private final java.util.Set<Integer> metadataHeldOn = new java.util.HashSet<>();
    private final java.util.Set<Integer> adminReadsHeldOn = new java.util.HashSet<>();
    int metadataRequests;

    /**
     * While held, a Metadata call's answer is built when the request arrives (what the cluster
     * looks like then) but sent only at {@link #releaseMetadata()}: an answer in flight that a
     * change made meanwhile does not show.
     */
    public synchronized void holdMetadata() {
        metadataHeld = true;
    }

    /**
     * While held, Metadata calls to this broker get no answer until {@link #releaseMetadata()}: a
     * broker paused (SIGSTOP) or cut off from the client, its connection still open.
     */
    public synchronized void holdMetadataOn(int brokerId) {
        metadataHeldOn.add(brokerId);
    }

    /**
     * While held, the admin reads this fake answers (list and describe topics, describe cluster)
     * get no answer from this broker until {@link #releaseAdminReads()}: a broker paused (SIGSTOP)
     * or cut off from the client, its connection still open.
     */
    public synchronized void holdAdminReadsOn(int brokerId) {
        adminReadsHeldOn.add(brokerId);
    }

    public synchronized void releaseAdminReads() {
        adminReadsHeldOn.clear();
        notifyAll();
    }

    /**
     * Waits while admin reads on this broker are held; false if interrupted. A call the client
     * cancels does not interrupt it: it waits until the release (or {@link #close()}).
     */
    synchronized boolean awaitAdminReadsReleased(int brokerId) {
        try {
            while (adminReadsHeldOn.contains(brokerId)) {
                wait();
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public synchronized void releaseMetadata() {
        metadataHeld = false;
        metadataHeldOn.clear();
        notifyAll();
    }

    synchronized void awaitMetadataReleased(int brokerId) throws InterruptedException {
        while (metadataHeld || metadataHeldOn.contains(brokerId)) {
            wait();
        }
    }

    public synchronized int metadataRequests() {
        return metadataRequests;
    }

    /** While held, CreateTopics calls wait unanswered (a slow controller) until {@link #releaseCreateTopics()}. */
    public synchronized void holdCreateTopics() {
        createTopicsHeld = true;
    }

    public synchronized void releaseCreateTopics() {
        createTopicsHeld = false;
        notifyAll();
    }

    synchronized void awaitCreateTopicsReleased() throws InterruptedException {
        while (createTopicsHeld) {
            wait();
        }
    }

    /** While held, produce requests wait (unanswered) until {@link #releaseProduce()}. */
    public synchronized void holdProduce() {
        produceHeld = true;
    }

    public synchronized void releaseProduce() {
        produceHeld = false;
        produceHeldOn.clear();
        notifyAll();
    }

    /**
     * While held, produce requests to this broker wait unanswered until {@link #releaseProduce()}:
     * a leader that is paused (SIGSTOP) or cut off from the client, its connection still open.
     */
    public synchronized void holdProduceOn(int brokerId) {
        produceHeldOn.add(brokerId);
    }

    synchronized void awaitProduceReleased(int brokerId) throws InterruptedException {
        while (produceHeld || produceHeldOn.contains(brokerId)) {
            wait();
        }
    }

    /** Hands out producer ids (InitProducerId) from one counter, as the controller's blocks would. */
    private long nextProducerId = 1000;

    synchronized long nextProducerId() {
        return nextProducerId++;
    }

    /**
     * Appends a payload as the broker does for idempotent batches (a fake of its rules: the first
     * batch decides): a retry of one of the producer's last 5 batches is DUPLICATE_SEQUENCE with the
     * original offset, a gap OUT_OF_ORDER_SEQUENCE, an older epoch INVALID_PRODUCER_EPOCH.
     */
    synchronized AppendResult appendIdempotent(Topic t, int partition, ByteBuffer payload) {
        PartitionLog log = t.partitions.get(partition);
        List<RecordBatch> parsed = Batches.parseStrict(payload.duplicate(), maxMessageBytes(t), 10_000);
        RecordBatch first = parsed.get(0);
        if (first.producerId() >= 0) {
            ProducerWindow w = log.producers.get(first.producerId());
            int firstSeq = first.baseSequence();
            if (w != null) {
                if (first.producerEpoch() < w.epoch) {
                    return new AppendResult(-1, ErrorCode.INVALID_PRODUCER_EPOCH);
                }
                if (first.producerEpoch() == w.epoch) {
                    for (long[] b : w.batches) {
                        if (b[0] == firstSeq) {
                            return new AppendResult(b[2], ErrorCode.DUPLICATE_SEQUENCE);
                        }
                    }
                    if (firstSeq != w.batches.peekLast()[1] + 1) {
                        return new AppendResult(-1, ErrorCode.OUT_OF_ORDER_SEQUENCE);
                    }
                } else if (firstSeq != 0) {
                    return new AppendResult(-1, ErrorCode.OUT_OF_ORDER_SEQUENCE);
                }
            }
        }
        long base = append(t, partition, payload);
        long offset = base;
        for (RecordBatch b : parsed) {
            if (b.producerId() >= 0) {
                ProducerWindow w = log.producers.computeIfAbsent(b.producerId(), id -> new ProducerWindow());
                if (b.producerEpoch() != w.epoch) {
                    w.epoch = b.producerEpoch();
                    w.batches.clear();
                }
                w.batches.addLast(new long[] {b.baseSequence(), b.baseSequence() + b.recordCount() - 1, offset});
                if (w.batches.size() > 1_000) { // the broker remembers runs; a generous window stands in for them
                    w.batches.pollFirst();
                }
            }
            offset += b.lastOffsetDelta() + 1;
        }
        return new AppendResult(base, ErrorCode.NONE);
    }

    /** Appends a produce payload (already validated) to a partition; returns the base offset. */
    synchronized long append(Topic t, int partition, ByteBuffer payload) {
        PartitionLog log = t.partitions.get(partition);
        long base = log.logEndOffset;
        for (RecordBatch b : Batches.parseStrict(payload, maxMessageBytes(t), 10_000)) {
            byte[] copy = new byte[b.sizeInBytes()];
            b.buffer().duplicate().get(copy);
            RecordBatch stored = RecordBatch.wrap(ByteBuffer.wrap(copy));
            stored.stampBaseOffset(log.logEndOffset);
            stored.stampPartitionLeaderEpoch(log.leaderEpoch);
            log.batches.add(new StoredBatch(copy, stored.baseOffset(), stored.lastOffset(), stored.maxTimestamp()));
            log.logEndOffset = stored.lastOffset() + 1;
        }
        notifyAll();
        return base;
    }

    /** Appends pre-built batches (e.g. with offset gaps, as compaction leaves them); returns the base offset. */
    public synchronized long appendBatches(String topic, int partition, ByteBuffer batches) {
        return append(topics.get(topic), partition, batches);
    }

    /**
     * Stores one batch without validating it (as a broker with a bad disk might serve it), for
     * testing the consumer's checks. Offsets are stamped as for a normal append.
     */
    /** Fetches that asked for a CRC check (verify_checksums), as "topic-partition@offset". */
    final List<String> verifiedFetches = new ArrayList<>();
    /** Per "topic-partition", the good copy a checked fetch puts in place of a corrupt batch; absent: none. */
    private final Map<String, byte[]> goodCopies = new HashMap<>();

    public synchronized List<String> verifiedFetches() {
        return List.copyOf(verifiedFetches);
    }

    /**
     * A healthy replica holds {@code batch} where this partition holds a corrupt one: a fetch that
     * asks for a CRC check finds the bad batch, answers CORRUPT_STORED_DATA and puts the good copy
     * in its place, as a real cluster moves leadership to the healthy replica.
     */
    public synchronized void goodCopyElsewhere(String topic, int partition, ByteBuffer batch) {
        byte[] copy = new byte[batch.remaining()];
        batch.duplicate().get(copy);
        goodCopies.put(topic + "-" + partition, copy);
    }

    /**
     * A checked fetch from {@code offset}: true if a corrupt batch was found there and a good copy
     * put in its place. Without a good copy the check finds nothing (as when the bytes were damaged
     * on the way, or by a broker that does not check): the batch is served as stored.
     */
    synchronized boolean checkAndHeal(String topic, int partition, long offset) {
        verifiedFetches.add(topic + "-" + partition + "@" + offset);
        PartitionLog log = topics.get(topic).partitions.get(partition);
        for (int i = 0; i < log.batches.size(); i++) {
            StoredBatch b = log.batches.get(i);
            if (b.lastOffset() < offset) {
                continue;
            }
            try {
                RecordBatch.wrap(ByteBuffer.wrap(b.bytes())).validateChecksum();
            } catch (RuntimeException e) {
                byte[] good = goodCopies.remove(topic + "-" + partition);
                if (good == null) {
                    return false;
                }
                RecordBatch fixed = RecordBatch.wrap(ByteBuffer.wrap(good));
                fixed.stampBaseOffset(b.baseOffset());
                log.batches.set(i, new StoredBatch(good, fixed.baseOffset(), fixed.lastOffset(), fixed.maxTimestamp()));
                return true;
            }
        }
        return false;
    }

    public synchronized void appendUnchecked(String topic, int partition, ByteBuffer batch) {
        PartitionLog log = topics.get(topic).partitions.get(partition);
        byte[] copy = new byte[batch.remaining()];
        batch.duplicate().get(copy);
        RecordBatch stored = RecordBatch.wrap(ByteBuffer.wrap(copy));
        stored.stampBaseOffset(log.logEndOffset);
        log.batches.add(new StoredBatch(copy, stored.baseOffset(), stored.lastOffset(), stored.maxTimestamp()));
        log.logEndOffset = stored.lastOffset() + 1;
        notifyAll();
    }

    int maxMessageBytes(Topic t) {
        return Integer.parseInt(t.configs.getOrDefault("max.message.bytes", TOPIC_CONFIG_DEFAULTS.get("max.message.bytes")));
    }

    /** The partition's leader now (-1: none). */
    public synchronized int leaderOf(String topic, int partition) {
        return partition(topic, partition).leaderId;
    }

    /** Every record of a partition, decoded (offset, timestamp, key, value), for assertions. */
    public synchronized List<Record> records(String topic, int partition) {
        List<Record> out = new ArrayList<>();
        for (StoredBatch b : topics.get(topic).partitions.get(partition).batches) {
            RecordBatch rb = RecordBatch.wrap(ByteBuffer.wrap(b.bytes));
            rb.records().forEach(out::add);
        }
        return out;
    }

    /** Number of stored batches of a partition. */
    /** The stored batches of a partition, as the broker stamped them. */
    public synchronized List<RecordBatch> storedBatches(String topic, int partition) {
        List<RecordBatch> out = new ArrayList<>();
        for (StoredBatch b : topics.get(topic).partitions.get(partition).batches) {
            out.add(RecordBatch.wrap(ByteBuffer.wrap(b.bytes())));
        }
        return out;
    }

    public synchronized int batchCount(String topic, int partition) {
        return topics.get(topic).partitions.get(partition).batches.size();
    }

    public synchronized long logEndOffset(String topic, int partition) {
        return topics.get(topic).partitions.get(partition).logEndOffset;
    }

    /** Produce requests received so far (all brokers). */
    /** Every fetch request so far: "topic-partition" → fetch offset, in arrival order. */
    public synchronized List<Map<String, Long>> fetches() {
        return List.copyOf(fetches);
    }

    /** InitProducerId requests served (first id plus epoch bumps). */
    public synchronized int initProducerIdRequests() {
        return initProducerIdRequests;
    }

    public synchronized int produceRequests() {
        return produceRequests;
    }

    /** The timeout_ms of every produce request received, in arrival order. */
    public synchronized List<Integer> produceTimeoutsMs() {
        return List.copyOf(produceTimeoutsMs);
    }

    /** How many partitions every produce request received carried, in arrival order. */
    public synchronized List<Integer> producePartitionCounts() {
        return List.copyOf(producePartitionCounts);
    }

    /**
     * While on, every leader acts as one whose ISR does not acknowledge (both followers paused:
     * the quorum is lost, so the ISR cannot shrink): an acks=all batch is appended and answered
     * REQUEST_TIMED_OUT once the request's timeout_ms has passed, as the real broker's
     * DelayedProduce does; a retry of it (DUPLICATE_SEQUENCE) waits the same way.
     */
    public synchronized void stallIsr(boolean on) {
        isrStalled = on;
    }

    /** Runs an answer after delayMs on the cluster's timer thread (answers of stalled acks=all requests). */
    void answerLater(long delayMs, Runnable answer) {
        answerTimer.schedule(answer, delayMs, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    public synchronized int produceStreams() {
        return produceStreams;
    }

    public synchronized int fetchStreams() {
        return fetchStreams;
    }

    /** Brokers answer FetchStream with UNIMPLEMENTED, as a broker without it would. */
    public synchronized void fetchStreamUnimplemented() {
        fetchStreamUnimplemented = true;
    }

    /** While held, fetches get no answer (their connection stays open) until {@link #releaseFetch()}. */
    public synchronized void holdFetch() {
        fetchHeld = true;
    }

    /**
     * While held, fetches to this broker get no answer until {@link #releaseFetch()}: a broker
     * paused (SIGSTOP) or cut off from the client, its connection still open.
     */
    public synchronized void holdFetchOn(int brokerId) {
        fetchHeldOn.add(brokerId);
    }

    public synchronized void releaseFetch() {
        fetchHeld = false;
        fetchHeldOn.clear();
        notifyAll();
    }

    /** Brokers answer ProduceStream with UNIMPLEMENTED, as a broker without it would. */
    public synchronized void produceStreamUnimplemented() {
        produceStreamUnimplemented = true;
    }

    public synchronized boolean hasTopic(String name) {
        return topics.containsKey(name);
    }

    public synchronized void deleteTopic(String name) {
        topics.remove(name);
        metadataChanges++;
        notifyAll();
    }

    private static Map<String, String> defaults() {
        Map<String, String> m = new TreeMap<>();
        m.put("cleanup.policy", "delete");
        m.put("max.message.bytes", "1048588");
        m.put("min.insync.replicas", "1");
        m.put("retention.bytes", "-1");
        m.put("retention.ms", "604800000");
        m.put("segment.bytes", "1073741824");
        m.put("segment.ms", "604800000");
        return Collections.unmodifiableMap(m);
    }

    /** null if the config is fine, else why not. */
    static String validateConfig(String name, String value) {
        if (!TOPIC_CONFIG_DEFAULTS.containsKey(name)) {
            return "unknown config " + name;
        }
        try {
            switch (name) {
                case "cleanup.policy":
                    return value.matches("delete|compact|compact,delete|delete,compact") ? null : "cleanup.policy must be delete or compact";
                case "max.message.bytes", "min.insync.replicas":
                    return Integer.parseInt(value) >= 1 ? null : name + " must be >= 1";
                case "segment.bytes":
                    return Integer.parseInt(value) >= 14 ? null : name + " must be >= 14";
                default:
                    return Long.parseLong(value) >= -1 ? null : name + " must be >= -1";
            }
        } catch (NumberFormatException e) {
            return name + " must be a number, got '" + value + "'";
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            produceHeld = false;
            produceHeldOn.clear();
            fetchHeld = false;
            fetchHeldOn.clear();
            createTopicsHeld = false;
            metadataHeld = false;
            metadataHeldOn.clear();
            adminReadsHeldOn.clear();
            notifyAll();
        }
        groups.releaseCommits();
        answerTimer.shutdownNow();
        brokers.forEach(FakeBroker::close);
    }
}
