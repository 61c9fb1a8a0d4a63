"""The Kaggle CSV, the hole finder, image_to_csv.py and score.py."""

import io
import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from mouthgan import MouthganError
from mouthgan.data.faces import load_folder
from mouthgan.inference.kaggle_csv import read_csv, write_csv
from mouthgan.data.holes import find_hole
from mouthgan.inference.predict import restore
from mouthgan.models.networks import build_generator
from conftest import ROOT, face_like, paint


def test_csv_layout_matches_the_handout(tmp_path):
    images = np.array([[[0.0, 0.25], [0.5, 1.0]], [[1.0, 0.75], [0.5, 0.0]]])
    path = write_csv(images, tmp_path / "Predict.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "index,id0,id1"
    assert [l.split(",")[0] for l in lines[1:]] == ["0", "1", "2", "3"]
    # (n, M, N) -> (n, M*N) -> transposed: row k holds pixel k of every image
    assert lines[2] == "1,0.25,0.75"
    np.testing.assert_array_equal(read_csv(path, 2, (2, 2)), images.reshape(2, 4))
    assert [p.name for p in tmp_path.iterdir()] == ["Predict.csv"]  # no temporary left


@pytest.mark.parametrize("content,message", [
    ("index,id0\n0,0.5\n1,0.5\n", "2 rows, expected 4"),
    ("index,id0,id1\n0,0.5,0.1\n1,0.5,0.1\n2,0.5,0.1\n3,0.5,0.1\n", "2 image columns, but there are 1"),
    ("index,id0\n0,0.5\n1,abc\n2,0.5\n3,0.5\n", "column id0 holds text"),
    ("index,id0\n0,0.5\n1,\n2,0.5\n3,0.5\n", "NaN value at row 1"),
    ("index,id0\n0,0.5\n1,1.5\n2,0.5\n3,0.5\n", "values must lie in 0..1"),
    ("idx,id0\n0,0.5\n1,0.5\n2,0.5\n3,0.5\n", "first column must be named 'index'"),
    ("index,id1\n0,0.5\n1,0.5\n2,0.5\n3,0.5\n", "columns must be index, id0"),
])
def test_bad_csv_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(MouthganError, match=message):
        read_csv(path, 1, (2, 2))


def test_hole_found_with_a_bright_background_touching_it():
    rng = np.random.default_rng(0)
    white = paint(face_like(rng))
    white[60:128, 84:128] = 255  # a saturated background joining the box on its right
    white[0:100, 0:20] = 252  # and another along the left edge, larger than the box
    mask = find_hole(white)
    ys, xs = np.nonzero(mask)
    assert (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1) == (84, 112, 44, 84)


def test_hole_found_in_a_jpeg_with_soft_edges():
    rng = np.random.default_rng(1)
    white = paint(face_like(rng))
    buffer = io.BytesIO()
    Image.fromarray(white).save(buffer, "JPEG", quality=70)
    jpeg = np.asarray(Image.open(buffer))
    assert (jpeg[84:112, 44:84] < 255).any()  # the box is no longer pure white
    mask = find_hole(jpeg)
    assert mask[84:112, 44:84].all()  # the whole box ...
    ys, xs = np.nonzero(mask)
    assert ys.min() >= 83 and ys.max() <= 112 and xs.min() >= 43 and xs.max() <= 84  # +1 px at most


def test_no_white_no_hole():
    assert not find_hole(face_like(np.random.default_rng(2))).any()


def test_paste_keeps_every_pixel_outside_the_hole():
    rng = np.random.default_rng(3)
    whites = np.stack([paint(face_like(rng)) for _ in range(3)])
    out = restore(build_generator(), whites)
    outside = np.ones((128, 128), bool)
    outside[84:112, 44:84] = False
    np.testing.assert_array_equal(out[:, outside], whites[:, outside] / np.float32(255))
    assert not np.array_equal(out[:, ~outside], whites[:, ~outside] / np.float32(255))


def test_flip_average_averages_the_mirrored_restoration():
    from mouthgan.inference.predict import predict

    rng = np.random.default_rng(4)
    whites = np.stack([paint(face_like(rng)) for _ in range(2)])
    generator = build_generator()
    plain = predict(generator, whites)
    mirrored = predict(generator, whites[:, :, ::-1].copy())[:, :, ::-1]
    np.testing.assert_allclose(predict(generator, whites, flip_average=True),
                               0.5 * (plain + mirrored), atol=1e-6)
    assert np.abs(plain - mirrored).max() > 1e-3  # an untrained G is not symmetric


def constant_generator(path, value=0.0, size=128):
    """A generator whose output is ``value`` everywhere (0: 0.5 gray after rescaling)."""
    model = keras.Sequential([keras.Input((size, size, 1)),
                              keras.layers.Conv2D(1, 1, kernel_initializer="zeros",
                                                  bias_initializer=keras.initializers.Constant(
                                                      value))])
    model.save(path)
    return path


def run(script, *args):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.slow
def test_round_trip_images_to_csv_to_score(tiny_data, tmp_path):
    model = constant_generator(tmp_path / "gray.keras")
    out = tmp_path / "Predict.csv"
    made = run("image_to_csv.py", "--input", tiny_data / "Test/White", "--model", model,
               "--out", out, "--save-images", tmp_path / "png")
    assert made.returncode == 0, made.stderr
    assert "id0 <- 000100.png" in made.stdout and "id2 <- 000102.png" in made.stdout
    assert len(list((tmp_path / "png").glob("*.png"))) == 3

    whites, _ = load_folder(tiny_data / "Test/White")
    reals, _ = load_folder(tiny_data / "Test/Real")
    expected_images = whites / 255.0
    expected_images[:, 84:112, 44:84] = 0.5
    expected = np.sqrt(np.mean((expected_images - reals / 255.0) ** 2))

    scored = run("score.py", out, "--answers", tiny_data / "Test/Real", "--json")
    assert scored.returncode == 0, scored.stderr
    result = json.loads(scored.stdout)
    assert result["prediction"]["rmse"] == pytest.approx(expected, abs=1e-6)
    assert result["prediction"]["rmse_outside"] == pytest.approx(0.0, abs=1e-7)
    baseline = np.sqrt(np.mean((whites / 255.0 - reals / 255.0) ** 2))
    assert result["white_baseline"]["rmse"] == pytest.approx(baseline, abs=1e-6)

    raw = run("image_to_csv.py", "--input", tiny_data / "Test/White", "--model", model,
              "--out", tmp_path / "raw.csv", "--no-composite")
    assert raw.returncode == 0
    np.testing.assert_allclose(read_csv(tmp_path / "raw.csv", 3, (128, 128)), 0.5)


@pytest.mark.slow
def test_several_models_export_the_mean_of_their_predictions(tiny_data, tmp_path):
    darker = constant_generator(tmp_path / "dark.keras", -0.6)  # 0.2 after rescaling
    lighter = constant_generator(tmp_path / "light.keras", 0.2)  # 0.6
    made = run("image_to_csv.py", "--input", tiny_data / "Test/White", "--model", darker,
               "--model", lighter, "--out", tmp_path / "mean.csv", "--no-composite")
    assert made.returncode == 0, made.stderr
    assert "the mean of 2 models" in made.stdout
    np.testing.assert_allclose(read_csv(tmp_path / "mean.csv", 3, (128, 128)), 0.4, atol=1e-6)
    # one model of another size: one line naming it, nothing written
    small = constant_generator(tmp_path / "small.keras", size=64)
    assert_one_line_error(run("image_to_csv.py", "--input", tiny_data / "Test/White",
                              "--model", darker, "--model", small,
                              "--out", tmp_path / "mixed.csv"),
                          f"{small}: takes 64x64 images, {darker} takes 128x128")
    assert not (tmp_path / "mixed.csv").exists()


@pytest.mark.slow
def test_other_sizes_and_rgb_are_converted_and_said_once(tmp_path):
    folder = tmp_path / "whites"
    folder.mkdir()
    rng = np.random.default_rng(4)
    for i in range(2):
        gray = paint(face_like(rng, 128))
        rgb = Image.fromarray(gray).resize((256, 256)).convert("RGB")
        rgb.save(folder / f"{i}.png")
    made = run("image_to_csv.py", "--input", folder, "--model",
               constant_generator(tmp_path / "g.keras"), "--out", tmp_path / "p.csv")
    assert made.returncode == 0, made.stderr
    assert made.stdout.count("resized from 256x256 to 128x128") == 1
    assert made.stdout.count("converted to grayscale") == 1
    assert read_csv(tmp_path / "p.csv", 2, (128, 128)).shape == (2, 128 * 128)


def assert_one_line_error(result, message):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr


@pytest.mark.slow
def test_image_to_csv_bad_input(tiny_data, tmp_path):
    out = tmp_path / "Predict.csv"
    assert_one_line_error(run("image_to_csv.py", "--input", tiny_data / "Test/White",
                              "--model", tmp_path / "nope", "--out", out), "model not found")
    (tmp_path / "emptyrun").mkdir()
    assert_one_line_error(run("image_to_csv.py", "--input", tiny_data / "Test/White",
                              "--model", tmp_path / "emptyrun", "--out", out),
                          "no generator.keras")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run("image_to_csv.py", "--input", tmp_path / "empty", "--out", out),
                          "empty: no images")
    from mouthgan.models.networks import build_discriminator

    build_discriminator().save(tmp_path / "discriminator.keras")
    assert_one_line_error(run("image_to_csv.py", "--input", tiny_data / "Test/White",
                              "--model", tmp_path / "discriminator.keras", "--out", out),
                          "not a mouth-restoration generator: it takes 2 inputs")
    assert not out.exists()


@pytest.mark.slow
def test_score_bad_input(tiny_data, tmp_path):
    whites, _ = load_folder(tiny_data / "Test/White")
    two = write_csv(whites[:2] / 255.0, tmp_path / "two.csv")
    assert_one_line_error(run("score.py", two, "--answers", tiny_data / "Test/Real"),
                          "2 image columns, but there are 3 answer images")
    text = tmp_path / "text.csv"
    text.write_text("index,id0\n0,hello\n")
    assert_one_line_error(run("score.py", text, "--answers", tiny_data / "Test/Real"),
                          "3 answer images")
    assert_one_line_error(run("score.py", tmp_path / "missing.csv", "--answers",
                              tiny_data / "Test/Real"), "missing.csv: file not found")
