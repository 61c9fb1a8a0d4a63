"""The lecture's Keras GAN example: the slides' layers, the freeze, a few real steps."""

import subprocess
import sys

import numpy as np
import pytest

from mouthgan import MouthganError
from mouthgan.config import DCGANConfig
from mouthgan.lecture.dcgan import (DCGANTrainer, build_discriminator, build_generator,
                                    load_images)
from conftest import ROOT

# Tests that train, or start Python and TensorFlow in a subprocess: the full tier.
pytestmark = pytest.mark.slow

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
    """Through the trainer's own step: D's weights move in D's half, stay put while AM
    trains (the Keras 3 freeze), and G's move in AM's half."""
    config = DCGANConfig(data_dir=str(tiny_data), batch_size=4, seed=1)
    trainer = DCGANTrainer(config, load_images(config))
    d0, g0 = weights(trainer.discriminator), weights(trainer.generator)
    seen = {}
    train_am = trainer.adversarial.train_on_batch

    def spy(*args, **kwargs):  # the AM half of the step, watched from both sides
        seen["d_before"], seen["g_before"] = weights(trainer.discriminator), \
            weights(trainer.generator)
        result = train_am(*args, **kwargs)
        seen["d_after"], seen["g_after"] = weights(trainer.discriminator), \
            weights(trainer.generator)
        return result

    trainer.adversarial.train_on_batch = spy
    for _ in range(2):  # the second step too: the trainable toggle must not stick
        logs = trainer.step()
        assert set(logs) == {"d_loss", "d_acc", "a_loss", "a_acc"}
        assert any(not np.array_equal(a, b) for a, b in zip(d0, seen["d_before"]))
        assert all(np.array_equal(a, b) for a, b in zip(seen["d_before"], seen["d_after"]))
        assert any(not np.array_equal(a, b) for a, b in zip(seen["g_before"], seen["g_after"]))
        assert all(np.array_equal(a, b) for a, b in zip(g0, seen["g_before"]))
        d0, g0 = seen["d_after"], seen["g_after"]


def test_a_resumed_run_matches_an_uninterrupted_one(tiny_data, tmp_path):
    from dataclasses import replace

    from mouthgan.lecture.dcgan import train
    from mouthgan.util.run_dir import make_run_dir

    config = DCGANConfig(data_dir=str(tiny_data), batch_size=4, seed=2, steps=4,
                         sample_every=100, checkpoint_every=2)
    images = load_images(config)
    straight = train(config, images, make_run_dir(tmp_path / "straight"), verbose=0)
    train(replace(config, steps=2), images, make_run_dir(tmp_path / "halves"), verbose=0)
    resumed = train(config, images, tmp_path / "halves", resume=True, verbose=0)
    assert resumed.steps_done == 4
    for a, b in zip(weights(straight.generator) + weights(straight.discriminator),
                    weights(resumed.generator) + weights(resumed.discriminator)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    rows = [(tmp_path / d / "history.csv").read_text().splitlines() for d in ("straight", "halves")]
    assert len(rows[0]) == len(rows[1]) == 5
    np.testing.assert_allclose([[float(v) for v in r.split(",")] for r in rows[0][1:]],
                               [[float(v) for v in r.split(",")] for r in rows[1][1:]], rtol=1e-4)


def test_rmsprop_decay_is_keras2s_schedule():
    from mouthgan.lecture.dcgan import rmsprop

    optimizer = rmsprop(2e-4, 6e-8)
    schedule = optimizer._learning_rate
    assert float(schedule(1000)) == pytest.approx(2e-4 / (1 + 6e-8 * 1000), rel=1e-6)


def test_a_few_steps_on_faces_write_a_run(tiny_data, tmp_path):
    runs = tmp_path / "runs"
    (runs / "restoration").mkdir(parents=True)
    (runs / "latest").symlink_to("restoration")  # the newest mouth-restoration run
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/dcgan_example.py"), "--data-dir", str(tiny_data),
         "--steps", "3", "--batch-size", "4", "--sample-every", "2", "--generator",
         "transpose", "--discriminator", "leaky", "--run-dir", str(runs / "dcgan")],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    run = runs / "dcgan"
    for name in ("config.json", "history.csv", "loss.png", "generator.keras",
                 "discriminator.keras", "samples/step_000002.png", "samples/step_000003.png"):
        assert (run / name).exists(), name
    assert (run / "history.csv").read_text().splitlines()[0] == "step,d_loss,d_acc,a_loss,a_acc"
    # runs/latest stays the export's default model: a DCGAN run does not take it over
    assert (runs / "latest").resolve() == (runs / "restoration").resolve()


def script_error(script, *args):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *map(str, args)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_a_dcgan_run_is_refused_by_the_restoration_commands(tiny_data, tmp_path):
    from mouthgan.util.run_dir import write_config

    run = tmp_path / "dcgan"
    run.mkdir()
    write_config(run, DCGANConfig(), kind="dcgan-example")
    build_generator().save(run / "generator.keras")
    build_discriminator().save(run / "discriminator.keras")
    test_images = ("--input", tiny_data / "Test/White", "--out", tmp_path / "p.csv")
    assert "a dcgan-example run, not a mouth-restoration run" in script_error(
        "image_to_csv.py", "--model", run, *test_images)
    assert "not a mouth-restoration generator: it takes input of shape (None, 100)" in \
        script_error("image_to_csv.py", "--model", run / "generator.keras", *test_images)
    assert "not a mouth-restoration generator: it turns (None, 28, 28, 1) into (None, 1)" \
        in script_error("image_to_csv.py", "--model", run / "discriminator.keras", *test_images)
    assert "a dcgan-example run" in script_error("train.py", "--resume", run)
    assert "a dcgan-example run" in script_error("report.py", run)
    assert not (tmp_path / "p.csv").exists()


def test_offline_mnist_says_use_faces(monkeypatch):
    import keras

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(MouthganError, match="could not download MNIST.*--data faces"):
        load_images(DCGANConfig(data="mnist"))
