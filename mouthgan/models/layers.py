"""Speed layers: Keras layers recomputed the way a CPU runs fastest, each the same
mathematics and the same weights as the Keras layers it replaces (``tests/test_layers.py``
checks each against them to float rounding).

The generator and discriminator builders (``mouthgan.models.networks``) use them by default; the
factors below were measured on a 2-core CPU (``benchmarks/RESULTS.md``).
"""

import keras
import tensorflow as tf
from keras import layers

from mouthgan.models.phases import phase_matrix


@keras.saving.register_keras_serializable(package="mouthgan")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras's ``BatchNormalization`` (same weights, same mathematics, same moving-average
    rule), computed by TensorFlow's fused kernel.

    Why: Keras 3 normalises with separate moments / subtract / multiply ops, and their
    gradients are as many more: on this CPU, over the generator's large thin tensors
    (e.g. 32x64x64x4), that is 2-3x the time of the one fused op, ~15% of a training
    step. Channels-last only (``axis=-1``); anything else is left to Keras's code.
    """

    def call(self, inputs, training=None, mask=None):
        if mask is not None or self.axis != -1 or self.renorm or self.synchronized:
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, "float32")  # as Keras does: statistics in float32
        gamma = self.gamma if self.scale else tf.ones(x.shape[-1])
        beta = self.beta if self.center else tf.zeros(x.shape[-1])
        if training and self.trainable:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, epsilon=self.epsilon, is_training=True)
            # The fused op returns the unbiased (n - 1) variance; Keras averages the
            # biased one, and so do we, so that both layers hold the same statistics.
            n = tf.cast(tf.size(x) // tf.shape(x)[-1], "float32")
            variance = variance * ((n - 1.0) / n)
            self.moving_mean.assign(self.moving_mean * self.momentum
                                    + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum
                                        + variance * (1.0 - self.momentum))
        else:
            # Inference mode, and a frozen layer (Keras 3's rule, see training/pix2pix.py).
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, mean=self.moving_mean, variance=self.moving_variance,
                epsilon=self.epsilon, is_training=False)
        return tf.cast(y, self.compute_dtype)


@keras.saving.register_keras_serializable(package="mouthgan")
class UpSampleConv2D(layers.Layer):
    """``UpSampling2D(2)`` then ``Conv2D(filters, kernel, strides=1, padding="same")``,
    computed exactly without building the upsampled tensor.

    Why: the handout's decoder doubles the image with nearest-neighbour upsampling and
    then convolves it. On a CPU the upsampled tensor (e.g. 128x128x8 before the output
    layer) and a convolution with 1-4 output channels over it cost more than the rest of
    the generator together. Each output pixel of an upsample-then-convolve reads only a
    3x3 neighbourhood of the small input, with the 4x4 kernel's taps summed by which
    source pixel they land on, and there are four such "phases" (even/odd row, column).
    So: build the four 3x3 phase kernels from the 4x4 kernel, convolve the small input
    once with all of them (4 x filters outputs), and interleave the phases as
    ``depth_to_space`` would (``interleave_phases``). Same weights (a 4x4 kernel and a
    bias, the parameter count of ``Conv2D``), same results up to float rounding
    (``tests/test_layers.py``), and about twice as fast: the generator's forward and
    backward pass took 91 -> 44 ms on a 2-core CPU (``benchmarks/RESULTS.md``).
    ``build_generator(literal_upsampling=True)`` builds the two layers instead.
    """

    def __init__(self, filters, kernel_size=4, activation=None, **kwargs):
        super().__init__(**kwargs)
        k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
        # Conv2D's attribute names, so summaries and the report read it like one.
        self.filters, self.kernel_size, self.strides, self.padding = filters, (k, k), (1, 1), "same"
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        k, channels = self.kernel_size[0], input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(k, k, channels, self.filters),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self.phase_matrix = phase_matrix(k)

    def call(self, x):
        k, channels = self.kernel_size[0], self.kernel.shape[2]
        phases = tf.matmul(tf.cast(self.phase_matrix, self.compute_dtype),
                           tf.reshape(self.kernel, (k * k, -1)))
        # (3, 3, 2, 2, in, out) -> (3, 3, in, 4 * out): phase-major output channels, the
        # order interleave_phases (like depth_to_space) reads them in.
        phases = tf.reshape(phases, (3, 3, 2, 2, channels, self.filters))
        phases = tf.reshape(tf.transpose(phases, (0, 1, 4, 2, 3, 5)),
                            (3, 3, channels, 4 * self.filters))
        y = tf.nn.conv2d(x, phases, strides=1, padding="SAME")
        y = tf.nn.bias_add(y, tf.tile(self.bias, [4]))  # fused into the convolution
        return self.activation(interleave_phases(y, self.filters))

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return (b, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size[0],
                "activation": keras.activations.serialize(self.activation)}


@keras.saving.register_keras_serializable(package="mouthgan")
class ConcatConv2D(layers.Layer):
    """``Concatenate()`` along channels then ``Conv2D(filters, kernel, strides,
    padding="same")``, computed as one convolution per input, summed.

    Why: D's first layer sees (image, white), two 128x128x1 tensors. TensorFlow's CPU
    concatenation of one-channel images copies one float at a time (~4-5 ms a call at
    batch 32), its gradient is as many slices, and G's gradient through D would also
    be computed for the white half, which nothing needs. Same weights as the
    ``Conv2D`` on the concatenation (one kernel, input channels in input order), same
    results up to float rounding (``tests/test_layers.py``).
    """

    def __init__(self, filters, kernel_size=4, strides=1, kernel_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
        s = strides if isinstance(strides, int) else strides[0]
        # Conv2D's attribute names, so summaries and the report read it like one.
        self.filters, self.kernel_size, self.strides, self.padding = filters, (k, k), (s, s), "same"

    def build(self, input_shapes):
        self.channels = [shape[-1] for shape in input_shapes]
        shape = self.kernel_size + (sum(self.channels), self.filters)
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer="glorot_uniform",
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, inputs):
        kernels = tf.split(self.kernel, self.channels, axis=2)
        y = tf.add_n([tf.nn.conv2d(x, k, self.strides, "SAME") for x, k in zip(inputs, kernels)])
        return tf.nn.bias_add(y, self.bias)

    def compute_output_shape(self, input_shapes):
        b, h, w, _ = input_shapes[0]
        s = self.strides[0]
        return (b, None if h is None else -(-h // s), None if w is None else -(-w // s),
                self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size[0], "strides": self.strides[0],
                "kernel_constraint": keras.constraints.serialize(self.kernel_constraint)}


def interleave_phases(y, filters):
    """(b, h, w, 4 * filters) phase-major -> (b, 2h, 2w, filters): ``tf.nn.depth_to_space(y,
    2)``, as a reshape and a transpose, which this CPU runs 1.3-2x faster (forward and
    backward; most for the output layer's one channel)."""
    b, h, w = tf.shape(y)[0], tf.shape(y)[1], tf.shape(y)[2]
    y = tf.reshape(y, (b, h, w, 2, 2, filters))  # (..., row phase, column phase, filters)
    y = tf.transpose(y, (0, 1, 3, 2, 4, 5))  # (b, h, row phase, w, column phase, filters)
    return tf.reshape(y, (b, 2 * h, 2 * w, filters))
