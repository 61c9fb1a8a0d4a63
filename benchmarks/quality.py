"""Quality of each preset, the levers behind `best`, and the spread over seeds.

    python benchmarks/quality.py                   # presets, seed 0 (~1 hour)
    python benchmarks/quality.py --ablation --default-seeds 0 1 2 --best-seeds 0 1 2 --write

Trains `scripts/train.py` on the default data into `runs/bench-<preset>-fused-seed<S><flags>`
(the names `benchmarks/baseline.py` uses) and
reads back each run's `scores.json` and `summary.json`; a run that already finished is
not trained again (delete its folder to measure it anew). Tables: identity, Telea (when
OpenCV is installed) and each preset with Test and Validation RMSE raw and pasted, hole
RMSE, PSNR, training time and parameter count; one row per lever in the ablation; mean
and range of `best` over seeds. `--write` puts them into benchmarks/RESULTS.md.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_file import write_section  # noqa: E402
RUNS = ROOT / "runs"
PRESET_ORDER = ("handout", "strong-baseline", "best")

# Levers on top of the strong baseline (the default), alone or stacked, then `best`.
# (label, preset, extra flags). Flip averaging needs no training: every row is
# evaluated with and without it, so the runs are trained with --no-flip-average.
PLAIN = ["--no-flip-average"]
# Earlier `best`s, which the levers below were measured on, in float32 (`best` now
# computes G in bfloat16 where the CPU has AMX): 4x the handout's widths for 3000 steps
# (until 2026-11-27), then 6x for 2000 steps (until session 6), then 10x wide for 2500
# steps at the handout's learning rate (until session 7); `best` now learns at 4e-4.
FLOAT32 = ["--precision", "float32"]
# Every `best` before session 7 learnt at the handout's 2e-4; `best` now learns at 4e-4.
LR_BEFORE_SESSION_7 = ["--lr", "2e-4"]


def before_session_7(flags):
    """An earlier `best`'s flags, with the learning rate it was trained at."""
    return flags if "--lr" in flags else [*flags, *LR_BEFORE_SESSION_7]


BEST_X4 = ["--generator-filters", "16", "32", "64", "128", "128", "--steps", "3000", *FLOAT32]
X6 = ["--generator-filters", "24", "48", "96", "192", "192", "--steps", "2000"]
BEST_X6 = [*X6, *FLOAT32]
X6_BF16 = [*X6, "--precision", "mixed_bfloat16"]  # session 7's test bed: ~20 min, two at a time
BEST_X10 = LR_BEFORE_SESSION_7  # `best` until session 7: 10x wide, the handout's learning rate
ABLATION = [
    ("flips, uniform L1 (the handout's loss)", "strong-baseline",
     ["--hole-weight", "1", *PLAIN]),
    ("flips, uniform L1, EMA 0.999", "strong-baseline",
     ["--hole-weight", "1", "--ema", "0.999", *PLAIN]),
    ("hole weight 10 (the strong-baseline default)", "strong-baseline", PLAIN),
    ("hole weight 30", "strong-baseline", ["--hole-weight", "30", *PLAIN]),
    ("hole weight 10, L2 x1000 instead of L1 x100", "strong-baseline",
     ["--reconstruction", "l2", "--loss-weights", "1", "1000", *PLAIN]),
    ("hole weight 10, dropout 0.5 in the decoder", "strong-baseline",
     ["--dropout", "0.5", *PLAIN]),
    ("hole weight 10, G widths x4", "strong-baseline",
     ["--generator-filters", "16", "32", "64", "128", "128", *PLAIN]),
    ("hole weight 10, G widths x4, EMA 0.999 (best without jitter)", "best",
     [*BEST_X4, "--jitter", "0"]),
    ("+ brightness/contrast jitter 0.1 (best until 2026-11-27)", "best", BEST_X4),
    ("best x4 with jitter 0.2", "best", [*BEST_X4, "--jitter", "0.2"]),
    ("best x4 with pix2pix's linear learning-rate decay", "best",
     [*BEST_X4, "--lr-decay", "linear"]),
    ("best x4 with L2 x1000 instead of L1 x100", "best",
     [*BEST_X4, "--reconstruction", "l2", "--loss-weights", "1", "1000"]),
    ("best x4 with instance instead of batch normalisation", "best",
     [*BEST_X4, "--norm", "instance"]),
    ("best x4 with a sixth level (bottleneck 2x2)", "best",
     ["--generator-filters", "16", "32", "64", "128", "128", "128", "--steps", "3000",
      *FLOAT32]),
    ("best x4 with the adversarial loss weighted 0.1 instead of 1", "best",
     [*BEST_X4, "--loss-weights", "0.1", "100"]),
    ("G widths x6, 2000 steps (best until session 6)", "best", BEST_X6),
    ("best x6 with AdamW weight decay 1 on G's kernels", "best",
     [*BEST_X6, "--weight-decay", "1.0"]),
    ("best x6 with G in mixed bfloat16", "best", X6_BF16),
    ("best x6 bf16 with mixup (Beta(0.2, 0.2) blends of two faces)", "best",
     [*X6_BF16, "--mixup", "0.2"]),
    ("best x6 bf16 with a fully connected context layer (32 channels) at the bottleneck",
     "best", [*X6_BF16, "--global-context", "32"]),
    ("best x6 bf16 with learning rate 1e-4 instead of 2e-4", "best",
     [*X6_BF16, "--lr", "1e-4"]),
    ("best x6 bf16 with learning rate 4e-4 instead of 2e-4", "best",
     [*X6_BF16, "--lr", "4e-4"]),
    ("G widths x10, 2500 steps, G in bfloat16 (AMX) (best until session 7)", "best", BEST_X10),
    ("best: + learning rate 4e-4 instead of 2e-4 (G and D)", "best", []),
]

