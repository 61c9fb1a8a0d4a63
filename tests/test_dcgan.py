"""The lecture's Keras GAN example: the slides' layers, the freeze, a few real steps."""

import subprocess
import sys

import numpy as np
import pytest

from mouthgan import MouthganError
from mouthgan.dcgan import (DCGANConfig, DCGANTrainer, build_discriminator,
                            build_generator, load_images)
from conftest import ROOT

# By the slides' layers: Dense 100->12544, conv 256->128, 128->64, 64->32, 32->1 (5x5).
G_PARAMS = (100 * 12544 + 12544) + (25 * 256 * 128 + 128) + (25 * 128 * 64 + 64) \
    + (25 * 64 * 32 + 32) + (25 * 32 + 1)
# conv 1->64, 64->128, 128->256, 256->512 (5x5), dense 4*4*512 -> 1.
D_PARAMS = (25 * 64 + 64) + (25 * 64 * 128 + 128) + (25 * 128 * 256 + 256) \
    + (25 * 256 * 512 + 512) + (4 * 4 * 512 + 1)


@pytest.mark.parametrize("kind", ["upsample", "transpose"])
def test_generator_matches_the_slides(kind):
    generator = build_generator(kind)
    assert generator.count_params() == G_PARAMS == 2_343_169
    out = generator.predict(np.zeros((2, 100), "float32"), verbose=0)
    assert out.shape == (2, 28, 28, 1) and out.min() >= 0 and out.max() <= 1
    names = {l.__class__.__name__ for l in generator.layers}
    assert ("Conv2DTranspose" in names) == (kind == "transpose")


@pytest.mark.parametrize("kind", ["relu", "leaky"])
def test_discriminator_matches_the_slides(kind):
    discriminator = build_discriminator(kind)
    assert discriminator.count_params() == D_PARAMS == 4_311_553
    assert discriminator.output_shape == (None, 1)
    dropouts = [l.rate for l in discriminator.layers if l.__class__.__name__ == "Dropout"]
    assert dropouts == ([0.4] * 4 if kind == "leaky" else [])


def weights(model):
    return [w.numpy().copy() for w in model.weights]


def test_d_learns_in_its_step_and_not_in_ams(tiny_data):
    config = DCGANConfig(data_dir=str(tiny_data), batch_size=4, seed=1)
    trainer = DCGANTrainer(config, load_images(config))
    d0, g0 = weights(trainer.discriminator), weights(trainer.generator)
    # the D half of a step
    trainer.discriminator.trainable = True
    trainer.discriminator.train_on_batch(trainer.images[:4], np.ones((4, 1)))
    d1 = weights(trainer.discriminator)
    assert any(not np.array_equal(a, b) for a, b in zip(d0, d1))
    # the AM half
    trainer.discriminator.trainable = False
    trainer.adversarial.train_on_batch(trainer.noise(4), np.ones((4, 1)))
    assert all(np.array_equal(a, b) for a, b in zip(d1, weights(trainer.discriminator)))
    assert any(not np.array_equal(a, b) for a, b in zip(g0, weights(trainer.generator)))


def test_rmsprop_decay_is_keras2s_schedule():
    from mouthgan.dcgan import rmsprop

    optimizer = rmsprop(2e-4, 6e-8)
    schedule = optimizer._learning_rate
    assert float(schedule(1000)) == pytest.approx(2e-4 / (1 + 6e-8 * 1000), rel=1e-6)


def test_a_few_steps_on_faces_write_a_run(tiny_data, tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/dcgan_example.py"), "--data-dir", str(tiny_data),
         "--steps", "3", "--batch-size", "4", "--sample-every", "2", "--generator",
         "transpose", "--discriminator", "leaky", "--run-dir", str(tmp_path / "run")],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    for name in ("config.json", "history.csv", "loss.png", "generator.keras",
                 "discriminator.keras", "samples/step_000002.png", "samples/step_000003.png"):
        assert (run / name).exists(), name
    assert (run / "history.csv").read_text().splitlines()[0] == "step,d_loss,d_acc,a_loss,a_acc"


def test_offline_mnist_says_use_faces(monkeypatch):
    import keras

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(MouthganError, match="could not download MNIST.*--data faces"):
        load_images(DCGANConfig(data="mnist"))
