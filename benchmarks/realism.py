"""Realism as face networks see it: FFD, identity and mouth landmarks beside RMSE.

    python benchmarks/realism.py                          # calibration + presets, seed 0
    python benchmarks/realism.py --seeds 0 1 2 --levers --write

Every restorer fills the 282 Validation faces, pasted as the Kaggle CSV has them, and is
scored by ``mouthgan.evaluation.realism``: RMSE, FFD against the 700 training faces, identity
distance to the real face, mouth landmark distance (LMD, pixels). The calibration rows
say what the numbers mean: the real faces (FFD's floor), the real mouth box blurred by
a Gaussian of sigma 1, 2 and 4, another face's real mouth, classical inpainting (Telea)
and the white image. Trained rows are the presets' and the realism levers' runs
(``runs/bench-<name>-seed<S>``, trained first where missing, as ``quality.py`` does),
each with D's accuracy over the second half of its run; with several seeds, each
preset's runs as one (the mean of their outputs). ``--picture`` draws the
perception-distortion plane (RMSE against FFD, one point per restorer); ``--write``
puts the table into benchmarks/RESULTS.md.
"""

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_runs import ensure_run  # noqa: E402
from quality import PRESETS, experiment  # noqa: E402
from results_file import write_section  # noqa: E402

# The levers of realism, each a change to the default (seed 0 unless --seeds).
LEVERS = [
    experiment("realism-l1-10", "L1 x10 instead of x100: the adversarial loss weighs 10x "
               "more", "--loss-weights", "1", "10"),
    experiment("realism-l1-3", "L1 x3: the adversarial loss weighs 33x more",
               "--loss-weights", "1", "3"),
    experiment("realism-hinge", "hinge loss", "--gan-loss", "hinge"),
    experiment("realism-nonsaturating", "non-saturating loss", "--gan-loss", "nonsaturating"),
    experiment("realism-pasted-wide-d", "a local critic: D 4x as wide judges the pasted "
               "mouth", "--d-sees", "pasted", "--discriminator-filters", "16", "32", "64",
               "128"),
    experiment("realism-spectral-norm", "spectral normalisation in D (no BatchNormalization "
               "there)", "--spectral-norm"),
    experiment("realism-r1", "an R1 penalty on D, gamma 10", "--r1", "10"),
    experiment("realism-feature-matching", "feature matching on D's blocks, weight 10",
               "--feature-matching", "10"),
    experiment("realism-diffaugment", "DiffAugment: translation, cutout and colour of "
               "every pair D sees", "--diffaugment", "translation", "cutout", "color"),
    experiment("realism-ada", "ADA: the three transforms with a probability steered to "
               "D's sign on real patches 0.6", "--ada-target", "0.6"),
    experiment("realism-lecam", "LeCam regularisation of D, weight 0.3", "--lecam", "0.3"),
    experiment("realism-ada-lecam", "ADA and LeCam together", "--ada-target", "0.6",
               "--lecam", "0.3"),
    experiment("realism-face-features", "a perceptual loss from MTCNN's O-Net (not the "
               "judge), weight 30", "--face-features", "30"),
    experiment("realism-face-landmarks", "O-Net's mouth corners on G's output toward the "
               "real face's, weight 1 (px^2)", "--face-landmarks", "1"),
    experiment("realism-best-full", "`best`, all its 5000 steps, no time budget",
               "--preset", "best", "--time-budget", "0"),
    experiment("realism-best-l1-10", "`best`, L1 x10, no flip averaging, all 5000 steps",
               "--preset", "best",
               "--time-budget", "0", "--loss-weights", "1", "10", "--no-flip-average"),
    experiment("realism-best-l1-10-wide-d", "the same, D 4x as wide (the photo preset "
               "without its time budget)", "--preset", "best",
               "--time-budget", "0", "--loss-weights", "1", "10", "--no-flip-average",
               "--discriminator-filters", "16", "32", "64", "128"),
    experiment("realism-photo-d-x2", "the photo preset with D 2x as wide instead of 4x, "
               "no time budget", "--preset", "photo", "--time-budget", "0",
               "--discriminator-filters", "8", "16", "32", "64"),
    experiment("realism-photo-spectral-norm", "the photo preset with spectral "
               "normalisation in its D, no time budget", "--preset", "photo",
               "--time-budget", "0", "--spectral-norm"),
    experiment("realism-photo-feature-matching", "the photo preset with feature matching "
               "(weight 10), no time budget", "--preset", "photo", "--time-budget", "0",
               "--feature-matching", "10"),
]
BLUR_SIGMAS = (1, 2, 4)


