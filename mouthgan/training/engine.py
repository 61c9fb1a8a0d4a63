"""The one interface both training engines implement (``engine_factory`` builds one).

Two engines train the same GAN with the same mathematics (a test takes a step with each
and compares the weights):

- ``Pix2Pix`` (``mouthgan.training.pix2pix``, the default): a ``keras.Model`` whose ``train_step``
  updates D, then G, in one compiled call, driven by ``fit()``;
- ``HandoutLoop`` (``mouthgan.training.handout_loop``): the handout's loop, literally —
  ``G.predict``, ``D.train_on_batch``, ``AM.train_on_batch`` — driven by Keras's
  ``CallbackList``.

``train()`` (``mouthgan.training.trainer``) sees only what ``Engine`` declares.
"""

import tensorflow as tf


class Engine:
    """What the trainer needs of an engine.

    Attributes each engine sets: ``generator``, ``discriminator``, ``g_optimizer``,
    ``d_optimizer``, ``ema_generator`` (the weight average, or None), ``stop_training``;
    and ``seed_generator`` where batches are drawn with a stateful sampler whose state
    must be checkpointed (the DCGAN example; the restoration engines draw each step's
    batch from the seed and the step alone, ``mouthgan.data.batches``).
    """

    @property
    def inference_generator(self):
        """The generator to evaluate and save: the weight average when ``--ema``."""
        return self.ema_generator or self.generator

    # How often D's optimizer updates in one training step (the restoration engines
    # set it from their settings: once or twice per --d-steps).
    d_updates_per_step = 1

    @property
    def steps_done(self):
        """Training steps taken, counted by D's optimizer, which updates
        ``d_updates_per_step`` times every step. Not G's: under mixed_float16 its loss
        scaling skips the update of a step whose scaled gradients overflowed."""
        return int(self.d_optimizer.iterations.numpy()) // self.d_updates_per_step

    def sample_batch(self):
        """(real, white[, hole mask]) of the next step."""
        raise NotImplementedError

    def update(self, real, white, hole=None):
        """One step on a given batch; returns its losses."""
        raise NotImplementedError

    def run(self, total_steps, callbacks):
        """Train from ``steps_done`` to ``total_steps``, one Keras epoch per step (the
        handout's "Epoch"), so that Keras's per-epoch callbacks act per step."""
        raise NotImplementedError

    def checkpoint(self):
        """A ``tf.train.Checkpoint`` of everything a resumed run needs, by name: both
        models, both optimizers (their slots and step counts), the weight average, and a
        stateful sampler's RNG state."""
        state = {"generator": self.generator, "discriminator": self.discriminator,
                 "g_optimizer": self.g_optimizer, "d_optimizer": self.d_optimizer}
        if getattr(self, "seed_generator", None) is not None:
            state["sampler_state"] = self.seed_generator.state
        if self.ema_generator is not None:
            state["ema_generator"] = self.ema_generator
        # The limited-data levers' state (the fused engine's --ada-target and --lecam).
        for name in ("ada_probability", "lecam_averages"):
            if getattr(self, name, None) is not None:
                state[name] = getattr(self, name)
        return tf.train.Checkpoint(**state)


def step_logs(d_real, d_fake, acc_real, acc_fake, g_loss, g_adv, g_l1):
    """A step's losses as both engines report them. ``loss`` is the two players' sum,
    finite exactly when every loss is: what Keras's ``TerminateOnNaN`` watches."""
    d_loss = 0.5 * (d_real + d_fake)
    return {"d_loss": d_loss, "d_acc": 0.5 * (acc_real + acc_fake), "g_loss": g_loss,
            "g_adv": g_adv, "g_l1": g_l1, "loss": d_loss + g_loss}
