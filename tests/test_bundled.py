"""The generators that ship with the package: each loads and scores as its card says."""

import pytest

from mouthgan import MouthganError
from mouthgan.inference.bundled import WEIGHTS_DIR, bundled_file, bundled_names, card
from mouthgan.evaluation.model_card import training_command

# Tests that train, or start Python and TensorFlow in a subprocess: the full tier.
pytestmark = pytest.mark.slow

NAMES = bundled_names()


def test_the_default_and_the_photo_recipe_ship_each_with_its_card():
    assert {"default", "photo"} <= set(NAMES)
    for name in NAMES:
        c = card(f"bundled:{name}")
        assert c["name"] == name and c["command"].startswith("python scripts/train.py --preset ")
        assert (WEIGHTS_DIR / f"{name}.keras").stat().st_size == c["size_bytes"]
    with pytest.raises(MouthganError, match="bundled:nothing: no such bundled model .*bundled:default"):
        bundled_file("bundled:nothing")


@pytest.mark.network
@pytest.mark.parametrize("name", NAMES)
def test_a_bundled_model_scores_on_the_default_data_as_its_card_says(name, real_data):
    from mouthgan.data.faces import load_dataset
    from mouthgan.evaluation.scores import Evaluator
    from mouthgan.inference.generators import load_generator, run_flip_average

    dataset = load_dataset(real_data, notes=lambda message: None)
    c = card(f"bundled:{name}")
    generator = load_generator(f"bundled:{name}")
    # it computes in float32 whatever it was trained in (bfloat16 is slow without AMX)
    assert {layer.dtype_policy.compute_dtype for layer in generator.layers} == {"float32"}
    flip_average = run_flip_average(f"bundled:{name}")
    assert flip_average == c["config"]["flip_average"]
    for split in ("validation", "test"):
        measured = Evaluator(getattr(dataset, split), flip_average)(generator)
        assert measured["val_rmse_pasted"] == pytest.approx(c["scores"][f"{split}_rmse"], abs=1e-4)
    # storing the weights in float16 costs at most 1e-4 of Validation RMSE
    assert abs(c["scores"]["validation_rmse"] - c["scores"]["validation_rmse_float32"]) <= 1e-4


def test_the_card_names_the_closest_preset_and_only_what_differs():
    from mouthgan.config import resolve

    assert training_command(resolve("photo", time_budget=0.0)) == (
        "python scripts/train.py --preset photo --time-budget 0")
    assert training_command(resolve("best", loss_weights=(1.0, 3.0), flip=False)) == (
        "python scripts/train.py --preset best --loss-weights 1 3 --no-flip")
    # where and how a run was kept is not part of what it learned
    assert training_command(resolve("strong-baseline", run_dir="x", eval_every=7)) == (
        "python scripts/train.py --preset strong-baseline")


def test_with_no_run_the_kaggle_export_uses_the_bundled_default_and_says_so(tiny_data,
                                                                            tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/image_to_csv.py"), "--input",
         str(tiny_data / "Test" / "White"), "--out", "Predict.csv"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("model: bundled:default (no run in runs/; the model that ships")
    assert "--preset strong-baseline --seed 0" in first
    rows = (tmp_path / "Predict.csv").read_text().splitlines()
    assert len(rows) == 1 + 128 * 128 and len(rows[0].split(",")) == 1 + 3  # 3 faces


def test_a_bundled_model_can_be_fine_tuned_from(tiny_data, tmp_path):
    import keras
    import numpy as np

    from mouthgan.config import TrainConfig
    from mouthgan.data.faces import load_dataset
    from mouthgan.inference.bundled import discriminator_file
    from mouthgan.training.engine_factory import make_engine
    from mouthgan.training.trainer import start_from

    c = card("bundled:default")
    config = TrainConfig.from_dict({**c["config"], "data": str(tiny_data), "batch_size": 4})
    engine = make_engine(config, load_dataset(tiny_data).train)
    start_from(engine, "bundled:default")
    saved = keras.models.load_model(discriminator_file(bundled_file("bundled:default")),
                                    compile=False)
    assert all(np.array_equal(a, b) for a, b in
               zip(engine.discriminator.get_weights(), saved.get_weights()))
    # G too: every weight of the bundled generator, and the same restoration.
    generator = keras.models.load_model(bundled_file("bundled:default"), compile=False)
    assert len(engine.generator.get_weights()) == len(generator.get_weights())
    assert all(np.array_equal(a, b) for a, b in
               zip(engine.generator.get_weights(), generator.get_weights()))
    faces = np.random.default_rng(0).uniform(-1, 1, (2, 128, 128, 1)).astype(np.float32)
    assert np.allclose(engine.generator(faces, training=False), generator(faces, training=False),
                       atol=1e-5)
    assert card("bundled:photo")["discriminator_file"].endswith("photo.discriminator.keras")
