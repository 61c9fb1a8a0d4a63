"""Training: the GAN as a ``keras.Model`` with ``train_step``, the handout's literal
loop beside it, callbacks, checkpoints and the run directory.

One training step (SPEC §4), for both engines:

1. draw ``batch_size`` random (real, white) pairs (flipped at random with ``--flip``);
2. G turns the whites into fakes, in inference mode (the handout calls ``G.predict``);
3. D learns: real pairs toward 1, then fake pairs toward 0 (MSE on the patch map),
   ``d_steps`` times;
4. G learns through "AM": D's verdict on G(white) toward 1 (MSE, D frozen) plus
   the L1 distance to the real image, weighted ``loss_weights``.

The batch is drawn inside the step from the training images, held in memory as one
tensor, with a Keras ``SeedGenerator`` whose state is checkpointed: a resumed run draws
the same batches as an uninterrupted one, and both engines draw the same batches.
"""

import json
import math
import os
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from mouthgan import MouthganError, metrics
from mouthgan.inpaint import find_holes, paste, restore
from mouthgan.metrics import rmse
from mouthgan.models import (build_adversarial, build_discriminator, build_generator,
                             compile_discriminator, patch_shape)
from mouthgan.run_dir import run_lock, write_config, write_json
from mouthgan.signals import Interrupted, stop_requests

LOSS_NAMES = ("d_loss", "d_acc", "g_loss", "g_adv", "g_l1")
VAL_NAMES = ("val_rmse", "val_rmse_pasted")  # raw output, and pasted into the hole


def build_models(config):
    """The generator and discriminator a config describes, seeded."""
    keras.utils.set_random_seed(config.seed)
    generator = build_generator(config.generator_filters, norm=config.norm,
                                dropout=config.dropout,
                                literal_upsampling=config.literal_upsampling,
                                precision=config.precision,
                                global_context=config.global_context)
    discriminator = build_discriminator(config.discriminator_filters, norm=config.norm)
    return generator, discriminator


