"""A bundled model's card: the command that trained it, and its figures measured on
the bundled file itself (``scripts/bundle_model.py``)."""

import dataclasses
from datetime import date
from pathlib import Path

from mouthgan.inference.bundled import WEIGHTS_DIR, discriminator_file, halve
from mouthgan.config import PRESETS, resolve


# Settings that say where and how a run was kept, not what it learned: left out of the
# command on a card.
_NOT_IN_COMMAND = ("run_dir", "data", "input", "distribute", "devices", "sync_batchnorm",
                   "peer_timeout",
                   "precision", "sample_every", "eval_every", "checkpoint_every")


def training_command(config):
    """The ``scripts/train.py`` command that trains ``config``: the preset it differs
    least from (a run of ``best`` with the photo recipe's flags is the photo preset) and
    every setting that differs from it."""
    def differences(preset_name):
        preset = resolve(preset_name)
        return [(f.name, getattr(config, f.name)) for f in dataclasses.fields(config)
                if f.name not in _NOT_IN_COMMAND and f.name != "preset"
                and getattr(config, f.name) != getattr(preset, f.name)]

    closest = min(PRESETS, key=lambda name: (len(differences(name)), name != config.preset))
    flags = ["python scripts/train.py", f"--preset {closest}"]
    for name, value in differences(closest):
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else f"--no-{flag[2:]}")
        elif isinstance(value, tuple):
            shown = (f"{v:g}" if isinstance(v, float) else str(v) for v in value)
            flags.append(f"{flag} {' '.join(shown)}")
        else:
            flags.append(f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    return " ".join(flags)


def write_bundle(run_dir, name, summary, data_root, realism=True):
    """Bundle a run's generator as ``name`` (``halve``) and write its card, scored on
    ``data_root`` as bundled and as trained. Returns the card."""
    from mouthgan.data.faces import load_dataset
    from mouthgan.evaluation.scores import Evaluator
    from mouthgan.inference.generators import load_generator, model_file, run_flip_average
    from mouthgan.util.run_dir import read_config, read_json, write_json

    config = read_config(run_dir)
    source = model_file(run_dir)
    WEIGHTS_DIR.mkdir(exist_ok=True)
    target = WEIGHTS_DIR / f"{name}.keras"
    halve(source, target)
    # D too, so that a user can fine-tune the bundled model (train.py --init bundled:NAME)
    halve(Path(source).with_name("discriminator.keras"), discriminator_file(target))
    dataset = load_dataset(data_root, notes=lambda message: None)
    flip_average = run_flip_average(run_dir)
    scores = {}
    for label, path in (("", target), ("_float32", source)):
        generator = load_generator(path)
        for split in ("validation", "test"):
            evaluator = Evaluator(getattr(dataset, split), flip_average)
            scores[f"{split}_rmse{label}"] = round(evaluator(generator)["val_rmse_pasted"], 5)
    if realism:
        from mouthgan.evaluation.realism import RealismJudge, to_uint8
        from mouthgan.data.sample_data import default_cache_dir

        validation = dataset.validation
        judge = RealismJudge(validation.real, dataset.train.real, cache_dir=default_cache_dir())
        _, pasted = Evaluator(validation, flip_average).predictions(load_generator(target))
        measured = judge(to_uint8(pasted))
        scores.update({k: round(measured[k], 4) for k in ("ffd", "identity", "mouth_lmd")})
    summary_json = read_json(Path(run_dir) / "summary.json") or {}
    card = {
        "name": name,
        "file": f"mouthgan/inference/weights/{name}.keras",
        "discriminator_file": f"mouthgan/inference/weights/{name}.discriminator.keras",
        "summary": summary,
        "command": training_command(config) + f" --seed {config.seed}",
        "data": "the default data (scripts/make_dataset.py): 700 CelebA training faces, "
                "128x128 gray, the mouth box painted white; scored on its 282 Validation "
                "and 10 Test faces, pasted into the hole (the Kaggle RMSE)",
        "steps": summary_json.get("steps", config.steps),
        "generator_parameters": summary_json.get("generator_parameters"),
        "weights": "float16 in the file, float32 in the model; computes in float32",
        "size_bytes": target.stat().st_size,
        "bundled_on": date.today().isoformat(),
        "scores": scores,
        "config": {**dataclasses.asdict(config), "run_dir": "", "data": "NLP_data"},
    }
    write_json(target.with_suffix(".json"), card)
    return card
