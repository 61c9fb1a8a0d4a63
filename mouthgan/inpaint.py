"""Predict, find the white hole, paste the prediction into it.

The homework scores every pixel, but only the mouth was painted: outside the hole the
white image already is the answer. Pasting the generator's output into the hole only
keeps every other pixel exact, and is a large win (docs/data.md: 0.063 -> 0.052 for
the handout's setting).
"""

from pathlib import Path

import numpy as np

from mouthgan.data import to_model_range, to_unit_range

# Painted pixels are 255. The box is found from saturated pixels (a natural bright
# background is rarely saturated over a large rectangle), then grown over near-white
# lines: JPEG ringing pulls the box's edge below 255. A ring of face counted as hole
# costs little: it is just predicted.
SATURATED = 250
NEAR_WHITE = 235
MAX_GROWTH = 6  # pixels per side


def find_hole(white):
    """The painted rectangle of one uint8 image (H, W) as a boolean mask.

    The largest axis-aligned rectangle of saturated pixels, after setting aside
    background: a bright pixel whose straight bright run reaches the image border both
    along its row and along its column. The painted mouth sits inside the face, so its
    runs stop at the face in at least one direction even where a bright background
    touches the box. An image with no white pixel gets an empty mask.
    """
    white = np.asarray(white)
    near_white = white >= NEAR_WHITE
    background = _run_reaches_border(near_white, 1) & _run_reaches_border(near_white, 0)
    near_white &= ~background
    bright = (white >= SATURATED) & near_white
    height, width = bright.shape
    best_area, best = 0, None
    heights = np.zeros(width, dtype=np.int64)
    for row in range(height):
        # heights[c]: how many bright pixels stand in column c, ending at this row.
        heights = np.where(bright[row], heights + 1, 0)
        if not heights.any():
            continue
        stack = []  # (start column, height), heights increasing
        for col in range(width + 1):
            h = int(heights[col]) if col < width else 0
            start = col
            while stack and stack[-1][1] >= h:
                start, top_h = stack.pop()
                area = top_h * (col - start)
                # A rectangle on the image's edge is background: the mouth is inside.
                inside = row - top_h + 1 > 0 and row + 1 < height and start > 0 and col < width
                if area > best_area and inside:
                    best_area, best = area, (row - top_h + 1, row + 1, start, col)
            stack.append((start, h))
    mask = np.zeros_like(bright)
    if best is not None:
        top, bottom, left, right = _grow(near_white, *best)
        mask[top:bottom, left:right] = True
    return mask


def _grow(near_white, top, bottom, left, right):
    """Extend each side of the box while the next line is mostly near-white."""
    height, width = near_white.shape
    for _ in range(MAX_GROWTH):
        grown = False
        if top > 0 and near_white[top - 1, left:right].mean() >= 0.95:
            top, grown = top - 1, True
        if bottom < height and near_white[bottom, left:right].mean() >= 0.95:
            bottom, grown = bottom + 1, True
        if left > 0 and near_white[top:bottom, left - 1].mean() >= 0.95:
            left, grown = left - 1, True
        if right < width and near_white[top:bottom, right].mean() >= 0.95:
            right, grown = right + 1, True
        if not grown:
            break
    return top, bottom, left, right


def _run_reaches_border(bright, axis):
    """True where a straight run of bright pixels along ``axis`` reaches either end."""
    forward = np.cumprod(bright, axis=axis, dtype=np.int8)
    backward = np.flip(np.cumprod(np.flip(bright, axis), axis=axis, dtype=np.int8), axis)
    return (forward | backward).astype(bool)


def hole_box(white):
    """``find_hole`` as its box (top, bottom, left, right); zeros when there is none."""
    mask = find_hole(white)
    if not mask.any():
        return (0, 0, 0, 0)
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    return (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)


def hole_boxes(white_files, cache_file=None, notes=print):
    """The hole box of each white image file, found once per file content and kept in
    ``cache_file`` (JSON, content hash -> box; default ~/.cache/mouthgan/holes.json), so
    a streamed run starts without finding 3 ms holes again. The boxes are what the
    input pipeline paints masks from: it runs no Python per image."""
    import hashlib
    import json
    import os

    from mouthgan.data import read_images
    from mouthgan.sample_data import default_cache_dir

    cache_file = Path(cache_file or default_cache_dir() / "holes.json")
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    keys = [hashlib.sha1(Path(p).read_bytes()).hexdigest() for p in white_files]
    missing = sorted({k: p for k, p in zip(keys, white_files) if k not in cache}.items())
    if len(missing) > 1000:
        notes(f"finding the holes of {len(missing):,} white images (once; kept in "
              f"{cache_file})")
    for key, path in missing:
        cache[key] = hole_box(read_images([Path(path)], notes=lambda _: None)[0])
    if missing:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache))
            os.replace(tmp, cache_file)
        except OSError:
            pass  # a cache only: without it the holes are found again next time
    return np.array([cache[k] for k in keys], np.int32).reshape(-1, 4)


