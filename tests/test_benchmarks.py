"""The benchmark scripts' experiment list: stable names, flags that parse and validate."""

import argparse
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import quality  # noqa: E402
from mouthgan.config import add_flags, config_from_args  # noqa: E402


def test_every_experiment_has_a_unique_name_and_valid_flags():
    import realism

    experiments = quality.PRESETS + quality.LEVERS + realism.LEVERS
    names = [e.name for e in experiments]
    flags_of = {}
    for e in experiments:  # a name is one run folder: used twice, it trains the same thing
        assert flags_of.setdefault(e.name, e.flags) == e.flags, e.name
    assert len(set(names)) == len(names) - 1  # `best` is a preset and the last lever
    assert all(name and " " not in name and "/" not in name for name in names)
    parser = add_flags(argparse.ArgumentParser())
    for e in experiments:
        config = config_from_args(parser.parse_args(list(e.flags)))
        config.validate()
    lever = {e.name: e for e in quality.LEVERS}
    # the rows that name an earlier `best` train what it was: 6x widths for 2000 steps
    # of 32 pairs at the handout's learning rate, in float32; 10x for 2500 steps of 32
    x6 = config_from_args(parser.parse_args(list(lever["best-x6"].flags)))
    assert (x6.generator_filters, x6.steps, x6.batch_size, x6.lr, x6.precision) == (
        (24, 48, 96, 192, 192), 2000, 32, 2e-4, "float32")
    six = config_from_args(parser.parse_args(list(lever["best-x4-six-levels"].flags)))
    assert (six.generator_filters, six.steps, six.batch_size, six.lr) == (
        (16, 32, 64, 128, 128, 128), 3000, 32, 2e-4)
    x10 = config_from_args(parser.parse_args(list(lever["best-batch-32"].flags)))
    assert (x10.generator_filters, x10.steps, x10.batch_size, x10.eval_every, x10.lr) == (
        (40, 80, 160, 320, 320), 2500, 32, 500, 4e-4)


def test_each_experiment_trains_into_its_own_folder(tmp_path, monkeypatch, capsys):
    import bench_runs
    import realism

    monkeypatch.setattr(bench_runs, "RUNS", tmp_path)
    # one of each name: `best` is a preset and a lever, the same run
    experiments = list({e.name: e for e in quality.PRESETS + quality.LEVERS +
                        realism.LEVERS}.values())
    planned = [bench_runs.ensure_run(e.name, e.flags, 1, dry_run=True) for e in experiments]
    assert planned == [None] * len(planned)  # nothing trained in a dry run
    assert not list(tmp_path.iterdir())  # and nothing written
    said = capsys.readouterr().out.splitlines()
    assert said == [f"would train: {' '.join(e.flags)} --seed 1 -> {tmp_path}/bench-{e.name}-seed1"
                    for e in experiments]
    assert len({line.rsplit(" ", 1)[-1] for line in said}) == len(experiments)


def test_shift_rows_change_the_face_and_keep_the_handouts_hole(tiny_data):
    import numpy as np

    import shift
    from mouthgan.data.faces import HOLE_BOX, load_folder

    reals, _ = load_folder(tiny_data / "Validation" / "Real", notes=lambda _: None)
    top, bottom, left, right = HOLE_BOX
    for name in shift.SHIFTS:
        whites, truths = shift.shifted_set(reals, name)
        assert (whites[:, top:bottom, left:right] == 255).all(), name
        outside = np.ones(whites.shape[1:], bool)
        outside[top:bottom, left:right] = False
        assert np.array_equal(whites[:, outside], truths[:, outside]), name
        changed = np.abs(truths.astype(int) - reals).mean()
        assert (changed == 0) == (name == "none"), (name, changed)
        again, _ = shift.shifted_set(reals, name)
        assert np.array_equal(again, whites), name  # the same faces every time