def calibration(real, white, holes):
    """{name: uint8 restorations} of the Validation faces that need no training."""
    import cv2

    from mouthgan.data.faces import HOLE_BOX
    from mouthgan.evaluation.report import telea_fill

    top, bottom, left, right = HOLE_BOX
    rows = {"the real faces (the floor)": real}
    for sigma in BLUR_SIGMAS:
        blurred = real.copy()
        blurred[:, top:bottom, left:right] = np.stack(
            [cv2.GaussianBlur(face, (0, 0), sigma) for face in real])[:, top:bottom, left:right]
        rows[f"real, the mouth box blurred, sigma {sigma}"] = blurred
    # The next face's real mouth, its mean brightness moved to this face's: sharp and
    # face-like, but another person's.
    donor = np.roll(real, -1, axis=0)[:, top:bottom, left:right].astype(np.float64)
    own = real[:, top:bottom, left:right].astype(np.float64)
    matched = donor - donor.mean(axis=(1, 2), keepdims=True) + own.mean(axis=(1, 2), keepdims=True)
    swapped = real.copy()
    swapped[:, top:bottom, left:right] = np.clip(np.rint(matched), 0, 255)
    rows["another face's real mouth, brightness matched"] = swapped
    rows["`cv2.inpaint` Telea"] = telea_fill(white, holes)
    rows["the white image"] = white
    return rows


def restorations(run_dirs, white, holes):
    """uint8 pasted restorations of one run, or of several as one."""
    from mouthgan.inference.generators import load_generators, runs_flip_average
    from mouthgan.inference.predict import paste, predict
    from mouthgan.evaluation.realism import to_uint8

    generator = load_generators([str(d) for d in run_dirs])  # runs or bundled:NAME
    raw = predict(generator, white, flip_average=runs_flip_average(run_dirs))
    return to_uint8(paste(raw, white / 255.0, holes))


def grained(faces, holes):
    """The restorations with the photo path's grain in their holes, at 128 px
    (``mouthgan.inference.photos.grain``): what grain does to FFD and identity."""
    from mouthgan.inference.photos.grain import add_grain

    return np.stack([np.clip(np.rint(add_grain(face, hole, seed=i)), 0, 255).astype(np.uint8)
                     for i, (face, hole) in enumerate(zip(faces, holes))])


def mean_texture(faces, holes):
    """The mean over faces of the hole's fine detail against the skin around it
    (``texture_ratio``), at the frame's 128 px."""
    from mouthgan.evaluation.metrics import texture_ratio

    return float(np.nanmean([texture_ratio(face, hole) for face, hole in zip(faces, holes)]))


