"""The generated report: complete, self-contained, and true to the run's models."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from mouthgan.data.faces import load_dataset
from mouthgan.models.networks import build_discriminator, build_generator
from mouthgan.evaluation.report import write_report
from mouthgan.util.run_dir import make_run_dir
from mouthgan.training.trainer import train
from conftest import ROOT
from test_training import tiny_config

# Tests that train, or start Python and TensorFlow in a subprocess: the full tier.
pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# .ci/run installs Chromium and sets this: in CI the browser test must run, not skip.
REQUIRED = os.environ.get("MOUTHGAN_REQUIRE_CHROMIUM") == "1"


@pytest.fixture(scope="module")
def reported_run(tiny_data, tmp_path_factory):
    run_dir = make_run_dir(tmp_path_factory.mktemp("report") / "run")
    train(tiny_config(tiny_data, steps=4), load_dataset(tiny_data), run_dir, verbose=0)
    write_report(run_dir)
    return run_dir


def test_report_has_every_graded_part(reported_run):
    text = (reported_run / "report.md").read_text()
    for part in ("## Network architecture", "### Generator (U-Net)",
                 "### Discriminator (Patch-GAN)", "## The adversarial model (AM)",
                 "## Training losses", "## Samples", "## Scores", "## Method and observations"):
        assert part in text, part
    assert "65,961 + D 11,677 = **77,638**" in text
    assert "exactly what a 3-channel generator input gives" in text
    assert "[MSE, MAE] x [1, 100]" in text
    for link in re.findall(r"\]\(([^)]+\.png)\)", text):
        assert (reported_run / link).exists(), link
    html = (reported_run / "report.html").read_text()
    assert "file:" not in html and 'src="data:image/png;base64,' in html  # self-contained


def chromium(*args, tmp_path):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not CHROMIUM and not REQUIRED, reason="Chromium not installed")
def test_report_in_a_real_browser(reported_run, tmp_path):
    assert CHROMIUM, "MOUTHGAN_REQUIRE_CHROMIUM=1 but no chromium on PATH"
    url = (reported_run / "report.html").resolve().as_uri()
    shot = tmp_path / "report.png"
    chromium("--window-size=1200,3000", f"--screenshot={shot}", url, tmp_path=tmp_path)
    assert shot.exists() and shot.stat().st_size > 20_000
    dom = chromium("--dump-dom", url, tmp_path=tmp_path).stdout
    loaded = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert loaded, "the page's load script did not run"
    assert loaded.group(1) == loaded.group(2) and int(loaded.group(2)) >= 3
    totals = dict(re.findall(r'id="(\w+)-total">([\d,]+)<', dom))
    assert int(totals["generator"].replace(",", "")) == build_generator().count_params()
    assert int(totals["discriminator"].replace(",", "")) == build_discriminator().count_params()


def test_run_without_history_or_models_says_what_is_missing(reported_run, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(reported_run, broken)
    (broken / "history.csv").unlink()
    result = subprocess.run([sys.executable, str(ROOT / "scripts/report.py"), str(broken)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "history.csv is missing" in result.stderr
    shutil.copy(reported_run / "history.csv", broken / "history.csv")
    for path in [broken / "generator.keras", broken / "checkpoint" / "generator.keras"]:
        path.unlink()
    result = subprocess.run([sys.executable, str(ROOT / "scripts/report.py"), str(broken)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2 and "generator.keras is missing" in result.stderr


def test_telea_row_when_opencv_is_installed(reported_run, tiny_data):
    pytest.importorskip("cv2")
    from mouthgan.evaluation.report import telea_scores

    scores = telea_scores(tiny_data)
    assert set(scores) == {"test", "validation"}
    assert 0 < scores["test"] < 0.1  # far better than the white image, on smooth faces
    assert "cv2.inpaint Telea" in (reported_run / "report.md").read_text()


def test_report_names_the_adversarial_loss_the_run_trained_with(reported_run, tmp_path):
    import json

    run_dir = tmp_path / "hinge"
    shutil.copytree(reported_run, run_dir)
    saved = json.loads((run_dir / "config.json").read_text())
    saved["config"]["gan_loss"] = "hinge"
    (run_dir / "config.json").write_text(json.dumps(saved))
    write_report(run_dir)
    text = (run_dir / "report.md").read_text()
    for claim in ("trained with MSE", "| D loss | MSE", "[MSE, MAE]", "(MSE)"):
        assert claim not in text, claim
    assert "hinge on the patch map" in text and "[hinge, MAE] x [1, 100]" in text
