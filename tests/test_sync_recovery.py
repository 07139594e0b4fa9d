"""SyncReplicasOptimizer after a ps restart (examples/distributed_trainer.py, 1 ps + 2 workers, real
tfmini-server processes): the ps is SIGKILLed and restarted mid-run; both trainers recover on their own, the
chief restores the last checkpoint, its init re-creates the token queue and the accumulators on the fresh ps,
and training finishes. Recovery time and steps lost are printed (run with -s)."""
import re
import time

import tfmini as tf
from test_training_cluster import _wait_for, cluster_in, data_dir, start, wait_exit, workdir  # noqa: F401


def test_sync_replicas_training_recovers_from_a_ps_restart(workdir):  # noqa: F811 - the fixture
    tmp_path, _ = workdir
    ckpt, interval, steps = str(tmp_path / "ckpt"), 10, 70
    cluster = cluster_in(tmp_path, "--exit-after-chief")
    try:
        flags = ["--sync_replicas", f"--train_steps={steps}", f"--save_checkpoint_steps={interval}",
                 "--step_delay=0.02"]
        chief = start(cluster, workdir, 0, f"--checkpoint_dir={ckpt}", *flags)
        worker = start(cluster, workdir, 1, *flags)
        chief.wait_for_global_step(25)
        before = max(s[1] for s in chief.steps() + worker.steps())
        killed_at = time.time()
        cluster.restart("ps", 0)  # SIGKILL; a fresh process (no variables, no queue, no accumulators) at the address
        restored = int(re.search(r"Restoring model from \S+model\.ckpt-(\d+)", _wait_for(chief, "Restoring model"))[1])
        after = chief.first_step_after(killed_at)
        worker.first_step_after(killed_at)  # the other replica takes part again
        recovery_s, steps_lost = after[3] - killed_at, before - restored
        print(f"\nsync ps restart: recovery {recovery_s:.2f} s (kill to the chief's first step), steps lost "
              f"{steps_lost} (global step {before} at the kill, restored {restored}; checkpoint every {interval})")
        assert 0 < restored <= before
        assert steps_lost <= interval + 1
        assert recovery_s < 30
        assert chief.wait() == 0, chief.output()[-3000:]
        assert worker.wait() == 0, worker.output()[-3000:]
        result = chief.done()
        assert result["last_loss"] < 0.7 * result["first_loss"]
        assert tf.train.latest_checkpoint(ckpt).endswith(f"model.ckpt-{steps}")
        assert wait_exit(cluster.procs["ps", 0], 20) == 0
    finally:
        cluster.stop()
