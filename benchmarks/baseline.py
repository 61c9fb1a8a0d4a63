"""Acceptance run of issue "Training": the default settings on the default data.

    python benchmarks/baseline.py [--seed 0] [--engine fused]

Trains `scripts/train.py` with no flags but a fixed run directory and seed, then
prints the pasted Test and Validation RMSE and the wall time, for benchmarks/RESULTS.md.
Takes ~10 minutes on 2 CPU cores.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", default="fused")
    parser.add_argument("--preset", default="strong-baseline")
    args, extra = parser.parse_known_args()
    tag = "".join(a.strip("-").replace(" ", "") for a in extra)
    run_dir = ROOT / "runs" / f"bench-{args.preset}-{args.engine}-seed{args.seed}{tag}"
    if run_dir.exists():
        sys.exit(f"error: {run_dir} exists; remove it to measure again")
    started = time.time()
    subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), "--quiet",
                    "--preset", args.preset, "--engine", args.engine,
                    "--seed", str(args.seed), "--run-dir", str(run_dir), *extra],
                   check=True, cwd=ROOT)
    wall = time.time() - started
    scores = json.loads((run_dir / "scores.json").read_text())
    row = {"preset": args.preset, "engine": args.engine, "seed": args.seed, "extra": extra,
           "test_pasted": round(scores["test"]["pasted"]["rmse"], 4),
           "test_raw": round(scores["test"]["raw"]["rmse"], 4),
           "val_pasted": round(scores["validation"]["pasted"]["rmse"], 4),
           "val_raw": round(scores["validation"]["raw"]["rmse"], 4),
           "wall_s": round(wall)}
    print(json.dumps(row))


if __name__ == "__main__":
    main()
