"""The run directory: making one, ``runs/latest``, one writer at a time, and the JSON
files that describe a run (config.json, scores.json, summary.json)."""

import json
import os
import platform
import re
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from mouthgan import MouthganError, __version__

LOCK_FILE = ".lock"
CHECKPOINT_FOLDER = "checkpoint"  # mouthgan.training.checkpoints writes there
RESTORATION = "mouth-restoration"  # config.json's "kind"; files without one are this


def make_run_dir(run_dir=None, runs_root="runs", point_latest=True, preset=None):
    """Create the folder of a new run (default ``runs/<timestamp>``) and, for a run kept
    in a ``runs`` folder, point ``runs/latest`` at it, and ``runs/latest-<preset>`` when
    a preset is named (``restore.py`` takes ``runs/latest-photo`` first, see
    ``mouthgan.inference.bundled.default_model``);
    ``point_latest=False`` for runs that are not mouth restorations (the DCGAN example),
    so ``latest`` stays a model the export can use. Refuses a folder that holds a run or
    that another process writes."""
    if not run_dir:
        run_dir = Path(runs_root) / datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = Path(run_dir)
    if run_dir.is_dir():
        with run_lock(run_dir):  # refuse a folder another process is writing into
            pass
    if holds_checkpoint(run_dir):
        raise MouthganError(f"{run_dir}: holds a run already; use --resume {run_dir} "
                            "to continue it, or another --run-dir")
    if run_dir.exists() and not run_dir.is_dir():
        raise MouthganError(f"{run_dir}: exists and is not a folder; choose another --run-dir")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MouthganError(f"{run_dir}: cannot create the run folder ({exc.strerror})")
    if point_latest:
        _point_latest(run_dir)
        if preset:
            _point_latest(run_dir, f"latest-{preset}")
    return run_dir


def holds_checkpoint(run_dir):
    """Whether a run folder holds a checkpoint, of this version or of mouthgan 0.1.0:
    TensorFlow's state file names a checkpoint whose index is there (what
    ``tf.train.latest_checkpoint`` reads, without importing TensorFlow)."""
    folder = Path(run_dir) / CHECKPOINT_FOLDER
    try:
        state = (folder / "checkpoint").read_text()
    except OSError:
        return (folder / "step.json").exists()
    newest = re.search(r'^model_checkpoint_path: "(.+)"$', state, re.MULTILINE)
    return bool(newest) and (folder / f"{Path(newest.group(1)).name}.index").exists()


def _point_latest(run_dir, name="latest"):
    """runs/<name> -> the newest run (a relative symlink, swapped atomically). Only for
    runs kept in a ``runs`` folder: a run elsewhere gets no surprise sibling."""
    if run_dir.parent.name != "runs":
        return
    latest = run_dir.parent / name
    tmp = run_dir.parent / f".{name}.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(run_dir.name)
        os.replace(tmp, latest)
    except OSError:
        pass  # no symlinks on this filesystem: runs/latest is a convenience only


def writes_run_folder(config):
    """Whether this process writes the run folder: always, but in multi-worker training,
    where only the chief does: the task "chief" of ``TF_CONFIG``, else worker 0 (the
    rule ``MultiWorkerMirroredStrategy`` follows). Read from the environment, so the
    script knows it before TensorFlow starts."""
    if config.distribute != "multi-worker":
        return True
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG") or "{}")
        task = cluster.get("task", {})
        if task.get("type") == "chief":
            return True
        return (task.get("type"), int(task.get("index", 0))) == ("worker", 0) and \
            "chief" not in cluster.get("cluster", {})
    except (ValueError, AttributeError, TypeError):
        return True  # not a cluster description: make_strategy says so in one line


_held = {}  # resolved run folder -> [open lock file, depth]: reentrant within a process


@contextmanager
def run_lock(run_dir):
    """Hold the run folder's write lock for the block: a second writer (another
    ``train.py`` with the same ``--run-dir``, a ``--resume`` of a run still training)
    gets one clear error instead of a checkpoint two processes write.

    An ``flock`` on ``RUN_DIR/.lock``: the kernel drops it when its process ends, even
    by ``kill -9``, so no stale lock survives a crash. Where the platform or the file
    system has no ``flock`` (Windows, some network file systems), no lock is taken.
    """
    key = Path(run_dir).resolve()
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    handle = _acquire(Path(run_dir))
    _held[key] = [handle, 1]
    try:
        yield
    finally:
        del _held[key]
        if handle is not None:
            handle.close()  # closing the file releases the flock


