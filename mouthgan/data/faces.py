"""The NLP_data layout -> in-memory float32 arrays, with errors that name the file.

Layout (the handout's, also used by the default data)::

    NLP_data/Training/Real/*     NLP_data/Training/White/*   training pairs, paired by name
    NLP_data/Test/White/*        (NLP_data/Test/Real/*)      the Kaggle test set (+ answers)
    NLP_data/Validation/Real/*   NLP_data/Validation/White/*  optional, for honest scoring

The handout's example code draws the real and the white image with two independent
random choices, which breaks the pairing; here a Real and a White image pair by stem.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from mouthgan import MouthganError

IMAGE_SIZE = 128
# The painted rectangle of the default data as an array slice [top:bottom, left:right]:
# x 44..83, y 84..111, 40x28 px. The handout's data is found from the image instead
# (mouthgan.data.holes.find_hole); this box is only how the default data is made.
HOLE_BOX = (84, 112, 44, 84)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
# Training faces are held in memory up to this many bytes (decoded, mirrored copies and
# hole masks included), and streamed from their files beyond it (``--input auto``).
# 1 GiB is ~10k faces with flips and masks: far beyond the default data's 700, well
# inside any machine that trains.
MEMORY_BUDGET = 1 << 30


def repaints_holes(config):
    """Whether the augmentation changes the real face and paints the hole anew on it."""
    return bool(config.shift or config.rotate or config.zoom or config.jitter or config.mixup
                or config.resolution)


def needs_holes(config):
    """Whether a training batch carries each face's hole mask (the hole weight, a D that
    judges pasted fakes and the augmentations that repaint the hole need it)."""
    return (config.hole_weight != 1.0 or config.d_sees == "pasted"
            or repaints_holes(config))


def input_mode(n_faces, config):
    """``--input`` resolved: "memory" or "stream" (auto: memory within
    ``MEMORY_BUDGET``)."""
    if config.input != "auto":
        return config.input
    planes = 2 + needs_holes(config)  # real, white, hole mask: one byte a pixel each
    held = n_faces * IMAGE_SIZE * IMAGE_SIZE * planes * (2 if config.flip else 1)
    return "memory" if held <= MEMORY_BUDGET else "stream"


def to_model_range(images_uint8):
    """uint8 0..255 -> float32 -1..1 (the handout's ``x / 127.5 - 1``), channels last."""
    x = np.asarray(images_uint8, dtype=np.float32) / 127.5 - 1.0
    return x[..., None] if x.ndim == 3 else x


def to_unit_range(images_model):
    """Model output -1..1 -> 0..1 (the Kaggle CSV's range), channel axis dropped."""
    x = (np.asarray(images_model, dtype=np.float32) + 1.0) / 2.0
    x = np.clip(x, 0.0, 1.0)
    return x[..., 0] if x.ndim == 4 else x


def list_images(folder, notes=None):
    """Image files in ``folder``, sorted by name; errors if missing or image-less.

    Other files (a README, a spreadsheet) are skipped and said through ``notes``; hidden
    files (``.DS_Store``) and subfolders are skipped silently.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "folder not found"
        raise MouthganError(f"{folder}: {what}")
    files, others = [], []
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
            files.append(p)
        elif p.is_file() and not p.name.startswith("."):
            others.append(p.name)
    if not files:
        raise MouthganError(
            f"{folder}: no images (expected {', '.join(IMAGE_EXTENSIONS)} files)"
        )
    if others:
        (notes or print)(f"{folder}: skipped {len(others)} file(s) that are not images "
                         f"({_first_few(others)})")
    return files


def read_images(files, size=IMAGE_SIZE, notes=None):
    """Read files as one uint8 array (n, size, size), grayscale.

    All files must share one size; a size other than ``size`` is resized (BICUBIC) and
    an RGB image converted to gray, each said once through ``notes`` (a callable).
    """
    notes = notes or print
    images, first_size, said = [], None, set()

    def say_once(key, message):
        if key not in said:
            notes(message)
            said.add(key)

    for path in files:
        try:
            if path.stat().st_size == 0:
                raise MouthganError(f"{path}: empty file (0 bytes)")
            with Image.open(path) as img:
                img.load()
                if img.mode.startswith("I"):  # 16-bit (or 32-bit integer) gray
                    say_once("16", f"{path.parent}: 16-bit images scaled to 8 bits")
                    gray = to_8_bit(img)
                else:
                    if img.mode not in ("L", "1", "P"):
                        say_once("rgb", f"{path.parent}: {img.mode} images converted to "
                                        "grayscale")
                    gray = img.convert("L")
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise MouthganError(f"{path}: not a readable image ({exc.__class__.__name__})")
        if first_size is None:
            first_size = gray.size
            if gray.size != (size, size):
                notes(f"{path.parent}: images resized from "
                      f"{gray.size[0]}x{gray.size[1]} to {size}x{size}")
        elif gray.size != first_size:
            raise MouthganError(
                f"{path}: size {gray.size[0]}x{gray.size[1]} differs from "
                f"{files[0].name} ({first_size[0]}x{first_size[1]}); mixed sizes"
            )
        if gray.size != (size, size):
            gray = gray.resize((size, size), Image.BICUBIC)
        images.append(np.asarray(gray, dtype=np.uint8))
    return np.stack(images)


def to_8_bit(image):
    """A 16-bit gray PIL image (mode I;16 or I) -> mode L, 0..65535 mapped onto 0..255.
    Not ``convert("L")``: that clips every value above 255 to white."""
    values = np.asarray(image, dtype=np.float64)
    # A 32-bit "I" image (how PIL opens some 16-bit files) may hold 8-bit values.
    top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
    return Image.fromarray(np.round(np.clip(values, 0, top) * (255.0 / top)).astype(np.uint8))


def load_folder(folder, size=IMAGE_SIZE, notes=None):
    """Every image of a folder -> (uint8 array (n, size, size), list of stems)."""
    files = list_images(folder, notes)
    return read_images(files, size, notes), [p.stem for p in files]


def load_pairs(real_dir, white_dir, size=IMAGE_SIZE, notes=None):
    """Real and White folders paired by stem -> (real, white, stems), uint8."""
    pairs = pair_files(real_dir, white_dir, notes)
    return (read_images(pairs.real_files, size, notes),
            read_images(pairs.white_files, size, notes), pairs.names)


def pair_files(real_dir, white_dir, notes=None):
    """Real and White folders paired by stem -> ``FilePairs``, nothing read."""
    real_files = {p.stem: p for p in list_images(real_dir, notes)}
    white_files = {p.stem: p for p in list_images(white_dir, notes)}
    only_real = sorted(set(real_files) - set(white_files))
    only_white = sorted(set(white_files) - set(real_files))
    if only_real or only_white:
        parts = []
        if only_real:
            parts.append(f"{len(only_real)} in {real_dir} only ({_first_few(only_real)})")
        if only_white:
            parts.append(f"{len(only_white)} in {white_dir} only ({_first_few(only_white)})")
        raise MouthganError("unpaired images: " + "; ".join(parts))
    stems = sorted(real_files)
    return FilePairs([real_files[s] for s in stems], [white_files[s] for s in stems], stems)


def _first_few(names, n=5):
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


@dataclass
class Split:
    """One role of the data, uint8 (n, 128, 128); ``real`` is None where unknown."""

    white: np.ndarray
    real: np.ndarray | None
    names: list

    def __len__(self):
        return len(self.names)


@dataclass
class FilePairs:
    """Training pairs as files, not read: what a streamed run trains from."""

    real_files: list
    white_files: list
    names: list

    def __len__(self):
        return len(self.names)

    def read(self, n=None):
        """The first ``n`` pairs (all by default) as a ``Split``."""
        return Split(read_images(self.white_files[:n]), read_images(self.real_files[:n]),
                     self.names[:n])


@dataclass
class RecordShards:
    """Training pairs in sharded TFRecords (``scripts/make_tfrecords.py``): always
    streamed, in order."""

    shards: list
    count: int

    def __len__(self):
        return self.count


RECORDS_INDEX = "records.json"  # beside the shards: their names and the pair count


def record_shards(folder):
    """The ``RecordShards`` of a Training folder made by make_tfrecords.py, or None."""
    import json

    index = Path(folder) / RECORDS_INDEX
    if not index.exists():
        return None
    try:
        meta = json.loads(index.read_text())
        shards = [Path(folder) / name for name in meta["shards"]]
        count = int(meta["count"])
    except (ValueError, KeyError, TypeError) as exc:
        raise MouthganError(f"{index}: not a records index ({exc})")
    missing = [p.name for p in shards if not p.is_file()]
    if missing:
        raise MouthganError(f"{index}: shard(s) missing: {_first_few(missing)}")
    return RecordShards(shards, count)


@dataclass
class Dataset:
    root: Path
    train: Split | FilePairs | RecordShards
    test: Split | None
    validation: Split | None


def load_dataset(root="NLP_data", size=IMAGE_SIZE, notes=None, read_training=True):
    """Read the whole NLP_data layout. Test and Validation are optional.
    ``read_training=False`` leaves the training pairs as files (``FilePairs``), for a
    run that may stream them."""
    root = Path(root)
    if not root.is_dir():
        what = "is a file, not a data folder" if root.exists() else "data folder not found"
        raise MouthganError(f"{root}: {what}")
    records = record_shards(root / "Training")
    if records is not None:
        train = records
    elif read_training:
        real, white, names = load_pairs(root / "Training/Real", root / "Training/White",
                                        size, notes)
        train = Split(white, real, names)
    else:
        train = pair_files(root / "Training/Real", root / "Training/White", notes)

    test = None
    if (root / "Test/White").is_dir():
        if (root / "Test/Real").is_dir():
            real, white, names = load_pairs(root / "Test/Real", root / "Test/White",
                                            size, notes)
            test = Split(white, real, names)
        else:
            white, names = load_folder(root / "Test/White", size, notes)
            test = Split(white, None, names)

    validation = None
    if (root / "Validation/White").is_dir():
        real, white, names = load_pairs(root / "Validation/Real",
                                        root / "Validation/White", size, notes)
        validation = Split(white, real, names)
    return Dataset(root, train, test, validation)
