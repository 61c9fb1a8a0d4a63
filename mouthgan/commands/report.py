"""Write the graded report of a training run: RUN_DIR/report.md and RUN_DIR/report.html.

    python scripts/report.py [RUN_DIR]      (default: runs/latest)
"""

import argparse

from mouthgan.util import cli


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default="runs/latest",
                        help="a run directory of scripts/train.py (default: runs/latest)")
    args = parser.parse_args(argv)
    cli.import_tensorflow()
    from mouthgan.evaluation.report import write_report

    for path in write_report(args.run_dir):
        print(path)
    return 0



def entry():
    """The console command ``mouthgan-report``."""
    cli.run(main)
