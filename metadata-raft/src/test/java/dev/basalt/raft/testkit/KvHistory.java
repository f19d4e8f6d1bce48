package dev.basalt.raft.testkit;

import java.util.ArrayList;
import java.util.List;

/**
 * A history of operations on a key-value register store, as clients observed them: each operation
 * has an invocation time and, if it completed, a completion time and outcome. Not thread-safe
 * (the simulation records from its single thread).
 *
 * <p>Outcomes follow Jepsen: {@code OK} happened, {@code FAIL} definitely did not happen, {@code INFO}
 * unknown (it may take effect at any time after its invocation, or never).
 */
public final class KvHistory {
    public enum Kind { READ, WRITE }

    public enum Status { PENDING, OK, FAIL, INFO }

    /** One operation; {@code value} is the written value, or the value read (null = absent). */
    public static final class Op {
        final int id;
        final int client;
        final Kind kind;
        final String key;
        String value;
        final long invokeMs;
        long completeMs = Long.MAX_VALUE;
        Status status = Status.PENDING;

        Op(int id, int client, Kind kind, String key, String value, long invokeMs) {
            this.id = id;
            this.client = client;
            this.kind = kind;
            this.key = key;
            this.value = value;
            this.invokeMs = invokeMs;
        }

        public int id() {
            return id;
        }

        public Status status() {
            return status;
        }

        public Kind kind() {
            return kind;
        }

        public String key() {
            return key;
        }

        public String value() {
            return value;
        }

        @Override
        public String toString() {
            return "#" + id + " c" + client + " " + kind + " " + key + "=" + value + " [" + invokeMs + ", "
                    + (completeMs == Long.MAX_VALUE ? "inf" : completeMs) + "] " + status;
        }
    }

    private final List<Op> ops = new ArrayList<>();

    public Op invoke(int client, Kind kind, String key, String value, long nowMs) {
        Op op = new Op(ops.size(), client, kind, key, value, nowMs);
        ops.add(op);
        return op;
    }

    public void ok(Op op, String readValue, long nowMs) {
        complete(op, Status.OK, nowMs);
        if (op.kind == Kind.READ) {
            op.value = readValue;
        }
    }

    public void fail(Op op, long nowMs) {
        complete(op, Status.FAIL, nowMs);
    }

    /** Outcome unknown: the operation stays open forever. */
    public void info(Op op) {
        if (op.status != Status.PENDING) {
            throw new IllegalStateException("already completed: " + op);
        }
        op.status = Status.INFO;
        op.completeMs = Long.MAX_VALUE;
    }

    private void complete(Op op, Status status, long nowMs) {
        if (op.status != Status.PENDING) {
            throw new IllegalStateException("already completed: " + op);
        }
        if (nowMs < op.invokeMs) {
            throw new IllegalArgumentException("completes before invocation: " + op);
        }
        op.status = status;
        op.completeMs = nowMs;
    }

    public List<Op> ops() {
        return ops;
    }

    public int size() {
        return ops.size();
    }
}
