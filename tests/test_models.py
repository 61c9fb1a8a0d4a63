"""The handout's networks, exactly, and the Keras 3 freeze pitfall."""

import keras
import numpy as np
import pytest

from mouthgan.models.layers import UpSampleConv2D
from mouthgan.models.networks import (build_adversarial, build_discriminator,
                                      build_generator, compile_discriminator)


def test_parameter_counts_match_keras_and_the_handout():
    generator, discriminator = build_generator(), build_discriminator()
    assert generator.count_params() == 65_961
    assert discriminator.count_params() == 11_677
    assert generator.count_params() + discriminator.count_params() == 77_638
    # The handout's 77,766 is a 3-channel generator input.
    rgb_in = build_generator(in_channels=3)
    assert rgb_in.count_params() + discriminator.count_params() == 77_766


def test_layer_settings_are_the_handouts():
    generator = build_generator(literal_upsampling=True)
    convs = [l for l in generator.layers if l.__class__.__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [4, 8, 16, 32, 32, 32, 16, 8, 4, 1]
    assert [c.strides for c in convs] == [(2, 2)] * 5 + [(1, 1)] * 5
    assert all(c.kernel_size == (4, 4) and c.padding == "same" for c in convs)
    assert sum(l.__class__.__name__ == "UpSampling2D" for l in generator.layers) == 5
    assert sum(isinstance(l, keras.layers.BatchNormalization) for l in generator.layers) == 8
    # The default builds each "UpSampling2D + Conv2D" pair as one UpSampleConv2D.
    fast = build_generator()
    upconvs = [l for l in fast.layers if isinstance(l, UpSampleConv2D)]
    assert [l.filters for l in upconvs] == [32, 16, 8, 4, 1]
    assert [l.kernel.shape[:2] for l in upconvs] == [(4, 4)] * 5
    d_convs = [l for l in build_discriminator().layers if hasattr(l, "filters")]
    assert [c.strides for c in d_convs] == [(2, 2)] * 4 + [(1, 1)]
    assert [c.filters for c in d_convs] == [4, 8, 16, 32, 1]


def test_output_shapes_and_range():
    generator, discriminator = build_generator(), build_discriminator()
    white = np.random.default_rng(0).uniform(-1, 1, (2, 128, 128, 1)).astype("float32")
    fake = generator.predict(white, verbose=0)
    assert fake.shape == (2, 128, 128, 1)
    assert fake.min() >= -1 and fake.max() <= 1
    assert discriminator.predict([fake, white], verbose=0).shape == (2, 8, 8, 1)


def test_a_larger_unet_is_the_same_builder():
    generator = build_generator(filters=(16, 32, 64, 128, 128, 128))
    assert generator.output_shape == (None, 128, 128, 1)
    with pytest.raises(ValueError):
        build_generator(filters=(4,) * 8)  # 128 is not divisible by 2**8


def test_global_context_lets_every_restored_pixel_see_the_whole_face():
    import tensorflow as tf

    def reach(generator):
        """Which input pixels the restored centre pixel depends on."""
        white = tf.Variable(np.random.default_rng(0).uniform(-1, 1, (1, 256, 256, 1)),
                            dtype="float32")
        with tf.GradientTape() as tape:
            centre = generator(white, training=False)[0, 128, 128, 0]
        return np.abs(tape.gradient(centre, white).numpy()[0, ..., 0]) > 0

    keras.utils.set_random_seed(0)
    plain = build_generator(image_size=256)
    keras.utils.set_random_seed(0)
    context = build_generator(image_size=256, global_context=4)
    assert context.get_layer("context_dense").output.shape == (None, 8 * 8 * 4)
    # a convolutional U-Net's centre pixel reads a window; with the context layer, all
    assert not reach(plain)[0, 0] and reach(plain).mean() < 0.9
    assert reach(context).all()
    assert context.count_params() - plain.count_params() == (
        (8 * 8 * 32 + 1) * 8 * 8 * 4  # the dense layer
        + 4 * 4 * 4 * 32)  # dec1 reads 4 more channels


def test_mixed_bfloat16_generator_computes_in_bfloat16_but_its_output_layer():
    fp32 = build_generator(filters=(8, 16, 32, 64, 64))
    bf16 = build_generator(filters=(8, 16, 32, 64, 64), precision="mixed_bfloat16")
    assert keras.config.dtype_policy().name == "float32"  # the builder restored it
    assert all(w.dtype == "float32" for w in bf16.weights)  # weights stay float32
    assert {l.compute_dtype for l in bf16.layers[1:-1]} == {"bfloat16"}
    assert bf16.layers[-1].compute_dtype == "float32" and bf16.output.dtype == "float32"
    bf16.set_weights(fp32.get_weights())
    white = np.random.default_rng(0).uniform(-1, 1, (2, 128, 128, 1)).astype("float32")
    a = np.asarray(fp32(white, training=False))
    b = np.asarray(bf16(white, training=False))
    assert b.dtype == np.float32
    # the same network to bfloat16's ~3 significant digits, and not bit-equal
    np.testing.assert_allclose(a, b, atol=0.02)
    assert np.abs(a - b).max() > 1e-5


def _weights(model):
    return [w.numpy().copy() for w in model.weights]


def _changed(before, model):
    return any(not np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights))


@pytest.mark.slow
def test_handout_compile_order_with_the_trainable_toggle():
    """D learns in its own step and stays fixed in AM's, which moves G."""
    generator, discriminator = build_generator(), build_discriminator()
    compile_discriminator(discriminator)
    am = build_adversarial(generator, discriminator)  # freezes D, as the handout does
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (4, 128, 128, 1)).astype("float32")
    white = real.copy()
    white[:, 84:112, 44:84] = 1.0
    ones = np.ones((4, 8, 8, 1), "float32")

    discriminator.trainable = True
    d_before = _weights(discriminator)
    discriminator.train_on_batch([real, white], ones)
    assert _changed(d_before, discriminator)

    discriminator.trainable = False
    d_before, g_before = _weights(discriminator), _weights(generator)
    am.train_on_batch([real, white], [ones, real])
    assert not _changed(d_before, discriminator)
    assert _changed(g_before, generator)


def test_without_the_toggle_keras3_never_trains_d():
    """Why the toggle exists: the handout's order alone leaves D with nothing to train."""
    generator, discriminator = build_generator(), build_discriminator()
    compile_discriminator(discriminator)
    build_adversarial(generator, discriminator)
    assert discriminator.trainable_weights == []