def _acquire(run_dir):
    try:
        import fcntl
    except ImportError:
        return None
    try:
        handle = open(run_dir / LOCK_FILE, "a+")
    except OSError:
        return None  # a read-only folder: the write that follows will say so
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "?"
        handle.close()
        raise MouthganError(f"{run_dir}: another process (pid {owner}) is writing this run; "
                            "wait for it to end or stop it, or choose another --run-dir")
    except OSError:
        return handle  # flock unsupported here: go on unlocked
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def library_versions():
    import keras
    import numpy as np
    import tensorflow as tf

    return {"mouthgan": __version__, "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def write_config(run_dir, config, extra=None, kind=RESTORATION):
    """config.json: every resolved setting, the library versions, and which kind of run
    this is (a mouth restoration, or the DCGAN example)."""
    from mouthgan.config import to_json

    payload = {"kind": kind, "config": json.loads(to_json(config)),
               "versions": library_versions(), **(extra or {})}
    write_json(Path(run_dir) / "config.json", payload)


def write_json(path, payload):
    """Write JSON atomically (a temporary file renamed into place)."""
    from mouthgan.util.atomic import write_text

    write_text(path, json.dumps(payload, indent=2))


def read_json(path):
    """A JSON object written by ``write_json``; {} when missing or unreadable."""
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def run_kind(run_dir):
    """config.json's "kind" of a run folder; a restoration when it does not say (runs
    written before runs recorded their kind, or a folder without config.json)."""
    payload = read_json(Path(run_dir) / "config.json")
    if payload.get("kind"):
        return payload["kind"]
    # DCGAN example runs that recorded no kind: only their settings have data_dir.
    config = payload.get("config")
    return "dcgan-example" if isinstance(config, dict) and "data_dir" in config else RESTORATION


def write_models(folder, generator, discriminator):
    """``generator.keras`` and ``discriminator.keras`` in ``folder``, each written whole
    or not at all (a temporary file renamed into place)."""
    from mouthgan.util.atomic import atomic_path

    for name, model in (("generator", generator), ("discriminator", discriminator)):
        with atomic_path(Path(folder) / f"{name}.keras") as tmp:
            model.save(tmp)


def saved_model(run_dir, name="generator.keras"):
    """Where a run keeps its model ``name`` (generator.keras, discriminator.keras): the
    finished run's, else its newest checkpoint's; None when it has none. The one answer
    to "where is this run's model" (the loaders, the report, the web page ask it).
    ema_generator.keras and checkpoint.old/ are how mouthgan 0.1.0 kept a generator."""
    run_dir = Path(run_dir)
    # In a checkpoint of 0.1.0 the EMA generator, when there is one, is the evaluated one.
    names = (["ema_generator.keras"] if name == "generator.keras" else []) + [name]
    candidates = [run_dir / name] + [run_dir / folder / n for folder in
                                      ("checkpoint", "checkpoint.old") for n in names]
    return next((c for c in candidates if c.is_file()), None)


def read_config(run_dir, kind=RESTORATION):
    """The settings a run was made with: a ``TrainConfig`` for a restoration run, a
    ``DCGANConfig`` for a ``kind="dcgan-example"`` one; another kind is refused."""
    from mouthgan.config import DCGANConfig, TrainConfig

    config_class = TrainConfig if kind == RESTORATION else DCGANConfig
    path = Path(run_dir) / "config.json"
    if not Path(run_dir).is_dir():
        raise MouthganError(f"{run_dir}: run directory not found")
    if not path.exists():
        raise MouthganError(f"{path}: missing; not a mouthgan run directory")
    found = run_kind(run_dir)
    if found != kind:
        raise MouthganError(f"{run_dir}: a {found} run, not a {kind} run")
    try:
        return config_class.from_dict(json.loads(path.read_text())["config"])
    except (ValueError, KeyError, TypeError, AttributeError, MouthganError) as exc:
        raise MouthganError(f"{path}: unreadable ({exc})")
