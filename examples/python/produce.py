#!/usr/bin/env python3
"""Produce records to a Basalt topic over gRPC (RecordService.ProduceRecords) from plain Python.

    /usr/bin/python3 examples/python/produce.py --topic demo --count 10 [--address 127.0.0.1:9400] [--key-prefix k]

Any broker of the cluster may be given: it forwards each partition's records to its leader. Keyed
records are partitioned exactly as the Java client does; every record carries a header
"source: python" and "seq: N". Prints one line per acknowledged record: partition, offset, key, value.
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
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--key-prefix", default=None, help="give each record the key PREFIX-N (default: no key)")
    ap.add_argument("--batch", type=int, default=100, help="records per request")
    ap.add_argument("--value-size", type=int, default=0, help="pad each value to this many bytes (benchmarks)")
    ap.add_argument("--quiet", action="store_true", help="print only a summary line (records, seconds, records/s)")
    args = ap.parse_args()
    records_pb2, records_grpc, errors_pb2 = basalt.load()
    with grpc.insecure_channel(basalt.target(args.address)) as channel:
        stub = records_grpc.RecordServiceStub(channel)
        sent = 0
        started = time.monotonic()
        while sent < args.count:
            n = min(args.batch, args.count - sent)
            req = records_pb2.ProduceRecordsRequest(topic=args.topic)
            for i in range(sent, sent + n):
                value = f"python-{i}".encode()
                if len(value) < args.value_size:
                    value += b"." * (args.value_size - len(value))
                rec = req.records.add(value=value)
                if args.key_prefix is not None:
                    rec.key = f"{args.key_prefix}-{i}".encode()
                rec.headers.add(key="source", value=b"python")
                rec.headers.add(key="seq", value=str(i).encode())
            resp = stub.ProduceRecords(req, timeout=30)
            if resp.error_code != errors_pb2.NONE:
                sys.exit(f"produce failed: {errors_pb2.ErrorCode.Name(resp.error_code)}: {resp.error_message}")
            for p in resp.partitions:
                if p.error_code != errors_pb2.NONE:
                    sys.exit(f"partition {p.partition}: {errors_pb2.ErrorCode.Name(p.error_code)}: {p.error_message}")
                if args.quiet:
                    continue
                for j, idx in enumerate(p.record_indexes):
                    r = req.records[idx]
                    key = r.key.decode() if r.HasField("key") else ""
                    print(f"{p.partition}\t{p.base_offset + j}\t{key}\t{r.value.decode()}")
            sent += n
        if args.quiet:
            secs = time.monotonic() - started
            print(f"{sent} records in {secs:.2f} s: {sent / secs:.0f} records/s")


if __name__ == "__main__":
    main()
