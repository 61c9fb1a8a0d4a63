"""Training under tf.distribute and on streamed data, on this CPU machine: the CPU split
into two logical devices, two local worker processes, 8,000 faces on disk."""

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mouthgan.config import TrainConfig
from mouthgan.data.faces import load_dataset
from conftest import ROOT, make_tiny_data

# Tests that train, or start Python and TensorFlow in a subprocess: the full tier.
pytestmark = pytest.mark.slow

# One step on 1 replica x 32 and on 2 replicas x 16, in a process of its own: the CPU
# is split into two logical devices before TensorFlow starts. d_batch "mixed": D learns
# once a step, so the comparison is of one Adam update (a second D update would start
# from weights where Adam has turned float rounding of near-zero gradients into steps
# of either sign).
ONE_STEP_ON_REPLICAS = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from mouthgan.config import TrainConfig
    from mouthgan.data.faces import load_dataset
    from mouthgan.training.engine_factory import make_engine

    data = load_dataset(sys.argv[1])
    one_device = tf.distribute.MirroredStrategy(["/cpu:0"])
    two_devices = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # one per process
    # With synchronized BatchNorm, the limited-data levers too: their state is reduced
    # over the replicas (LeCam's averages of D's verdicts, ADA's probability; p = 0 at
    # the first step, so no transform yet and the two runs still see the same pairs).
    result = {}
    for sync in (True, False):
        levers = dict(lecam=0.3, ada_target=0.6) if sync else {}
        config = TrainConfig(data=sys.argv[1], batch_size=32, flip=True, hole_weight=10.0,
                             jitter=0.1, ema=0.99, d_batch="mixed", steps=1,
                             sync_batchnorm=sync, **levers)
        one = make_engine(config, data.train, one_device)
        two = make_engine(config, data.train, two_devices)
        assert two.distribute_strategy.num_replicas_in_sync == 2
        start = [w.numpy() for w in two.generator.weights]
        one.run(1, [])
        two.run(1, [])
        diff = {}
        for name in ("generator", "discriminator", "ema_generator"):
            a, b = getattr(one, name), getattr(two, name)
            diff[name] = max(float(np.abs(x.numpy() - y.numpy()).max())
                             for x, y in zip(a.weights, b.weights))
        diff["moved"] = max(float(np.abs(x - y.numpy()).max())
                            for x, y in zip(start, two.generator.weights))
        # Adam's first moments after one step are (1 - beta_1) x the gradients: unlike
        # the weights (about lr x sign), they keep the gradients' scale, so a loss
        # averaged per replica instead of over the global batch shows here.
        for name in ("g_optimizer", "d_optimizer"):
            a, b = getattr(one, name)._momentums, getattr(two, name)._momentums
            diff[name] = max(float(np.abs(x.numpy() - y.numpy()).max()) /
                             max(float(np.abs(x.numpy()).max()), 1e-12) for x, y in zip(a, b))
        if sync:
            diff["lecam"] = [one.lecam_averages.numpy().tolist(),
                             two.lecam_averages.numpy().tolist()]
            diff["ada_p"] = [float(one.ada_probability.numpy()),
                             float(two.ada_probability.numpy())]
        result[str(sync)] = diff
    from mouthgan.data.batches import training_batches
    batches = two_devices.distribute_datasets_from_function(
        lambda context: training_batches(two.source, config, 0, context))
    real = next(iter(batches))[0]
    result["per_replica"] = [int(x.shape[0]) for x in two_devices.experimental_local_results(real)]
    print("RESULT " + json.dumps(result))