ABLATION = [(label, preset, before_session_7(flags) if preset == "best" and flags else flags)
            for label, preset, flags in ABLATION]


def run_name(preset, flags, seed):
    """benchmarks/baseline.py's naming, so a run either script made counts for both."""
    tag = "".join(a.strip("-").replace(" ", "") for a in flags)
    return f"bench-{preset}-fused-seed{seed}{tag}"


# Settings that say where and how often, not what is trained.
NOT_COMPARED = {"run_dir", "data", "sample_every", "eval_every", "checkpoint_every"}


def check_settings(run_dir, preset, flags, seed):
    """Refuse to reuse a run trained with other settings than the ones asked for (a
    preset whose meaning changed since, say); older runs lack newer fields, which then
    count as their defaults."""
    import argparse
    import dataclasses

    from mouthgan.config import TrainConfig, add_flags, config_from_args

    parser = add_flags(argparse.ArgumentParser())
    wanted = config_from_args(parser.parse_args(["--preset", preset, "--seed", str(seed),
                                                 *flags]))
    saved = json.loads((run_dir / "config.json").read_text())["config"]
    had = TrainConfig.from_dict({k: v for k, v in saved.items()
                                 if k in {f.name for f in dataclasses.fields(TrainConfig)}})
    differ = [f"{f.name} {getattr(had, f.name)} (asked {getattr(wanted, f.name)})"
              for f in dataclasses.fields(TrainConfig)
              if f.name not in NOT_COMPARED and getattr(had, f.name) != getattr(wanted, f.name)]
    if differ:
        raise SystemExit(f"error: {run_dir} was trained with other settings: "
                         f"{'; '.join(differ)}. Move it away to train it anew.")


def ensure_run(preset, flags, seed, dry_run=False):
    """The run's folder, trained first unless it has finished before."""
    run_dir = RUNS / run_name(preset, flags, seed)
    if (run_dir / "config.json").exists():
        check_settings(run_dir, preset, flags, seed)
    if (run_dir / "scores.json").exists():
        return run_dir
    if dry_run:
        print(f"would train: {' '.join(['--preset', preset, *flags])} --seed {seed} -> {run_dir}")
        return None
    if run_dir.exists():  # an unfinished run: continue it
        command = ["--resume", str(run_dir)]
    else:
        command = ["--preset", preset, "--seed", str(seed), "--run-dir", str(run_dir), *flags]
    print(f"training: {run_dir.name}", flush=True)
    started = time.time()
    subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), "--quiet", *command],
                   check=True, cwd=ROOT)
    print(f"  done in {time.time() - started:.0f} s", flush=True)
    return run_dir


def read_run(run_dir):
    """scores.json, and summary.json (None for runs made before it existed)."""
    scores = json.loads((run_dir / "scores.json").read_text())
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    return scores, summary


def metric_row(name, scores, summary=None):
    test, val = scores.get("test", {}), scores["validation"]

    def get(split, kind, key, fmt="{:.4f}"):
        value = split.get(kind, {}).get(key)
        return fmt.format(value) if value is not None else "-"

    seconds = _seconds(summary)
    params = (f"{summary['generator_parameters'] + summary['discriminator_parameters']:,}"
              if summary else "-")
    return (f"| {name} | {get(test, 'pasted', 'rmse')} | {get(test, 'raw', 'rmse')} | "
            f"{get(val, 'pasted', 'rmse')} | {get(val, 'raw', 'rmse')} | "
            f"{get(val, 'pasted', 'rmse_hole')} | {get(val, 'pasted', 'psnr', '{:.2f}')} | "
            f"{seconds} | {params} |")


