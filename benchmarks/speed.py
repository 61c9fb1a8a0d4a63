"""Training speed: milliseconds per training step.

    python benchmarks/speed.py                 # the full table (~5 minutes)
    python benchmarks/speed.py --write         # ... and put it into benchmarks/RESULTS.md
    python benchmarks/speed.py --only fused --batches 32 --steps 100

Every configuration runs in a fresh Python process, on 700 random 128x128 training
pairs (step time does not depend on the pixels): the default (fused) engine driven by
``fit()`` as ``scripts/train.py`` drives it, the handout engine, and a plain PyTorch
peer of the same network and step when torch is installed
(``pip install -e ".[bench]"``, torch 2.13.0). Each reports the median, 10th and 90th percentile of
``--steps`` step times after ``--warmup`` steps. Peak memory is the peak RSS of
``scripts/train.py`` itself on the default data (evaluation and checkpoints included).
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_file import write_section  # noqa: E402
N_TRAIN = 700


# --------------------------------------------------------------------------- children

def synthetic_pairs(n=N_TRAIN, size=128, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    real = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
    white = real.copy()
    white[:, 84:112, 44:84] = 255
    return real, white


def synthetic_split():
    from mouthgan.data.faces import Split

    real, white = synthetic_pairs()
    return Split(white, real, [str(i) for i in range(len(real))])


def step_timer_class():
    import keras

    class StepTimer(keras.callbacks.Callback):
        """Appends each step's seconds to ``times``."""

        def __init__(self, times):
            super().__init__()
            self.times = times

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            # fit() hands callbacks the step's losses; reading one waits for the step
            float(logs["g_loss"])
            self.times.append(time.perf_counter() - self.start)
    return StepTimer


def time_keras(engine_name, batch, warmup, steps, flags):
    import tensorflow as tf

    from mouthgan.config import resolve
    from mouthgan.training.engine_factory import make_engine
    from mouthgan.training.pix2pix import Pix2Pix

    config = resolve("strong-baseline", engine=engine_name, batch_size=batch, **flags)
    engine = make_engine(config, synthetic_split())
    times = []
    if isinstance(engine, Pix2Pix):
        # Driven as scripts/train.py drives it: fit(), one epoch a step.
        engine.run(warmup + steps, callbacks=[step_timer_class()(times)])
    else:
        for _ in range(warmup + steps):
            start = time.perf_counter()
            float(engine.update(*engine.sample_batch())["g_loss"])
            times.append(time.perf_counter() - start)
    threads = {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
               "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}
    return times[warmup:], threads


def time_torch(batch, warmup, steps):
    """The same network and step in plain PyTorch: fakes from G in eval mode, D on the
    real then the fake pairs, G on MSE(D(fake), 1) + 100 * L1."""
    import numpy as np
    import torch
    from torch import nn

    torch.manual_seed(0)

    def bn(c):
        return nn.BatchNorm2d(c, momentum=0.2, eps=1e-3)  # Keras momentum 0.8

    class Down(nn.Module):
        def __init__(self, cin, cout, norm=True):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, 4, stride=2, padding=1)
            self.norm = bn(cout) if norm else nn.Identity()

        def forward(self, x):
            return self.norm(nn.functional.leaky_relu(self.conv(x), 0.2))

    class Up(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, 4, padding="same")
            self.norm = bn(cout)

        def forward(self, x, skip):
            x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
            return torch.cat([self.norm(torch.relu(self.conv(x))), skip], 1)

    class Generator(nn.Module):
        def __init__(self, f=(4, 8, 16, 32, 32)):
            super().__init__()
            self.down = nn.ModuleList([Down(1, f[0], False)] + [
                Down(f[i - 1], f[i]) for i in range(1, len(f))])
            ups, cin = [], f[-1]
            for i in range(len(f) - 2, -1, -1):
                ups.append(Up(cin, f[i]))
                cin = 2 * f[i]
            self.up = nn.ModuleList(ups)
            self.out = nn.Conv2d(cin, 1, 4, padding="same")

        def forward(self, x):
            skips = []
            for layer in self.down:
                x = layer(x)
                skips.append(x)
            for layer, skip in zip(self.up, reversed(skips[:-1])):
                x = layer(x, skip)
            x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
            return torch.tanh(self.out(x))

    class Discriminator(nn.Module):
        def __init__(self, f=(4, 8, 16, 32)):
            super().__init__()
            layers, cin = [], 2
            for i, c in enumerate(f):
                layers.append(Down(cin, c, norm=i > 0))
                cin = c
            self.body = nn.Sequential(*layers)
            self.head = nn.Conv2d(cin, 1, 4, padding="same")

        def forward(self, image, white):
            return self.head(self.body(torch.cat([image, white], 1)))

    G, D = Generator(), Discriminator()
    g_opt = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real_all, white_all = synthetic_pairs()
    real_all = torch.from_numpy(real_all[:, None].astype(np.float32) / 127.5 - 1)
    white_all = torch.from_numpy(white_all[:, None].astype(np.float32) / 127.5 - 1)
    mse = nn.functional.mse_loss
    times = []
    for _ in range(warmup + steps):
        start = time.perf_counter()
        index = torch.randint(0, len(real_all), (batch,))
        real, white = real_all[index], white_all[index]
        G.eval()
        with torch.no_grad():
            fake = G(white)
        D.train()
        for image, target in ((real, 1.0), (fake, 0.0)):
            d_opt.zero_grad()
            scores = D(image, white)
            mse(scores, torch.full_like(scores, target)).backward()
            d_opt.step()
        G.train()
        D.eval()
        D.requires_grad_(False)
        g_opt.zero_grad()
        fake = G(white)
        verdict = D(fake, white)
        loss = mse(verdict, torch.ones_like(verdict)) + 100 * (fake - real).abs().mean()
        loss.backward()
        g_opt.step()
        D.requires_grad_(True)
        float(loss)
        times.append(time.perf_counter() - start)
    return times[warmup:], {"torch_threads": torch.get_num_threads()}


