"""Train the mouth-restoration GAN: the handout's network and loop, on NLP_data/.

    python scripts/train.py                      # the strong baseline, 3000 steps
    python scripts/train.py --preset handout     # the handout's literal loss weights [1, 1]
    python scripts/train.py --resume runs/latest # continue an interrupted run

Everything a run makes goes to its run directory: config.json, history.csv, loss.png,
samples/, checkpoint/, generator.keras, discriminator.keras, scores.json, summary.json
(steps, training time, parameter counts), tensorboard/.
"""

import argparse
from pathlib import Path

from mouthgan import MouthganError
from mouthgan.util import cli

# What may change when a run resumes: its length and rhythm, and where it runs.
RESUMABLE_FLAGS = ("steps", "sample_every", "eval_every", "checkpoint_every", "distribute",
                   "devices", "sync_batchnorm", "peer_timeout", "input")


def parse_args(argv=None):
    from mouthgan.config import add_flags

    # No ArgumentDefaultsHelpFormatter: the flags default to None (so that a preset can
    # tell what the user set) and add_flags writes the real default into each help text.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_flags(parser)
    parser.add_argument("--resume", metavar="RUN_DIR", default=None,
                        help="continue this run from its last checkpoint (its own settings; "
                             "only --steps, the --*-every flags and --distribute, --devices, "
                             "--sync-batchnorm, --peer-timeout, --input may change)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import dataclasses

    from mouthgan.config import config_from_args
    from mouthgan.data.faces import FilePairs, input_mode
    from mouthgan.util.run_dir import make_run_dir, read_config, run_lock, writes_run_folder

    # Settings and data first: a mistake there is said before TensorFlow's seconds of
    # start-up.
    if args.distribute == "multi-worker" and not (args.run_dir or args.resume):
        raise MouthganError("--distribute multi-worker needs --run-dir: the one folder "
                            "every worker sees (shared storage across machines)")
    resume = args.resume or restarted_job(args)
    if resume:
        # A run still training (or still starting: no config.json yet) refuses here,
        # before its data is read. In a multi-worker job resumed with --resume on every
        # worker, only the process that writes the run folder holds its lock: the others
        # take part without writing.
        saved = (read_config(resume) if (Path(resume) / "config.json").is_file()
                 else None)
        other_worker = (saved is not None and not writes_run_folder(saved) and
                        (args.distribute or saved.distribute) == "multi-worker")
        if Path(resume).is_dir() and not args.run_dir and not other_worker:
            with run_lock(resume):
                pass
        config = saved or read_config(resume)
        changed = [f.name for f in dataclasses.fields(config)
                   if getattr(args, f.name) is not None and f.name not in RESUMABLE_FLAGS
                   and not (args.run_dir and same_setting(getattr(args, f.name),
                                                          getattr(config, f.name)))]
        if changed and args.run_dir:
            raise MouthganError(f"{resume}: holds a run of other settings (--"
                                f"{changed[0].replace('_', '-')}); use another --run-dir")
        if changed:
            raise MouthganError("with --resume only --steps, the --*-every flags and where "
                                "it runs (--distribute, --devices, --sync-batchnorm, --input) "
                                f"may change; got --{changed[0].replace('_', '-')}")
        overrides = {k: tuple(v) if isinstance(v, list) else v
                     for k in RESUMABLE_FLAGS if (v := getattr(args, k)) is not None}
        run_dir = Path(resume).resolve() if Path(resume).is_symlink() else Path(resume)
        # The folder may have moved since it was made: record where it is now.
        config = dataclasses.replace(config, **overrides, run_dir=str(run_dir))
    elif args.init:
        config = fine_tuning_config(args)
        config.validate()
        run_dir = None
    else:
        config = config_from_args(args)
        config.validate()
        run_dir = None

    dataset = load_or_build(config.data)
    if isinstance(dataset.train, FilePairs) and input_mode(len(dataset.train), config) == "memory":
        dataset.train = dataset.train.read()  # a bad image is said now, in one line
    config.validate(len(dataset.train))

    cli.import_tensorflow()
    from mouthgan.util.run_dir import holds_checkpoint
    from mouthgan.training.trainer import train

    if resume and not holds_checkpoint(resume):
        raise MouthganError(f"{resume}: no checkpoint to resume from")
    if run_dir is None and not writes_run_folder(config):
        run_dir = Path(config.run_dir)  # the chief makes it; this worker writes nothing
    if run_dir is None:
        run_dir = make_run_dir(config.run_dir or None, preset=config.preset)
        config = dataclasses.replace(config, run_dir=str(run_dir))

    print(f"Run directory: {run_dir}")
    print("Settings: " + ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(config).items()))
    result = train(config, dataset, run_dir, resume=bool(resume),
                   verbose=0 if args.quiet else 1)
    print(f"\nTrained {result['steps']} steps in {result['seconds']:.0f} s "
          f"({1000 * result['seconds'] / max(1, result['steps']):.0f} ms/step incl. evaluation)")
    for split, table in result["scores"].items():
        print(f"{split.capitalize():>10} RMSE: pasted {table['pasted']['rmse']:.4f}, "
              f"raw {table['raw']['rmse']:.4f}, white-image baseline "
              f"{table['identity']['rmse']:.4f}  ({len(getattr(dataset, split))} images)")
    return 0


