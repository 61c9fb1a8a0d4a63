"""The optimizers: Adam with the handout's beta_1, pix2pix's linear decay, AdamW's
decoupled weight decay for G."""

import keras
import tensorflow as tf


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


def learning_rate_schedule(config, updates_per_step=1):
    if config.lr_decay == "linear":
        return LinearDecay(config.lr, config.steps, updates_per_step)
    return config.lr


def adam(config, updates_per_step=1, weight_decay=None):
    """Keras's Adam. (A fused ``ResourceApplyAdam`` variant was measured against it in
    one process and was no faster: ``benchmarks/RESULTS.md``, 2026-12-02.)"""
    # beta_1 = 0.5 (DCGAN, pix2pix, the handout): the default 0.9 lets the two
    # players' momentum overshoot each other.
    optimizer = keras.optimizers.Adam(
        learning_rate=learning_rate_schedule(config, updates_per_step), beta_1=config.beta_1,
        weight_decay=weight_decay or None)
    if weight_decay:
        # Kernels only, as AdamW is usually used: biases and BatchNorm's scale and
        # offset set levels, and shrinking them toward 0 is not a simpler model.
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def generator_adam(config):
    """G's optimizer: the same Adam, with ``--weight-decay`` (G is what overfits).
    Under mixed_float16, wrapped in Keras's dynamic loss scaling (float16 gradients of
    a small loss underflow to 0 otherwise); the step calls ``scale_loss``."""
    optimizer = adam(config, weight_decay=config.weight_decay)
    if config.precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def discriminator_adam(config):
    """D's optimizer: updates ``d_updates_per_step`` times a step, so its schedule counts
    steps in those units."""
    return adam(config, updates_per_step=d_updates_per_step(config))
