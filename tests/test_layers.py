"""The speed layers (``mouthgan.models.layers``), each against the Keras layers it replaces:
the same weights give the same results to float rounding."""

import keras
import numpy as np
import pytest

from mouthgan.models.layers import UpSampleConv2D
from mouthgan.models.networks import build_discriminator, build_generator


@pytest.mark.parametrize("kernel", [3, 4, 5])
def test_upsample_conv_equals_upsampling_then_conv(kernel):
    import keras

    x = np.random.default_rng(kernel).normal(size=(2, 6, 5, 3)).astype("float32")
    fused = UpSampleConv2D(2, kernel, activation="tanh")
    fused.build(x.shape)
    fused.bias.assign(np.array([0.3, -0.2], "float32"))
    literal = keras.layers.Conv2D(2, kernel, padding="same", activation="tanh")
    literal.build((None, 12, 10, 3))
    literal.set_weights(fused.get_weights())
    expected = literal(keras.layers.UpSampling2D(2)(x))
    assert fused(x).shape == (2, 12, 10, 2)
    np.testing.assert_allclose(fused(x), expected, atol=1e-5)


def test_fast_generator_computes_the_handouts_generator(tmp_path):
    import keras

    literal, fast = build_generator(literal_upsampling=True), build_generator()
    assert fast.count_params() == literal.count_params()
    fast.set_weights(literal.get_weights())  # same weights, same order
    white = np.random.default_rng(0).uniform(-1, 1, (3, 128, 128, 1)).astype("float32")
    for training in (False, True):
        np.testing.assert_allclose(fast(white, training=training),
                                   literal(white, training=training), atol=1e-4)
    fast.save(tmp_path / "g.keras")  # the custom layer saves and loads by name
    loaded = keras.models.load_model(tmp_path / "g.keras")
    np.testing.assert_allclose(loaded(white), fast(white), atol=1e-6)


@pytest.mark.parametrize("training,trainable", [(True, True), (False, True), (True, False)])
def test_fused_batch_norm_is_keras_batch_norm(training, trainable):
    """Same outputs, gradients and moving statistics as Keras's layer, in training mode,
    inference mode, and frozen (which Keras 3 runs in inference mode)."""
    import keras
    import tensorflow as tf

    from mouthgan.models.layers import FusedBatchNormalization
    from mouthgan.models.networks import BN_MOMENTUM

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(2.0, 3.0, (8, 6, 5, 4)).astype("float32"))
    upstream = tf.constant(rng.normal(size=(8, 6, 5, 4)).astype("float32"))
    start = [rng.uniform(0.5, 2, 4).astype("float32") for _ in range(4)]
    results = []
    for layer in (FusedBatchNormalization(momentum=BN_MOMENTUM),
                  keras.layers.BatchNormalization(momentum=BN_MOMENTUM)):
        layer.build(x.shape)
        layer.set_weights(start)
        layer.trainable = trainable
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
            loss = tf.reduce_sum(y * upstream)
        grads = tape.gradient(loss, [x] + layer.trainable_weights)
        results.append([y, *grads, layer.moving_mean, layer.moving_variance])
    ours, theirs = results
    assert len(ours) == len(theirs) == (6 if trainable else 4)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4)
    # the statistics move in a training step only
    moved = not np.allclose(np.asarray(ours[-2]), start[2])
    assert moved == (training and trainable)


def test_interleave_phases_is_depth_to_space():
    import tensorflow as tf

    from mouthgan.models.layers import interleave_phases

    y = np.random.default_rng(1).normal(size=(2, 3, 5, 4 * 3)).astype("float32")
    np.testing.assert_array_equal(interleave_phases(tf.constant(y), 3),
                                  tf.nn.depth_to_space(y, 2))


def test_concat_conv_equals_concatenate_then_conv(tmp_path):
    import tensorflow as tf

    from mouthgan.models.layers import ConcatConv2D

    rng = np.random.default_rng(2)
    image, white = (tf.constant(rng.normal(size=(2, 16, 12, c)).astype("float32"))
                    for c in (1, 2))
    fused = ConcatConv2D(3, 4, strides=2)
    literal = keras.layers.Conv2D(3, 4, strides=2, padding="same")
    fused.build([image.shape, white.shape])
    literal.build((None, 16, 12, 3))
    fused.bias.assign(np.array([0.1, -0.2, 0.3], "float32"))
    literal.set_weights(fused.get_weights())
    upstream = tf.constant(rng.normal(size=(2, 8, 6, 3)).astype("float32"))
    results = []
    for run in (lambda: fused([image, white]),
                lambda: literal(keras.layers.Concatenate()([image, white]))):
        with tf.GradientTape() as tape:
            tape.watch(image)
            y = run()
            loss = tf.reduce_sum(y * upstream)
        layer = fused if not results else literal
        results.append([y, *tape.gradient(loss, [image, layer.kernel, layer.bias])])
    assert results[0][0].shape == (2, 8, 6, 3)
    for a, b in zip(*results):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
    discriminator = build_discriminator(image_size=32)
    discriminator.save(tmp_path / "d.keras")
    loaded = keras.models.load_model(tmp_path / "d.keras")
    pair = [np.zeros((1, 32, 32, 1), "float32")] * 2
    np.testing.assert_allclose(loaded(pair), discriminator(pair), atol=1e-6)  # by name
