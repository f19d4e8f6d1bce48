package dev.basalt.raft.transport;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.basalt.proto.v1.AppendRequestBody;
import dev.basalt.proto.v1.AppendResponseBody;
import dev.basalt.proto.v1.InstallSnapshotRequestBody;
import dev.basalt.proto.v1.InstallSnapshotResponseBody;
import dev.basalt.proto.v1.LogEntryProto;
import dev.basalt.proto.v1.RaftEnvelope;
import dev.basalt.proto.v1.TimeoutNowBody;
import dev.basalt.proto.v1.VoteRequestBody;
import dev.basalt.proto.v1.VoteResponseBody;
import dev.basalt.raft.core.RaftMessage;
import dev.basalt.raft.core.RaftMessage.AppendRequest;
import dev.basalt.raft.core.RaftMessage.AppendResponse;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotRequest;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotResponse;
import dev.basalt.raft.core.RaftMessage.TimeoutNowRequest;
import dev.basalt.raft.core.RaftMessage.VoteRequest;
import dev.basalt.raft.core.RaftMessage.VoteResponse;
import dev.basalt.raft.log.LogEntry;
import java.util.ArrayList;
import java.util.List;

/**
 * Maps domain {@link RaftMessage}s to and from {@code basalt.v1.RaftEnvelope} (raft.proto) at the
 * transport edge. Stateless and thread-safe. Decoding validates what the types can check (entry
 * terms and indexes, known entry types) and throws {@link IllegalArgumentException} for anything
 * malformed; the core validates the protocol-level rules.
 *
 * <p>Payloads are wrapped without copying on encode ({@code UnsafeByteOperations}): entry data is
 * immutable by contract.
 */
public final class RaftMessageCodec {
    private RaftMessageCodec() {
    }

    public static RaftEnvelope encode(RaftMessage m) {
        RaftEnvelope.Builder b = RaftEnvelope.newBuilder().setFrom(m.from()).setTo(m.to()).setTerm(m.term());
        if (m instanceof VoteRequest r) {
            b.setVoteRequest(VoteRequestBody.newBuilder().setLastLogIndex(r.lastLogIndex())
                    .setLastLogTerm(r.lastLogTerm()).setPreVote(r.preVote()).setTransfer(r.transfer()));
        } else if (m instanceof VoteResponse r) {
            b.setVoteResponse(VoteResponseBody.newBuilder().setGranted(r.granted()).setPreVote(r.preVote()));
        } else if (m instanceof AppendRequest r) {
            AppendRequestBody.Builder body = AppendRequestBody.newBuilder().setPrevLogIndex(r.prevLogIndex())
                    .setPrevLogTerm(r.prevLogTerm()).setLeaderCommit(r.leaderCommit()).setReadSeq(r.readSeq());
            for (LogEntry e : r.entries()) {
                body.addEntries(LogEntryProto.newBuilder().setTerm(e.term()).setIndex(e.index())
                        .setType(e.type().code()).setData(UnsafeByteOperations.unsafeWrap(e.data())));
            }
            b.setAppendRequest(body);
        } else if (m instanceof AppendResponse r) {
            b.setAppendResponse(AppendResponseBody.newBuilder().setSuccess(r.success()).setMatchIndex(r.matchIndex())
                    .setRejectedIndex(r.rejectedIndex()).setHintIndex(r.hintIndex()).setReadSeq(r.readSeq()));
        } else if (m instanceof InstallSnapshotRequest r) {
            b.setInstallSnapshotRequest(InstallSnapshotRequestBody.newBuilder().setLastIndex(r.lastIndex())
                    .setLastTerm(r.lastTerm()).addAllVoters(r.voters()).addAllObservers(r.observers())
                    .setOffset(r.offset()).setData(UnsafeByteOperations.unsafeWrap(r.data())).setDone(r.done()));
        } else if (m instanceof InstallSnapshotResponse r) {
            b.setInstallSnapshotResponse(InstallSnapshotResponseBody.newBuilder().setLastIndex(r.lastIndex())
                    .setNextOffset(r.nextOffset()).setDone(r.done()));
        } else if (m instanceof TimeoutNowRequest) {
            b.setTimeoutNow(TimeoutNowBody.getDefaultInstance());
        }
        return b.build();
    }

    public static RaftMessage decode(RaftEnvelope e) {
        int from = e.getFrom();
        int to = e.getTo();
        long term = e.getTerm();
        return switch (e.getBodyCase()) {
            case VOTE_REQUEST -> {
                VoteRequestBody r = e.getVoteRequest();
                yield new VoteRequest(from, to, term, r.getLastLogIndex(), r.getLastLogTerm(), r.getPreVote(),
                        r.getTransfer());
            }
            case VOTE_RESPONSE -> new VoteResponse(from, to, term, e.getVoteResponse().getGranted(),
                    e.getVoteResponse().getPreVote());
            case APPEND_REQUEST -> decodeAppend(from, to, term, e.getAppendRequest());
            case APPEND_RESPONSE -> {
                AppendResponseBody r = e.getAppendResponse();
                yield new AppendResponse(from, to, term, r.getSuccess(), r.getMatchIndex(), r.getRejectedIndex(),
                        r.getHintIndex(), r.getReadSeq());
            }
            case INSTALL_SNAPSHOT_REQUEST -> {
                InstallSnapshotRequestBody r = e.getInstallSnapshotRequest();
                yield new InstallSnapshotRequest(from, to, term, r.getLastIndex(), r.getLastTerm(), r.getVotersList(),
                        r.getObserversList(), r.getOffset(), r.getData().toByteArray(), r.getDone());
            }
            case INSTALL_SNAPSHOT_RESPONSE -> {
                InstallSnapshotResponseBody r = e.getInstallSnapshotResponse();
                yield new InstallSnapshotResponse(from, to, term, r.getLastIndex(), r.getNextOffset(), r.getDone());
            }
            case TIMEOUT_NOW -> new TimeoutNowRequest(from, to, term);
            case BODY_NOT_SET -> throw new IllegalArgumentException("envelope from " + from + " has no body");
        };
    }

    private static AppendRequest decodeAppend(int from, int to, long term, AppendRequestBody r) {
        List<LogEntry> entries = new ArrayList<>(r.getEntriesCount());
        for (LogEntryProto p : r.getEntriesList()) {
            ByteString data = p.getData();
            entries.add(new LogEntry(p.getTerm(), p.getIndex(), LogEntry.EntryType.fromCode(p.getType()),
                    data.toByteArray()));
        }
        return new AppendRequest(from, to, term, r.getPrevLogIndex(), r.getPrevLogTerm(), entries,
                r.getLeaderCommit(), r.getReadSeq());
    }
}
