"""Loading generators: a run directory, a ``.keras`` file or a bundled model, checked
to be a mouth-restoration generator, in Keras or in NumPy; several as one ensemble;
and how the run a model comes from was evaluated.
"""

import json
import sys
import zipfile
from pathlib import Path

import numpy as np

from mouthgan import MouthganError
from mouthgan.inference.bundled import bundled_file, is_bundled
from mouthgan.util.run_dir import RESTORATION, run_kind, saved_model


def model_file(path="runs/latest"):
    """The generator file a ``.keras`` path or a run directory names: a run's final
    model, else its newest checkpoint's (the weight average if the run keeps one, as the
    final model would be)."""

    if is_bundled(path):
        return bundled_file(path)
    path = Path(path)
    if path.is_dir():

        kind = run_kind(path)
        if kind != RESTORATION:
            raise MouthganError(f"{path}: a {kind} run, not a mouth-restoration run; pass "
                                "--model with a run of scripts/train.py")
        found = saved_model(path)
        if found is None:
            raise MouthganError(f"{path}: no generator.keras in this run directory "
                                "(train first, or pass --model FILE.keras)")
        return found
    if not path.exists():
        raise MouthganError(f"{path}: model not found (train first with "
                            "python scripts/train.py, or pass --model)")
    return path


def load_generator(path="runs/latest", runtime="keras"):
    """A generator from a ``.keras`` file or a run directory (see ``model_file``).

    ``runtime``: "keras" (the Keras model), "numpy" (``NumpyGenerator``: the same
    forward pass without importing TensorFlow, for a fast export), or "auto" (NumPy when
    the model's layers allow, else Keras with a note on stderr).
    """

    path = model_file(path)
    if runtime not in ("keras", "numpy", "auto"):
        raise MouthganError(f"unknown runtime {runtime!r}: use keras, numpy or auto")
    check_restoration_generator(path)
    generator = load_model(path, runtime)
    # One blank image through it: a restoration generator gives back an image of the
    # shape it takes (a discriminator of single images gives a verdict).
    shape = tuple(generator.input_shape[1:])
    out = np.asarray(generator(np.zeros((1, *shape), np.float32), training=False)).shape
    if out != (1, *shape):
        raise MouthganError(f"{path}: not a mouth-restoration generator: it turns "
                            f"{(None, *shape)} into {(None, *out[1:])}, not an image of "
                            "the same shape")
    return generator


class AveragedGenerators:
    """Several generators as one, the mean of their outputs: an ensemble. Runs of other
    seeds make errors that partly cancel; each generator costs its own forward pass."""

    def __init__(self, generators, paths):
    
        shapes = [tuple(g.input_shape[1:]) for g in generators]
        for path, shape in zip(paths[1:], shapes[1:]):
            if shape != shapes[0]:
                raise MouthganError(f"{path}: takes {shape[0]}x{shape[1]} images, "
                                    f"{paths[0]} takes {shapes[0][0]}x{shapes[0][1]}: "
                                    "an ensemble's models take one size")
        self.generators, self.input_shape = generators, generators[0].input_shape

    def __call__(self, images, training=False):
        return np.mean([np.asarray(g(images, training=False)) for g in self.generators],
                       axis=0)


def load_generators(paths, runtime="keras"):
    """``load_generator`` of one path; of several, their ``AveragedGenerators``."""
    generators = [load_generator(path, runtime) for path in paths]
    return generators[0] if len(generators) == 1 else AveragedGenerators(generators, paths)


def load_model(path, runtime="keras"):
    """A ``.keras`` file as a Keras model (or a ``NumpyGenerator``), unchecked; one line
    naming the file when it is no loadable model."""
    from mouthgan.models.numpy_generator import NumpyGenerator, UnsupportedModel

    # A file that is no zip at all is no model: Keras gives the clearer message.
    if runtime != "keras" and zipfile.is_zipfile(path):
        try:
            return NumpyGenerator.load(path)
        except UnsupportedModel as exc:
            if runtime == "numpy":
                raise MouthganError(f"{path}: cannot run without Keras ({exc})")
            print(f"note: {path}: no NumPy path ({exc}); using Keras", file=sys.stderr)
    elif runtime == "numpy":
        raise MouthganError(f"{path}: not a .keras file (a zip archive)")

    from mouthgan.util.cli import import_tensorflow

    import_tensorflow()  # without TensorFlow's start-up notices
    import keras

    import mouthgan.models.layers  # noqa: F401  registers the speed layers for loading

    try:
        return keras.models.load_model(path, compile=False)
    except (OSError, ValueError, KeyError) as exc:
        raise MouthganError(f"{path}: not a loadable Keras model ({exc.__class__.__name__})")


def check_restoration_generator(path):
    """Refuse, in one line, a ``.keras`` file that is no mouth-restoration generator: a
    DCGAN generator (noise in), a discriminator (two images in), a model of other
    images. Read from the file's layer graph, before any model is built; a file whose
    graph cannot be read is left to the loader, which says what is wrong with it."""

    try:
        with zipfile.ZipFile(path) as archive:
            graph = json.loads(archive.read("config.json"))
        shapes = [tuple(layer["config"]["batch_shape"])
                  for layer in graph["config"]["layers"] if layer["class_name"] == "InputLayer"]
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError):
        return
    problem = None
    if len(shapes) != 1:
        problem = f"it takes {len(shapes)} inputs (a discriminator?)"
    elif len(shapes[0]) != 4 or shapes[0][-1] != 1 or shapes[0][1] != shapes[0][2]:
        problem = f"it takes input of shape {shapes[0]}"
    if problem:
        raise MouthganError(f"{path}: not a mouth-restoration generator: {problem}; "
                            "expected one square gray image (batch, H, H, 1)")


def runs_flip_average(model_paths):
    """``run_flip_average`` of every model: an ensemble flip-averages when all its runs
    were evaluated so."""
    return all(run_flip_average(path) for path in model_paths)


def run_flip_average(model_path):
    """Whether the run a model comes from evaluated with ``--flip-average`` (its
    config.json, beside the model or one folder up from a checkpoint, or a bundled
    model's card); False if unknown."""

    path = model_file(model_path)
    folder = path if path.is_dir() else path.parent
    for candidate in (path.with_suffix(".json"), folder / "config.json",
                      folder.parent / "config.json"):
        try:
            return bool(json.loads(candidate.read_text())["config"].get("flip_average", False))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return False
