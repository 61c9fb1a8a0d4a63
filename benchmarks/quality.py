"""Quality of each preset, the levers behind `best`, and the spread over seeds.

    python benchmarks/quality.py                          # the presets, seed 0 (~1 hour)
    python benchmarks/quality.py --levers --seeds 0 1 2 --write

Each experiment below has a stable name and its full `scripts/train.py` flags; it is
trained into `runs/bench-<name>-seed<S>` (``bench_runs.ensure_run``, shared with
`benchmarks/baseline.py`) and read back from the run's `scores.json` and
`summary.json`. A run that finished is not trained again (move its folder away to
measure it anew), and one trained with other settings is refused. Tables: identity,
Telea (when OpenCV is installed) and each preset; one row per lever, each evaluated with
and without flip averaging; the presets over seeds. `--write` puts them into
benchmarks/RESULTS.md.
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_runs import ensure_run, read_run  # noqa: E402
from results_file import write_section  # noqa: E402


@dataclass(frozen=True)
class Experiment:
    name: str  # stable: its runs are runs/bench-<name>-seed<S>
    what: str
    flags: tuple  # every scripts/train.py flag it trains with


def experiment(name, what, *flags):
    return Experiment(name, what, flags)


PRESETS = [experiment(p, f"the {p} preset", "--preset", p)
           for p in ("handout", "strong-baseline", "best", "photo")]

# The levers, each measured once at seed 0. The lever runs train with
# --no-flip-average: every row is evaluated with and without it. The steps toward
# `best`, as full flags: batches of 32, 4x the handout's widths for 3000 steps, 6x for
# 2000 steps, 10x for 2500 steps, at learning rate 2e-4 unless named, in float32
# unless named.
NO_FLIP_AVERAGE = ("--no-flip-average",)
BEST_BATCH_32 = ("--preset", "best", "--batch-size", "32", "--sample-every", "500",
                 "--eval-every", "500", "--checkpoint-every", "500")
BEST_X4 = (*BEST_BATCH_32, "--generator-filters", "16", "32", "64", "128", "128",
           "--steps", "3000", "--precision", "float32", "--lr", "2e-4")
BEST_X6 = (*BEST_BATCH_32, "--generator-filters", "24", "48", "96", "192", "192",
           "--steps", "2000", "--precision", "float32", "--lr", "2e-4")
BEST_X6_BF16 = (*BEST_X6[:-4], "--precision", "mixed_bfloat16", "--lr", "2e-4")
LEVERS = [
    experiment("uniform-l1", "flips, uniform L1 (the handout's loss)",
               "--hole-weight", "1", *NO_FLIP_AVERAGE),
    experiment("uniform-l1-ema", "flips, uniform L1, EMA 0.999",
               "--hole-weight", "1", "--ema", "0.999", *NO_FLIP_AVERAGE),
    experiment("hole-10", "hole weight 10 (the default's)", *NO_FLIP_AVERAGE),
    experiment("hole-30", "hole weight 30", "--hole-weight", "30", *NO_FLIP_AVERAGE),
    experiment("l2", "L2 x1000 instead of L1 x100",
               "--reconstruction", "l2", "--loss-weights", "1", "1000", *NO_FLIP_AVERAGE),
    experiment("dropout", "dropout 0.5 in the decoder", "--dropout", "0.5", *NO_FLIP_AVERAGE),
    experiment("x4", "G widths x4", "--generator-filters", "16", "32", "64", "128", "128",
               *NO_FLIP_AVERAGE),
    experiment("best-x4-no-jitter", "G widths x4, EMA 0.999", *BEST_X4, "--jitter", "0"),
    experiment("best-x4", "+ brightness/contrast jitter 0.1 (a step toward `best`)",
               *BEST_X4),
    experiment("best-x4-jitter-0.2", "best x4, jitter 0.2", *BEST_X4, "--jitter", "0.2"),
    experiment("best-x4-linear-decay", "best x4, pix2pix's linear learning-rate decay",
               *BEST_X4, "--lr-decay", "linear"),
    experiment("best-x4-l2", "best x4, L2 x1000 instead of L1 x100",
               *BEST_X4, "--reconstruction", "l2", "--loss-weights", "1", "1000"),
    experiment("best-x4-instance-norm", "best x4, instance instead of batch normalisation",
               *BEST_X4, "--norm", "instance"),
    experiment("best-x4-six-levels", "best x4 with a sixth level (bottleneck 2x2)",
               *BEST_BATCH_32, "--generator-filters", "16", "32", "64", "128", "128", "128",
               *BEST_X4[len(BEST_BATCH_32) + 6:]),
    experiment("best-x4-adversarial-0.1", "best x4, adversarial loss weighted 0.1",
               *BEST_X4, "--loss-weights", "0.1", "100"),
    experiment("best-x6", "G widths x6, 2000 steps (a step toward `best`)", *BEST_X6),
    experiment("best-x6-weight-decay", "best x6, AdamW weight decay 1 on G's kernels",
               *BEST_X6, "--weight-decay", "1.0"),
    experiment("best-x6-bf16", "best x6, G in mixed bfloat16", *BEST_X6_BF16),
    experiment("best-x6-bf16-mixup", "best x6 bf16, mixup (Beta(0.2, 0.2) blends)",
               *BEST_X6_BF16, "--mixup", "0.2"),
    experiment("best-x6-bf16-context", "best x6 bf16, a fully connected context layer "
               "(32 channels) at the bottleneck", *BEST_X6_BF16, "--global-context", "32"),
    experiment("best-x6-bf16-lr-1e-4", "best x6 bf16, learning rate 1e-4",
               *BEST_X6_BF16[:-1], "1e-4"),
    experiment("best-x6-bf16-lr-4e-4", "best x6 bf16, learning rate 4e-4",
               *BEST_X6_BF16[:-1], "4e-4"),
    experiment("best-x10-lr-2e-4", "G widths x10, 2500 steps, G in bfloat16 on AMX "
               "(a step toward `best`)", *BEST_BATCH_32, "--steps", "2500", "--lr", "2e-4"),
    experiment("best-batch-32", "+ learning rate 4e-4, G and D (`best` in batches of 32)",
               *BEST_BATCH_32, "--steps", "2500"),
    experiment("best", "+ batches of 16 for twice the steps (`best`)", "--preset", "best"),
]
# The presets whose spread over seeds is tabulated (--seeds).
SEED_STUDIES = [e for e in PRESETS if e.name in ("strong-baseline", "best")]


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
    from mouthgan.evaluation.report import telea_scores

    lines = list(HEADER)
    identity = None
    for experiment in PRESETS:
        run_dir = ensure_run(experiment.name, experiment.flags, seed, dry_run)
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
        lines.append(metric_row(f"`{' '.join(experiment.flags)}`", scores, summary))
    return lines


def levers_table(seed, dry_run):
    from mouthgan.data.faces import load_dataset
    from mouthgan.evaluation.scores import Evaluator
    from mouthgan.inference.generators import load_generator

    dataset = load_dataset(ROOT / "NLP_data", notes=lambda message: None)
    evaluators = [Evaluator(split, flip_average=flip) for split in
                  (dataset.validation, dataset.test) for flip in (False, True)]
    lines = ["| experiment | what | flags | Validation pasted | ... with flip averaging | "
             "Test pasted | ... with flip averaging | training time | G parameters |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for experiment in LEVERS:
        run_dir = ensure_run(experiment.name, experiment.flags, seed, dry_run)
        if run_dir is None:
            continue
        _, summary = read_run(run_dir)
        generator = load_generator(run_dir)
        # scores.json holds what the run's own setting gave; measure both ways here
        rmses = " | ".join(f"{evaluate(generator)['val_rmse_pasted']:.4f}"
                           for evaluate in evaluators)
        lines.append(f"| {experiment.name} | {experiment.what} | "
                     f"`{' '.join(experiment.flags)}` | {rmses} | {_seconds(summary)} | "
                     f"{generator.count_params():,} |")
    return lines


def _seconds(summary):
    return f"{summary['train_seconds']:.0f} s" if summary else "-"


def seeds_table(experiment, seeds, dry_run):
    import numpy as np

    values = {"test": [], "validation": []}
    lines = ["| seed | Test pasted | Validation pasted | training time |",
             "| --- | --- | --- | --- |"]
    for seed in seeds:
        run_dir = ensure_run(experiment.name, experiment.flags, seed, dry_run)
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
    parser.add_argument("--seed", type=int, default=0, help="seed of the preset and lever runs")
    parser.add_argument("--seeds", type=int, nargs="*", default=[],
                        help="also train strong-baseline and best with these seeds and "
                             "report mean and range")
    parser.add_argument("--levers", action="store_true", help="also run the lever table")
    parser.add_argument("--dry-run", action="store_true", help="list what would be trained")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    if not (ROOT / "NLP_data" / "Training").exists():
        raise SystemExit("error: NLP_data/ has no data; build it with "
                         "python scripts/make_dataset.py")
    sections = [(f"Presets (seed {args.seed})", presets_table(args.seed, args.dry_run))]
    if args.levers:
        sections.append((f"Levers, one at a time (seed {args.seed})",
                         levers_table(args.seed, args.dry_run)))
    if args.seeds:
        sections += [(f"`{' '.join(e.flags)}` over seeds",
                      seeds_table(e, args.seeds, args.dry_run)) for e in SEED_STUDIES]
    text = "\n\n".join(f"**{title}**:\n\n" + "\n".join(lines) for title, lines in sections)
    text += ("\n\nTraining time is each run's own `summary.json` (\"-\": a run made before it "
             "existed); runs that shared the cores with other work show up to 2x their "
             "undisturbed time.")
    print(text)
    if args.write and not args.dry_run:
        write_section("quality.py", "Quality of the presets (`benchmarks/quality.py`)", text)


if __name__ == "__main__":
    main()
