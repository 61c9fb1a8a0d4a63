"""The scripts as a new user meets them: one writer per run, quiet start-up, and one
clear line (or a sensible acceptance) for each kind of bad input."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mouthgan.util.cli import STARTUP_NOTICE
from conftest import ROOT, face_like, paint, read_line

# Tests that train, or start Python and TensorFlow in a subprocess: the full tier.
pytestmark = pytest.mark.slow


def run(script, *args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600, env=env)


def assert_one_line_error(result, message):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr


@pytest.fixture(scope="module")
def gray_model(tmp_path_factory):
    """A constant-output generator file (fast to load): 0.5 everywhere."""
    from test_export import constant_generator

    return constant_generator(tmp_path_factory.mktemp("model") / "gray.keras")


# ----------------------------------------------------------------------- one writer

def hold_run_lock(run_dir):
    """Another process holding the run's lock, as a training run does."""
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from mouthgan.util.run_dir import run_lock\n"
            "with run_lock(%r):\n"
            "    print('locked', flush=True); time.sleep(300)\n" % (str(ROOT), str(run_dir)))
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert read_line(process).strip() == "locked"
    return process


def test_a_second_writer_is_refused_and_a_killed_one_leaves_no_stale_lock(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    holder = hold_run_lock(run_dir)
    try:
        for flags in (["--data", tiny_data, "--run-dir", run_dir, "--steps", "2",
                       "--batch-size", "4"],
                      ["--resume", run_dir]):
            result = run("train.py", *flags)
            assert_one_line_error(result, f"another process (pid {holder.pid}) is writing "
                                          "this run")
        assert not (run_dir / "config.json").exists()  # the refused writer wrote nothing
    finally:
        holder.kill()  # SIGKILL: the kernel drops the lock with the process
        holder.communicate()
    from mouthgan.util.run_dir import run_lock

    with run_lock(run_dir):  # the lock train.py takes: free again, nothing stale
        pass


def test_a_multi_worker_job_resumed_on_each_worker_locks_on_its_chief_only(tiny_data, tmp_path):
    import json

    from mouthgan.config import TrainConfig
    from mouthgan.util.run_dir import write_config

    # A multi-worker run's folder without a checkpoint (the workers stop before they
    # start TensorFlow's collectives), its chief still writing it.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_config(run_dir, TrainConfig(data=str(tiny_data), steps=2, batch_size=4,
                                      distribute="multi-worker", run_dir=str(run_dir)))
    cluster = {"worker": ["localhost:1", "localhost:2"]}
    holder = hold_run_lock(run_dir)
    try:
        said = {}
        for index in (0, 1):
            env = {**os.environ, "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}})}
            said[index] = run("train.py", "--resume", run_dir, env=env)
    finally:
        holder.kill()
        holder.communicate()
    # the chief is refused as any second writer is; the other worker is not, and goes on
    # to the next check
    assert_one_line_error(said[0], f"another process (pid {holder.pid}) is writing this run")
    assert_one_line_error(said[1], f"{run_dir}: no checkpoint to resume from")


def test_the_lock_is_reentrant_within_a_process_and_released_after(tmp_path):
    import fcntl

    from mouthgan.util.run_dir import LOCK_FILE, run_lock

    with run_lock(tmp_path), run_lock(tmp_path):  # train() inside a script's lock
        with open(tmp_path / LOCK_FILE) as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert (tmp_path / LOCK_FILE).read_text() == str(os.getpid())
    with open(tmp_path / LOCK_FILE) as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again


# ----------------------------------------------------------------------- quiet start-up

def test_tensorflow_start_up_notices_are_hidden_unless_asked_for(tiny_data, gray_model,
                                                                 tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    args = ("--input", tiny_data / "Test/White", "--model", gray_model, "--runtime", "keras",
            "--out", tmp_path / "p.csv")
    quiet = run("image_to_csv.py", *args, env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert not [l for l in quiet.stderr.splitlines() if STARTUP_NOTICE.match(l)], quiet.stderr
    # The notices are there to hide: a user who asks for TensorFlow's INFO lines sees them.
    loud = run("image_to_csv.py", *args, env={**env, "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert loud.returncode == 0, loud.stderr
    assert [l for l in loud.stderr.splitlines() if STARTUP_NOTICE.match(l)], loud.stderr


def test_the_quiet_import_passes_other_lines_on(tmp_path):
    from mouthgan.util import cli

    # Stand-ins for TensorFlow and Keras that write to descriptor 2 at import, as the
    # real ones' C++ does: a start-up notice, absl's note, and a warning a user must see.
    for name in ("tensorflow", "keras"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(
            "import os\n"
            f"os.write(2, b'I0000 00:00:1796189123.5 4252 port.cc:153] {name} notice\\n')\n"
            "os.write(2, b'WARNING: All log messages before absl::InitializeLog() is "
            "called are written to STDERR\\n')\n"
            f"os.write(2, b'W0000 00:00:1.0 4252 allocator.cc:1] {name} real warning\\n')\n")
    code = "from mouthgan.util import cli\ncli.import_tensorflow()\nprint('imported')\n"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0 and result.stdout == "imported\n", result.stderr
    assert sorted(result.stderr.splitlines()) == [
        "W0000 00:00:1.0 4252 allocator.cc:1] keras real warning",
        "W0000 00:00:1.0 4252 allocator.cc:1] tensorflow real warning"], result.stderr
    assert cli.STARTUP_NOTICE.match("I0000 00:00:1796189123.567230    4252 port.cc:153] x")
    assert cli.STARTUP_NOTICE.match("WARNING: All log messages before absl::InitializeLog() "
                                    "is called are written to STDERR")
    assert not cli.STARTUP_NOTICE.match("W0000 00:00:1.0 4252 allocator.cc:1] real warning")
    assert not cli.STARTUP_NOTICE.match("UserWarning: Keras says something")


def test_native_error_noise_is_dropped_and_every_other_line_kept():
    # What TensorFlow's C++ writes to descriptor 2 on a CPU machine with CUDA libraries,
    # and during a best run; then lines a user must see, from C++ and from Python.
    code = ("import os, sys\n"
            "from mouthgan.util import cli\n"
            "cli.filter_native_stderr()\n"
            "os.write(2, b'E0000 00:00:1796468451.9 4380 cuda_platform.cc:52] failed call "
            "to cuInit: INTERNAL: CUDA error: UNKNOWN ERROR (303)\\n')\n"
            "os.write(2, b'E0000 00:00:1796468461.2 4380 meta_optimizer.cc:967] remapper "
            "failed: INVALID_ARGUMENT: Mutation::Apply error: fanout exist\\n')\n"
            "os.write(2, b'E0000 00:00:1.0 1 kernel.cc:1] out of memory\\n')\n"
            "print('error: a user mistake', file=sys.stderr)\n"
            "raise SystemExit(2)\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=60, env=env)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert sorted(lines) == ["E0000 00:00:1.0 1 kernel.cc:1] out of memory",
                             "error: a user mistake"], result.stderr
    # a user who asks for every line of TensorFlow's gets the noise too
    loud = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env={**env, "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert "failed call to cuInit" in loud.stderr and "remapper failed" in loud.stderr


def test_progress_outside_a_terminal_is_plain_lines(tiny_data, tmp_path):
    # stdout is a pipe here, as under nohup or a CI runner
    result = run("train.py", "--data", tiny_data, "--run-dir", tmp_path / "run", "--steps",
                 "40", "--batch-size", "4", "--eval-every", "15", "--sample-every", "100",
                 "--checkpoint-every", "100")
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout and "\x1b" not in result.stdout
    assert "E0000" not in result.stderr, result.stderr
    steps = [int(line.split()[1].split("/")[0]) for line in result.stdout.splitlines()
             if line.startswith("step ")]
    # every 2 steps (a twentieth of the run), and the evaluations at 15 and 30
    assert steps == sorted(set(range(2, 41, 2)) | {15}), result.stdout
    evaluated = [line for line in result.stdout.splitlines()
                 if line.startswith(("step 15/", "step 30/", "step 40/"))]
    assert all("val_rmse_pasted" in line for line in evaluated), evaluated


# ----------------------------------------------------------------------- bad input

def write_images(folder, n, rng, **save):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(paint(face_like(rng))).save(folder / f"{i:03d}.png", **save)


BAD_INPUT = [
    # (script, arguments, what the one error line says); {tmp} and {data} are filled in
    ("train.py", ["--data", "{data}/Training/Real/000000.png"], "is a file, not a data folder"),
    ("train.py", ["--data", "{tmp}/nowhere"], "nowhere: data folder not found"),
    ("train.py", ["--data", "{data}", "--batch-size", "4", "--run-dir", "{tmp}/afile"],
     "afile: exists and is not a folder"),
    ("train.py", ["--data", "{data}", "--generator-filters", "0", "4"],
     "--generator-filters takes 1 to 7 widths > 0"),
    ("train.py", ["--data", "{data}", "--discriminator-filters"] + ["4"] * 8,
     "--discriminator-filters takes 1 to 7 widths > 0"),
    ("train.py", ["--resume", "{tmp}/afile"], "afile: run directory not found"),
    ("image_to_csv.py", ["--input", "{data}/Test/White", "--model", "{model}",
                         "--out", "{tmp}"], "is a folder; give the CSV's file name"),
    ("image_to_csv.py", ["--input", "{data}/Test/White", "--model", "{model}",
                         "--out", "{tmp}/afile/Predict.csv"], "Predict.csv: cannot write"),
    ("image_to_csv.py", ["--input", "{data}/Test/White", "--model", "{model}",
                         "--batch-size", "0", "--out", "{tmp}/p.csv"],
     "--batch-size must be > 0"),
    ("image_to_csv.py", ["--input", "{data}/Test/White/000100.png", "--model", "{model}",
                         "--out", "{tmp}/p.csv"], "000100.png: is a file, not a folder"),
    ("image_to_csv.py", ["--input", "{data}/Test/White", "--model", "{tmp}/afile",
                         "--out", "{tmp}/p.csv"], "afile: not a loadable Keras model"),
    ("image_to_csv.py", ["--input", "{data}/Test/White", "--model", "{tmp}/afile",
                         "--runtime", "numpy", "--out", "{tmp}/p.csv"],
     "afile: not a .keras file"),
    ("score.py", ["{tmp}", "--answers", "{data}/Test/Real"], "is a folder, not a CSV file"),
    ("score.py", ["{tmp}/afile", "--answers", "{tmp}/nowhere"], "nowhere: folder not found"),
    ("report.py", ["{tmp}/nowhere"], "nowhere: run directory not found"),
    ("dcgan_example.py", ["--data-dir", "{tmp}/nowhere", "--run-dir", "{tmp}/dcgan"],
     "Training/Real: folder not found"),
    ("dcgan_example.py", ["--data-dir", "{data}", "--batch-size", "100",
                          "--run-dir", "{tmp}/dcgan"], "--batch-size 100 is larger than the 12"),
    ("make_dataset.py", ["--out", "{tmp}/afile"], "afile: exists and is not a folder"),
]


@pytest.mark.parametrize("script,args,message", BAD_INPUT,
                         ids=[f"{s}-{m[:24]}" for s, _, m in BAD_INPUT])
def test_bad_input_gets_one_clear_line_and_leaves_nothing_behind(tiny_data, tmp_path,
                                                                  gray_model, script, args,
                                                                  message):
    (tmp_path / "afile").write_text("not what was asked for")
    before = sorted(p.name for p in tmp_path.iterdir())
    args = [a.format(tmp=tmp_path, data=tiny_data, model=gray_model) for a in args]
    assert_one_line_error(run(script, *args), message)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing half-written


def test_what_can_be_accepted_is_accepted_and_said(gray_model, tmp_path):
    """A CSV into a folder that does not exist yet, a README among the images, 16-bit
    PNGs: done, and each said once."""
    rng = np.random.default_rng(3)
    whites = tmp_path / "whites"
    write_images(whites, 2, rng)
    deep = paint(face_like(rng)).astype(np.uint16) * 257  # the same picture in 16 bits
    Image.fromarray(deep).save(whites / "002.png")
    (whites / "README.txt").write_text("my test faces")
    out = tmp_path / "new" / "folder" / "Predict.csv"
    result = run("image_to_csv.py", "--input", whites, "--model", gray_model, "--out", out)
    assert result.returncode == 0, result.stderr
    said = result.stdout + result.stderr
    assert f"{out.parent}: created" in said
    assert "skipped 1 file(s) that are not images (README.txt)" in said
    assert said.count("16-bit images scaled to 8 bits") == 1
    from mouthgan.inference.kaggle_csv import read_csv

    values = read_csv(out, 3, (128, 128)).reshape(3, 128, 128)
    top = np.asarray(Image.open(whites / "000.png"))[:80] / 255.0  # outside the hole
    np.testing.assert_allclose(values[0][:80], top, atol=1e-6)
    np.testing.assert_allclose(values[2][:80], (deep / 257.0 / 255.0)[:80], atol=1e-6)
