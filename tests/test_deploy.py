"""The restorer exported for other runtimes answers as the Keras model does."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

# Tests that train, or start Python and TensorFlow in a subprocess: the full tier.
pytestmark = pytest.mark.slow


def test_the_restorer_graph_is_restore_with_the_handout_box(tiny_data):
    from mouthgan.data.faces import HOLE_BOX, load_folder
    from mouthgan.inference.deploy import build_restorer
    from mouthgan.inference.generators import load_generator
    from mouthgan.inference.predict import restore

    whites, _ = load_folder(tiny_data / "Validation" / "White")
    generator = load_generator("bundled:default")
    for flip_average in (False, True):
        restorer = build_restorer(generator, flip_average)
        graph = np.asarray(restorer(whites[..., None].astype(np.float32) / 255.0))[..., 0]
        top, bottom, left, right = HOLE_BOX
        box = np.zeros(whites.shape, bool)
        box[:, top:bottom, left:right] = True
        expected = restore(generator, whites, holes=box, flip_average=flip_average)
        assert np.abs(graph - expected).max() < 1e-5
        # outside the box, the face as given
        assert np.array_equal(graph[~box], whites[~box] / np.float32(255.0))


@pytest.mark.parametrize("format, name", [("saved_model", "restorer"),
                                          ("litert", "restorer.tflite"),
                                          ("onnx", "restorer.onnx")])
def test_each_format_is_read_back_by_its_runtime_and_agrees_with_keras(
        tiny_data, tmp_path, format, name):
    out = tmp_path / name
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/export_model.py"), "bundled:default",
         "--format", format, "--out", str(out), "--data", str(tiny_data)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    line = next(l for l in result.stdout.splitlines() if "largest difference" in l)
    assert float(line.split(": ")[-1].split()[0]) <= 1e-4
    assert out.exists() and not list(tmp_path.glob(".partial-*"))
    # The agreement checked here, not taken from the exporter's own line: the exported
    # file, read by its runtime, against the Keras restorer built in this process.
    from mouthgan.data.faces import load_folder
    from mouthgan.inference.deploy import build_restorer, load_runtime
    from mouthgan.inference.generators import load_generator, run_flip_average

    whites, _ = load_folder(tiny_data / "Validation" / "White")
    faces = whites[..., None].astype(np.float32) / 255.0
    keras_restorer = build_restorer(load_generator("bundled:default"),
                                    run_flip_average("bundled:default"))
    exported = load_runtime(format, out)(faces)
    assert exported.shape == faces.shape
    assert np.abs(exported - np.asarray(keras_restorer(faces))).max() <= 1e-4


def test_the_readme_deploy_command_works_on_a_fresh_clone_without_data(tmp_path):
    """No NLP_data: the export is checked on faces made from the package's average face."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/export_model.py"), "bundled:photo",
         "--format", "saved_model", "--out", "restorer"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ("largest difference from Keras on 16 faces made from the package's average "
            "face") in result.stdout
    assert (tmp_path / "restorer").is_dir()
    from mouthgan.inference.deploy import check_faces

    faces = check_faces()
    assert faces.shape == (16, 128, 128) and len({f.tobytes() for f in faces}) == 16


def test_an_export_refuses_a_wrong_name_and_an_existing_file_in_one_line(tiny_data,
                                                                         tmp_path):
    script = [sys.executable, str(ROOT / "scripts/export_model.py"), "bundled:default",
              "--data", str(tiny_data)]
    wrong = subprocess.run([*script, "--format", "onnx", "--out", str(tmp_path / "m.bin")],
                           capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == f"error: {tmp_path / 'm.bin'}: --format onnx writes a .onnx file; name it so"
    (tmp_path / "m.onnx").write_text("mine")
    taken = subprocess.run([*script, "--format", "onnx", "--out", str(tmp_path / "m.onnx")],
                           capture_output=True, text=True, timeout=120)
    assert taken.returncode == 2 and "exists" in taken.stderr
    assert (tmp_path / "m.onnx").read_text() == "mine"