def find_holes(whites):
    """find_hole for a stack (n, H, W) -> boolean masks (n, H, W)."""
    return np.stack([find_hole(w) for w in whites])


def paste(prediction, white01, holes):
    """The prediction inside the holes, the input image everywhere else (0..1 arrays)."""
    return np.where(holes, prediction, white01)


def predict(generator, whites_uint8, batch_size=64, flip_average=False):
    """Run the generator on uint8 images (n, H, W) -> raw predictions in 0..1 (n, H, W).

    ``flip_average``: also restore the mirrored faces and average the two predictions
    (test-time augmentation; faces are near-symmetric, so the two are two honest
    guesses whose errors partly cancel).
    """
    x = to_model_range(whites_uint8)

    def run(images):
        # A direct call in inference mode: predict() would first trace a function,
        # which costs more than the whole forward pass for a few hundred images.
        return np.concatenate([np.asarray(generator(images[i:i + batch_size], training=False))
                               for i in range(0, len(images), batch_size)])

    y = run(x)
    if flip_average:
        y = 0.5 * (y + run(x[:, :, ::-1].copy())[:, :, ::-1])
    return to_unit_range(y)


def restore(generator, whites_uint8, holes=None, composite=True, batch_size=64,
            flip_average=False):
    """Predictions in 0..1; pasted into the holes unless ``composite`` is False."""
    raw = predict(generator, whites_uint8, batch_size, flip_average)
    if not composite:
        return raw
    if holes is None:
        holes = find_holes(whites_uint8)
    return paste(raw, np.asarray(whites_uint8, np.float32) / 255.0, holes)


def model_file(path="runs/latest"):
    """The generator file a ``.keras`` path or a run directory names: a run's final
    model, else its newest checkpoint's (the weight average if the run keeps one, as the
    final model would be)."""
    from pathlib import Path

    from mouthgan import MouthganError
    from mouthgan.bundled import bundled_file, is_bundled

    if is_bundled(path):
        return bundled_file(path)
    path = Path(path)
    if path.is_dir():
        from mouthgan.run_dir import RESTORATION, run_kind

        kind = run_kind(path)
        if kind != RESTORATION:
            raise MouthganError(f"{path}: a {kind} run, not a mouth-restoration run; pass "
                                "--model with a run of scripts/train.py")
        # A finished run's model, else its newest checkpoint's (the generator that is
        # evaluated); ema_generator.keras and checkpoint.old/ are how mouthgan 0.1.0
        # kept them.
        candidates = [path / "generator.keras"] + [
            path / folder / name for folder in ("checkpoint", "checkpoint.old")
            for name in ("ema_generator.keras", "generator.keras")]
        found = next((c for c in candidates if c.is_file()), None)
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
    from mouthgan import MouthganError

    path = model_file(path)
    if runtime not in ("keras", "numpy", "auto"):
        raise MouthganError(f"unknown runtime {runtime!r}: use keras, numpy or auto")
    check_restoration_generator(path)
    generator = _load_model(path, runtime)
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
        from mouthgan import MouthganError

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


def _load_model(path, runtime):
    import sys
    import zipfile

    from mouthgan import MouthganError
    from mouthgan.numpy_generator import NumpyGenerator, UnsupportedModel

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

    from mouthgan.cli import import_tensorflow

    import_tensorflow()  # without TensorFlow's start-up notices
    import keras

    import mouthgan.layers  # noqa: F401  registers the speed layers for loading

    try:
        return keras.models.load_model(path, compile=False)
    except (OSError, ValueError, KeyError) as exc:
        raise MouthganError(f"{path}: not a loadable Keras model ({exc.__class__.__name__})")


def check_restoration_generator(path):
    """Refuse, in one line, a ``.keras`` file that is no mouth-restoration generator: a
    DCGAN generator (noise in), a discriminator (two images in), a model of other
    images. Read from the file's layer graph, before any model is built; a file whose
    graph cannot be read is left to the loader, which says what is wrong with it."""
    import json
    import zipfile

    from mouthgan import MouthganError

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
    import json
    from pathlib import Path

    path = model_file(model_path)
    folder = path if path.is_dir() else path.parent
    for candidate in (path.with_suffix(".json"), folder / "config.json",
                      folder.parent / "config.json"):
        try:
            return bool(json.loads(candidate.read_text())["config"].get("flip_average", False))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return False
