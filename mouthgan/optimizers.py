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


def adam(config, updates_per_step=1, weight_decay=None):
    # beta_1 = 0.5 (DCGAN, pix2pix, the handout): the default 0.9 lets the two
    # players' momentum overshoot each other.
    optimizer = FusedAdam(learning_rate=learning_rate_schedule(config, updates_per_step),
                          beta_1=config.beta_1, weight_decay=weight_decay or None)
    if weight_decay:
        # Kernels only, as AdamW is usually used: biases and BatchNorm's scale and
        # offset set levels, and shrinking them toward 0 is not a simpler model.
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def generator_adam(config):
    """G's optimizer: the same Adam, with ``--weight-decay`` (G is what overfits)."""
    return adam(config, weight_decay=config.weight_decay)


def discriminator_adam(config):
    """D's optimizer: updates ``d_updates_per_step`` times a step, so its schedule counts
    steps in those units."""
    return adam(config, updates_per_step=d_updates_per_step(config))
