"""Measure the training framing: where the detector finds eyes, nose and mouth corners
on the aligned training faces (their medians), written as
mouthgan/inference/photos/face_template.json and average_face.png.

    python scripts/face_template.py [--data NLP_data] [--out FILE]

Run once per data set whose framing differs from the default data's; restore.py maps
every photo's face onto these positions.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from mouthgan.inference.photos.framing import TEMPLATE_FILE
from mouthgan.util import cli
from mouthgan.util.atomic import atomic_path, write_text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", default="NLP_data", help="a data folder with Training/Real")
    parser.add_argument("--out", default=str(TEMPLATE_FILE))
    args = parser.parse_args(argv)
    from mouthgan.data.faces import load_folder
    from mouthgan.inference.photos.detect import FaceDetector
    from PIL import Image

    from mouthgan.inference.photos.framing import AVERAGE_FACE_FILE, measure_template

    faces, _ = load_folder(Path(args.data) / "Training" / "Real")
    cli.import_tensorflow()
    template = measure_template(faces, FaceDetector())
    out = Path(args.out)
    # One key a line: the points stay readable above the 28 rows of the mouth.
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in template.items()]
    write_text(out, "{\n" + ",\n".join(lines) + "\n}\n")
    average = out.with_name(AVERAGE_FACE_FILE.name)
    with atomic_path(average) as tmp:
        Image.fromarray(np.round(faces.mean(axis=0)).astype(np.uint8)).save(tmp, format="PNG")
    print(f"{out}: {json.dumps(template['points'])}; {average}: the faces' average")
    return 0



def entry():
    """The console command ``mouthgan-face-template``."""
    cli.run(main)
