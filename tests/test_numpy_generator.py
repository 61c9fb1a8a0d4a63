"""The NumPy forward pass (the fast export) against Keras, the reference."""

import keras
import numpy as np
import pytest

from mouthgan import MouthganError
from mouthgan.inference.generators import load_generator
from mouthgan.models.networks import build_generator
from mouthgan.models.numpy_generator import NumpyGenerator, UnsupportedModel, conv2d

from test_export import run


def with_trained_statistics(model, rng):
    """Random BatchNormalization statistics and affine weights, as training leaves them:
    fresh ones (mean 0, variance 1, gamma 1, beta 0) would hide a mistake in their use."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = (w.shape for w in layer.get_weights())
            layer.set_weights([rng.uniform(0.5, 1.5, gamma), rng.normal(0, 0.3, beta),
                               rng.normal(0, 0.3, mean), rng.uniform(0.2, 2.0, var)])
        elif isinstance(layer, keras.layers.GroupNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape) for w in layer.get_weights()])
    return model


@pytest.mark.parametrize("options", [
    {},  # the handout's generator
    {"literal_upsampling": True},
    {"filters": (40, 80, 160, 320, 320)},  # the best preset's
    {"norm": "instance", "dropout": 0.5},
    {"norm": "none", "filters": (4, 8, 16)},
    {"global_context": 8},  # Flatten, Dense and Reshape
])
def test_numpy_forward_pass_equals_keras(tmp_path, options):
    keras.utils.set_random_seed(0)  # the same initial weights whatever ran before
    rng = np.random.default_rng(0)
    model = with_trained_statistics(build_generator(**options), rng)
    path = tmp_path / "g.keras"
    model.save(path)
    x = rng.uniform(-1, 1, (3, 128, 128, 1)).astype(np.float32)
    expected = np.asarray(model(x, training=False))
    numpy_model = NumpyGenerator.load(path)
    assert numpy_model.input_shape == (None, 128, 128, 1)
    # float32 rounding differs between the two (instance norm's variance most: up to
    # 3e-5 measured over seeds); one grey level of the exported image is 4e-3.
    np.testing.assert_allclose(numpy_model(x), expected, atol=1e-4)
    assert np.abs(expected).max() > 0.05  # not a trivially zero output


def test_a_bfloat16_generator_runs_in_float32_under_numpy(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    filters = (8, 16, 32, 64, 64)
    bf16 = with_trained_statistics(build_generator(filters, precision="mixed_bfloat16"), rng)
    bf16.save(tmp_path / "g.keras")
    fp32 = build_generator(filters)
    fp32.set_weights(bf16.get_weights())
    x = rng.uniform(-1, 1, (3, 128, 128, 1)).astype(np.float32)
    numpy_out = NumpyGenerator.load(tmp_path / "g.keras")(x)
    # the same weights in float32, as the export runs them
    np.testing.assert_allclose(numpy_out, np.asarray(fp32(x, training=False)), atol=1e-4)
    # and what training evaluated (bfloat16), to bfloat16's precision
    np.testing.assert_allclose(numpy_out, np.asarray(bf16(x, training=False)), atol=0.02)


@pytest.mark.parametrize("size,kernel,stride,padding", [
    (9, 4, 2, "same"), (8, 4, 1, "same"), (7, 3, 1, "same"), (9, 3, 2, "valid")])
def test_conv2d_matches_keras(size, kernel, stride, padding):
    rng = np.random.default_rng(1)
    layer = keras.layers.Conv2D(5, kernel, strides=stride, padding=padding)
    x = rng.normal(size=(2, size, size, 3)).astype(np.float32)
    expected = np.asarray(layer(x))
    np.testing.assert_allclose(conv2d(x, *layer.get_weights(), stride, padding), expected,
                               atol=1e-5)


def transposed_generator(path):
    """A generator with a layer the NumPy path does not know."""
    white = keras.Input((128, 128, 1))
    x = keras.layers.Conv2D(2, 4, strides=2, padding="same")(white)
    model = keras.Model(white, keras.layers.Conv2DTranspose(1, 4, strides=2,
                                                            padding="same")(x))
    model.save(path)
    return path


def test_unknown_layer_falls_back_to_keras(tmp_path, capsys):
    path = transposed_generator(tmp_path / "t.keras")
    with pytest.raises(UnsupportedModel, match="Conv2DTranspose"):
        NumpyGenerator.load(path)
    model = load_generator(path, runtime="auto")
    assert isinstance(model, keras.Model)
    assert "no NumPy path (layer type Conv2DTranspose); using Keras" in capsys.readouterr().err
    with pytest.raises(MouthganError, match="cannot run without Keras"):
        load_generator(path, runtime="numpy")


@pytest.mark.slow
def test_export_with_numpy_and_keras_writes_the_same_csv(tiny_data, tmp_path):
    model = with_trained_statistics(build_generator(), np.random.default_rng(2))
    model.save(tmp_path / "g.keras")
    outputs = {}
    for runtime in ("numpy", "keras"):
        out = tmp_path / f"{runtime}.csv"
        made = run("image_to_csv.py", "--input", tiny_data / "Test/White", "--model",
                   tmp_path / "g.keras", "--out", out, "--runtime", runtime)
        assert made.returncode == 0, made.stderr
        outputs[runtime] = np.loadtxt(out, delimiter=",", skiprows=1)
    np.testing.assert_allclose(outputs["numpy"], outputs["keras"], atol=1e-6)
    assert outputs["numpy"][:, 1:].std() > 0.01


@pytest.mark.slow
def test_a_broken_model_file_is_one_clear_line(tiny_data, tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_text("not a model")
    from test_export import assert_one_line_error
    assert_one_line_error(run("image_to_csv.py", "--input", tiny_data / "Test/White",
                              "--model", broken, "--out", tmp_path / "p.csv"),
                          "not a loadable Keras model")
    assert not (tmp_path / "p.csv").exists()


def test_a_layout_that_does_not_fit_is_unsupported(tmp_path):
    import json
    import zipfile

    path = tmp_path / "g.keras"
    build_generator().save(path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    del config["config"]["layers"][0]["config"]["batch_shape"]  # an unknown Keras layout
    files["config.json"] = json.dumps(config).encode()
    odd = tmp_path / "odd.keras"
    with zipfile.ZipFile(odd, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    with pytest.raises(UnsupportedModel, match="unexpected model layout"):
        NumpyGenerator.load(odd)
