"""Training: both engines agree, resume is exact, the run directory explains itself."""

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from mouthgan import MouthganError
from mouthgan.config import TrainConfig, resolve, to_json
from mouthgan.data.faces import load_dataset
from mouthgan.util.run_dir import make_run_dir, read_config
from mouthgan.data.batches import draw_batch
from mouthgan.training.checkpoints import checkpoint_step, find_checkpoint
from mouthgan.training.engine_factory import make_engine as make_engine_for_split
from mouthgan.training.pix2pix import Pix2Pix
from mouthgan.training.handout_loop import HandoutLoop
from mouthgan.training.trainer import train
from mouthgan.evaluation.plots import LOSS_KEYS
from conftest import ROOT

# Tests that train, or start Python and TensorFlow in a subprocess: the full tier.
pytestmark = pytest.mark.slow


def make_engine(config, dataset):
    return make_engine_for_split(config, dataset.train)


def tiny_config(data, **kw):
    values = dict(data=str(data), steps=4, batch_size=4, sample_every=2, eval_every=2,
                  checkpoint_every=2)
    values.update(kw)
    return TrainConfig(**values)


def weights(model):
    return [w.numpy().copy() for w in model.weights]


@pytest.mark.parametrize("flip,d_steps,lr_decay,d_batch,hole_weight,weight_decay,precision", [
    (False, 1, "none", "separate", 1.0, 0.0, "float32"),
    (True, 2, "linear", "separate", 1.0, 0.0, "float32"),
    (True, 1, "linear", "mixed", 1.0, 0.0, "float32"),
    (True, 1, "none", "separate", 10.0, 50.0, "float32"),
    (True, 1, "none", "separate", 10.0, 0.0, "mixed_bfloat16")])
def test_both_engines_take_the_same_step(tiny_data, flip, d_steps, lr_decay, d_batch,
                                         hole_weight, weight_decay, precision):
    data = load_dataset(tiny_data)
    # steps=3: with linear decay the third update runs at 2/3 of the learning rate
    config = tiny_config(tiny_data, flip=flip, d_steps=d_steps, lr_decay=lr_decay, steps=3,
                         d_batch=d_batch, hole_weight=hole_weight, engine="fused",
                         weight_decay=weight_decay, precision=precision)
    fused = make_engine(config, data)
    literal = make_engine(replace(config, engine="handout"), data)
    assert isinstance(fused, Pix2Pix) and isinstance(literal, HandoutLoop)
    for a, b in zip(weights(fused.generator), weights(literal.generator)):
        assert np.array_equal(a, b)  # same seed, same initial weights

    batch = literal.sample_batch()
    assert len(batch) == (3 if hole_weight != 1.0 else 2)  # the hole mask when weighted
    d_before = weights(literal.discriminator)
    start = weights(literal.generator) + d_before
    for _ in range(3):
        fused_logs = fused.update(*batch)
        literal_logs = literal.update(*batch)
    if lr_decay == "linear":
        assert float(literal.g_optimizer.learning_rate) == pytest.approx(0.0, abs=1e-12)
        assert float(fused.d_optimizer.learning_rate) == pytest.approx(0.0, abs=1e-12)

    fused_w = weights(fused.generator) + weights(fused.discriminator)
    literal_w = weights(literal.generator) + weights(literal.discriminator)
    assert any(not np.array_equal(a, b) for a, b in zip(d_before, literal_w[-len(d_before):]))
    if precision == "float32":
        # The two graphs sum in other orders, and Adam's normalised step can make a
        # rounding-size gradient a step of up to the learning rate: on an AVX2-only CPU
        # one weight in 16384 ended 1.4e-5 apart after three steps. 5e-5 is still a
        # quarter of one Adam step at the learning rate here (2e-4).
        for a, b in zip(fused_w, literal_w):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=5e-5)
        rel = 1e-4
    else:
        # bfloat16 rounds differently in the two compiled graphs, and Adam turns a
        # near-zero gradient's rounding into a full-size step of either sign: compare
        # the moves as a whole (cosine) instead of element by element.
        moved_f = np.concatenate([(a - s).ravel() for a, s in zip(fused_w, start)])
        moved_l = np.concatenate([(b - s).ravel() for b, s in zip(literal_w, start)])
        cosine = moved_f @ moved_l / np.linalg.norm(moved_f) / np.linalg.norm(moved_l)
        assert cosine > 0.98
        rel = 1e-2
    for key in ("d_loss", "g_loss", "g_adv", "g_l1"):
        assert float(fused_logs[key]) == pytest.approx(float(literal_logs[key]), rel=rel)


def test_shared_fakes_are_gs_training_pass(tiny_data):
    data = load_dataset(tiny_data)

    def three_steps(**kw):
        engine = make_engine(tiny_config(tiny_data, flip=True, hole_weight=10.0, **kw), data)
        batch = engine.sample_batch()
        logs = [engine.update(*batch) for _ in range(3)]
        return logs, weights(engine.generator) + weights(engine.discriminator)

    # Without BatchNormalization G's training pass is its inference pass: the one pass
    # shared by D and G takes the step the handout's two passes take.
    _, predicted = three_steps(norm="none", fakes="predict")
    _, shared = three_steps(norm="none", fakes="shared")
    for a, b in zip(predicted, shared):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=5e-5)
    # With it, D judges other fakes (made with the batch's statistics, not the moving
    # ones), while G's first pass, and so its L1, is the same.
    predicted_logs, _ = three_steps(fakes="predict")
    shared_logs, _ = three_steps(fakes="shared")
    first, other = shared_logs[0], predicted_logs[0]
    assert float(first["d_loss"]) != pytest.approx(float(other["d_loss"]), rel=1e-3)
    assert float(first["g_l1"]) == pytest.approx(float(other["g_l1"]), rel=1e-5)
    with pytest.raises(MouthganError, match="only the fused engine supports --fakes"):
        tiny_config(tiny_data, engine="handout", fakes="shared").validate()


def test_a_d_that_judges_pasted_fakes_steers_g_only_inside_the_hole(tiny_data):
    import tensorflow as tf

    data = load_dataset(tiny_data)
    engine = make_engine(tiny_config(tiny_data, d_sees="pasted", hole_weight=1.0), data)
    real, white, hole = engine.sample_batch()  # the hole mask comes with the batch
    fake = tf.Variable(engine.generator(white, training=False))
    with tf.GradientTape() as tape:
        verdict = engine.discriminator([engine._as_d_sees(fake, white, hole), white])
        loss = tf.reduce_sum(verdict)
    gradient = np.abs(tape.gradient(loss, fake).numpy())
    inside = hole.numpy() > 0.5
    assert inside.any() and gradient[inside].max() > 0
    assert gradient[~inside].max() == 0
    # D's losses and accuracy count the patches on the hole or next to it: for the
    # handout's box (rows 84-111, columns 44-83) on the 8x8 map, rows 4-7 x columns 1-6
    seen = engine._patches_that_see(hole).numpy()[..., 0]
    expected = np.zeros((8, 8))
    expected[4:8, 1:7] = 1
    assert all(np.array_equal(s, expected) for s in seen)
    # and a few steps train, D seeing the hole, G drawing it
    for _ in range(2):
        logs = engine.update(real, white, hole)
    assert np.isfinite(float(logs["loss"]))
    # the handout's loop judges whole outputs only
    with pytest.raises(MouthganError, match="only the fused engine supports --d-sees"):
        tiny_config(tiny_data, engine="handout", d_sees="pasted").validate()


