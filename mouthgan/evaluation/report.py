"""The graded write-up, generated from a run directory: ``report.md`` and ``report.html``.

The handout grades a report with the network architecture (every layer's settings), the
G and D loss plots, and the training method with what was learned. Everything here is
read from the run itself — the saved models, ``config.json``, ``history.csv``,
``scores.json``, ``samples/`` — so the report cannot disagree with the code.

The report is a list of blocks (heading, paragraph, table, image) rendered twice:
Markdown beside the images, and one self-contained HTML file with the images embedded.
"""

import base64
import html
import json
import os
from pathlib import Path

import numpy as np

from mouthgan import MouthganError
from mouthgan.util.atomic import write_text

HANDOUT_TOTAL = 77_766  # the handout's parameter figure for G and D together


# --------------------------------------------------------------------------- blocks

def heading(text, level=2):
    return ("heading", level, text)


def paragraph(text):
    return ("paragraph", text)


def table(header, rows, ids=None):
    """``ids`` maps (row index, column index) to an HTML id, for cells tests look up."""
    return ("table", header, rows, ids or {})


def image(path, caption):
    return ("image", Path(path), caption)


# --------------------------------------------------------------------------- content

def layer_rows(model):
    """One row per layer: type, filters, kernel, stride, padding, activation, norm,
    output shape, parameters."""
    rows = []
    for layer in model.layers:
        kind = layer.__class__.__name__
        if kind == "InputLayer":
            continue
        if kind == "UpSampleConv2D":
            kind = "UpSampling2D(2) + Conv2D"  # one layer, the same mathematics
        if kind == "ConcatConv2D":
            kind = "Concatenate + Conv2D"  # one layer, the same mathematics
        if kind == "FusedBatchNormalization":
            kind = "BatchNormalization"  # Keras's, computed by the fused kernel
        activation = ""
        if hasattr(layer, "activation") and layer.activation is not None:
            activation = layer.activation.__name__
            activation = "" if activation == "linear" else activation
        if kind == "LeakyReLU":
            activation = f"leaky_relu({layer.negative_slope:g})"
        elif kind == "ReLU":
            activation = "relu"
        norm = ""
        if kind == "BatchNormalization":
            norm = f"batch (momentum {layer.momentum:g})"
        elif kind == "GroupNormalization":
            norm = "instance"
        shape = tuple(layer.output.shape)[1:]
        rows.append([
            layer.name, kind,
            str(getattr(layer, "filters", "")),
            "x".join(map(str, layer.kernel_size)) if hasattr(layer, "kernel_size") else "",
            "x".join(map(str, layer.strides)) if hasattr(layer, "strides") else "",
            getattr(layer, "padding", ""),
            activation, norm,
            "x".join(map(str, shape)),
            f"{layer.count_params():,}",
        ])
    return rows


def layer_table(model, total_id):
    rows = layer_rows(model)
    total = ["total"] + [""] * (len(LAYER_HEADER) - 2) + [f"{model.count_params():,}"]
    return table(LAYER_HEADER, rows + [total], ids={(len(rows), len(LAYER_HEADER) - 1): total_id})


LAYER_HEADER = ["layer", "type", "filters", "kernel", "stride", "padding", "activation",
                "normalisation", "output", "parameters"]


def parameter_note(generator, discriminator):
    total = generator.count_params() + discriminator.count_params()
    first_conv = next(l for l in generator.layers if hasattr(l, "kernel_size"))
    kernel = int(np.prod(first_conv.kernel_size))
    rgb_extra = 2 * kernel * first_conv.filters  # two more input channels
    text = (f"G {generator.count_params():,} + D {discriminator.count_params():,} = "
            f"**{total:,}** parameters. The handout states {HANDOUT_TOTAL:,}.")
    if total + rgb_extra == HANDOUT_TOTAL:
        text += (f" The difference, {rgb_extra}, is exactly what a 3-channel generator "
                 f"input gives: the first convolution then has 3x{first_conv.kernel_size[0]}"
                 f"x{first_conv.kernel_size[1]}x{first_conv.filters} weights instead of "
                 f"1x{first_conv.kernel_size[0]}x{first_conv.kernel_size[1]}x"
                 f"{first_conv.filters}; these faces are grayscale, so 1 channel is right.")
    elif total != HANDOUT_TOTAL:
        text += " This run's networks are not the handout's sizes (see the settings below)."
    return text


# What D's loss is, by --gan-loss: the report names the loss the run trained with.
D_LOSS_NAMES = {"lsgan": "MSE on the patch map, toward 1 (real) or 0 (fake)",
                "hinge": "hinge on the patch map (SAGAN's margins)",
                "nonsaturating": "cross-entropy on the patch map's logits"}


