"""The training batches: a ``tf.data`` pipeline that makes step ``s``'s batch from
``(seed, s)`` alone.

Each step draws ``batch_size`` random pairs (with replacement across steps, as the
handout does), mirrors each with probability 1/2 under ``--flip``, and augments them.
Every random number of step ``s`` comes from stateless random ops seeded by
``(seed, s)``, so:

- a run resumed at step ``s`` draws exactly the batches an uninterrupted run draws,
  with no iterator state in the checkpoint;
- both engines, 1 or N replicas, and the in-memory or the streamed source all see the
  same global batch;
- the input runs ahead of training on its own threads (``prefetch``).

Three sources hold the faces: ``FacesInMemory`` (uint8 tensors; the default data's 700
faces take 34 MB), ``FaceFiles`` (the image files, read and decoded per batch: memory
does not grow with the number of faces), ``choose_source`` picking between them by size
(``data.input_mode``); and ``FaceRecords``, sharded TFRecords read in order, for slow
or remote storage.
"""

import numpy as np
import tensorflow as tf

from mouthgan.data.faces import IMAGE_SIZE, needs_holes, repaints_holes
from mouthgan.data.holes import find_holes
from mouthgan.data.records import RECORD_FEATURES


class StepSeeds:
    """The stateless seeds of one step: the i-th call to ``next()`` gives a seed that
    depends only on (run seed, step, i)."""

    def __init__(self, seed, step):
        self.base = tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])
        self.count = 0

    def next(self):
        self.count += 1
        return tf.random.experimental.stateless_fold_in(self.base, self.count)


def hole_masks(white_uint8):
    """1 inside each image's white hole, 0 elsewhere: (n, H, W, 1) uint8."""
    return find_holes(np.asarray(white_uint8))[..., None].astype(np.uint8)


