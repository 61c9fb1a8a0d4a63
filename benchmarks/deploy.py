"""The restorer in other runtimes: each export format read back by its own runtime,
compared with Keras on the 282 Validation faces, and timed per face; and the time from
a fresh clone to a first restored photo, with no training.

    python benchmarks/deploy.py [--models bundled:default bundled:photo]
                                [--formats saved_model litert onnx] [--first-photo] [--write]

Times are the best of three passes over the 282 faces, batches of 64, on this machine's
cores; the first-photo time is a clone of this repository, ``pip install -e
".[photos]"`` (every dependency already present, as on a second install) and
``restore.py`` on one photo.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = {"saved_model": "", "litert": ".tflite", "onnx": ".onnx"}


def seconds_per_face(run, faces, batch=64, passes=3):
    best = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        for i in range(0, len(faces), batch):
            run(faces[i:i + batch])
        best = min(best, time.perf_counter() - started)
    return best / len(faces)


def machine():
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((l.split(":", 1)[1].strip() for l in flags.splitlines()
                 if l.startswith("model name")), "unknown CPU")
    kind = "AMX" if "amx_bf16" in flags else "AVX-512" if "avx512f" in flags else "AVX2"
    return f"{name}, {kind}, {len(__import__('os').sched_getaffinity(0))} cores"


def first_photo(photo):
    """Seconds for clone, install, and one photo restored with the bundled model. The
    install goes into a virtual environment that sees this Python's packages, so the
    dependencies are there (as on a second install) and this checkout's stays as it is."""
    with tempfile.TemporaryDirectory() as tmp:
        clone, venv = Path(tmp) / "mouthgan", Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                       check=True)
        python = str(venv / "bin" / "python")
        steps = {}
        started = time.perf_counter()
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        steps["clone"] = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([python, "-m", "pip", "install", "-q", "-e", ".[photos]"],
                       cwd=clone, check=True, capture_output=True)
        steps["install"] = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([python, "scripts/restore.py", str(photo), "--out",
                        str(Path(tmp) / "restored")], cwd=clone, check=True,
                       capture_output=True)
        steps["one photo restored"] = time.perf_counter() - started
    return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["bundled:default", "bundled:photo"])
    parser.add_argument("--formats", nargs="+", default=list(SUFFIXES), choices=list(SUFFIXES))
    parser.add_argument("--first-photo", action="store_true",
                        help="also time a fresh clone to a first restored photo")
    parser.add_argument("--photo", default=None, help="the photo for --first-photo "
                        "(default: scikit-image's astronaut)")
    parser.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    args = parser.parse_args()

    from mouthgan.data.faces import load_folder
    from mouthgan.inference.deploy import build_restorer, export, load_runtime
    from mouthgan.inference.generators import load_generator, run_flip_average

    whites, _ = load_folder(ROOT / "NLP_data" / "Validation" / "White")
    faces = whites[..., None].astype(np.float32) / 255.0
    lines = ["| model | runtime | largest difference from Keras | ms per face |",
             "| --- | --- | --- | --- |"]
    for model in args.models:
        restorer = build_restorer(load_generator(model), run_flip_average(model))
        expected = np.asarray(restorer(faces))
        keras_ms = 1000 * seconds_per_face(lambda x: restorer(x), faces)
        lines.append(f"| `{model}` | Keras | 0 | {keras_ms:.2f} |")
        print(lines[-1], flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            for fmt in args.formats:
                path = Path(tmp) / f"restorer{SUFFIXES[fmt]}"
                export(restorer, fmt, path)
                run = load_runtime(fmt, path)
                difference = float(np.abs(run(faces) - expected).max())
                ms = 1000 * seconds_per_face(run, faces)
                lines.append(f"| `{model}` | {fmt} | {difference:.1g} | {ms:.2f} |")
                print(lines[-1], flush=True)
    text = (f"Machine: {machine()}.\n\n" + "\n".join(lines) +
            "\n\nEach export is the restorer (generator in inference mode, pasted into "
            "the box) as `scripts/export_model.py` writes it, float32 throughout; "
            "`export_model.py` refuses a difference above 1e-4.")
    if args.first_photo:
        photo = args.photo or Path(__import__("skimage").__file__).parent / "data/astronaut.png"
        steps = first_photo(photo)
        text += ("\n\nFrom a fresh clone to a first restored photo, no training (the "
                 "dependencies already installed, as on a second install): " +
                 ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()) +
                 f"; {sum(steps.values()):.1f} s in all.")
        print(text.splitlines()[-1])
    if args.write:
        write_section("deploy.py", "The restorer in other runtimes (`benchmarks/deploy.py`)",
                      text)


if __name__ == "__main__":
    main()
