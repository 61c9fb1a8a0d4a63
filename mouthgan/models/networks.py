"""The handout's networks: a small U-Net generator, a Patch-GAN discriminator, and "AM".

Small named builders with the tensor shape after each layer, in the manner of the
TensorFlow pix2pix tutorial. The defaults are exactly the handout's layers
(its sections 2-4, ``docs/model.md``); a larger network is the same builder with
other numbers. The speed layers they use are in ``mouthgan.models.layers``.

Parameter counts as Keras reports them, 1-channel input: G 65,961 + D 11,677 = 77,638.
The handout's 77,766 is what a 3-channel generator input gives (``in_channels=3``):
its first convolution has 3x4x4x4 instead of 1x4x4x4 weights, +128.
"""

import contextlib

import keras
from keras import layers

from mouthgan.data.faces import IMAGE_SIZE
from mouthgan.models.layers import ConcatConv2D, FusedBatchNormalization, UpSampleConv2D

# The handout's widths. Each encoder step halves the image: 128 -> 64 -> 32 -> 16 -> 8 -> 4.
GENERATOR_FILTERS = (4, 8, 16, 32, 32)
DISCRIMINATOR_FILTERS = (4, 8, 16, 32)
KERNEL = 4  # 4x4 everywhere, as in pix2pix
# The handout's layer list is Keras-GAN's pix2pix, whose BatchNormalization uses
# momentum 0.8: the moving statistics follow the fast-changing GAN weights within a few
# steps, which matters because D and G are evaluated with them (see training/pix2pix.py).
BN_MOMENTUM = 0.8
LEAKY_SLOPE = 0.2  # "LeakyReLU over ReLU" in the encoder and D, as the handout recommends


def normalization(kind, name, synchronized=False):
    """'batch' (the handout's), 'instance' (pix2pix's test-time trick), or None.
    ``synchronized``: batch statistics over all replicas of a ``tf.distribute``
    strategy, so that N replicas x B/N normalise as 1 device x B does."""
    if kind == "batch":
        return FusedBatchNormalization(momentum=BN_MOMENTUM, synchronized=synchronized,
                                       name=name)
    if kind == "instance":
        # GroupNormalization with one group per channel is instance normalisation.
        return layers.GroupNormalization(groups=-1, name=name)
    if kind in (None, "none"):
        return None
    raise ValueError(f"unknown normalization {kind!r}: use 'batch', 'instance' or 'none'")


@keras.saving.register_keras_serializable(package="mouthgan")
class SpectralNorm(keras.constraints.Constraint):
    """Divides a kernel by its spectral norm (the largest singular value of the kernel
    as a (k*k*in, out) matrix, as SNGAN takes it) after every update, so each layer is
    1-Lipschitz and D cannot win by growing its weights.

    Why a constraint and not ``keras.layers.SpectralNormalization``: that wrapper needs a
    layer of one input (D's first layer, ``ConcatConv2D``, takes two) and assigns the
    kernel inside the forward pass, once per replica under a strategy; the optimizer
    applies a constraint once per update, on every replica alike. An exact SVD instead
    of a power iteration: D's kernels are at most 2048 x 128.
    """

    def __call__(self, kernel):
        matrix = keras.ops.reshape(kernel, (-1, kernel.shape[-1]))
        sigma = keras.ops.svd(matrix, compute_uv=False)[..., 0]
        return kernel / keras.ops.maximum(sigma, 1e-12)


def downsample(x, filters, name, norm="batch", synchronized=False, kernel_constraint=None):
    """Conv 4x4 stride 2 -> LeakyReLU(0.2) -> norm. Halves height and width.

    The handout puts BN after the activation (Keras-GAN's order); pix2pix puts it before.
    """
    x = layers.Conv2D(filters, KERNEL, strides=2, padding="same", name=f"{name}_conv",
                      kernel_constraint=kernel_constraint)(x)
    x = layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=f"{name}_lrelu")(x)
    norm_layer = normalization(norm, f"{name}_norm", synchronized)
    return norm_layer(x) if norm_layer else x


def upsample_conv(x, filters, name, activation=None, literal=False, dtype=None):
    """Double the image and convolve 4x4: the handout's two layers, or the same
    mathematics in one (``UpSampleConv2D``, the default because it trains about twice
    as fast)."""
    if literal:
        x = layers.UpSampling2D(2, name=f"{name}_up")(x)
        return layers.Conv2D(filters, KERNEL, strides=1, padding="same",
                             activation=activation, name=f"{name}_conv", dtype=dtype)(x)
    return UpSampleConv2D(filters, KERNEL, activation=activation, name=f"{name}_upconv",
                          dtype=dtype)(x)


