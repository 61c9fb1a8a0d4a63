"""The loader: the layout, pairing by name, and one clear line for each bad input."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mouthgan import MouthganError
from mouthgan.data import load_dataset, load_folder, load_pairs, to_model_range
from conftest import ROOT


def test_loads_the_layout_as_float_arrays(tiny_data):
    data = load_dataset(tiny_data)
    assert data.train.real.shape == (12, 128, 128) and data.train.real.dtype == np.uint8
    assert len(data.test) == 3 and data.test.real is not None
    assert len(data.validation) == 4
    x = to_model_range(data.train.white)
    assert x.shape == (12, 128, 128, 1) and x.dtype == np.float32
    assert x.min() >= -1 and x.max() == 1.0  # the white box is exactly 255 -> 1


def test_pairs_by_name_not_by_position(tiny_data_copy):
    real_dir = tiny_data_copy / "Training/Real"
    white_dir = tiny_data_copy / "Training/White"
    real, white, names = load_pairs(real_dir, white_dir)
    i = names.index("000005")
    expected = np.asarray(Image.open(real_dir / "000005.png"))
    assert np.array_equal(real[i], expected)
    # outside the box the white image is its real image
    assert np.array_equal(white[i][:84], real[i][:84])


def test_test_and_validation_are_optional(tiny_data_copy):
    import shutil

    shutil.rmtree(tiny_data_copy / "Validation")
    shutil.rmtree(tiny_data_copy / "Test/Real")
    data = load_dataset(tiny_data_copy)
    assert data.validation is None and data.test.real is None and len(data.test) == 3


def test_missing_folder(tmp_path):
    with pytest.raises(MouthganError, match="folder not found"):
        load_dataset(tmp_path / "nowhere")
    with pytest.raises(MouthganError, match="Training/Real: folder not found"):
        load_dataset(tmp_path)


def test_empty_folder(tiny_data_copy):
    for f in (tiny_data_copy / "Test/White").iterdir():
        f.unlink()
    with pytest.raises(MouthganError, match="Test/White: no images"):
        load_folder(tiny_data_copy / "Test/White")


def test_unpaired_names_listed(tiny_data_copy):
    (tiny_data_copy / "Training/White/000003.png").rename(
        tiny_data_copy / "Training/White/999999.png")
    with pytest.raises(MouthganError, match=r"unpaired.*000003.*999999"):
        load_dataset(tiny_data_copy)


def test_corrupt_and_empty_images_are_named(tiny_data_copy):
    bad = tiny_data_copy / "Training/Real/000002.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(MouthganError, match="000002.png: not a readable image"):
        load_dataset(tiny_data_copy)
    bad.write_bytes(b"")
    with pytest.raises(MouthganError, match=r"000002.png: empty file \(0 bytes\)"):
        load_dataset(tiny_data_copy)


def test_mixed_sizes(tiny_data_copy):
    Image.new("L", (64, 64), 100).save(tiny_data_copy / "Training/Real/000004.png")
    with pytest.raises(MouthganError, match="000004.png: size 64x64 differs.*mixed sizes"):
        load_dataset(tiny_data_copy)


def test_other_size_resized_and_rgb_converted_said_once(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (256, 256), (10 * i, 50, 90)).save(folder / f"{i}.jpg")
    notes = []
    images, names = load_folder(folder, notes=notes.append)
    assert images.shape == (3, 128, 128) and names == ["0", "1", "2"]
    assert len([n for n in notes if "resized from 256x256 to 128x128" in n]) == 1
    assert len([n for n in notes if "converted to grayscale" in n]) == 1


def run_script(*args, cwd=ROOT):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_script_reports_bad_data_in_one_line(tiny_data_copy):
    (tiny_data_copy / "Training/Real/000001.png").write_bytes(b"")
    result = run_script(ROOT / "scripts/train.py", "--data", tiny_data_copy, "--steps", "1")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error_lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(error_lines) == 1 and "000001.png: empty file" in error_lines[0]
