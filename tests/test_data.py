"""The loader: the layout, pairing by name, and one clear line for each bad input."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mouthgan import MouthganError
from mouthgan.data.faces import load_dataset, load_folder, load_pairs, to_model_range
from conftest import ROOT


def test_loads_the_layout_as_uint8_arrays(tiny_data):
    data = load_dataset(tiny_data)
    assert data.train.real.shape == (12, 128, 128) and data.train.real.dtype == np.uint8
    assert len(data.test) == 3 and data.test.real is not None
    assert len(data.validation) == 4
    first = np.asarray(Image.open(tiny_data / "Training/Real/000000.png"))
    np.testing.assert_array_equal(data.train.real[0], first)


def test_model_range_is_the_handouts_x_over_127_5_minus_1():
    from mouthgan.data.faces import to_unit_range

    pixels = np.array([[[0, 51, 127], [128, 200, 255]]], np.uint8)
    x = to_model_range(pixels)
    assert x.shape == (1, 2, 3, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, :, 0], pixels[0] / 127.5 - 1.0, rtol=0, atol=1e-7)
    assert x[0, 0, 0, 0] == -1.0 and x[0, 1, 2, 0] == 1.0
    # back to 0..1 for the CSV: (x + 1) / 2, clipped, channel dropped
    np.testing.assert_allclose(to_unit_range(x), pixels / 255.0, atol=1e-6)
    np.testing.assert_array_equal(to_unit_range(np.array([[[[-1.5], [1.5]]]])), [[[0.0, 1.0]]])


def test_pairs_by_name_not_by_listing_order(tiny_data_copy, monkeypatch):
    """Whites of another format, listed by the file system in another order: each real
    face still meets its own white one (outside the box they are the same picture)."""
    from pathlib import Path

    real_dir = tiny_data_copy / "Training/Real"
    white_dir = tiny_data_copy / "Training/White"
    for png in sorted(white_dir.glob("*.png")):
        Image.open(png).save(png.with_suffix(".bmp"))
        png.unlink()
    listing = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda self: reversed(list(listing(self)))
                        if self == white_dir else listing(self))
    real, white, names = load_pairs(real_dir, white_dir, notes=lambda m: None)
    assert names == sorted(names) and len(names) == 12
    for stem, r, w in zip(names, real, white):
        np.testing.assert_array_equal(r, np.asarray(Image.open(real_dir / f"{stem}.png")))
        np.testing.assert_array_equal(w, np.asarray(Image.open(white_dir / f"{stem}.bmp")))
        assert np.array_equal(w[:84], r[:84])  # the pair: the same face above the box
    assert not np.array_equal(white[0][:84], real[1][:84])  # and other pairs differ


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
    rng = np.random.default_rng(0)
    colours = [rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in range(3)]
    for i, rgb in enumerate(colours):
        Image.fromarray(rgb).save(folder / f"{i}.png")
    notes = []
    images, names = load_folder(folder, notes=notes.append)
    assert images.shape == (3, 128, 128) and names == ["0", "1", "2"]
    assert len([n for n in notes if "resized from 256x256 to 128x128" in n]) == 1
    assert len([n for n in notes if "converted to grayscale" in n]) == 1
    for rgb, image in zip(colours, images):
        # ITU-R 601 luma (PIL's "L"), then a bicubic resize: the values, not just the shape
        luma = Image.fromarray(rgb).convert("L")
        np.testing.assert_array_equal(image, np.asarray(luma.resize((128, 128), Image.BICUBIC)))
        r, g, b = (int(c) for c in rgb[0, 0])
        assert abs(int(np.asarray(luma)[0, 0]) - (r * 299 + g * 587 + b * 114) / 1000) <= 0.5
    # a smooth ramp keeps its values through the resize (no crop, no shift)
    ramp = np.tile(np.linspace(0, 255, 256), (256, 1)).astype(np.uint8)
    Image.fromarray(ramp).save(folder / "ramp.png")
    resized = load_folder(folder, notes=notes.append)[0][-1]
    np.testing.assert_allclose(resized[64], np.linspace(0, 255, 256)[::2] + 0.5, atol=1.5)


def test_16_bit_pngs_and_stray_files_are_accepted_and_said(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    deep = (np.arange(128 * 128, dtype=np.uint32).reshape(128, 128) * 4 % 65536).astype(np.uint16)
    Image.fromarray(deep).save(folder / "deep.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / ".DS_Store").write_bytes(b"\0\0")
    notes = []
    images, names = load_folder(folder, notes=notes.append)
    assert names == ["deep"]
    np.testing.assert_array_equal(images[0], np.round(deep / 257.0).astype(np.uint8))
    assert any("16-bit images scaled to 8 bits" in n for n in notes)
    assert [n for n in notes if "skipped 1 file(s) that are not images (notes.txt)" in n]


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