@contextlib.contextmanager
def dtype_policy(policy):
    """Layers created inside get ``policy`` (Keras's global default, restored after)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def upsample(x, skip, filters, name, norm="batch", dropout=0.0, literal=False,
             synchronized=False):
    """UpSampling x2 -> Conv 4x4 stride 1 -> ReLU -> norm [-> Dropout] -> concat skip.

    Upsampling + convolution instead of a transposed convolution avoids checkerboard
    artefacts; it is what the handout specifies.
    """
    x = upsample_conv(x, filters, name, literal=literal)
    x = layers.ReLU(name=f"{name}_relu")(x)
    norm_layer = normalization(norm, f"{name}_norm", synchronized)
    x = norm_layer(x) if norm_layer else x
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return layers.Concatenate(name=f"{name}_skip")([x, skip])


def context_layer(x, channels):
    """Bottleneck (b, s, s, c) -> concat with Dense over all of it (b, s, s, c + channels).

    Why: a convolution's output pixel sees a window; the mouth's shape (smile or not,
    teeth or not) is told by the cheeks and eyes. Context Encoders (Pathak et al. 2016)
    join the encoder and decoder by a fully connected layer for this reason. Measured on
    the 6x ``best``: worse, not better (``benchmarks/RESULTS.md``, 2026-12-01); opt-in.
    """
    size, width = x.shape[1], x.shape[2]
    context = layers.Flatten(name="context_flatten")(x)
    context = layers.Dense(size * width * channels, name="context_dense")(context)
    context = layers.Reshape((size, width, channels), name="context_reshape")(context)
    context = layers.ReLU(name="context_relu")(context)
    return layers.Concatenate(name="context_join")([x, context])


def build_generator(filters=GENERATOR_FILTERS, image_size=IMAGE_SIZE, in_channels=1,
                    out_channels=1, norm="batch", dropout=0.0, literal_upsampling=False,
                    precision="float32", global_context=0, synchronized_batchnorm=False,
                    name="generator"):
    """U-Net: white image (-1..1) -> restored image (-1..1, tanh).

    With the defaults, shapes for a batch of 128x128 gray images::

        white                            (batch, 128, 128, 1)
        enc1  conv 4  s2, lrelu          (batch, 64, 64, 4)     no norm on the first layer
        enc2  conv 8  s2, lrelu, BN      (batch, 32, 32, 8)
        enc3  conv 16 s2, lrelu, BN      (batch, 16, 16, 16)
        enc4  conv 32 s2, lrelu, BN      (batch, 8, 8, 32)
        enc5  conv 32 s2, lrelu, BN      (batch, 4, 4, 32)      bottleneck
        dec1  up, conv 32, relu, BN, +enc4  (batch, 8, 8, 64)
        dec2  up, conv 16, relu, BN, +enc3  (batch, 16, 16, 32)
        dec3  up, conv 8,  relu, BN, +enc2  (batch, 32, 32, 16)
        dec4  up, conv 4,  relu, BN, +enc1  (batch, 64, 64, 8)
        out   up, conv 1, tanh           (batch, 128, 128, 1)

    ``dropout`` applies to the decoder blocks (pix2pix uses 0.5 on its first three).
    Each "up, conv" is one ``UpSampleConv2D`` layer (the same mathematics, faster);
    ``literal_upsampling=True`` builds the handout's ``UpSampling2D`` + ``Conv2D`` pairs.

    ``precision="mixed_bfloat16"`` computes every layer but the last in bfloat16 (weights
    stay float32, BatchNorm's statistics are float32). Why: on a CPU with AMX, oneDNN
    runs bfloat16 convolutions on the matrix units, 1.3-2x faster for a wide generator
    (measured in ``benchmarks/RESULTS.md``); the handout's 4-32-channel layers are too
    thin to gain. The output layer stays float32 so the restored pixels keep float32's
    resolution (bfloat16 has 8 bits of mantissa: steps of up to 1/128 near +-1).
    """
    depth = len(filters)
    if image_size % (2 ** depth):
        raise ValueError(f"image_size {image_size} must be divisible by 2**{depth}")
    with dtype_policy(precision):
        white = keras.Input((image_size, image_size, in_channels), name="white")

        skips, x = [], white
        for i, f in enumerate(filters, 1):
            x = downsample(x, f, f"enc{i}", norm=None if i == 1 else norm,
                           synchronized=synchronized_batchnorm)
            skips.append(x)
        if global_context:
            x = context_layer(x, global_context)

        # Mirror the encoder: decoder block i has the width of encoder block depth-i and
        # is joined to that block's output.
        for i, (f, skip) in enumerate(zip(reversed(filters[:-1]), reversed(skips[:-1])), 1):
            x = upsample(x, skip, f, f"dec{i}", norm=norm, dropout=dropout,
                         literal=literal_upsampling, synchronized=synchronized_batchnorm)

        restored = upsample_conv(x, out_channels, "out", activation="tanh",
                                 literal=literal_upsampling, dtype="float32")
        return keras.Model(white, restored, name=name)


def build_discriminator(filters=DISCRIMINATOR_FILTERS, image_size=IMAGE_SIZE, channels=1,
                        norm="batch", synchronized_batchnorm=False, spectral_norm=False,
                        name="discriminator"):
    """Patch-GAN: (image, white) -> an n x n map of "real" scores, one per patch.

    With the defaults::

        [image, white] concatenated,
        conv 4  s2, lrelu                (batch, 64, 64, 4)     one ConcatConv2D layer
        conv 8  s2, lrelu, BN            (batch, 32, 32, 8)
        conv 16 s2, lrelu, BN            (batch, 16, 16, 16)
        conv 32 s2, lrelu, BN            (batch, 8, 8, 32)
        conv 1  s1  (linear)             (batch, 8, 8, 1)   trained with MSE toward 1 / 0

    Each output sees a 4x4-stride-2 cascade (a receptive field of 78 px) and judges its
    patch alone: fewer parameters than a dense head, and it works at any image size.

    ``spectral_norm``: every kernel kept at spectral norm 1 (``SpectralNorm``) and no
    normalisation layer, SNGAN's discriminator (BatchNormalization would rescale what
    the constraint bounds).
    """
    constraint = SpectralNorm() if spectral_norm else None
    if spectral_norm:
        norm = "none"
    image = keras.Input((image_size, image_size, channels), name="image")
    white = keras.Input((image_size, image_size, channels), name="white")
    x = ConcatConv2D(filters[0], KERNEL, strides=2, kernel_constraint=constraint,
                     name="disc1_conv")([image, white])
    x = layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name="disc1_lrelu")(x)
    for i, f in enumerate(filters[1:], 2):
        x = downsample(x, f, f"disc{i}", norm=norm, synchronized=synchronized_batchnorm,
                       kernel_constraint=constraint)
    validity = layers.Conv2D(1, KERNEL, strides=1, padding="same", name="patch_scores",
                             kernel_constraint=constraint)(x)
    return keras.Model([image, white], validity, name=name)


def patch_shape(discriminator):
    """The label map's shape (n, n, 1): 8x8x1 for the handout's D on 128x128 images."""
    return tuple(discriminator.output_shape[1:])


def build_adversarial(generator, discriminator, loss_weights=(1.0, 100.0),
                      learning_rate=2e-4, beta_1=0.5, optimizer=None):
    """The handout's "AM": ``[real, white] -> [D(G(white), white), G(white)]``, compiled.

    Losses [MSE, MAE]: the first pushes D's verdict on the fake toward "real" (1), the
    second pulls the fake toward the real image. The handout's ``loss_weights`` are
    [1, 1]; pix2pix (and our default) weighs the reconstruction 100.

    D is frozen inside AM. Keras 3 catch: ``trainable`` is read when a model's train
    function is built, so the handout's order (compile D, freeze, compile AM) leaves D
    frozen for its own ``train_on_batch`` too and D never learns. Callers must set
    ``discriminator.trainable = True`` before D's updates and ``False`` before AM's
    (``mouthgan.training.handout_loop.HandoutLoop`` does). A frozen BatchNormalization runs in
    inference mode in Keras 3 (moving statistics), so D judges the fakes in AM with its
    moving statistics; the fused engine does the same, on purpose.

    ``real`` is an input only because the handout's AM takes it; the target of the MAE
    term is passed to ``train_on_batch`` as usual. ``optimizer`` replaces the handout's
    ``Adam(learning_rate, beta_1)`` (the training engines pass the same Adam, fused).
    """
    real = keras.Input(generator.input_shape[1:], name="real")
    white = keras.Input(generator.input_shape[1:], name="white")
    discriminator.trainable = False
    fake = generator(white)
    validity = discriminator([fake, white])
    am = keras.Model([real, white], [validity, fake], name="adversarial")
    am.compile(
        loss=["mse", "mae"],
        loss_weights=list(loss_weights),
        optimizer=optimizer or keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1),
    )
    return am


def compile_discriminator(discriminator, learning_rate=2e-4, beta_1=0.5, optimizer=None):
    """D alone: MSE on the patch map (the handout's advice for a conv-ended Patch-GAN)."""
    discriminator.compile(
        loss="mse",
        optimizer=optimizer or keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1),
        metrics=["binary_accuracy"],
    )
    return discriminator
