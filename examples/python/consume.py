#!/usr/bin/env python3
"""Read a Basalt partition over gRPC (RecordService.FetchRecords), as an assign-based consumer.

    /usr/bin/python3 examples/python/consume.py --topic demo [--partition 0] [--from earliest|latest|N] [--count N]

Prints one line per record: partition, offset, key, value, headers (k=v,...). Stops after --count
records, or runs until Ctrl-C.
"""
import argparse
import sys
import time

import grpc

import basalt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--address", default=None, help="host:port of any broker (default $BASALT_ADDRESS or 127.0.0.1:9400)")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partition", type=int, default=0)
    ap.add_argument("--from", dest="start", default="earliest", help="earliest, latest or an offset")
    ap.add_argument("--count", type=int, default=0, help="stop after this many records (0: never)")
    ap.add_argument("--quiet", action="store_true", help="print only a summary line (records, seconds, records/s)")
    args = ap.parse_args()
    records_pb2, records_grpc, errors_pb2 = basalt.load()
    offset = {"earliest": -2, "latest": -1}.get(args.start)
    offset = int(args.start) if offset is None else offset
    seen = 0
    started = time.monotonic()
    with grpc.insecure_channel(basalt.target(args.address)) as channel:
        stub = records_grpc.RecordServiceStub(channel)
        while args.count == 0 or seen < args.count:
            resp = stub.FetchRecords(records_pb2.FetchRecordsRequest(topic=args.topic, partition=args.partition, offset=offset,
                                                                     max_wait_ms=1000), timeout=30)
            if resp.error_code != errors_pb2.NONE:
                sys.exit(f"fetch failed: {errors_pb2.ErrorCode.Name(resp.error_code)}: {resp.error_message}")
            if args.quiet:
                seen += len(resp.records)
                offset = resp.next_offset
                continue
            for r in resp.records:
                key = r.key.decode() if r.HasField("key") else ""
                headers = ",".join(f"{h.key}={h.value.decode()}" for h in r.headers)
                print(f"{args.partition}\t{r.offset}\t{key}\t{r.value.decode()}\t{headers}", flush=True)
                seen += 1
                if args.count and seen >= args.count:
                    break
            offset = resp.next_offset
    if args.quiet:
        secs = time.monotonic() - started
        print(f"{seen} records in {secs:.2f} s: {seen / secs:.0f} records/s")


if __name__ == "__main__":
    main()