def child(args):
    import numpy as np

    flags = json.loads(args.flags)
    if args.engine == "torch":
        times, threads = time_torch(args.batch, args.warmup, args.steps)
    else:
        times, threads = time_keras(args.engine, args.batch, args.warmup, args.steps, flags)
    ms = 1000 * np.asarray(times)
    print("RESULT " + json.dumps({
        "median": round(float(np.median(ms)), 1), "p10": round(float(np.percentile(ms, 10)), 1),
        "p90": round(float(np.percentile(ms, 90)), 1), "steps": len(ms), **threads}))


# --------------------------------------------------------------------------- parent

def measure(engine, batch, args, flags=None):
    command = [sys.executable, __file__, "--child", "--engine", engine, "--batch", str(batch),
               "--warmup", str(args.warmup), "--steps", str(args.steps),
               "--flags", json.dumps(flags or {})]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"error: {engine} at batch {batch} failed:\n{out.stderr[-2000:]}")
    return json.loads(line[len("RESULT "):])


def peak_rss_of_default_run(steps=200):
    """Peak RSS (GB) of ``scripts/train.py`` on the default data, evaluation included."""
    import shutil
    import tempfile

    if not (ROOT / "NLP_data" / "Training").exists():
        return None
    run_dir = Path(tempfile.mkdtemp()) / "run"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts/train.py"), "--quiet", "--steps", str(steps),
         "--eval-every", str(steps // 2), "--checkpoint-every", str(steps // 2),
         "--run-dir", str(run_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    _, status, usage = os.wait4(process.pid, 0)
    shutil.rmtree(run_dir.parent, ignore_errors=True)
    if status != 0:
        raise SystemExit("error: the default training run failed")
    return usage.ru_maxrss / 1024 ** 2  # kilobytes on Linux


def cpu_model():
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    model = re.search(r"model name\s*:\s*(.*)", info)
    amx = "amx_bf16" in info
    return f"{model.group(1) if model else 'unknown'}, {os.cpu_count()} cores" + (
        ", AMX-BF16" if amx else "")


def torch_available():
    try:
        import importlib.util
        return importlib.util.find_spec("torch") is not None
    except ImportError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--steps", type=int, default=60, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--only", choices=("fused", "handout", "torch"), default=None)
    parser.add_argument("--flags", default="{}", help="TrainConfig overrides, as JSON")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="fused", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    flags = json.loads(args.flags)
    plan = []
    if args.only in (None, "fused"):
        plan += [("fused", b) for b in args.batches]
    if args.only in (None, "handout"):
        plan += [("handout", 32)]
    if args.only in (None, "torch"):
        if torch_available():
            plan += [("torch", b) for b in args.batches]
        else:
            print("note: torch is not installed; the PyTorch peer is skipped "
                  "(pip install torch==2.13.0)")
    rows, results = [], {}
    for engine, batch in plan:
        result = measure(engine, batch, args, flags if engine != "torch" else None)
        results[(engine, batch)] = result
        print(f"{engine:8s} batch {batch:4d}: median {result['median']:7.1f} ms "
              f"(p10 {result['p10']:.1f}, p90 {result['p90']:.1f})", flush=True)
    for (engine, batch), r in results.items():
        torch_ms = results.get(("torch", batch), {}).get("median")
        ratio = f"{r['median'] / torch_ms:.2f}" if torch_ms and engine != "torch" else ""
        rows.append(f"| {engine} | {batch} | {r['median']:.1f} | {r['p10']:.1f} | "
                    f"{r['p90']:.1f} | {r['median'] / batch:.2f} | {ratio} |")
    rss = peak_rss_of_default_run() if args.only is None else None
    keras_threads = next((r for (e, _), r in results.items() if e != "torch"), {})
    torch_threads = next((r for (e, _), r in results.items() if e == "torch"), {})
    lines = [
        f"Machine: {cpu_model()}; Python {platform.python_version()}; "
        f"TensorFlow threads intra-op {keras_threads.get('intra_op', '?')} "
        f"(0 = TensorFlow's choice), inter-op {keras_threads.get('inter_op', '?')}; "
        f"torch threads {torch_threads.get('torch_threads', '-')}; oneDNN on "
        f"(TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}). "
        f"Settings: the handout's network, {flags or 'defaults'}; "
        f"{args.steps} timed steps after {args.warmup} warm-up, each configuration in a "
        "fresh process.",
        "",
        "| engine | batch | median ms/step | p10 | p90 | ms per image | vs PyTorch |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
    ]
    if rss is not None:
        lines += ["", f"Peak RSS of `scripts/train.py` on the default data (200 steps, "
                      f"evaluation and checkpoints included): {rss:.2f} GB."]
    text = "\n".join(lines)
    print("\n" + text)
    if args.write:
        write_section("speed.py", "Training speed (`benchmarks/speed.py`)", text)



if __name__ == "__main__":
    main()
