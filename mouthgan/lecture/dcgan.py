"""The lecture's Keras GAN example (part 2 of the handout): 100-d noise -> a 28x28 image.

Written the way the slides train it (after Rowel Atienza's "GAN by Example using Keras"):
D on a batch of real images (label 1) and generated ones (label 0) with
``train_on_batch``, then the adversarial model ``AM = Sequential(G, D)`` on fresh noise
labelled 1, D frozen. Channels last: TensorFlow on CPU rejects the slides' channels-first
convolutions.

Parameter counts, by the slides' layers: G 2,343,169 (either variant), D 4,311,553.
"""

from pathlib import Path

import keras
import numpy as np
from keras import layers

from mouthgan import MouthganError
from mouthgan.training.engine import Engine

NOISE_DIM = 100
IMAGE_SIZE = 28


def build_generator(kind="upsample"):
    """Noise (batch, 100) -> image (batch, 28, 28, 1) in 0..1 (sigmoid).

        dense 7*7*256, relu             (batch, 12544)
        reshape                         (batch, 7, 7, 256)
        upsample, conv 128 5x5, relu    (batch, 14, 14, 128)
        upsample, conv 64 5x5, relu     (batch, 28, 28, 64)
        conv 32 5x5, relu               (batch, 28, 28, 32)
        conv 1 5x5, sigmoid             (batch, 28, 28, 1)

    ``kind='transpose'`` swaps each Conv2D for a Conv2DTranspose (stride 1, same
    parameter count), the slides' suggested variant.
    """
    if kind not in ("upsample", "transpose"):
        raise ValueError(f"unknown generator {kind!r}")
    conv = layers.Conv2D if kind == "upsample" else layers.Conv2DTranspose
    return keras.Sequential([
        keras.Input((NOISE_DIM,)),
        layers.Dense(7 * 7 * 256, activation="relu"),
        layers.Reshape((7, 7, 256)),
        layers.UpSampling2D(),
        conv(128, 5, padding="same", activation="relu"),
        layers.UpSampling2D(),
        conv(64, 5, padding="same", activation="relu"),
        conv(32, 5, padding="same", activation="relu"),
        conv(1, 5, padding="same", activation="sigmoid"),
    ], name=f"dcgan_generator_{kind}")


def build_discriminator(kind="relu"):
    """Image (batch, 28, 28, 1) -> probability it is real (batch, 1).

        conv 64  5x5 s2                 (batch, 14, 14, 64)
        conv 128 5x5 s2                 (batch, 7, 7, 128)
        conv 256 5x5 s2                 (batch, 4, 4, 256)
        conv 512 5x5 s1                 (batch, 4, 4, 512)
        flatten, dense 1, sigmoid       (batch, 1)

    ``kind='leaky'``: LeakyReLU(0.2) and Dropout(0.4) after each convolution.
    """
    if kind not in ("relu", "leaky"):
        raise ValueError(f"unknown discriminator {kind!r}")
    stack = [keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1))]
    for filters, stride in ((64, 2), (128, 2), (256, 2), (512, 1)):
        if kind == "relu":
            stack.append(layers.Conv2D(filters, 5, strides=stride, padding="same",
                                       activation="relu"))
        else:
            stack += [layers.Conv2D(filters, 5, strides=stride, padding="same"),
                      layers.LeakyReLU(negative_slope=0.2), layers.Dropout(0.4)]
    stack += [layers.Flatten(), layers.Dense(1, activation="sigmoid")]
    return keras.Sequential(stack, name=f"dcgan_discriminator_{kind}")


def rmsprop(learning_rate, decay, **kwargs):
    """Keras 2's ``RMSprop(lr, decay=d)`` divided the rate by (1 + d * iterations).
    Keras 3 has no ``decay`` argument; ``InverseTimeDecay`` with decay_steps=1 is that
    same schedule."""
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        learning_rate, decay_steps=1, decay_rate=decay)
    return keras.optimizers.RMSprop(learning_rate=schedule, **kwargs)


def compile_models(generator, discriminator):
    """D and AM = Sequential(G, D), compiled as the slides do; returns AM.

    D's rate is set a bit higher than AM's, as the slides advise. The Keras 3 freeze
    trap applies here too (see mouthgan.models.networks.build_adversarial): the caller toggles
    ``discriminator.trainable`` around each update.
    """
    discriminator.compile(loss="binary_crossentropy", metrics=["accuracy"],
                          optimizer=rmsprop(2e-4, 6e-8, clipvalue=1.0))
    discriminator.trainable = False
    adversarial = keras.Sequential([generator, discriminator], name="dcgan_adversarial")
    adversarial.compile(loss="binary_crossentropy", metrics=["accuracy"],
                        optimizer=rmsprop(1e-4, 3e-8))
    return adversarial


def load_images(config):
    """Training images (n, 28, 28, 1) in 0..1 (the generator ends in a sigmoid); refuses
    a ``--batch-size`` larger than the images there are."""
    if config.data == "mnist":
        try:
            (x, _), _ = keras.datasets.mnist.load_data()
        except Exception as exc:  # urllib raises several kinds when offline
            raise MouthganError(f"could not download MNIST ({exc.__class__.__name__}: "
                                "no network?); use --data faces")
        images = (x.astype(np.float32) / 255.0)[..., None]
    else:
        from mouthgan.data.faces import load_folder

        real, _ = load_folder(f"{config.data_dir}/Training/Real", size=IMAGE_SIZE,
                              notes=lambda message: None)  # resizing to 28x28 is the point
        images = (real.astype(np.float32) / 255.0)[..., None]
    if config.batch_size > len(images):
        raise MouthganError(f"--batch-size {config.batch_size} is larger than the "
                            f"{len(images)} training images")
    return images