class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """pix2pix's schedule: constant for the first half of training, then linearly to 0.

    ``updates_per_step`` converts the optimizer's update count into training steps (D
    updates twice per step when it learns on real, then on fake pairs).
    """

    def __init__(self, learning_rate, total_steps, updates_per_step=1):
        self.learning_rate, self.total_steps = learning_rate, total_steps
        self.updates_per_step = updates_per_step

    def __call__(self, iteration):
        step = tf.cast(iteration // self.updates_per_step, tf.float32)
        half = self.total_steps / 2
        remaining = tf.clip_by_value((self.total_steps - step) / half, 0.0, 1.0)
        return self.learning_rate * remaining

    def get_config(self):
        return {"learning_rate": self.learning_rate, "total_steps": self.total_steps,
                "updates_per_step": self.updates_per_step}


def d_updates_per_step(config):
    return config.d_steps * (1 if config.d_batch == "mixed" else 2)


def learning_rate(config, updates_per_step=1):
    if config.lr_decay == "linear":
        return LinearDecay(config.lr, config.steps, updates_per_step)
    return config.lr


class FusedAdam(keras.optimizers.Adam):
    """Keras's Adam (same slots, same update rule, same checkpoints), each variable
    updated by TensorFlow's one ``ResourceApplyAdam`` op.

    Why: Keras writes the update as ~15 small ops per variable, and a step updates 68
    variables (G once, D twice): a thousand ops that do almost no arithmetic but each
    cost the executor a dispatch. The fused op computes the same formula, alpha =
    lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), m += (g - m)(1 - beta_1),
    v += (g^2 - v)(1 - beta_2), w -= alpha * m / (sqrt(v) + epsilon), so results agree
    up to float rounding (``tests/test_training.py``). AMSGrad is left to Keras.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)

        def constant(value):
            return tf.cast(value, dtype)

        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(constant(self.beta_1), step),
            beta2_power=tf.pow(constant(self.beta_2), step),
            lr=constant(learning_rate), beta1=constant(self.beta_1),
            beta2=constant(self.beta_2), epsilon=constant(self.epsilon),
            grad=tf.cast(gradient, dtype))


def _adam(config, updates_per_step=1, weight_decay=None):
    # beta_1 = 0.5 (DCGAN, pix2pix, the handout): the default 0.9 lets the two
    # players' momentum overshoot each other.
    optimizer = FusedAdam(learning_rate=learning_rate(config, updates_per_step),
                          beta_1=config.beta_1, weight_decay=weight_decay or None)
    if weight_decay:
        # Kernels only, as AdamW is usually used: biases and BatchNorm's scale and
        # offset set levels, and shrinking them toward 0 is not a simpler model.
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def _g_adam(config):
    """G's optimizer: the same Adam, with ``--weight-decay`` (G is what overfits)."""
    return _adam(config, weight_decay=config.weight_decay)


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


def pixel_weights(hole, hole_weight):
    """Reconstruction weight per pixel: ``hole_weight`` inside the hole, 1 outside."""
    return 1.0 + (hole_weight - 1.0) * hole


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


def reconstruction_loss(real, fake, weights, kind="l1"):
    """Mean absolute (l1) or squared (l2) error, weighted per pixel when ``weights`` is
    given (normalised by the weights' sum, so the scale stays that of a plain mean and
    ``--loss-weights`` keeps its meaning)."""
    error = tf.abs(real - fake) if kind == "l1" else tf.square(real - fake)
    if weights is None:
        return tf.reduce_mean(error)
    return tf.reduce_sum(weights * error) / tf.reduce_sum(weights)


def hole_masks(white_uint8):
    """1 inside each image's white hole, 0 elsewhere: (n, H, W, 1) uint8."""
    return find_holes(np.asarray(white_uint8))[..., None].astype(np.uint8)


def update_ema(average, model, decay, step):
    """average <- d * average + (1 - d) * model, every weight (BatchNorm's moving
    statistics too, so they match the averaged kernels). The decay ramps up as
    (1 + step) / (10 + step), as tf.train.ExponentialMovingAverage's num_updates does,
    so the average forgets the random initial weights early on."""
    step = tf.cast(step, tf.float32)
    d = tf.minimum(decay, (1.0 + step) / (10.0 + step))
    for a, w in zip(average.weights, model.weights):
        a.assign(d * a + (1.0 - d) * w)


class Pix2Pix(keras.Model):
    """The fused engine: one compiled call updates D, then G (keras-io's GAN pattern).

    ``fit()`` drives it, so the progress bar and every Keras callback work. The data
    passed to ``fit`` is ignored: the step draws its own batch (see the module doc).
    """

    def __init__(self, generator, discriminator, real, white, config, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.config = config
        self.images = training_images(real, white, config)
        self.seed_generator = keras.random.SeedGenerator(config.seed)
        self.patch = patch_shape(discriminator)
        self.ema_generator = None
        if config.ema:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())

    @property
    def inference_generator(self):
        """The generator to evaluate and save: the weight average when ``--ema``."""
        return self.ema_generator or self.generator

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # Build the slots now, so a checkpoint can be restored before the first step.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    def train_step(self, data):
        return self.update(*self.sample_batch())

    def sample_batch(self):
        """(real, white[, hole mask]) of the next step, as tensors: the same draw as
        ``HandoutLoop.sample_batch`` (same sampler, same seed)."""
        return draw_batch(self.images, self.config, self.seed_generator)

    def update(self, real, white, hole=None):
        """One step on a given batch: D on real then fake pairs, then G through AM."""
        G, D = self.generator, self.discriminator
        real, white = tf.convert_to_tensor(real), tf.convert_to_tensor(white)
        weights = (None if hole is None or self.config.hole_weight == 1.0
                   else pixel_weights(hole, self.config.hole_weight))
        w_adv, w_l1 = self.config.loss_weights
        ones = tf.ones((tf.shape(real)[0],) + self.patch)
        zeros = tf.zeros_like(ones)
        fake = G(white, training=False)  # the handout's G.predict

        for _ in range(self.config.d_steps):
            if self.config.d_batch == "mixed":
                d_loss, d_acc = self._d_update(tf.concat([real, fake], 0),
                                               tf.concat([white, white], 0),
                                               tf.concat([ones, zeros], 0))
                d_real = d_fake = d_loss
                acc_real = acc_fake = d_acc
            else:
                d_real, acc_real = self._d_update(real, white, ones)
                d_fake, acc_fake = self._d_update(fake, white, zeros)

        with tf.GradientTape() as tape:
            fake_for_g = G(white, training=True)
            # D is frozen here. Keras 3 runs a frozen BatchNormalization in inference
            # mode, so the handout engine's AM judges fakes with D's moving statistics;
            # we do the same on purpose (train-mode statistics measured no better).
            verdict = D([fake_for_g, white], training=False)
            g_adv = tf.reduce_mean(tf.square(verdict - 1.0))
            g_l1 = reconstruction_loss(real, fake_for_g, weights, self.config.reconstruction)
            g_loss = w_adv * g_adv + w_l1 * g_l1
        grads = tape.gradient(g_loss, G.trainable_variables)
        self.g_optimizer.apply(grads, G.trainable_variables)
        if self.ema_generator is not None:
            update_ema(self.ema_generator, G, self.config.ema, self.g_optimizer.iterations)

        return {
            "d_loss": 0.5 * (d_real + d_fake),
            "d_acc": 0.5 * (acc_real + acc_fake),
            "g_loss": g_loss, "g_adv": g_adv, "g_l1": g_l1,
        }

    def _d_update(self, image, white, target):
        D = self.discriminator
        with tf.GradientTape() as tape:
            scores = D([image, white], training=True)
            loss = tf.reduce_mean(tf.square(scores - target))
        grads = tape.gradient(loss, D.trainable_variables)
        self.d_optimizer.apply(grads, D.trainable_variables)
        accuracy = tf.reduce_mean(tf.cast((scores > 0.5) == (target > 0.5), tf.float32))
        return loss, accuracy


class HandoutLoop:
    """The handout's loop, literally: ``G.predict``, ``D.train_on_batch`` on the real
    and on the fake pairs, ``AM.train_on_batch`` — with the Keras 3 trainable toggle.

    Same mathematics as ``Pix2Pix.update`` (a test checks one step gives the same
    weights), about 1.7x slower: four host round trips a step instead of one.
    """

    def __init__(self, generator, discriminator, real, white, config):
        self.generator, self.discriminator, self.config = generator, discriminator, config
        self.images = training_images(real, white, config)
        self.ema_generator = None
        # The same optimizer as the fused engine's (Adam, fused: FusedAdam).
        compile_discriminator(discriminator, optimizer=_adam(
            config, updates_per_step=d_updates_per_step(config)))
        self.adversarial = build_adversarial(generator, discriminator, config.loss_weights,
                                             optimizer=_g_adam(config))
        self.d_optimizer = discriminator.optimizer
        self.g_optimizer = self.adversarial.optimizer
        discriminator.trainable = True
        self.d_optimizer.build(discriminator.trainable_variables)
        self.g_optimizer.build(generator.trainable_variables)
        # The same sampler and seed as the fused engine: both draw the same batches.
        self.seed_generator = keras.random.SeedGenerator(config.seed)
        self.patch = patch_shape(discriminator)
        self.stop_training = False

    inference_generator = property(lambda self: self.generator)

    def sample_batch(self):
        """(real, white[, hole mask]) as NumPy arrays."""
        return tuple(x.numpy() for x in draw_batch(self.images, self.config,
                                                    self.seed_generator))

    def update(self, real, white, hole=None):
        G, D, AM = self.generator, self.discriminator, self.adversarial
        ones = np.ones((len(real),) + self.patch, np.float32)
        zeros = np.zeros_like(ones)
        fake = G.predict(white, verbose=0)
        D.trainable = True  # Keras 3: must be toggled back on, or D never learns
        for _ in range(self.config.d_steps):
            if self.config.d_batch == "mixed":
                d_real = d_fake = D.train_on_batch(
                    [np.concatenate([real, fake]), np.concatenate([white, white])],
                    np.concatenate([ones, zeros]), return_dict=True)
            else:
                d_real = D.train_on_batch([real, white], ones, return_dict=True)
                d_fake = D.train_on_batch([fake, white], zeros, return_dict=True)
        D.trainable = False
        weights = None
        if hole is not None and self.config.hole_weight != 1.0:
            # Per-pixel weights of the MAE; Keras divides the weighted sum by the pixel
            # count, so dividing the weights by their mean gives the fused engine's
            # sum(w * error) / sum(w).
            per_pixel = pixel_weights(hole[..., 0], self.config.hole_weight)
            weights = [np.ones(ones.shape[:-1], np.float32), per_pixel / per_pixel.mean()]
        g = AM.train_on_batch([real, white], [ones, real], sample_weight=weights,
                              return_dict=True)
        # Keras 3 reports per-output losses unweighted, under the inner models' names.
        return {
            "d_loss": 0.5 * (d_real["loss"] + d_fake["loss"]),
            "d_acc": 0.5 * (d_real["binary_accuracy"] + d_fake["binary_accuracy"]),
            "g_loss": g["loss"],
            "g_adv": g["discriminator_loss"],
            "g_l1": g["generator_loss"],
        }


# --------------------------------------------------------------------------- state

def training_state(engine):
    """Every variable a resumed run needs besides the models' own weights."""
    state = {
        "d_optimizer": engine.d_optimizer.variables,
        "g_optimizer": engine.g_optimizer.variables,
        "seed": [engine.seed_generator.state],
    }
    if engine.ema_generator is not None:
        state["ema_generator"] = engine.ema_generator.weights
    return state


def steps_done(engine):
    return int(engine.g_optimizer.iterations.numpy())


def save_checkpoint(engine, run_dir):
    """Write ``run_dir/checkpoint`` atomically: a temporary folder renamed into place."""
    run_dir = Path(run_dir)
    tmp, final, old = (run_dir / n for n in ("checkpoint.tmp", "checkpoint", "checkpoint.old"))
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    engine.generator.save(tmp / "generator.keras")
    engine.discriminator.save(tmp / "discriminator.keras")
    if engine.ema_generator is not None:  # what load_generator serves from a checkpoint
        engine.ema_generator.save(tmp / "ema_generator.keras")
    arrays = {f"{group}/{i}": np.asarray(v.numpy())
              for group, variables in training_state(engine).items()
              for i, v in enumerate(variables)}
    np.savez(tmp / "state.npz", **arrays)
    (tmp / "step.json").write_text(json.dumps({"step": steps_done(engine)}))
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def find_checkpoint(run_dir):
    """The newest complete checkpoint folder of a run (survives a kill mid-save)."""
    for name in ("checkpoint", "checkpoint.old"):
        folder = Path(run_dir) / name
        if (folder / "step.json").exists():
            return folder
    return None


def load_weights_by_layer_name(model, path):
    """Set each layer's weights from the layer of the same name in the saved model.

    Not ``model.load_weights``: that matches layers by class, so a checkpoint written
    before a layer changed class (Keras's BatchNormalization before
    ``FusedBatchNormalization``, D's Concatenate + Conv2D before ``ConcatConv2D``)
    would not load, although every weight has the same name, shape and meaning.
    """
    saved = {layer.name: layer for layer in keras.models.load_model(path, compile=False).layers}
    for layer in model.layers:
        if layer.weights:
            if layer.name not in saved:
                raise KeyError(f"no layer {layer.name!r} in {Path(path).name}")
            layer.set_weights(saved[layer.name].get_weights())


def load_checkpoint(engine, folder):
    folder = Path(folder)
    try:
        load_weights_by_layer_name(engine.generator, folder / "generator.keras")
        load_weights_by_layer_name(engine.discriminator, folder / "discriminator.keras")
        with np.load(folder / "state.npz") as arrays:
            for group, variables in training_state(engine).items():
                for i, v in enumerate(variables):
                    v.assign(arrays[f"{group}/{i}"])
    except (OSError, KeyError, ValueError) as exc:
        raise MouthganError(f"{folder}: broken checkpoint ({exc})")
    return steps_done(engine)


# --------------------------------------------------------------------------- callbacks

class Evaluator:
    """Validation RMSE of the generator, raw and pasted into the hole.

    The holes are found once, up front: they depend only on the white images.
    """

    def __init__(self, split, flip_average=False):
        self.white, self.flip_average = split.white, flip_average
        self.real01 = split.real.astype(np.float32) / 255.0
        self.holes = find_holes(split.white)

    def predictions(self, generator):
        raw = restore(generator, self.white, composite=False, flip_average=self.flip_average)
        return raw, paste(raw, self.white.astype(np.float32) / 255.0, self.holes)

    def __call__(self, generator):
        raw, pasted = self.predictions(generator)
        return {"val_rmse": rmse(raw, self.real01), "val_rmse_pasted": rmse(pasted, self.real01)}

    def scores(self, generator):
        """Every metric for the raw output, the pasted output, and the white image."""
        raw, pasted = self.predictions(generator)
        return {
            "identity": metrics.report(self.white / 255.0, self.real01, self.holes),
            "raw": metrics.report(raw, self.real01, self.holes),
            "pasted": metrics.report(pasted, self.real01, self.holes),
        }


def final_scores(generator, dataset, flip_average=False):
    """{split: {identity|raw|pasted: metrics}} for Test and Validation where answers exist."""
    return {name: Evaluator(split, flip_average).scores(generator)
            for name, split in (("test", dataset.test), ("validation", dataset.validation))
            if split is not None and split.real is not None}


class RunLogger(keras.callbacks.Callback):
    """Progress bar over the whole run, history.csv, TensorBoard scalars, evaluation,
    sample grids, checkpoints, the NaN guard. One callback, so the order of these per
    step is explicit: log, then evaluate, then sample, then checkpoint.
    """

    def __init__(self, engine, run_dir, config, start_step, evaluator, sample_split,
                 verbose=1):
        super().__init__()
        self.engine, self.run_dir, self.config = engine, Path(run_dir), config
        self.step = start_step
        self.evaluator, self.sample_split = evaluator, sample_split
        self.history_path = self.run_dir / "history.csv"
        self.progbar = keras.utils.Progbar(config.steps, verbose=verbose,
                                           stateful_metrics=LOSS_NAMES + VAL_NAMES,
                                           unit_name="step", interval=0.5)
        self.writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard"))
        self.pending = []
        self.failure = None
        if start_step:
            self.progbar.update(start_step)

    def on_train_begin(self, logs=None):
        if self.step == 0:  # the untrained generator: the "before" of the report
            self.write_samples()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        values = {k: float(logs[k]) for k in LOSS_NAMES}
        if not all(math.isfinite(v) for v in values.values()):
            bad = ", ".join(k for k, v in values.items() if not math.isfinite(v))
            self.failure = f"{bad} became NaN/Inf at step {self.step}"
            self.model.stop_training = self.engine.stop_training = True
            return
        row = {"step": self.step, **values}
        if self.step % self.config.eval_every == 0 or self.step == self.config.steps:
            if self.evaluator:
                row.update(self.evaluator(self.engine.inference_generator))
        self.pending.append(row)
        self.progbar.update(self.step, [(k, row[k]) for k in LOSS_NAMES + VAL_NAMES
                                        if k in row])
        if self.step % self.config.sample_every == 0 or self.step == self.config.steps:
            self.write_samples()
        if self.step % self.config.checkpoint_every == 0 or self.step == self.config.steps:
            self.checkpoint()

    def flush(self):
        """Append pending rows to history.csv and TensorBoard."""
        if not self.pending:
            return
        from mouthgan.plots import HISTORY_COLUMNS

        new_file = not self.history_path.exists()
        with open(self.history_path, "a") as f:
            if new_file:
                f.write(",".join(HISTORY_COLUMNS) + "\n")
            for row in self.pending:
                f.write(",".join("" if row.get(c) is None else f"{row[c]:.6g}"
                                 for c in HISTORY_COLUMNS) + "\n")
        with self.writer.as_default():
            for row in self.pending:
                for key, value in row.items():
                    if key != "step":
                        tf.summary.scalar(key, value, step=row["step"])
        self.writer.flush()
        self.pending = []

    def checkpoint(self):
        """Flush the history, then save the state. A kill between the two leaves rows
        past the checkpoint, which a resume truncates; the other order would leave a gap.
        """
        self.flush()
        save_checkpoint(self.engine, self.run_dir)
        from mouthgan.plots import plot_losses

        plot_losses(self.history_path, self.run_dir / "loss.png")

    def write_samples(self):
        from mouthgan.plots import sample_grid

        split = self.sample_split
        prediction = restore(self.engine.inference_generator, split.white, composite=False)
        sample_grid(prediction, split.real, split.white,
                    self.run_dir / "samples" / f"step_{self.step:06d}.png",
                    title=f"step {self.step}: prediction | real | white")


# --------------------------------------------------------------------------- train

def make_engine(config, dataset):
    generator, discriminator = build_models(config)
    train = dataset.train
    if config.engine == "handout":
        return HandoutLoop(generator, discriminator, train.real, train.white, config)
    engine = Pix2Pix(generator, discriminator, train.real, train.white, config)
    engine.compile(d_optimizer=_adam(config, updates_per_step=d_updates_per_step(config)),
                   g_optimizer=_g_adam(config))
    return engine


def train(config, dataset, run_dir, resume=False, verbose=1):
    """Train to ``config.steps``; return a summary dict.

    SIGINT and SIGTERM stop the run at the next step boundary: it saves a checkpoint and
    raises ``mouthgan.signals.Interrupted`` saying how to resume. One process at a time
    writes a run folder (``run_lock``).
    """
    run_dir = Path(run_dir)
    with run_lock(run_dir), stop_requests() as stop:
        return _train(config, dataset, run_dir, resume, verbose, stop)


def _train(config, dataset, run_dir, resume, verbose, stop):
    config.validate(len(dataset.train))
    engine = make_engine(config, dataset)
    start = 0
    if resume:
        folder = find_checkpoint(run_dir)
        if folder is None:
            raise MouthganError(f"{run_dir}: no checkpoint to resume from")
        start = load_checkpoint(engine, folder)
        # History after the checkpoint belongs to steps that will be run again.
        _truncate_history(run_dir / "history.csv", start)
        print(f"Resuming {run_dir} at step {start}")
    write_config(run_dir, config, {"engine_class": type(engine).__name__})

    evaluation = dataset.validation or dataset.test
    evaluator = (Evaluator(evaluation, config.flip_average)
                 if evaluation is not None and evaluation.real is not None else None)
    sample_split = _sample_faces(dataset)
    logger = RunLogger(engine, run_dir, config, start, evaluator, sample_split, verbose)
    remaining = config.steps - start
    started = time.time()
    if remaining > 0 and not stop:
        if isinstance(engine, Pix2Pix):
            logger.set_model(engine)
            # The data is drawn inside train_step; fit only needs something to iterate.
            ticks = tf.data.Dataset.from_tensors(0).repeat()
            engine.fit(ticks, steps_per_epoch=remaining, epochs=1, verbose=0,
                       shuffle=False, callbacks=[logger, StopOnRequest(stop)])
        else:
            _run_handout_loop(engine, logger, remaining, stop)
    if logger.failure:
        raise MouthganError(f"{logger.failure}; stopped. The last good checkpoint is in "
                            f"{run_dir}/checkpoint (step {_checkpoint_step(run_dir)})")
    if stop:
        done = steps_done(engine)
        if done == start:
            raise Interrupted(stop.signum, f"{stop.name}: stopped before step {start + 1}; "
                                           "nothing new to save")
        if _checkpoint_step(run_dir) != done:
            logger.checkpoint()
        raise Interrupted(stop.signum, f"{stop.name}: stopped at step {done}; checkpoint "
                                       "saved. Continue with: python scripts/train.py "
                                       f"--resume {run_dir}")
    logger.flush()
    seconds = time.time() - started
    engine.inference_generator.save(run_dir / "generator.keras")
    engine.discriminator.save(run_dir / "discriminator.keras")
    scores = final_scores(engine.inference_generator, dataset, config.flip_average)
    write_json(run_dir / "scores.json", scores)
    write_json(run_dir / "summary.json", {
        "steps": steps_done(engine),
        # of the process that finished the run: a resumed run counts its last part only
        "train_seconds": round(seconds, 1), "resumed": bool(resume),
        "generator_parameters": engine.generator.count_params(),
        "discriminator_parameters": engine.discriminator.count_params()})
    return {"run_dir": str(run_dir), "steps": steps_done(engine), "seconds": seconds,
            "engine": engine, "scores": scores}


class StopOnRequest(keras.callbacks.Callback):
    """Ends ``fit()`` at the step boundary after SIGINT or SIGTERM (``mouthgan.signals``).
    Listed after the logger, so the step that was running is logged first."""

    def __init__(self, request):
        super().__init__()
        self.request = request

    def on_train_batch_end(self, batch, logs=None):
        if self.request:
            self.model.stop_training = True


def _run_handout_loop(engine, logger, steps, stop):
    logger.set_model(engine)
    logger.on_train_begin()
    for batch in range(steps):
        logs = engine.update(*engine.sample_batch())
        logger.on_train_batch_end(batch, logs)
        if engine.stop_training or stop:
            break


def _sample_faces(dataset, n=4):
    """Fixed faces for the sample grids: validation if there is one, else training."""
    from mouthgan.data import Split

    split = dataset.validation if dataset.validation is not None else dataset.train
    return Split(split.white[:n], split.real[:n], split.names[:n])


def _checkpoint_step(run_dir):
    folder = find_checkpoint(run_dir)
    return json.loads((folder / "step.json").read_text())["step"] if folder else 0


def _truncate_history(path, step):
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = lines[:1] + [l for l in lines[1:] if int(float(l.split(",")[0])) <= step]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(kept))
    os.replace(tmp, path)