HEADER = ["| predictor | Test pasted | Test raw | Validation pasted | Validation raw | "
          "Validation hole RMSE | Validation PSNR dB (pasted) | training time | parameters |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]


def presets_table(seed, dry_run):
    from mouthgan.report import telea_scores

    lines = list(HEADER)
    identity = None
    for preset in PRESET_ORDER:
        run_dir = ensure_run(preset, [], seed, dry_run)
        if run_dir is None:
            continue
        scores, summary = read_run(run_dir)
        if identity is None:
            identity = {split: {"pasted": table["identity"], "raw": table["identity"]}
                        for split, table in scores.items()}
            lines.append(metric_row("white image (identity)", identity))
            telea = telea_scores(str(ROOT / "NLP_data"))
            if telea:
                lines.append(f"| cv2.inpaint Telea, radius 10 | {telea.get('test', 0):.4f} | "
                             f"- | {telea['validation']:.4f} | - | - | - | - | - |")
        lines.append(metric_row(f"`--preset {preset}`", scores, summary))
    return lines


def ablation_table(seed, dry_run):
    from mouthgan.data import load_dataset
    from mouthgan.inpaint import load_generator
    from mouthgan.training import Evaluator

    dataset = load_dataset(ROOT / "NLP_data", notes=lambda message: None)
    evaluators = [Evaluator(split, flip_average=flip) for split in
                  (dataset.validation, dataset.test) for flip in (False, True)]
    lines = ["| setting | flags | Validation pasted | ... with flip averaging | "
             "Test pasted | ... with flip averaging | training time | G parameters |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, preset, flags in ABLATION:
        run_dir = ensure_run(preset, flags, seed, dry_run)
        if run_dir is None:
            continue
        _, summary = read_run(run_dir)
        generator = load_generator(run_dir)
        # scores.json holds what the run's own setting gave; measure both ways here
        rmses = " | ".join(f"{evaluate(generator)['val_rmse_pasted']:.4f}"
                           for evaluate in evaluators)
        shown = " ".join([f"--preset {preset}"] * (preset != "strong-baseline") + flags)
        lines.append(f"| {label} | `{shown}` | {rmses} | {_seconds(summary)} | "
                     f"{generator.count_params():,} |")
    return lines


def _seconds(summary):
    return f"{summary['train_seconds']:.0f} s" if summary else "-"


def seeds_table(preset, seeds, dry_run, flags=()):
    import numpy as np

    values = {"test": [], "validation": []}
    lines = ["| seed | Test pasted | Validation pasted | training time |",
             "| --- | --- | --- | --- |"]
    for seed in seeds:
        run_dir = ensure_run(preset, list(flags), seed, dry_run)
        if run_dir is None:
            continue
        scores, summary = read_run(run_dir)
        for split in values:
            values[split].append(scores[split]["pasted"]["rmse"])
        lines.append(f"| {seed} | {scores['test']['pasted']['rmse']:.4f} | "
                     f"{scores['validation']['pasted']['rmse']:.4f} | {_seconds(summary)} |")
    if values["validation"]:
        lines.append("| mean (range) | " + " | ".join(
            f"{np.mean(v):.4f} ({min(v):.4f}-{max(v):.4f})" for v in values.values()) + " | |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the preset and ablation runs")
    parser.add_argument("--best-seeds", type=int, nargs="*", default=[],
                        help="also train `best` with these seeds and report mean and range")
    parser.add_argument("--default-seeds", type=int, nargs="*", default=[],
                        help="also train the default (strong-baseline) with these seeds")
    parser.add_argument("--ablation", action="store_true", help="also run the lever table")
    parser.add_argument("--dry-run", action="store_true", help="list what would be trained")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    if not (ROOT / "NLP_data" / "Training").exists():
        raise SystemExit("error: NLP_data/ has no data; build it with "
                         "python scripts/make_dataset.py")
    sections = [("Presets", presets_table(args.seed, args.dry_run))]
    if args.ablation:
        sections.append(("Levers, one at a time", ablation_table(args.seed, args.dry_run)))
    for title, preset, flags, seeds in (
            ("`strong-baseline` over seeds", "strong-baseline", [], args.default_seeds),
            ("`best` over seeds", "best", [], args.best_seeds),
            ("`best` until session 7 (`--preset best " + " ".join(BEST_X10) + "`) over seeds",
             "best", BEST_X10, args.best_seeds),
            ("`best` until session 6 (`--preset best " + " ".join(before_session_7(BEST_X6))
             + "`) over seeds",
             "best", before_session_7(BEST_X6), args.best_seeds),
            ("`best` until 2026-11-27 (`--preset best " + " ".join(before_session_7(BEST_X4))
             + "`) over seeds",
             "best", before_session_7(BEST_X4), args.best_seeds)):
        if seeds:
            sections.append((title, seeds_table(preset, seeds, args.dry_run, flags)))
    text = "\n\n".join(f"**{title}** (seed {args.seed}, 3000 steps unless the preset says "
                       f"otherwise):\n\n" + "\n".join(lines) if not title.endswith("over seeds")
                       else f"**{title}**:\n\n" + "\n".join(lines)
                       for title, lines in sections)
    text += ("\n\nTraining time is each run's own `summary.json` (\"-\": a run made before it "
             "existed); runs that shared the cores with other work show up to 2x their "
             "undisturbed time.")
    print(text)
    if args.write and not args.dry_run:
        write_section("quality.py", "Quality of the presets (`benchmarks/quality.py`)", text)



if __name__ == "__main__":
    main()
