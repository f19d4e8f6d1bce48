package dev.basalt.client;

import dev.basalt.client.internal.ChannelPool;
import dev.basalt.client.internal.Cluster;
import dev.basalt.client.internal.ConfigDef;
import dev.basalt.client.internal.Errors;
import dev.basalt.client.internal.FetchBuffer;
import dev.basalt.client.internal.FetchCollector;
import dev.basalt.client.internal.GroupMembership;
import dev.basalt.client.internal.Fetcher;
import dev.basalt.client.internal.HostPort;
import dev.basalt.client.internal.MetadataManager;
import dev.basalt.client.internal.OffsetLookup;
import dev.basalt.client.internal.SubscriptionState;
import dev.basalt.client.internal.SubscriptionState.PartitionState;
import dev.basalt.client.internal.SubscriptionState.ResetPolicy;
import dev.basalt.client.internal.Time;
import dev.basalt.client.serialization.Deserializer;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.ConcurrentModificationException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads records from partitions the caller assigns ({@link #assign}); each partition has a
 * position (the next offset to read) that {@link #poll} advances and {@link #seek} moves. A
 * partition without a position starts where {@code auto.offset.reset} says: earliest, latest,
 * or none (then poll throws {@link OffsetOutOfRangeException}); a position that falls out of
 * the log (retention) is reset the same way.
 *
 * <p>Fetching is pipelined: as soon as an answer is buffered, the next fetch to that leader asks
 * for what follows it (from the end of the buffered batches), so the broker serves and sends the
 * next answer while this thread decodes and delivers the current one. A partition holds at most
 * {@value #BUFFERS_PER_PARTITION_MAX} answers (the one being delivered and the one after it), so the
 * consumer buffers at most twice fetch.max.bytes per broker. A fetch is a long poll bounded by
 * fetch.max.wait.ms and fetch.min.bytes.
 *
 * <p>Leadership: each fetch carries the partition's leader epoch from the metadata; on
 * NOT_LEADER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH or a lost connection the partition backs
 * off (retry.backoff.ms, or until the metadata names a newer leader), the metadata is refreshed
 * and fetching resumes at the position. With {@code client.rack} set the leader may name a
 * follower in the same rack as preferred read replica (KIP-392); the consumer reads from it until
 * any error from it, its absence from the metadata, or metadata.max.age.ms, then goes back to the
 * leader without touching the position.
 *
 * <p>Structure (as Kafka's consumer separates them): {@link SubscriptionState} keeps the assigned
 * partitions, their positions, resets and pauses; {@link FetchCollector} keeps the fetched answers
 * and decodes them into records; this class drives fetches and answers between them.
 *
 * <p>Groups ({@code group.id}): {@link #subscribe} joins the group (KIP-848: the coordinator assigns,
 * a heartbeat thread keeps the session); {@link #poll} reconciles on the caller's thread — revokes
 * partitions that move (committing their positions first with auto-commit, then
 * {@link ConsumerRebalanceListener#onPartitionsRevoked}), acknowledges, then takes new ones at their
 * committed offsets. Partitions that do not move are never paused. Commits carry the member epoch;
 * a fenced member's commit fails with {@link CommitFailedException}. An application that does not
 * call {@link #poll} within {@code max.poll.interval.ms} is taken out of the group by the heartbeat
 * thread (its partitions go to the other members at once; its commits fail with
 * {@link CommitFailedException}); its next poll calls
 * {@link ConsumerRebalanceListener#onPartitionsLost} and rejoins. {@link #close()} commits and
 * leaves at once. A consumer with {@code group.id} that uses {@link #assign} commits as a member-less
 * client (refused while the group has members).
 *
 * <p>Thread-safety: NOT thread-safe, as in Kafka: one thread uses a consumer; a concurrent
 * call fails with {@link ConcurrentModificationException}. Only {@link #wakeup()} may be
 * called from another thread.
 */
public final class Consumer<K, V> implements AutoCloseable {
    /** How long a partition's fetch may keep answering CORRUPT_STORED_DATA at one offset before poll() reports it. */
    static final long CORRUPT_STORED_DATA_RETRY_MS = 2_000;
    /** The answer being delivered plus one fetched ahead. */
    static final int BUFFERS_PER_PARTITION_MAX = FetchCollector.BUFFERS_PER_PARTITION_MAX;

    private final ChannelPool channels;
    private final MetadataManager metadata;
    private final OffsetLookup offsets;
    private final Fetcher fetcher;
    private final Time time;
    private final ResetPolicy defaultReset;
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Consumer.class);
    private final int maxPollRecords;
    private final int defaultApiTimeoutMs;
    private final boolean checkCrcs;
    private final long preferredReplicaMaxAgeMs;
    private final long retryBackoffMs;
    /** Set while a partition waits for new metadata: the next refresh wakes a blocked poll. */
    private final AtomicBoolean awaitingMetadata = new AtomicBoolean();
    /** Assigned partitions and their positions. */
    private final SubscriptionState subscriptions = new SubscriptionState();
    /** Fetched answers and their decoding into records. */
    private final FetchCollector<K, V> collector;
    private final AtomicLong owner = new AtomicLong(-1);
    private final AtomicBoolean wakeupRequested = new AtomicBoolean();
    private int depth;
    private BasaltException pendingError;
    private boolean closed;

    // --- group (null/false without group.id)
    private final GroupMembership membership;
    private final String groupId;
    private final boolean autoCommit;
    private final long autoCommitIntervalMs;
    private long nextAutoCommitMs;
    private boolean subscribed;
    private ConsumerRebalanceListener listener = ConsumerRebalanceListener.NONE;
    /**
     * Every commit (sync, async, auto, on revocation) runs on this one thread in submission order, so
     * an older async commit can never land after a newer one (it would move the committed offset
     * back, and the next owner of a revoked partition would read records again).
     */
    private final java.util.concurrent.ExecutorService commitThread = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "basalt-consumer-commit");
        t.setDaemon(true);
        return t;
    });
    /** commitAsync outcomes, delivered on the poll thread. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Runnable> completedCommits = new java.util.concurrent.ConcurrentLinkedQueue<>();

    public Consumer(Map<String, ?> configs) {
        this(configs, null, null);
    }

    public Consumer(Properties props) {
        this(Producer.toMap(props), null, null);
    }

    /** Deserializers given here take precedence over key.deserializer / value.deserializer. */
    public Consumer(Map<String, ?> configs, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer) {
        this(ConsumerConfig.parse(configs), keyDeserializer, valueDeserializer, Time.SYSTEM);
    }

    Consumer(ConfigDef.Parsed c, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer, Time time) {
        this.time = time;
        this.collector = new FetchCollector<>(
                Plugins.deserializer(keyDeserializer, c.getObject(ConsumerConfig.KEY_DESERIALIZER), ConsumerConfig.KEY_DESERIALIZER),
                Plugins.deserializer(valueDeserializer, c.getObject(ConsumerConfig.VALUE_DESERIALIZER),
                        ConsumerConfig.VALUE_DESERIALIZER));
        List<HostPort> bootstrap = HostPort.parseList(c.getList(ConsumerConfig.BOOTSTRAP_SERVERS), ConsumerConfig.BOOTSTRAP_SERVERS);
        this.channels = CommonClientConfigs.channelPool(c);
        int requestTimeoutMs = c.getInt(ConsumerConfig.REQUEST_TIMEOUT_MS);
        long backoffMs = c.getLong(ConsumerConfig.RETRY_BACKOFF_MS);
        this.metadata = new MetadataManager(channels, bootstrap, requestTimeoutMs, backoffMs,
                c.getLong(CommonClientConfigs.METADATA_MAX_AGE_MS), time);
        this.offsets = new OffsetLookup(metadata, channels, requestTimeoutMs, backoffMs, time);
        this.fetcher = new Fetcher(channels, new Fetcher.Limits(c.getInt(ConsumerConfig.FETCH_MIN_BYTES),
                c.getInt(ConsumerConfig.FETCH_MAX_WAIT_MS), c.getInt(ConsumerConfig.FETCH_MAX_BYTES),
                c.getInt(ConsumerConfig.MAX_PARTITION_FETCH_BYTES), requestTimeoutMs, c.getString(ConsumerConfig.CLIENT_RACK)),
                backoffMs, time);
        this.fetcher.leadershipCheck((unanswering, sentEpochs) -> {
            metadata.refreshAvoiding(unanswering);
            Cluster now = metadata.current();
            return sentEpochs.entrySet().stream().anyMatch(e -> now.leaderEpochFor(e.getKey()) > e.getValue());
        });
        this.preferredReplicaMaxAgeMs = c.getLong(CommonClientConfigs.METADATA_MAX_AGE_MS);
        this.defaultReset = ResetPolicy.valueOf(c.getString(ConsumerConfig.AUTO_OFFSET_RESET).toUpperCase(java.util.Locale.ROOT));
        this.maxPollRecords = c.getInt(ConsumerConfig.MAX_POLL_RECORDS);
        this.defaultApiTimeoutMs = c.getInt(ConsumerConfig.DEFAULT_API_TIMEOUT_MS);
        this.checkCrcs = c.getBoolean(ConsumerConfig.CHECK_CRCS);
        this.retryBackoffMs = backoffMs;
        String group = c.getString(ConsumerConfig.GROUP_ID);
        this.groupId = group == null || group.isEmpty() ? null : group;
        this.autoCommit = c.getBoolean(ConsumerConfig.ENABLE_AUTO_COMMIT);
        this.autoCommitIntervalMs = c.getInt(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS);
        this.membership = groupId == null ? null : new GroupMembership(groupId, c.getString(ConsumerConfig.GROUP_INSTANCE_ID),
                c.getString(ConsumerConfig.CLIENT_ID), c.getInt(ConsumerConfig.MAX_POLL_INTERVAL_MS),
                c.getInt(ConsumerConfig.SESSION_TIMEOUT_MS), requestTimeoutMs, backoffMs, c.getString(ConsumerConfig.GROUP_REMOTE_ASSIGNOR),
                channels, () -> {
                    java.util.Set<HostPort> known = new java.util.LinkedHashSet<>(metadata.current().brokers().values());
                    known.addAll(bootstrap);
                    return new ArrayList<>(known);
                }, time);
        metadata.addListener(() -> {
            if (awaitingMetadata.getAndSet(false)) {
                fetcher.interruptTake(); // a partition may now fetch from its new leader
            }
        });
    }

    /**
     * Replaces the assignment. Partitions kept keep their position; new ones start without one:
     * with a group.id the next poll (or {@link #position}) positions them at the group's committed
     * offsets, as Kafka's consumer does, and auto.offset.reset applies to those without one (or to
     * every new one without a group.id), unless {@link #seek} is called first.
     */
    public void assign(Collection<TopicPartition> partitions) {
        acquire();
        try {
            if (subscribed) {
                throw new IllegalStateException("this consumer subscribed to a group: assign() is not allowed");
            }
            Set<TopicPartition> wanted = new LinkedHashSet<>(partitions);
            for (TopicPartition tp : wanted) {
                String badName = dev.basalt.common.TopicNames.validate(tp.topic());
                if (badName != null) {
                    throw new InvalidTopicException(badName);
                }
            }
            Set<TopicPartition> had = new LinkedHashSet<>(subscriptions.partitions());
            subscriptions.assign(wanted);
            collector.retain(wanted);
            if (membership != null) {
                // as in Kafka: with a group.id, a new partition resumes from the group's committed offset
                for (TopicPartition tp : wanted) {
                    if (!had.contains(tp)) {
                        subscriptions.state(tp).awaitingCommitted = true;
                    }
                }
            }
            Set<String> topics = new LinkedHashSet<>();
            wanted.forEach(tp -> topics.add(tp.topic()));
            if (metadata.track(topics)) {
                metadata.refresh();
            }
        } finally {
            release();
        }
    }

    public Set<TopicPartition> assignment() {
        acquire();
        try {
            return Set.copyOf(subscriptions.partitions());
        } finally {
            release();
        }
    }

    /** The partitions of a topic (waiting up to default.api.timeout.ms for metadata). */
    public List<TopicPartition> partitionsFor(String topic) {
        return partitionsFor(topic, Duration.ofMillis(defaultApiTimeoutMs));
    }

    /** Answers that the topic does not exist end the wait for partitionsFor after this long. */
    static final long UNKNOWN_TOPIC_GRACE_MS = MetadataManager.UNKNOWN_TOPIC_GRACE_MS;

    /**
     * The topic's partitions, waiting at most {@code timeout} for a broker to answer. A topic the
     * cluster keeps saying does not exist is an {@link dev.basalt.client.UnknownTopicException}
     * after {@value #UNKNOWN_TOPIC_GRACE_MS} ms (a topic created a moment ago reaches every broker
     * within that), not at the timeout.
     */
    public List<TopicPartition> partitionsFor(String topic, Duration timeout) {
        acquire();
        try {
            Cluster c = metadata.awaitTopic(topic, timeout.toMillis(), Math.min(timeout.toMillis(), UNKNOWN_TOPIC_GRACE_MS));
            List<TopicPartition> out = new ArrayList<>();
            for (int p = 0; p < c.topic(topic).partitionCount(); p++) {
                out.add(new TopicPartition(topic, p));
            }
            return out;
        } catch (InterruptedException e) {
            throw interrupted(e);
        } finally {
            release();
        }
    }

    /** Sets the position: the next poll returns records from this offset. */
    public void seek(TopicPartition tp, long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0, got " + offset);
        }
        acquire();
        try {
            subscriptions.seek(tp, offset);
            collector.drop(tp);
        } finally {
            release();
        }
    }

    /** Moves the positions to the log start offsets (looked up lazily at the next poll or position()). */
    public void seekToBeginning(Collection<TopicPartition> partitions) {
        requestReset(partitions, ResetPolicy.EARLIEST);
    }

    /** Moves the positions to the high watermarks (looked up lazily). */
    public void seekToEnd(Collection<TopicPartition> partitions) {
        requestReset(partitions, ResetPolicy.LATEST);
    }

    private void requestReset(Collection<TopicPartition> partitions, ResetPolicy reset) {
        acquire();
        try {
            for (TopicPartition tp : partitions.isEmpty() ? List.copyOf(subscriptions.partitions()) : partitions) {
                subscriptions.requestReset(tp, reset);
                collector.drop(tp);
            }
        } finally {
            release();
        }
    }

    /** The offset of the next record poll will return for the partition, resolving a reset if needed. */
    public long position(TopicPartition tp) {
        return position(tp, Duration.ofMillis(defaultApiTimeoutMs));
    }

    public long position(TopicPartition tp, Duration timeout) {
        acquire();
        try {
            PartitionState s = subscriptions.state(tp);
            if (s.position == null) {
                resolvePositions(time.monotonicMs() + timeout.toMillis(), tp);
            }
            return s.position;
        } catch (InterruptedException e) {
            throw interrupted(e);
        } finally {
            release();
        }
    }

    public void pause(Collection<TopicPartition> partitions) {
        setPaused(partitions, true);
    }

    public void resume(Collection<TopicPartition> partitions) {
        setPaused(partitions, false);
    }

    private void setPaused(Collection<TopicPartition> partitions, boolean paused) {
        acquire();
        try {
            partitions.forEach(tp -> subscriptions.setPaused(tp, paused));
        } finally {
            release();
        }
    }

    public Set<TopicPartition> paused() {
        acquire();
        try {
            return subscriptions.paused();
        } finally {
            release();
        }
    }

    /** The log start offsets of the partitions (ListOffsets EARLIEST). */
    public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions, Duration timeout) {
        return listOffsets(partitions, dev.basalt.client.internal.OffsetLookup.EARLIEST, timeout);
    }

    /** The high watermarks of the partitions (ListOffsets LATEST): one past the last committed record. */
    public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions, Duration timeout) {
        return listOffsets(partitions, dev.basalt.client.internal.OffsetLookup.LATEST, timeout);
    }

    /**
     * As {@link #endOffsets}, but a partition whose end is not found within the timeout (no leader
     * known, or its leader unreachable) is left out of the answer instead of failing the others.
     * For tools showing lag: found probing, one leaderless partition kept {@code basalt lag} from
     * printing any group. Other errors (an unknown topic) still throw.
     */
    public Map<TopicPartition, Long> endOffsetsFound(Collection<TopicPartition> partitions, Duration timeout) {
        acquire();
        Map<TopicPartition, dev.basalt.client.internal.OffsetLookup.Found> found = new LinkedHashMap<>();
        try {
            Map<TopicPartition, Long> targets = new LinkedHashMap<>();
            partitions.forEach(tp -> targets.put(tp, dev.basalt.client.internal.OffsetLookup.LATEST));
            offsets.lookup(targets, Math.max(timeout.toMillis(), 1), found);
        } catch (ClientTimeoutException e) {
            // what was found stays in `found`
        } catch (InterruptedException e) {
            throw interrupted(e);
        } finally {
            release();
        }
        Map<TopicPartition, Long> out = new LinkedHashMap<>();
        found.forEach((tp, f) -> out.put(tp, f.offset()));
        return out;
    }

    /**
     * Per partition, the first offset whose timestamp is >= the given one, or -1 when none.
     *
     * @throws IllegalArgumentException for a negative timestamp (as Kafka's): -1 and -2 would
     *         otherwise be read as "latest" and "earliest" (found probing: a computed time gone
     *         negative returned the log end); use endOffsets / beginningOffsets for those
     */
    public Map<TopicPartition, Long> offsetsForTimes(Map<TopicPartition, Long> timestamps, Duration timeout) {
        timestamps.forEach((tp, ts) -> {
            if (ts == null || ts < 0) {
                throw new IllegalArgumentException("the timestamp for " + tp + " must be >= 0, not " + ts
                        + " (endOffsets and beginningOffsets give the log end and start)");
            }
        });
        return lookupOffsets(timestamps, timeout);
    }

    /** ListOffsets for each partition's target: a timestamp, or OffsetLookup's LATEST / EARLIEST. */
    private Map<TopicPartition, Long> lookupOffsets(Map<TopicPartition, Long> timestamps, Duration timeout) {
        acquire();
        try {
            Map<TopicPartition, Long> out = new LinkedHashMap<>();
            offsets.lookup(timestamps, timeout.toMillis()).forEach((tp, f) -> out.put(tp, f.offset()));
            return out;
        } catch (InterruptedException e) {
            throw interrupted(e);
        } finally {
            release();
        }
    }

    private Map<TopicPartition, Long> listOffsets(Collection<TopicPartition> partitions, long target, Duration timeout) {
        Map<TopicPartition, Long> targets = new LinkedHashMap<>();
        partitions.forEach(tp -> targets.put(tp, target));
        return lookupOffsets(targets, timeout);
    }

    /**
     * Returns the records available at the assigned, unpaused partitions' positions (at most
     * max.poll.records), waiting up to the timeout for some to arrive, and advances the positions
     * past them.
     *
     * @throws OffsetOutOfRangeException a position is out of range (or missing) and auto.offset.reset=none
     * @throws WakeupException           {@link #wakeup()} was called
     * @throws BasaltException           a non-retriable error from the cluster (UNKNOWN_TOPIC after
     *                                   metadata kept saying so, INVALID_PARTITION, CORRUPT_RECORD...)
     */
    public ConsumerRecords<K, V> poll(Duration timeout) {
        acquire();
        try {
            long deadline = time.monotonicMs() + Math.max(0, timeout.toMillis());
            while (true) {
                checkWakeup();
                throwPendingError();
                runCompletedCommits();
                if (subscribed) {
                    reconcile();
                    maybeAutoCommit();
                }
                try {
                    resolvePositions(deadline);
                } catch (ClientTimeoutException e) {
                    // as in Kafka: a poll whose time ran out while looking up positions returns nothing
                    if (time.monotonicMs() >= deadline) {
                        return ConsumerRecords.empty();
                    }
                    throw e;
                }
                handleArrived();
                checkTopicIds(); // before collecting: a reset drops buffered records, never while they are drained
                sendFetches(); // fetch ahead of what is buffered before spending time decoding it
                // collect() itself takes arrived answers and sends the fetches they free after
                // each step, so nothing is left to send once it returns
                Map<TopicPartition, List<ConsumerRecord<K, V>>> records = collector.collect(subscriptions, maxPollRecords, () -> {
                    handleArrived();
                    sendFetches();
                });
                if (!records.isEmpty()) {
                    return new ConsumerRecords<>(records);
                }
                long left = deadline - time.monotonicMs();
                Fetcher.Answer a = fetcher.take(Math.max(0, Math.min(left, 100)));
                if (a != null) {
                    handle(a);
                } else if (left <= 0) {
                    return ConsumerRecords.empty();
                }
            }
        } catch (InterruptedException e) {
            throw interrupted(e);
        } finally {
            release();
        }
    }

    /** Makes a poll blocked in another thread (or the next poll) throw {@link WakeupException}. Thread-safe. */
    public void wakeup() {
        wakeupRequested.set(true);
        fetcher.interruptTake();
    }

    private void checkWakeup() {
        if (wakeupRequested.getAndSet(false)) {
            throw new WakeupException();
        }
    }

    private void throwPendingError() {
        if (pendingError != null) {
            BasaltException e = pendingError;
            pendingError = null;
            throw e;
        }
    }

    /** Looks up the offsets of partitions without a position, applying each one's reset policy. */
    /**
     * While some assigned partition can be read, a poll waits at most this long for the position
     * lookups of the others (a partition without a leader is looked up again at the next poll).
     */
    static final long POSITION_LOOKUP_WHILE_READING_MS = 20;

    /**
     * While some assigned partition can be read, a poll waits at most this long for the group's
     * committed offsets of the others (a round trip to the coordinator; asked again at the next poll).
     */
    static final long COMMITTED_LOOKUP_WHILE_READING_MS = 500;

    /**
     * Committed-offset lookups run at once at most: the one in use, and replaced ones not yet
     * ended by their cancellation (an interrupt, which ends a wait for the coordinator at once).
     */
    static final int COMMITTED_LOOKUP_THREADS_MAX = 4;

    /**
     * The lookup of committed offsets in flight for partitions waiting for them (on a lookup
     * thread, bounded by default.api.timeout.ms), and what it asks for; null when none. Kept
     * across polls, as Kafka's consumer keeps its OffsetFetch: a poll shorter than a round trip
     * to the coordinator must not start it afresh each time (found by review: poll(0) never
     * positioned anything). Confined to the user thread.
     */
    private java.util.concurrent.Future<Map<TopicPartition, OffsetAndMetadata>> committedLookup;
    /**
     * The partition states the lookup in flight was started for: its answer is applied only to a
     * partition whose state is still that one (a partition dropped and assigned again has a new
     * state, which must not take an answer read before it; found by review).
     */
    private Map<TopicPartition, PartitionState> committedLookupFor = Map.of();
    private java.util.concurrent.ExecutorService committedLookups;

    /**
     * Waits up to {@code waitMs} for the committed offsets of every partition waiting for one
     * (starting a lookup if none is in flight for exactly those) and positions what it answered;
     * a lookup that fails with time left is started again. A non-retriable error is thrown.
     *
     * @return whether {@code wanted} (null: every waiting partition) is settled now
     */
    private boolean awaitCommitted(TopicPartition wanted, long waitMs) throws InterruptedException {
        long deadline = time.monotonicMs() + waitMs;
        while (true) {
            Map<TopicPartition, PartitionState> waiting = new LinkedHashMap<>();
            for (Map.Entry<TopicPartition, PartitionState> e : subscriptions.entries()) {
                if (e.getValue().position == null && e.getValue().awaitingCommitted) {
                    waiting.put(e.getKey(), e.getValue());
                }
            }
            if (waiting.isEmpty()) {
                cancelCommittedLookup(); // an answer nobody waits for is never applied later
                return true;
            }
            if (wanted != null && !waiting.containsKey(wanted)) {
                return true; // settled; a lookup for the others runs on
            }
            // A lookup that covers every waiting partition is kept (one dropped, sought or reset
            // meanwhile only shrinks the set: applyCommitted skips it); one that misses a partition
            // is replaced, and cancelled: interrupted, it ends its wait for the coordinator at once
            // (found by review: replaced lookups ran on for up to default.api.timeout.ms).
            if (committedLookup == null || !covers(committedLookupFor, waiting)) {
                if (committedLookups == null) {
                    // A replaced lookup may still be ending when the new one starts: the new one
                    // gets a thread of its own rather than queueing behind it (found by review:
                    // behind an old lookup waiting on an unreachable coordinator, a new assignment
                    // stayed unread for up to a minute). Idle threads end after a few seconds.
                    java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(
                            COMMITTED_LOOKUP_THREADS_MAX, COMMITTED_LOOKUP_THREADS_MAX, 5, java.util.concurrent.TimeUnit.SECONDS,
                            new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                                Thread t = new Thread(r, "basalt-consumer-committed-lookup");
                                t.setDaemon(true);
                                return t;
                            });
                    pool.allowCoreThreadTimeOut(true);
                    committedLookups = pool;
                }
                Set<TopicPartition> asked = Set.copyOf(waiting.keySet());
                committedLookupFor = Map.copyOf(waiting);
                cancelCommittedLookup();
                committedLookup = committedLookups.submit(() -> committed(asked, defaultApiTimeoutMs));
            }
            java.util.concurrent.Future<Map<TopicPartition, OffsetAndMetadata>> f = committedLookup;
            try {
                Map<TopicPartition, OffsetAndMetadata> found = f.get(Math.max(0, deadline - time.monotonicMs()),
                        java.util.concurrent.TimeUnit.MILLISECONDS);
                committedLookup = null;
                applyCommitted(committedLookupFor, found);
                continue; // settled what it asked; anything assigned since is asked next
            } catch (java.util.concurrent.TimeoutException e) {
                return false; // still in flight: the same lookup is awaited at the next call
            } catch (java.util.concurrent.ExecutionException e) {
                committedLookup = null;
                Throwable cause = e.getCause();
                if (!(cause instanceof ClientTimeoutException || cause instanceof BasaltException b && b.retriable())) {
                    if (cause instanceof RuntimeException r) {
                        throw r;
                    }
                    throw new IllegalStateException("committed offset lookup failed", cause);
                }
                log.info("Group {}: committed offsets of {} partitions not known yet ({}); asking again", groupId, waiting.size(),
                        cause.getMessage());
                if (time.monotonicMs() >= deadline) {
                    return false;
                }
            }
        }
    }

    private void cancelCommittedLookup() {
        if (committedLookup != null) {
            committedLookup.cancel(true);
            committedLookup = null;
        }
    }

    /** Whether {@code a} holds every partition of {@code b}, each with the same state object. */
    private static boolean covers(Map<TopicPartition, PartitionState> a, Map<TopicPartition, PartitionState> b) {
        for (Map.Entry<TopicPartition, PartitionState> e : b.entrySet()) {
            if (a.get(e.getKey()) != e.getValue()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Positions {@code asked} at the committed offsets {@code found} holds; the others had none
     * committed, and start where their reset policy says. Partitions the application positioned
     * meanwhile, or no longer assigned, are left alone.
     */
    private void applyCommitted(Map<TopicPartition, PartitionState> asked, Map<TopicPartition, OffsetAndMetadata> found) {
        for (Map.Entry<TopicPartition, PartitionState> a : asked.entrySet()) {
            TopicPartition tp = a.getKey();
            PartitionState s = subscriptions.get(tp);
            if (s == null || s != a.getValue() || !s.awaitingCommitted || s.position != null) {
                continue;
            }
            OffsetAndMetadata o = found.get(tp);
            if (o != null) {
                subscriptions.seek(tp, o.offset());
            } else {
                s.awaitingCommitted = false;
            }
        }
    }

    private void resolvePositions(long deadline) throws InterruptedException {
        resolvePositions(deadline, null);
    }

    /** Looks up the positions of the partitions that have none ({@code only}: of that one alone). */
    private void resolvePositions(long deadline, TopicPartition only) throws InterruptedException {
        Map<TopicPartition, Long> targets = new LinkedHashMap<>();
        boolean othersReadable = false;
        boolean awaiting = false;
        boolean resetsDue = false; // partitions that need only a reset: not held up by the committed lookup
        for (Map.Entry<TopicPartition, PartitionState> e : subscriptions.entries()) {
            PartitionState s = e.getValue();
            if (s.position != null) {
                othersReadable |= only == null && !s.paused;
            } else if (s.awaitingCommitted) {
                awaiting |= only == null || only.equals(e.getKey());
            } else {
                resetsDue |= only == null;
            }
        }
        if (awaiting) {
            long waitMs = Math.max(deadline - time.monotonicMs(), 0);
            if (!awaitCommitted(only, othersReadable || resetsDue ? Math.min(waitMs, COMMITTED_LOOKUP_WHILE_READING_MS) : waitMs)
                    && only != null) {
                throw new ClientTimeoutException("the committed offset of " + only + " in group " + groupId
                        + " is not known yet (the group coordinator has not answered)");
            }
        }
        for (Map.Entry<TopicPartition, PartitionState> e : subscriptions.entries()) {
            PartitionState s = e.getValue();
            if (s.position != null || s.awaitingCommitted) {
                continue;
            }
            if (only != null && !only.equals(e.getKey())) {
                continue;
            }
            ResetPolicy r = s.pendingReset != null ? s.pendingReset : defaultReset;
            if (r == ResetPolicy.NONE) {
                throw new OffsetOutOfRangeException("partition " + e.getKey() + " has no position and auto.offset.reset=none",
                        e.getKey(), -1);
            }
            targets.put(e.getKey(), r == ResetPolicy.EARLIEST ? OffsetLookup.EARLIEST : OffsetLookup.LATEST);
        }
        if (targets.isEmpty()) {
            return;
        }
        long timeoutMs = Math.max(deadline - time.monotonicMs(), 0);
        if (othersReadable) {
            // Found probing: one partition without a leader kept every partition of the topic
            // unread, each poll spending its whole time on that lookup.
            timeoutMs = Math.min(timeoutMs, POSITION_LOOKUP_WHILE_READING_MS);
        }
        Map<TopicPartition, OffsetLookup.Found> found = new LinkedHashMap<>();
        try {
            offsets.lookup(targets, Math.max(timeoutMs, 1), found);
        } catch (ClientTimeoutException e) {
            if (!othersReadable) {
                throw e;
            }
            // looked up again at the next poll; the partitions with a position are read meanwhile
        } catch (dev.basalt.client.UnknownTopicException e) {
            if (!subscribed || only != null) {
                throw e; // position(tp) must answer or fail, never return without a position
            }
            // The group assigned it from the coordinator's metadata: a topic deleted since is
            // revoked by the group, one created again is found by a later lookup. Not an error of
            // poll() (the subscription names topics, not partitions).
        } finally {
            found.forEach((tp, f) -> {
                PartitionState s = subscriptions.get(tp);
                if (s != null && s.position == null) {
                    s.position = f.offset();
                    s.pendingReset = null;
                    s.topicId = null;
                    s.topicGone = false;
                }
            });
        }
    }

    /** Handles the answers that already arrived, without waiting. */
    private void handleArrived() throws InterruptedException {
        // Bounded: at most Fetcher.FETCHES_PER_BROKER_MAX fetches per broker are outstanding, each of
        // at most one part per partition plus its end, so the queue holds few entries.
        for (Fetcher.Answer a = fetcher.take(0); a != null; a = fetcher.take(0)) {
            handle(a);
        }
    }

    /**
     * A position belongs to the topic it was read in: once a fetch carrying the id the broker
     * last confirmed for it was answered UNKNOWN_TOPIC_ID or UNKNOWN_TOPIC (that topic is gone:
     * ids never come back), or a fetch under another id of the same name was answered (the
     * refresh after the topic went had already found it created again), and the metadata shows
     * the name with another id (deleted and created again), the
     * position is reset by auto.offset.reset as for a new partition, and records of the old topic
     * still buffered are dropped. Found probing: a consumer kept reading the re-created topic
     * from its old position (150), so the new topic's first 150 records per partition were never
     * delivered, and the lag said 0. A position the application set (seek) or looked up since is
     * confirmed by its first answered fetch instead, whatever the metadata said before.
     */
    private void checkTopicIds() {
        Cluster cluster = metadata.current();
        for (Map.Entry<TopicPartition, PartitionState> e : subscriptions.entries()) {
            PartitionState s = e.getValue();
            if (!s.topicGone || s.position == null || fetcher.inFlight(e.getKey())) {
                continue;
            }
            TopicPartition tp = e.getKey();
            Cluster.TopicInfo info = cluster.topic(tp.topic());
            if (info == null || info.topicId().isEmpty() || info.topicId().equals(s.topicId)) {
                continue; // the metadata does not show the new topic yet: the refresh is under way
            }
            log.warn("Topic {} was deleted and created again (id {} -> {}): the position {} of {} belonged to the old topic;"
                    + " resetting it by auto.offset.reset={}", tp.topic(), s.topicId, info.topicId(), s.position, tp,
                    defaultReset.name().toLowerCase(java.util.Locale.ROOT));
            collector.drop(tp);
            subscriptions.requestReset(tp, defaultReset);
        }
    }

    /**
     * Whether checkTopicIds resets the partition's position at its next run: its topic is gone and
     * the metadata names another id. Not fetched meanwhile: an answer would only be dropped (found
     * by review: fetched again from collect()'s callback, a partition could keep the reset waiting,
     * checkTopicIds skipping it while a fetch was in flight).
     */
    private static boolean resetDue(TopicPartition tp, PartitionState s, Cluster cluster) {
        if (!s.topicGone) {
            return false;
        }
        Cluster.TopicInfo info = cluster.topic(tp.topic());
        return info != null && !info.topicId().isEmpty() && !info.topicId().equals(s.topicId);
    }

    private void sendFetches() {
        Cluster cluster = metadata.current();
        metadata.maybeRefreshStale();
        long now = time.monotonicMs();
        Map<Integer, Map<TopicPartition, Long>> byLeader = new HashMap<>();
        boolean missingLeader = false;
        for (Map.Entry<TopicPartition, PartitionState> e : subscriptions.entries()) {
            PartitionState s = e.getValue();
            if (s.paused || s.position == null || fetcher.inFlight(e.getKey()) || backingOff(e.getKey(), s, cluster, now)
                    || resetDue(e.getKey(), s, cluster)) {
                continue;
            }
            long fetchOffset = collector.nextFetchOffset(e.getKey(), s);
            if (fetchOffset < 0) {
                continue;
            }
            int leader = cluster.leaderFor(e.getKey());
            if (leader < 0) {
                missingLeader = true;
            }
            int node = readReplica(s, leader, cluster, now);
            if (node < 0) {
                continue;
            }
            Cluster.TopicInfo info = cluster.topic(e.getKey().topic());
            s.fetchTopicId = info == null ? "" : info.topicId(); // what Fetcher#send puts in the request
            byLeader.computeIfAbsent(node, k -> new LinkedHashMap<>()).put(e.getKey(), fetchOffset);
        }
        if (missingLeader) {
            awaitingMetadata.set(true);
            metadata.refresh();
        }
        byLeader.forEach((node, positions) -> {
            if (fetcher.canSendTo(node)) {
                Set<TopicPartition> verify = new HashSet<>();
                positions.keySet().forEach(tp -> {
                    PartitionState s = subscriptions.get(tp);
                    if (s != null && s.crcFailedAt >= 0) {
                        verify.add(tp);
                    }
                });
                fetcher.send(node, cluster.broker(node), positions, verify, cluster);
            }
        });
    }

    /**
     * After a retriable error a partition waits retry.backoff.ms before fetching again, so that a
     * broker answering NOT_LEADER at once is not asked again in a loop, unless the metadata
     * already names a newer leader than the one that failed.
     */
    private static boolean backingOff(TopicPartition tp, PartitionState s, Cluster cluster, long now) {
        return now < s.fetchBackoffUntilMs && (s.failedLeaderEpoch < 0 || cluster.leaderEpochFor(tp) <= s.failedLeaderEpoch);
    }

    private void backOff(TopicPartition tp, PartitionState s) {
        s.fetchBackoffUntilMs = time.monotonicMs() + retryBackoffMs;
        s.failedLeaderEpoch = metadata.current().leaderEpochFor(tp);
        awaitingMetadata.set(true);
        metadata.refresh();
    }

    /**
     * The broker to fetch a partition from: its preferred read replica while the leader's advice
     * is fresh (metadata.max.age.ms) and the replica is a live broker, else the leader (-1 when
     * neither is known).
     */
    private int readReplica(PartitionState s, int leader, Cluster cluster, long now) {
        if (s.preferredReplica >= 0) {
            if (now < s.preferredUntilMs && cluster.broker(s.preferredReplica) != null) {
                return s.preferredReplica;
            }
            s.preferredReplica = -1;
        }
        return leader;
    }

    private void handle(Fetcher.Answer a) {
        if (a.node() < 0 || (a.response() == null && a.error() == null)) {
            return; // wakeup marker, or the end of a fetch whose parts were handled
        }
        if (a.error() != null) {
            // the broker is unreachable: partitions read from it as a follower go back to their
            // leader; those it leads wait for metadata that names a new leader
            a.offsets().keySet().forEach(tp -> {
                PartitionState s = subscriptions.get(tp);
                if (s != null && !fallBackToLeader(s, a.node())) {
                    backOff(tp, s);
                }
            });
            metadata.refresh();
            return;
        }
        FetchResponse r = a.response();
        if (r.getErrorCode() != ErrorCode.NONE) {
            BasaltException e = Errors.forCode(r.getErrorCode(), r.getErrorMessage(), "fetch from broker " + a.node());
            boolean followerFailed = false;
            for (TopicPartition tp : a.offsets().keySet()) {
                PartitionState s = subscriptions.get(tp);
                followerFailed |= s != null && fallBackToLeader(s, a.node());
            }
            if (!e.retriable() && !followerFailed) {
                pendingError = e;
            }
            return;
        }
        Fetcher.byPartition(r).forEach((tp, p) -> handlePartition(tp, a.offsets().get(tp), p, a.node()));
    }

    /** If the partition was being read from this node as its preferred replica, reads go back to the leader; returns true then. */
    private static boolean fallBackToLeader(PartitionState s, int node) {
        if (s.preferredReplica >= 0 && s.preferredReplica == node) {
            s.preferredReplica = -1;
            return true;
        }
        return false;
    }

    private void handlePartition(TopicPartition tp, Long askedOffset, FetchResponse.PartitionResponse p, int node) {
        PartitionState s = subscriptions.get(tp);
        if (s == null || askedOffset == null || s.position == null || collector.nextFetchOffset(tp, s) != askedOffset) {
            return; // unassigned, moved by seek, or no longer next after the buffered data: stale
        }
        ErrorCode code = p.getErrorCode();
        if (code != ErrorCode.CORRUPT_STORED_DATA) {
            s.corruptOffset = -1; // the 2 s are of CORRUPT_STORED_DATA answers without another answer between
        }
        boolean fetchedById = s.fetchTopicId != null && !s.fetchTopicId.isEmpty();
        if (code == ErrorCode.NONE && fetchedById && s.topicId != null && !s.topicId.equals(s.fetchTopicId)) {
            // The position was read in another topic of this name: the one it belongs to was deleted
            // and the name created again (the fetch that saw it gone was answered UNKNOWN_TOPIC, and
            // the refresh that followed already found the new topic). Not a position in this topic:
            // nothing of this answer is delivered, and checkTopicIds resets the position.
            s.topicGone = true;
            return;
        }
        if (code == ErrorCode.NONE && fetchedById) {
            s.topicId = s.fetchTopicId; // the broker read the position in this topic
            s.topicGone = false;
        } else if ((code == ErrorCode.UNKNOWN_TOPIC_ID || code == ErrorCode.UNKNOWN_TOPIC) && s.topicId != null
                && s.topicId.equals(s.fetchTopicId)) {
            s.topicGone = true; // the topic the position belongs to may be deleted (see checkTopicIds)
        }
        if (code != ErrorCode.NONE && fallBackToLeader(s, node)) {
            // KIP-392: any error from the follower (out of range because it lags, not a replica
            // any more, an epoch it has not seen yet) sends the partition back to its leader,
            // which decides, and may name a follower again; the position stays where it is
            return;
        }
        if (code == ErrorCode.NONE) {
            if (p.hasPreferredReadReplica() && s.preferredReplica != node) {
                int replica = p.getPreferredReadReplica();
                s.preferredReplica = replica == node ? -1 : replica;
                s.preferredUntilMs = time.monotonicMs() + preferredReplicaMaxAgeMs;
            }
            s.highWatermark = p.getHighWatermark();
            s.logStartOffset = p.getLogStartOffset();
            if (!p.getRecords().isEmpty()) {
                collector.add(tp, new FetchBuffer(tp, askedOffset, p.getRecords().asReadOnlyByteBuffer(), checkCrcs));
            }
        } else if (code == ErrorCode.OFFSET_OUT_OF_RANGE) {
            if (askedOffset != s.position.longValue()) {
                // a fetch ahead ran past the log (it was truncated or the data deleted meanwhile):
                // deliver what is buffered, then the fetch from the position will tell
                return;
            }
            if (defaultReset == ResetPolicy.NONE) {
                pendingError = new OffsetOutOfRangeException("offset " + askedOffset + " of " + tp + " is out of range [log start "
                        + p.getLogStartOffset() + ", high watermark " + p.getHighWatermark() + "] and auto.offset.reset=none",
                        tp, askedOffset);
            } else {
                s.position = null;
                s.pendingReset = defaultReset;
            }
        } else if (Errors.isRetriable(code) || Errors.needsMetadataRefresh(code)) {
            if (code == ErrorCode.CORRUPT_STORED_DATA) {
                noteCorruptStoredData(tp, s, askedOffset, p.getErrorMessage());
            }
            backOff(tp, s);
            if (p.hasLeaderIdHint()) { // after backOff noted the failed epoch: a newer hinted leader ends the wait
                metadata.applyLeaderHint(tp, p.getLeaderIdHint(), p.hasLeaderEpochHint() ? p.getLeaderEpochHint() : -1);
            }
        } else {
            pendingError = Errors.forCode(code, p.getErrorMessage(), "fetch of " + tp);
        }
    }

    /**
     * CORRUPT_STORED_DATA is retried: a replica that finds its copy corrupt hands leadership to a
     * healthy one within moments, and the reads go there. One that keeps answering it for
     * {@link #CORRUPT_STORED_DATA_RETRY_MS} holds the only in-sync copy, and those offsets are lost:
     * poll() then throws {@link StorageException} naming the partition and offset (and keeps
     * retrying after, in case a copy comes back), rather than returning nothing forever.
     */
    private void noteCorruptStoredData(TopicPartition tp, PartitionState s, long askedOffset, String message) {
        long now = time.monotonicMs();
        if (s.corruptOffset != askedOffset) {
            s.corruptOffset = askedOffset;
            s.corruptSinceMs = now;
        } else if (now - s.corruptSinceMs >= CORRUPT_STORED_DATA_RETRY_MS) {
            s.corruptSinceMs = now;
            pendingError = Errors.forCode(ErrorCode.CORRUPT_STORED_DATA, message, "fetch of " + tp + " at offset " + askedOffset
                    + " (answered for " + CORRUPT_STORED_DATA_RETRY_MS + " ms: the records there are unreadable on every in-sync copy)");
        }
    }

    private void acquire() {
        if (closed) {
            throw new IllegalStateException("consumer is closed");
        }
        @SuppressWarnings("deprecation") // Thread.threadId() is JDK 19+; the build targets 17
        long me = Thread.currentThread().getId();
        if (owner.get() != me && !owner.compareAndSet(-1, me)) {
            throw new ConcurrentModificationException("a Consumer is not safe for use by several threads at once");
        }
        depth++;
    }

    private void release() {
        if (--depth == 0) {
            owner.set(-1);
        }
    }

    private static DefiniteException interrupted(InterruptedException e) {
        Thread.currentThread().interrupt();
        return new DefiniteException("interrupted", false, e);
    }

    /**
     * This consumer's fetch totals and lag (docs/client.md): {@code fetch-total},
     * {@code records-fetched-total}, {@code records-fetched-rate}, {@code bytes-fetched-total},
     * {@code bytes-fetched-rate}, {@code fetch-latency-avg-ms}, {@code fetch-latency-max-ms},
     * {@code records-lag-max} and {@code records-lag-sum} (high watermark minus the offset after
     * the latest answer's records, per partition fetched). Any thread.
     */
    public Map<String, Double> metrics() {
        return fetcher.stats().snapshot(time.monotonicMs());
    }

    /**
     * Commits the positions (with auto-commit), revokes the partitions, leaves the group at once (a
     * static member leaves for a restart: its partitions wait for it for the session timeout), and
     * closes the connections. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        // Another thread inside the consumer (a poll): ConcurrentModificationException, and the
        // consumer is left as it is, as Kafka's close does. (Found probing: close went ahead from
        // the finally block, and the blocked poll failed with an executor's internal error.)
        acquire();
        try {
            if (subscribed) {
                acquire();
                try {
                    Set<TopicPartition> owned = new LinkedHashSet<>(subscriptions.partitions());
                    if (membership.isLost()) {
                        // fenced, or left on max.poll.interval.ms: the partitions may be another
                        // member's already; nothing to commit (it would be refused)
                        drop(owned);
                        if (!owned.isEmpty()) {
                            runListener(() -> listener.onPartitionsLost(owned), null);
                        }
                    } else {
                        // an error is ignored: closing anyway, and the coordinator moves the partitions when we leave
                        revoke(owned);
                    }
                } finally {
                    release();
                }
            }
        } finally {
            closed = true;
            // commitAsync calls still queued are sent while this consumer is still a member: the
            // leave first made the coordinator refuse them (UNKNOWN_MEMBER_ID), and a restarted
            // consumer read those records again (found probing: 3,312 of 3,812)
            commitThread.shutdown();
            try {
                commitThread.awaitTermination(defaultApiTimeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (membership != null) {
                membership.close();
            }
            runCompletedCommits();
            fetcher.close();
            if (committedLookups != null) {
                committedLookups.shutdownNow();
                try {
                    // before the channels close: an interrupted lookup must not open one after
                    committedLookups.awaitTermination(1, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            channels.close(5_000);
            release();
        }
    }

    // ------------------------------------------------------------------ groups

    /** Joins the group with these topics (by name). */
    public void subscribe(Collection<String> topics) {
        subscribe(topics, ConsumerRebalanceListener.NONE);
    }

    public void subscribe(Collection<String> topics, ConsumerRebalanceListener listener) {
        for (String t : topics) {
            String bad = dev.basalt.common.TopicNames.validate(t);
            if (bad != null) {
                throw new InvalidTopicException(bad);
            }
        }
        startSubscription(List.copyOf(new java.util.TreeSet<>(topics)), null, listener);
    }

    /** Joins the group with every topic whose whole name matches (evaluated by the coordinator; new topics are picked up). */
    public void subscribe(java.util.regex.Pattern pattern, ConsumerRebalanceListener listener) {
        startSubscription(null, pattern.pattern(), listener);
    }

    private void startSubscription(List<String> names, String regex, ConsumerRebalanceListener l) {
        acquire();
        try {
            if (membership == null) {
                throw new IllegalStateException("subscribe needs group.id");
            }
            if (!subscribed && !subscriptions.partitions().isEmpty()) {
                throw new IllegalStateException("this consumer uses assign(): subscribe is not allowed");
            }
            subscribed = true;
            listener = l == null ? ConsumerRebalanceListener.NONE : l;
            nextAutoCommitMs = time.monotonicMs() + autoCommitIntervalMs;
            membership.subscribe(names, regex);
        } finally {
            release();
        }
    }

    /**
     * Asks the group for a new assignment, as Kafka's {@code enforceRebalance}: the next heartbeat
     * (sent at once; this call does not block) asks the coordinator to recompute the group's target
     * assignment with its assignor, under a new group epoch. Any change is then reconciled by
     * {@link #poll} as usual (revoked partitions are committed first, the listener is told), and
     * members whose partitions do not move keep consuming. Basalt's assignors are server-side and
     * sticky, computed from the members' subscriptions and the topics, which every heartbeat already
     * compares: the recomputed target differs only when those inputs changed, so partitions rarely
     * move. The coordinator ignores the request while the group is reconciling (a rebalance is in
     * progress already); the request is retried until a heartbeat carrying it is answered.
     *
     * @throws IllegalStateException the consumer did not {@link #subscribe}
     */
    public void enforceRebalance() {
        acquire();
        try {
            if (!subscribed) {
                throw new IllegalStateException("enforceRebalance() needs a group subscription (subscribe), not assign()");
            }
            membership.requestRebalance();
        } finally {
            release();
        }
    }

    /** The group's member id of this consumer (empty without a group). */
    public String memberId() {
        return membership == null ? "" : membership.memberId();
    }

    /**
     * Applies what the coordinator decided: revoke first (and tell the coordinator at once), then
     * take the new partitions, then acknowledge. A failed commit or a listener that throws does not
     * stop the reconciliation half-way (the coordinator would wait for a revocation that never comes):
     * the first such error is thrown once the member's state is acknowledged.
     */
    private void reconcile() {
        GroupMembership.Reconciliation r = membership.poll();
        if (r == null) {
            return;
        }
        Set<TopicPartition> owned = new LinkedHashSet<>(subscriptions.partitions());
        if (r.lost()) {
            drop(owned);
            RuntimeException failure = null;
            if (!owned.isEmpty()) {
                failure = runListener(() -> listener.onPartitionsLost(owned), null);
            }
            membership.acknowledge(Set.of(), true);
            throwIfFailed(failure);
            return;
        }
        Set<TopicPartition> revoked = new LinkedHashSet<>(owned);
        revoked.removeAll(r.target());
        RuntimeException failure = null;
        if (!revoked.isEmpty()) {
            failure = revoke(revoked);
            membership.revoked(new LinkedHashSet<>(subscriptions.partitions()));
        }
        Set<TopicPartition> added = new LinkedHashSet<>(r.target());
        added.removeAll(owned);
        if (!added.isEmpty()) {
            Set<TopicPartition> all = new LinkedHashSet<>(subscriptions.partitions());
            all.addAll(added);
            subscriptions.assign(all);
            Set<String> topics = new LinkedHashSet<>();
            all.forEach(tp -> topics.add(tp.topic()));
            if (metadata.track(topics)) {
                metadata.refresh();
            }
            // Their committed offsets are looked up by this poll's resolvePositions, within the
            // poll's time, on the lookup thread that later polls (or position()) wait on, as
            // Kafka's poll does: the listener below runs before they are known (position() there
            // waits for them; a seek() there wins over them). Before, this looked them up
            // synchronously for up to default.api.timeout.ms, so a poll(100 ms) right after a
            // rebalance could block for a minute while the coordinator was unreachable.
            for (TopicPartition tp : added) {
                subscriptions.state(tp).awaitingCommitted = true;
            }
            failure = runListener(() -> listener.onPartitionsAssigned(added), failure);
        }
        membership.acknowledge(new LinkedHashSet<>(subscriptions.partitions()), false);
        throwIfFailed(failure);
    }

    /** Runs a rebalance listener callback; returns the first failure so far. */
    private static RuntimeException runListener(Runnable callback, RuntimeException failure) {
        try {
            callback.run();
        } catch (RuntimeException e) {
            return failure != null ? failure : e;
        }
        return failure;
    }

    private static void throwIfFailed(RuntimeException failure) {
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Commits (with auto-commit) and revokes: the partitions stop being consumed before the
     * coordinator hears. The listener runs and the partitions are dropped even when the commit
     * fails (the next owner then starts from the last successful commit); returns the first error.
     */
    private RuntimeException revoke(Set<TopicPartition> revoked) {
        if (revoked.isEmpty()) {
            return null;
        }
        RuntimeException failure = null;
        try {
            if (autoCommit) {
                Map<TopicPartition, OffsetAndMetadata> offsets = new LinkedHashMap<>();
                for (TopicPartition tp : revoked) {
                    PartitionState s = subscriptions.get(tp);
                    if (s != null && s.position != null) {
                        offsets.put(tp, new OffsetAndMetadata(s.position));
                    }
                }
                if (!offsets.isEmpty()) {
                    commit(offsets, defaultApiTimeoutMs);
                }
            }
        } catch (dev.basalt.client.UnknownTopicException | dev.basalt.client.InvalidPartitionException e) {
            // the topic was deleted (that is why its partitions are revoked): nothing to commit, not an error of poll()
        } catch (RuntimeException e) {
            failure = e;
        }
        failure = runListener(() -> listener.onPartitionsRevoked(revoked), failure);
        drop(revoked);
        return failure;
    }

    private void drop(Set<TopicPartition> partitions) {
        Set<TopicPartition> keep = new LinkedHashSet<>(subscriptions.partitions());
        keep.removeAll(partitions);
        subscriptions.assign(keep);
        collector.retain(keep);
    }

    private void maybeAutoCommit() {
        if (!autoCommit || time.monotonicMs() < nextAutoCommitMs) {
            return;
        }
        nextAutoCommitMs = time.monotonicMs() + autoCommitIntervalMs;
        Map<TopicPartition, OffsetAndMetadata> offsets = currentPositions();
        if (!offsets.isEmpty()) {
            commitAsyncInternal(offsets, null);
        }
    }

    private Map<TopicPartition, OffsetAndMetadata> currentPositions() {
        Map<TopicPartition, OffsetAndMetadata> out = new LinkedHashMap<>();
        subscriptions.positions().forEach((tp, pos) -> out.put(tp, new OffsetAndMetadata(pos)));
        return out;
    }

    /** Commits the positions of every assigned partition, waiting up to default.api.timeout.ms. */
    public void commitSync() {
        acquire();
        try {
            commit(currentPositions(), defaultApiTimeoutMs);
        } finally {
            release();
        }
    }

    /** Commits these offsets (the next offsets to read), waiting up to default.api.timeout.ms. */
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
        acquire();
        try {
            commit(offsets, defaultApiTimeoutMs);
        } finally {
            release();
        }
    }

    public void commitAsync() {
        commitAsync(null);
    }

    public void commitAsync(OffsetCommitCallback callback) {
        acquire();
        try {
            commitAsyncInternal(currentPositions(), callback);
        } finally {
            release();
        }
    }

    public void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
        acquire();
        try {
            commitAsyncInternal(Map.copyOf(offsets), callback);
        } finally {
            release();
        }
    }

    private void commitAsyncInternal(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
        requireGroup();
        // An async commit is not sent again on a stale epoch: by then the poll thread may have revoked
        // the partitions (and their new owner committed further).
        java.util.concurrent.CompletableFuture.runAsync(() -> commit(offsets, defaultApiTimeoutMs, false), commitThread).whenComplete((v, e) -> {
            if (callback != null) {
                Exception ex = e == null ? null : (e.getCause() instanceof Exception c ? c : new DefiniteException(e.toString(), false));
                completedCommits.add(() -> callback.onComplete(offsets, ex));
            }
        });
    }

    private void runCompletedCommits() {
        for (Runnable r = completedCommits.poll(); r != null; r = completedCommits.poll()) {
            r.run();
        }
    }

    private void requireGroup() {
        if (membership == null) {
            throw new IllegalStateException("commits need group.id");
        }
    }

    /**
     * One commit, retried while the coordinator moves (NOT_COORDINATOR, loading) until the timeout.
     * Thread-safe (commitAsync runs it on another thread).
     */
    private void commit(Map<TopicPartition, OffsetAndMetadata> offsets, long timeoutMs) {
        commit(offsets, timeoutMs, subscriptions.partitions().containsAll(offsets.keySet()));
    }

    /** @param owned whether this consumer owned every committed partition when the commit was made (the caller's thread) */
    private void commit(Map<TopicPartition, OffsetAndMetadata> offsets, long timeoutMs, boolean owned) {
        requireGroup();
        if (!Thread.currentThread().getName().equals("basalt-consumer-commit")) {
            // after every commit submitted before it
            java.util.concurrent.Future<?> f = commitThread.submit(() -> commit(offsets, timeoutMs, owned));
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw new UnknownServerException("offset commit failed: " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DefiniteException("interrupted", false, e);
            }
            return;
        }
        if (offsets.isEmpty()) {
            // Nothing to commit (no partition assigned yet): nothing is sent, as Kafka's. Found
            // probing: commitSync() before the first assignment threw CommitFailedException
            // (GROUP_ID_NOT_FOUND, UNKNOWN_MEMBER_ID) for an empty commit.
            return;
        }
        long deadline = time.monotonicMs() + timeoutMs;
        dev.basalt.proto.v1.OffsetCommitRequest.Builder b = dev.basalt.proto.v1.OffsetCommitRequest.newBuilder().setGroupId(groupId);
        offsets.forEach((tp, o) -> b.addPartitions(dev.basalt.proto.v1.OffsetCommitRequest.Partition.newBuilder().setTopic(tp.topic())
                .setPartition(tp.partition()).setOffset(o.offset()).setLeaderEpoch(-1).setMetadata(o.metadata())));
        while (true) {
            boolean member = subscribed;
            b.setMemberId(member ? membership.memberId() : "").setMemberEpoch(member ? membership.memberEpoch() : -1);
            dev.basalt.proto.v1.OffsetCommitResponse r;
            try {
                HostPort at = membership.coordinator();
                log.debug("Group {}: offset commit sent to coordinator {}", groupId, at);
                r = awaitAtCoordinator(dev.basalt.proto.v1.GroupServiceGrpc.newFutureStub(channels.channel(at))
                        .withDeadlineAfter(Math.max(1, deadline - time.monotonicMs()), java.util.concurrent.TimeUnit.MILLISECONDS)
                        .offsetCommit(b.build()), at);
                if (r == null) {
                    log.debug("Group {}: the group moved while the offset commit waited at {}; sending it again", groupId, at);
                    continue; // the group moved while the commit waited: sent again at its new coordinator
                }
            } catch (RuntimeException e) {
                log.debug("Group {}: offset commit failed ({}); finding the coordinator again", groupId, e.toString());
                membership.coordinatorMoved();
                if (time.monotonicMs() >= deadline) {
                    throw new ClientTimeoutException("offset commit of group " + groupId + " did not complete in " + timeoutMs + " ms: " + e);
                }
                sleepQuietly(retryBackoffMs);
                continue;
            }
            ErrorCode code = r.getErrorCode();
            if (code == ErrorCode.NONE) {
                for (dev.basalt.proto.v1.OffsetCommitResponse.PartitionResult p : r.getPartitionsList()) {
                    if (p.getErrorCode() != ErrorCode.NONE) {
                        throw Errors.forCode(p.getErrorCode(), "", "offset commit of " + p.getTopic() + "-" + p.getPartition());
                    }
                }
                return;
            }
            if (code == ErrorCode.STALE_MEMBER_EPOCH && member && owned && awaitNewEpoch(b.getMemberEpoch(), deadline)) {
                // A rebalance moved this member's epoch under the commit while it still owned what
                // it commits; the heartbeat thread has learnt the new epoch, and the commit goes
                // again with it, as KIP-848's consumer does. Found probing: a live member's
                // commitSync threw CommitFailedException in an ordinary rebalance.
                continue;
            }
            if (code == ErrorCode.STALE_MEMBER_EPOCH || code == ErrorCode.UNKNOWN_MEMBER_ID || code == ErrorCode.NON_EMPTY_GROUP
                    || code == ErrorCode.GROUP_ID_NOT_FOUND) {
                throw new CommitFailedException("offset commit of group " + groupId + " refused: " + code + " (" + r.getErrorMessage() + ")");
            }
            if (code == ErrorCode.NOT_COORDINATOR || code == ErrorCode.COORDINATOR_NOT_AVAILABLE
                    || code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || code == ErrorCode.REQUEST_TIMED_OUT) {
                log.debug("Group {}: offset commit answered {} ({})", groupId, code, r.getErrorMessage());
                membership.coordinatorMoved();
                if (time.monotonicMs() >= deadline) {
                    throw new ClientTimeoutException("offset commit of group " + groupId + ": " + code + " until the timeout");
                }
                sleepQuietly(retryBackoffMs);
                continue;
            }
            throw Errors.forCode(code, r.getErrorMessage(), "offset commit of group " + groupId);
        }
    }

    /**
     * How long an offset commit or fetch waits at the coordinator before this consumer asks the
     * brokers whether the group has moved, and again every as long while it waits. A coordinator
     * that stops answering with its connection open (paused, cut off) would otherwise hold the
     * call for its whole timeout after the cluster had moved the group elsewhere (found probing:
     * commits waited out 10 s while the new coordinator had answered for 8.5 s).
     */
    static final long COORDINATOR_STALL_CHECK_MS = 500;

    /**
     * Waits for {@code call} at {@code at}; while it is unanswered, asks every
     * {@link #COORDINATOR_STALL_CHECK_MS} which broker coordinates the group now. When another
     * does, the call is cancelled and null returned: the caller sends it again there (a commit of
     * the same offsets, or a read: both safe to repeat). A failed lookup changes nothing.
     *
     * @throws RuntimeException the call's own failure (a StatusRuntimeException)
     */
    private <R> R awaitAtCoordinator(com.google.common.util.concurrent.ListenableFuture<R> call, HostPort at) {
        try {
            while (true) {
                try {
                    return call.get(COORDINATOR_STALL_CHECK_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException stillWaiting) {
                    HostPort now = membership.knownCoordinator(); // the heartbeat may have seen the move already
                    if (now == null || now.equals(at)) {
                        try {
                            now = membership.coordinatorNow();
                        } catch (RuntimeException lookupFailed) {
                            continue;
                        }
                    }
                    if (!now.equals(at)) {
                        call.cancel(true);
                        return null;
                    }
                }
            }
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new UnknownServerException(String.valueOf(e.getCause()), e.getCause());
        } catch (InterruptedException e) {
            call.cancel(true);
            Thread.currentThread().interrupt();
            throw new DefiniteException("interrupted", false, e);
        }
    }

    /** How long a commit refused with STALE_MEMBER_EPOCH waits for the heartbeat answer carrying the new epoch. */
    static final long STALE_EPOCH_WAIT_MS = 2_000;

    /** Whether the member's epoch moves off {@code sent} within {@link #STALE_EPOCH_WAIT_MS} (and before {@code deadline}). */
    private boolean awaitNewEpoch(int sent, long deadline) {
        long until = Math.min(deadline, time.monotonicMs() + STALE_EPOCH_WAIT_MS);
        while (membership.memberEpoch() == sent && time.monotonicMs() < until) {
            sleepQuietly(Math.min(20, Math.max(1, until - time.monotonicMs())));
        }
        return membership.memberEpoch() != sent && membership.memberEpoch() > 0;
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DefiniteException("interrupted", false, e);
        }
    }

    /** The group's committed offsets of these partitions (absent: none committed). */
    public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions) {
        acquire();
        try {
            return committed(partitions, defaultApiTimeoutMs);
        } finally {
            release();
        }
    }

    private Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions, long timeoutMs) {
        requireGroup();
        long deadline = time.monotonicMs() + timeoutMs;
        Map<String, List<Integer>> byTopic = new LinkedHashMap<>();
        partitions.forEach(tp -> byTopic.computeIfAbsent(tp.topic(), t -> new ArrayList<>()).add(tp.partition()));
        dev.basalt.proto.v1.OffsetFetchRequest.Builder b = dev.basalt.proto.v1.OffsetFetchRequest.newBuilder().setGroupId(groupId);
        byTopic.forEach((t, ps) -> b.addPartitions(dev.basalt.proto.v1.TopicPartitions.newBuilder().setTopic(t).addAllPartitions(ps)));
        while (true) {
            // an admin-style read: positions of newly assigned partitions must not fail on an epoch
            // that moved on between the assignment and this read
            dev.basalt.proto.v1.OffsetFetchResponse r;
            try {
                HostPort at = membership.coordinator();
                r = awaitAtCoordinator(dev.basalt.proto.v1.GroupServiceGrpc.newFutureStub(channels.channel(at))
                        .withDeadlineAfter(Math.max(1, deadline - time.monotonicMs()), java.util.concurrent.TimeUnit.MILLISECONDS)
                        .offsetFetch(b.build()), at);
                if (r == null) {
                    continue; // the group moved while the read waited: asked again at its new coordinator
                }
            } catch (RuntimeException e) {
                if (Thread.currentThread().isInterrupted()) {
                    throw e; // a lookup cancelled (replaced, or the consumer closing): not the coordinator's doing
                }
                membership.coordinatorMoved();
                if (time.monotonicMs() >= deadline) {
                    throw new ClientTimeoutException("offset fetch of group " + groupId + " did not complete in " + timeoutMs + " ms: " + e);
                }
                sleepQuietly(retryBackoffMs);
                continue;
            }
            if (r.getErrorCode() == ErrorCode.NONE) {
                Map<TopicPartition, OffsetAndMetadata> out = new LinkedHashMap<>();
                r.getPartitionsList().forEach(p -> {
                    if (p.getOffset() >= 0) {
                        out.put(new TopicPartition(p.getTopic(), p.getPartition()), new OffsetAndMetadata(p.getOffset(), p.getMetadata()));
                    }
                });
                return out;
            }
            if (Errors.isRetriable(r.getErrorCode()) || r.getErrorCode() == ErrorCode.NOT_COORDINATOR
                    || r.getErrorCode() == ErrorCode.COORDINATOR_NOT_AVAILABLE || r.getErrorCode() == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
                membership.coordinatorMoved();
                if (time.monotonicMs() >= deadline) {
                    throw new ClientTimeoutException("offset fetch of group " + groupId + ": " + r.getErrorCode() + " until the timeout");
                }
                sleepQuietly(retryBackoffMs);
                continue;
            }
            throw Errors.forCode(r.getErrorCode(), r.getErrorMessage(), "offset fetch of group " + groupId);
        }
    }
}
