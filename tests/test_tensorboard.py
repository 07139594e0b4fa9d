"""The real TensorBoard reads what we write: one server per loader (--load_fast=false: Python, true: Rust),
each checked through its HTTP API on a logdir holding our own run and the seed tutorial's two runs."""
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import tfmini as tf
from tfmini.protos import graph_pb2

pytest.importorskip("tensorboard")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "seed_tutorial.py"
SEED_TAGS = ["input", "weight", "output", "correct_value", "loss"]
RUNS = ["mini", "log_simple_graph", "log_simple_stats"]
MINI_STEPS = 5


def _write_mini_run(logdir):
    """A small graph of our own: scalars with known values, a histogram, an image, devices on nodes."""
    graph = tf.Graph()
    with graph.as_default():
        with tf.device("/job:localhost/replica:0/task:0/device:CPU:0"):
            step = tf.placeholder(tf.float32, [], name="step")
            w = tf.Variable(tf.constant([[1.0, -2.0, 3.0], [0.5, 0.0, 4.0]]), name="weights")
        with tf.name_scope("layer"):
            y = tf.reduce_mean(w * step, name="mean")
        tf.summary.scalar("y", y)
        tf.summary.scalar("half_step", step / 2.0, family="fam")
        tf.summary.histogram("w_hist", w)
        tf.summary.image("picture", tf.reshape(tf.range(0.0, 48.0), [1, 4, 4, 3]))
        merged = tf.summary.merge_all()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            writer = tf.summary.FileWriter(str(logdir / "mini"), sess.graph)
            for i in range(MINI_STEPS):
                writer.add_summary(sess.run(merged, {step: float(i)}), i)
            writer.close()


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tb_logdir")
    _write_mini_run(d)
    # The seed tutorial, unchanged, run where its relative log dirs land in our logdir.
    out = subprocess.run([sys.executable, str(SEED)], cwd=d, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return d


def _events(run_dir):
    events = []
    for name in sorted(os.listdir(run_dir)):
        events.extend(tf.summary.summary_iterator(str(run_dir / name)))
    return events


def _written_scalars(run_dir, tag):
    """{step: value} as written (float32), checking a step written twice (two writers) has one value."""
    found = {}
    for e in _events(run_dir):
        for v in e.summary.value:
            if v.tag == tag:
                assert found.setdefault(e.step, v.simple_value) == v.simple_value
    return found


def _written_graph(run_dir):
    graphs = [e.graph_def for e in _events(run_dir) if e.WhichOneof("what") == "graph_def"]
    assert len(graphs) == 1
    return graph_pb2.GraphDef.FromString(graphs[0])


class _TensorBoard:
    def __init__(self, logdir, load_fast):
        cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
               "--port", "0", f"--load_fast={load_fast}", "--reload_interval=1"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log, self.url = [], None
        self._found = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()  # keep reading so the pipe never fills
        if not self._found.wait(60) or self.url is None:
            self.close()
            raise AssertionError("tensorboard did not start:\n" + "".join(self.log[-30:]))

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)
            m = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
            if m and self.url is None:
                self.url = m.group(1)
                self._found.set()
        self._found.set()  # exited

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            body = r.read()
        return json.loads(body) if r.headers.get_content_type() == "application/json" else body.decode()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture(scope="module", params=["false", "true"], ids=["python_loader", "rust_loader"])
def tensorboard(request, logdir):
    tb = _TensorBoard(logdir, request.param)
    try:
        deadline = time.time() + 30
        while True:  # the first load runs in the background: wait until every run is fully there
            try:
                runs = tb.get("data/runs")
                loaded = set(RUNS) <= set(runs) and len(tb.get(
                    "data/plugin/scalars/scalars?run=log_simple_stats&tag=loss")) == 100
            except (urllib.error.URLError, ConnectionError):
                loaded = False
            if loaded:
                break
            assert time.time() < deadline, "tensorboard never loaded the logdir:\n" + "".join(tb.log[-30:])
            time.sleep(0.3)
        yield tb
    finally:
        tb.close()


