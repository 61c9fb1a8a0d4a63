"""Grain: a restored hole gets the fine detail of the skin around it, nothing else."""

import numpy as np

from mouthgan.evaluation.metrics import texture_ratio
from mouthgan.inference.photos.grain import add_grain


def skin_with_a_smooth_hole(noise=6.0, seed=0):
    """A 200x200 shaded 'skin' with grain of its own, and a smooth patch where a hole
    was restored from a smaller face."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[:200, :200]
    shading = 120 + 0.2 * xs + 0.1 * ys
    image = shading + rng.normal(0, noise, (200, 200))
    hole = np.zeros((200, 200), bool)
    hole[80:130, 60:150] = True
    image[hole] = shading[hole]  # as smooth as an enlarged restoration
    return image.astype(np.float32), hole


def test_grain_gives_the_hole_the_skin_s_fine_detail_and_nothing_outside():
    image, hole = skin_with_a_smooth_hole()
    assert texture_ratio(image, hole) < 0.1
    grained = add_grain(image, hole)
    assert 0.8 < texture_ratio(grained, hole) < 1.25
    assert np.array_equal(grained[~hole], image[~hole])
    # noise, not a shift: the hole's mean brightness stays
    assert abs(float(grained[hole].mean() - image[hole].mean())) < 0.5
    # the same photo gets the same grain
    assert np.array_equal(add_grain(image, hole), grained)


def test_grain_adds_nothing_where_the_skin_is_smooth_or_the_hole_already_has_detail():
    smooth, hole = skin_with_a_smooth_hole(noise=0.0)
    assert np.array_equal(add_grain(smooth, hole), smooth)
    rng = np.random.default_rng(1)
    detailed = smooth + rng.normal(0, 6.0, smooth.shape).astype(np.float32)
    before = texture_ratio(detailed, hole)
    # (full grain on top would give ~1.4x)
    assert abs(texture_ratio(add_grain(detailed, hole), hole) / before - 1) < 0.1


def test_grain_measures_only_the_skin_it_is_told_of():
    image, hole = skin_with_a_smooth_hole()
    # a ring that is all paint (excluded from the skin): nothing to measure, no grain
    no_skin = np.zeros_like(hole)
    assert np.array_equal(add_grain(image, hole, skin=no_skin), image)
