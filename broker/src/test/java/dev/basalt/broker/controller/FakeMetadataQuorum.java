package dev.basalt.broker.controller;

import dev.basalt.metadata.MetadataStateMachine;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.proto.v1.DescribeQuorumResponse;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A metadata quorum in memory for controller tests: proposals are held until the test commits them
 * (or committed at once in auto-commit mode), applied in order to a real {@link MetadataStateMachine}.
 * Thread-safe (one monitor).
 */
final class FakeMetadataQuorum implements MetadataQuorum {
    private record Pending(byte[] batch, CompletableFuture<Long> future) {
    }

    private final MetadataStateMachine stateMachine = new MetadataStateMachine(8 << 20);
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final List<byte[]> proposed = new ArrayList<>();
    private volatile long activeTerm = 1;
    private volatile boolean autoCommit;

    void activeTerm(long term) {
        activeTerm = term;
    }

    private volatile java.util.Set<Integer> predecessors;

    /** What {@link #predecessorsOf} answers for the active term (null: unknown). */
    void predecessors(java.util.Set<Integer> ids) {
        predecessors = ids;
    }

    @Override
    public java.util.Set<Integer> predecessorsOf(long term) {
        return term == activeTerm ? predecessors : null;
    }

    private final java.util.Map<Integer, Membership> members = new java.util.concurrent.ConcurrentHashMap<>();

    /** Makes {@code nodeId} a node of the quorum as {@link #membership} reports it. */
    void member(int nodeId, Membership membership) {
        members.put(nodeId, membership);
    }

    @Override
    public java.util.Optional<Membership> membership(int nodeId) {
        return java.util.Optional.ofNullable(members.get(nodeId));
    }

    void autoCommit(boolean on) {
        autoCommit = on;
        if (on) {
            while (commitNext()) {
                // drain
            }
        }
    }

    synchronized int proposals() {
        return proposed.size();
    }

    synchronized int pending() {
        return pending.size();
    }

    /** Commits the oldest pending proposal; false when none. */
    boolean commitNext() {
        Pending p;
        long index;
        synchronized (this) {
            p = pending.poll();
            if (p == null) {
                return false;
            }
            index = stateMachine.appliedIndex() + 1;
            stateMachine.applyBatch(index, p.batch());
        }
        p.future().complete(index);
        return true;
    }

    /** Fails every pending proposal as a lost leadership would. */
    void failPending() {
        List<Pending> all;
        synchronized (this) {
            all = new ArrayList<>(pending);
            pending.clear();
        }
        all.forEach(p -> p.future().completeExceptionally(new NotControllerException("leadership lost", 2)));
    }

    @Override
    public CompletableFuture<Long> propose(byte[] recordBatch) {
        CompletableFuture<Long> f = new CompletableFuture<>();
        synchronized (this) {
            proposed.add(recordBatch);
            pending.add(new Pending(recordBatch, f));
        }
        if (autoCommit) {
            commitNext();
        }
        return f;
    }

    @Override
    public long activeTerm() {
        return activeTerm;
    }

    @Override
    public synchronized MetadataImage committedImage() {
        return stateMachine.image();
    }

    @Override
    public int leaderId() {
        return activeTerm >= 0 ? 1 : 2;
    }

    @Override
    public DescribeQuorumResponse describe() {
        return DescribeQuorumResponse.getDefaultInstance();
    }
}
