"""The training batch: drawn inside the step from images held in memory, and augmented.

The training images are held as uint8 tensors (N, H, W, 1); each step draws
``batch_size`` random rows with a Keras ``SeedGenerator`` whose state is checkpointed,
so a resumed run draws the same batches as an uninterrupted one, and both engines draw
the same batches. The drawn batch is converted to the model's range -1..1.
"""

import keras
import numpy as np
import tensorflow as tf

from mouthgan.inpaint import find_holes


def training_images(real, white, config):
    """The arrays ``draw_batch`` draws from, held in memory as uint8 tensors (N, H, W, 1):
    real and white, and each image's hole mask (0/1) when the hole weight or the
    augmentation needs it; the drawn batch is converted to the model's range. Under
    ``--flip`` the mirrored images follow the originals: a flip is then a choice of
    row, where mirroring and selecting inside the step cost ~10 ms a step on this CPU."""
    images = [np.asarray(real, np.uint8), np.asarray(white, np.uint8)]
    if config.hole_weight != 1.0 or config.shift or config.jitter or config.mixup:
        images.append(hole_masks(images[1]))
    images = [x[..., None] if x.ndim == 3 else x for x in images]
    if config.flip:
        images = [np.concatenate([x, x[:, :, ::-1]]) for x in images]
    return [tf.constant(x) for x in images]


def hole_masks(white_uint8):
    """1 inside each image's white hole, 0 elsewhere: (n, H, W, 1) uint8."""
    return find_holes(np.asarray(white_uint8))[..., None].astype(np.uint8)


def draw_batch(images, config, seed_generator):
    """``batch_size`` random rows of each array in ``images`` (the same rows for all:
    real, white, and the hole mask when used), with replacement across steps as in the
    handout; under ``--flip`` each pair is mirrored left-right with probability 1/2
    (faces are near-symmetric). ``--shift`` and ``--jitter`` change the real face and
    paint the white one anew from it (they need the mask: ``training_images``), as
    ``--mixup`` does after blending two faces; ``--erase`` paints one more white
    rectangle into the input only.
    """
    n = tf.shape(images[0])[0]
    if config.flip:
        n = n // 2  # the second half holds the mirrored images (training_images)
    index = keras.random.randint((config.batch_size,), 0, n, seed=seed_generator)
    if config.flip:
        flip = keras.random.uniform((config.batch_size,), seed=seed_generator) < 0.5
        index = index + n * tf.cast(flip, index.dtype)
    real, white, *hole = [tf.gather(x, index) for x in images]
    batch = [to_model_range_tf(real), to_model_range_tf(white)] + [tf.cast(h, tf.float32)
                                                                  for h in hole]
    if config.shift or config.jitter or config.mixup:
        real, _, hole = batch
        if config.shift:
            real = random_shift(real, config.shift, seed_generator)
        if config.jitter:
            real = random_brightness_contrast(real, config.jitter, seed_generator)
        if config.mixup:
            real, hole = mix_faces(real, hole, config.mixup, seed_generator)
        # The hole stays where the data put it (mixup: both holes); the face under it
        # has moved, changed or been blended.
        batch = [real, tf.where(hole > 0.5, 1.0, real), hole]
    if config.erase:
        real, white, *hole = batch
        erased = random_rectangles(tf.shape(white), config.erase, seed_generator)
        batch = [real, tf.where(erased, 1.0, white)] + hole
    return batch


def to_model_range_tf(images_uint8):
    """``data.to_model_range`` inside the step: the same float32 operations, the same
    values."""
    return tf.cast(images_uint8, tf.float32) / 127.5 - 1.0


def random_shift(images, max_shift, seed_generator):
    """Translate each image by its own random (dy, dx) in [-max_shift, max_shift],
    mirroring the edges in (a face's border is hair and background, mirrored well)."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    padded = tf.pad(images, [[0, 0], [max_shift] * 2, [max_shift] * 2, [0, 0]], "REFLECT")
    offsets = keras.random.randint((batch, 2), 0, 2 * max_shift + 1, seed=seed_generator)
    rows = offsets[:, :1] + tf.range(height)[None]  # (batch, H)
    cols = offsets[:, 1:] + tf.range(width)[None]  # (batch, W)
    rows_taken = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(rows_taken, cols, axis=2, batch_dims=1)


def random_rectangles(shape, max_size, seed_generator):
    """A boolean mask of ``shape`` (b, H, W, 1): one rectangle per image, each side drawn
    from 1..max_size pixels, at a random place (wholly inside the image)."""
    batch, height, width = shape[0], shape[1], shape[2]
    size = keras.random.randint((batch, 2), 1, max_size + 1, seed=seed_generator)
    corner = keras.random.uniform((batch, 2), seed=seed_generator)
    top = tf.cast(corner[:, :1] * tf.cast(height - size[:, :1] + 1, tf.float32), tf.int32)
    left = tf.cast(corner[:, 1:] * tf.cast(width - size[:, 1:] + 1, tf.float32), tf.int32)
    rows, cols = tf.range(height)[None], tf.range(width)[None]  # (1, H), (1, W)
    in_rows = (rows >= top) & (rows < top + size[:, :1])  # (batch, H)
    in_cols = (cols >= left) & (cols < left + size[:, 1:])  # (batch, W)
    return (in_rows[:, :, None] & in_cols[:, None, :])[..., None]


def random_brightness_contrast(images, strength, seed_generator):
    """x -> a * x + b per image, a in [1 - s, 1 + s], b in [-s, s] (model range -1..1,
    clipped): other lighting for the same faces."""
    batch = tf.shape(images)[0]
    contrast = keras.random.uniform((batch, 1, 1, 1), 1 - strength, 1 + strength,
                                    seed=seed_generator)
    brightness = keras.random.uniform((batch, 1, 1, 1), -strength, strength,
                                      seed=seed_generator)
    return tf.clip_by_value(contrast * images + brightness, -1.0, 1.0)


def mix_faces(images, holes, alpha, seed_generator):
    """Mixup: each face blended with the next one in the batch, lambda ~ Beta(a, a) per
    face; the blend's hole is the union of both holes."""
    batch = tf.shape(images)[0]
    lam = keras.random.beta((batch, 1, 1, 1), alpha, alpha, seed=seed_generator)
    partner, partner_hole = tf.roll(images, 1, axis=0), tf.roll(holes, 1, axis=0)
    return lam * images + (1.0 - lam) * partner, tf.maximum(holes, partner_hole)
