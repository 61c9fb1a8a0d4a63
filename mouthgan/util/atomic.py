"""Writing a file so that no reader ever sees half of it, and an interrupted write leaves
nothing behind: write to a hidden temporary name in the same folder, then rename it into
place (``os.replace`` is atomic on one file system)."""

import contextlib
import os
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """A temporary path beside ``path`` (same suffix, so writers that go by the suffix
    still pick the format) to write to; renamed onto ``path`` when the block ends, and
    removed if the block raises."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path, text):
    """``path`` holding ``text`` (UTF-8), written atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
