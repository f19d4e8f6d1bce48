#!/usr/bin/env python3
"""A consumer group member over gRPC: GroupService's heartbeat protocol for membership.

    /usr/bin/python3 examples/python/group_consume.py --group G --topic T [--address host:port] [--session-timeout-ms 45000]

GroupService.ConsumerGroupHeartbeat (KIP-848, docs/api.md "Consumer groups from any language") keeps
the membership, RecordService.FetchRecords reads the partitions the member is assigned, and
OffsetCommit records what it printed. Prints one line per record on stdout (partition, offset, key,
value, headers k=v,...) and each assignment change on stderr ("# assigned T-0,T-2", "# revoked T-1",
"# lost ..."). SIGTERM or SIGINT: stop reading, commit, leave the group, exit 0.
"""
import argparse
import importlib
import signal
import sys
import threading
import time
import uuid

import grpc

import basalt

# One reader thread per partition prints records: print() writes the text and the newline in two
# calls, so two threads could interleave them into one line. Each line is written whole, under a lock.
_print_lock = threading.Lock()


def emit(line, stream=None):
    stream = stream or sys.stdout
    with _print_lock:
        stream.write(line + "\n")
        stream.flush()


RETRY_S = 0.2
FETCH_WAIT_MS = 500


class Partition:
    """One partition the member may read: from the moment it takes it until its revocation was committed."""

    def __init__(self, number):
        self.number = number
        self.position = None  # next offset to read (int), None until the committed offset is known
        self.revoking = threading.Event()
        self.thread = None


