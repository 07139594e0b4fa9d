"""Queues, readers, input producers, batching and the CSV/raw/string ops of TF 1.x input pipelines.

Values are checked against TensorFlow (tests/data/tf_queues.json, written by tools/make_tf_goldens.py's
queues_and_strings) where the order is deterministic, and against what TF documents elsewhere.
"""
import json
import pathlib
import struct
import threading
import time

import numpy as np
import pytest

import tfmini as tf
from tfmini.core import tfrecord
from tfmini.server.server import ClusterSpec, Server
from test_distributed import free_ports

DATA = pathlib.Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def _short(ms=300):
    return tf.RunOptions(timeout_in_ms=ms)


# -- against TensorFlow -------------------------------------------------------------------------------------
def _golden_graph():
    """The graph of make_tf_goldens.queues_and_strings, built with tfmini's API (same op names)."""
    fifo = tf.FIFOQueue(10, [tf.int32, tf.string], shapes=[[2], []], name="fifo")
    fifo.enqueue_many([[[1, 2], [3, 4], [5, 6]], [b"a", b"b", b"c"]], name="fill")
    pad = tf.PaddingFIFOQueue(10, [tf.float32], shapes=[[None]], name="pad")
    for i, v in enumerate(([1.0], [2.0, 3.0, 4.0], [5.0, 6.0])):
        pad.enqueue([tf.constant(v, tf.float32)], name=f"pad_{i}")
    prio = tf.PriorityQueue(10, [tf.string], shapes=[[]], name="prio")
    prio.enqueue_many([tf.constant([5, 1, 3, 1], tf.int64), [b"five", b"one", b"three", b"uno"]])
    fifo.close(name="close")
    fifo.dequeue_many(2, name="many")
    fifo.dequeue_up_to(5, name="rest")
    pad.dequeue_many(3, name="padded")
    prio.dequeue_many(4, name="prio_out")
    records = tf.constant(["1,2.5,x", '7,,"q,r"', "3,-1e3,"], name="records")
    tf.decode_csv(records, [[0], [0.5], ["dflt"]], name="csv")
    tf.decode_raw(tf.constant([b"\x01\x00\x02\x00", b"\xff\xff\x10\x00"]), tf.int16, name="raw")
    tf.string_to_number(tf.constant(["1.5", "-2", "3e2"]), name="number")
    tf.substr(tf.constant(["hello", "world"]), [1, 0], [3, 2], name="sub")
    tf.string_join([tf.constant(["a", "b"]), "-", tf.constant(["x", "y"])], separator="+", name="joined")
    tf.as_string(tf.constant([1.5, -2.25]), precision=2, name="text")
    tf.string_split(tf.constant(["a b  c", "", "de"]), delimiter=" ")


def _replay_golden():
    golden = json.loads((DATA / "tf_queues.json").read_text())
    with tf.Session() as sess:
        for step in golden["steps"]:
            got = sess.run(step["fetch"] + step["target"])[:len(step["fetch"])]
            for name, value, want, dtype in zip(step["fetch"], got, step["values"], step["dtypes"]):
                value = np.asarray(value)
                assert str(value.dtype) == dtype, name
                if dtype == "object":
                    want = np.vectorize(lambda s: s.encode("latin-1"), otypes=[object])(np.array(want, dtype=object))
                    assert value.tolist() == want.tolist(), name
                else:
                    np.testing.assert_allclose(value, np.asarray(want, dtype=dtype), err_msg=name)


def test_tfmini_built_queues_and_string_ops_match_tensorflow():
    _golden_graph()
    _replay_golden()


def test_tensorflow_written_queue_graph_matches_tensorflow_with_strings():
    tf.import_graph_def(tf.io.read_graph(str(DATA / "tf_graphs" / "queues_and_strings.pbtxt")), name="")
    _replay_golden()


