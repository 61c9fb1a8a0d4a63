"""Image-quality metrics on 0..1 images: the one implementation for training and scoring.

The Kaggle metric is RMSE over every pixel of every test image (values 0..1). Beside it:
RMSE inside and outside the hole (a pasted prediction is exact outside), PSNR and SSIM
from TensorFlow's own ``tf.image``.
"""

import numpy as np


def rmse(prediction, target, mask=None):
    """Root mean squared error over all pixels, or over the pixels where ``mask`` is set."""
    diff = np.asarray(prediction, np.float64) - np.asarray(target, np.float64)
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask, bool), diff.shape)
        if not mask.any():
            return float("nan")
        diff = diff[mask]
    return float(np.sqrt(np.mean(diff ** 2)))


def psnr(prediction, target):
    """Mean PSNR (dB) over images, max value 1."""
    import tensorflow as tf

    p, t = _as_batch(prediction), _as_batch(target)
    return float(tf.reduce_mean(tf.image.psnr(p, t, max_val=1.0)))


def ssim(prediction, target):
    """Mean SSIM over images (11x11 Gaussian window, TensorFlow's defaults)."""
    import tensorflow as tf

    p, t = _as_batch(prediction), _as_batch(target)
    return float(tf.reduce_mean(tf.image.ssim(p, t, max_val=1.0)))


def _as_batch(images):
    x = np.asarray(images, np.float32)
    if x.ndim == 2:
        x = x[None]
    return x[..., None] if x.ndim == 3 else x


def report(prediction, target, holes):
    """Every metric at once, as a dict: the Kaggle RMSE first."""
    return {
        "rmse": rmse(prediction, target),
        "rmse_hole": rmse(prediction, target, holes),
        "rmse_outside": rmse(prediction, target, ~np.asarray(holes, bool)),
        "psnr": psnr(prediction, target),
        "ssim": ssim(prediction, target),
    }
