"""The lecture's Keras GAN example: 100-d noise -> 28x28 images (handout part 2).

    python scripts/dcgan_example.py [--data faces|mnist] [--generator upsample|transpose]
                                    [--discriminator relu|leaky] [--steps 2000]
    python scripts/dcgan_example.py --resume runs/dcgan-<timestamp>   # after a stop
"""

import argparse
import dataclasses
from datetime import datetime
from pathlib import Path

from mouthgan import MouthganError
from mouthgan.util import cli


def main(argv=None):
    from mouthgan.config import add_flags
    from mouthgan.config import DCGANConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_flags(parser, DCGANConfig)
    parser.add_argument("--resume", metavar="RUN_DIR", default=None,
                        help="continue this run from its last checkpoint (its own settings; "
                             "only --steps may change)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(DCGANConfig)
              if getattr(args, f.name) is not None}
    if args.resume:
        from mouthgan.util.run_dir import read_config

        changed = sorted(set(values) - {"steps"})
        if changed:
            raise MouthganError("with --resume only --steps may change; got "
                                f"--{changed[0].replace('_', '-')}")
        config = dataclasses.replace(read_config(args.resume, kind="dcgan-example"),
                                     run_dir=str(args.resume), **values)
    else:
        config = DCGANConfig(**values)
    for name in ("steps", "batch_size", "sample_every", "checkpoint_every"):
        if getattr(config, name) <= 0:
            raise MouthganError(f"--{name.replace('_', '-')} must be > 0")

    cli.import_tensorflow()
    from mouthgan.lecture import dcgan
    from mouthgan.util.run_dir import make_run_dir, write_config

    # Only the default folder is built; another --data-dir must hold data already.
    if config.data == "faces" and config.data_dir == "NLP_data" and \
            not (Path(config.data_dir) / "Training").exists():
        from mouthgan.data.sample_data import build_dataset

        print(f"{config.data_dir}/ has no data: building the default data first")
        print(build_dataset(config.data_dir))
    images = dcgan.load_images(config)  # before the run folder: bad data leaves none
    if args.resume:
        run_dir = Path(args.resume)
    else:
        # runs/latest stays on the newest mouth-restoration run: the export's default.
        run_dir = make_run_dir(config.run_dir or
                               f"runs/dcgan-{datetime.now().strftime('%Y%m%d-%H%M%S')}",
                               point_latest=False)
        config = dataclasses.replace(config, run_dir=str(run_dir))
    write_config(run_dir, config, kind="dcgan-example")
    print(f"Run directory: {run_dir}")
    trainer = dcgan.train(config, images, run_dir, resume=bool(args.resume),
                          verbose=0 if args.quiet else 1)
    print(f"Generator {trainer.generator.count_params():,} parameters, discriminator "
          f"{trainer.discriminator.count_params():,}; samples in {run_dir}/samples")
    return 0



def entry():
    """The console command ``mouthgan-dcgan-example``."""
    cli.run(main)