def d_accuracy_second_half(run_dir):
    """D's mean accuracy over the second half of a run's steps (history.csv)."""
    import pandas as pd

    history = pd.read_csv(run_dir / "history.csv")
    return float(history["d_acc"].iloc[len(history) // 2:].mean())


def row(name, scores, texture, d_acc=None):
    return (f"| {name} | {scores['rmse']:.4f} | {scores['ffd']:.3f} | "
            f"{scores['identity']:.3f} | {scores['mouth_lmd']:.2f} | {texture:.2f} | "
            f"{'-' if d_acc is None else f'{d_acc:.2f}'} |")


def picture(points, path):
    """The perception-distortion plane: RMSE (x) against FFD (y), one labelled point
    per restorer; lower-left is better on both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 5.5))
    for name, (rmse, ffd) in points.items():
        axes.scatter(rmse, ffd, s=22)
        axes.annotate(name.replace("`", ""), (rmse, ffd), fontsize=7,
                      xytext=(4, 3), textcoords="offset points")
    axes.set_xscale("log")
    axes.set_xlabel("RMSE, pasted (Kaggle), log scale")
    axes.set_ylabel("FFD to the training faces (lower: more face-like)")
    axes.set_title("Validation faces: distortion against realism")
    axes.grid(alpha=0.3)
    figure.subplots_adjust(left=0.1, right=0.97, top=0.93, bottom=0.1)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"{path}: written")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="seeds of the preset runs (several: also each preset's runs "
                             "as one)")
    parser.add_argument("--presets", nargs="*", default=[p.name for p in PRESETS],
                        choices=[p.name for p in PRESETS], help="the presets to score (given with "
                        "none: only --models and --levers)")
    parser.add_argument("--levers", nargs="*", metavar="NAME", choices=[e.name for e in LEVERS],
                        help="also the realism levers: these, or all of them")
    parser.add_argument("--lever-seeds", type=int, nargs="+", default=None,
                        help="seeds of the lever runs (default: the first of --seeds; "
                             "several: also each lever's runs as one)")
    parser.add_argument("--models", nargs="+", default=[], metavar="MODEL",
                        help="also these trained models (bundled:NAME, a run, a .keras file)")
    parser.add_argument("--grain", action="store_true", help="also each --models row with "
                        "the photo path's grain in the hole")
    parser.add_argument("--dry-run", action="store_true", help="list what would be trained")
    parser.add_argument("--picture", type=Path, help="draw the perception-distortion "
                        "plane into this PNG")
    parser.add_argument("--faces", type=Path, help="draw six Validation faces side by side "
                        "into this PNG: white, each preset's seed-0 restoration, real (CelebA "
                        "faces, whose terms allow no redistribution: for your own eyes)")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--section", default="", help="with --write: a section of its own "
                        "under this name (e.g. the photo recipe over seeds) instead of the "
                        "main table")
    args = parser.parse_args()
    if not (ROOT / "NLP_data" / "Training").exists():
        raise SystemExit("error: NLP_data/ has no data; build it with "
                         "python scripts/make_dataset.py")

    experiments = [p for p in PRESETS if p.name in args.presets]
    trained = {}  # experiment -> its run folders, one per seed
    levers = [] if args.levers is None else [e for e in LEVERS
                                             if not args.levers or e.name in args.levers]
    lever_seeds = args.lever_seeds or args.seeds[:1]
    seeds_of = {}
    for exp in experiments + levers:
        seeds_of[exp] = args.seeds if exp in experiments else lever_seeds
        dirs = [ensure_run(exp.name, exp.flags, seed, args.dry_run) for seed in seeds_of[exp]]
        trained[exp] = [d for d in dirs if d is not None]
    if args.dry_run:
        return

    from mouthgan.data.faces import load_dataset
    from mouthgan.data.holes import find_holes
    from mouthgan.evaluation.realism import RealismJudge
    from mouthgan.data.sample_data import default_cache_dir

    dataset = load_dataset(ROOT / "NLP_data", notes=lambda message: None)
    real, white = dataset.validation.real, dataset.validation.white
    holes = find_holes(white)
    judge = RealismJudge(real, dataset.train.real, cache_dir=default_cache_dir())
    lines = ["| restorer | RMSE | FFD ↓ | identity ↓ | mouth LMD (px) ↓ | texture | "
             "D accuracy, 2nd half |", "| --- | --- | --- | --- | --- | --- | --- |"]
    points = {}

    def add(name, faces, d_acc=None, short=None):
        scores = judge(faces)
        lines.append(row(name, scores, mean_texture(faces, holes), d_acc))
        points[short or name] = (max(scores["rmse"], 1e-3), scores["ffd"])
        print(lines[-1], flush=True)

    for name, faces in calibration(real, white, holes).items():
        add(name, faces, short=name.split(",")[0] if "blurred" not in name else
            f"blur sigma {name.rsplit(' ', 1)[-1]}")
    for model in args.models:
        faces = restorations([model], white, holes)
        add(f"`{model}`", faces, short=model)
        if args.grain:
            add(f"`{model}`, grain in the hole", grained(faces, holes),
                short=f"{model} + grain")
    for exp, dirs in trained.items():
        for seed, run_dir in zip(seeds_of[exp], dirs):
            add(f"`{' '.join(exp.flags)}`, seed {seed}", restorations([run_dir], white, holes),
                d_accuracy_second_half(run_dir), short=f"{exp.name} s{seed}")
        if len(dirs) > 1:
            add(f"`{' '.join(exp.flags)}`, seeds {' / '.join(map(str, seeds_of[exp]))} as one",
                restorations(dirs, white, holes), short=f"{exp.name} x{len(dirs)}")

    command = shlex.join(["python", "benchmarks/realism.py", *sys.argv[1:]])
    text = f"`{command}`\n\n" + "\n".join(lines) + (
        "\n\nFFD: Fréchet distance between dlib's face-recognition embeddings of the "
        "restored faces and of the 700 training faces; identity: mean L2 distance of each "
        "restored face's embedding to its real face's; mouth LMD: mean distance of the 20 "
        "mouth points of dlib's 68-point model; texture: the RMS of the fine detail (the "
        "face less its 1-px blur) inside the hole over the same 3-12 px around it, mean "
        "over faces (the real faces: their own mouths' figure). The real faces are the "
        "floor of FFD (282 against 700 faces of the same kind). Each face is read inside "
        "the box the face detector finds on its real face (else 8..120 in both "
        "directions).")
    if args.picture:
        picture(points, args.picture)
    if args.faces:
        from mouthgan.evaluation.plots import comparison_grid

        shown = np.linspace(0, len(real) - 1, 6).astype(int)
        columns = [("white", white[shown] / 255.0)]
        columns += [(exp.name, restorations(dirs[:1], white[shown], holes[shown]) / 255.0)
                    for exp, dirs in trained.items() if exp in experiments and dirs]
        columns.append(("real", real[shown] / 255.0))
        comparison_grid(columns, args.faces, "Validation faces, seed 0")
        print(f"{args.faces}: written")
    if args.write:
        marker = "realism.py" + (f":{args.section}" if args.section else "")
        heading = "Realism as face networks see it (`benchmarks/realism.py`)"
        write_section(marker, heading + (f": {args.section}" if args.section else ""), text)


if __name__ == "__main__":
    main()
