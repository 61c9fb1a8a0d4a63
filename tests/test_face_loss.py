"""The face network's losses: MTCNN's O-Net sees the training frame's face, its losses
are zero for the real face and pull G only."""

import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("mtcnn")

from mouthgan.config import TrainConfig  # noqa: E402
from mouthgan.data.faces import HOLE_BOX, load_dataset  # noqa: E402
from mouthgan.training.engine_factory import make_engine  # noqa: E402
from mouthgan.training.face_loss import FACE_CROP, FaceNetwork, face_loss  # noqa: E402


@pytest.fixture(scope="module")
def network():
    return FaceNetwork()


def model_range(faces):
    return tf.constant(faces[..., None] / 127.5 - 1.0, tf.float32)


def test_onet_finds_the_frame_s_face_and_its_mouth_in_the_hole(real_data, network):
    data = load_dataset(real_data)
    real = model_range(data.train.real[:8])
    top, bottom, left, right = FACE_CROP
    crops = tf.image.resize(real[:, top:bottom, left:right], (48, 48), method="area")
    assert (network.onet(tf.tile(crops, [1, 1, 1, 3]))[2].numpy()[:, 1] > 0.9).all()
    _, points = network(real)
    side = bottom - top
    xs, ys = left + side * points.numpy()[:, 3:5], top + side * points.numpy()[:, 8:10]
    hole_top, hole_bottom, hole_left, hole_right = HOLE_BOX
    assert ((ys > hole_top) & (ys < hole_bottom)).all(), ys
    assert ((xs > hole_left) & (xs < hole_right)).all(), xs


def test_face_losses_are_zero_for_the_real_face_and_reach_only_the_fake(real_data, network):
    data = load_dataset(real_data)
    real, white = model_range(data.train.real[:4]), model_range(data.train.white[:4])
    assert float(face_loss(network, real, real, 1.0, 1.0)) == 0.0
    assert float(face_loss(network, real, white, 1.0, 0.0)) > 0.01
    assert float(face_loss(network, real, white, 0.0, 1.0)) > 1.0  # px^2
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, white])
        loss = face_loss(network, real, white, 1.0, 0.01)
    assert tape.gradient(loss, real) is None
    assert float(tf.reduce_max(tf.abs(tape.gradient(loss, white)))) > 0


def test_g_learns_through_the_frozen_face_network(tiny_data):
    config = TrainConfig(data=str(tiny_data), steps=2, batch_size=4, face_features=1.0,
                         face_landmarks=0.01).validate()
    engine = make_engine(config, load_dataset(tiny_data).train)
    onet = [w.numpy().copy() for w in engine.face_network.onet.weights]
    generator = [w.numpy().copy() for w in engine.generator.weights]
    logs = engine.update(*engine.sample_batch())
    assert float(logs["g_face"]) > 0 and np.isfinite(float(logs["g_loss"]))
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(onet, engine.face_network.onet.weights))
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(generator, engine.generator.weights))
