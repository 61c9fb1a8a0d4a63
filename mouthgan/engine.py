"""The one interface both training engines implement, and the factory that builds one.

Two engines train the same GAN with the same mathematics (a test takes a step with each
and compares the weights):

- ``Pix2Pix`` (``mouthgan.gan``, the default): a ``keras.Model`` whose ``train_step``
  updates D, then G, in one compiled call, driven by ``fit()``;
- ``HandoutLoop`` (``mouthgan.handout_loop``): the handout's loop, literally —
  ``G.predict``, ``D.train_on_batch``, ``AM.train_on_batch`` — driven by Keras's
  ``CallbackList``.

``train()`` (``mouthgan.training``) sees only what ``Engine`` declares.
"""

import keras
import tensorflow as tf


class Engine:
    """What the trainer needs of an engine.

    Attributes each engine sets: ``generator``, ``discriminator``, ``g_optimizer``,
    ``d_optimizer``, ``ema_generator`` (the weight average, or None), ``stop_training``;
    and ``seed_generator`` where batches are drawn with a stateful sampler whose state
    must be checkpointed (the DCGAN example; the restoration engines draw each step's
    batch from the seed and the step alone, ``mouthgan.batches``).
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
        return tf.train.Checkpoint(**state)


def step_logs(d_real, d_fake, acc_real, acc_fake, g_loss, g_adv, g_l1):
    """A step's losses as both engines report them. ``loss`` is the two players' sum,
    finite exactly when every loss is: what Keras's ``TerminateOnNaN`` watches."""
    d_loss = 0.5 * (d_real + d_fake)
    return {"d_loss": d_loss, "d_acc": 0.5 * (acc_real + acc_fake), "g_loss": g_loss,
            "g_adv": g_adv, "g_l1": g_l1, "loss": d_loss + g_loss}


def build_models(config, synchronized_batchnorm=False):
    """The generator and discriminator a config describes, seeded.
    ``synchronized_batchnorm``: BatchNormalization takes its statistics over the global
    batch, across replicas (``--sync-batchnorm`` under a strategy)."""
    from mouthgan.models import build_discriminator, build_generator

    keras.utils.set_random_seed(config.seed)
    generator = build_generator(config.generator_filters, norm=config.norm,
                                dropout=config.dropout,
                                literal_upsampling=config.literal_upsampling,
                                precision=config.precision,
                                global_context=config.global_context,
                                synchronized_batchnorm=synchronized_batchnorm)
    discriminator = build_discriminator(config.discriminator_filters, norm=config.norm,
                                        synchronized_batchnorm=synchronized_batchnorm,
                                        spectral_norm=config.spectral_norm)
    return generator, discriminator


def make_engine(config, train, strategy=None):
    """The engine ``config.engine`` names, with fresh seeded models, over the training
    pairs ``train`` (a ``data.Split`` or ``data.FilePairs``; held in memory or streamed
    as ``--input`` says). Models, optimizers and the weight average are built in
    ``strategy``'s scope when one is given."""
    from mouthgan.batches import choose_source
    from mouthgan.gan import Pix2Pix
    from mouthgan.handout_loop import HandoutLoop
    from mouthgan.optimizers import discriminator_adam, generator_adam

    source = choose_source(train, config)
    if config.engine == "handout":
        generator, discriminator = build_models(config)
        return HandoutLoop(generator, discriminator, source, config)  # compiles its own
    # Under a strategy (even of one replica) BatchNormalization is Keras's synchronized
    # one, so that 1 and N replicas compute their statistics alike.
    synchronized = config.sync_batchnorm and strategy is not None
    with (strategy or tf.distribute.get_strategy()).scope():
        generator, discriminator = build_models(config, synchronized)
        engine = Pix2Pix(generator, discriminator, source, config)
        engine.compile(d_optimizer=discriminator_adam(config),
                       g_optimizer=generator_adam(config))
    return engine
