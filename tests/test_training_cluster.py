"""examples/distributed_trainer.py on real clusters (1 ps + 2 workers, tfmini-server processes; one trainer
process per worker): asynchronous and synchronous training, a ps killed with SIGKILL and restarted mid-run,
a worker killed and restarted, a worker killed under SyncReplicasOptimizer, and ps tasks that exit after the
chief. Recovery time and steps lost are printed (run with -s to see them)."""
import glob
import os
import re
import subprocess
import sys
import time

import pytest

import tfmini as tf
from test_distributed import ProcessCluster

TRAINER = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "distributed_trainer.py")
STEP_LINE = re.compile(r"^step (\d+) global (\d+) loss ([0-9.]+) t ([0-9.]+)$")
DONE_LINE = re.compile(r"^done worker (\d+) local_steps (\d+) first_loss ([0-9.]+) last_loss ([0-9.]+)$")


class Trainer:
    """One worker's trainer process; its output (stdout and tf.logging) goes to a file."""

    def __init__(self, cluster, task_index, log_dir, *flags):
        self.path = os.path.join(log_dir, f"trainer{task_index}-{time.monotonic_ns()}.log")
        self._log = open(self.path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, TRAINER, f"--ps_hosts={','.join(cluster.spec['ps'])}",
             f"--worker_hosts={','.join(cluster.spec['worker'])}", "--existing_servers", "--job_name=worker",
             f"--task_index={task_index}", "--log_every=1", f"--data_dir={os.path.join(log_dir, 'data')}", *flags],
            stdout=self._log, stderr=subprocess.STDOUT)

    def output(self):
        with open(self.path) as f:
            return f.read()

    def steps(self):
        """[(local step, global step, loss, unix time)] printed so far."""
        matches = filter(None, map(STEP_LINE.match, self.output().splitlines()))
        return [(int(m[1]), int(m[2]), float(m[3]), float(m[4])) for m in matches]

    def wait_for_global_step(self, step, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            steps = self.steps()
            if steps and steps[-1][1] >= step:
                return steps[-1]
            assert self.proc.poll() is None, f"trainer exited early:\n{self.output()[-3000:]}"
            time.sleep(0.05)
        raise AssertionError(f"global step {step} not reached in {timeout}s:\n{self.output()[-3000:]}")

    def first_step_after(self, t, timeout=60):
        """The first step printed after unix time `t`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [s for s in self.steps() if s[3] > t]
            if later:
                return later[0]
            assert self.proc.poll() is None, f"trainer exited early:\n{self.output()[-3000:]}"
            time.sleep(0.05)
        raise AssertionError(f"no step after {t} in {timeout}s:\n{self.output()[-3000:]}")

    def wait(self, timeout=90):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"trainer still running after {timeout}s:\n{self.output()[-3000:]}") from None

    def done(self):
        m = next(filter(None, map(DONE_LINE.match, self.output().splitlines())), None)
        assert m, f"no done line:\n{self.output()[-3000:]}"
        return {"local_steps": int(m[2]), "first_loss": float(m[3]), "last_loss": float(m[4])}

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """The digits cached as the trainer's digits.npz: a trainer then starts without importing scikit-learn."""
    import numpy as np
    from sklearn.datasets import load_digits
    path = tmp_path_factory.mktemp("digits")
    digits = load_digits()
    np.savez(path / "digits.npz", x=(digits.data / 16.0).astype(np.float32), y=digits.target.astype(np.int64))
    return str(path)


@pytest.fixture
def workdir(tmp_path, data_dir):
    tmp_path.joinpath("data").symlink_to(data_dir)
    trainers = []
    yield tmp_path, trainers
    for t in trainers:
        t.close()


def start(cluster, workdir, task_index, *flags):
    tmp_path, trainers = workdir
    trainer = Trainer(cluster, task_index, str(tmp_path), *flags)
    trainers.append(trainer)
    return trainer


def cluster_in(tmp_path, *extra):
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    return ProcessCluster(str(logs), 1, 2, extra_args=["--checkpoint-dir", str(tmp_path), *extra])


def wait_exit(proc, timeout):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def test_async_training_survives_a_ps_restart_and_a_worker_restart(workdir):
    """The ps is killed (SIGKILL) and restarted: both trainers recover on their own, the chief from the last
    checkpoint. Then worker 1 is killed: the chief trains on; restarted, worker 1 rejoins. The ps exits after
    the chief is done."""
    tmp_path, _ = workdir
    ckpt, interval = str(tmp_path / "ckpt"), 20
    cluster = cluster_in(tmp_path, "--exit-after-chief")
    try:
        flags = [f"--save_checkpoint_steps={interval}", "--save_summaries_steps=10", "--step_delay=0.03",
                 "--train_steps=260"]
        chief = start(cluster, workdir, 0, f"--checkpoint_dir={ckpt}", *flags)
        worker = start(cluster, workdir, 1, *flags)
        chief.wait_for_global_step(70)
        worker.wait_for_global_step(70)
        before = max(s[1] for s in chief.steps() + worker.steps())
        killed_at = time.time()
        cluster.restart("ps", 0)  # SIGKILL, then a new process at the same address (compose's restart policy)
        restored = int(re.search(r"Restoring model from \S+model\.ckpt-(\d+)", _wait_for(chief, "Restoring model"))[1])
        after = chief.first_step_after(killed_at)
        recovery_s = after[3] - killed_at
        steps_lost = before - restored
        print(f"\nps restart: recovery {recovery_s:.2f} s (kill to the chief's first step), steps lost "
              f"{steps_lost} (global step {before} at the kill, restored {restored}; checkpoint every {interval})")
        assert 0 < restored <= before
        assert steps_lost <= interval + 2  # the interval, plus the other worker's steps between the chief's checks
        assert recovery_s < 30
        assert worker.proc.poll() is None and chief.proc.poll() is None  # no process exited
        worker.first_step_after(killed_at)  # worker 1 recovered too
        # A non-chief worker dies: the chief trains on; restarted, it rejoins.
        step_at_kill = chief.wait_for_global_step(after[1] + 10)[1]
        worker.kill()
        cluster.restart("worker", 1)
        chief.wait_for_global_step(step_at_kill + 10)
        rejoined = start(cluster, workdir, 1, *flags)
        rejoined.wait_for_global_step(step_at_kill + 11, timeout=60)
        assert chief.wait() == 0, chief.output()[-3000:]
        assert rejoined.wait() == 0, rejoined.output()[-3000:]
        result = chief.done()
        assert result["last_loss"] < 0.5 * result["first_loss"]
        # The chief wrote checkpoints (the last at the final step) and summaries into its checkpoint_dir.
        assert int(tf.train.latest_checkpoint(ckpt).rsplit("-", 1)[1]) >= 260
        tags = {v.tag for path in glob.glob(ckpt + "/events.out.tfevents.*") for e in tf.train.summary_iterator(path)
                for v in e.summary.value}
        assert {"loss", "global_step/sec"} <= tags
        # The chief's clean close told the ps: it exits (--exit-after-chief).
        assert wait_exit(cluster.procs["ps", 0], 20) == 0
    finally:
        cluster.stop()


def _wait_for(trainer, text, timeout=60):
    deadline = time.monotonic() + timeout
    while text not in trainer.output():
        assert time.monotonic() < deadline, f"{text!r} not seen:\n{trainer.output()[-3000:]}"
        assert trainer.proc.poll() is None, f"trainer exited:\n{trainer.output()[-3000:]}"
        time.sleep(0.05)
    return trainer.output()


def test_sync_replicas_training_and_a_dead_replica(workdir):
    """SyncReplicasOptimizer: both workers train, the loss falls, the chief's own task (its master) is killed and
    restarted mid-run and the chief recovers (restores the checkpoint; the ps and its token queue stayed up), the ps
    exits after the chief. Then, on a fresh
    ps each time (the token queue is closed when a chief's session ends, as in TF), a replica killed mid-run:
    1. worker 1 killed (2 of 2 gradients per step): if it died holding a token, no step can fill and the chief
       stops at the step deadline with an error naming the token queue; otherwise the chief's own gradients
       fill the steps and it finishes. Either way, no hang.
    2. The chief killed (no one aggregates, no tokens come; TF waits forever): worker 1 stops at the step
       deadline with an error naming the token queue."""
    tmp_path, _ = workdir
    ckpt = str(tmp_path / "ckpt")
    cluster = cluster_in(tmp_path, "--exit-after-chief")
    try:
        flags = ["--sync_replicas", "--train_steps=60", "--save_checkpoint_steps=10", "--step_delay=0.01"]
        chief = start(cluster, workdir, 0, f"--checkpoint_dir={ckpt}", *flags)
        worker = start(cluster, workdir, 1, *flags)
        chief.wait_for_global_step(20)
        cluster.restart("worker", 0)
        assert chief.wait() == 0, chief.output()[-3000:]
        assert "Restoring model from" in chief.output()
        assert worker.wait() == 0, worker.output()[-3000:]  # its last token dequeue ends when the chief closes
        result = chief.done()
        assert result["last_loss"] < 0.7 * result["first_loss"]
        assert max(s[1] for s in chief.steps()) >= 59
        assert worker.done()["local_steps"] >= 10  # it took part: each global step had its gradients or the chief's
        assert tf.train.latest_checkpoint(ckpt).endswith("model.ckpt-60")
        assert wait_exit(cluster.procs["ps", 0], 20) == 0

        timeout_flag = "--step_timeout_ms=4000"
        cluster.restart("ps", 0)
        chief = start(cluster, workdir, 0, "--sync_replicas", "--train_steps=80", timeout_flag)
        worker = start(cluster, workdir, 1, "--sync_replicas", "--train_steps=80", timeout_flag)
        worker.wait_for_global_step(5)
        worker.kill()
        killed_at = time.monotonic()
        rc = chief.wait(timeout=60)
        print(f"\nsync 2 of 2, worker 1 killed: the chief {'finished' if rc == 0 else 'stopped with an error'} "
              f"{time.monotonic() - killed_at:.1f} s later")
        if rc != 0:
            assert "DeadlineExceededError" in chief.output() and "sync_token_q" in chief.output(), \
                chief.output()[-3000:]
        else:
            assert max(s[1] for s in chief.steps()) >= 79

        cluster.restart("ps", 0)
        flags = ["--sync_replicas", "--train_steps=100000", timeout_flag]
        chief = start(cluster, workdir, 0, *flags)
        worker = start(cluster, workdir, 1, *flags)
        worker.wait_for_global_step(5)
        chief.kill()
        killed_at = time.monotonic()
        rc = worker.wait(timeout=60)
        elapsed = time.monotonic() - killed_at
        print(f"sync, chief killed: worker 1 stopped with an error after {elapsed:.1f} s")
        assert rc != 0 and elapsed < 30
        output = worker.output()
        assert "DeadlineExceededError" in output and "sync_token_q" in output, output[-3000:]
    finally:
        cluster.stop()
