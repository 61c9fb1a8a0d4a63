"""Training at scale: replicas, streamed input, and memory against the number of faces.

    python benchmarks/scale.py            # the tables (~10 minutes on 2 CPU cores)
    python benchmarks/scale.py --write    # ... and put them into benchmarks/RESULTS.md
    python benchmarks/scale.py --only replicas   # one table

Every figure comes from a fresh Python process training the default run's network and
step on the default data (NLP_data, built if absent), driven by ``fit()`` as
``scripts/train.py`` drives it, without evaluation or checkpoints:

- ms/step and images/s on 1 device and on 2 replicas (``MirroredStrategy``). On a
  machine with 2+ GPUs the replicas are GPUs; elsewhere the CPU is split into two
  logical devices, which share its cores: that measures the cost of distribution, not
  a speed-up.
- in-memory against streamed input (``--input memory|stream``) on the same faces,
  alternated in one invocation, with their ratio;
- peak memory (the process's peak RSS) of a streamed and an in-memory run against the
  number of training faces: 700, 5,000 and 20,000 (hard links to the default data's
  700 pairs under new names: every one is read from disk like any other file).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))

from results_file import write_section  # noqa: E402

BATCH = 32  # the default run's batch, which every child trains with


# --------------------------------------------------------------------------- child

def child(spec):
    """Train ``spec["steps"]`` steps after ``spec["warmup"]``; print the figures."""
    import resource

    if spec.get("replicas", 1) > 1 and not spec.get("gpus"):
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * spec["replicas"])
    import tensorflow as tf

    from mouthgan.config import resolve
    from mouthgan.data.faces import load_dataset
    from mouthgan.training.engine_factory import make_engine
    from speed import step_timer_class

    config = resolve("strong-baseline", data=spec["data"], input=spec["input"],
                     batch_size=BATCH)
    strategy = None
    if spec.get("replicas", 1) > 1:
        kind = "GPU" if spec.get("gpus") else "CPU"
        names = [d.name for d in tf.config.list_logical_devices(kind)][:spec["replicas"]]
        strategy = tf.distribute.MirroredStrategy(names)
    dataset = load_dataset(spec["data"], read_training=False)
    engine = make_engine(config, dataset.train, strategy)
    times = []
    engine.run(spec["warmup"] + spec["steps"], callbacks=[step_timer_class()(times)])
    steady = times[spec["warmup"]:]
    median = statistics.median(steady)
    print("RESULT " + json.dumps({
        "ms_per_step": 1000 * median, "images_per_s": config.batch_size / median,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "source": type(engine.source).__name__}))


def run_child(**spec):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                            capture_output=True, text=True, env=env, timeout=3600)
    if result.returncode:
        raise SystemExit(f"child {spec} failed:\n{result.stderr[-3000:]}")
    line = next(l for l in result.stdout.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


# --------------------------------------------------------------------------- parent

def faces_folder(source, root, n):
    """``n`` training pairs as hard links to ``source``'s (Validation linked too)."""
    names = sorted(p.name for p in (source / "Training/Real").iterdir())
    for role in ("Real", "White"):
        folder = root / "Training" / role
        folder.mkdir(parents=True)
        for i in range(n):
            os.link(source / "Training" / role / names[i % len(names)],
                    folder / f"{i:06d}{Path(names[i % len(names)]).suffix}")
    os.symlink((source / "Validation").resolve(), root / "Validation")
    return root


def machine():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return gpus, f"{cpu}, {os.cpu_count()} cores" + (f", {len(gpus)} GPU(s)" if gpus else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=60, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternations of in-memory and streamed input")
    parser.add_argument("--faces", type=int, nargs="+", default=[700, 5000, 20000])
    parser.add_argument("--only", choices=("replicas", "input", "memory"),
                        help="one table (printed, never written)")
    parser.add_argument("--write", action="store_true", help="update RESULTS.md")
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))

    from train import load_or_build

    data = Path("NLP_data")
    load_or_build(str(data))
    gpus, where = machine()
    timing = dict(data=str(data), steps=args.steps, warmup=args.warmup)
    lines = [f"Machine: {where}; TensorFlow's default threads. Default run's network and "
             f"step (strong-baseline, batch 32), median of {args.steps} steps after "
             f"{args.warmup}.", ""]

    tables = {"replicas", "input", "memory"} if not args.only else {args.only}
    if "replicas" in tables:  # 1 vs 2 replicas, alternated
        devices = "GPUs" if len(gpus) > 1 else "logical devices on one CPU"
        lines += ["| replicas | ms/step, each round | median | images/s |", "|---|---|---|---|"]
        runs = {1: [], 2: []}
        for _ in range(args.rounds):
            for replicas in runs:
                runs[replicas].append(run_child(**timing, input="memory", replicas=replicas,
                                                gpus=len(gpus) > 1)["ms_per_step"])
                print(replicas, "replicas", f"{runs[replicas][-1]:.1f} ms/step", flush=True)
        for replicas, times in runs.items():
            median = statistics.median(times)
            lines.append(f"| {replicas}{'' if replicas == 1 else f' ({devices})'} | "
                         f"{' / '.join(f'{t:.1f}' for t in times)} | {median:.1f} | "
                         f"{1000 * BATCH / median:.0f} |")
    if "input" in tables:
        lines += input_table(args, timing)
    if "memory" in tables:
        lines += memory_table(args, data)
    text = "\n".join(lines)
    print(text)
    if args.write and not args.only:
        write_section("scale.py", "Training at scale (`benchmarks/scale.py`)", text)


def input_table(args, timing):
    """In-memory against streamed input, alternated."""

    rows = {"memory": [], "stream": []}
    for _ in range(args.rounds):
        for mode in rows:
            rows[mode].append(run_child(**timing, input=mode)["ms_per_step"])
            print(mode, f"{rows[mode][-1]:.1f} ms/step", flush=True)
    memory, stream = (statistics.median(rows[m]) for m in ("memory", "stream"))
    lines = ["", "| input (default data, 700 faces) | ms/step, each round | median |",
             "|---|---|---|"]
    for mode in rows:
        lines.append(f"| {mode} | {' / '.join(f'{t:.1f}' for t in rows[mode])} | "
                     f"{statistics.median(rows[mode]):.1f} |")
    lines.append(f"\nStreamed / in memory: **{stream / memory:.2f}x** the step time.")
    return lines


def memory_table(args, data):
    """Peak memory against the number of faces, streamed and in memory."""
    lines = ["", "| training faces | peak RSS, streamed (MB) | peak RSS, in memory (MB) |",
             "|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.faces:
            folder = faces_folder(data, Path(tmp) / f"faces{n}", n)
            peaks = [run_child(data=str(folder), steps=10, warmup=2, input=mode)["peak_mb"]
                     for mode in ("stream", "memory")]
            lines.append(f"| {n:,} | {peaks[0]:.0f} | {peaks[1]:.0f} |")
            print(lines[-1], flush=True)
    return lines


if __name__ == "__main__":
    sys.exit(main())