@pytest.mark.parametrize("kind", ["hinge", "nonsaturating"])
def test_each_gan_loss_trains_and_scores_d_on_its_own_scale(tiny_data, kind):
    from mouthgan.training.losses import d_patch_loss, g_patch_loss, patch_accuracy

    sure, unsure = np.full((2, 8, 8, 1), 3.0, np.float32), np.full((2, 8, 8, 1), 0.2, np.float32)
    if kind == "hinge":
        # no loss for a patch D is sure of beyond the margin; G's loss is minus the score
        assert float(d_patch_loss(kind, sure, True)) == 0
        assert float(d_patch_loss(kind, unsure, True)) == pytest.approx(0.8)
        assert float(d_patch_loss(kind, -sure, False)) == 0
        assert float(g_patch_loss(kind, unsure)) == pytest.approx(-0.2)
    else:
        assert float(d_patch_loss(kind, unsure, True)) == pytest.approx(np.log1p(np.exp(-0.2)))
        assert float(g_patch_loss(kind, -sure)) == pytest.approx(np.log1p(np.exp(3.0)))
    # logits and margins are "real" above 0, lsgan's scores above 0.5
    assert float(patch_accuracy(unsure, np.ones_like(unsure), kind)) == 1.0
    assert float(patch_accuracy(unsure, np.ones_like(unsure), "lsgan")) == 0.0
    data = load_dataset(tiny_data)
    for d_batch in ("separate", "mixed"):
        engine = make_engine(tiny_config(tiny_data, gan_loss=kind, d_batch=d_batch), data)
        before = weights(engine.discriminator)
        logs = engine.update(*engine.sample_batch())
        assert np.isfinite(float(logs["loss"])) and 0 <= float(logs["d_acc"]) <= 1
        assert any(not np.array_equal(a, b) for a, b in zip(before, weights(engine.discriminator)))
    with pytest.raises(MouthganError, match="only the fused engine supports --gan-loss"):
        tiny_config(tiny_data, engine="handout", gan_loss=kind).validate()


def test_spectral_norm_keeps_every_d_kernel_at_norm_one_and_survives_saving(tiny_data,
                                                                          tmp_path):
    import keras

    data = load_dataset(tiny_data)
    engine = make_engine(tiny_config(tiny_data, spectral_norm=True), data)
    D = engine.discriminator
    assert not any("norm" in layer.name for layer in D.layers)  # SNGAN's D: no BN
    engine.update(*engine.sample_batch())
    kernels = [w.numpy() for w in D.trainable_weights if w.name == "kernel"]
    assert len(kernels) == 1 + len(engine.config.discriminator_filters)
    for kernel in kernels:
        top = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert top == pytest.approx(1.0, abs=1e-3)
    D.save(tmp_path / "d.keras")
    again = keras.models.load_model(tmp_path / "d.keras")
    assert again.get_layer("disc1_conv").kernel_constraint is not None
    with pytest.raises(MouthganError, match="only the fused engine supports --spectral-norm"):
        tiny_config(tiny_data, engine="handout", spectral_norm=True).validate()


def test_r1_penalises_d_slope_on_the_real_pairs_only(tiny_data):
    import tensorflow as tf

    data = load_dataset(tiny_data)
    # without BatchNormalization, whose batch statistics would mix the two halves
    engine = make_engine(tiny_config(tiny_data, r1=2.0, d_batch="mixed", norm="none"), data)
    real, white = engine.sample_batch()[:2]
    _, penalty = engine._scores_and_r1(real, white, mixed=False)
    assert float(penalty) > 0
    # gamma scales it
    engine.config = replace(engine.config, r1=4.0)
    assert float(engine._scores_and_r1(real, white, mixed=False)[1]) == pytest.approx(
        2 * float(penalty), rel=1e-4)
    engine.config = replace(engine.config, r1=2.0)
    # mixed batches: the fake half changes the scores, never the penalty
    for fake in (tf.zeros_like(real), tf.ones_like(real)):
        _, mixed_penalty = engine._scores_and_r1(tf.concat([real, fake], 0),
                                                 tf.concat([white, white], 0), mixed=True)
        assert float(mixed_penalty) == pytest.approx(float(penalty), rel=1e-4)
    before = weights(engine.discriminator)
    logs = engine.update(real, white)
    assert np.isfinite(float(logs["loss"]))
    assert any(not np.array_equal(a, b) for a, b in zip(before, weights(engine.discriminator)))


def test_feature_matching_pulls_g_toward_d_activations_on_real_pairs(tiny_data):
    import tensorflow as tf

    from mouthgan.training.losses import feature_distance

    data = load_dataset(tiny_data)
    config = tiny_config(tiny_data, feature_matching=10.0)
    engine = make_engine(config, data)
    real, white = engine.sample_batch()[:2]
    *blocks, verdict = engine.d_with_features([real, white])
    # one activation per block of D, in the same pass as its verdict
    assert len(blocks) == len(config.discriminator_filters)
    assert np.allclose(verdict, engine.discriminator([real, white]), atol=1e-5)
    assert float(feature_distance(blocks, blocks)) == 0
    *white_blocks, _ = engine.d_with_features([white, white])
    assert float(feature_distance(blocks, white_blocks)) > 0
    # the real side is a fixed target: the gradient reaches only the fakes' activations
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(blocks)
        distance = feature_distance(blocks, white_blocks)
    assert all(g is None for g in tape.gradient(distance, blocks))
    logs = engine.update(real, white)
    assert np.isfinite(float(logs["loss"]))
    with pytest.raises(MouthganError, match="only the fused engine supports --feature-matching"):
        tiny_config(tiny_data, engine="handout", feature_matching=1.0).validate()