class RowSource:
    """What the sources that read any rows share (in memory, files): each step's batch
    is ``draw_batch`` of that step. A source gives ``batches(config, start_step)``, the
    dataset of its global batches, and ``batch_at(config, step)``, one of them."""

    def batches(self, config, start_step):
        return tf.data.Dataset.counter(start_step).map(
            lambda step: draw_batch(self, config, step),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def batch_at(self, config, step):
        return draw_batch(self, config, step)


class FacesInMemory(RowSource):
    """The training pairs as uint8 tensors (N, H, W, 1): real, white and, when used, the
    hole mask. Under ``--flip`` the mirrored images follow the originals, so that a flip
    is a choice of row: mirroring inside the step cost ~10 ms a step on a 2-core CPU."""

    def __init__(self, real, white, config):
        images = [np.asarray(real, np.uint8), np.asarray(white, np.uint8)]
        images = [x[..., None] if x.ndim == 3 else x for x in images]
        if needs_holes(config):
            images.append(hole_masks(images[1][..., 0]))
        self.size = len(images[0])
        if config.flip:
            images = [np.concatenate([x, x[:, :, ::-1]]) for x in images]
        self.images = [tf.constant(x) for x in images]

    def rows(self, index, flip):
        """The pairs at ``index``, each mirrored where ``flip``: uint8 (b, H, W, 1)."""
        if len(self.images[0]) > self.size:  # mirrored copies stored
            index = index + self.size * tf.cast(flip, index.dtype)
        return [tf.gather(x, index) for x in self.images]


class FaceFiles(RowSource):
    """The training pairs as two lists of image files, read and decoded per batch.

    Decoded with TensorFlow (gray, resized bicubically to 128 where another size). The
    holes are the same ``find_hole`` boxes as in memory, found before training
    (``holes.hole_boxes``, cached by content): finding them per batch in Python would
    hold the input threads on the interpreter lock (~3 ms an image).
    """

    def __init__(self, real_files, white_files, config):
        from mouthgan.data.holes import hole_boxes

        self.real_files = tf.constant([str(p) for p in real_files])
        self.white_files = tf.constant([str(p) for p in white_files])
        self.size = len(real_files)
        self.boxes = tf.constant(hole_boxes(white_files)) if needs_holes(config) else None

    def rows(self, index, flip):
        real = decode_images(tf.gather(self.real_files, index))
        white = decode_images(tf.gather(self.white_files, index))
        images = [real, white]
        if self.boxes is not None:
            images.append(box_masks(tf.gather(self.boxes, index)))
        return mirrored(images, flip)


def box_masks(boxes):
    """Boxes (b, 4: top, bottom, left, right) -> uint8 masks (b, 128, 128, 1)."""
    boxes = tf.cast(boxes, tf.int32)
    pixels = tf.range(IMAGE_SIZE)[None]  # (1, 128)
    in_rows = (pixels >= boxes[:, 0:1]) & (pixels < boxes[:, 1:2])  # (b, 128)
    in_cols = (pixels >= boxes[:, 2:3]) & (pixels < boxes[:, 3:4])
    return tf.cast(in_rows[:, :, None] & in_cols[:, None, :], tf.uint8)[..., None]


class FaceRecords:
    """The training pairs in sharded TFRecords (``scripts/make_tfrecords.py``), for slow
    or remote storage, where whole files are read in order rather than single images
    at random.

    So each epoch visits every pair once: the shards in an order and the records in
    shuffled blocks, both seeded from (seed, epoch); steps take consecutive
    batches across epochs. A run resumed at step ``s`` skips the first ``s x B`` records
    of the same sequence (reading, not decoding, them), so it resumes exactly. Flips and
    augmentations are drawn from (seed, step) as for the other sources. The hole box is
    stored with each pair (found once, by ``find_hole``, when the records are made).
    """

    SHUFFLE_BUFFER = 4096

    def __init__(self, shards, count, config):
        self.shards = tf.constant([str(p) for p in shards])
        self.size = count
        self.with_holes = needs_holes(config)

    def batches(self, config, start_step):
        size, count, seed = config.batch_size, self.size, config.seed
        first = start_step * size  # the first record this run takes, counted from 0
        first_epoch = first // count

        def epoch(e):
            order = tf.random.experimental.stateless_shuffle(
                tf.range(tf.size(self.shards)), tf.stack([tf.cast(seed, tf.int64), e]))
            files = tf.data.Dataset.from_tensor_slices(tf.gather(self.shards, order))
            records = files.interleave(tf.data.TFRecordDataset, cycle_length=4,
                                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            # A shuffle buffer of stateless shuffles of consecutive blocks (tf.data's
            # shuffle takes no seed computed from the epoch): the order is a function
            # of (seed, epoch) alone.
            return records.batch(self.SHUFFLE_BUFFER).enumerate().flat_map(
                lambda block, chunk: tf.data.Dataset.from_tensor_slices(
                    tf.random.experimental.stateless_shuffle(chunk, tf.stack(
                        [tf.cast(seed, tf.int64), e * 1_000_003 + block]))))

        records = (tf.data.Dataset.range(first_epoch, tf.int64.max).flat_map(epoch)
                   .skip(first - first_epoch * count)
                   .map(self.parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                   .batch(size, drop_remainder=True))

        def finish(rows, step):
            seeds = StepSeeds(seed, step)
            return augment(mirrored(list(rows), draw_flips(config, seeds)), config, seeds)

        steps = tf.data.Dataset.counter(start_step)
        return tf.data.Dataset.zip(records, steps).map(
            finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def batch_at(self, config, step):
        return next(iter(self.batches(config, step)))

    def parse(self, record):
        example = tf.io.parse_single_example(record, RECORD_FEATURES)
        real = decode_image(example["real"])
        white = decode_image(example["white"])
        if not self.with_holes:
            return real, white
        return real, white, box_masks(example["hole"][None])[0]


def decode_image(data):
    """An encoded image -> uint8 (128, 128, 1), gray."""
    image = tf.io.decode_image(data, channels=1, expand_animations=False)
    same_size = tf.reduce_all(tf.shape(image)[:2] == IMAGE_SIZE)
    image = tf.cond(same_size, lambda: image, lambda: _resized(image))
    return tf.ensure_shape(image, (IMAGE_SIZE, IMAGE_SIZE, 1))


def _resized(image):
    image = tf.image.resize(image, (IMAGE_SIZE, IMAGE_SIZE), "bicubic")
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def decode_images(paths):
    """Image files -> uint8 (b, 128, 128, 1), gray."""
    return tf.map_fn(lambda path: decode_image(tf.io.read_file(path)), paths,
                     fn_output_signature=tf.TensorSpec((IMAGE_SIZE, IMAGE_SIZE, 1), tf.uint8))


def choose_source(train, config):
    """The source ``--input`` asks for (``data.input_mode``). ``train`` is a
    ``data.Split`` (arrays) or ``data.FilePairs``."""
    from mouthgan.data.faces import FilePairs, RecordShards, input_mode

    if isinstance(train, RecordShards):
        return FaceRecords(train.shards, len(train), config)
    if input_mode(len(train), config) == "stream":
        if not isinstance(train, FilePairs):
            raise ValueError("--input stream needs the training files, not arrays")
        return FaceFiles(train.real_files, train.white_files, config)
    if isinstance(train, FilePairs):
        train = train.read()
    return FacesInMemory(train.real, train.white, config)


def draw_batch(source, config, step):
    """Step ``step``'s global batch from a source that reads any rows (memory, files),
    float32 in the model's range: (real, white[, hole mask])."""
    seeds = StepSeeds(config.seed, step)
    index = tf.random.stateless_uniform((config.batch_size,), seeds.next(), 0, source.size,
                                        tf.int32)
    return augment(source.rows(index, draw_flips(config, seeds)), config, seeds)


def draw_flips(config, seeds):
    """Which faces of a batch are mirrored: each with probability 1/2 under ``--flip``."""
    if config.flip:
        return tf.random.stateless_uniform((config.batch_size,), seeds.next()) < 0.5
    return tf.zeros((config.batch_size,), tf.bool)


def augment(rows, config, seeds):
    """uint8 rows (real, white[, hole]) -> the model's range, augmented. ``--shift``,
    ``--rotate``, ``--zoom`` and ``--jitter`` change the real face and paint the white
    one anew from it, as ``--mixup`` does after blending two faces; ``--erase`` paints
    one more white rectangle into the input only."""
    real, white, *hole = rows
    batch = [to_model_range_tf(real), to_model_range_tf(white)] + [tf.cast(h, tf.float32)
                                                                  for h in hole]
    if repaints_holes(config):
        real, _, hole = batch
        if config.shift or config.rotate or config.zoom:
            real = random_warp(real, config, seeds)
        if config.jitter:
            real = random_brightness_contrast(real, config.jitter, seeds)
        if config.mixup:
            real, hole = mix_faces(real, hole, config.mixup, seeds)
        # The hole stays where the data put it (mixup: both holes); the face under it
        # has moved, changed or been blended.
        seen = random_resolution(real, config.resolution, seeds) if config.resolution else real
        batch = [real, tf.where(hole > 0.5, 1.0, seen), hole]
    if config.erase:
        real, white, *hole = batch
        erased = random_rectangles(tf.shape(white), config.erase, seeds)
        batch = [real, tf.where(erased, 1.0, white)] + hole
    return tuple(batch)


def mirrored(rows, flip):
    """Each image of ``rows`` mirrored left-right where ``flip``."""
    where = flip[:, None, None, None]
    return [tf.where(where, tf.reverse(x, [2]), x) for x in rows]


def training_batches(source, config, start_step, input_context=None):
    """The batches of steps ``start_step``, ``start_step + 1``, ... as a dataset.

    Under a ``tf.distribute`` strategy (``input_context`` given, one pipeline per
    worker) each pipeline makes the whole global batch and yields its own replicas'
    shares of it in replica order: N replicas x B/N then see exactly 1 device x B's
    batch. Making all of it costs each worker B decodes a step where B/N would do; in
    exchange mixup's partners and every random draw are those of one device.
    """
    dataset = source.batches(config, start_step)
    if input_context is not None and input_context.num_replicas_in_sync > 1:
        replicas = input_context.num_replicas_in_sync
        local = replicas // input_context.num_input_pipelines
        share = config.batch_size // replicas
        first = input_context.input_pipeline_id * local * share

        def local_shares(*batch):
            return tuple(tf.reshape(x[first:first + local * share], (local, share) + x.shape[1:])
                         for x in batch)

        # unbatch: the pipeline's elements go to its replicas in turn
        dataset = dataset.map(local_shares).unbatch()
    return dataset.prefetch(tf.data.AUTOTUNE)


def to_model_range_tf(images_uint8):
    """``data.to_model_range`` inside the pipeline: the same float32 operations, the
    same values."""
    return tf.cast(images_uint8, tf.float32) / 127.5 - 1.0


def random_warp(images, config, seeds):
    """Move, turn and scale each face by its own draw, about the image centre: a shift
    of whole pixels up to ``--shift`` each way, a rotation up to ``--rotate`` degrees,
    a scale within 1 +- ``--zoom``; bilinear, the edges mirrored in (a face's border is
    hair and background, mirrored well). The framing of real photos varies this way;
    the handout's faces are all framed alike."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    shift = tf.cast(tf.random.stateless_uniform((batch, 2), seeds.next(), -config.shift,
                                                config.shift + 1, tf.int32), tf.float32)
    angle = tf.random.stateless_uniform((batch,), seeds.next(), -1.0, 1.0) * (
        config.rotate * np.pi / 180.0)
    scale = 1.0 + tf.random.stateless_uniform((batch,), seeds.next(), -1.0, 1.0) * config.zoom
    # ImageProjectiveTransformV3 maps each output pixel to the input pixel it reads:
    # input = A (output - centre - shift) + centre, A = the inverse turn over the scale.
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    ox, oy = cx + shift[:, 1], cy + shift[:, 0]  # where the centre goes
    zeros = tf.zeros_like(cos)
    transforms = tf.stack([cos, sin, cx - cos * ox - sin * oy,
                           -sin, cos, cy + sin * ox - cos * oy, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=[height, width],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")


def random_rectangles(shape, max_size, seeds):
    """A boolean mask of ``shape`` (b, H, W, 1): one rectangle per image, each side drawn
    from 1..max_size pixels, at a random place (wholly inside the image)."""
    batch, height, width = shape[0], shape[1], shape[2]
    size = tf.random.stateless_uniform((batch, 2), seeds.next(), 1, max_size + 1, tf.int32)
    corner = tf.random.stateless_uniform((batch, 2), seeds.next())
    top = tf.cast(corner[:, :1] * tf.cast(height - size[:, :1] + 1, tf.float32), tf.int32)
    left = tf.cast(corner[:, 1:] * tf.cast(width - size[:, 1:] + 1, tf.float32), tf.int32)
    rows, cols = tf.range(height)[None], tf.range(width)[None]  # (1, H), (1, W)
    in_rows = (rows >= top) & (rows < top + size[:, :1])  # (batch, H)
    in_cols = (cols >= left) & (cols < left + size[:, 1:])  # (batch, W)
    return (in_rows[:, :, None] & in_cols[:, None, :])[..., None]


def random_resolution(images, smallest, seeds):
    """Each face as a photo ``size`` pixels wide shows it after enlarging to the frame:
    shrunk to a size drawn from ``smallest``..128 (antialiased, as a camera's sensor
    averages) and enlarged back bicubic, as ``restore.py`` frames a small face."""
    sizes = tf.random.stateless_uniform((tf.shape(images)[0],), seeds.next(), smallest,
                                        IMAGE_SIZE + 1, tf.int32)

    def seen_at(image_and_size):
        image, size = image_and_size
        small = tf.image.resize(image[None], (size, size), "bicubic", antialias=True)
        return tf.image.resize(small, (IMAGE_SIZE, IMAGE_SIZE), "bicubic")[0]

    seen = tf.map_fn(seen_at, (images, sizes), fn_output_signature=images.dtype)
    return tf.clip_by_value(seen, -1.0, 1.0)


def random_brightness_contrast(images, strength, seeds):
    """x -> a * x + b per image, a in [1 - s, 1 + s], b in [-s, s] (model range -1..1,
    clipped): other lighting for the same faces."""
    batch = tf.shape(images)[0]
    contrast = tf.random.stateless_uniform((batch, 1, 1, 1), seeds.next(), 1 - strength,
                                           1 + strength)
    brightness = tf.random.stateless_uniform((batch, 1, 1, 1), seeds.next(), -strength,
                                             strength)
    return tf.clip_by_value(contrast * images + brightness, -1.0, 1.0)


def mix_faces(images, holes, alpha, seeds):
    """Mixup: each face blended with the next one in the batch, lambda ~ Beta(a, a) per
    face (X / (X + Y) of two Gamma(a) draws); the blend's hole is the union of both."""
    batch = tf.shape(images)[0]
    x = tf.random.stateless_gamma((batch, 1, 1, 1), seeds.next(), alpha)
    y = tf.random.stateless_gamma((batch, 1, 1, 1), seeds.next(), alpha)
    lam = x / (x + y)
    partner, partner_hole = tf.roll(images, 1, axis=0), tf.roll(holes, 1, axis=0)
    return lam * images + (1.0 - lam) * partner, tf.maximum(holes, partner_hole)