# -- queue semantics -------------------------------------------------------------------------------------
def test_fifo_order_closing_and_errors():
    q = tf.FIFOQueue(5, tf.int32, shapes=[[]])
    fill = q.enqueue_many([[1, 2, 3]])
    one, many, up_to = q.dequeue(), q.dequeue_many(2), q.dequeue_up_to(4)
    assert one.shape.as_list() == [] and many.shape.as_list() == [2] and up_to.shape.as_list() == [None]
    with tf.Session() as sess:
        sess.run(fill)
        sess.run(q.enqueue(4))
        assert sess.run(q.size()) == 4
        assert sess.run(one) == 1
        assert sess.run(many).tolist() == [2, 3]
        close = q.close()
        sess.run(close)
        assert sess.run(q.is_closed())
        with pytest.raises(tf.errors.CancelledError, match="is closed"):
            sess.run(q.enqueue(5))
        assert sess.run(up_to).tolist() == [4]  # closed: fewer than asked
        with pytest.raises(tf.errors.OutOfRangeError, match=r"closed and has insufficient elements \(requested 1"):
            sess.run(one)
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(up_to)


def test_enqueue_checks_dtype_and_shape_when_built():
    q = tf.FIFOQueue(5, [tf.float32], shapes=[[2]])
    with pytest.raises(ValueError, match="incompatible"):
        q.enqueue([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="fully defined"):
        tf.FIFOQueue(5, [tf.float32], shapes=[[None]])
    with pytest.raises(ValueError, match="same length as dtypes"):
        tf.FIFOQueue(5, [tf.float32, tf.int32], shapes=[[2]])


def test_a_full_queue_blocks_enqueue_until_the_deadline():
    q = tf.FIFOQueue(2, tf.int32, shapes=[[]])
    with tf.Session() as sess:
        sess.run(q.enqueue_many([[1, 2]]))
        start = time.monotonic()
        with pytest.raises(tf.errors.DeadlineExceededError):
            sess.run(q.enqueue(3), options=_short())
        assert time.monotonic() - start < 1.3


def test_random_shuffle_queue_keeps_min_after_dequeue_and_shuffles():
    q = tf.RandomShuffleQueue(20, 5, tf.int32, shapes=[[]], seed=7)
    fill = q.enqueue_many([list(range(20))])
    take = q.dequeue_many(15)
    with tf.Session() as sess:
        sess.run(fill)
        first = sess.run(take)
        assert sess.run(q.size()) == 5
        with pytest.raises(tf.errors.DeadlineExceededError):  # only min_after_dequeue left: it waits
            sess.run(q.dequeue(), options=_short())
        sess.run(q.close())
        rest = sess.run(q.dequeue_up_to(10))  # closed: what is left comes out
    assert sorted(first.tolist() + rest.tolist()) == list(range(20))
    assert first.tolist() != sorted(first.tolist())
    tf.reset_default_graph()
    q = tf.RandomShuffleQueue(20, 5, tf.int32, shapes=[[]], seed=7)
    fill, take = q.enqueue_many([list(range(20))]), q.dequeue_many(15)
    with tf.Session() as sess:  # the same seeds: the same order
        sess.run(fill)
        assert sess.run(take).tolist() == first.tolist()


def test_priority_and_padding_queues():
    prio = tf.PriorityQueue(10, [tf.int32], shapes=[[]])
    fill = prio.enqueue_many([tf.constant([3, -1, 2], tf.int64), [30, -10, 20]])
    pad = tf.PaddingFIFOQueue(5, [tf.int32, tf.string], shapes=[[None, 2], []])
    pads = [pad.enqueue([np.full((n, 2), n, np.int32), f"s{n}"]) for n in (1, 3)]
    with tf.Session() as sess:
        sess.run(fill)
        p, v = sess.run(prio.dequeue_many(3))
        assert p.tolist() == [-1, 2, 3] and v.tolist() == [-10, 20, 30]
        for e in pads:
            sess.run(e)
        values, names = sess.run(pad.dequeue_many(2))
    assert values.shape == (2, 3, 2) and values[0].tolist() == [[1, 1], [0, 0], [0, 0]]
    assert names.tolist() == [b"s1", b"s3"]


def test_names_make_dicts():
    q = tf.FIFOQueue(3, [tf.int32, tf.float32], shapes=[[], []], names=["a", "b"])
    enq = q.enqueue({"a": 1, "b": 2.5})
    out = q.dequeue()
    with tf.Session() as sess:
        sess.run(enq)
        assert sess.run(out) == {"a": 1, "b": 2.5}


# -- blocking ends: the deadline, a closed session, a stopped worker ------------------------------------------
def test_dequeue_on_an_empty_queue_ends_at_the_step_deadline():
    d = tf.FIFOQueue(3, tf.float32).dequeue()
    with tf.Session() as sess:
        start = time.monotonic()
        with pytest.raises(tf.errors.DeadlineExceededError, match="Timed out waiting for notification"):
            sess.run(d, options=tf.RunOptions(timeout_in_ms=500))
        assert 0.45 < time.monotonic() - start < 1.5
    with tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=300)) as sess:
        start = time.monotonic()
        with pytest.raises(tf.errors.DeadlineExceededError):
            sess.run(d)
        assert time.monotonic() - start < 1.3