def test_both_engines_draw_the_same_batches(tiny_data):
    from mouthgan.data.batches import training_batches

    data = load_dataset(tiny_data)
    config = tiny_config(tiny_data, flip=True, hole_weight=10.0, steps=3)
    fused = make_engine(config, data)
    literal = make_engine(replace(config, engine="handout"), data)
    drawn = [x.numpy() for x in fused.sample_batch()], literal.sample_batch()
    assert len(drawn[0]) == len(drawn[1]) == 3
    for x, y in zip(*drawn):
        assert np.array_equal(x, y)
    # The pipeline's step s is draw_batch(s), from any start: a resumed run draws what
    # an uninterrupted one does, and steps differ from each other.
    from_0 = list(training_batches(fused.source, config, 0).take(3).as_numpy_iterator())
    from_2 = next(training_batches(fused.source, config, 2).as_numpy_iterator())
    for x, y in zip(from_0[0], drawn[0]):
        assert np.array_equal(x, y)
    for x, y in zip(from_0[2], from_2):
        assert np.array_equal(x, y)
    assert not np.array_equal(from_0[0][0], from_0[1][0])
    # Inside the compiled step too: trained by fit() and by the handout loop, the two
    # engines (which take the same step on the same batch) log the same losses at every
    # step, which another batch would change, and end with the same weights.
    import keras

    start = weights(fused.generator)
    assert all(np.array_equal(a, b) for a, b in zip(start, weights(literal.generator)))
    losses = []
    for engine in (fused, literal):
        logged = []
        engine.run(config.steps, [keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs, logged=logged: logged.append(
                [float(np.ravel(logs[k])[0]) for k in LOSS_KEYS]))])
        losses.append(logged)
    assert len(losses[0]) == config.steps
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-3)
    # Adam turns float rounding of a near-zero gradient into a full step of either sign:
    # compare the weights' moves as a whole.
    moves = [np.concatenate([(w - s).ravel() for w, s in zip(weights(e.generator), start)])
             for e in (fused, literal)]
    assert moves[0] @ moves[1] / np.linalg.norm(moves[0]) / np.linalg.norm(moves[1]) > 0.999


def test_run_directory_contents(tiny_data, tmp_path):
    data = load_dataset(tiny_data)
    run_dir = make_run_dir(tmp_path / "runs" / "r1")
    config = tiny_config(tiny_data, seed=3)
    result = train(config, data, run_dir, verbose=0)
    assert result["steps"] == 4
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["config"]["seed"] == 3 and saved["config"]["loss_weights"] == [1.0, 100.0]
    assert {"tensorflow", "keras", "numpy"} <= set(saved["versions"])
    history = (run_dir / "history.csv").read_text().splitlines()
    assert history[0] == "epoch,d_loss,d_acc,g_loss,g_adv,g_l1,val_rmse,val_rmse_pasted"
    assert [int(l.split(",")[0]) for l in history[1:]] == [1, 2, 3, 4]
    validation = [l.split(",")[-1] for l in history[1:]]  # measured every 2 steps
    assert validation[0] == validation[2] == "NA" and float(validation[1]) > 0
    for name in ("loss.png", "generator.keras", "discriminator.keras", "scores.json",
                 "summary.json",
                 "samples/step_000000.png", "samples/step_000002.png",
                 "samples/step_000004.png",
                 "checkpoint/checkpoint", "checkpoint/generator.keras"):
        assert (run_dir / name).exists(), name
    assert list((run_dir / "tensorboard" / "train").glob("events.*"))
    assert list((run_dir / "tensorboard" / "validation").glob("events.*"))
    scores = json.loads((run_dir / "scores.json").read_text())
    assert set(scores) == {"test", "validation"}
    # Pasting keeps every pixel outside the hole: it can only help over the identity
    # inside the box, and it never touches the rest.
    assert scores["validation"]["pasted"]["rmse_outside"] == 0.0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["train_seconds"] > 0
    assert summary["generator_parameters"] == 65_961
    assert (tmp_path / "runs" / "latest").resolve() == run_dir.resolve()


# The plain run's resume is test_signals' (interrupted at each moment, then resumed):
# here the levers whose state or randomness a resume must carry on.
@pytest.mark.parametrize("levers", [{"ema": 0.9, "hole_weight": 5.0, "reconstruction": "l2",
                                         "shift": 3, "rotate": 4.0, "zoom": 0.05, "jitter": 0.2,
                                         "erase": 10, "mixup": 0.4,
                                         "precision": "mixed_bfloat16", "weight_decay": 1.0,
                                         "global_context": 4},
                                    {"diffaugment": ("translation", "cutout", "color"),
                                     "ada_target": 0.2, "lecam": 0.3, "d_sees": "pasted"}])
def test_resume_matches_an_uninterrupted_run(tiny_data, tmp_path, levers, monkeypatch):
    # ADA's probability rises every step here, whatever tiny D's verdicts, so that a
    # resume which lost it would show
    from mouthgan.training import pix2pix

    monkeypatch.setattr(pix2pix, "ada_adjustment", lambda sign, target: 0.05)
    data = load_dataset(tiny_data)
    config = tiny_config(tiny_data, steps=6, checkpoint_every=3, flip=True, **levers)
    straight = train(config, data, make_run_dir(tmp_path / "a"), verbose=0)

    half = make_run_dir(tmp_path / "b")
    train(replace(config, steps=3), data, half, verbose=0)
    resumed = train(config, data, half, resume=True, verbose=0)

    assert resumed["steps"] == 6
    for a, b in zip(weights(straight["engine"].inference_generator),
                    weights(resumed["engine"].inference_generator)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the limited-data levers' state comes back with the checkpoint
    for name in ("ada_probability", "lecam_averages"):
        if levers.get({"ada_probability": "ada_target", "lecam_averages": "lecam"}[name]):
            value = getattr(straight["engine"], name).numpy()
            assert np.all(value != 0), name
            np.testing.assert_allclose(getattr(resumed["engine"], name).numpy(), value,
                                       rtol=1e-5)
    rows_a = (tmp_path / "a/history.csv").read_text().splitlines()
    rows_b = (half / "history.csv").read_text().splitlines()
    assert len(rows_a) == len(rows_b) == 7
    if levers.get("ada_target"):  # ADA's probability along the run, resumed too
        assert rows_a[0] == rows_b[0] and rows_a[0].endswith(",ada_p")
        assert rows_a[-1].split(",")[-1] == rows_b[-1].split(",")[-1]
    for ra, rb in zip(rows_a[1:], rows_b[1:]):
        np.testing.assert_allclose([float(v) for v in ra.split(",")[:6]],
                                   [float(v) for v in rb.split(",")[:6]], rtol=1e-4)


@pytest.mark.parametrize("engine", ["fused", "handout"])
def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tiny_data, tmp_path,
                                                             monkeypatch, engine):
    import tensorflow as tf

    if engine == "fused":  # poisoned inside the compiled step, at G's third update
        original = Pix2Pix.update

        def poisoned(self, *batch):
            logs = original(self, *batch)
            nan = tf.where(self.g_optimizer.iterations == 3, float("nan"), 0.0)
            return {**logs, "g_l1": logs["g_l1"] + nan}
        monkeypatch.setattr(Pix2Pix, "update", poisoned)
    else:
        calls = []
        original = HandoutLoop.update

        def poisoned(self, *batch):
            logs = original(self, *batch)
            calls.append(1)
            return {**logs, "g_l1": float("nan")} if len(calls) == 3 else logs
        monkeypatch.setattr(HandoutLoop, "update", poisoned)
    data = load_dataset(tiny_data)
    run_dir = make_run_dir(tmp_path / "nan")
    with pytest.raises(MouthganError, match=r"g_l1 became NaN/Inf at step 3.*step 2"):
        train(tiny_config(tiny_data, engine=engine, steps=6), data, run_dir, verbose=0)
    assert checkpoint_step(run_dir) == 2
    rows = (run_dir / "history.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == ["1", "2", "3"]  # the NaN step is recorded
    assert rows[2].split(",")[5] == "nan"  # g_l1
    assert not (run_dir / "generator.keras").exists()


def run_train(*args, **kw):
    return subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, **kw)


