"""The handout's networks, exactly, and the Keras 3 freeze pitfall."""

import keras
import numpy as np
import pytest

from mouthgan.models import (UpSampleConv2D, build_adversarial, build_discriminator,
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

    from mouthgan.models import BN_MOMENTUM, FusedBatchNormalization

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

    from mouthgan.models import interleave_phases

    y = np.random.default_rng(1).normal(size=(2, 3, 5, 4 * 3)).astype("float32")
    np.testing.assert_array_equal(interleave_phases(tf.constant(y), 3),
                                  tf.nn.depth_to_space(y, 2))


def test_concat_conv_equals_concatenate_then_conv(tmp_path):
    import tensorflow as tf

    from mouthgan.models import ConcatConv2D

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