def test_runs_and_plugins(tensorboard):
    assert sorted(tensorboard.get("data/runs")) == sorted(RUNS)
    plugins = tensorboard.get("data/plugins_listing")
    for name in ("scalars", "graphs", "histograms", "images"):
        assert plugins[name]["enabled"], name


def test_seed_scalars(tensorboard, logdir):
    tags = tensorboard.get("data/plugin/scalars/tags")
    assert set(tags["log_simple_stats"]) == set(SEED_TAGS)
    # Gradient descent on (w*1 - 0)^2 with rate 0.025 multiplies w by 0.95 each step; the summary is taken
    # before each step.
    expected = {"input": lambda i: 1.0, "weight": lambda i: 0.8 * 0.95 ** i, "output": lambda i: 0.8 * 0.95 ** i,
                "correct_value": lambda i: 0.0, "loss": lambda i: (0.8 * 0.95 ** i) ** 2}
    for tag in SEED_TAGS:
        written = _written_scalars(logdir / "log_simple_stats", tag)
        assert sorted(written) == list(range(100))
        points = tensorboard.get(f"data/plugin/scalars/scalars?run=log_simple_stats&tag={tag}")
        # "output" is in both files of the run (the tutorial writes it twice); TensorBoard may keep both series.
        assert len(points) in ((100, 200) if tag == "output" else (100,))
        assert {p[1] for p in points} == set(range(100))
        for wall_time, step, value in points:
            assert value == float(np.float32(written[step]))  # what we wrote, at float32 precision
            assert value == pytest.approx(expected[tag](step), rel=2e-5, abs=1e-12), (tag, step)
            assert wall_time > 1e9


def test_mini_scalars(tensorboard):
    tags = tensorboard.get("data/plugin/scalars/tags")["mini"]
    assert set(tags) == {"y", "fam/fam/half_step"}
    y = tensorboard.get("data/plugin/scalars/scalars?run=mini&tag=y")
    assert [s for _, s, _ in y] == list(range(MINI_STEPS))
    assert [v for _, _, v in y] == pytest.approx([6.5 * i / 6 for i in range(MINI_STEPS)], rel=1e-6)
    half = tensorboard.get("data/plugin/scalars/scalars?run=mini&tag=fam/fam/half_step")
    assert [v for _, _, v in half] == [i / 2 for i in range(MINI_STEPS)]


def test_graphs(tensorboard, logdir):
    info = tensorboard.get("data/plugin/graphs/info")
    for run in RUNS:
        assert info[run]["run_graph"] is True, run
        pbtxt = tensorboard.get(f"data/plugin/graphs/graph?run={run}")
        names = {n.name for n in _written_graph(logdir / run).node}
        assert names, run
        for name in names:
            assert f'name: "{name}"' in pbtxt, (run, name)
    stats = tensorboard.get("data/plugin/graphs/graph?run=log_simple_stats")
    for name in ["input", "weight", "weight/read", "output", "correct_value", "loss", "MergeSummary/MergeSummary"]:
        assert f'name: "{name}"' in stats, name
    assert "gradients/" in stats and "_output_shapes" in stats
    simple = tensorboard.get("data/plugin/graphs/graph?run=log_simple_graph")
    for name in ["Const", "Variable", "mul", "input", "weight", "output"]:
        assert f'name: "{name}"' in simple, name
    mini = tensorboard.get("data/plugin/graphs/graph?run=mini")
    assert 'device: "/job:localhost/replica:0/task:0/device:CPU:0"' in mini


def test_histograms_and_images(tensorboard):
    assert "w_hist" in tensorboard.get("data/plugin/histograms/tags")["mini"]
    histos = tensorboard.get("data/plugin/histograms/histograms?run=mini&tag=w_hist")
    assert [step for _, step, _ in histos] == list(range(MINI_STEPS))
    for _, _, buckets in histos:
        assert sum(count for _, _, count in buckets) == pytest.approx(6)
        assert min(lo for lo, _, _ in buckets) <= -2.0 and max(hi for _, hi, _ in buckets) >= 4.0
    images = tensorboard.get("data/plugin/images/tags")["mini"]
    assert "picture/image/0" in images