@pytest.mark.parametrize("flags,message", [
    (["--steps", "0"], "--steps must be > 0"),
    (["--batch-size", "50"], "--batch-size 50 is larger than the 12 training pairs"),
    (["--lr", "-1"], "--lr must be > 0"),
    (["--engine", "handout", "--shift", "2"], "only the fused engine supports --shift"),
    (["--engine", "handout", "--ema", "0.9"], "only the fused engine supports --ema"),
    (["--resume", "{tmp}/missing"], "missing: run directory not found"),
    (["--resume", "{tmp}"], "config.json: missing"),
])
def test_bad_flags_get_one_clear_line(tiny_data, tmp_path, flags, message):
    flags = [f.replace("{tmp}", str(tmp_path)) for f in flags]
    result = run_train("--data", tiny_data, "--run-dir", tmp_path / "run", *flags)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "run" / "checkpoint").exists()


def test_resume_of_a_broken_run_directory(tiny_data, tmp_path):
    run_dir = tmp_path / "broken"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{not json")
    result = run_train("--resume", run_dir)
    assert result.returncode == 2 and "config.json: unreadable" in result.stderr
    (run_dir / "config.json").write_text(json.dumps(
        {"config": dataclasses.asdict(resolve(data=str(tiny_data), batch_size=4))}))
    result = run_train("--resume", run_dir)
    assert result.returncode == 2 and "no checkpoint to resume from" in result.stderr
    checkpoint = run_dir / "checkpoint"  # the checkpoint format of mouthgan 0.1.0
    checkpoint.mkdir()
    (checkpoint / "step.json").write_text('{"step": 2}')
    result = run_train("--resume", run_dir)
    assert result.returncode == 2 and "a checkpoint of mouthgan 0.1.0" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_damaged_checkpoint_or_one_of_other_settings_is_refused(tiny_data, tmp_path):
    data = load_dataset(tiny_data)
    config = tiny_config(tiny_data, steps=2)
    run_dir = make_run_dir(tmp_path / "run")
    train(config, data, run_dir, verbose=0)
    other = replace(config, generator_filters=(8, 8, 16, 32, 32), steps=3)
    with pytest.raises(MouthganError, match="one of other settings"):
        train(other, data, run_dir, resume=True, verbose=0)
    for index in (run_dir / "checkpoint").glob("*.index"):
        index.write_bytes(b"not an index")
    with pytest.raises(MouthganError, match="broken checkpoint"):
        train(replace(config, steps=3), data, run_dir, resume=True, verbose=0)


def start_long_run(data, run_dir, checkpoint_every, sample_every):
    """Start a practically endless training run."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "scripts/train.py"), "--data", str(data),
         "--run-dir", str(run_dir), "--steps", "100000", "--batch-size", "4",
         "--checkpoint-every", str(checkpoint_every), "--eval-every", "1000",
         "--sample-every", str(sample_every), "--quiet"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_after_kill_9_resume_starts_from_the_last_checkpoint(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    process = start_long_run(tiny_data, run_dir, checkpoint_every=3, sample_every=1000)
    try:
        deadline = time.time() + 300
        while find_checkpoint(run_dir) is None:
            assert process.poll() is None, process.communicate()[1]
            assert time.time() < deadline, "no checkpoint was written"
            time.sleep(0.2)
        time.sleep(2)
    finally:
        process.kill()  # SIGKILL: no handler runs
        process.communicate()
    step = checkpoint_step(run_dir)
    assert step >= 3 and step % 3 == 0
    # the folder is moved before the resume (to keep it, say): the run continues there
    moved = run_dir.rename(tmp_path / "moved")
    result = run_train("--resume", moved, "--steps", step + 1, "--quiet")
    assert result.returncode == 0, result.stderr
    assert f"at step {step}" in result.stdout
    rows = (moved / "history.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(1, step + 2))
    saved = json.loads((moved / "config.json").read_text())["config"]
    assert saved["run_dir"] == str(moved)


def test_linear_decay_is_constant_then_falls_to_zero():
    from mouthgan.training.optimizers import LinearDecay

    schedule = LinearDecay(1e-2, total_steps=10, updates_per_step=2)
    rates = [float(schedule(2 * step)) for step in (0, 5, 6, 8, 10, 12)]
    np.testing.assert_allclose(rates, [1e-2, 1e-2, 8e-3, 4e-3, 0.0, 0.0], atol=1e-9)


def test_weight_decay_shrinks_only_the_generators_kernels(tiny_data):
    data = load_dataset(tiny_data)
    config = tiny_config(tiny_data, lr=1e-3)
    plain = make_engine(config, data)
    decayed = make_engine(replace(config, weight_decay=20.0), data)
    start = {v.path: v.numpy().copy() for v in decayed.generator.trainable_variables}
    batch = plain.sample_batch()
    plain.update(*batch)
    decayed.update(*batch)
    shrunk = 0
    for p, d in zip(plain.generator.trainable_variables, decayed.generator.trainable_variables):
        if p.path.endswith("kernel"):
            # AdamW: w -= lr * decay * w, beside the same Adam step (same gradient)
            np.testing.assert_allclose(p.numpy() - d.numpy(), 1e-3 * 20.0 * start[d.path],
                                       rtol=1e-3, atol=1e-6)
            shrunk += 1
        else:  # biases, BatchNorm's gamma and beta
            np.testing.assert_array_equal(p.numpy(), d.numpy())
    assert shrunk == 10  # G's ten convolutions
    for a, b in zip(weights(plain.discriminator), weights(decayed.discriminator)):
        np.testing.assert_array_equal(a, b)


def test_reconstruction_loss_weighs_the_hole():
    import tensorflow as tf

    from mouthgan.training.losses import reconstruction_loss

    real = tf.zeros((1, 2, 2, 1))
    fake = tf.constant([[[[1.0], [0.0]], [[0.0], [-2.0]]]])
    hole = tf.constant([[[[1.0], [0.0]], [[0.0], [0.0]]]])
    assert float(reconstruction_loss(real, fake, None)) == pytest.approx(0.75)
    assert float(reconstruction_loss(real, fake, None, "l2")) == pytest.approx(1.25)
    assert float(reconstruction_loss(real, fake, tf.ones_like(hole))) == pytest.approx(0.75)
    # weight 3 inside the hole: (3 * 1 + 2) / (3 + 1 + 1 + 1)
    weights = 1.0 + 2.0 * hole
    assert float(reconstruction_loss(real, fake, weights)) == pytest.approx(5 / 6)


def test_hole_masks_find_the_painted_box(tiny_data):
    from mouthgan.data.faces import HOLE_BOX
    from mouthgan.data.batches import hole_masks

    white = load_dataset(tiny_data).train.white
    masks = hole_masks(white)
    top, bottom, left, right = HOLE_BOX
    assert masks.shape == white.shape[:3] + (1,)
    assert masks[:, top:bottom, left:right].min() == 1.0
    assert masks.sum() == len(white) * (bottom - top) * (right - left)


def test_random_warp_shifts_by_whole_pixels_with_mirrored_edges():
    import tensorflow as tf

    from mouthgan.data.batches import StepSeeds, random_warp

    images = np.random.default_rng(0).normal(size=(16, 20, 24, 1)).astype(np.float32)
    config = SimpleNamespace(shift=2, rotate=0.0, zoom=0.0)
    shifted = random_warp(tf.constant(images), config, StepSeeds(1, 0)).numpy()
    # the edge pixel repeats at the border (d c b a | a b c d), as a face's border does
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="symmetric")
    offsets = []
    for image, result in zip(padded, shifted):
        found = [(dy, dx) for dy in range(5) for dx in range(5)
                 if np.allclose(image[dy:dy + 20, dx:dx + 24], result, atol=1e-5)]
        assert len(found) == 1  # exactly one translation of this image
        offsets.append(found[0])
    assert len(set(offsets)) > 3  # each image draws its own


def test_random_warp_turns_and_scales_about_the_centre():
    import cv2
    import tensorflow as tf

    from mouthgan.data.batches import StepSeeds, random_warp

    # a smooth face-sized picture: bilinear resampling is then close to exact
    y, x = np.mgrid[0:128, 0:128].astype(np.float32)
    picture = np.sin(x / 9.0) + np.cos(y / 13.0) + (x - 40) * (y - 90) / 4000.0
    images = np.repeat(picture[None, ..., None], 8, axis=0)
    config = SimpleNamespace(shift=0, rotate=6.0, zoom=0.05)
    seeds = StepSeeds(3, 7)
    warped = random_warp(tf.constant(images), config, seeds).numpy()
    assert not np.allclose(warped[0], warped[1])  # each face its own draw
    centre = warped[:, 44:84, 44:84, 0]  # away from the mirrored edges
    # each result is the picture turned within +-6 degrees and scaled within 5%: search
    # that grid with OpenCV, whose turn is counter-clockwise for a positive angle
    fits = []
    for result in centre:
        errors = {(a, s): np.abs(cv2.warpAffine(
            picture, cv2.getRotationMatrix2D((63.5, 63.5), a, s), (128, 128),
            flags=cv2.INTER_LINEAR)[44:84, 44:84] - result).mean()
            for a in np.linspace(-6, 6, 25) for s in np.linspace(0.95, 1.05, 11)}
        best = min(errors, key=errors.get)
        assert errors[best] < 0.02, (best, errors[best])
        fits.append(best)
    # turns of both signs and scales both ways, not the picture as it was
    angles, scales = zip(*fits)
    assert min(angles) < -1 and max(angles) > 1
    assert min(scales) < 0.99 and max(scales) > 1.01


def test_flip_draws_stored_pairs_or_their_mirrors(tiny_data):
    from mouthgan.data.faces import to_model_range
    from mouthgan.data.batches import FacesInMemory, hole_masks

    train_split = load_dataset(tiny_data).train
    config = tiny_config(tiny_data, batch_size=40, flip=True, hole_weight=10.0)
    source = FacesInMemory(train_split.real, train_split.white, config)
    stored = [to_model_range(train_split.real), to_model_range(train_split.white),
              hole_masks(train_split.white)]
    real, white, hole = (x.numpy() for x in draw_batch(source, config, 0))
    mirrored = 0
    for r, w, h in zip(real, white, hole):
        i = next(i for i, s in enumerate(stored[0])
                 if np.array_equal(r, s) or np.array_equal(r, s[:, ::-1]))
        flipped = not np.array_equal(r, stored[0][i])
        mirrored += flipped
        # one decision per pair: white and hole mirrored with the real face
        expect = [s[i][:, ::-1] if flipped else s[i] for s in stored[1:]]
        np.testing.assert_array_equal(w, expect[0])
        np.testing.assert_array_equal(h, expect[1])
    assert 5 < mirrored < 35  # each pair flips with probability 1/2


def test_warp_and_jitter_repaint_the_hole_on_the_changed_face(tiny_data):
    from mouthgan.data.faces import to_model_range
    from mouthgan.data.batches import FacesInMemory

    train_split = load_dataset(tiny_data).train
    config = tiny_config(tiny_data, batch_size=12, shift=4, rotate=5.0, zoom=0.05, jitter=0.2)
    source = FacesInMemory(train_split.real, train_split.white, config)
    assert len(source.images) == 3  # the augmentation brings the hole masks
    real, white, hole = (x.numpy() for x in draw_batch(source, config, 0))
    inside = hole > 0.5
    assert np.all(white[inside] == 1.0)
    np.testing.assert_array_equal(white[~inside], real[~inside])
    # the faces changed: no drawn face is any stored face any more
    stored = to_model_range(train_split.real)
    assert not any(np.array_equal(r, s) for r in real for s in stored)
    assert real.min() >= -1.0 and real.max() <= 1.0


def test_resolution_shows_the_input_at_a_photo_s_size_and_keeps_the_target_sharp(tiny_data):
    from mouthgan.data.batches import FacesInMemory
    from mouthgan.data.faces import to_model_range

    from conftest import paint

    train_split = load_dataset(tiny_data).train
    config = tiny_config(tiny_data, batch_size=12, resolution=48)
    # The tiny faces are smooth; grain gives them the fine detail a photo's size takes away.
    grain = np.random.default_rng(0).normal(0, 12, train_split.real.shape)
    sharp = np.clip(train_split.real + grain, 0, 250).astype(np.uint8)
    source = FacesInMemory(sharp, np.stack([paint(face) for face in sharp]), config)
    real, white, hole = (x.numpy() for x in draw_batch(source, config, 0))
    inside = hole > 0.5
    assert np.all(white[inside] == 1.0)
    # the target is a stored face, untouched; the input outside the hole is that face
    # with its finest detail gone (pixel-to-pixel differences shrink), each by its own size
    stored = to_model_range(sharp)
    assert all(any(np.array_equal(r, s) for s in stored) for r in real)
    assert not np.allclose(white[~inside], real[~inside], atol=1e-3)
    assert white.min() >= -1.0 and white.max() <= 1.0
    # Detail finer than 48 px is gone from every input: its pixel-to-pixel differences
    # (outside the hole) are well under the sharp target's.
    away = ~inside[:, :, 1:] & ~inside[:, :, :-1]
    ratios = [np.abs(np.diff(w, axis=1))[a].mean() / np.abs(np.diff(r, axis=1))[a].mean()
              for w, r, a in zip(white, real, away)]
    assert max(ratios) < 0.9, ratios


def test_random_resolution_takes_away_detail_finer_than_the_drawn_size():
    import tensorflow as tf

    from mouthgan.data.batches import StepSeeds, random_resolution

    noise = np.random.default_rng(0).uniform(-0.5, 0.5, (16, 128, 128, 1)).astype(np.float32)
    seen = random_resolution(tf.constant(noise), 32, StepSeeds(0, 0)).numpy()

    def detail(x):
        return np.abs(np.diff(x, axis=2)).mean(axis=(1, 2, 3))

    ratios = detail(seen) / detail(noise)
    # 32..128 px: white noise keeps roughly size/128 of its pixel-to-pixel detail
    assert ratios.max() <= 1.0 + 1e-6 and ratios.min() < 0.5, ratios  # 128: unchanged
    assert len(np.unique(np.round(ratios, 2))) > 8  # each face its own size


def test_erase_paints_one_white_rectangle_into_the_input_only(tiny_data):
    from mouthgan.data.batches import FacesInMemory

    train_split = load_dataset(tiny_data).train
    plain = tiny_config(tiny_data, batch_size=16)
    config = replace(plain, erase=20)
    source = FacesInMemory(train_split.real, train_split.white, config)
    real, white = (x.numpy() for x in draw_batch(source, config, 3))
    # the same draw without the lever: the same rows, the targets untouched
    expect_real, expect_white = (x.numpy() for x in draw_batch(source, plain, 3))
    np.testing.assert_array_equal(real, expect_real)
    changed = white != expect_white
    assert np.all(white[changed] == 1.0)
    sizes = []
    for mask in changed[..., 0]:
        rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
        if len(rows):  # a rectangle on pixels that were white already changes nothing;
            # the changed pixels fit in one box of at most 20 x 20
            sizes.append((rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1))
    assert len(sizes) >= 12 and max(max(s) for s in sizes) <= 20
    assert len(set(sizes)) > 3  # sizes vary


def test_mixup_blends_pairs_of_faces_and_whitens_both_holes(tiny_data):
    from mouthgan.data.batches import FacesInMemory

    train_split = load_dataset(tiny_data).train
    plain = tiny_config(tiny_data, batch_size=16, flip=True)
    config = replace(plain, mixup=0.4)
    source = FacesInMemory(train_split.real, train_split.white, config)
    real, white, hole = (x.numpy() for x in draw_batch(source, config, 1))
    # the same draw without the lever: the same rows, unblended
    faces, _ = (x.numpy() for x in draw_batch(FacesInMemory(train_split.real, train_split.white, plain), plain, 1))
    inside = hole > 0.5
    assert np.all(white[inside] == 1.0)
    np.testing.assert_array_equal(white[~inside], real[~inside])
    # face k is lam * face k + (1 - lam) * face k-1 of the plain draw, 0 <= lam <= 1
    partners = np.roll(faces, 1, axis=0)
    lams = []
    for mixed, a, b in zip(real, faces, partners):
        if np.array_equal(a, b):  # the same pair drawn twice: nothing to blend
            np.testing.assert_allclose(mixed, a, atol=1e-6)
            continue
        lam = np.sum((mixed - b) * (a - b)) / np.sum(np.square(a - b))
        np.testing.assert_allclose(lam * a + (1 - lam) * b, mixed, atol=1e-5)
        lams.append(lam)
    assert all(-1e-6 <= lam <= 1 + 1e-6 for lam in lams)
    assert sum(0.05 < lam < 0.95 for lam in lams) >= 3  # blends, not only copies


def test_ema_is_what_gets_evaluated_and_saved(tiny_data, tmp_path):
    import keras

    from mouthgan.training.pix2pix import update_ema

    data = load_dataset(tiny_data)
    result = train(tiny_config(tiny_data, ema=0.5), data, make_run_dir(tmp_path / "r"),
                   verbose=0)
    engine = result["engine"]
    live, average = weights(engine.generator), weights(engine.ema_generator)
    assert any(np.abs(a - b).max() > 1e-6 for a, b in zip(live, average))
    saved = keras.models.load_model(tmp_path / "r" / "generator.keras")
    for a, b in zip(weights(saved), average):
        np.testing.assert_array_equal(a, b)
    # One update: the decay is min(0.5, (1 + step) / (10 + step)) -> 1/10 at step 0.
    before = weights(engine.ema_generator)
    update_ema(engine.ema_generator, engine.generator, 0.5, 0)
    for b, w, after in zip(before, live, weights(engine.ema_generator)):
        np.testing.assert_allclose(after, 0.1 * b + 0.9 * w, rtol=1e-5, atol=1e-6)


# What each preset promises (README), written out here rather than read from PRESETS:
# a change to a preset must change this table too.
PRESET_SETTINGS = {
    "handout": {"loss_weights": [1.0, 1.0], "flip": False, "hole_weight": 1.0,
                "flip_average": False, "generator_filters": [4, 8, 16, 32, 32],
                "steps": 3000, "lr": 2e-4, "ema": 0.0, "jitter": 0.0, "weight_decay": 0.0},
    "strong-baseline": {"loss_weights": [1.0, 100.0], "flip": True, "hole_weight": 10.0,
                        "flip_average": True, "generator_filters": [4, 8, 16, 32, 32],
                        "steps": 3000, "lr": 2e-4, "ema": 0.0, "jitter": 0.0,
                        "weight_decay": 1.0},
    "best": {"loss_weights": [1.0, 100.0], "flip": True, "hole_weight": 10.0,
             "flip_average": True, "generator_filters": [40, 80, 160, 320, 320],
             "steps": 5000, "batch_size": 16, "lr": 4e-4, "ema": 0.999, "jitter": 0.1,
             "time_budget": 30.0, "weight_decay": 0.0, "eval_every": 1000},
    "photo": {"loss_weights": [1.0, 10.0], "flip": True, "hole_weight": 10.0,
              "flip_average": False, "generator_filters": [40, 80, 160, 320, 320],
              "discriminator_filters": [16, 32, 64, 128],
              "steps": 5000, "batch_size": 16, "lr": 4e-4, "ema": 0.999, "jitter": 0.1,
              "time_budget": 30.0, "weight_decay": 0.0, "eval_every": 1000},
}


@pytest.mark.parametrize("preset", ["handout", "strong-baseline", "best", "photo"])
def test_each_preset_builds_and_trains(tiny_data, tmp_path, preset):
    from mouthgan.training.devices import resolve_precision

    expected = PRESET_SETTINGS[preset]
    assert json.loads(to_json(resolve(preset))).items() >= expected.items()
    # every preset keeps the handout's optimizer, and all but photo its discriminator; best
    # and photo take batches of 16, for twice the steps on the same faces
    wide = preset in ("best", "photo")
    assert resolve(preset).batch_size == (16 if wide else 32)
    assert resolve(preset).beta_1 == 0.5
    assert resolve(preset).discriminator_filters == ((16, 32, 64, 128) if preset == "photo"
                                                     else (4, 8, 16, 32))
    # best: what this machine runs fastest, resolved when the run starts and recorded
    assert resolve(preset).precision == ("auto" if wide else "float32")
    precision = resolve_precision(resolve(preset).precision)

    small = dict(data=str(tiny_data), steps=2, batch_size=4, eval_every=2, sample_every=2,
                 checkpoint_every=2, time_budget=0.0)  # the budget has its own test
    config = replace(resolve(preset), **small)
    result = train(config, load_dataset(tiny_data), make_run_dir(tmp_path / preset), verbose=0)
    assert result["steps"] == 2
    saved = json.loads((tmp_path / preset / "config.json").read_text())["config"]
    for name, value in expected.items():  # the run used what the preset says
        if name not in small:
            assert saved[name] == value, name
    assert saved["precision"] == precision
    assert np.isfinite(result["scores"]["validation"]["pasted"]["rmse"])


def test_mixed_float16_trains_with_loss_scaling_and_counts_every_step(tiny_data, tmp_path):
    import keras

    config = tiny_config(tiny_data, precision="mixed_float16", steps=3, checkpoint_every=3)
    result = train(config, load_dataset(tiny_data), make_run_dir(tmp_path / "r"), verbose=0)
    engine = result["engine"]
    assert isinstance(engine.g_optimizer, keras.optimizers.LossScaleOptimizer)
    # The first scaled gradients overflow float16 and G's update is skipped while the
    # scale comes down; the run still takes (and checkpoints) exactly 3 steps.
    assert int(engine.g_optimizer.iterations.numpy()) < 3
    assert result["steps"] == 3 and checkpoint_step(tmp_path / "r") == 3
    assert engine.generator.layers[1].compute_dtype == "float16"


def test_steps_that_fit_the_budget():
    from mouthgan.training.budget import steps_that_fit

    # 10 s a step, a 30 s evaluation every 100 steps: 1000 s hold 99 steps (the 100th
    # brings its evaluation: 1030 s).
    assert steps_that_fit(1000, 10, 30, 100, 2500) == 99
    assert steps_that_fit(10_000, 1, 5, 100, 2500) == 2500  # all fit: as asked
    assert steps_that_fit(5, 10, 0, 100, 2500) == 0


def test_time_budget_stops_at_its_deadline_when_steps_slow_down(tiny_data, tmp_path,
                                                                 monkeypatch):
    import mouthgan.training.budget
    from mouthgan.training.checkpoints import checkpoint_step

    # A probe that plans far more steps than fit, as one on a machine that later slowed
    # down would: the deadline, not the plan, ends the run.
    monkeypatch.setattr(mouthgan.training.budget, "PLANNED_SHARE", 50.0)
    run_dir, result, saved = budgeted_run(tiny_data, tmp_path, steps=1_000_000, minutes=0.2,
                                          eval_every=200, other_every=10_000)
    budget = saved["time_budget"]
    assert budget["stopped_at_deadline"] is True
    done = result["steps"]
    assert 0 < done < 1_000_000 and budget["steps"] == done == saved["config"]["steps"]
    assert done < budget["steps_planned"] <= 1_000_000
    # its minutes: what it trained, at the probe's pace, fits the budget's deadline
    assert done * budget["step_seconds"] <= 0.2 * 60
    # a finished run of the steps it trained: checkpointed there, scored, resumable to
    # nothing more
    assert checkpoint_step(run_dir) == done
    assert (run_dir / "scores.json").is_file()
    again = train(read_config(run_dir), load_dataset(tiny_data), run_dir, resume=True,
                  verbose=0)
    assert again["steps"] == done


def test_time_budget_trains_more_steps_where_they_ran_faster_than_probed(tiny_data, tmp_path,
                                                                         monkeypatch, capsys):
    import itertools

    import mouthgan.training.budget
    from mouthgan.training.checkpoints import checkpoint_step

    # A probe that measured 1 s a step, taken in a VM's slow spell, and a budget clock
    # under the test's control: each reading 0.02 s after the last, so a step of the
    # run (two readings) takes 0.02 s. Whatever the machine's load, the plan leaves
    # nearly all of its 18 s over, and they train the rest of the steps asked.
    ticks = itertools.count()
    monkeypatch.setattr(mouthgan.training.budget, "clock", lambda: 0.02 * next(ticks))
    monkeypatch.setattr(mouthgan.training.budget, "probe", lambda *args: (0.5, 1.0, 0.1))
    run_dir, result, saved = budgeted_run(tiny_data, tmp_path, steps=60, minutes=0.3,
                                          eval_every=200, other_every=10_000)
    budget = saved["time_budget"]
    # 0.9 x 18 s, less the probe's readings, the warm-up and two evaluations, at 1 s a
    # step and an evaluation at the end: 15 steps
    planned, added = budget["steps_planned"], budget["steps_added"]
    assert (planned, added) == (15, 45) and "stopped_at_deadline" not in budget
    # the run is one of the steps it trained, recorded, checkpointed and scored as such
    assert result["steps"] == budget["steps"] == saved["config"]["steps"] == 60
    assert checkpoint_step(run_dir) == 60 and (run_dir / "scores.json").is_file()
    history = (run_dir / "history.csv").read_text().splitlines()
    assert [int(line.split(",")[0]) for line in history[1:]] == list(range(1, 61))
    said = [line for line in capsys.readouterr().out.splitlines() if "Time budget" in line]
    assert said == ["Time budget 0.3 min: a step takes 1.00 s here, so 15 of 60 steps",
                    "Time budget 0.3 min: steps went faster than the probe measured; "
                    "45 more fit, 60 of 60 steps"]


def budgeted_run(tiny_data, tmp_path, steps, minutes, eval_every, other_every, **kw):
    """A tiny run under a ``minutes`` budget: (run folder, result, its config.json)."""
    run_dir = make_run_dir(tmp_path / "run")
    config = tiny_config(tiny_data, steps=steps, eval_every=eval_every,
                         sample_every=other_every, checkpoint_every=other_every,
                         time_budget=minutes, **kw)
    result = train(config, load_dataset(tiny_data), run_dir, verbose=0)
    return run_dir, result, json.loads((run_dir / "config.json").read_text())


def test_narrower_widths_scale_every_level_by_one_factor():
    from mouthgan.training.budget import narrower_widths

    wide = (40, 80, 160, 320, 320)
    # 547 steps fit where 1250 are wanted: the widths x sqrt(547 / 1250) = 0.66
    assert narrower_widths(wide, wide, 547, 1250) == (26, 53, 106, 212, 212)
    # a second try scales the asked widths again, from where the first one landed
    assert narrower_widths(wide, (26, 53, 106, 212, 212), 1000, 1250) == (23, 47, 93, 186, 186)
    # a narrowing by less than a tenth is not worth its probe (1115 of 1250 fit at 0.59x:
    # 0.57x would be next)
    assert narrower_widths(wide, (24, 47, 95, 189, 189), 1115, 1250) is None
    # never narrower than the handout's G; nothing narrower than it is left to try
    assert narrower_widths(wide, wide, 1, 1250) == (4, 8, 16, 32, 32)
    assert narrower_widths((4, 8, 16, 32, 32), (4, 8, 16, 32, 32), 1, 1250) is None


def test_time_budget_narrows_g_and_cuts_the_steps_to_what_fits(tiny_data, tmp_path,
                                                                  monkeypatch, capsys):
    # Twice the handout's widths and far more steps than fit: the budget narrows G (to
    # the handout's, the narrowest it goes), probes again and cuts the steps. The probes
    # say what a machine would measure (2 s a step at the asked widths, 0.5 s at the
    # handout's) and the budget's clock is the test's (0.02 s a reading), so the plan
    # does not hang on how busy the machine is; the run itself trains for real.
    import itertools

    import mouthgan.training.budget

    asked, handout = [8, 16, 32, 64, 64], [4, 8, 16, 32, 32]
    probed = []

    def probe(config, dataset, strategy):
        probed.append(list(config.generator_filters))
        return 0.5, 2.0 if list(config.generator_filters) == asked else 0.5, 0.1

    ticks = itertools.count()
    monkeypatch.setattr(mouthgan.training.budget, "clock", lambda: 0.02 * next(ticks))
    monkeypatch.setattr(mouthgan.training.budget, "probe", probe)
    run_dir, result, saved = budgeted_run(tiny_data, tmp_path, steps=100_000, minutes=0.3,
                                          eval_every=1000, other_every=1000,
                                          generator_filters=tuple(asked), lr_decay="linear")
    budget = saved["time_budget"]
    assert probed == [asked, handout]
    assert [(p["generator_filters"], p["step_seconds"]) for p in budget["probes"]] == [
        (asked, 2.0), (handout, 0.5)]
    # 0.9 x 18 s, less the probes' readings, the warm-up and two evaluations: 7 steps at
    # 2 s, 30 at 0.5 s
    assert [p["steps"] for p in budget["probes"]] == [7, 30]
    assert budget["steps_asked"] == 100_000 and budget["step_seconds"] == 0.5
    assert budget["steps"] == 30 and "steps_added" not in budget
    said = [line for line in capsys.readouterr().out.splitlines() if "Time budget" in line]
    assert said[0] == ("Time budget 0.3 min: G 8-16-32-64-64 would train 7 of 100000 steps "
                       "here (2.00 s a step); G 4-8-16-32-32 instead: a step takes 0.50 s, "
                       "so 30 of 100000 steps")
    assert len(said) == 1  # a learning rate that decays to the planned step: no more steps
    # An ordinary run of the widths and steps that fit: trained, recorded, saved and
    # resumable as such.
    assert saved["config"]["generator_filters"] == [4, 8, 16, 32, 32]
    assert result["engine"].generator.get_layer("enc5_conv").filters == 32
    assert result["steps"] == budget["steps"] == saved["config"]["steps"]
    assert 30 * budget["step_seconds"] <= 0.3 * 60
    # a resumed run keeps its widths, its steps and the record of what was measured
    result = train(read_config(run_dir), load_dataset(tiny_data), run_dir, resume=True,
                   verbose=0)
    assert result["steps"] == budget["steps"]
    assert result["engine"].generator.get_layer("enc5_conv").filters == 32
    assert json.loads((run_dir / "config.json").read_text())["time_budget"] == budget


def test_restore_takes_the_newest_run_of_the_photo_recipe_first(tmp_path):
    from mouthgan.inference.bundled import default_model

    runs = tmp_path / "runs"
    assert default_model("photo", runs)[0] == "bundled:photo"  # no run: what ships
    assert default_model("kaggle", runs)[0] == "bundled:default"
    make_run_dir(runs / "a", preset="photo")
    make_run_dir(runs / "b", preset="strong-baseline")
    assert (runs / "latest").resolve() == (runs / "b").resolve()
    assert (runs / "latest-strong-baseline").resolve() == (runs / "b").resolve()
    model, note = default_model("photo", runs)
    assert Path(model).resolve() == (runs / "a").resolve() and "photo" in note
    assert Path(default_model("kaggle", runs)[0]).resolve() == (runs / "b").resolve()
    (runs / "latest-photo").unlink()
    model, note = default_model("photo", runs)
    assert Path(model).resolve() == (runs / "b").resolve() and "no run of --preset photo" in note


def test_a_damaged_history_keeps_its_readable_rows_of_the_checkpoints_steps(tmp_path, capsys):
    from mouthgan.training.callbacks import truncate_history
    from mouthgan.evaluation.plots import HISTORY_COLUMNS

    header = ",".join(HISTORY_COLUMNS)
    row = lambda step: f"{step},0.5,0.75,2.0,0.3,0.02,NA,NA"  # noqa: E731
    path = tmp_path / "history.csv"
    path.write_text("\n".join([header, row(1), row(2), "garbage", row(2), row(3),
                               "4,0.5,0.7", row(5), row(6)]) + "\n")
    truncate_history(path, 5)
    assert path.read_text().splitlines() == [header, row(1), row(2), row(3), row(5)]
    said = capsys.readouterr().out
    assert f"{path}: damaged (3 unreadable rows); kept the 4 readable rows of steps 1-5" in said
    # an intact file is cut without a word
    truncate_history(path, 3)
    assert path.read_text().splitlines() == [header, row(1), row(2), row(3)]
    assert capsys.readouterr().out == ""


def test_a_run_resumes_over_a_history_that_is_not_csv(tiny_data, tmp_path):
    run_dir = make_run_dir(tmp_path / "run")
    config = tiny_config(tiny_data, steps=4, checkpoint_every=2)
    train(config, load_dataset(tiny_data), run_dir, verbose=0)
    (run_dir / "history.csv").write_text("garbage")
    result = train(replace(read_config(run_dir), steps=6), load_dataset(tiny_data), run_dir,
                   resume=True, verbose=0)
    assert result["steps"] == 6
    steps = [line.split(",")[0] for line in (run_dir / "history.csv").read_text().splitlines()]
    assert steps == ["epoch", "5", "6"] and (run_dir / "loss.png").is_file()


def test_fine_tuning_starts_from_the_trained_run_s_weights(tiny_data, tmp_path):
    from mouthgan.training.trainer import start_from

    data = load_dataset(tiny_data)
    run_dir = make_run_dir(tmp_path / "trained")
    train(tiny_config(tiny_data, ema=0.9), data, run_dir, verbose=0)
    engine = make_engine(tiny_config(tiny_data, ema=0.9, seed=5), data)
    fresh = weights(engine.generator)
    start_from(engine, run_dir)
    import keras

    saved_g = keras.models.load_model(run_dir / "generator.keras", compile=False)
    saved_d = keras.models.load_model(run_dir / "discriminator.keras", compile=False)
    for model, saved in ((engine.generator, saved_g), (engine.ema_generator, saved_g),
                         (engine.discriminator, saved_d)):
        assert all(np.array_equal(a, b) for a, b in zip(weights(model), weights(saved)))
    assert any(not np.array_equal(a, b) for a, b in zip(fresh, weights(engine.generator)))
