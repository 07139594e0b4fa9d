"""Issue 13's distributed goals, each against its baselines measured in this same run:

- the seed's train_step (variable on a ps, compute on a worker, client in its own process; and the client as
  worker0) beside TensorFlow 2.21 and beside the protocol floor: the one-way messages the step's data
  dependencies need, each timed as a raw grpcio message on an already open stream;
- a 64 MB float32 tensor ps -> worker and fetched to the client, beside TensorFlow and beside a raw grpcio
  chunked stream (1 MB messages, the same chunking tfmini uses) of the same 64 MB: one of a prebuilt bytes
  object sent 64 times (the goal's baseline), and one of a numpy array, each chunk copied into the bytes object
  grpcio requires (it takes no memoryview), which is what any grpcio sender of an array pays.

The step's floor, client in its own process: RunStep client -> master (on worker0), RunGraph master -> ps, the
weight ps -> worker, the gradient worker -> ps, the ps's RunGraph answer -> master, RunStep's answer -> client:
6 one-way messages, each waiting on the one before. Client as worker0: 4 (no RunStep on the wire).

    .venv/bin/python bench/bench_goals.py [--steps 200] [--rounds 3] [--tf-python .venv-tf/bin/python]

The rounds alternate tfmini and TensorFlow; each figure is the median over rounds (the box is noisy).
"""
import argparse
import os
import subprocess
import sys

import grpc
import numpy as np

import bench_distributed as bd
from timing import free_ports, median_seconds

RAW_SERVER = """
import sys, time, grpc
from concurrent import futures
CHUNK, TOTAL = 1 << 20, 64 << 20
payload = bytes(CHUNK)
array = memoryview(bytearray(TOTAL))
def chunks(req, ctx):
    for _ in range(TOTAL // CHUNK):
        yield payload
def array_chunks(req, ctx):
    for start in range(0, TOTAL, CHUNK):
        yield bytes(array[start:start + CHUNK])
s = grpc.server(futures.ThreadPoolExecutor(8), options=[("grpc.max_send_message_length", -1)])
s.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Raw", {
    "Echo": grpc.stream_stream_rpc_method_handler(lambda it, ctx: (m for m in it)),
    "Chunks": grpc.unary_stream_rpc_method_handler(chunks),
    "ArrayChunks": grpc.unary_stream_rpc_method_handler(array_chunks)}),))
s.add_insecure_port("127.0.0.1:" + sys.argv[1]); s.start(); time.sleep(3600)
"""


class _OpenStream:
    """A bidirectional stream kept open: send() writes one message, and its echo is read back."""

    def __init__(self, channel):
        import queue
        self._out = queue.SimpleQueue()
        self._replies = channel.stream_stream("/bench.Raw/Echo")(iter(self._out.get, None))

    def round_trip(self, payload):
        self._out.put(payload)
        next(self._replies)

    def close(self):
        self._out.put(None)


def raw_floor(n):
    """(one-way message on an open stream in ms, GB/s of a raw 64 MB chunked stream of one prebuilt chunk, GB/s
    of one that copies each chunk out of an array)."""
    port, = free_ports(1)
    proc = subprocess.Popen([sys.executable, "-c", RAW_SERVER, str(port)])
    try:
        bd.wait_port(port)
        with grpc.insecure_channel(f"127.0.0.1:{port}",
                                   options=[("grpc.max_receive_message_length", -1)]) as channel:
            stream = _OpenStream(channel)
            payload = b"x" * 64
            one_way = median_seconds(lambda: stream.round_trip(payload), n, warmup=50) * 1e3 / 2
            stream.close()

            def pull(chunks):
                got = memoryview(np.empty(64 << 20, np.uint8))  # into one buffer, untouched until written, as tfmini's
                at = 0
                for c in chunks(b"", timeout=30):
                    got[at:at + len(c)] = c
                    at += len(c)
            gbps = [(64 << 20) / 1e9 / median_seconds(lambda: pull(channel.unary_stream(f"/bench.Raw/{rpc}")), 11,
                                                      warmup=2) for rpc in ("Chunks", "ArrayChunks")]
        return one_way, gbps[0], gbps[1]
    finally:
        proc.kill()


def one_round(args, has_tf):
    """Every figure once, in this order: the raw floor, tfmini's, TensorFlow's."""
    one_way, raw_gbps, raw_array_gbps = raw_floor(args.steps * 3)
    spec, procs = bd.start_cluster(sys.executable)
    try:
        step = bd.tfmini_step_ms(spec, args.steps)
        bw_worker, bw_client = bd.tfmini_bandwidth(spec)
    finally:
        bd.stop(procs)
    in_worker = bd.tfmini_in_worker_step_ms(args.steps)
    theirs = (bd.tf_numbers(args.tf_python, args.steps) if has_tf else None) or (None, None, None)
    theirs_in_worker = (bd.tf_numbers(args.tf_python, args.steps, in_worker=True) if has_tf else None) or (None,)
    return dict(one_way=one_way, raw_gbps=raw_gbps, raw_array_gbps=raw_array_gbps, step=step, in_worker=in_worker,
                bw_worker=bw_worker, bw_client=bw_client, tf_step=theirs[0], tf_in_worker=theirs_in_worker[0],
                tf_bw_worker=theirs[1], tf_bw_client=theirs[2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds; every figure is their median")
    ap.add_argument("--tf-python", default=os.environ.get("TFMINI_TF_PYTHON", ".venv-tf/bin/python"))
    args = ap.parse_args()
    has_tf = os.path.exists(args.tf_python)
    rounds = [one_round(args, has_tf) for _ in range(args.rounds)]
    m = {k: float(np.median([r[k] for r in rounds])) if all(r[k] for r in rounds) else None for k in rounds[0]}
    one_way, raw_gbps = m["one_way"], m["raw_gbps"]
    print(f"median of {args.rounds} round(s), {args.steps} steps each")
    print(f"raw grpcio one-way message on an open stream {one_way:7.3f} ms; raw 64 MB chunked stream "
          f"{raw_gbps:5.2f} GB/s (of an array, a copy per chunk: {m['raw_array_gbps']:5.2f} GB/s)")
    for label, key, messages in (("client -> worker0's master", "step", 6), ("client is worker0         ",
                                                                             "in_worker", 4)):
        ours, tf_ms = m[key], m["tf_" + key]
        floor = messages * one_way
        line = (f"seed train_step, {label}: tfmini {ours:6.3f} ms, floor {floor:5.3f} ms ({messages} one-way), "
                f"tfmini/floor {ours / floor:5.2f}")
        if tf_ms:
            line += f"; TF {tf_ms:6.3f} ms (TF/floor {tf_ms / floor:5.2f}), tfmini/TF {ours / tf_ms:.2f} (goal <= 0.75)"
        print(line)
    for label, key in (("ps -> worker", "bw_worker"), ("ps -> client", "bw_client")):
        ours, tf_gbps = m[key], m["tf_" + key]
        line = (f"64 MB {label}: tfmini {ours:5.2f} GB/s, tfmini/raw stream {ours / raw_gbps:.2f} (goal >= 0.9), "
                f"tfmini/raw array stream {ours / m['raw_array_gbps']:.2f}")
        if tf_gbps:
            line += f"; TF {tf_gbps:5.2f} GB/s, tfmini/TF {ours / tf_gbps:.2f} (goal >= 1.2)"
        print(line)


if __name__ == "__main__":
    main()
