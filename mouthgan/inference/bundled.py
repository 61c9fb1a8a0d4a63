"""The trained generators that ship inside the package, so a photo can be restored
before anything is trained.

Each bundled model is two files in ``mouthgan/inference/weights/``: ``NAME.keras``, an ordinary
Keras model file whose weights are stored in float16 (half the size; the model computes
in float32, see ``halve``), and ``NAME.json``, its model card: the command and seed
that trained it, the data, the run's settings, and the figures measured on the bundled
file itself. ``scripts/bundle_model.py`` makes both from a run.

A bundled model is named on the command line as ``bundled:NAME``; ``restore.py`` takes
``bundled:photo`` and ``image_to_csv.py`` ``bundled:default`` when the user has no run.
"""

import json
import tempfile
import zipfile
from pathlib import Path

from mouthgan import MouthganError
from mouthgan.util.atomic import atomic_path

WEIGHTS_DIR = Path(__file__).parent / "weights"
PREFIX = "bundled:"


def bundled_names():
    """The names of the bundled models, sorted."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.keras") if "." not in p.stem)


def is_bundled(spec):
    return str(spec).startswith(PREFIX)


def bundled_file(spec):
    """The ``.keras`` file of ``bundled:NAME``; one line naming the choices if there is
    no such model."""
    name = str(spec)[len(PREFIX):]
    path = WEIGHTS_DIR / f"{name}.keras"
    if not path.is_file():
        choices = ", ".join(PREFIX + n for n in bundled_names()) or "none"
        raise MouthganError(f"{spec}: no such bundled model (bundled: {choices})")
    return path


def discriminator_file(generator_file):
    """The discriminator beside a generator: a run's ``discriminator.keras``, a bundled
    model's ``NAME.discriminator.keras`` (what ``train.py --init`` fine-tunes)."""
    generator_file = Path(generator_file)
    if generator_file.parent == WEIGHTS_DIR:
        return generator_file.with_name(f"{generator_file.stem}.discriminator.keras")
    return generator_file.with_name("discriminator.keras")


def card(spec_or_path):
    """The model card (a dict) of ``bundled:NAME`` or of a bundled ``.keras`` file."""
    path = bundled_file(spec_or_path) if is_bundled(spec_or_path) else Path(spec_or_path)
    return json.loads(path.with_suffix(".json").read_text())


def describe(spec, why=""):
    """One line: which bundled model, why it is used (``why``), how it was trained."""
    c = card(spec)
    return (f"{spec} ({why}the model that ships with mouthgan: {c['summary']}; trained "
            f"by `{c['command']}`; Validation RMSE {c['scores']['validation_rmse']:.4f})")


def default_model(purpose, runs_root="runs"):
    """The model a script uses when the user names none: the newest suitable run, else
    the bundled one. ``purpose``: "photo" (``restore.py``: realism first, the newest
    run of ``--preset photo``, else the newest run) or "kaggle" (``image_to_csv.py``:
    the newest run). Returns (model, a note: why it was chosen)."""
    runs = Path(runs_root)
    if purpose == "photo" and (runs / "latest-photo").exists():
        return str(runs / "latest-photo"), " (the newest run of --preset photo)"
    if (runs / "latest").exists():
        note = (" (the newest run; no run of --preset photo, the recipe for photos)"
                if purpose == "photo" else " (the newest run)")
        return str(runs / "latest"), note
    return PREFIX + ("photo" if purpose == "photo" else "default"), f"no run in {runs}/; "


def models_to_use(given, purpose, runs_root="runs"):
    """The models a script runs: those given, else ``default_model(purpose)``; one line
    printed for a model chosen for the user and for each bundled one (which, and how
    it was trained)."""
    models, why = list(given or []), ""
    if not models:
        model, why = default_model(purpose, runs_root)
        models = [model]
        if not is_bundled(model):
            print(f"model: {model}{why}")
    for model in models:
        if is_bundled(model):
            print(f"model: {describe(model, why)}")
    return models


def halve(src, dst, float32_compute=True):
    """Write the ``.keras`` file ``src`` to ``dst`` with its float32 weights stored in
    float16: a standard Keras file, half the size; Keras casts the weights back to
    float32 variables on loading. ``float32_compute``: a model trained in
    mixed_bfloat16 (on AMX) computes in float32 instead, the arithmetic every CPU runs
    fast (bfloat16 without AMX is emulated, several times slower).

    Why by hand: Keras saves weights in the variables' dtype and has no option to store
    them narrower."""
    import h5py
    import numpy as np

    with zipfile.ZipFile(src) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    if float32_compute:
        graph = json.loads(files["config.json"])
        _set_policies(graph, "mixed_bfloat16", "float32")
        files["config.json"] = json.dumps(graph).encode()
    with tempfile.TemporaryDirectory() as tmp:
        full, half = Path(tmp) / "full.h5", Path(tmp) / "half.h5"
        full.write_bytes(files["model.weights.h5"])
        with h5py.File(full) as source, h5py.File(half, "w") as target:
            def copy(name, item):
                if isinstance(item, h5py.Dataset):
                    data = item[()]
                    target.create_dataset(
                        name, data=data.astype(np.float16) if data.dtype == np.float32 else data)
                else:
                    target.require_group(name)
                target[name].attrs.update(item.attrs)

            source.visititems(copy)
            target.attrs.update(source.attrs)
        files["model.weights.h5"] = half.read_bytes()
    with atomic_path(dst) as partial:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)


def _set_policies(node, old, new):
    """Every DTypePolicy named ``old`` in a Keras model config, renamed ``new``."""
    if isinstance(node, dict):
        if node.get("class_name") == "DTypePolicy" and node["config"].get("name") == old:
            node["config"]["name"] = new
        for value in node.values():
            _set_policies(value, old, new)
    elif isinstance(node, list):
        for value in node:
            _set_policies(value, old, new)