""")


def python_env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_two_replicas_take_the_step_of_one_device(tmp_path):
    data = make_tiny_data(tmp_path / "NLP_data", n_train=40)
    result = subprocess.run([sys.executable, "-c", ONE_STEP_ON_REPLICAS, str(data)],
                            capture_output=True, text=True, timeout=600, env=python_env())
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(l for l in result.stdout.splitlines() if l.startswith("RESULT "))
    diff = json.loads(line[len("RESULT "):])
    synced, unsynced = diff["True"], diff["False"]
    assert diff["per_replica"] == [16, 16]  # each replica takes its half of the 32
    assert synced["moved"] > 1e-4  # a real step: the weights moved by Adam's ~lr
    # the gradients, to their scale (relative to the largest first moment)
    assert synced["g_optimizer"] < 1e-3 and synced["d_optimizer"] < 1e-3, synced
    # G, D and G's average equal to float rounding with synchronized BatchNorm...
    for name in ("generator", "discriminator", "ema_generator"):
        assert synced[name] < 5e-5, (name, synced)
    # ...and not without it: each replica normalising its half is another step.
    assert unsynced["generator"] > 20 * synced["generator"]
    assert unsynced["discriminator"] > 20 * synced["discriminator"]
    # LeCam's averages and ADA's probability: one value for the global batch
    assert abs(synced["lecam"][0][0]) > 1e-4, synced  # they moved
    np.testing.assert_allclose(synced["lecam"][1], synced["lecam"][0], rtol=1e-4, atol=1e-7)
    assert synced["ada_p"][0] == pytest.approx(synced["ada_p"][1])


def test_streamed_and_in_memory_faces_give_the_same_batches(tiny_data):
    from mouthgan.data.batches import FaceFiles, FacesInMemory, draw_batch, training_batches
    from mouthgan.data.faces import load_dataset as load

    files = load(tiny_data, read_training=False).train
    arrays = files.read()
    config = TrainConfig(data=str(tiny_data), batch_size=8, flip=True, hole_weight=10.0,
                         jitter=0.2, shift=2)
    memory = FacesInMemory(arrays.real, arrays.white, config)
    stream = FaceFiles(files.real_files, files.white_files, config)
    for step in (0, 5):
        for a, b in zip(draw_batch(memory, config, step), draw_batch(stream, config, step)):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    # the pipeline yields them in step order from any start
    streamed = next(training_batches(stream, config, 5).as_numpy_iterator())
    np.testing.assert_array_equal(streamed[0], draw_batch(memory, config, 5)[0].numpy())


def test_input_auto_streams_beyond_the_memory_budget(monkeypatch):
    from mouthgan.data import faces as data

    config = TrainConfig(flip=True, hole_weight=10.0)
    assert data.input_mode(700, config) == "memory"
    assert data.input_mode(20_000, config) == "stream"  # 20k x 128 x 128 x 3 x 2 > 1 GiB
    assert data.input_mode(700, replace(config, input="stream")) == "stream"
    assert data.input_mode(20_000, replace(config, input="memory")) == "memory"


# Ports for the workers' servers are taken below the system's ephemeral range, which the
# kernel hands to other programs' sockets: a port found free there stays free until a
# worker binds it, unless another test takes it, which the lock files rule out.
PORT_RANGE = (20000, 32000)


@contextlib.contextmanager
def free_ports(n):
    """``n`` ports that nothing listens on, each held by a lock file of this machine
    (``/tmp``) while the block runs, so that two tests running at once never share one."""
    rng = np.random.default_rng()
    held = []
    try:
        while len(held) < n:
            port = int(rng.integers(*PORT_RANGE))
            lock = open(Path(tempfile.gettempdir()) / f"mouthgan-test-port-{port}.lock", "w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                with socket.socket() as probe:
                    probe.bind(("", port))
            except OSError:
                lock.close()
                continue
            held.append((port, lock))
        yield [port for port, _ in held]
    finally:
        for _, lock in held:
            lock.close()


def start_workers(workers, data, run_dir, steps, ports, log_dir, attempt, count=None,
                  extra=(), sigint_ignored=False):
    """Start one worker a port (the first ``count`` of them), each appended to
    ``workers`` as it starts: a caller that stops ``workers`` in a ``finally`` stops the
    first if the second fails to start."""
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    for index in range(count or len(ports)):
        env = {**python_env(), "TF_CONFIG": json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}})}
        with open(log_dir / f"worker{index}-{attempt}.log", "w") as log:
            workers.append(subprocess.Popen(
                [sys.executable, str(ROOT / "scripts/train.py"), "--data", str(data),
                 "--run-dir", str(run_dir), "--distribute", "multi-worker", "--steps",
                 str(steps), "--batch-size", "4", "--checkpoint-every", "10",
                 "--eval-every", "50", "--sample-every", "50", "--quiet", *extra],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                preexec_fn=ignore_sigint if sigint_ignored else None))


def ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop(processes):
    for p in processes:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def wait_for(condition, seconds, what):
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, f"no {what} in {seconds} s"
        time.sleep(0.2)


def last_line(log):
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    return text.strip().splitlines()[-1]


def test_multi_worker_job_resumes_after_a_worker_is_killed(tiny_data, tmp_path):
    from mouthgan.training.checkpoints import checkpoint_step

    run_dir, steps = tmp_path / "run", 20
    workers = []
    with free_ports(2) as ports:
        try:
            start_workers(workers, tiny_data, run_dir, steps, ports, tmp_path, 1)
            wait_for(lambda: checkpoint_step(run_dir) >= 10 or any(
                w.poll() is not None for w in workers), 300, "checkpoint")
            assert all(w.poll() is None for w in workers), \
                (tmp_path / "worker0-1.log").read_text()[-3000:]
            # Worker 1 stuck (stopped, not gone): worker 0 waits for it inside
            # TensorFlow, where no signal handler runs, and still stops on SIGTERM:
            # within the stop grace (20 s) and the health check's tries (3 x 5 s), and
            # without TensorFlow's teardown, which waited on the stuck peer for 18-34 s.
            os.kill(workers[1].pid, signal.SIGSTOP)
            time.sleep(3)  # worker 0 is in its next exchange by now, for good
            os.kill(workers[0].pid, signal.SIGTERM)
            assert workers[0].wait(timeout=60) == 143
            killed_at = checkpoint_step(run_dir)
            assert 10 <= killed_at < steps
            assert last_line(tmp_path / "worker0-1.log") == (
                f"SIGTERM: stopped while waiting for a peer; the last checkpoint (step "
                f"{killed_at}) is in {run_dir}; continue with the same command on every worker")
            workers[1].kill()  # kill -9: the job is broken; its scheduler restarts it
        finally:
            stop(workers)
    assert not (run_dir / "summary.json").exists()

    # The same command again, on both workers: it resumes from the last checkpoint.
    workers = []
    with free_ports(2) as ports:
        try:
            start_workers(workers, tiny_data, run_dir, steps, ports, tmp_path, 2)
            codes = [w.wait(timeout=600) for w in workers]
        finally:
            stop(workers)
    logs = [(tmp_path / f"worker{i}-2.log").read_text() for i in range(2)]
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert f"Resuming {run_dir} at step " in logs[0]
    resumed_at = int(logs[0].split(f"Resuming {run_dir} at step ")[1].split()[0])
    assert resumed_at >= killed_at  # lost at most --checkpoint-every steps
    assert "Resuming" not in logs[1]  # only the chief (worker 0) writes or reports
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == steps
    rows = (run_dir / "history.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(1, steps + 1))
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["distribute"] == "multi-worker" and config["replicas"] == 2

    # Trained on 2 replicas, it continues on 1 device.
    more = subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), "--resume",
                           str(run_dir), "--distribute", "none", "--steps", str(steps + 5),
                           "--quiet"], capture_output=True, text=True, timeout=300,
                          env=python_env())
    assert more.returncode == 0, more.stderr[-3000:]
    assert f"Resuming {run_dir} at step {steps}" in more.stdout
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == steps + 5
    assert json.loads((run_dir / "config.json").read_text())["replicas"] == 1


def test_a_worker_whose_peer_dies_ends_in_one_line(tiny_data, tmp_path):
    """kill -9 of one worker mid-run: TensorFlow's health check finds it gone and the
    other worker ends by itself, in one line naming the last checkpoint."""
    from mouthgan.training.checkpoints import checkpoint_step

    run_dir, workers = tmp_path / "run", []
    with free_ports(2) as ports:
        try:
            start_workers(workers, tiny_data, run_dir, 100_000, ports, tmp_path, 1)
            wait_for(lambda: checkpoint_step(run_dir) >= 10 or any(
                w.poll() is not None for w in workers), 300, "checkpoint")
            workers[1].kill()
            assert workers[0].wait(timeout=90) == 2
        finally:
            stop(workers)
    line = last_line(tmp_path / "worker0-1.log")
    step = checkpoint_step(run_dir)
    assert line.startswith("error: a peer stopped answering (")
    assert line.endswith(f"the last checkpoint (step {step}) is in {run_dir}; continue "
                         "with the same command on every worker")


def test_a_worker_whose_peer_never_comes_gives_up_or_stops_on_a_signal(tiny_data, tmp_path):
    """The peer never starts: the worker ends after --peer-timeout in one line, and
    before it on SIGTERM, or on SIGINT even when it was started with SIGINT ignored
    (as a background shell starts commands)."""
    waiting = "waiting at most"
    with free_ports(2) as ports:
        for attempt, (signum, timeout, code) in enumerate(
                [(None, 5, 2), (signal.SIGTERM, 300, 143), (signal.SIGINT, 300, 130)]):
            log = tmp_path / f"worker0-{attempt}.log"
            workers = []
            try:
                start_workers(workers, tiny_data, tmp_path / f"run{attempt}", 10, ports,
                              tmp_path, attempt, count=1,
                              extra=("--peer-timeout", str(timeout)),
                              sigint_ignored=signum == signal.SIGINT)
                if signum is not None:
                    wait_for(lambda: waiting in log.read_text(), 120, "start")
                    time.sleep(1)
                    os.kill(workers[0].pid, signum)
                assert workers[0].wait(timeout=120) == code, log.read_text()[-3000:]
            finally:
                stop(workers)
            assert f"{waiting} {timeout} s for the others (--peer-timeout)" in log.read_text()
            expected = {None: f"error: no answer from the other workers within {timeout} s "
                              "(--peer-timeout): start the same command on every worker "
                              f"TF_CONFIG names (localhost:{ports[0]}, localhost:{ports[1]})",
                        signal.SIGTERM: "SIGTERM: stopped", signal.SIGINT: "SIGINT: stopped"}
            assert last_line(log) == expected[signum]


# Peak memory of a streamed run, in a process of its own (ru_maxrss is per process).
PEAK_MEMORY_OF_A_RUN = textwrap.dedent("""
    import resource, sys
    from mouthgan.commands import train
    train.main(sys.argv[1:])
    print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")


