"""The metrics beside the Kaggle RMSE are TensorFlow's figures, computed without it."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from mouthgan.evaluation import metrics


@pytest.mark.parametrize("shape", [(5, 32, 40), (1, 11, 11), (2, 23, 17, 1)])
def test_psnr_and_ssim_equal_tensorflows(shape):
    import tensorflow as tf

    rng = np.random.default_rng(len(shape) + shape[1])
    target = rng.random(shape).astype(np.float32)
    prediction = np.clip(0.7 * target + 0.1 + rng.normal(0, 0.1, shape), 0, 1).astype(np.float32)
    as_tf = [x if x.ndim == 4 else x[..., None] for x in (prediction, target)]
    ssim = float(tf.reduce_mean(tf.image.ssim(*as_tf, max_val=1.0)))
    psnr = float(tf.reduce_mean(tf.image.psnr(*as_tf, max_val=1.0)))
    assert metrics.ssim(prediction, target) == pytest.approx(ssim, abs=1e-5)
    assert metrics.psnr(prediction, target) == pytest.approx(psnr, abs=1e-4)
    assert metrics.ssim(target, target) == pytest.approx(1.0)
    assert metrics.psnr(target, target) == np.inf


def test_scoring_a_csv_loads_no_tensorflow(tiny_data, tmp_path):
    """score.py reads, scores and prints without importing TensorFlow (~4 s saved)."""
    from mouthgan.data.faces import load_folder
    from mouthgan.inference.kaggle_csv import write_csv

    whites, _ = load_folder(tiny_data / "Test" / "White", notes=lambda _: None)
    write_csv(whites / 255.0, tmp_path / "white.csv")
    code = ("import sys, runpy; sys.argv = ['score.py', sys.argv[1], '--answers', sys.argv[2]]; "
            "runpy.run_path('scripts/score.py', run_name='not_main')['main'](sys.argv[1:]); "
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "white.csv"),
                             str(tiny_data / "Test" / "Real")], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "SSIM" in result.stdout
    assert result.stdout.splitlines()[-1] == "False"


def test_texture_ratio_is_one_for_uniform_grain_and_less_for_a_smooth_hole():
    from mouthgan.evaluation.metrics import texture_ratio

    rng = np.random.default_rng(0)
    image = 120 + rng.normal(0, 8, (200, 200))
    hole = np.zeros(image.shape, bool)
    hole[80:120, 60:140] = True
    assert abs(texture_ratio(image, hole) - 1) < 0.05
    smooth = image.copy()
    smooth[hole] = 120  # a smudge: no detail at all
    assert texture_ratio(smooth, hole) < 0.05