def _blocked_run(sess, fetch):
    result = {}

    def run():
        try:
            sess.run(fetch)
        except Exception as e:  # noqa: BLE001 - the test inspects it
            result["error"] = e
    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_closing_the_session_wakes_a_blocked_dequeue():
    d = tf.FIFOQueue(3, tf.float32).dequeue()
    sess = tf.Session()
    thread, result = _blocked_run(sess, d)
    time.sleep(0.3)
    assert thread.is_alive()
    start = time.monotonic()
    sess.close()
    thread.join(2)
    assert not thread.is_alive() and time.monotonic() - start < 1
    assert isinstance(result["error"], tf.errors.CancelledError)


def test_stopping_the_worker_wakes_a_blocked_dequeue():
    d = tf.FIFOQueue(3, tf.float32).dequeue()
    sess = tf.Session()
    thread, result = _blocked_run(sess, d)
    time.sleep(0.3)
    sess._master.worker.stop()
    thread.join(2)
    assert not thread.is_alive()
    assert isinstance(result["error"], tf.errors.UnavailableError)


def test_cleanup_of_the_step_wakes_a_blocked_dequeue(monkeypatch):
    from tfmini.protos import worker_pb2
    d = tf.FIFOQueue(3, tf.float32).dequeue()
    sess = tf.Session()
    worker = sess._master.worker
    steps, run_graph = [], worker.run_graph_arrays

    def recording_run_graph(request, sends, timeout=None):
        steps.append(request.step_id)
        return run_graph(request, sends, timeout)
    monkeypatch.setattr(worker, "run_graph_arrays", recording_run_graph)
    thread, result = _blocked_run(sess, d)
    time.sleep(0.3)
    worker.cleanup_graph(worker_pb2.CleanupGraphRequest(step_id=steps[-1]))
    thread.join(2)
    assert not thread.is_alive()
    assert isinstance(result["error"], tf.errors.AbortedError)
    sess.close()


# -- a queue on a ps, shared by name ---------------------------------------------------------------------
def test_a_queue_on_the_ps_is_shared_by_name_across_sessions_and_graphs():
    ports = free_ports(2)
    spec = ClusterSpec({"ps": [f"127.0.0.1:{ports[0]}"], "worker": [f"127.0.0.1:{ports[1]}"]})
    servers = [Server(spec, "ps", 0, host="127.0.0.1"), Server(spec, "worker", 0, host="127.0.0.1")]
    target = f"grpc://localhost:{ports[1]}"  # through gRPC, as a client in another process
    try:
        producer = tf.Graph()
        with producer.as_default(), tf.device("/job:ps/task:0"):
            q = tf.FIFOQueue(10, tf.int32, shapes=[[]], shared_name="shared_q")
            fill = q.enqueue_many([[10, 20, 30]])
        consumer = tf.Graph()
        with consumer.as_default(), tf.device("/job:ps/task:0"):
            q2 = tf.FIFOQueue(10, tf.int32, shapes=[[]], shared_name="shared_q", name="other_name")
            item = q2.dequeue()
            with tf.device("/job:worker/task:0"):
                doubled = item * 2
        with tf.Session(target, graph=producer) as a:
            a.run(fill)
        with tf.Session(target, graph=consumer) as b:
            assert [b.run(doubled) for _ in range(3)] == [20, 40, 60]
            with pytest.raises(tf.errors.DeadlineExceededError):
                b.run(doubled, options=_short(400))
    finally:
        for s in servers:
            s.stop()


