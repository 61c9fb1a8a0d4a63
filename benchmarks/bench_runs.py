"""The benchmark runs: one folder per experiment and seed, ``runs/bench-<name>-seed<S>``,
trained once and read back by every benchmark script."""

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs"


# Settings that say where and how often, not what is trained.
NOT_COMPARED = {"run_dir", "data", "sample_every", "eval_every", "checkpoint_every"}


def check_settings(run_dir, flags, seed):
    """Refuse to reuse a run trained with other settings than the ones asked for (a
    preset whose meaning changed since, say); older runs lack newer fields, which then
    count as their defaults."""
    import argparse
    import dataclasses

    from mouthgan.config import TrainConfig, add_flags, config_from_args

    parser = add_flags(argparse.ArgumentParser())
    wanted = config_from_args(parser.parse_args([*flags, "--seed", str(seed)]))
    saved = json.loads((run_dir / "config.json").read_text())["config"]
    had = TrainConfig.from_dict({k: v for k, v in saved.items()
                                 if k in {f.name for f in dataclasses.fields(TrainConfig)}})
    # A run records what "auto" resolved to (the precision, the strategy) on its machine.
    differ = [f"{f.name} {getattr(had, f.name)} (asked {getattr(wanted, f.name)})"
              for f in dataclasses.fields(TrainConfig)
              if f.name not in NOT_COMPARED and getattr(wanted, f.name) != "auto"
              and getattr(had, f.name) != getattr(wanted, f.name)]
    if differ:
        raise SystemExit(f"error: {run_dir} was trained with other settings: "
                         f"{'; '.join(differ)}. Move it away to train it anew.")


def ensure_run(name, flags, seed, dry_run=False):
    """The folder of experiment ``name`` (``flags``: its scripts/train.py flags) at
    ``seed``, trained first unless it finished before; an unfinished one is resumed."""
    run_dir = RUNS / f"bench-{name}-seed{seed}"
    if (run_dir / "config.json").exists():
        check_settings(run_dir, flags, seed)
    if (run_dir / "scores.json").exists():
        return run_dir
    if dry_run:
        print(f"would train: {' '.join(flags)} --seed {seed} -> {run_dir}")
        return None
    if run_dir.exists():  # an unfinished run: continue it
        command = ["--resume", str(run_dir)]
    else:
        command = [*flags, "--seed", str(seed), "--run-dir", str(run_dir)]
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
