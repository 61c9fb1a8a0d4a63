"""Predict the test images and write the Kaggle CSV (the handout's image_to_csv.py).

    python scripts/image_to_csv.py [--input NLP_data/Test/White] [--model RUN]...
                                   [--out Predict.csv] [--no-composite] [--save-images DIR]
                                   [--[no-]flip-average] [--runtime auto|numpy|keras]
"""

import argparse
from pathlib import Path

from mouthgan import MouthganError
from mouthgan.util import cli
from mouthgan.inference.bundled import models_to_use


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--input", default="NLP_data/Test/White",
                        help="folder of white (mouth-painted) test images")
    parser.add_argument("--model", action="append", metavar="MODEL",
                        help="a generator .keras file, a run directory or bundled:NAME "
                             "(default: runs/latest, else bundled:default, the model that "
                             "ships with mouthgan); given more than once, the mean of their "
                             "predictions (an ensemble, e.g. runs of other seeds)")
    parser.add_argument("--out", default="Predict.csv", help="the CSV to write")
    parser.add_argument("--no-composite", action="store_true",
                        help="write the raw generator output instead of pasting it into "
                             "the white hole only")
    parser.add_argument("--save-images", metavar="DIR", default=None,
                        help="also write the predicted images as PNG")
    parser.add_argument("--flip-average", action=argparse.BooleanOptionalAction, default=None,
                        help="average each prediction with the mirrored prediction of the "
                             "mirrored face (default: as the model's run was evaluated)")
    parser.add_argument("--runtime", choices=("auto", "numpy", "keras"), default="auto",
                        help="run the generator in NumPy (no TensorFlow import: ~3 s "
                             "faster) or Keras; auto: NumPy unless the model needs Keras")
    parser.add_argument("--batch-size", type=int, default=64, help="images per predict call")
    args = parser.parse_args(argv)
    args.model = models_to_use(args.model, "kaggle")
    if args.batch_size <= 0:
        raise MouthganError(f"--batch-size must be > 0, got {args.batch_size}")
    out = Path(args.out)
    if out.is_dir():
        raise MouthganError(f"{out}: is a folder; give the CSV's file name, "
                            f"e.g. {out / 'Predict.csv'}")

    cli.skip_matplotlib()
    from mouthgan.data.faces import list_images, read_images
    from mouthgan.inference.kaggle_csv import write_csv
    from mouthgan.inference.generators import load_generators, runs_flip_average
    from mouthgan.inference.predict import restore

    files = list_images(args.input)
    generator = load_generators(args.model, runtime=args.runtime)
    size = generator.input_shape[1]
    whites = read_images(files, size)
    flip_average = (runs_flip_average(args.model) if args.flip_average is None
                    else args.flip_average)
    images = restore(generator, whites, composite=not args.no_composite,
                     batch_size=args.batch_size, flip_average=flip_average)
    for folder in (out.parent, Path(args.save_images) if args.save_images else None):
        if folder is not None and not folder.exists():
            try:
                folder.mkdir(parents=True)
            except OSError as exc:
                raise MouthganError(f"{folder}: cannot create this folder ({exc.strerror})")
            print(f"{folder}: created")
    if args.save_images:
        save_pngs(images, [f.stem for f in files], Path(args.save_images))
    write_csv(images, out)
    for i, f in enumerate(files):
        print(f"id{i} <- {f.name}")
    kind = "raw output" if args.no_composite else "pasted into the hole"
    kind += ", flip-averaged" if flip_average else ""
    kind += f", the mean of {len(args.model)} models" if len(args.model) > 1 else ""
    print(f"{args.out}: {len(files)} images x {size * size} pixels ({kind})")
    return 0


def save_pngs(images01, stems, folder):
    import numpy as np
    from PIL import Image

    from mouthgan.util.atomic import atomic_path

    for image, stem in zip(images01, stems):
        with atomic_path(folder / f"{stem}.png") as tmp:
            Image.fromarray(np.round(image * 255).astype(np.uint8)).save(tmp)



def entry():
    """The console command ``mouthgan-image-to-csv``."""
    cli.run(main)
