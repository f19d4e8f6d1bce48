package dev.basalt.client.internal;

import dev.basalt.client.BasaltException;
import dev.basalt.client.ClientTimeoutException;
import dev.basalt.client.ConnectionException;
import dev.basalt.client.DefiniteException;
import dev.basalt.client.IndeterminateException;
import dev.basalt.client.OffsetOutOfRangeException;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.UnknownServerException;
import dev.basalt.client.admin.DeletedRecords;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.DeleteRecordsRequest;
import dev.basalt.proto.v1.DeleteRecordsResponse;
import dev.basalt.proto.v1.ErrorCode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * DeleteRecords (Kafka's KIP-107) for a set of partitions: each partition is sent to its leader,
 * as {@link OffsetLookup} does for ListOffsets (the brokers answer it only there; elsewhere
 * NOT_LEADER with a leader hint). The partitions are grouped by leader, every leader asked at
 * once, and what a leader could not do now (NOT_LEADER and the other retriable answers, a broker
 * that cannot be reached, an answer lost) is sent again after a metadata refresh and a backoff
 * until the deadline. A definite refusal fails that partition's future at once with the client's
 * typed exception ({@link Errors#forCode}; OFFSET_OUT_OF_RANGE as {@link OffsetOutOfRangeException}).
 *
 * <p>Sending again is safe: DeleteRecords is idempotent (an offset at or below the log start
 * changes nothing and answers the current low watermark).
 *
 * <p>REQUEST_TIMED_OUT is not sent again: the leader moved its log start but an in-sync replica had
 * not followed within the request's timeout_ms. Replicas normally follow with their next fetch,
 * but a leader change before they do would undo the deletion; the partition fails with an
 * {@link IndeterminateException} saying so (asking again waits for them again).
 *
 * <p>Each request carries timeout_ms, the time left to the deadline less a little (at most
 * request.timeout.ms less a little), so that the leader answers REQUEST_TIMED_OUT before the
 * client stops waiting; its gRPC deadline is the time left, at most request.timeout.ms.
 *
 * <p>Thread-safety: thread-safe (stateless apart from the shared, thread-safe collaborators); each
 * call blocks the thread that makes it.
 */
public final class RecordDeletion {
    /** The most partitions one DeleteRecords request may carry (admin.proto); a leader's others go in more requests. */
    static final int PARTITIONS_PER_REQUEST_MAX = 10_000;
    /** The offset that means "below the high watermark": every committed record. */
    public static final long HIGH_WATERMARK = -1L;

    private final MetadataManager metadata;
    private final ChannelPool channels;
    private final int requestTimeoutMs;
    private final long retryBackoffMs;
    /** A retry is sent only with at least this much of the call's time left (see run). */
    static final long RETRY_LEFT_MS_MIN = 200;
    private final Time time;

    public RecordDeletion(MetadataManager metadata, ChannelPool channels, int requestTimeoutMs, long retryBackoffMs, Time time) {
        this.metadata = metadata;
        this.channels = channels;
        this.requestTimeoutMs = requestTimeoutMs;
        this.retryBackoffMs = retryBackoffMs;
        this.time = time;
    }

    /**
     * The caller's offsets, checked before anything is sent (a negative partition cannot be
     * named: {@link TopicPartition} refuses it).
     *
     * @throws IllegalArgumentException a null partition or offset, an empty topic name, or an
     *                                  offset below -1
     */
    public static Map<TopicPartition, Long> checked(Map<TopicPartition, Long> beforeOffsets) {
        Objects.requireNonNull(beforeOffsets, "beforeOffsets");
        Map<TopicPartition, Long> out = new LinkedHashMap<>();
        beforeOffsets.forEach((tp, offset) -> {
            if (tp == null) {
                throw new IllegalArgumentException("deleteRecords: a partition is null");
            }
            if (tp.topic().isEmpty()) {
                throw new IllegalArgumentException("deleteRecords: a partition with an empty topic name (" + tp + ")");
            }
            if (offset == null) {
                throw new IllegalArgumentException("deleteRecords: no offset for " + tp);
            }
            if (offset < HIGH_WATERMARK) {
                throw new IllegalArgumentException("deleteRecords: offset " + offset + " for " + tp + " is below -1: give the"
                        + " offset to delete below (from 0), or -1 for the high watermark (every committed record)");
            }
            out.put(tp, offset);
        });
        return out;
    }

    /** A leader's hint from a NOT_LEADER answer: used while the metadata still names the broker that refused. */
    private record Hint(int refusedBy, int leader) {
    }

    /** One request in flight: to which broker, for which partitions, and its answer or failure. */
    private record Sent(int brokerId, HostPort address, List<TopicPartition> partitions,
                        CompletableFuture<DeleteRecordsResponse> answer) {
    }

    /** The state of one call: what is left and why the last try of each left partition failed. */
    private final class Call {
        final Map<TopicPartition, Long> offsets;
        final Map<TopicPartition, CompletableFuture<DeletedRecords>> futures;
        final long timeoutMs;
        final long deadline;
        final Map<TopicPartition, Long> pending;
        final Map<TopicPartition, BasaltException> lastError = new HashMap<>();
        final Map<TopicPartition, Hint> hints = new HashMap<>();
        /** Partitions the metadata named no leader for at the last try. */
        final Set<TopicPartition> leaderless = new HashSet<>();
        /** Partitions a request was sent for (a lost answer may have deleted their records). */
        final Set<TopicPartition> sent = new HashSet<>();
        /** Partitions a leader answered with an error after moving their log start (log_start_moved), with that error. */
        final Map<TopicPartition, BasaltException> moved = new HashMap<>();
        /** The last metadata refresh's failure, or null once one succeeded after it. */
        BasaltException metadataError;
        /** Whether metadata was fetched during this call (then what it says about topics is an answer). */
        boolean fresh;

        Call(Map<TopicPartition, Long> offsets, Map<TopicPartition, CompletableFuture<DeletedRecords>> futures, long timeoutMs) {
            this.offsets = offsets;
            this.futures = futures;
            this.timeoutMs = timeoutMs;
            this.deadline = time.monotonicMs() + timeoutMs;
            this.pending = new LinkedHashMap<>(offsets);
        }

        void complete(TopicPartition tp, DeletedRecords value) {
            pending.remove(tp);
            futures.get(tp).complete(value);
        }

        void fail(TopicPartition tp, BasaltException e) {
            pending.remove(tp);
            futures.get(tp).completeExceptionally(e);
        }
    }

    /**
     * Deletes the records of each partition below its offset, completing the partition's future
     * with its low watermark or its error. Blocks until every future is complete: by the deadline
     * ({@code timeoutMs} from now) plus, at most, a metadata answer's wait.
     *
     * @param offsets from {@link #checked}
     * @param futures one per partition of {@code offsets}
     */
    public void delete(Map<TopicPartition, Long> offsets, Map<TopicPartition, CompletableFuture<DeletedRecords>> futures,
                       long timeoutMs) {
        Call call = new Call(offsets, futures, timeoutMs);
        try {
            run(call);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            for (TopicPartition tp : List.copyOf(call.pending.keySet())) {
                call.fail(tp, call.sent.contains(tp)
                        ? new IndeterminateException("delete records of " + tp + ": interrupted (the admin client closed) while"
                                + " waiting for the leader's answer: the records may have been deleted", e)
                        : new DefiniteException("delete records of " + tp + ": interrupted (the admin client closed)", false, e));
            }
        } catch (RuntimeException e) {
            BasaltException b = e instanceof BasaltException be ? be : new UnknownServerException("delete records failed: " + e, e);
            List.copyOf(call.pending.keySet()).forEach(tp -> call.fail(tp, b));
        } finally {
            // nothing may wait forever, whatever happened above
            futures.values().forEach(f -> f.completeExceptionally(new UnknownServerException("delete records: no outcome")));
        }
    }

    private void run(Call call) throws InterruptedException {
        metadata.track(call.offsets.keySet().stream().map(TopicPartition::topic).distinct().toList());
        refresh(call);
        boolean retry = false;
        while (true) {
            long left = call.deadline - time.monotonicMs();
            if (retry && left > 0 && left < RETRY_LEFT_MS_MIN) {
                // A retry with almost no time left would end cut by the deadline, its outcome unknown,
                // hiding the definite answer before it (found flaky: NOT_LEADER until the timeout
                // ended as "may have been deleted" when the last try got 5 ms). Not sent.
                Thread.sleep(left);
                left = 0;
            }
            if (left <= 0) {
                failAtDeadline(call);
                return;
            }
            retry = true;
            Cluster cluster = metadata.current();
            List<Sent> requests = send(call, cluster, route(call, cluster));
            for (Sent s : requests) {
                handle(call, s);
            }
            if (call.pending.isEmpty()) {
                return;
            }
            long remaining = call.deadline - time.monotonicMs();
            if (remaining <= 0) {
                failAtDeadline(call);
                return;
            }
            Thread.sleep(Math.max(1, Math.min(retryBackoffMs, remaining)));
            if (call.deadline - time.monotonicMs() > 0) {
                refresh(call);
            }
        }
    }

    /** One metadata refresh sent now, bounded by the time left; its failure is kept for the deadline's message. */
    private void refresh(Call call) throws InterruptedException {
        long remaining = call.deadline - time.monotonicMs();
        if (remaining <= 0) {
            return;
        }
        try {
            metadata.refreshNow(remaining);
            call.fresh = true;
            call.metadataError = null;
        } catch (BasaltException e) {
            call.metadataError = e; // the loop retries until its deadline and reports it then
        }
    }

    /**
     * Each pending partition's leader, as the metadata (or a fresher NOT_LEADER hint) names it. A
     * topic the metadata fetched during this call does not know, or a partition beyond its count,
     * fails now: for an administrator that is an answer, as for the other admin calls.
     */
    private Map<Integer, List<TopicPartition>> route(Call call, Cluster cluster) {
        Map<Integer, List<TopicPartition>> byLeader = new LinkedHashMap<>();
        for (TopicPartition tp : List.copyOf(call.pending.keySet())) {
            Cluster.TopicInfo topic = cluster.topic(tp.topic());
            ErrorCode topicError = cluster.topicError(tp.topic());
            if (topic == null && topicError != null && (call.fresh || topicError != ErrorCode.UNKNOWN_TOPIC)) {
                call.fail(tp, Errors.forCode(topicError, topicError == ErrorCode.UNKNOWN_TOPIC ? "topic " + tp.topic()
                        + " does not exist" : "", "delete records of " + tp));
                continue;
            }
            if (topic != null && call.fresh && tp.partition() >= topic.partitionCount()) {
                call.fail(tp, Errors.forCode(ErrorCode.INVALID_PARTITION, "topic " + tp.topic() + " has " + topic.partitionCount()
                        + " partition" + (topic.partitionCount() == 1 ? "" : "s"), "delete records of " + tp));
                continue;
            }
            int leader = cluster.leaderFor(tp);
            Hint hint = call.hints.get(tp);
            if (hint != null && (leader < 0 || leader == hint.refusedBy()) && cluster.broker(hint.leader()) != null) {
                leader = hint.leader(); // the metadata has not caught up with the move the refusing broker named
            }
            if (leader < 0) {
                call.leaderless.add(tp);
                call.lastError.remove(tp); // the latest reason is that no leader is known
                continue;
            }
            call.leaderless.remove(tp);
            byLeader.computeIfAbsent(leader, k -> new ArrayList<>()).add(tp);
        }
        return byLeader;
    }

    /** Sends every leader its partitions at once (a leader waits for its replicas: one after the other would add up). */
    private List<Sent> send(Call call, Cluster cluster, Map<Integer, List<TopicPartition>> byLeader) {
        long remaining = Math.max(1, call.deadline - time.monotonicMs());
        long rpcMs = Math.min(requestTimeoutMs, remaining);
        int brokerTimeoutMs = (int) Math.max(1, rpcMs - Math.min(1_000, rpcMs / 10));
        List<Sent> out = new ArrayList<>();
        byLeader.forEach((leader, partitions) -> {
            HostPort address = cluster.broker(leader);
            for (int from = 0; from < partitions.size(); from += PARTITIONS_PER_REQUEST_MAX) {
                List<TopicPartition> chunk = partitions.subList(from, Math.min(partitions.size(), from + PARTITIONS_PER_REQUEST_MAX));
                DeleteRecordsRequest.Builder req = DeleteRecordsRequest.newBuilder().setTimeoutMs(brokerTimeoutMs);
                chunk.forEach(tp -> req.addPartitions(DeleteRecordsRequest.Partition.newBuilder().setTopic(tp.topic())
                        .setPartition(tp.partition()).setOffset(call.pending.get(tp))));
                CompletableFuture<DeleteRecordsResponse> answer = new CompletableFuture<>();
                try {
                    AdminServiceGrpc.newStub(channels.channel(address)).withDeadlineAfter(rpcMs, TimeUnit.MILLISECONDS)
                            .deleteRecords(req.build(), new UnaryObserver<>() {
                                @Override
                                protected void onAnswer(DeleteRecordsResponse r) {
                                    answer.complete(r);
                                }

                                @Override
                                protected void onFailure(Throwable t) {
                                    answer.completeExceptionally(t);
                                }
                            });
                } catch (IllegalStateException closed) {
                    answer.completeExceptionally(new ConnectionException("client closed", closed));
                }
                call.sent.addAll(chunk);
                out.add(new Sent(leader, address, List.copyOf(chunk), answer));
            }
        });
        return out;
    }

    private void handle(Call call, Sent s) throws InterruptedException {
        String at = "at broker " + s.brokerId() + " (" + s.address() + ")";
        DeleteRecordsResponse resp;
        try {
            resp = s.answer().get();
        } catch (ExecutionException e) {
            // idempotent, so a lost answer is sent again; whether it was lost mid-request is kept for the deadline
            BasaltException b = Errors.forTransport(e.getCause(), true, "delete records " + at);
            boolean transient_ = b instanceof ConnectionException || b instanceof ClientTimeoutException
                    || b instanceof IndeterminateException;
            for (TopicPartition tp : s.partitions()) {
                if (transient_) {
                    call.lastError.put(tp, b);
                } else {
                    call.fail(tp, b);
                }
            }
            return;
        }
        if (resp.getErrorCode() != ErrorCode.NONE) {
            BasaltException b = Errors.forCode(resp.getErrorCode(), resp.getErrorMessage(), "delete records " + at);
            for (TopicPartition tp : s.partitions()) {
                if (Errors.isRetriable(resp.getErrorCode()) && resp.getErrorCode() != ErrorCode.REQUEST_TIMED_OUT) {
                    call.lastError.put(tp, b);
                } else {
                    call.fail(tp, b);
                }
            }
            return;
        }
        Map<TopicPartition, DeleteRecordsResponse.Partition> answers = new HashMap<>();
        resp.getPartitionsList().forEach(p -> {
            if (p.getPartition() >= 0) {
                answers.put(new TopicPartition(p.getTopic(), p.getPartition()), p);
            }
        });
        for (TopicPartition tp : s.partitions()) {
            DeleteRecordsResponse.Partition p = answers.get(tp);
            if (!call.pending.containsKey(tp)) {
                continue;
            }
            if (p == null) {
                call.lastError.put(tp, new UnknownServerException("delete records of " + tp + " " + at
                        + ": the answer did not mention the partition"));
                continue;
            }
            handle(call, s, tp, p, at);
        }
    }

    private void handle(Call call, Sent s, TopicPartition tp, DeleteRecordsResponse.Partition p, String at) {
        ErrorCode code = p.getErrorCode();
        String context = "delete records of " + tp + " " + at;
        long offset = call.offsets.get(tp);
        if (code == ErrorCode.NONE) {
            call.hints.remove(tp);
            call.complete(tp, new DeletedRecords(p.getLowWatermark()));
        } else if (code == ErrorCode.REQUEST_TIMED_OUT) {
            call.fail(tp, new IndeterminateException(context + ": REQUEST_TIMED_OUT" + detail(p.getErrorMessage())
                    + ": the leader moved the partition's log start " + below(offset) + ", but an in-sync replica had not"
                    + " followed within the request's timeout; replicas normally follow with their next fetch, but a leader"
                    + " change before they do would undo the deletion (ask again to make sure)"));
        } else if (code == ErrorCode.OFFSET_OUT_OF_RANGE) {
            String why = p.getErrorMessage().isEmpty() ? "offset " + offset + " is above the high watermark" : p.getErrorMessage();
            // The broker's message says why already; the reason is added only when it does not.
            String rule = why.contains("only committed records can be deleted") ? "" : ": only committed records can be deleted";
            call.fail(tp, new OffsetOutOfRangeException(context + ": OFFSET_OUT_OF_RANGE (" + why + ")" + rule, tp, offset));
        } else if (Errors.isRetriable(code)) {
            if (code == ErrorCode.NOT_LEADER && p.hasLeaderIdHint() && p.getLeaderIdHint() >= 0
                    && p.getLeaderIdHint() != s.brokerId()) {
                call.hints.put(tp, new Hint(s.brokerId(), p.getLeaderIdHint()));
            }
            BasaltException error = Errors.forCode(code, p.getErrorMessage(), context, p.hasLeaderIdHint() ? p.getLeaderIdHint() : -1, -1);
            call.lastError.put(tp, error);
            if (p.getLogStartMoved()) {
                call.moved.put(tp, error);
            }
        } else {
            call.fail(tp, Errors.forCode(code, p.getErrorMessage(), context));
        }
    }

    private static String detail(String message) {
        return message == null || message.isEmpty() ? "" : " (" + message + ")";
    }

    /** "up to offset 10", or "up to the high watermark" for -1. */
    private static String below(long offset) {
        return offset == HIGH_WATERMARK ? "up to the high watermark" : "up to offset " + offset;
    }

    /**
     * The deadline passed with partitions left: each fails with why its last try did not succeed
     * as cause. A partition whose last request's answer was lost may have had its records deleted
     * ({@link IndeterminateException}); otherwise nothing was done ({@link ClientTimeoutException},
     * whose cause chain tells the CLI whether the cluster could be reached at all).
     */
    private void failAtDeadline(Call call) {
        for (TopicPartition tp : List.copyOf(call.pending.keySet())) {
            BasaltException last = call.lastError.get(tp);
            long offset = call.offsets.get(tp);
            String what = "records of " + tp + " below " + (offset == HIGH_WATERMARK ? "the high watermark" : "offset " + offset)
                    + " not deleted within " + call.timeoutMs + " ms";
            BasaltException movedWith = call.moved.get(tp);
            if (movedWith != null) {
                // A leader that lost its leadership while waiting for its replicas, or whose disk
                // failed midway, had moved its log start: not "nothing was done", and the stronger
                // fact whatever a later try met (found flaky: a last try cut by the deadline named
                // only its lost answer).
                call.fail(tp, new IndeterminateException(what + ", and a leader may have moved the partition's log start"
                        + " before that (the records may have been deleted, or come back after a leader change): "
                        + movedWith.getMessage() + (last == movedWith || last == null ? "" : "; the last try: " + last.getMessage()),
                        movedWith));
            } else if (last instanceof IndeterminateException) {
                call.fail(tp, new IndeterminateException(what + ", and the last request's answer was lost (the records may"
                        + " have been deleted): " + last.getMessage(), last));
            } else if (last != null) {
                call.fail(tp, new ClientTimeoutException(what + ": " + last.getMessage(), last));
            } else if (call.metadataError != null) {
                call.fail(tp, new ClientTimeoutException(what + ": no metadata: " + call.metadataError.getMessage(),
                        call.metadataError));
            } else {
                call.fail(tp, new ClientTimeoutException(what + ": " + (call.leaderless.contains(tp)
                        ? "the partition has no leader" : "no answer")));
            }
        }
    }
}
