"""Training pairs as sharded TFRecords, for slow or remote storage: a few large files
read in order instead of many small ones read at random (``batches.FaceRecords``
reads them)."""

import io
import json
import shutil
from pathlib import Path

import tensorflow as tf
from PIL import Image

from mouthgan import MouthganError
from mouthgan.data.faces import RECORDS_INDEX, pair_files, read_images
from mouthgan.data.holes import hole_box

# One training pair: gray 128x128 PNGs and the hole's box (top, bottom, left, right;
# zeros where the white image has no hole), found once here by ``find_hole``.
RECORD_FEATURES = {"name": tf.io.FixedLenFeature([], tf.string),
                   "real": tf.io.FixedLenFeature([], tf.string),
                   "white": tf.io.FixedLenFeature([], tf.string),
                   "hole": tf.io.FixedLenFeature([4], tf.int64)}
CHUNK = 512  # pairs read into memory at a time


def png_bytes(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def write_records(data_dir, out_dir, shards=8, notes=print):
    """``data_dir``'s training pairs -> ``out_dir/Training/*.tfrecord`` + records.json;
    its Validation and Test folders are copied beside them. Written under a temporary
    name and renamed, so a failure leaves no half-written folder."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if out_dir.exists():
        raise MouthganError(f"{out_dir}: exists; choose a new --out")
    pairs = pair_files(data_dir / "Training/Real", data_dir / "Training/White", notes)
    shards = max(1, min(shards, len(pairs)))
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "Training").mkdir(parents=True)
    names = [f"train-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]
    writers = [tf.io.TFRecordWriter(str(tmp / "Training" / n)) for n in names]
    try:
        for start in range(0, len(pairs), CHUNK):
            stop = start + CHUNK
            real = read_images(pairs.real_files[start:stop], notes=notes)
            white = read_images(pairs.white_files[start:stop], notes=notes)
            for i, (r, w, name) in enumerate(zip(real, white, pairs.names[start:stop])):
                feature = {
                    "name": _bytes(name.encode()), "real": _bytes(png_bytes(r)),
                    "white": _bytes(png_bytes(w)),
                    "hole": tf.train.Feature(int64_list=tf.train.Int64List(value=hole_box(w)))}
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writers[(start + i) % shards].write(example.SerializeToString())
    finally:
        for writer in writers:
            writer.close()
    (tmp / "Training" / RECORDS_INDEX).write_text(json.dumps(
        {"count": len(pairs), "shards": names, "source": str(data_dir)}, indent=2))
    for role in ("Validation", "Test"):
        if (data_dir / role).is_dir():
            shutil.copytree(data_dir / role, tmp / role)
    tmp.rename(out_dir)
    return len(pairs), shards


def _bytes(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
