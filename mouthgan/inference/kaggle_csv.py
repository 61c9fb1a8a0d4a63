"""The Kaggle CSV of the homework's leaderboard: write, read, validate.

Layout: n predicted images (n, M, N) in 0..1 are flattened to (n, M*N) and transposed
to (M*N, n): one row per pixel, one column per test image. The first column is named
``index`` (0 .. M*N-1); the others ``id0 .. id{n-1}`` in sorted test-image order.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from mouthgan import MouthganError
from mouthgan.util.atomic import atomic_path


def to_frame(images01):
    """(n, M, N) images in 0..1 -> the Kaggle DataFrame (M*N rows, n columns)."""
    images01 = np.asarray(images01, dtype=np.float64)
    n = len(images01)
    flat = images01.reshape(n, -1).T  # (M*N, n)
    frame = pd.DataFrame(flat, columns=[f"id{i}" for i in range(n)])
    frame.index.name = "index"
    return frame


def write_csv(images01, path):
    """Write the CSV atomically (a temporary file renamed into place)."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise MouthganError(f"{path.parent}: folder not found")
    try:
        with atomic_path(path) as tmp:
            # 7 significant digits hold a float32 prediction to < 1e-7: half the file
            # size and write time of pandas' default full float64 repr.
            to_frame(images01).to_csv(tmp, float_format="%.7g")
    except OSError as exc:
        raise MouthganError(f"{path}: cannot write the CSV ({exc.strerror or exc})")
    return path


def read_csv(path, n_images=None, image_shape=None):
    """Read and validate a Kaggle CSV -> (n, M*N) float array; one clear line per problem."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a CSV file" if path.is_dir() else "file not found"
        raise MouthganError(f"{path}: {what}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MouthganError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})")
    columns = list(frame.columns)
    if not columns or columns[0] != "index":
        raise MouthganError(f"{path}: the first column must be named 'index', got "
                            f"{columns[0] if columns else 'nothing'!r}")
    expected = [f"id{i}" for i in range(len(columns) - 1)]
    if columns[1:] != expected or not expected:
        raise MouthganError(f"{path}: columns must be index, id0, id1, ... in order; got "
                            f"{', '.join(columns[:6])}{', ...' if len(columns) > 6 else ''}")
    if n_images is not None and len(expected) != n_images:
        raise MouthganError(f"{path}: {len(expected)} image columns, but there are "
                            f"{n_images} answer images")
    if image_shape is not None and len(frame) != int(np.prod(image_shape)):
        raise MouthganError(f"{path}: {len(frame)} rows, expected {int(np.prod(image_shape))} "
                            f"(one per pixel of a {image_shape[0]}x{image_shape[1]} image)")
    if not np.array_equal(frame["index"].to_numpy(), np.arange(len(frame))):
        raise MouthganError(f"{path}: the index column must count 0 .. {len(frame) - 1}")
    values = frame[expected]
    non_numeric = [c for c in expected if not pd.api.types.is_numeric_dtype(values[c])]
    if non_numeric:
        raise MouthganError(f"{path}: column {non_numeric[0]} holds text, not numbers")
    values = values.to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        row, col = np.argwhere(np.isnan(values))[0]
        raise MouthganError(f"{path}: empty or NaN value at row {row}, column id{col}")
    if values.min() < 0 or values.max() > 1:
        raise MouthganError(f"{path}: values must lie in 0..1, found "
                            f"{values.min():.4g} .. {values.max():.4g}")
    return values.T
