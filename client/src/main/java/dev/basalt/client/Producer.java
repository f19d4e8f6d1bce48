package dev.basalt.client;

import dev.basalt.client.internal.BufferPool;
import dev.basalt.common.TopicNames;
import dev.basalt.client.internal.ChannelPool;
import dev.basalt.client.internal.Cluster;
import dev.basalt.client.internal.ConfigDef;
import dev.basalt.client.internal.HostPort;
import dev.basalt.client.internal.MetadataManager;
import dev.basalt.client.internal.RecordAccumulator;
import dev.basalt.client.internal.Sender;
import dev.basalt.client.internal.StickyPartitionCache;
import dev.basalt.client.internal.Time;
import dev.basalt.client.serialization.Serializer;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends records to Basalt topics. {@link #send} serializes the record, picks its partition
 * (explicit; else murmur2 of the key as Kafka's default partitioner; else sticky for keyless
 * records), appends it to that partition's open batch and returns at once with a future; a
 * background sender thread ships batches when they are full ({@code batch.size}) or have
 * waited {@code linger.ms}, retries retriable failures with exponential backoff, and completes
 * the futures. Memory for batches is bounded by {@code buffer.memory}: when it is used up,
 * {@code send} blocks up to {@code max.block.ms} and then fails with
 * {@link BufferExhaustedException}.
 *
 * <p>Failures arrive through the future as typed exceptions: a {@link DefiniteException} means
 * the record was not written; an {@link IndeterminateException} means it may have been (the
 * answer was lost, or an earlier attempt timed out).
 *
 * <p>Idempotence ({@code enable.idempotence}, on by default with acks=all): the producer takes a
 * producer id and epoch from the cluster and stamps every batch with a per-partition sequence, so
 * a retry of a batch the leader already stored (its answer was lost, or the leader failed over
 * after replicating it) is recognised and answered with the original offsets: no record is written
 * twice and none is reordered. When a batch fails (its outcome unknown at {@code delivery.timeout.ms},
 * or refused), the producer bumps its epoch (KIP-360) once every batch in flight is resolved
 * and carries on with sequence 0; a batch that expired while its request was unanswered counts once
 * the answer comes, and not at all if it says the batch was written. Without idempotence, a record
 * whose first attempt was lost mid-request may be written twice.
 *
 * <p>{@code delivery.timeout.ms} bounds a record's {@code send} to its outcome, retries and
 * requests in flight included: a batch still unanswered at its deadline fails then, as
 * indeterminate (it may still be committed), and no request gives the broker more time to wait for
 * its ISR than its batches have left (docs/client.md has the slack).
 *
 * <p>Ordering: records of one partition are written in send order, retries and leader changes
 * included: a partition has at most one request in flight, and a retried batch goes back to the
 * head of its partition's queue, so it is sent (to whichever broker leads then) before any later
 * batch of that partition. (gRPC may serve concurrent calls to one broker in any order, so
 * pipelining one partition's batches would not preserve order.) max.in.flight.requests.per.connection
 * bounds the requests in flight per broker, each carrying batches of different partitions. The
 * exception, without idempotence: a batch whose attempt was indeterminate is sent again and may be
 * written twice. With idempotence a retried batch is sent alone (the leader recognises any batch
 * of the producer's last 5 payloads in a partition).
 *
 * <p>Leadership changes: NOT_LEADER, FENCED_LEADER_EPOCH, NOT_ENOUGH_REPLICAS and the other
 * retriable errors, and lost connections, refresh the metadata (applying a broker's leader hint
 * at once) and resend within {@code retries} and {@code delivery.timeout.ms}, with backoff
 * {@code retry.backoff.ms} doubling up to {@code retry.backoff.max.ms}; a batch refused for
 * leadership is resent without waiting once the metadata names a newer leader. docs/client.md
 * has the full state diagram.
 *
 * <p>Thread-safety: thread-safe; share one producer between threads.
 */
public final class Producer<K, V> implements AutoCloseable {
    private final Serializer<K> keySerializer;
    private final Serializer<V> valueSerializer;
    private final ChannelPool channels;
    private final MetadataManager metadata;
    private final BufferPool pool;
    private final RecordAccumulator accumulator;
    private final Sender sender;
    private final Thread senderThread;
    private final StickyPartitionCache sticky;
    private final Time time;
    private final long maxBlockMs;
    private final int requestSizeBytesMax;
    /** Sends to a partition beyond the known count ask for fresh metadata at most this often. */
    static final long MISSING_PARTITION_REFRESH_INTERVAL_MS = 100;
    private volatile long missingPartitionRefreshMs = Long.MIN_VALUE / 2;
    private final String clientId;
    private volatile boolean closed;

    public Producer(Map<String, ?> configs) {
        this(configs, null, null);
    }

    public Producer(Properties props) {
        this(toMap(props), null, null);
    }

    /** Serializers given here take precedence over key.serializer / value.serializer. */
    public Producer(Map<String, ?> configs, Serializer<K> keySerializer, Serializer<V> valueSerializer) {
        this(ProducerConfig.parse(configs), keySerializer, valueSerializer, Time.SYSTEM);
    }

    Producer(ConfigDef.Parsed c, Serializer<K> keySerializer, Serializer<V> valueSerializer, Time time) {
        this.time = time;
        this.keySerializer = Plugins.serializer(keySerializer, c.getObject(ProducerConfig.KEY_SERIALIZER), ProducerConfig.KEY_SERIALIZER);
        this.valueSerializer = Plugins.serializer(valueSerializer, c.getObject(ProducerConfig.VALUE_SERIALIZER),
                ProducerConfig.VALUE_SERIALIZER);
        this.maxBlockMs = c.getLong(ProducerConfig.MAX_BLOCK_MS);
        this.requestSizeBytesMax = c.getInt(ProducerConfig.MAX_REQUEST_SIZE);
        this.clientId = c.getString(ProducerConfig.CLIENT_ID);
        List<HostPort> bootstrap = HostPort.parseList(c.getList(ProducerConfig.BOOTSTRAP_SERVERS), ProducerConfig.BOOTSTRAP_SERVERS);
        this.channels = CommonClientConfigs.channelPool(c);
        int requestTimeoutMs = c.getInt(ProducerConfig.REQUEST_TIMEOUT_MS);
        long backoffMs = c.getLong(ProducerConfig.RETRY_BACKOFF_MS);
        this.metadata = new MetadataManager(channels, bootstrap, requestTimeoutMs, backoffMs,
                c.getLong(ProducerConfig.METADATA_MAX_AGE_MS), time);
        int batchSize = Math.max(1, c.getInt(ProducerConfig.BATCH_SIZE));
        this.pool = new BufferPool(c.getLong(ProducerConfig.BUFFER_MEMORY), Math.max(batchSize, 64));
        this.accumulator = new RecordAccumulator(pool, batchSize, c.getLong(ProducerConfig.LINGER_MS),
                c.getInt(ProducerConfig.DELIVERY_TIMEOUT_MS));
        SplittableRandom seedSource = new SplittableRandom();
        this.sticky = new StickyPartitionCache(seedSource.split());
        Sender.Settings s = new Sender.Settings(ProducerConfig.acksValue(c.getString(ProducerConfig.ACKS)), requestTimeoutMs,
                c.getInt(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION), requestSizeBytesMax, c.getInt(ProducerConfig.RETRIES),
                backoffMs, c.getLong(ProducerConfig.RETRY_BACKOFF_MAX_MS), c.getBoolean(ProducerConfig.ENABLE_IDEMPOTENCE));
        this.sender = new Sender(accumulator, metadata, channels, s, time, seedSource.split());
        pool.onWait(sender::wakeup); // a caller waiting for memory makes lingering batches sendable at once
        this.senderThread = new Thread(sender, "basalt-producer-sender" + (clientId.isEmpty() ? "" : "-" + clientId));
        senderThread.setDaemon(true);
        senderThread.start();
    }

    static Map<String, Object> toMap(Properties props) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        props.stringPropertyNames().forEach(n -> m.put(n, props.getProperty(n)));
        return m;
    }

    /**
     * Queues a record for sending. Blocks only while waiting for the topic's metadata or for
     * buffer memory, together at most max.block.ms.
     *
     * @return completes with where the record was written, or fails with a
     *         {@link DefiniteException} / {@link IndeterminateException} subtype (never throws
     *         them directly). Actions chained on it without an executor ({@code whenComplete},
     *         {@code thenAccept}, ...) run on the producer's sender thread, as Kafka's callbacks
     *         do: they must not block. {@link #flush()} there throws; waiting there on another
     *         send's future ({@code get}, {@code join}) stalls every send until it times out.
     *         Use the {@code ...Async(action, executor)} forms for work that blocks.
     * @throws IllegalStateException if the producer is closed
     */
    public CompletableFuture<RecordMetadata> send(ProducerRecord<K, V> record) {
        if (closed) {
            throw new IllegalStateException("producer is closed");
        }
        Throwable fatal = sender.fatalError();
        if (fatal != null) {
            return CompletableFuture.failedFuture(new DefiniteException("the producer's sender thread failed: " + fatal, false, fatal));
        }
        try {
            return doSend(record);
        } catch (BasaltException e) {
            return CompletableFuture.failedFuture(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new DefiniteException("interrupted while blocked in send", false, e));
        }
    }

    private CompletableFuture<RecordMetadata> doSend(ProducerRecord<K, V> record) throws InterruptedException {
        long start = time.monotonicMs();
        String badName = TopicNames.validate(record.topic());
        if (badName != null) {
            throw new InvalidTopicException(badName); // definite: no broker would accept it either
        }
        Cluster cluster = metadata.awaitTopic(record.topic(), maxBlockMs, Math.min(maxBlockMs, MetadataManager.UNKNOWN_TOPIC_GRACE_MS));
        Cluster.TopicInfo topic = cluster.topic(record.topic());
        byte[] key = serialize(keySerializer, record.topic(), record.key(), "key");
        byte[] value = serialize(valueSerializer, record.topic(), record.value(), "value");
        int size = RecordBatchBuilder.estimateBatchSizeBytes(key, value, record.headers());
        if (size > requestSizeBytesMax) {
            throw new RecordTooLargeException("record of about " + size + " bytes exceeds max.request.size " + requestSizeBytesMax);
        }
        // size is an upper bound of a batch of this record alone: the exact size only when it could matter
        if (topic.maxMessageBytes() > 0 && size > topic.maxMessageBytes()) {
            int alone = RecordBatch.HEADER_SIZE_BYTES + RecordBatchBuilder.recordSizeInBytes(0, 0, key, value, record.headers());
            if (alone > topic.maxMessageBytes()) {
                // refused here, before it takes a sequence number or shares a request with records
                // that fit; the limit may have been raised since this metadata: the next send knows
                metadata.refresh();
                throw new RecordTooLargeException("a batch of this record alone would be " + alone + " bytes, over topic "
                        + record.topic() + "'s max.message.bytes " + topic.maxMessageBytes());
            }
        }
        long timestamp = record.timestamp() != null ? record.timestamp() : time.nowMs();
        long blockLeftMs = Math.max(0, maxBlockMs - (time.monotonicMs() - start));
        boolean sticky = record.partition() == null && key == null;
        if (record.partition() != null && record.partition() >= topic.partitionCount()
                && time.monotonicMs() - missingPartitionRefreshMs >= MISSING_PARTITION_REFRESH_INTERVAL_MS) {
            // partitions may have been added since this metadata: refused only if fresh metadata
            // agrees (at most one such refresh per interval: a loop sending to a partition that
            // does not exist is refused at once in between)
            missingPartitionRefreshMs = time.monotonicMs();
            try {
                Cluster fresh = metadata.refreshNow(Math.max(1, blockLeftMs));
                if (fresh.topic(record.topic()) != null) {
                    cluster = fresh;
                    topic = fresh.topic(record.topic());
                }
            } catch (BasaltException e) {
                // no fresher answer in time: refused below on what is known
            }
            blockLeftMs = Math.max(0, maxBlockMs - (time.monotonicMs() - start));
        }
        int partition = choosePartition(record, key, topic, cluster);
        TopicPartition tp = new TopicPartition(record.topic(), partition);
        RecordAccumulator.AppendResult r = accumulator.append(tp, timestamp, key, value, record.headers(), blockLeftMs, sticky,
                topic.maxMessageBytes(), time.monotonicMs());
        if (r.abortedForNewBatch()) {
            tp = new TopicPartition(record.topic(), this.sticky.nextPartition(topic, cluster, partition));
            r = accumulator.append(tp, timestamp, key, value, record.headers(), blockLeftMs, false, topic.maxMessageBytes(),
                    time.monotonicMs());
        }
        if (r.batchIsFull() || r.newBatchCreated()) {
            sender.wakeup();
        }
        return r.future();
    }

    private int choosePartition(ProducerRecord<K, V> record, byte[] key, Cluster.TopicInfo topic, Cluster cluster) {
        if (record.partition() != null) {
            if (record.partition() >= topic.partitionCount()) {
                throw new InvalidPartitionException("partition " + record.partition() + " of topic " + record.topic()
                        + " does not exist (it has " + topic.partitionCount() + ")");
            }
            return record.partition();
        }
        if (key != null) {
            return DefaultPartitioner.partitionForKey(key, topic.partitionCount());
        }
        return sticky.partition(topic, cluster);
    }

    private static <T> byte[] serialize(Serializer<T> s, String topic, T data, String what) {
        try {
            return s.serialize(topic, data);
        } catch (SerializationException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new SerializationException("cannot serialize the " + what + " for topic " + topic + ": " + e, e);
        }
    }

    /**
     * This producer's running totals and rates, Kafka-style names with units last (docs/client.md):
     * {@code record-send-total}, {@code record-send-rate}, {@code byte-send-total},
     * {@code byte-send-rate}, {@code batch-send-total}, {@code batch-size-avg-bytes},
     * {@code batch-size-max-bytes}, {@code records-per-batch-avg}, {@code record-retry-total},
     * {@code batch-split-total}, {@code record-error-total}, {@code record-latency-avg-ms}, {@code record-latency-max-ms}.
     * Rates are per second since the producer was created; latencies are those of acknowledged
     * batches, from the batch's first record until the broker's answer.
     */
    public Map<String, Double> metrics() {
        return sender.stats().snapshot(time.monotonicMs());
    }

    /**
     * The error after which a send was last retried (retriable errors are retried up to
     * {@code retries} and {@code delivery.timeout.ms} without reaching the caller), or empty
     * before any retry: what a producer whose records stay unacknowledged is waiting on.
     */
    public java.util.Optional<String> lastRetriedError() {
        return java.util.Optional.ofNullable(sender.stats().lastRetriedError());
    }

    /** The partition count of a topic (waiting up to max.block.ms for its metadata). */
    public int partitionCount(String topic) {
        try {
            return metadata.awaitTopic(topic, maxBlockMs, Math.min(maxBlockMs, MetadataManager.UNKNOWN_TOPIC_GRACE_MS)).topic(topic)
                    .partitionCount();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DefiniteException("interrupted", false, e);
        }
    }

    /**
     * Sends every record queued so far at once (ignoring linger.ms) and blocks until each has
     * been acknowledged or has failed. Records sent concurrently may or may not be included.
     *
     * @throws IllegalStateException when called on the sender thread (from an action chained on a
     *         send's future), where it would wait for itself forever
     */
    public void flush() {
        if (Thread.currentThread() == senderThread) {
            throw new IllegalStateException("flush() inside a send's completion would wait for itself: completions run on the"
                    + " producer's sender thread and must not block (chain with an executor for blocking work)");
        }
        List<CompletableFuture<Void>> waits = accumulator.beginFlush();
        sender.wakeup();
        try {
            CompletableFuture.allOf(waits.toArray(new CompletableFuture<?>[0])).join();
        } finally {
            accumulator.endFlush();
        }
    }

    /**
     * Stops accepting records, sends those queued and waits for their answers up to the timeout;
     * whatever is still unanswered then fails (queued: definite; in flight: indeterminate).
     * Idempotent.
     */
    public void close(Duration timeout) {
        if (closed) {
            return;
        }
        closed = true;
        metadata.close(); // a send blocked waiting for metadata fails now, not after max.block.ms
        long deadlineNanos = System.nanoTime() + timeout.toNanos();
        accumulator.beginClose();
        sender.initiateClose(false);
        try {
            senderThread.join(Math.max(1, timeout.toMillis()));
            if (senderThread.isAlive()) {
                sender.initiateClose(true);
                senderThread.join(1_000);
            }
        } catch (InterruptedException e) {
            sender.initiateClose(true);
            Thread.currentThread().interrupt();
        }
        accumulator.abortQueued(new DefiniteException("producer closed before the batch was sent", false));
        pool.close();
        long leftMs = Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
        if (!senderThread.isAlive()) {
            // forced: answers still outstanding will never be processed; their outcome is unknown
            sender.abortInFlight();
        }
        // Every batch is resolved by now (answered, or failed by the forced close), so what the
        // channels still carry is stray: a metadata refresh, or the transport stream of a request
        // the broker refused as too large, which it stops reading and which would otherwise hold
        // the close for the whole timeout.
        channels.close(Math.min(leftMs, CHANNEL_DRAIN_MS_MAX));
    }

    /** Longest a closing producer lets its channels drain once its sender has ended. */
    static final long CHANNEL_DRAIN_MS_MAX = 1_000;

    /** Closes with a 30 s timeout. */
    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }

    /** Blocks until the record future completes, unwrapping its typed exception. */
    public static RecordMetadata await(CompletableFuture<RecordMetadata> f, Duration timeout) {
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof BasaltException b) {
                throw b;
            }
            throw new UnknownServerException("send failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IndeterminateException("no answer for the record within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IndeterminateException("interrupted while waiting for the record's answer", e);
        }
    }
}
