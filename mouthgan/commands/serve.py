"""A local web page that restores the mouth in photos: drop photos, get each face
before and after and the restored photo to download.

    python scripts/serve.py [--model MODEL]... [--host 127.0.0.1] [--port 7860]
                            [--hole auto|white|box]

The page offers the models named with --model, the runs in runs/ and the bundled
models (bundled:photo first when there is no run). It listens on this computer only
unless --host says otherwise; Ctrl-C stops it. Needs the face detector:
pip install -e ".[photos]".
"""

import argparse

from mouthgan import MouthganError
from mouthgan.util import cli


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], metavar="MODEL",
                        help="a run directory, generator .keras file or bundled:NAME to "
                             "offer first (repeatable)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (0.0.0.0: every network this "
                             "computer is on)")
    parser.add_argument("--port", type=int, default=7860, help="0: any free port")
    parser.add_argument("--hole", choices=("auto", "white", "box"), default="auto",
                        help="auto: the white painted region over the mouth, else the "
                             "handout's box; white: only painted regions; box: always "
                             "the box")
    args = parser.parse_args(argv)

    from mouthgan.inference.photos.detect import require_detector

    require_detector()
    cli.skip_matplotlib()
    cli.import_tensorflow()
    from mouthgan.inference.bundled import default_model
    from mouthgan.inference.generators import model_file
    from mouthgan.inference.webapp import Restorer, make_server, model_choices

    for model in args.model:
        model_file(model)  # a model that is not there: one line now, not on the page
    first = args.model or [default_model("photo")[0]]
    choices = model_choices(extra=first)
    restorer = Restorer(choices, args.hole)
    try:
        server = make_server(restorer, choices, args.host, args.port)
    except OSError as exc:
        raise MouthganError(f"{args.host}:{args.port}: cannot listen ({exc.strerror})")
    host, port = server.server_address[:2]
    print(f"serving http://{host}:{port}/ (model {choices[0][0]} first; Ctrl-C stops)",
          flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()



def entry():
    """The console command ``mouthgan-serve``."""
    cli.run(main)
