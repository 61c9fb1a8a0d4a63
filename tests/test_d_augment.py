"""The limited-data levers: DiffAugment's transforms of what D sees, ADA's probability,
LeCam's regulariser."""

from dataclasses import replace

import numpy as np
import pytest
import tensorflow as tf

from mouthgan import MouthganError
from mouthgan.config import TrainConfig
from mouthgan.data.faces import load_dataset
from mouthgan.training.d_augment import ADA_STEP, Draw, step_seed, translate
from mouthgan.training.engine_factory import make_engine
from mouthgan.training.losses import lecam_penalty

ALL = ("translation", "cutout", "color")


def faces(batch=6, size=128, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, 1)),
                       tf.float32)


def draw(batch=6, transforms=ALL, probability=1.0, step=0):
    return Draw(batch, 128, transforms, probability, step_seed(TrainConfig(), step))


def test_translation_moves_whole_pixels_and_lets_zeros_in():
    image = faces(batch=2, size=8)
    moved = translate(image, tf.constant([[2, -3], [0, 0]])).numpy()
    assert np.array_equal(moved[0, 2:, :5], image.numpy()[0, :6, 3:])
    assert not moved[0, :2].any() and not moved[0, :, 5:].any()
    assert np.array_equal(moved[1], image.numpy()[1])  # no shift: the same image


def test_one_draw_transforms_every_pair_alike_and_lets_the_gradient_through():
    real = faces()
    transform = draw()
    # the same draw, the same transform: real pairs and fakes see one augmentation
    assert np.array_equal(transform(real).numpy(), transform(real).numpy())
    assert not np.allclose(transform(real).numpy(), real.numpy())
    # G learns through it: the gradient reaches every pixel that is still seen, and
    # none that was moved out of the frame or cut out (recolouring by the image's mean
    # would reach them all)
    moved = draw(transforms=("translation", "cutout"))
    with tf.GradientTape() as tape:
        tape.watch(real)
        total = tf.reduce_sum(tf.square(moved(real)))
    gradient = tape.gradient(total, real).numpy()
    assert (gradient != 0).mean() > 0.3
    assert (gradient == 0).mean() > 0.05
    # a mask moves and is cut out with the faces, but keeps its values
    mask = tf.ones_like(real)
    assert set(np.unique(transform(mask, geometry_only=True).numpy())) <= {0.0, 1.0}


def test_probability_sets_the_share_of_pairs_transformed():
    real = faces(batch=400, size=128)
    assert np.array_equal(draw(400, probability=0.0)(real).numpy(), real.numpy())
    changed = np.abs(draw(400, ("color",), 0.3)(real).numpy() - real.numpy()).max(axis=(1, 2, 3))
    assert 0.22 < (changed > 1e-6).mean() < 0.38


def test_draws_come_from_the_seed_and_the_step_only():
    real = faces()
    again = draw(step=5)(real).numpy()
    assert np.array_equal(draw(step=5)(real).numpy(), again)
    assert not np.array_equal(draw(step=6)(real).numpy(), again)
    other_seed = Draw(6, 128, ALL, 1.0, step_seed(TrainConfig(seed=1), 5))
    assert not np.array_equal(other_seed(real).numpy(), again)


def test_lecam_penalty_pulls_verdicts_toward_the_other_side_s_average():
    scores = tf.constant(np.full((2, 8, 8, 1), 0.7), tf.float32)
    assert float(lecam_penalty(scores, tf.constant(0.7))) == pytest.approx(0.0)
    assert float(lecam_penalty(scores, tf.constant(0.2))) == pytest.approx(0.25)
    anchor = tf.Variable(0.2)
    with tf.GradientTape() as tape:
        penalty = lecam_penalty(scores, anchor)
    assert tape.gradient(penalty, anchor) is None  # the average is a fixed target


def tiny_engine(tiny_data, **levers):
    config = TrainConfig(data=str(tiny_data), steps=4, batch_size=4, **levers).validate()
    return make_engine(config, load_dataset(tiny_data).train)


def test_ada_probability_rises_while_d_is_sure_of_the_real_faces(tiny_data):
    engine = tiny_engine(tiny_data, ada_target=0.6)
    assert engine.d_transforms == ALL  # ADA alone: all three transforms
    for _ in range(3):  # D right on every real patch: mean sign 1 > 0.6
        engine._after_d_updates(tf.constant(1.0), 0.0, 0.0)
    assert float(engine.ada_probability.numpy()) == pytest.approx(3 * ADA_STEP)
    for _ in range(5):  # D at chance: sign 0 < 0.6, down to 0 and no further
        engine._after_d_updates(tf.constant(0.5), 0.0, 0.0)
    assert float(engine.ada_probability.numpy()) == 0.0
    engine.run(2, [])
    assert len(engine.history.history["ada_p"]) == 2  # logged every step (history.csv)


def test_lecam_averages_follow_d_s_verdicts_and_d_trains_with_every_lever(tiny_data):
    engine = tiny_engine(tiny_data, lecam=0.3, diffaugment=ALL, ada_target=0.6,
                         feature_matching=1.0, d_sees="pasted")
    engine._after_d_updates(tf.constant(0.5), tf.constant(0.9), tf.constant(0.1))
    np.testing.assert_allclose(engine.lecam_averages.numpy(), [0.009, 0.001], rtol=1e-5)
    before = [w.numpy().copy() for w in engine.discriminator.weights]
    logs = engine.update(*engine.sample_batch())
    assert np.isfinite(float(logs["loss"]))
    assert any(not np.array_equal(a, b.numpy())
               for a, b in zip(before, engine.discriminator.weights))
    assert not np.allclose(engine.lecam_averages.numpy(), [0.009, 0.001])


@pytest.mark.parametrize("levers,message", [
    ({"diffaugment": ("color", "color")}, "--diffaugment names a transform twice"),
    ({"ada_target": 1.0}, "--ada-target must be in [0, 1)"),
    ({"lecam": -1.0}, "--lecam must be >= 0"),
    ({"engine": "handout", "diffaugment": ("color",)}, "only the fused engine supports --diffaugment"),
    ({"engine": "handout", "lecam": 0.1}, "only the fused engine supports --lecam"),
])
def test_bad_lever_settings_are_refused(levers, message):
    with pytest.raises(MouthganError, match=message.replace("[", r"\[").replace(")", r"\)")):
        replace(TrainConfig(), **levers).validate()
