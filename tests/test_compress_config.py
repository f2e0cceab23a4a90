"""Compression options: one source of defaults per scale, and run folders of earlier versions still resume.

tests/fixtures/compress/compress_config_{cpu,paper}.json were written by the code before the scale defaults
moved into `ScaleDefaults` (`make_config(scale, "dphubert", "/data/wavs", {})`); they pin what each scale
computes and that a run folder holding them resumes."""

from __future__ import annotations

import dataclasses
import json
import shutil
import typing
from pathlib import Path

import pytest

from dpbench.compress.config import SCALE_DEFAULTS, CompressConfig, ScaleDefaults, make_config
from dpbench.compress.layout import CONFIG_FILE
from dpbench.compress.runner import check_run_dir
from dpbench.errors import DpbenchError
from dpbench.scales import SCALES

FIXTURES = Path(__file__).parent / "fixtures" / "compress"
RUN_INPUTS = {"teacher", "data", "method", "scale"}  # CompressConfig fields no scale fills


@pytest.mark.parametrize("scale", SCALES)
def test_saved_config_of_earlier_version_loads_and_resumes(scale, tmp_path):
    saved = FIXTURES / f"compress_config_{scale}.json"
    previous = json.loads(saved.read_text())
    assert CompressConfig.from_dict(previous).to_dict() == previous
    config = make_config(scale, "dphubert", "/data/wavs", {})
    assert config.to_dict() == previous  # the scale's defaults are unchanged
    shutil.copy(saved, tmp_path / CONFIG_FILE)
    check_run_dir(tmp_path, config, resume=True)  # accepted as the same run
    with pytest.raises(DpbenchError, match="seed: 0 -> 1"):
        check_run_dir(tmp_path, make_config(scale, "dphubert", "/data/wavs", {"seed": 1}), resume=True)


def test_scale_defaults_are_config_fields_and_fill_all_the_config_leaves_open():
    config_fields = {f.name: f for f in dataclasses.fields(CompressConfig)}
    config_types = typing.get_type_hints(CompressConfig)
    scale_types = typing.get_type_hints(ScaleDefaults)
    for name, kind in scale_types.items():
        assert name in config_fields and config_types[name] == kind, name
    no_default = {
        name
        for name, f in config_fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    assert no_default == set(scale_types) | RUN_INPUTS
    assert set(SCALE_DEFAULTS) == set(SCALES)


@pytest.mark.parametrize("scale", SCALES)
def test_make_config_takes_every_scale_default(scale):
    config = make_config(scale, "dphubert", "/data", {})
    for name, value in dataclasses.asdict(SCALE_DEFAULTS[scale]).items():
        assert getattr(config, name) == value, name
    assert make_config(scale, "dphubert", "/data", {"gate_lr": 0.5}).gate_lr == 0.5  # an option wins


def test_config_takes_keywords_only():
    with pytest.raises(TypeError):
        CompressConfig("t", "d")  # positional arguments are refused: a field is always named


def test_stage_specs_built_from_the_config():
    from dpbench.compress.module import LoaderSpec, StageSpec

    config = make_config("cpu", "dphubert", "/data", {"target_kind": "macs", "accumulate": 2})
    loader = LoaderSpec.from_config(config, Path("/data/train.tsv"), Path("/run/skipped_audio.tsv"))
    assert loader == LoaderSpec(
        Path("/data/train.tsv"),
        max_batch_seconds=8.0,
        max_item_seconds=4.0,
        seed=0,
        accumulate=2,
        num_workers=0,
        skip_log=Path("/run/skipped_audio.tsv"),
    )
    prune = StageSpec.prune(config, 123.0, loader)
    assert prune == StageSpec(
        "prune",
        300,
        lr=2e-4,
        warmup_steps=90,
        gate_lr=0.1,
        lambda_lr=0.02,
        schedule_gates=False,
        target=0.75,
        target_warmup_steps=150,
        kind="macs",
        teacher_size=123.0,
        loader=loader,
    )
    final = StageSpec.final(config, 123.0, loader)
    assert final == StageSpec(
        "final", 100, lr=1e-4, warmup_steps=20, target=0.75, kind="macs", teacher_size=123.0, loader=loader
    )
    paper = StageSpec.prune(make_config("paper", "dphubert", "/data", {}), 1.0, loader)
    assert (paper.warmup_steps, paper.target_warmup_steps, paper.gate_lr, paper.schedule_gates) == (
        15_000,
        5_000,
        0.02,
        True,
    )
