package dev.basalt.client.internal;

import dev.basalt.client.BasaltException;
import dev.basalt.client.ClientTimeoutException;
import dev.basalt.client.ConnectionException;
import dev.basalt.client.DefiniteException;
import dev.basalt.client.UnknownTopicException;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.MetadataRequest;
import dev.basalt.proto.v1.MetadataResponse;
import dev.basalt.proto.v1.MetadataServiceGrpc;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Keeps this client's view of cluster metadata ({@link Cluster}) for the topics it uses, and
 * refreshes it on demand (after NOT_LEADER, UNKNOWN_TOPIC, ...) or when older than
 * metadata.max.age.ms. Refreshes are asynchronous and coalesced: at most one Metadata request
 * is in flight, and callers that ask meanwhile share its result. A refresh asks the known
 * brokers first, then the bootstrap addresses, moving to the next address when one cannot be
 * reached, and asking the next one as well when one has not answered within
 * {@link #HEDGE_AFTER_MS} (a paused broker whose connection is still open).
 *
 * <p>Thread-safety: thread-safe. The snapshot is published through a volatile field; a
 * refresh's bookkeeping is guarded by {@code this}.
 */
public final class MetadataManager {
    private final ChannelPool channels;
    private final List<HostPort> bootstrap;
    private final int requestTimeoutMs;
    private final long retryBackoffMs;
    private final long maxAgeMs;
    private final Time time;
    private final Set<String> topics = ConcurrentHashMap.newKeySet();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile Cluster cluster = Cluster.EMPTY;
    /** Completed by {@link #close}: waits for a topic's metadata, and for a refresh, end at once. */
    private final CompletableFuture<Void> closing = new CompletableFuture<>();
    private CompletableFuture<Cluster> inFlight;
    private boolean refreshAgain;
    /** Completed by the refresh that follows the running one: {@link #refreshNow}'s callers wait on it. */
    private CompletableFuture<Cluster> afterInFlight;
    /** Brokers a {@link #refreshAvoiding} check is running for (guarded by this). */
    private final Set<HostPort> probing = new java.util.HashSet<>();
    private int nextAddress;
    private long lastFailureMs = Long.MIN_VALUE;
    /**
     * Per tracked topic the cluster answers does not exist: when the first and the latest of an
     * unbroken run of such answers arrived (monotonic ms). Guarded by this.
     */
    private final java.util.Map<String, long[]> unknownAnswers = new java.util.HashMap<>();

    /**
     * How long answers that a topic does not exist must keep coming before a client treats it as
     * gone rather than not yet visible: a topic created a moment ago reaches every broker well
     * within this, and a deleted one stays deleted.
     */
    public static final long UNKNOWN_TOPIC_GRACE_MS = 2_000;

    public MetadataManager(ChannelPool channels, List<HostPort> bootstrap, int requestTimeoutMs,
                           long retryBackoffMs, long maxAgeMs, Time time) {
        this.channels = channels;
        this.bootstrap = List.copyOf(bootstrap);
        this.requestTimeoutMs = requestTimeoutMs;
        this.retryBackoffMs = retryBackoffMs;
        this.maxAgeMs = maxAgeMs;
        this.time = time;
    }

    public Cluster current() {
        return cluster;
    }

    /** Called (on a gRPC thread) after every successful refresh. */
    public void addListener(Runnable r) {
        listeners.add(r);
    }

    /**
     * Applies a leader hint from a broker's answer (see {@link Cluster#withLeaderHint}); returns
     * true if the snapshot changed, and then tells the listeners as a refresh would.
     */
    public boolean applyLeaderHint(dev.basalt.client.TopicPartition tp, int leaderId, int leaderEpoch) {
        synchronized (this) {
            Cluster updated = cluster.withLeaderHint(tp, leaderId, leaderEpoch);
            if (updated == cluster) {
                return false;
            }
            cluster = updated;
        }
        tellListeners();
        return true;
    }

    /** Adds topics to those this client tracks; returns true if any was new. */
    public boolean track(Collection<String> names) {
        return topics.addAll(names);
    }

    /** Refreshes if the snapshot is older than metadata.max.age.ms. */
    public void maybeRefreshStale() {
        if (time.monotonicMs() - cluster.updatedMs() >= maxAgeMs) {
            refresh();
        }
    }

    /**
     * Starts a refresh of the tracked topics unless one is running (then the running one is
     * followed by one more, so a caller's request after new errors is never lost).
     */
    public synchronized CompletableFuture<Cluster> refresh() {
        if (inFlight != null) {
            refreshAgain = true;
            return inFlight;
        }
        CompletableFuture<Cluster> f = new CompletableFuture<>();
        inFlight = f;
        long backoff = lastFailureMs == Long.MIN_VALUE ? 0 : Math.max(0, lastFailureMs + retryBackoffMs - time.monotonicMs());
        List<HostPort> addresses = addresses();
        int start = nextAddress++;
        if (backoff > 0) {
            CompletableFuture.delayedExecutor(backoff, TimeUnit.MILLISECONDS)
                    .execute(() -> attempt(f, addresses, start, true));
        } else {
            attempt(f, addresses, start, true);
        }
        return f;
    }

    /**
     * Asks for metadata now, from any broker but {@code avoid} (never asked): a check of whether
     * leadership moved away from a broker that stopped answering (paused, or cut off from this
     * client while the others fenced it). Not coalesced with {@link #refresh()}, which may itself
     * be waiting on that broker; its answer is merged the same way (newer leader epochs win) and
     * wakes the listeners. At most one such check per avoided broker runs at a time. Does nothing
     * when no other broker is known.
     */
    public void refreshAvoiding(HostPort avoid) {
        List<HostPort> addresses = addresses();
        if (!addresses.remove(avoid) || addresses.isEmpty()) {
            return;
        }
        int start;
        synchronized (this) {
            if (!probing.add(avoid)) {
                return;
            }
            start = nextAddress++;
        }
        CompletableFuture<Cluster> f = new CompletableFuture<>();
        f.whenComplete((c, e) -> {
            synchronized (this) {
                probing.remove(avoid);
            }
        });
        attempt(f, addresses, start, false);
    }

    private List<HostPort> addresses() {
        Set<HostPort> all = new LinkedHashSet<>(cluster.brokers().values());
        all.addAll(bootstrap);
        return new ArrayList<>(all);
    }

    /**
     * How long a Metadata request may go unanswered before the same request is sent to the next
     * address as well. A broker answers metadata from memory in milliseconds; one that has not
     * answered in this long is paused, overloaded or cut off with its connection open, and waiting
     * request.timeout.ms for it would hold every send and poll that needs metadata meanwhile. The
     * first answer wins and the other requests are cancelled; a request is read-only, so asking
     * twice is harmless.
     */
    public static final long HEDGE_AFTER_MS = 500;

    /**
     * One refresh's walk over the addresses from {@code start} ({@link HedgedRead}): the next address
     * is asked when a request fails, answers with a request-wide error, or has gone unanswered for
     * {@link #HEDGE_AFTER_MS}; the first good answer is merged.
     *
     * @param coalesced whether this is {@link #refresh()}'s attempt chain (the one that others join)
     */
    private void attempt(CompletableFuture<Cluster> f, List<HostPort> addresses, int start, boolean coalesced) {
        MetadataRequest req = MetadataRequest.newBuilder().addAllTopics(topics).build();
        HedgedRead.askAsync(addresses, start, HEDGE_AFTER_MS,
                address -> MetadataServiceGrpc.newFutureStub(channels.channel(address))
                        .withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS).metadata(req),
                (address, r) -> r.getErrorCode() == ErrorCode.NONE ? null
                        : Errors.forCode(r.getErrorCode(), r.getErrorMessage(), "metadata from " + address),
                (address, e) -> Errors.forTransport(e, false, "metadata from " + address),
                e -> true)
                .whenComplete((answer, e) -> {
                    if (answer != null) {
                        finish(f, answer.value(), null, coalesced);
                        return;
                    }
                    Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
                    finish(f, null, cause instanceof BasaltException be ? be
                            : cause instanceof IllegalStateException closed ? new ConnectionException("client closed", closed)
                            : new ConnectionException("metadata: " + cause, cause), coalesced);
                });
    }

    /** Runs every listener; one that throws is logged and does not stop the others or the refresh that follows. */
    private void tellListeners() {
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(MetadataManager.class).warn("a metadata listener failed", e);
            }
        }
    }

    /**
     * A refresh whose request is sent after this call: a new one, or, while one is running (its
     * answer may predate what the caller needs to see, such as partitions just added), the one
     * queued to follow it.
     */
    public synchronized CompletableFuture<Cluster> refreshAfterNow() {
        if (inFlight == null) {
            return refresh();
        }
        refreshAgain = true;
        if (afterInFlight == null) {
            afterInFlight = new CompletableFuture<>();
        }
        return afterInFlight;
    }

    private void finish(CompletableFuture<Cluster> f, MetadataResponse r, BasaltException error, boolean coalesced) {
        boolean again = false;
        CompletableFuture<Cluster> next = null;
        Cluster result = null;
        synchronized (this) {
            if (r != null) {
                try {
                    result = apply(r);
                    lastFailureMs = Long.MIN_VALUE;
                } catch (RuntimeException malformed) {
                    error = new dev.basalt.client.UnknownServerException("malformed metadata answer: " + malformed.getMessage(),
                            malformed);
                }
            }
            if (coalesced) {
                if (result == null) {
                    lastFailureMs = time.monotonicMs();
                }
                inFlight = null;
                again = refreshAgain;
                refreshAgain = false;
                next = afterInFlight;
                afterInFlight = null;
            }
        }
        if (result != null) {
            f.complete(result);
            tellListeners();
        } else {
            f.completeExceptionally(error);
        }
        if (again) {
            CompletableFuture<Cluster> following = refresh();
            if (next != null) {
                CompletableFuture<Cluster> waiting = next;
                following.whenComplete((c, e) -> {
                    if (e == null) {
                        waiting.complete(c);
                    } else {
                        waiting.completeExceptionally(e);
                    }
                });
            }
        }
    }

    /** Merges an answer into the snapshot and notes what it says of missing topics; the new snapshot. */
    synchronized Cluster apply(MetadataResponse r) {
        cluster = cluster.merge(r, time.monotonicMs());
        noteUnknownTopics(r, cluster);
        return cluster;
    }

    private void noteUnknownTopics(MetadataResponse r, Cluster merged) {
        long nowMs = merged.updatedMs();
        for (MetadataResponse.TopicMetadata tm : r.getTopicsList()) {
            if (merged.skippedByMerge(tm.getName())) {
                continue; // from an image older than what the client knows of the topic: neither way
            }
            if (tm.getErrorCode() == ErrorCode.UNKNOWN_TOPIC) {
                long[] run = unknownAnswers.computeIfAbsent(tm.getName(), k -> new long[] {nowMs, nowMs});
                run[1] = nowMs;
            } else {
                unknownAnswers.remove(tm.getName());
            }
        }
    }

    /** How long ago the latest answer that {@code topic} does not exist came, or -1 if the latest answer about it was another. */
    public synchronized long unknownAnswerAgeMs(String topic) {
        long[] run = unknownAnswers.get(topic);
        return run == null ? -1 : time.monotonicMs() - run[1];
    }

    /**
     * How long the cluster has kept answering that {@code topic} does not exist: the time between
     * the first and the latest answer of an unbroken run of such answers, or -1 if the latest
     * answer about it was not UNKNOWN_TOPIC (or there was none).
     */
    public synchronized long unknownForMs(String topic) {
        long[] run = unknownAnswers.get(topic);
        return run == null ? -1 : run[1] - run[0];
    }

    /**
     * Blocks until the metadata has the topic, refreshing as needed, for at most timeoutMs.
     *
     * @throws UnknownTopicException  if the cluster kept answering that the topic does not exist
     * @throws BasaltException        INVALID_TOPIC and other definite answers at once
     * @throws ClientTimeoutException if no broker answered in time
     */
    public Cluster awaitTopic(String topic, long timeoutMs) throws InterruptedException {
        return awaitTopic(topic, timeoutMs, timeoutMs);
    }

    /**
     * As above, but answers that the topic does not exist end the wait after {@code unknownForMs}
     * (a topic created a moment ago reaches every broker within that; a cluster that does not answer
     * at all is still waited for until timeoutMs).
     */
    public Cluster awaitTopic(String topic, long timeoutMs, long unknownForMs) throws InterruptedException {
        if (track(List.of(topic))) {
            refresh();
        }
        long start = time.monotonicMs();
        long deadline = start + timeoutMs;
        synchronized (this) {
            long[] run = unknownAnswers.get(topic);
            if (run != null && run[1] - run[0] >= unknownForMs && start - run[1] <= Math.max(retryBackoffMs, 1_000)) {
                // the cluster has said so for long enough, and said it just now: a deleted topic
                // fails every send at once rather than after another grace period each
                throw new UnknownTopicException("topic " + topic + " does not exist (the cluster said so for "
                        + (start - run[0]) + " ms)");
            }
        }
        BasaltException last = null;
        while (true) {
            Cluster c = cluster;
            if (c.topic(topic) != null) {
                return c;
            }
            if (closing.isDone()) {
                throw new DefiniteException("client closed while waiting for the metadata of topic " + topic, false);
            }
            ErrorCode err = c.topicError(topic);
            if (err != null && err != ErrorCode.UNKNOWN_TOPIC) {
                throw Errors.forCode(err, "", "topic " + topic);
            }
            if (err == ErrorCode.UNKNOWN_TOPIC && c.updatedMs() >= start) {
                // an answer since this wait began, and the run of such answers is long enough
                long saidForMs = unknownForMs(topic);
                if (saidForMs >= unknownForMs) {
                    throw new UnknownTopicException("topic " + topic + " does not exist (the cluster said so for "
                            + saidForMs + " ms)");
                }
            }
            long left = deadline - time.monotonicMs();
            if (left <= 0) {
                if (err == ErrorCode.UNKNOWN_TOPIC) {
                    throw new UnknownTopicException("topic " + topic + " does not exist (checked for " + timeoutMs + " ms)");
                }
                throw new ClientTimeoutException("no metadata for topic " + topic + " within " + timeoutMs + " ms"
                        + (last == null ? "" : ": " + last.getMessage()), last);
            }
            last = waitForRefresh(left, last);
            if (last instanceof NotAClientPortException wrongPorts) {
                throw wrongPorts; // no address is a client port: waiting will not make one
            }
            if (cluster.topic(topic) == null && cluster.topicError(topic) == ErrorCode.UNKNOWN_TOPIC) {
                Thread.sleep(Math.min(retryBackoffMs, Math.max(1, deadline - time.monotonicMs())));
            }
        }
    }

    /**
     * The owning client is closing: a thread waiting in {@link #awaitTopic} (a send blocked on
     * metadata) fails at once instead of waiting out its max.block.ms (found probing: a send with
     * no reachable broker stayed blocked 20 s after close(ZERO) returned).
     */
    public void close() {
        closing.complete(null);
    }

    private BasaltException waitForRefresh(long leftMs, BasaltException last) throws InterruptedException {
        try {
            CompletableFuture.anyOf(refresh(), closing).get(leftMs, TimeUnit.MILLISECONDS);
            return last;
        } catch (ExecutionException e) {
            BasaltException b = e.getCause() instanceof BasaltException be ? be
                    : new ConnectionException(String.valueOf(e.getCause()), e.getCause());
            if (!closing.isDone()) {
                Thread.sleep(Math.min(retryBackoffMs, leftMs));
            }
            return b;
        } catch (TimeoutException e) {
            return last;
        }
    }

    /**
     * Blocks for one refresh sent after this call (an answer already on its way may predate a
     * change the caller has just made or heard of).
     */
    public Cluster refreshNow(long timeoutMs) throws InterruptedException {
        try {
            return refreshAfterNow().get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof BasaltException b ? b : new ConnectionException(String.valueOf(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            throw new ClientTimeoutException("no metadata answer within " + timeoutMs + " ms");
        }
    }
}