def d_loss_name(config):
    return D_LOSS_NAMES[(config or {}).get("gan_loss", "lsgan")]


def observations(history, scores, config=None):
    """A few sentences generated from the history: where losses settled, who won."""
    tail = history.tail(max(1, len(history) // 10))
    d_loss, d_acc = tail["d_loss"].mean(), tail["d_acc"].mean()
    g_adv, g_l1 = tail["g_adv"].mean(), tail["g_l1"].mean()
    kind = (config or {}).get("gan_loss", "lsgan")
    lines = [f"Over the last {len(tail)} steps the losses averaged: D {d_loss:.3f} "
             f"({'MSE' if kind == 'lsgan' else kind}), "
             f"G adversarial {g_adv:.3f}, G L1 {g_l1:.4f}; D accuracy {d_acc:.2f}."]
    if d_acc > 0.9 or d_loss < 0.05:
        lines.append("**D dominated**: it told real from fake almost always (accuracy "
                     f"{d_acc:.2f}, loss far below the 0.25 of a D that cannot tell), where "
                     "the handout expects the two to fight around 0.5. With the L1 term "
                     "weighted 100 the generator still learned from the reconstruction "
                     "loss; its adversarial loss stayed near "
                     f"{g_adv:.2f} (1 = D sure every fake is fake).")
        if g_adv < 0.35:
            lines.append(
                "Yet G's adversarial loss sits near the 0.25 of a D that cannot tell: "
                f"judged in inference mode (moving BatchNorm statistics, as in the G step) "
                f"D scores the fakes about {1 - g_adv ** 0.5:.2f}. D wins only in training "
                "mode, where it sees all-real and all-fake batches and their batch "
                "statistics give the answer away; its adversarial signal to G is weak.")
    elif d_acc < 0.6 and d_loss > 0.2:
        lines.append("D and G stayed balanced: D accuracy near 0.5 and D loss near 0.25, "
                     "as the handout predicts when the two keep fighting.")
    else:
        lines.append("D held a moderate edge over G: accuracy between 0.6 and 0.9.")
    measured = history.dropna(subset=["val_rmse_pasted"]) if "val_rmse_pasted" in history else []
    if len(measured):
        first, last = measured.iloc[0], measured.iloc[-1]
        best = measured.loc[measured["val_rmse_pasted"].idxmin()]
        lines.append(
            f"Validation RMSE (pasted into the hole) went from {first.val_rmse_pasted:.4f} "
            f"at step {int(first.step)} to {last.val_rmse_pasted:.4f} at step "
            f"{int(last.step)}; the best was {best.val_rmse_pasted:.4f} at step "
            f"{int(best.step)}.")
        if best.step != last.step and last.val_rmse_pasted > 1.05 * best.val_rmse_pasted:
            lines.append("The final weights are not the best ones seen: the GAN's scores "
                         "swing from checkpoint to checkpoint.")
    if scores:
        for split, table_ in scores.items():
            lines.append(
                f"On {split} the raw output scores {table_['raw']['rmse']:.4f}; pasting it "
                f"into the hole only gives {table_['pasted']['rmse']:.4f} (the white image "
                f"itself: {table_['identity']['rmse']:.4f}).")
    return lines


def telea_scores(data_folder):
    """cv2.inpaint Telea (radius 10) on Test and Validation, when OpenCV is installed."""
    try:
        import cv2
    except ImportError:
        return None
    from mouthgan.data.faces import load_dataset
    from mouthgan.data.holes import find_holes
    from mouthgan.evaluation.metrics import rmse

    try:
        dataset = load_dataset(data_folder, notes=lambda message: None)
    except MouthganError:
        return None
    result = {}
    for name, split in (("test", dataset.test), ("validation", dataset.validation)):
        if split is None or split.real is None:
            continue
        result[name] = rmse(telea_fill(split.white, find_holes(split.white)) / 255.0,
                            split.real / 255.0)
    return result


def telea_fill(whites, holes):
    """Classical inpainting, no learning: ``cv2.inpaint`` Telea, radius 10, of each
    uint8 white image inside its hole (OpenCV must be installed)."""
    import cv2

    return np.stack([cv2.inpaint(w, h.astype(np.uint8), 10, cv2.INPAINT_TELEA)
                     for w, h in zip(whites, holes)])


def build(run_dir):
    """The report's blocks for one run directory."""
    import keras

    import mouthgan.models.layers  # noqa: F401  registers the speed layers for loading

    from mouthgan.evaluation.plots import plot_losses, plot_validation, read_history

    from mouthgan.util.run_dir import RESTORATION, run_kind, saved_model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MouthganError(f"{run_dir}: run directory not found")
    if run_kind(run_dir) != RESTORATION:
        raise MouthganError(f"{run_dir}: a {run_kind(run_dir)} run; the report is for runs "
                            "of scripts/train.py")
    needed = {"history.csv": "the training history", "config.json": "the settings",
              "generator.keras": "the generator", "discriminator.keras": "the discriminator"}
    for name, what in needed.items():
        path = saved_model(run_dir, name) if name.endswith(".keras") else run_dir / name
        if path is None or not path.exists():
            raise MouthganError(f"{run_dir}: {name} is missing ({what}); a report needs a "
                                "trained run (python scripts/train.py)")

    def model(name):
        return keras.models.load_model(saved_model(run_dir, name), compile=False)

    generator, discriminator = model("generator.keras"), model("discriminator.keras")
    saved = json.loads((run_dir / "config.json").read_text())
    config, versions = saved["config"], saved.get("versions", {})
    history = read_history(run_dir / "history.csv")
    if history.empty:
        raise MouthganError(f"{run_dir}/history.csv: no training steps recorded")
    scores_path = run_dir / "scores.json"
    scores = json.loads(scores_path.read_text()) if scores_path.exists() else {}

    figures = run_dir / "report_files"
    loss_png = plot_losses(run_dir / "history.csv", figures / "losses.png")
    val_png = plot_validation(run_dir / "history.csv", figures / "validation.png")

    w_adv, w_l1 = config["loss_weights"]
    adversarial = {"lsgan": "MSE"}.get(config.get("gan_loss", "lsgan"),
                                       config.get("gan_loss", "lsgan"))
    blocks = [
        heading(f"Mouth restoration with a conditional GAN — run {run_dir.name}", 1),
        paragraph("A pix2pix-style conditional GAN fills in the white-painted mouth of "
                  "128x128 grayscale faces: a U-Net generator G maps the white image to a "
                  "restored one; a Patch-GAN discriminator D judges (image, white) pairs "
                  "patch by patch. Generated by `python scripts/report.py` from the run "
                  "directory: every number below is read from the run."),
        heading("Network architecture"),
        paragraph(parameter_note(generator, discriminator)),
        heading("Generator (U-Net)", 3),
        layer_table(generator, "generator-total"),
        paragraph("Encoder blocks halve the image with a stride-2 4x4 convolution; decoder "
                  "blocks double it with UpSampling2D and a stride-1 convolution, then join "
                  "the encoder block of the same size (the U-Net skip, `_skip` layers), so "
                  "the fine detail around the mouth reaches the output directly."),
        heading("Discriminator (Patch-GAN)", 3),
        layer_table(discriminator, "discriminator-total"),
        paragraph(f"D sees the candidate image and the white image side by side and returns "
                  f"a {'x'.join(map(str, discriminator.output_shape[1:3]))} map: one "
                  f"verdict per patch, trained with {d_loss_name(config)}."),
        heading("The adversarial model (AM) and the training loop"),
        paragraph(f"AM = [real, white] -> [D(G(white), white), G(white)], D frozen inside. "
                  f"Losses [{adversarial}, MAE] with weights [{w_adv:g}, {w_l1:g}]: the first pushes "
                  f"D's verdict on the fake toward 1, the second pulls the fake toward the "
                  f"real image. Each step draws {config['batch_size']} random training "
                  f"pairs{' (flipped left-right at random)' if config.get('flip') else ''}, "
                  f"G makes fakes, D learns on the real pairs (label 1) "
                  f"{'and' if config.get('d_batch') == 'mixed' else 'then'} the fake pairs "
                  f"(label 0){' in one batch' if config.get('d_batch') == 'mixed' else ''} "
                  f"{config['d_steps']} time(s), then G learns through AM."),
        table(["setting", "value"], [
            ["steps", f"{config['steps']:,}"], ["batch size", config["batch_size"]],
            ["optimizer (G and D)", f"Adam(learning_rate={config['lr']:g}, "
                                    f"beta_1={config['beta_1']:g})"],
            ["learning-rate schedule", config.get("lr_decay", "none")],
            ["D loss", d_loss_name(config)],
            ["AM losses and weights",
             f"[{adversarial}, {'MSE' if config.get('reconstruction') == 'l2' else 'MAE'}] x "
             f"[{w_adv:g}, {w_l1:g}]"],
            ["reconstruction weight inside the hole", f"{config.get('hole_weight', 1.0):g}x"],
            ["G weight average (EMA decay)", f"{config.get('ema', 0.0):g}" if config.get("ema")
             else "off"],
            ["flip averaging at evaluation", "on" if config.get("flip_average") else "off"],
            ["D updates per step", config["d_steps"]],
            ["engine", config["engine"]], ["seed", config["seed"]],
            ["preset", config["preset"]],
            ["libraries", ", ".join(f"{k} {v}" for k, v in versions.items())],
        ]),
        heading("Training losses"),
        image(loss_png, "D loss, G adversarial loss, G L1 loss and D accuracy per step, with "
                        "a 50-step mean. The dashed line at 0.25 is where a Patch-GAN D that "
                        "cannot tell real from fake sits (it outputs 0.5: MSE 0.25)."),
    ]
    if val_png:
        blocks.append(image(val_png, "Validation RMSE over training, raw and pasted."))
    samples = sorted((run_dir / "samples").glob("step_*.png"))
    if samples:
        blocks.append(heading("Samples: restored (scored) | raw output | real | white"))
        picks = sorted({0, len(samples) // 2, len(samples) - 1})
        for i in picks:
            step = int(samples[i].stem.split("_")[1])
            blocks.append(image(samples[i], f"step {step:,}"))
    if scores:
        blocks.append(heading("Scores (RMSE over all pixels, 0..1)"))
        telea = telea_scores(config["data"])
        rows = []
        for label, key in (("white image (handout baseline)", "identity"),
                           ("model, raw output", "raw"), ("model, pasted into the hole", "pasted")):
            rows.append([label] + [f"{scores[s][key]['rmse']:.4f}" for s in scores]
                        + [f"{scores[s][key]['psnr']:.2f}" for s in scores])
        if telea:
            rows.insert(1, ["cv2.inpaint Telea r=10 (no learning)"]
                        + [f"{telea.get(s, float('nan')):.4f}" for s in scores]
                        + ["" for _ in scores])
        blocks.append(table(["predictor"] + [f"{s} RMSE" for s in scores]
                            + [f"{s} PSNR dB" for s in scores], rows))
    blocks.append(heading("Method and observations"))
    for line in observations(history, scores, config):
        blocks.append(paragraph(line))
    return blocks


# --------------------------------------------------------------------------- rendering

def to_markdown(blocks, base):
    out = []
    for block in blocks:
        kind = block[0]
        if kind == "heading":
            out.append("#" * block[1] + " " + block[2])
        elif kind == "paragraph":
            out.append(block[1])
        elif kind == "table":
            header, rows = block[1], block[2]
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + " --- |" * len(header))
            out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        elif kind == "image":
            out.append(f"![{block[2]}]({os.path.relpath(block[1], base)})\n\n*{block[2]}*")
        out.append("")
    return "\n".join(out)


def _inline(text):
    """Escape, then the one Markdown mark we use inline: **bold** and `code`."""
    text = html.escape(text)
    parts = text.split("**")
    text = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    parts = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def to_html(blocks):
    body = []
    for block in blocks:
        kind = block[0]
        if kind == "heading":
            body.append(f"<h{block[1]}>{_inline(block[2])}</h{block[1]}>")
        elif kind == "paragraph":
            body.append(f"<p>{_inline(block[1])}</p>")
        elif kind == "table":
            header, rows, ids = block[1], block[2], block[3]
            cells = ["<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
            for r, row in enumerate(rows):
                tds = []
                for c, cell in enumerate(row):
                    attr = f' id="{ids[(r, c)]}"' if (r, c) in ids else ""
                    tds.append(f"<td{attr}>{html.escape(str(cell))}</td>")
                cells.append("<tr>" + "".join(tds) + "</tr>")
            body.append("<table>" + "".join(cells) + "</table>")
        elif kind == "image":
            # A file's path, or the PNG's bytes themselves.
            image = block[1] if isinstance(block[1], bytes) else Path(block[1]).read_bytes()
            data = base64.b64encode(image).decode()
            body.append(f'<figure><img src="data:image/png;base64,{data}" '
                        f'alt="{html.escape(block[2])}"><figcaption>{_inline(block[2])}'
                        "</figcaption></figure>")
    title = html.escape(blocks[0][2])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; line-height: 1.45; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 8px; text-align: left; }}
th {{ background: #f0f0f0; }}
img {{ max-width: 100%; }}
figcaption {{ font-size: 0.85em; color: #555; }}
</style></head>
<body>
{chr(10).join(body)}
<script>
// Lets a headless browser check that every embedded image decoded.
window.addEventListener("load", () => {{
  const images = Array.from(document.images);
  const ok = images.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.setAttribute("data-images", ok + "/" + images.length);
}});
</script>
</body></html>
"""


def write_report(run_dir):
    """Write report.md and report.html into the run directory (atomically)."""
    run_dir = Path(run_dir)
    blocks = build(run_dir)
    outputs = {run_dir / "report.md": to_markdown(blocks, run_dir),
               run_dir / "report.html": to_html(blocks)}
    for path, text in outputs.items():
        write_text(path, text)
    return list(outputs)
