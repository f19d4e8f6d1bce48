package dev.basalt.raft.core;

import dev.basalt.raft.log.HardState;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import java.util.List;
import java.util.Objects;

/**
 * What one call into {@link RaftCore} asks the driver to do. Immutable and thread-safe (arrays are
 * never modified).
 *
 * <p><b>Ordering contract</b> (etcd's Ready, Raft paper Figure 2 "persistent state ... updated on
 * stable storage before responding to RPCs"): the driver must, in this order,
 * <ol>
 *   <li>make {@link #hardState()}, then {@link #snapshot()}, then {@link #entries()} durable
 *       (fsync): a vote, a term or an acknowledged entry must never be forgotten after it was
 *       announced, and a node never holds entries of a term above its durable term (otherwise,
 *       after a crash, a stale leader could overwrite them). The commit hint in the hard state
 *       only covers entries that were durable before the call, so a crash after the hard state
 *       but before the entries is harmless. A driver that merges several outputs into one write
 *       must cap the hint at the commit index from before the first of them;</li>
 *   <li>only then send {@link #messages()};</li>
 *   <li>then restore {@link #snapshot()} into the state machine (if present) and apply
 *       {@link #committed()} in order, then answer {@link #reads()} once the state machine has
 *       applied at least their read index;</li>
 *   <li>call {@link RaftCore#tick} no later than {@link #nextDeadlineMs()}.</li>
 * </ol>
 * {@code entries} may start at an index at or below the store's last index: the store truncates
 * its suffix from there first (a conflict, §5.3).
 *
 * @param hardState     term/vote/commit to persist, or null when unchanged
 * @param snapshot      a snapshot received from the leader to install, or null
 * @param entries       entries to append durably (possibly truncating first)
 * @param messages      messages to send after persisting
 * @param committed     newly committed entries to apply, in index order
 * @param reads         ReadIndex outcomes
 * @param proposal      outcome of a propose/changeConfiguration call, or null
 * @param leaderChange  the known leader changed (new term or leader), or null
 * @param nextDeadlineMs when the core must next be ticked
 */
public record Output(HardState hardState, SnapshotInstall snapshot, List<LogEntry> entries,
                     List<RaftMessage> messages, List<LogEntry> committed, List<ReadResult> reads,
                     ProposalResult proposal, LeaderChange leaderChange, long nextDeadlineMs) {

    public Output {
        entries = List.copyOf(entries);
        messages = List.copyOf(messages);
        committed = List.copyOf(committed);
        reads = List.copyOf(reads);
    }

    /** A snapshot to install durably and then restore into the state machine. */
    public record SnapshotInstall(SnapshotMeta meta, byte[] data) {
        public SnapshotInstall {
            Objects.requireNonNull(meta, "meta");
            Objects.requireNonNull(data, "data");
        }
    }

    /** Why a proposal, configuration change or read was refused; every refusal is definite. */
    public enum Refusal {
        /** This node is not the leader; {@code leaderHint} names the leader if known. */
        NOT_LEADER,
        /** The leader is handing leadership over (§3.10) and accepts no new proposals. */
        TRANSFER_IN_PROGRESS,
        /** A configuration change is uncommitted, or the leader has not committed in its term yet. */
        CONFIGURATION_CHANGE_IN_PROGRESS,
        /** Too many pending reads at the leader. */
        TOO_MANY_PENDING
    }

    /**
     * Outcome of a proposal: accepted entries occupy {@code [firstIndex, lastIndex]} in {@code term}
     * (they commit only if the entry committed at each index has that term); otherwise refused.
     */
    public record ProposalResult(boolean accepted, long term, long firstIndex, long lastIndex, Refusal refusal,
                                 int leaderHint) {
        static ProposalResult accepted(long term, long first, long last) {
            return new ProposalResult(true, term, first, last, null, -1);
        }

        static ProposalResult refused(Refusal refusal, int leaderHint) {
            return new ProposalResult(false, 0, 0, 0, refusal, leaderHint);
        }
    }

    /**
     * Outcome of a ReadIndex request (dissertation §6.4): when {@code ok}, the read may be served
     * once the state machine has applied {@code readIndex}; otherwise it was refused (definite).
     */
    public record ReadResult(long readId, boolean ok, long readIndex, Refusal refusal, int leaderHint) {
    }

    /** The node learned of a new term or leader; {@code leaderId} is -1 when unknown. */
    public record LeaderChange(long term, int leaderId) {
    }
}
