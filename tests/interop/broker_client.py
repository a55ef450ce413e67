#!/usr/bin/env python3
"""A gRPC client nobody on the project wrote (Debian's python3-grpcio), using
the project's .proto files: produces plain records to a broker and fetches
them back decoded.

  broker_client.py STUBS_DIR BROKER_ADDRESS TOPIC

Exit 0 when every record comes back with its key, value and offset; 1 with
a message otherwise.
"""
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from samsa.v1 import broker_pb2, broker_pb2_grpc, common_pb2  # noqa: E402


def main():
    address, topic = sys.argv[2], sys.argv[3]
    with grpc.insecure_channel(address) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        stub = broker_pb2_grpc.BrokerStub(channel)
        values = [f"python-{i}".encode() for i in range(5)]
        produce = broker_pb2.ProduceRequest(
            acks=-1,
            timeout_ms=5000,
            topics=[broker_pb2.ProduceRequest.Topic(
                name=topic,
                partitions=[broker_pb2.ProduceRequest.Partition(
                    partition=0,
                    plain=[common_pb2.Record(key=b"k", value=v) for v in values])])])
        answer = stub.Produce(produce, timeout=10).topics[0].partitions[0]
        if answer.error.code != 0:
            print(f"produce failed: {answer.error.message}")
            return 1
        fetch = broker_pb2.FetchRequest(
            decoded=True,
            max_wait_ms=1000,
            topics=[broker_pb2.FetchRequest.Topic(
                name=topic, partitions=[broker_pb2.FetchRequest.Partition(partition=0, offset=0)])])
        got = stub.Fetch(fetch, timeout=10).topics[0].partitions[0]
        if got.error.code != 0:
            print(f"fetch failed: {got.error.message}")
            return 1
        records = [(r.offset, r.key, r.value) for r in got.decoded]
        expected = [(answer.base_offset + i, b"k", v) for i, v in enumerate(values)]
        if records != expected:
            print(f"fetched {records}, expected {expected}")
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
