"""Building an engine: the generator and discriminator a config describes, and the
training engine (fused, or the handout's loop) around them, in a strategy's scope."""

import keras
import tensorflow as tf

from mouthgan.data.batches import choose_source
from mouthgan.training.pix2pix import Pix2Pix
from mouthgan.training.handout_loop import HandoutLoop
from mouthgan.models.networks import build_discriminator, build_generator
from mouthgan.training.optimizers import discriminator_adam, generator_adam


def build_models(config, synchronized_batchnorm=False):
    """The generator and discriminator a config describes, seeded.
    ``synchronized_batchnorm``: BatchNormalization takes its statistics over the global
    batch, across replicas (``--sync-batchnorm`` under a strategy)."""
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
