"""The realism measures: the Fréchet distance's arithmetic, and dlib's networks on real
faces ranking restorations as a person would (no training needed)."""

import numpy as np
import pytest

from mouthgan.data.faces import HOLE_BOX, load_dataset
from mouthgan.evaluation.realism import (FaceReadings, RealismJudge, frechet_distance,
                                         identity_distance, mouth_landmark_distance)

# Tests that train, or start Python and TensorFlow in a subprocess: the full tier.
pytestmark = pytest.mark.slow


def test_frechet_distance_of_a_set_to_itself_is_zero_and_a_shift_costs_its_square():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 16)) @ rng.normal(size=(16, 16))
    assert abs(frechet_distance(a, a)) < 1e-8
    # the same spread moved by mu: only the means differ, by |mu|^2
    mu = rng.normal(size=16)
    assert frechet_distance(a, a + mu) == pytest.approx(np.sum(mu ** 2), rel=1e-9)


def test_frechet_distance_matches_the_closed_form_of_two_gaussians():
    # Diagonal covariances: tr(S_a + S_b - 2 (S_a S_b)^(1/2)) = sum (sa - sb)^2
    # (standard deviations), as the sample covariances give it.
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5000, 6)) * [1, 2, 3, 1, 1, 1]
    b = rng.normal(size=(5000, 6)) * [2, 2, 1, 1, 1, 4] + 1.0
    sa, sb = np.sqrt(np.diag(np.cov(a, rowvar=False))), np.sqrt(np.diag(np.cov(b, rowvar=False)))
    gap = np.sum((a.mean(0) - b.mean(0)) ** 2)
    # the off-diagonal sample covariance is small but not zero: a loose bound
    assert frechet_distance(a, b) == pytest.approx(gap + np.sum((sa - sb) ** 2), rel=0.02)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_identity_and_landmark_distances_average_over_faces():
    real = FaceReadings(np.zeros((2, 128)), np.zeros((2, 68, 2)))
    embeddings = np.zeros((2, 128))
    embeddings[0, 0], embeddings[1, :2] = 0.3, (0.3, 0.4)  # distances 0.3 and 0.5
    landmarks = np.zeros((2, 68, 2))
    landmarks[:, :48] = 100.0  # eyes, nose, jaw: not the mouth, not counted
    landmarks[0, 48:, 0] = 3.0  # every mouth point 3 px off, then 1 px off
    landmarks[1, 48:, 1] = 1.0
    restored = FaceReadings(embeddings, landmarks)
    assert identity_distance(restored, real) == pytest.approx(0.4)
    assert mouth_landmark_distance(restored, real) == pytest.approx(2.0)


@pytest.fixture(scope="module")
def judge(real_data):
    pytest.importorskip("dlib")
    # The real faces as their own reference: 24 faces are too few for the Fréchet
    # distance to another set to rank small changes, but against themselves it is 0.
    faces = load_dataset(real_data, notes=lambda _: None).validation.real[:24]
    return RealismJudge(faces, faces)


@pytest.mark.network
def test_the_real_faces_score_zero_and_a_blurred_mouth_ranks_behind_a_sharp_one(judge):
    import cv2

    real = judge.real_faces
    same = judge(real)
    assert same["rmse"] == 0 and same["identity"] == 0 and same["mouth_lmd"] == 0
    assert abs(same["ffd"]) < 1e-6
    top, bottom, left, right = HOLE_BOX
    scores = []
    for sigma in (1, 4):
        blurred = real.copy()
        blurred[:, top:bottom, left:right] = np.stack(
            [cv2.GaussianBlur(f, (0, 0), sigma) for f in real])[:, top:bottom, left:right]
        scores.append(judge(blurred))
    sharp, blurry = scores
    assert 0 < sharp["identity"] < blurry["identity"]
    assert 0 < sharp["mouth_lmd"] < blurry["mouth_lmd"]
    assert 1e-6 < sharp["ffd"] < blurry["ffd"]
    # the white box is no face's mouth at all
    white = real.copy()
    white[:, top:bottom, left:right] = 255
    painted = judge(white)
    assert painted["identity"] > blurry["identity"] and painted["ffd"] > blurry["ffd"]


@pytest.mark.network
def test_the_judge_refuses_restorations_of_other_faces(judge):
    with pytest.raises(ValueError, match="uint8"):
        judge(judge.real_faces[:3])
    with pytest.raises(ValueError, match="uint8"):
        judge(judge.real_faces / 255.0)


@pytest.mark.network
def test_scores_are_kept_by_content_and_read_back(judge, tmp_path, monkeypatch):
    faces = judge.real_faces
    cached = RealismJudge(faces, faces, networks=judge.networks, cache_dir=tmp_path)
    blurred = faces.copy()
    blurred[:, 90:100, 50:70] //= 2
    scores = cached(blurred)
    assert len(list(tmp_path.glob("realism-scores-*.json"))) == 1
    assert not list(tmp_path.glob("*.partial*"))

    def no_reading(*args):
        raise AssertionError("read again")

    monkeypatch.setattr(judge.networks, "read", no_reading)
    again = RealismJudge(faces, faces, networks=judge.networks, cache_dir=tmp_path)
    assert again(blurred) == scores  # the reference and the scores, from the cache
    blurred[0, 95, 60] += 1  # other faces: scored anew
    with pytest.raises(AssertionError, match="read again"):
        again(blurred)
