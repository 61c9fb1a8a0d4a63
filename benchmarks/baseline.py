"""One benchmark run: an experiment of `benchmarks/quality.py`, or any flags, at a seed.

    python benchmarks/baseline.py [--experiment strong-baseline] [--seed 0] [FLAGS...]

Trains into `runs/bench-<name>-seed<S>` (the folder `quality.py` reads; FLAGS beyond
the experiment's own make the name `<experiment>+<flags>`), unless that run finished
before, then prints the pasted Test and Validation RMSE and the wall time as one JSON
line. The default takes ~5-13 minutes on 2 CPU cores.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_runs import ensure_run, read_run  # noqa: E402
from quality import LEVERS, PRESETS  # noqa: E402


def main():
    experiments = {e.name: e for e in PRESETS + LEVERS}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="strong-baseline", choices=sorted(experiments))
    parser.add_argument("--seed", type=int, default=0)
    args, extra = parser.parse_known_args()
    experiment = experiments[args.experiment]
    name = experiment.name + ("+" + "".join(a.strip("-") for a in extra) if extra else "")
    started = time.time()
    run_dir = ensure_run(name, [*experiment.flags, *extra], args.seed)
    scores, _ = read_run(run_dir)
    print(json.dumps({"run": run_dir.name, "flags": [*experiment.flags, *extra],
                      "test_pasted": round(scores["test"]["pasted"]["rmse"], 4),
                      "test_raw": round(scores["test"]["raw"]["rmse"], 4),
                      "val_pasted": round(scores["validation"]["pasted"]["rmse"], 4),
                      "val_raw": round(scores["validation"]["raw"]["rmse"], 4),
                      "wall_s": round(time.time() - started)}))


if __name__ == "__main__":
    main()
