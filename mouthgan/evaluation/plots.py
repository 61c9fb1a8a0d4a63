"""Pictures of a run: the graded loss curves, and sample grids of [restored, raw output,
real, white]."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no screen needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mouthgan.util.atomic import atomic_path  # noqa: E402

# history.csv, written by Keras's CSVLogger (mouthgan.training.callbacks.HistoryCSV): one row a
# step. Its first column is named "epoch", as in any Keras CSV log; each of our steps is
# one Keras epoch (the handout's "Epoch"), counted from 1. Runs written before 2026-12
# name it "step"; read_history gives both as "step".
LOSS_KEYS = ("d_loss", "d_acc", "g_loss", "g_adv", "g_l1")
VALIDATION_KEYS = ("val_rmse", "val_rmse_pasted")  # raw output, and pasted into the hole
HISTORY_COLUMNS = ("epoch",) + LOSS_KEYS + VALIDATION_KEYS
# A Patch-GAN D that cannot tell real from fake outputs 0.5 everywhere: MSE 0.25.
D_CHANCE_MSE = 0.25


def read_history(path):
    """history.csv as a DataFrame with a ``step`` column (a blank or NA value: not
    measured at that step)."""
    return pd.read_csv(path).rename(columns={"epoch": "step"})


def smooth(values, window=50):
    return pd.Series(values).rolling(window, min_periods=1).mean().to_numpy()


# (column, title, reference line, its label) per panel of the pix2pix loss figure.
PIX2PIX_PANELS = (
    ("d_loss", "Discriminator loss (MSE)", D_CHANCE_MSE, "D cannot tell (0.25)"),
    ("g_adv", "Generator adversarial loss (MSE to 'real')", D_CHANCE_MSE,
     "D cannot tell (0.25)"),
    ("g_l1", "Generator reconstruction loss (L1, -1..1 scale)", None, None),
    ("d_acc", "Discriminator accuracy", 0.5, "chance (0.5)"),
)


def plot_losses(history_path, out_path, panels=PIX2PIX_PANELS):
    """One panel per history column, raw and smoothed (default: D loss, G adversarial
    and G L1 loss, D accuracy)."""
    history = read_history(history_path)
    if history.empty:
        return None
    steps = history["step"].to_numpy()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    # Fixed margins: constrained_layout measured every tick label at each redraw
    # (0.5 s a figure against 0.33 s).
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.08, top=0.95, wspace=0.18,
                        hspace=0.3)
    for ax, (column, title, line, line_label) in zip(axes.flat, panels):
        values = history[column].to_numpy()
        ax.plot(steps, values, color="0.75", linewidth=0.6, label="per step")
        ax.plot(steps, smooth(values), linewidth=1.6, label="mean of 50 steps")
        if line is not None:
            ax.axhline(line, color="tab:red", linestyle="--", linewidth=1, label=line_label)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    _save(fig, out_path)
    return out_path


def plot_validation(history_path, out_path):
    """Validation RMSE (raw and pasted) over steps; None if never measured."""
    history = read_history(history_path)
    measured = history.dropna(subset=["val_rmse"]) if "val_rmse" in history else history[:0]
    if measured.empty:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
    ax.plot(measured["step"], measured["val_rmse"], marker="o", label="raw output")
    ax.plot(measured["step"], measured["val_rmse_pasted"], marker="o",
            label="pasted into the hole")
    ax.set_xlabel("step")
    ax.set_ylabel("RMSE (0..1)")
    ax.set_title("Validation RMSE")
    ax.legend()
    _save(fig, out_path)
    return out_path


def sample_grid(pasted01, raw01, real_uint8, white_uint8, out_path, title=None):
    """Rows of [restored, raw output, real, white]. "Restored" is what the Kaggle CSV
    holds and what is scored: the generator's output pasted into the white hole. The raw
    output beside it shows what the network draws everywhere else."""
    columns = [(pasted01, "restored (scored)"), (raw01, "raw output"),
               (np.asarray(real_uint8) / 255.0, "real"), (np.asarray(white_uint8) / 255.0, "white")]
    rows = len(pasted01)
    tiles = [images[i] for i in range(rows) for images, _ in columns]
    return _image_grid(tiles, len(columns), out_path, title, width=8.0,
                       column_titles=[label for _, label in columns])


def comparison_grid(columns, out_path, title=None):
    """The same faces side by side, one column per (label, 0..1 images) pair: what
    several restorers make of each face."""
    rows = len(columns[0][1])
    tiles = [images[i] for i in range(rows) for _, images in columns]
    return _image_grid(tiles, len(columns), out_path, title, width=1.6 * len(columns),
                       column_titles=[label for label, _ in columns])


def sample_images(images01, out_path, title=None, columns=4):
    """A square-ish grid of generated images (the DCGAN example's samples)."""
    return _image_grid(list(images01), columns, out_path, title, width=1.5 * columns)


def _image_grid(tiles, columns, out_path, title=None, width=8.0, column_titles=(), gap=4):
    """Equal-sized 0..1 gray tiles, row by row, drawn as one picture on one axes.

    Why one picture: an axes per tile, laid out by tight_layout, took 0.6 s a grid
    (this takes 0.17 s); a short run redraws its grids every few steps."""
    height, tile_width = np.shape(tiles[0])
    rows = -(-len(tiles) // columns)
    canvas = np.ones((rows * (height + gap) - gap, columns * (tile_width + gap) - gap))
    for k, tile in enumerate(tiles):
        top, left = (k // columns) * (height + gap), (k % columns) * (tile_width + gap)
        canvas[top:top + height, left:left + tile_width] = tile
    header = 0.35 * (bool(title) + bool(len(column_titles)))  # inches of text above
    fig = plt.figure(figsize=(width, width * canvas.shape[0] / canvas.shape[1] + header))
    ax = fig.add_axes((0, 0, 1, 1 - header / fig.get_figheight()))
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest", aspect="auto")
    ax.axis("off")
    for j, label in enumerate(column_titles):
        ax.text((j + 0.5) * (tile_width + gap), -gap, label, fontsize=9,
                ha="center", va="bottom")
    if title:
        fig.suptitle(title, fontsize=9, y=1 - 0.05 / fig.get_figheight())
    _save(fig, out_path)
    return out_path


def _save(fig, out_path):
    """Write to a temporary name and rename: a reader never sees half a PNG."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
