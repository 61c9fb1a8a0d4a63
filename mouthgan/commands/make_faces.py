"""Make training faces from your own photos: every face found and framed as the
training faces are, written in the data layout train.py reads.

    python scripts/make_faces.py PHOTO_OR_FOLDER... --out DIR [--validation 0.2]
                                 [--seed 0]

Each face becomes DIR/Training/Real/NAME.png, 128x128 gray, and DIR/Training/White/
NAME.png, the same face with the handout's mouth box painted white (what the model is
asked to restore). A share of the people (--validation) goes to DIR/Validation/ instead,
so the fine-tuned model is scored on faces of people it never saw: photos in
sub-folders of a folder argument are one person per sub-folder (alice/1.jpg,
alice/2.jpg, bob/1.jpg), other photos one person each. Then fine-tune a trained run on
them:

    python scripts/train.py --init runs/latest-photo --data DIR

A photo without a usable face is said in one line and the others go on.
"""

import argparse
import random
import sys
from pathlib import Path

from mouthgan import MouthganError
from mouthgan.util import cli


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+", help="photos or folders of them (sub-folders: "
                        "one person each)")
    parser.add_argument("--out", required=True, help="the data folder to write")
    parser.add_argument("--validation", type=float, default=0.2,
                        help="share of the people held out for Validation (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="which people are held out")
    args = parser.parse_args(argv)
    if not 0 <= args.validation < 1:
        raise MouthganError(f"--validation must be in [0, 1), got {args.validation}")
    out = Path(args.out)
    if (out / "Training").exists():
        raise MouthganError(f"{out}: holds a data set already; give --out a new folder")

    from mouthgan.inference.photos.detect import require_detector

    require_detector()
    people = photos_by_person(args.photos)
    cli.import_tensorflow()
    from PIL import Image

    from mouthgan.data.faces import HOLE_BOX
    from mouthgan.inference.photos.detect import FaceDetector
    from mouthgan.inference.photos.pipeline import frame_faces

    detector, found, failed = FaceDetector(), {}, 0
    for person in sorted(people):
        for path in people[person]:
            try:
                faces, skipped = frame_faces(path, detector)
            except MouthganError as exc:
                print(f"error: {exc}", file=sys.stderr)
                failed += 1
                continue
            for line in skipped:
                print(f"note: {path}: {line}", file=sys.stderr)
            if not faces:
                print(f"error: {path}: no usable face", file=sys.stderr)
                failed += 1
            found.setdefault(person, []).extend(
                (f"{person}__{path.stem}_face{k}", face) for k, face in enumerate(faces, 1))
    # Held out among the people whose faces were found, so the share is of those.
    names = sorted(p for p in found if found[p])
    random.Random(args.seed).shuffle(names)
    held_out = set(names[:round(args.validation * len(names))]) if len(names) > 1 else set()
    counts = {"Training": 0, "Validation": 0}
    top, bottom, left, right = HOLE_BOX
    for person, faces in found.items():
        split = "Validation" if person in held_out else "Training"
        for name, face in faces:
            white = face.copy()
            white[top:bottom, left:right] = 255
            for role, image in (("Real", face), ("White", white)):
                folder = out / split / role
                folder.mkdir(parents=True, exist_ok=True)
                tmp = folder / f".{name}.png.tmp"
                Image.fromarray(image).save(tmp, format="PNG")
                tmp.replace(folder / f"{name}.png")
            counts[split] += 1
    print(f"{out}: {counts['Training']} training faces, {counts['Validation']} validation "
          f"faces ({len(held_out)} of {len(names)} people held out); {failed} photos "
          "without a usable face")
    if not counts["Training"]:
        raise MouthganError(f"{out}: no training face found in the photos")
    return 1 if failed else 0


def photos_by_person(arguments):
    """{person: [photo paths]}: a folder's sub-folders are one person each, every other
    photo its own person (named by its file)."""
    from mouthgan.data.faces import IMAGE_EXTENSIONS

    def images(folder):
        return sorted(p for p in folder.iterdir()
                      if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)

    people = {}
    for argument in arguments:
        path = Path(argument)
        if path.is_file():
            people.setdefault(path.stem, []).append(path)
        elif path.is_dir():
            for photo in images(path):
                people.setdefault(photo.stem, []).append(photo)
            for folder in sorted(p for p in path.iterdir() if p.is_dir()):
                if images(folder):
                    people.setdefault(folder.name, []).extend(images(folder))
        else:
            raise MouthganError(f"{argument}: no such file or folder")
    if not people:
        raise MouthganError("no JPEG, PNG or BMP photo in " + ", ".join(arguments))
    return people


def entry():
    """The console command ``mouthgan-make-faces``."""
    cli.run(main)
