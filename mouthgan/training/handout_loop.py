"""The handout's engine: its training loop, literally."""

import keras
import numpy as np

from mouthgan.data.batches import training_batches
from mouthgan.training.engine import Engine, step_logs
from mouthgan.training.losses import pixel_weights
from mouthgan.models.networks import build_adversarial, compile_discriminator, patch_shape
from mouthgan.training.optimizers import (d_updates_per_step, discriminator_adam,
                                          generator_adam)


class HandoutLoop(Engine):
    """The handout's loop, literally: ``G.predict``, ``D.train_on_batch`` on the real
    and on the fake pairs, ``AM.train_on_batch`` — with the Keras 3 trainable toggle.

    Same mathematics as ``Pix2Pix.update`` (a test checks one step gives the same
    weights), about 1.7x slower: four host round trips a step instead of one.
    """

    def __init__(self, generator, discriminator, source, config):
        self.generator, self.discriminator, self.config = generator, discriminator, config
        self.source = source
        self.d_updates_per_step = d_updates_per_step(config)
        self.ema_generator = None
        # The same optimizers as the fused engine's.
        compile_discriminator(discriminator, optimizer=discriminator_adam(config))
        self.adversarial = build_adversarial(generator, discriminator, config.loss_weights,
                                             optimizer=generator_adam(config))
        self.d_optimizer = discriminator.optimizer
        # As the model's optimizer, G's is what Keras's TensorBoard callback reports.
        self.g_optimizer = self.optimizer = self.adversarial.optimizer
        discriminator.trainable = True
        self.d_optimizer.build(discriminator.trainable_variables)
        self.g_optimizer.build(generator.trainable_variables)
        self.patch = patch_shape(discriminator)
        self.stop_training = False

    def sample_batch(self):
        """(real, white[, hole mask]) of the next step as NumPy arrays: the fused
        engine's batch of that step."""
        return tuple(x.numpy() for x in self.source.batch_at(self.config, self.steps_done))

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
        return step_logs(d_real["loss"], d_fake["loss"], d_real["binary_accuracy"],
                         d_fake["binary_accuracy"], g["loss"], g["discriminator_loss"],
                         g["generator_loss"])

    def run(self, total_steps, callbacks):
        """The loop ``fit()`` would run, around the handout's step: the same Keras
        callbacks see the same calls."""
        callbacks = keras.callbacks.CallbackList(callbacks, model=self)
        callbacks.on_train_begin()
        logs = None
        start = self.steps_done
        batches = training_batches(self.source, self.config, start).as_numpy_iterator()
        for epoch in range(start, total_steps):
            callbacks.on_epoch_begin(epoch)
            callbacks.on_train_batch_begin(0)
            logs = self.update(*next(batches))
            callbacks.on_train_batch_end(0, logs)
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callbacks.on_train_end(logs)