# -- readers ---------------------------------------------------------------------------------------------
def _files(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x,y\n1,2\n3,4\n")
    b.write_text("x,y\n5,6")
    return [str(a), str(b)]


def test_text_line_reader_keys_and_values(tmp_path):
    files = _files(tmp_path)
    fq = tf.FIFOQueue(5, tf.string, shapes=[[]])
    fill = fq.enqueue_many([files])
    reader = tf.TextLineReader(skip_header_lines=1)
    key, value = reader.read(fq)
    with tf.Session() as sess:
        sess.run(fill)
        sess.run(fq.close())
        got = [sess.run([key, value]) for _ in range(3)]
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(key)
        assert sess.run(reader.num_records_produced()) == 3
    assert got == [[f"{files[0]}:2".encode(), b"1,2"], [f"{files[0]}:3".encode(), b"3,4"],
                   [f"{files[1]}:2".encode(), b"5,6"]]


def test_tfrecord_fixed_length_and_whole_file_readers(tmp_path):
    path = tmp_path / "r.tfrecord"
    path.write_bytes(b"".join(tfrecord.encode_record(r) for r in (b"first", b"second!", b"3")))
    fixed = tmp_path / "f.bin"
    fixed.write_bytes(b"HH" + struct.pack("<3i", 7, 8, 9) + b"F")
    q = tf.FIFOQueue(5, tf.string, shapes=[[]])
    fill = q.enqueue_many([[str(path)]])
    keys, values = tf.TFRecordReader().read_up_to(q, 5)
    fq = tf.FIFOQueue(5, tf.string, shapes=[[]])
    ffill = fq.enqueue_many([[str(fixed), str(fixed)]])
    fixed_reader = tf.FixedLengthRecordReader(4, header_bytes=2, footer_bytes=1)
    fkey, fvalue = fixed_reader.read(fq)
    number = tf.decode_raw(fvalue, tf.int32)
    wq = tf.FIFOQueue(5, tf.string, shapes=[[]])
    wfill = wq.enqueue_many([[str(fixed)]])
    wkey, wvalue = tf.WholeFileReader().read(wq)
    with tf.Session() as sess:
        sess.run([fill, ffill, wfill])
        sess.run(q.close())
        k, v = sess.run([keys, values])
        assert v.tolist() == [b"first", b"second!", b"3"]
        assert k.tolist() == [f"{path}:{o}".encode() for o in (0, 21, 44)]
        got = [sess.run([fkey, number]) for _ in range(3)]
        assert [g[0] for g in got] == [f"{fixed}:{i}".encode() for i in range(3)]
        assert [g[1].tolist() for g in got] == [[7], [8], [9]]
        sess.run(fixed_reader.reset())
        assert sess.run(fixed_reader.num_records_produced()) == 0
        assert sess.run(fkey) == f"{fixed}:0".encode()  # after reset: the next file, from its start
        assert sess.run([wkey, wvalue]) == [str(fixed).encode(), fixed.read_bytes()]
        assert sess.run(tf.read_file(str(fixed))) == fixed.read_bytes()
        assert sess.run(tf.matching_files(str(tmp_path / "*.bin"))).tolist() == [str(fixed).encode()]


def test_decode_csv_errors_are_tf_s():
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Expect 2 fields but have 3 in record 0"):
            sess.run(tf.decode_csv(tf.constant(["1,2,3"]), [[0], [0]]))
        with pytest.raises(tf.errors.InvalidArgumentError, match="Field 1 is required but missing in record 0"):
            sess.run(tf.decode_csv(tf.constant(["1,"]), [[0], tf.constant([], tf.int32)]))
        with pytest.raises(tf.errors.InvalidArgumentError, match="Field 0 in record 0 is not a valid int32: a"):
            sess.run(tf.decode_csv(tf.constant(["a"]), [[0]]))
        with pytest.raises(tf.errors.InvalidArgumentError, match="same size"):
            sess.run(tf.decode_raw(tf.constant([b"ab", b"abcd"]), tf.int16))
        with pytest.raises(tf.errors.InvalidArgumentError, match="could not correctly convert string: x"):
            sess.run(tf.strings.to_number(tf.constant(["x"])))
        assert sess.run(tf.decode_csv(tf.constant("a;b"), [["-"], ["-"]], field_delim=";")) == [b"a", b"b"]


# -- producers, batching, QueueRunners and the Coordinator -----------------------------------------------------
def test_slice_input_producer_and_batch_with_a_smaller_final_batch():
    x = np.arange(10, dtype=np.float32)
    y = np.arange(10, dtype=np.int64) * 10
    xs, ys = tf.train.slice_input_producer([x, y], num_epochs=1, shuffle=False)
    bx, by = tf.train.batch([xs, ys], batch_size=4, allow_smaller_final_batch=True)
    assert bx.shape.as_list() == [None] and by.dtype == tf.int64
    assert len(tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS)) == 2
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        batches = []
        try:
            while not coord.should_stop():
                batches.append(sess.run([bx, by]))
        except tf.errors.OutOfRangeError:
            pass
        finally:
            coord.request_stop()
        coord.join(threads, stop_grace_period_secs=5)
    assert [b[0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [b[1].tolist() for b in batches][2] == [80, 90]
    assert not any(t.is_alive() for t in threads)


def test_queue_fed_training_loop_stops_cleanly(tmp_path):
    """CSV files -> string_input_producer -> TextLineReader -> decode_csv -> shuffle_batch -> a linear model."""
    rng = np.random.default_rng(0)
    files = []
    for i in range(2):
        xs = rng.uniform(-1, 1, size=(64, 2))
        lines = ["x1,x2,y"] + [f"{a:.4f},{b:.4f},{3 * a - 2 * b + 1:.4f}" for a, b in xs]
        path = tmp_path / f"part{i}.csv"
        path.write_text("\n".join(lines) + "\n")
        files.append(str(path))
    filenames = tf.train.string_input_producer(files, num_epochs=20, seed=1)
    _, line = tf.TextLineReader(skip_header_lines=1).read(filenames)
    x1, x2, y = tf.decode_csv(line, record_defaults=[[0.0], [0.0], [0.0]])
    features = tf.stack([x1, x2])
    bx, by = tf.train.shuffle_batch([features, y], batch_size=16, capacity=200, min_after_dequeue=50,
                                    num_threads=2, seed=2)
    w = tf.Variable(tf.zeros([2, 1]))
    b = tf.Variable(0.0)
    pred = tf.reshape(tf.matmul(bx, w), [-1]) + b
    loss = tf.reduce_mean(tf.square(pred - by))
    train_op = tf.train.GradientDescentOptimizer(0.3).minimize(loss)
    with tf.Session() as sess:
        sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        losses = []
        try:
            for _ in range(150):
                losses.append(sess.run([train_op, loss])[1])
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=5)
        assert not any(t.is_alive() for t in threads)
        weights, bias = sess.run([w, b])
    assert losses[-1] < 0.01 * losses[0]
    np.testing.assert_allclose(weights.ravel(), [3, -2], atol=0.1)
    np.testing.assert_allclose(bias, 1, atol=0.1)


def test_epochs_run_out_and_the_queue_closes():
    names = tf.train.string_input_producer(["a", "b", "c"], num_epochs=2, shuffle=False)
    take = names.dequeue()
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        got = []
        with pytest.raises(tf.errors.OutOfRangeError):
            while True:
                got.append(sess.run(take))
        coord.request_stop()
        coord.join(threads)
    assert got == [b"a", b"b", b"c"] * 2


def test_coordinator_join_reraises_and_times_out():
    coord = tf.train.Coordinator()

    def fail():
        with coord.stop_on_exception():
            raise ValueError("boom")
    t = threading.Thread(target=fail)
    t.start()
    with pytest.raises(ValueError, match="boom"):
        coord.join([t])
    assert coord.joined
    coord.clear_stop()
    assert not coord.should_stop()
    coord.request_stop(tf.errors.OutOfRangeError(None, None, "done"))  # a clean stop: nothing to raise
    coord.join([])
    coord.clear_stop()
    release = threading.Event()
    straggler = threading.Thread(target=release.wait)
    straggler.start()
    coord.request_stop()
    with pytest.raises(RuntimeError, match="threads still running"):
        coord.join([straggler], stop_grace_period_secs=0.1)
    release.set()
    straggler.join()


def test_start_queue_runners_needs_a_session():
    q = tf.FIFOQueue(2, tf.int32, shapes=[[]])
    tf.train.add_queue_runner(tf.train.QueueRunner(q, [q.enqueue(1)]))
    with pytest.raises(ValueError, match="No default session"):
        tf.train.start_queue_runners()


def test_a_program_with_non_daemon_queue_runner_threads_exits(tmp_path):
    """The tutorial shape, with daemon=False threads: the process ends only if every thread really stopped."""
    import subprocess
    import sys
    csv_file = tmp_path / "d.csv"
    csv_file.write_text("".join(f"{i},{2 * i}\n" for i in range(40)))
    script = f"""
import tfmini as tf
files = tf.train.string_input_producer([{str(csv_file)!r}])
_, line = tf.TextLineReader().read(files)
x, y = tf.decode_csv(line, [[0.0], [0.0]])
bx, by = tf.train.shuffle_batch([x, y], batch_size=8, capacity=30, min_after_dequeue=10)
with tf.Session() as sess:
    coord = tf.train.Coordinator()
    threads = tf.train.start_queue_runners(sess, coord, daemon=False)
    for _ in range(20):
        a, b = sess.run([bx, by])
        assert (b == 2 * a).all()
    coord.request_stop()
    coord.join(threads)
print("clean exit", len(threads))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=str(pathlib.Path(__file__).resolve().parent.parent))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "clean exit 4" in done.stdout  # 1 producer + 1 batch enqueue thread, each with its close-on-stop


def test_batch_join_and_dynamic_pad():
    a = tf.train.limit_epochs(tf.constant([1, 2], tf.int32), num_epochs=2)
    b = tf.train.limit_epochs(tf.constant([7], tf.int32), num_epochs=1)
    padded = tf.train.batch([tf.reshape(b, [-1])], batch_size=1, dynamic_pad=True, shapes=[[None]])
    joined = tf.train.batch_join([[tf.reduce_sum(a)], [tf.constant(100)]], batch_size=4)
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        assert sess.run(padded).tolist() == [[7]]
        values = sess.run(joined).tolist()
        coord.request_stop()
        coord.join(threads, stop_grace_period_secs=5)
    assert set(values) <= {3, 100} and 100 in values  # one thread per list: both feed the same queue


_RUN_ON_TF = """
import json, sys
import numpy as np
import tensorflow as tf
from google.protobuf import text_format
tf.compat.v1.disable_v2_behavior()
graph_def = text_format.Parse(open(sys.argv[1]).read(), tf.compat.v1.GraphDef())
with tf.Graph().as_default() as g:
    tf.compat.v1.import_graph_def(graph_def, name="")
out = []
with tf.compat.v1.Session(graph=g) as sess:
    for step in json.load(open(sys.argv[2]))["steps"]:
        values = sess.run(step["fetch"] + step["target"])[:len(step["fetch"])]
        out.append([np.vectorize(lambda b: b.decode("latin-1"), otypes=[object])(v).tolist()
                    if np.asarray(v).dtype == object else np.asarray(v).tolist() for v in values])
print("VALUES" + json.dumps(out))
"""


def test_tfmini_built_queue_graph_runs_on_tensorflow(tmp_path, tf_python):
    import subprocess
    _golden_graph()
    path = tmp_path / "queues.pbtxt"
    path.write_text(str(tf.get_default_graph().as_graph_def()))
    golden = DATA / "tf_queues.json"
    done = subprocess.run([tf_python, "-c", _RUN_ON_TF, str(path), str(golden)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.rpartition("VALUES")[2])
    assert got == [step["values"] for step in json.loads(golden.read_text())["steps"]]
