"""What D sees, augmented: the limited-data levers for a D that memorises 700 faces.

With a few hundred training faces D learns them by heart: its accuracy reaches 0.97-1.00
and its verdict says "fake" about everything, which steers G nowhere. Augmenting only the
real faces would teach D that augmented faces are real, and G would learn to make them;
augmenting D's *inputs*, real and fake alike, and letting G's gradient flow back through
the same augmentation, leaves the GAN's target unchanged (DiffAugment, Zhao et al. 2020;
ADA, Karras et al. 2020).

``--diffaugment`` names the transforms: ``translation`` (up to 1/8 of the face, zero
fill), ``cutout`` (a square of half the face's side zeroed) and ``color`` (brightness and
contrast). Each applies to a pair as a whole, the image and the white input D is
conditioned on, so the pair stays aligned. One draw serves a training step: the real
pairs, the fakes D learns from and the fakes G learns through see the same transforms,
so D can tell them apart only by what G made. With ``--ada-target`` each transform
applies to a pair with probability p, which rises while D is too sure of the real faces
(the mean sign of its verdict on them above the target) and falls otherwise (ADA's
heuristic); without it, p is 1.

The randomness is stateless, from ``--seed`` and the step, so a resumed run draws what
the unbroken run would have.
"""

import tensorflow as tf

from mouthgan.config import D_AUGMENT_TRANSFORMS as TRANSFORMS

TRANSLATION_SHARE = 0.125  # DiffAugment's: up to 1/8 of the side either way
CUTOUT_SHARE = 0.5         # DiffAugment's: a square of half the side
# ADA moves p by this much a step at most: from 0 to 1 in 500 steps. ADA's own rate (0 to
# 1 over 500k images) is sized for runs of millions of images; a 3000-step run of 32
# faces shows 96k.
ADA_STEP = 1.0 / 500
ADA_SEED_OFFSET = 7919  # keeps the augmentation's draws apart from the batches'


class Draw:
    """One step's transforms: per pair, which apply and with what parameters."""

    def __init__(self, batch, size, transforms, probability, seed):
        keys = tf.random.experimental.stateless_split(seed, 6)

        def applies(key):
            return tf.random.stateless_uniform([batch], key) < probability

        self.shift = None
        if "translation" in transforms:
            reach = int(size * TRANSLATION_SHARE)
            shift = tf.random.stateless_uniform([batch, 2], keys[0], -reach, reach + 1,
                                                dtype=tf.int32)
            self.shift = shift * tf.cast(applies(keys[1]), tf.int32)[:, None]
        self.cutout = None
        if "cutout" in transforms:
            side = int(size * CUTOUT_SHARE)
            centre = tf.random.stateless_uniform([batch, 2], keys[2], 0, size, dtype=tf.int32)
            inside = tf.range(size)[None, :]
            rows = tf.abs(inside - centre[:, :1]) < side // 2   # (batch, size)
            cols = tf.abs(inside - centre[:, 1:]) < side // 2
            hidden = tf.logical_and(rows[:, :, None], cols[:, None, :])
            hidden = tf.logical_and(hidden, applies(keys[3])[:, None, None])
            self.cutout = 1.0 - tf.cast(hidden, tf.float32)[..., None]
        self.recoloured = None
        if "color" in transforms:
            self.recoloured = applies(keys[5])[:, None, None, None]
            # DiffAugment's ranges, for images in -1..1: brightness +-0.5, contrast x0.5..1.5
            brightness, contrast = tf.unstack(
                tf.random.stateless_uniform([2, batch], keys[4]), axis=0)
            self.brightness = (brightness - 0.5)[:, None, None, None]
            self.contrast = (contrast + 0.5)[:, None, None, None]

    def __call__(self, images, geometry_only=False):
        """``images`` (batch, h, w, c) as this draw transforms them; ``geometry_only``:
        moved and cut out, not recoloured (a mask)."""
        if self.recoloured is not None and not geometry_only:
            mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
            # tf.where, not a blend: a pair left alone stays bit for bit what it was
            images = tf.where(self.recoloured,
                              (images - mean) * self.contrast + mean + self.brightness, images)
        if self.shift is not None:
            images = translate(images, self.shift)
        if self.cutout is not None:
            images = images * self.cutout
        return images


def translate(images, shift):
    """Each image moved by its own whole-pixel (rows, cols) ``shift``, zeros coming in.
    Two gathers, so the gradient reaches the image (a warp op would need its own)."""
    height, width = images.shape[1], images.shape[2]
    rows = tf.range(height)[None, :] - shift[:, :1]  # the source row of each row
    cols = tf.range(width)[None, :] - shift[:, 1:]
    moved = tf.gather(images, tf.clip_by_value(rows, 0, height - 1), axis=1, batch_dims=1)
    moved = tf.gather(moved, tf.clip_by_value(cols, 0, width - 1), axis=2, batch_dims=1)
    inside = tf.logical_and(
        tf.logical_and(rows >= 0, rows < height)[:, :, None],
        tf.logical_and(cols >= 0, cols < width)[:, None, :])
    return moved * tf.cast(inside, images.dtype)[..., None]


def transforms_of(config):
    """The transforms a run applies: --diffaugment's, or all three for ADA alone."""
    if config.diffaugment:
        return tuple(config.diffaugment)
    return TRANSFORMS if config.ada_target else ()


def step_seed(config, step):
    """The stateless seed of a step's draw: the run's seed, the step, and the replica
    (each replica augments its own share of the batch differently)."""
    replica = tf.distribute.get_replica_context()
    replica_id = 0 if replica is None else replica.replica_id_in_sync_group
    step = tf.cast(step, tf.int64)
    return tf.stack([tf.constant(config.seed + ADA_SEED_OFFSET, tf.int64),
                     step * 1024 + tf.cast(replica_id, tf.int64)])


def ada_adjustment(real_sign, target):
    """ADA's step on p: up while D's mean sign on the real pairs exceeds the target
    (it is too sure of them), down otherwise."""
    return ADA_STEP * tf.sign(real_sign - target)
