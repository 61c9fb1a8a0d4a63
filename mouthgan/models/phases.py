"""The phase kernels of "upsample x2, then convolve": NumPy only, shared by the Keras
layer that trains with them (``mouthgan.models.layers.UpSampleConv2D``) and the NumPy forward
pass that exports without TensorFlow (``mouthgan.models.numpy_generator``)."""

import numpy as np


def phase_matrix(kernel_size):
    """(36, k*k) matrix taking a k x k kernel's taps to the four 3x3 phase kernels of
    "upsample x2 then convolve k x k, same padding" (see ``models.UpSampleConv2D``).

    Rows: (row offset, column offset, row phase, column phase); columns: (tap row, tap
    column). Output rows of parity ``phase`` read, through kernel row ``tap``, the small
    input's row ``offset - 1`` relative to the centre; "same" padding of an even kernel
    puts (k - 1) // 2 zeros before.
    """
    k = kernel_size
    taps = np.zeros((2, k, 3), np.float32)
    for phase in range(2):
        for tap in range(k):
            taps[phase, tap, (phase + tap - (k - 1) // 2) // 2 + 1] = 1.0
    return np.einsum("rau,sbv->uvrsab", taps, taps).reshape(36, k * k)


def phase_kernels(kernel):
    """A (k, k, in, out) kernel -> the (3, 3, in, 4 * out) kernel of its four phases,
    phase-major in the output channels (the order depth_to_space reads them in)."""
    k, _, channels, filters = kernel.shape
    phases = phase_matrix(k) @ kernel.reshape(k * k, -1)
    phases = phases.reshape(3, 3, 2, 2, channels, filters).transpose(0, 1, 4, 2, 3, 5)
    return phases.reshape(3, 3, channels, 4 * filters)