class Member:
    def __init__(self, args):
        self.args = args
        self.records_pb2, records_grpc, self.errors = basalt.load()
        self.group_pb2 = importlib.import_module("group_pb2")
        self.group_grpc = importlib.import_module("group_pb2_grpc")
        self.channel = grpc.insecure_channel(basalt.target(args.address))
        self.records = records_grpc.RecordServiceStub(self.channel)  # any broker routes a fetch to the leader
        self.bootstrap = self.group_grpc.GroupServiceStub(self.channel)  # any broker answers FindCoordinator
        self.coordinator = None
        self.coordinator_channel = None
        self.member_id = str(uuid.uuid4())  # ours for the life of the process, kept across rejoins
        self.epoch = 0
        self.lock = threading.Lock()  # guards owned and the commit order
        self.owned = {}  # partition number -> Partition; heartbeats report exactly these as owned
        self.last_committed = {}
        self.stopping = threading.Event()
        self.wake = threading.Event()

    def name(self, numbers):
        return ",".join(f"{self.args.topic}-{p}" for p in sorted(numbers))

    def code(self, value):
        return self.errors.ErrorCode.Name(value)

    # ---- the coordinator

    def coordinator_stub(self):
        if self.coordinator is None:
            r = self.bootstrap.FindCoordinator(self.group_pb2.FindCoordinatorRequest(group_id=self.args.group), timeout=10)
            if r.error_code != self.errors.NONE:
                raise RuntimeError(f"{self.code(r.error_code)}: {r.error_message}")
            self.coordinator_channel = grpc.insecure_channel(f"{r.host}:{r.port}")
            self.coordinator = self.group_grpc.GroupServiceStub(self.coordinator_channel)
        return self.coordinator

    def forget_coordinator(self):
        if self.coordinator_channel is not None:
            self.coordinator_channel.close()
        self.coordinator = None
        self.coordinator_channel = None

    # ---- offsets

    def commit(self, number, position):
        """Commits one position; False when this member was fenced (the partition is lost, not handed over)."""
        request = self.group_pb2.OffsetCommitRequest(
            group_id=self.args.group, member_id=self.member_id, member_epoch=self.epoch,
            partitions=[self.group_pb2.OffsetCommitRequest.Partition(topic=self.args.topic, partition=number, offset=position,
                                                                     leader_epoch=-1)])
        for _ in range(50):
            try:
                r = self.coordinator_stub().OffsetCommit(request, timeout=10)
                code = self.code(r.error_code)
                if code == "NONE":
                    return True
                if code in ("STALE_MEMBER_EPOCH", "UNKNOWN_MEMBER_ID", "FENCED_MEMBER_EPOCH"):
                    return False
                if code not in ("NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS",
                                "REQUEST_TIMED_OUT"):
                    raise RuntimeError(f"commit: {code}: {r.error_message}")
            except grpc.RpcError:
                pass
            self.forget_coordinator()
            time.sleep(RETRY_S)
        return False

    def committed_offset(self, part):
        """The committed offset of a partition just taken, or -2 (the oldest record) when none."""
        while not part.revoking.is_set():
            try:
                r = self.coordinator_stub().OffsetFetch(self.group_pb2.OffsetFetchRequest(
                    group_id=self.args.group, partitions=[self.group_pb2.TopicPartitions(topic=self.args.topic,
                                                                                         partitions=[part.number])]), timeout=10)
                if r.error_code == self.errors.NONE:
                    for p in r.partitions:
                        if p.partition == part.number and p.offset >= 0:
                            return p.offset
                    return -2
            except (grpc.RpcError, RuntimeError):
                pass
            self.forget_coordinator()
            time.sleep(RETRY_S)
        return None

    # ---- reading

    def fetch_loop(self, part):
        position = self.committed_offset(part)
        if position is None:
            return
        part.position = position
        while not part.revoking.is_set():
            try:
                r = self.records.FetchRecords(self.records_pb2.FetchRecordsRequest(
                    topic=self.args.topic, partition=part.number, offset=part.position, max_wait_ms=FETCH_WAIT_MS), timeout=30)
            except grpc.RpcError:
                time.sleep(RETRY_S)
                continue
            if part.revoking.is_set():
                return  # revoked meanwhile: these records are the next owner's
            code = self.code(r.error_code)
            if code == "OFFSET_OUT_OF_RANGE":
                part.position = -2
                continue
            if code != "NONE":
                time.sleep(RETRY_S)
                continue
            for rec in r.records:
                key = rec.key.decode() if rec.HasField("key") else ""
                headers = ",".join(f"{h.key}={h.value.decode()}" for h in rec.headers)
                emit(f"{part.number}\t{rec.offset}\t{key}\t{rec.value.decode()}\t{headers}")
            part.position = r.next_offset

    def take(self, numbers):
        for n in numbers:
            part = Partition(n)
            self.owned[n] = part  # reported as owned from now on
            part.thread = threading.Thread(target=self.fetch_loop, args=(part,), daemon=True)
            part.thread.start()
        emit(f"# assigned {self.name(numbers)}", sys.stderr)

    def revoke(self, numbers):
        """Stops reading, commits what was printed, then drops them: the next heartbeat confirms the revocation."""
        parts = [self.owned[n] for n in numbers]
        for part in parts:
            part.revoking.set()
        for part in parts:
            part.thread.join()  # the in-flight fetch ends; nothing is printed after this
            if part.position is not None and part.position >= 0:
                self.commit(part.number, part.position)
            self.last_committed.pop(part.number, None)
            del self.owned[part.number]
        emit(f"# revoked {self.name(numbers)}", sys.stderr)

    def lose(self, why):
        """Fenced: another member may own these already, so nothing is committed."""
        numbers = list(self.owned)
        for part in self.owned.values():
            part.revoking.set()
        self.owned.clear()
        self.last_committed.clear()
        self.epoch = 0
        if numbers:
            emit(f"# lost {self.name(numbers)} ({why})", sys.stderr)

    def commit_moved(self):
        """Commits the positions that moved (what was printed), so a crash re-reads little."""
        for n, part in list(self.owned.items()):
            if not part.revoking.is_set() and part.position is not None and part.position >= 0 \
                    and self.last_committed.get(n) != part.position:
                position = part.position
                if self.commit(n, position):
                    self.last_committed[n] = position

    # ---- membership

    def heartbeat(self, epoch):
        owned = sorted(self.owned)
        request = self.group_pb2.ConsumerGroupHeartbeatRequest(
            group_id=self.args.group, member_id=self.member_id, member_epoch=epoch, rebalance_timeout_ms=60000,
            subscription=self.group_pb2.ConsumerGroupHeartbeatRequest.Subscription(topic_names=[self.args.topic]),
            owned=self.group_pb2.Assignment(topics=[self.group_pb2.TopicPartitions(topic=self.args.topic, partitions=owned)]
                                            if owned else []))
        return self.coordinator_stub().ConsumerGroupHeartbeat(request, timeout=10)

    def run(self):
        last_answered = time.monotonic()
        last_commit = time.monotonic()
        interval_s = 0
        while not self.stopping.is_set():
            self.wake.wait(interval_s)
            self.wake.clear()
            if self.stopping.is_set():
                break
            if self.epoch > 0 and time.monotonic() - last_answered > self.args.session_timeout_ms / 1000:
                self.lose("no heartbeat answered for a session timeout")
            sent = time.monotonic()
            try:
                r = self.heartbeat(self.epoch)
            except (grpc.RpcError, RuntimeError):
                self.forget_coordinator()
                interval_s = RETRY_S
                continue
            code = self.code(r.error_code)
            if code == "NONE":
                last_answered = sent
                self.epoch = r.member_epoch
                wanted = set()
                for t in r.assignment.topics:
                    if t.topic == self.args.topic:
                        wanted.update(t.partitions)
                added = sorted(wanted - set(self.owned))
                revoked = sorted(set(self.owned) - wanted)
                if added:
                    self.take(added)
                if revoked:
                    self.revoke(revoked)
                    interval_s = 0  # confirm the revocation at once
                    continue
                interval_s = r.heartbeat_interval_ms / 1000
            elif code in ("FENCED_MEMBER_EPOCH", "UNKNOWN_MEMBER_ID"):
                self.lose(code)
                interval_s = 0
            elif code in ("NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS", "REQUEST_TIMED_OUT"):
                self.forget_coordinator()
                interval_s = RETRY_S
            else:
                sys.exit(f"group_consume failed: heartbeat: {code}: {r.error_message}")
            if time.monotonic() - last_commit >= 1 and self.epoch > 0:
                self.commit_moved()
                last_commit = time.monotonic()
        self.leave()

    def leave(self):
        if self.owned:
            self.revoke(sorted(self.owned))
        try:
            self.heartbeat(-1)
        except (grpc.RpcError, RuntimeError):
            pass  # the session timeout removes us anyway

    def stop(self, *_):
        self.stopping.set()
        self.wake.set()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--address", default=None, help="host:port of any broker (default $BASALT_ADDRESS or 127.0.0.1:9400)")
    ap.add_argument("--group", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--session-timeout-ms", type=int, default=45000,
                    help="give the partitions up when no heartbeat was answered for this long")
    args = ap.parse_args()
    member = Member(args)
    signal.signal(signal.SIGTERM, member.stop)
    signal.signal(signal.SIGINT, member.stop)
    member.run()


if __name__ == "__main__":
    main()