class DCGANTrainer(Engine):
    """The slides' loop, one ``step()`` at a time. It is an ``Engine`` for its state
    only (models, optimizers, the sampler, the step count), so that a run checkpoints
    and resumes like the restoration trainer's (``mouthgan.training.checkpoints``)."""

    def __init__(self, config, images):
        keras.utils.set_random_seed(config.seed)
        self.config = config
        self.images = images
        self.generator = build_generator(config.generator)
        self.discriminator = build_discriminator(config.discriminator)
        self.adversarial = compile_models(self.generator, self.discriminator)
        self.ema_generator = None
        self.seed_generator = keras.random.SeedGenerator(config.seed)
        self.d_optimizer, self.g_optimizer = self.discriminator.optimizer, self.adversarial.optimizer
        # Build both optimizers' slots now, on what each updates (D alone; AM: G, D
        # frozen), so that a checkpoint can be restored before the first step.
        self.discriminator.trainable = True
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.discriminator.trainable = False
        self.g_optimizer.build(self.adversarial.trainable_variables)

    def noise(self, n):
        return np.asarray(keras.random.uniform((n, NOISE_DIM), -1.0, 1.0,
                                               seed=self.seed_generator))

    def step(self):
        n = self.config.batch_size
        index = np.asarray(keras.random.randint((n,), 0, len(self.images),
                                                seed=self.seed_generator))
        real = self.images[index]
        fake = self.generator.predict(self.noise(n), verbose=0)
        labels = np.concatenate([np.ones((n, 1)), np.zeros((n, 1))]).astype(np.float32)
        self.discriminator.trainable = True  # Keras 3: or D never learns
        d = self.discriminator.train_on_batch(np.concatenate([real, fake]), labels,
                                              return_dict=True)
        self.discriminator.trainable = False
        a = self.adversarial.train_on_batch(self.noise(n), np.ones((n, 1), np.float32),
                                            return_dict=True)
        return {"d_loss": d["loss"], "d_acc": d["accuracy"],
                "a_loss": a["loss"], "a_acc": a["accuracy"]}


DCGAN_PANELS = (
    ("d_loss", "Discriminator loss (binary cross-entropy)", np.log(2), "chance (ln 2)"),
    ("a_loss", "Adversarial (generator) loss", np.log(2), "chance (ln 2)"),
    ("d_acc", "Discriminator accuracy", 0.5, "chance (0.5)"),
    ("a_acc", "AM accuracy (fakes taken for real)", 0.5, "chance (0.5)"),
)


def train(config, images, run_dir, resume=False, verbose=1):
    """Train on ``images`` (``load_images``), writing history.csv, loss.png, samples/,
    the models and a checkpoint every ``checkpoint_every`` steps into ``run_dir``;
    ``resume`` continues from the newest checkpoint.

    SIGINT and SIGTERM stop it at the next step boundary with a checkpoint
    (``mouthgan.util.signals``); ``Interrupted`` is raised then, with the resume command.
    """
    from mouthgan.training.callbacks import due
    from mouthgan.training.checkpoints import Checkpoints, checkpoint_step
    from mouthgan.evaluation.plots import sample_images
    from mouthgan.util.run_dir import run_lock
    from mouthgan.util.signals import Interrupted, stop_requests

    run_dir = Path(run_dir)
    trainer = DCGANTrainer(config, images)
    # The same 16 noise vectors at every sample grid, and after a resume.
    fixed_noise = np.random.default_rng(config.seed).uniform(
        -1.0, 1.0, (16, NOISE_DIM)).astype(np.float32)
    with run_lock(run_dir), stop_requests() as stop:
        checkpoints = Checkpoints(trainer, run_dir)
        rows = []
        if resume:
            start = checkpoints.restore()
            rows = read_history(run_dir)[:start]
            print(f"Resuming {run_dir} at step {start}")
        progbar = keras.utils.Progbar(config.steps, verbose=verbose, unit_name="step",
                                      stateful_metrics=["d_loss", "d_acc", "a_loss", "a_acc"])
        for step in range(trainer.steps_done + 1, config.steps + 1):
            if stop:
                break
            logs = trainer.step()
            rows.append({"step": step, **logs})
            progbar.update(step, list(logs.items()))
            if due(step, config.sample_every, config.steps):
                sample_images(trainer.generator.predict(fixed_noise, verbose=0)[..., 0],
                              run_dir / "samples" / f"step_{step:06d}.png",
                              title=f"step {step}")
            if due(step, config.checkpoint_every, config.steps):
                save(trainer, rows, run_dir, checkpoints)
        if stop and rows and checkpoint_step(run_dir) != trainer.steps_done:
            save(trainer, rows, run_dir, checkpoints)
    if stop:
        raise Interrupted(stop.signum, f"{stop.name}: stopped at step {trainer.steps_done}; "
                                       "checkpoint saved. Continue with: python "
                                       f"scripts/dcgan_example.py --resume {run_dir}")
    return trainer


def read_history(run_dir):
    """The rows of a run's history.csv (none if it has none)."""
    import pandas as pd

    path = Path(run_dir) / "history.csv"
    return pd.read_csv(path).to_dict("records") if path.exists() else []


def save(trainer, rows, run_dir, checkpoints):
    """history.csv, loss.png, both models and the checkpoint, each written whole or not
    at all."""
    import pandas as pd

    from mouthgan.evaluation.plots import plot_losses
    from mouthgan.util.atomic import atomic_path
    from mouthgan.util.run_dir import write_models

    history = run_dir / "history.csv"
    with atomic_path(history) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    plot_losses(history, run_dir / "loss.png", DCGAN_PANELS)
    write_models(run_dir, trainer.generator, trainer.discriminator)
    checkpoints.save()
