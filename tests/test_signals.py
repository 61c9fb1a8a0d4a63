"""SIGINT and SIGTERM stop a run at the next step boundary with a checkpoint that resumes
exactly, whatever the moment and whatever disposition the process inherited."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mouthgan.training import callbacks
from mouthgan.training import checkpoints
from mouthgan.training import engine_factory
from mouthgan.evaluation import scores as evaluation
from mouthgan.training import pix2pix as gan
from mouthgan.training import handout_loop
from mouthgan.training.checkpoints import checkpoint_step
from mouthgan.data.faces import load_dataset
from mouthgan.util.run_dir import make_run_dir
from mouthgan.util.signals import Interrupted
from mouthgan.training.trainer import train
from conftest import ROOT, read_line

# Tests that train, or start Python and TensorFlow in a subprocess: the full tier.
pytestmark = pytest.mark.slow


def history_steps(run_dir):
    rows = (run_dir / "history.csv").read_text().splitlines()[1:]
    return [int(r.split(",")[0]) for r in rows]


def weights(model):
    return [w.numpy().copy() for w in model.weights]


def kill_self(signum):
    os.kill(os.getpid(), signum)


def once_at(step_of, step, action):
    """A wrapper factory: calls ``action`` the first time ``step_of()`` equals ``step``."""
    fired = []

    def maybe():
        if not fired and step_of() == step:
            fired.append(1)
            action()
    return maybe


class Moment:
    """Arms one interruption: ``arm(monkeypatch)`` patches the code so that the signal is
    sent at that moment of the next ``train`` call."""

    def __init__(self, name, signum, stops_at, arm):
        self.name, self.signum, self.stops_at, self.arm = name, signum, stops_at, arm


def during_first_trace(signum):
    def arm(mp):
        original = gan.Pix2Pix.train_step

        def traced(self, data):  # Python runs this body only while tracing
            kill_self(signum)
            return original(self, data)
        mp.setattr(gan.Pix2Pix, "train_step", traced)
    return arm


def between_d_and_g_update(signum, step):
    """Inside the compiled step: after D learned, before G learns."""
    def arm(mp):
        import tensorflow as tf

        original = gan.Pix2Pix._d_update
        calls = {"n": 0}

        def send():
            calls["n"] += 1  # one D update per step here (d_steps 1, separate: 2 calls)
            if calls["n"] == 2 * step:
                kill_self(signum)
            return np.float32(0)

        def d_update(self, *args):
            result = original(self, *args)
            with tf.control_dependencies(result):
                marker = tf.py_function(send, [], tf.float32)
            with tf.control_dependencies([marker]):
                return tuple(tf.identity(r) for r in result)
        mp.setattr(gan.Pix2Pix, "_d_update", d_update)
    return arm


def while_writing_samples(signum, step):
    def arm(mp):
        original = callbacks.SampleGrids.write

        def write(self, at_step):
            if at_step == step:
                kill_self(signum)
            return original(self, at_step)
        mp.setattr(callbacks.SampleGrids, "write", write)
    return arm


def during_evaluation(signum, step):
    def arm(mp):
        original_end = callbacks.ValidationRMSE.on_epoch_end
        original_eval = evaluation.Evaluator.__call__
        current = {}

        def on_epoch_end(self, epoch, logs=None):
            current["step"] = epoch + 1  # the step being evaluated
            return original_end(self, epoch, logs)

        def evaluate(self, generator):
            if current.get("step") == step:
                kill_self(signum)
            return original_eval(self, generator)
        mp.setattr(callbacks.ValidationRMSE, "on_epoch_end", on_epoch_end)
        mp.setattr(evaluation.Evaluator, "__call__", evaluate)
    return arm


def during_checkpoint_twice(step, first, second):
    """The first signal as the save begins, a second one halfway (after TensorFlow's
    checkpoint, before the .keras files beside it): the save must finish whole."""
    def arm(mp):
        original = checkpoints.Checkpoints.save

        def save(self):
            if self.engine.steps_done == step:
                kill_self(first)
                manager_save = self.manager.save

                def save_then_signal(*args, **kwargs):
                    path = manager_save(*args, **kwargs)
                    kill_self(second)
                    return path
                mp.setattr(self.manager, "save", save_then_signal)
            return original(self)
        mp.setattr(checkpoints.Checkpoints, "save", save)
    return arm


def while_building_models(signum):
    def arm(mp):
        original = engine_factory.build_models
        mp.setattr(engine_factory, "build_models", lambda *args: (kill_self(signum),
                                                          original(*args))[1])
    return arm


def while_loading_the_checkpoint(signum):
    def arm(mp):
        original = checkpoints.Checkpoints.restore
        mp.setattr(checkpoints.Checkpoints, "restore", lambda self: (
            original(self), kill_self(signum))[0])
    return arm


def handout_between_d_and_am(signum, step):
    def arm(mp):
        original = handout_loop.HandoutLoop.update

        def update(self, *batch):
            if self.steps_done + 1 == step:
                am = self.adversarial
                train_am = am.train_on_batch

                def first_signal_then_train(*a, **k):
                    kill_self(signum)
                    am.train_on_batch = train_am
                    return train_am(*a, **k)
                am.train_on_batch = first_signal_then_train
            return original(self, *batch)
        mp.setattr(handout_loop.HandoutLoop, "update", update)
    return arm


SIGINT, SIGTERM = signal.SIGINT, signal.SIGTERM

# Ten moments in a row, each a resume of the last: (engine, moment).
FUSED_MOMENTS = [
    Moment("first trace", SIGINT, 1, during_first_trace(SIGINT)),
    Moment("mid-step", SIGTERM, 3, between_d_and_g_update(SIGTERM, 2)),  # 2nd step of this part
    Moment("evaluation", SIGINT, 6, during_evaluation(SIGINT, 6)),
    Moment("sample grid", SIGTERM, 8, while_writing_samples(SIGTERM, 8)),
    Moment("checkpoint, twice", SIGINT, 12, during_checkpoint_twice(12, SIGINT, SIGTERM)),
    Moment("building the models", SIGTERM, 12, while_building_models(SIGTERM)),
    Moment("loading the checkpoint", SIGINT, 12, while_loading_the_checkpoint(SIGINT)),
    Moment("first step after a resume", SIGTERM, 13, between_d_and_g_update(SIGTERM, 1)),
]
HANDOUT_MOMENTS = [
    Moment("handout mid-step", SIGINT, 2, handout_between_d_and_am(SIGINT, 2)),
    Moment("handout evaluation", SIGTERM, 3, during_evaluation(SIGTERM, 3)),
]


@pytest.mark.parametrize("engine,moments,final_steps,levers,inherited", [
    ("fused", FUSED_MOMENTS, 16, {"ema": 0.9, "jitter": 0.1}, signal.default_int_handler),
    ("handout", HANDOUT_MOMENTS, 5, {}, signal.SIG_IGN),  # as a background job inherits it
])
def test_a_run_interrupted_at_each_moment_resumes_exactly(tiny_data, tmp_path, monkeypatch,
                                                          engine, moments, final_steps,
                                                          levers, inherited):
    previous = signal.signal(SIGINT, inherited)
    try:
        interrupt_and_resume(tiny_data, tmp_path, monkeypatch, engine, moments, final_steps,
                             levers, inherited)
    finally:
        signal.signal(SIGINT, previous)


def interrupt_and_resume(tiny_data, tmp_path, monkeypatch, engine, moments, final_steps,
                         levers, inherited):
    data = load_dataset(tiny_data)
    config = training_config(tiny_data, engine=engine, steps=final_steps, **levers)
    straight = train(config, data, make_run_dir(tmp_path / "straight"), verbose=0)

    run_dir = make_run_dir(tmp_path / "interrupted")
    done = 0
    for i, moment in enumerate(moments):
        with monkeypatch.context() as mp:
            moment.arm(mp)
            with pytest.raises(Interrupted) as stopped:
                train(config, data, run_dir, resume=i > 0, verbose=0)
        assert stopped.value.signum == moment.signum, moment.name
        assert stopped.value.exit_code == 128 + moment.signum
        # stopped at the step boundary right after the signal, and saved there
        assert checkpoint_step(run_dir) == moment.stops_at, moment.name
        assert history_steps(run_dir) == list(range(1, moment.stops_at + 1)), moment.name
        if moment.stops_at > done:
            assert "--resume" in str(stopped.value)
        else:
            assert "nothing new to save" in str(stopped.value)
        done = moment.stops_at
    assert signal.getsignal(signal.SIGINT) is inherited  # the handlers are put back

    resumed = train(config, data, run_dir, resume=True, verbose=0)
    assert resumed["steps"] == final_steps
    for a, b in zip(weights(straight["engine"].inference_generator),
                    weights(resumed["engine"].inference_generator)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    straight_rows = (tmp_path / "straight/history.csv").read_text().splitlines()
    resumed_rows = (run_dir / "history.csv").read_text().splitlines()
    assert len(straight_rows) == len(resumed_rows) == final_steps + 1
    for a, b in zip(straight_rows[1:], resumed_rows[1:]):
        np.testing.assert_allclose([float(v) for v in a.split(",")[:6]],
                                   [float(v) for v in b.split(",")[:6]], rtol=1e-4)


def training_config(data, **kw):
    from mouthgan.config import TrainConfig

    values = dict(data=str(data), batch_size=4, sample_every=2, eval_every=3,
                  checkpoint_every=4, flip=True, hole_weight=10.0)
    values.update(kw)
    return TrainConfig(**values)


# ----------------------------------------------------------------------- real processes

def start_long_run(data, run_dir, ignore_sigint=False, script="train.py", extra=()):
    """A practically endless training run in a child process; SIGINT inherited as ignored
    when asked (as a shell without job control starts background commands)."""
    def child_setup():
        if ignore_sigint:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    if script == "train.py":
        args = ["--data", str(data), "--steps", "100000", "--batch-size", "4",
                "--checkpoint-every", "1000", "--eval-every", "1000", "--sample-every", "2"]
    else:
        args = ["--data-dir", str(data), "--steps", "100000", "--batch-size", "4",
                "--sample-every", "2"]
    return subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / script), *args, "--run-dir", str(run_dir),
         "--quiet", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=child_setup)


def wait_for(process, ready, seconds=300):
    deadline = time.time() + seconds
    while not ready():
        assert process.poll() is None, process.communicate()[1]
        assert time.time() < deadline, "the run never got under way"
        time.sleep(0.1)


@pytest.mark.parametrize("signum,ignore_sigint", [(SIGINT, False), (SIGINT, True),
                                                  (SIGTERM, False)],
                         ids=["sigint", "sigint-inherited-ignored", "sigterm"])
def test_a_signal_stops_the_script_with_a_checkpoint_and_resume_finishes(
        tiny_data, tmp_path, signum, ignore_sigint):
    run_dir = tmp_path / "run"
    process = start_long_run(tiny_data, run_dir, ignore_sigint)
    try:
        # The first sample grid is written at step 2: training is then truly under way.
        wait_for(process, (run_dir / "samples/step_000002.png").exists)
        process.send_signal(signum)
        out, err = process.communicate(timeout=120)  # stops in seconds; 100000 steps won't
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err
    name = signal.Signals(signum).name
    assert f"{name}: stopped at step" in err and f"--resume {run_dir}" in err
    step = checkpoint_step(run_dir)
    assert step >= 2 and history_steps(run_dir) == list(range(1, step + 1))
    if not ignore_sigint:
        return  # the checkpoint is the same whatever the signal: one resume shows it

    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/train.py"), "--resume", str(run_dir),
         "--steps", str(step + 2), "--sample-every", "1000", "--quiet"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"Resuming {run_dir} at step {step}" in result.stdout
    assert history_steps(run_dir) == list(range(1, step + 3))


def test_the_dcgan_example_stops_on_a_signal_with_a_checkpoint_and_resumes(tiny_data, tmp_path):
    run_dir = tmp_path / "dcgan"
    process = start_long_run(tiny_data, run_dir, ignore_sigint=True,
                             script="dcgan_example.py")
    try:
        wait_for(process, (run_dir / "samples/step_000002.png").exists)
        process.send_signal(SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "SIGINT: stopped at step" in err
    assert f"dcgan_example.py --resume {run_dir}" in err
    step = checkpoint_step(run_dir)
    rows = (run_dir / "history.csv").read_text().splitlines()
    assert step >= 2 and len(rows) == step + 1
    for name in ("generator.keras", "discriminator.keras", "loss.png"):
        assert (run_dir / name).exists(), name

    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/dcgan_example.py"), "--resume", str(run_dir),
         "--steps", str(step + 2), "--quiet"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"Resuming {run_dir} at step {step}" in result.stdout
    assert len((run_dir / "history.csv").read_text().splitlines()) == step + 3


def test_a_signal_outside_a_training_loop_exits_at_once(tmp_path):
    """Before any step (here: while the script waits), there is nothing to save."""
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from mouthgan.util import cli\n"
            "def main(argv):\n"
            "    print('ready', flush=True); time.sleep(60)\n"
            "cli.run(main)\n" % str(ROOT))
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert read_line(process).strip() == "ready"
        process.send_signal(SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == 143
    assert err.strip() == "SIGTERM: stopped"


def test_a_stop_signal_the_loop_does_not_take_up_unblocks_the_main_thread():
    """``unblock_on_stop`` calls its abort when the loop has not taken the signal up
    within the grace (the main thread blocked in native code), and not when it has."""
    import threading

    from mouthgan.util.signals import stop_requests, unblock_on_stop

    for taken in (False, True):
        aborted, called = [], threading.Event()
        grace = 0.5 if not taken else 2.0

        def abort(signum):
            aborted.append(signum)
            called.set()

        with stop_requests() as request, unblock_on_stop(abort, grace=grace):
            os.kill(os.getpid(), signal.SIGTERM)
            deadline = time.time() + 30
            while not request and time.time() < deadline:  # the handler runs here
                time.sleep(0.01)
            request.taken = taken
            # Not taken: the abort comes, however loaded the machine (waited for, up to
            # 30 s). Taken at once: none comes in the grace and a second after it.
            called.wait(30 if not taken else grace + 1.0)
        assert request.signum == signal.SIGTERM
        assert aborted == ([] if taken else [signal.SIGTERM])
        assert not any(t.name == "unblock-on-stop" for t in threading.enumerate())
