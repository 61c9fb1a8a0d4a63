"""Presets and flags: one source of defaults, explicit flags win."""

import argparse

import pytest

from mouthgan import MouthganError
from mouthgan.config import add_flags, config_from_args, resolve


def parse(*argv):
    return config_from_args(add_flags(argparse.ArgumentParser()).parse_args(list(argv)))


def test_presets():
    handout, strong = resolve("handout"), resolve()
    assert handout.loss_weights == (1.0, 1.0) and not handout.flip
    assert strong.preset == "strong-baseline" and strong.loss_weights == (1.0, 100.0)
    assert strong.flip and strong.hole_weight == 10.0 and strong.flip_average
    assert handout.hole_weight == 1.0 and not handout.flip_average
    for config in (handout, strong):  # the handout's loop settings in both
        assert (config.steps, config.batch_size, config.lr, config.beta_1) == (3000, 32, 2e-4, 0.5)


def test_flags_override_the_preset():
    config = parse("--preset", "handout", "--loss-weights", "1", "50", "--flip", "--steps", "7")
    assert config.loss_weights == (1.0, 50.0) and config.flip and config.steps == 7
    assert not parse("--no-flip").flip
    assert parse().flip  # unset flag: the preset decides


def test_unknown_preset_and_bad_values():
    with pytest.raises(MouthganError, match="unknown preset 'fast'"):
        resolve("fast")
    with pytest.raises(MouthganError, match="--dropout must be in"):
        resolve(dropout=1.5).validate()
    with pytest.raises(MouthganError, match="--mixup must be >= 0"):
        resolve(mixup=-0.1).validate()
    with pytest.raises(MouthganError, match="--global-context must be >= 0"):
        resolve(global_context=-1).validate()
    with pytest.raises(MouthganError, match="only the fused engine supports --mixup"):
        resolve(mixup=0.2, engine="handout").validate()


def test_the_default_runs_on_either_engine():
    # the default's hole weight is a per-pixel weight of AM's MAE in the handout loop
    assert resolve("strong-baseline", engine="handout").validate().hole_weight == 10.0
    with pytest.raises(MouthganError, match="only the fused engine supports .*--ema"):
        resolve("best", engine="handout").validate()


def test_train_help_states_each_default_once(capsys):
    from mouthgan.commands import train as train_script

    with pytest.raises(SystemExit):
        train_script.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "(default: 3000)" in text  # --steps, from the one source of defaults
    assert "(default: None)" not in text and "(default: )" not in text


@pytest.mark.parametrize("gpu,amx,expected", [(True, True, "mixed_float16"),
                                              (False, True, "mixed_bfloat16"),
                                              (False, False, "float32")])
def test_auto_precision_is_what_this_machine_runs_fastest(monkeypatch, gpu, amx, expected):
    from mouthgan.training import devices

    monkeypatch.setattr(devices, "cpu_has_amx", lambda: amx)
    monkeypatch.setattr(devices, "visible_gpus", lambda: ["GPU:0"] if gpu else [])
    config = parse("--precision", "auto")
    assert config.precision == "auto"  # resolved where the run starts, not at parsing
    assert devices.resolve(config).precision == expected
    assert devices.resolve(parse()).precision == "float32"  # the default: exact float32
    assert devices.resolve_precision("mixed_bfloat16") == "mixed_bfloat16"  # as asked


@pytest.mark.parametrize("gpus,engine,expected", [(2, "fused", "mirrored"), (1, "fused", "none"),
                                                  (0, "fused", "none"), (2, "handout", "none")])
def test_auto_distribute_mirrors_over_several_gpus(monkeypatch, gpus, engine, expected):
    from mouthgan.training import devices

    monkeypatch.setattr(devices, "visible_gpus", lambda: ["GPU"] * gpus)
    assert devices.resolve(parse("--engine", engine)).distribute == expected


def test_cpu_has_amx_reads_the_cpu_flags(monkeypatch, tmp_path):
    from mouthgan import config

    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n")
    monkeypatch.setattr(config, "Path", lambda _: cpuinfo)
    assert config.cpu_has_amx()
    # oneDNN limited below AMX cannot use it: bfloat16 would be emulated
    for isa, usable in (("AVX512_CORE", False), ("avx2", False), ("AVX512_CORE_AMX", True),
                        ("ALL", True)):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
        assert config.cpu_has_amx() == usable, isa
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    cpuinfo.write_text("flags\t\t: fpu avx2 amx_bf16_not_a_flag\n")
    assert not config.cpu_has_amx()
    monkeypatch.setattr(config, "Path", lambda _: tmp_path / "absent")
    assert not config.cpu_has_amx()


def test_help_and_the_config_fields_come_in_the_same_groups(capsys):
    import argparse
    import dataclasses

    from mouthgan.config import FLAG_GROUPS, TrainConfig, add_flags

    grouped = [name for names in FLAG_GROUPS.values() for name in names]
    assert grouped == [f.name for f in dataclasses.fields(TrainConfig)]  # each once, in order
    parser = add_flags(argparse.ArgumentParser(prog="train.py"))
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    text = capsys.readouterr().out
    headings = [line[:-1] for line in text.splitlines() if line.endswith(":") and
                not line.startswith(" ")]
    assert headings == ["options", *FLAG_GROUPS]
    for title, names in FLAG_GROUPS.items():  # each flag under its own heading
        section = text.split(f"\n{title}:\n")[1].split("\n\n")[0]
        for name in names:
            assert f"--{name.replace('_', '-')}" in section, (title, name)


def test_each_setting_the_handout_loop_lacks_declares_it_and_is_refused_there():
    from dataclasses import fields

    from mouthgan.config import TrainConfig

    declared = [f for f in fields(TrainConfig) if f.metadata.get("fused_only")]
    assert len(declared) >= 10
    other = {"reconstruction": "l2", "fakes": "train", "gan_loss": "hinge", "d_sees": "both",
             "spectral_norm": True, "resolution": 64, "diffaugment": ("color",)}
    for f in declared:
        value = other.get(f.name, 0.1 if isinstance(f.default, float) else 1)
        TrainConfig(**{f.name: value}).validate()  # the fused engine takes it
        with pytest.raises(MouthganError, match=f"--{f.name.replace('_', '-')}"):
            TrainConfig(engine="handout", **{f.name: value}).validate()