def distinct_faces(source, root, n):
    """A data folder of ``n`` training pairs, each file different: ``source``'s faces
    with the pair's number written into a corner's pixels (outside the hole), so that
    nothing keyed by content (the hole cache, a decoder's) can serve two of them."""
    from PIL import Image

    names = sorted(p.name for p in (source / "Training/Real").iterdir())
    faces = {role: [np.asarray(Image.open(source / "Training" / role / name))
                    for name in names] for role in ("Real", "White")}
    for role in ("Real", "White"):
        folder = root / "Training" / role
        folder.mkdir(parents=True)
        for i in range(n):
            face = faces[role][i % len(names)].copy()
            face[0, :3] = (i // 65536, i // 256 % 256, i % 256)
            Image.fromarray(face).save(folder / f"{i:06d}.png", compress_level=1)
    os.symlink(source / "Validation", root / "Validation")
    return root


def test_streamed_training_memory_does_not_grow_with_the_faces(tmp_path):
    """Peak memory of a streamed run that reads 128 of 700 faces against one that reads
    2,560 of 8,000 distinct faces: the same, so nothing is kept per face read or per
    face in the folder."""
    source = make_tiny_data(tmp_path / "base", n_train=50, n_test=0, n_val=4)
    peak_kb = {}
    for n, steps in ((700, 4), (8_000, 80)):
        data = distinct_faces(source, tmp_path / f"data{n}", n)
        result = subprocess.run(
            [sys.executable, "-c", PEAK_MEMORY_OF_A_RUN, "--data", str(data), "--input",
             "stream", "--steps", str(steps), "--eval-every", str(steps), "--sample-every",
             str(steps), "--checkpoint-every", str(steps), "--run-dir",
             str(tmp_path / f"run{n}"), "--quiet"],
            capture_output=True, text=True, timeout=600, env=python_env(), cwd=ROOT)
        assert result.returncode == 0, result.stderr[-3000:]
        config = json.loads((tmp_path / f"run{n}" / "config.json").read_text())
        assert config["input_source"] == "FaceFiles" and config["config"]["steps"] == steps
        peak_kb[n] = int(result.stdout.split("PEAK_KB")[1].split()[0])
    # held in memory, 8,000 faces would take ~0.33 MB each (RESULTS.md, scale.py)
    assert peak_kb[8_000] <= 1.10 * peak_kb[700], peak_kb


def test_tfrecords_visit_every_pair_once_an_epoch_and_resume_exactly(tiny_data, tmp_path):
    from mouthgan.data.batches import FaceRecords, choose_source, hole_masks, training_batches
    from mouthgan.data.faces import RecordShards, to_model_range
    from mouthgan.data.records import write_records
    from mouthgan.util.run_dir import make_run_dir
    from mouthgan.training.trainer import train

    out = tmp_path / "records"
    assert write_records(tiny_data, out, shards=3) == (12, 3)
    data = load_dataset(out)
    assert isinstance(data.train, RecordShards) and len(data.train) == 12
    assert data.validation is not None and len(data.test) == 3  # copied beside them
    config = TrainConfig(data=str(out), batch_size=4, hole_weight=10.0)  # 3 steps an epoch
    source = choose_source(data.train, config)
    assert isinstance(source, FaceRecords)

    from_0 = list(training_batches(source, config, 0).take(6).as_numpy_iterator())
    from_4 = list(training_batches(source, config, 4).take(2).as_numpy_iterator())
    for a, b in zip(from_0[4:], from_4):  # resumed at step 4: the same batches
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    arrays = load_dataset(tiny_data).train
    stored, holes = to_model_range(arrays.real), hole_masks(arrays.white)
    orders = []
    for epoch in (0, 1):
        batches = from_0[3 * epoch:3 * epoch + 3]
        order = []
        for real, white, hole in batches:
            for r, h in zip(real, hole):
                i = next(i for i, s in enumerate(stored) if np.array_equal(r, s))
                np.testing.assert_array_equal(h, holes[i])  # the stored box is the hole
                order.append(i)
        assert sorted(order) == list(range(12))  # every pair once an epoch
        orders.append(order)
    assert orders[0] != orders[1]  # each epoch in its own order

    run = train(replace(config, steps=4, sample_every=2, eval_every=2, checkpoint_every=2),
                data, make_run_dir(tmp_path / "run"), verbose=0)
    assert run["steps"] == 4
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["input_source"] == "FaceRecords"


def test_an_unreadable_streamed_image_stops_the_run_in_one_line(tiny_data_copy, tmp_path):
    (tiny_data_copy / "Training/Real/000003.png").write_bytes(b"not a png")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/train.py"), "--data", str(tiny_data_copy),
         "--input", "stream", "--batch-size", "8", "--steps", "20", "--quiet",
         "--run-dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300, env=python_env())
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 1 and "a training image could not be read" in errors[0], \
        result.stderr[-2000:]
    assert str(tiny_data_copy) in errors[0]
