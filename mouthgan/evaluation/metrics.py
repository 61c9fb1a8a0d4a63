"""Image-quality metrics on 0..1 images: the one implementation for training and scoring.

The Kaggle metric is RMSE over every pixel of every test image (values 0..1). Beside it:
RMSE inside and outside the hole (a pasted prediction is exact outside), PSNR and SSIM as
TensorFlow's ``tf.image`` computes them, written in NumPy (scoring needs no TensorFlow).
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
    """Mean PSNR (dB) over images, max value 1: ``tf.image.psnr``'s figure."""
    p, t = _as_images(prediction), _as_images(target)
    with np.errstate(divide="ignore"):  # an exact image: infinite PSNR, as TensorFlow says
        return float(np.mean(-10.0 * np.log10(np.mean((p - t) ** 2, axis=(1, 2)))))


def ssim(prediction, target, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03):
    """Mean SSIM over images: ``tf.image.ssim``'s formula and defaults (an 11x11 Gaussian
    window of sigma 1.5, valid positions only, max value 1) on gray images.

    Written with NumPy, not by calling ``tf.image.ssim``: TensorFlow's CPU kernel for the
    depthwise convolution it filters with took 5.5-6.9 s for the 282 validation faces
    (this takes 1.5 s), three times as every run ends. The window is separable, so two
    passes of 11 taps do it."""
    p, t = _as_images(prediction), _as_images(target)
    coords = np.arange(filter_size) - (filter_size - 1) / 2
    taps = np.exp(-0.5 * coords ** 2 / filter_sigma ** 2)
    taps /= taps.sum()

    def window_mean(x):
        rows = x.shape[1] - filter_size + 1
        x = sum(w * x[:, k:k + rows] for k, w in enumerate(taps))
        cols = x.shape[2] - filter_size + 1
        return sum(w * x[:, :, k:k + cols] for k, w in enumerate(taps))

    c1, c2 = k1 ** 2, k2 ** 2
    mean_p, mean_t = window_mean(p), window_mean(t)
    luminance_num, luminance_den = 2 * mean_p * mean_t, mean_p ** 2 + mean_t ** 2
    luminance = (luminance_num + c1) / (luminance_den + c1)
    structure = ((2 * window_mean(p * t) - luminance_num + c2)
                 / (window_mean(p ** 2 + t ** 2) - luminance_den + c2))
    return float(np.mean(luminance * structure))


def _as_images(images):
    """(batch, height, width) float64 from one image, a batch, or a batch with a channel."""
    x = np.asarray(images, np.float64)
    x = x[None] if x.ndim == 2 else x
    return x[..., 0] if x.ndim == 4 else x


def report(prediction, target, holes):
    """Every metric at once, as a dict: the Kaggle RMSE first."""
    return {
        "rmse": rmse(prediction, target),
        "rmse_hole": rmse(prediction, target, holes),
        "rmse_outside": rmse(prediction, target, ~np.asarray(holes, bool)),
        "psnr": psnr(prediction, target),
        "ssim": ssim(prediction, target),
    }


def texture_ratio(image, hole, sigma=1.0, ring=(3, 12)):
    """How much fine detail a restored hole has against the skin around it, in the
    image's own pixels: the RMS of the image's high frequencies (the image less its
    Gaussian blur of ``sigma`` px) inside ``hole`` (bool, the image's shape; its outer
    2 px left out, where the seam is) over the same around it, from ``ring[0]`` to
    ``ring[1]`` px outside. A real photo scores about 1; a smooth restoration, less."""
    from mouthgan.inference.photos.grain import fine_detail, interior_and_ring

    detail = fine_detail(image, sigma)
    inside, around = interior_and_ring(hole, ring)
    if not inside.any() or not around.any():
        return float("nan")
    return float(np.sqrt(np.mean(detail[inside] ** 2) / max(np.mean(detail[around] ** 2), 1e-12)))