# Fine-tuning (--init) is shorter than training from scratch unless told otherwise: on
# benchmarks/camera.py's 141 faces, 200 steps of 16 helped where 600 overfitted.
FINE_TUNE = {"steps": 200, "time_budget": 10.0, "sample_every": 100, "eval_every": 100,
             "checkpoint_every": 100}
# Decided on the machine that fine-tunes, not taken from the trained run.
DECIDED_HERE = {"precision": "auto", "distribute": "auto", "devices": (), "run_dir": ""}


def fine_tuning_config(args):
    """--init RUN (or bundled:NAME): the run's settings (model, loss, augmentation),
    every flag given overriding them, the fine-tuning lengths of ``FINE_TUNE`` unless
    given."""
    import dataclasses

    from mouthgan.config import TrainConfig
    from mouthgan.inference.bundled import card, is_bundled
    from mouthgan.util.run_dir import read_config

    trained = (TrainConfig.from_dict(card(args.init)["config"]) if is_bundled(args.init)
               else read_config(args.init))
    values = {**dataclasses.asdict(trained), **DECIDED_HERE, **FINE_TUNE}
    for field in dataclasses.fields(trained):
        given = getattr(args, field.name, None)
        if given is not None and field.name != "preset":
            values[field.name] = tuple(given) if isinstance(given, list) else given
    values["init"] = str(args.init)
    return dataclasses.replace(trained, **values)


def restarted_job(args):
    """Multi-worker training restarted by its scheduler runs the same command again:
    a ``--run-dir`` that holds a checkpoint then resumes (as Keras's
    ``BackupAndRestore`` does). The run folder, or None."""
    if args.distribute != "multi-worker" or not args.run_dir:
        return None
    from mouthgan.util.run_dir import holds_checkpoint

    return args.run_dir if holds_checkpoint(args.run_dir) else None


def same_setting(given, saved):
    """A flag of the restarted command against the run's saved setting ("auto" was
    resolved when the run started)."""
    return given in (None, "auto") or (tuple(given) if isinstance(given, list) else given) == saved


def load_or_build(folder):
    """Load the data; build the default data first when the default folder is absent."""
    from mouthgan.data.faces import load_dataset
    from mouthgan.data.sample_data import build_dataset

    path = Path(folder)
    if not (path / "Training").exists() and folder == "NLP_data":
        print(f"{folder}/ has no data: building the default data (992 CelebA faces, "
              "see NLP_data/README.md)")
        print(build_dataset(path))
    # The training pairs are listed, not read: the trainer holds them in memory or
    # streams them (--input).
    return load_dataset(path, read_training=False)



def entry():
    """The console command ``mouthgan-train``."""
    cli.run(main)
