"""Export a generator, with its paste into the mouth box, for another runtime:
TensorFlow SavedModel, LiteRT (TFLite) or ONNX.

    python scripts/export_model.py [MODEL] --format saved_model|litert|onnx --out PATH
                                   [--data NLP_data] [--[no-]flip-average]

MODEL: a run directory, a generator .keras file or bundled:NAME (default: runs/latest,
else bundled:default). The exported model takes gray faces framed as the training faces,
mouth box painted white, float32 0..1 of shape (n, 128, 128, 1), and returns them
restored. The export is loaded back by its own runtime and compared with the Keras model
on the Validation faces of --data (without a data set: 16 faces made from the package's
average face): the largest difference is printed, and a difference above 1e-4 fails.
"""

import argparse
import shutil
from pathlib import Path

from mouthgan import MouthganError
from mouthgan.util import cli
from mouthgan.inference.bundled import models_to_use

TOLERANCE = 1e-4  # float32 end to end: what the runtimes may differ by
SUFFIXES = {"saved_model": "", "litert": ".tflite", "onnx": ".onnx"}
RUNTIMES = {"saved_model": ("tensorflow",), "litert": ("ai_edge_litert",),
            "onnx": ("tf2onnx", "onnxruntime")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="run directory, .keras file or bundled:NAME")
    parser.add_argument("--format", required=True, choices=tuple(RUNTIMES))
    parser.add_argument("--out", required=True, help="the file (a folder for saved_model)")
    parser.add_argument("--data", default=None,
                        help="the faces to compare on (its Validation folder; default "
                             "NLP_data's, else faces made from the package's average face)")
    parser.add_argument("--flip-average", action=argparse.BooleanOptionalAction, default=None,
                        help="export the average with the mirrored face's restoration "
                             "(default: as the model's run was evaluated)")
    args = parser.parse_args(argv)
    [args.model] = models_to_use([args.model] if args.model else [], "kaggle")
    missing = [name for name in RUNTIMES[args.format] if not _importable(name)]
    if missing:
        raise MouthganError(f"--format {args.format} needs {', '.join(missing)}: "
                            "pip install -e '.[export]'")
    out = Path(args.out)
    suffix = SUFFIXES[args.format]
    if suffix and out.suffix != suffix:
        raise MouthganError(f"{out}: --format {args.format} writes a {suffix} file; "
                            f"name it so")
    if out.exists():
        raise MouthganError(f"{out}: exists; give --out a new path")
    validation = Path(args.data or "NLP_data") / "Validation"
    if args.data and not validation.is_dir():
        raise MouthganError(f"{validation}: no Validation faces to check the export on")

    cli.import_tensorflow()
    import numpy as np

    from mouthgan.data.faces import load_folder
    from mouthgan.inference.deploy import build_restorer, check_faces, export, load_runtime
    from mouthgan.inference.generators import load_generator, run_flip_average

    flip_average = (run_flip_average(args.model) if args.flip_average is None
                    else args.flip_average)
    restorer = build_restorer(load_generator(args.model), flip_average)
    partial = out.with_name(f".partial-{out.name}")  # LiteRT's exporter wants the suffix
    try:
        export(restorer, args.format, partial)
        if validation.is_dir():
            whites, _ = load_folder(validation / "White", notes=lambda message: None)
            checked_on = f"{len(whites)} Validation faces"
        else:  # a fresh clone: no data set needed to export a bundled model
            whites = check_faces()
            checked_on = f"{len(whites)} faces made from the package's average face"
        faces = whites[..., None].astype(np.float32) / 255.0
        expected = np.asarray(restorer(faces))
        exported = load_runtime(args.format, partial)(faces)
        difference = float(np.abs(exported - expected).max())
    except BaseException:
        _remove(partial)
        raise
    print(f"{args.format}: largest difference from Keras on {checked_on}: "
          f"{difference:.2g} (bound {TOLERANCE:g})")
    if difference > TOLERANCE:
        _remove(partial)
        raise MouthganError(f"{out}: the {args.format} export differs from Keras by "
                            f"{difference:.2g}; not written")
    partial.rename(out)
    print(f"{out}: written (takes (n, 128, 128, 1) float32 faces in 0..1, flip average "
          f"{'on' if flip_average else 'off'})")


def _remove(path):
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _importable(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None



def entry():
    """The console command ``mouthgan-export-model``."""
    cli.run(main)
