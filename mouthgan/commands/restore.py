"""Restore the mouth in your own photos: every face found, framed as the training faces
are, restored, and put back into the photo at its own resolution.

    python scripts/restore.py PHOTO_OR_FOLDER... [--model RUN]... [--out restored]
                              [--hole auto|white|box] [--[no-]flip-average]

Writes, for each photo, OUT/NAME.png (the restored photo) and OUT/NAME_faceK.png
([framed face, hole, restored] per face), then OUT/gallery.html with all of them.
A photo that cannot be restored is said in one line and the others go on; the exit
status is 1 when any photo failed. Needs the face detector: pip install -e ".[photos]".
"""

import argparse
import sys
from pathlib import Path

from mouthgan import MouthganError
from mouthgan.util import cli
from mouthgan.util import signals
from mouthgan.inference.bundled import models_to_use

HOLES = {
    "auto": "fill the painted-out (white) region over the mouth when there is one, else "
            "paint the handout's box over the mouth",
    "white": "only fill painted-out regions; a face without one is not restored",
    "box": "paint the handout's box over the mouth whatever covers it (a visible mouth, a "
           "sticker, a bar) and restore that",
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("photos", nargs="+", metavar="PHOTO_OR_FOLDER",
                        help="photos (JPEG, PNG, BMP; colour or gray; any size) or folders "
                             "of them")
    parser.add_argument("--model", action="append", metavar="MODEL",
                        help="a generator .keras file, a run directory or bundled:NAME "
                             "(default: the newest run of the photo recipe, "
                             "runs/latest-photo, else runs/latest, else bundled:photo, the "
                             "model that ships with mouthgan); given more than once, the "
                             "mean of their "
                             "predictions (an ensemble, e.g. runs of other seeds)")
    parser.add_argument("--out", default="restored", help="the folder to write into")
    parser.add_argument("--hole", choices=tuple(HOLES), default="auto",
                        help="; ".join(f"{k}: {v}" for k, v in HOLES.items()))
    parser.add_argument("--grain", action=argparse.BooleanOptionalAction, default=True,
                        help="give each restored hole the fine detail (grain) of the skin "
                             "around it, which a face enlarged from 128 pixels lacks "
                             "(default: on)")
    parser.add_argument("--flip-average", action=argparse.BooleanOptionalAction, default=None,
                        help="average each restoration with that of the mirrored face "
                             "(default: as the model's run was evaluated)")
    args = parser.parse_args(argv)
    args.model = models_to_use(args.model, "photo")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise MouthganError(f"{out}: exists and is not a folder; give --out a folder")

    from mouthgan.inference.photos.detect import require_detector

    require_detector()
    photos, failures = list_photos(args.photos)
    cli.skip_matplotlib()
    cli.import_tensorflow()
    from mouthgan.inference.generators import load_generators, runs_flip_average
    from mouthgan.inference.photos.detect import FaceDetector
    from mouthgan.inference.photos.pipeline import restore_photo

    detector = FaceDetector()
    generator = load_generators(args.model, runtime="auto")
    flip_average = (runs_flip_average(args.model) if args.flip_average is None
                    else args.flip_average)
    out.mkdir(parents=True, exist_ok=True)
    done, names = [], set()
    with signals.stop_requests() as stop:
        for path in photos:
            if stop:
                write_gallery(out, done, failures)
                raise signals.Interrupted(
                    stop.signum, f"{stop.name}: stopped after {len(done)} of {len(photos)} "
                                 f"photos; what is restored is in {out}")
            try:
                result = restore_photo(path, detector, generator, args.hole, flip_average,
                                       args.grain)
            except MouthganError as exc:
                print(f"error: {exc}", file=sys.stderr)
                failures.append((str(path), str(exc).removeprefix(f"{path}: ")))
                continue
            name = unique_name(path.stem, names)
            files = write_outputs(result, out, name)
            done.append((result, files))
            for line in result.notes + result.skipped:
                print(f"note: {path}: {line}", file=sys.stderr)
            kinds = ", ".join(face.hole_kind for face in result.faces)
            print(f"{path} -> {files[0]} ({len(result.faces)} face"
                  f"{'s' if len(result.faces) > 1 else ''}: {kinds})")
    print(f"{write_gallery(out, done, failures)}: {len(done)} restored, "
          f"{len(failures)} failed")
    return 1 if failures else 0


def list_photos(arguments):
    """The photo files the arguments name (a folder: its images, sorted), and a failure
    line for each argument that names none."""
    from mouthgan.data.faces import IMAGE_EXTENSIONS

    photos, failures = [], []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            if not found:
                failures.append((argument, "a folder with no JPEG, PNG or BMP photo"))
            photos += found
        elif path.is_file():
            photos.append(path)
        else:
            failures.append((argument, "no such file or folder"))
    for argument, problem in failures:
        print(f"error: {argument}: {problem}", file=sys.stderr)
    return photos, failures


def unique_name(stem, names):
    name, k = stem, 1
    while name in names:
        k += 1
        name = f"{stem}-{k}"
    names.add(name)
    return name


def write_outputs(result, out, name):
    """The restored photo and one side-by-side picture per face, each written whole."""
    from mouthgan.inference.photos.pictures import side_by_side

    files = [out / f"{name}.png"]
    save_png(result.restored, files[0])
    for k, face in enumerate(result.faces, 1):
        files.append(out / f"{name}_face{k}.png")
        save_png(side_by_side(face), files[-1])
    return files


def save_png(array, path):
    from PIL import Image

    from mouthgan.util.atomic import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


def write_gallery(out, done, failures):
    """OUT/gallery.html: every restored photo, before and after, and its faces, with the
    images inside the page (one file to keep or send)."""
    import io

    from PIL import Image

    from mouthgan.inference.photos.pictures import before_after
    from mouthgan.evaluation.report import to_html

    def png(array, max_width=None):
        image = Image.fromarray(array)
        if max_width and image.width > max_width:
            image = image.resize((max_width, round(image.height * max_width / image.width)),
                                 Image.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    blocks = [("heading", 1, "Restored photos"),
              ("paragraph", f"{len(done)} photos restored, {len(failures)} not. Each face: "
                            "as framed for the model, with its hole painted, restored.")]
    for result, files in done:
        blocks.append(("heading", 2, result.path.name))
        blocks.append(("image", png(before_after(result), 1000), f"`{result.path}`: the photo and "
                                                 f"`{files[0].name}`"))
        for face, file in zip(result.faces, files[1:]):
            blocks.append(("image", file.read_bytes(), f"`{file.name}`: {face.hole_kind} hole"))
        for line in result.skipped:
            blocks.append(("paragraph", f"Not restored: {line}."))
    if failures:
        blocks.append(("heading", 2, "Not restored"))
        blocks.append(("table", ["photo", "why"], failures, {}))
    from mouthgan.util.atomic import write_text

    page = out / "gallery.html"
    write_text(page, to_html(blocks))
    return page



def entry():
    """The console command ``mouthgan-restore``."""
    cli.run(main)
