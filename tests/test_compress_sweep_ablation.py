"""Sparsity sweeps (`--target-sparsity 0.3,0.5`: one resumable run per sparsity) and the ablation
presets (`--ablation NAME`: its options, recorded in the run) of `dpbench compress`, and both in plans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dpbench.ablations import ABLATIONS
from dpbench.compress import make_config
from dpbench.compress.cli import compress_command
from dpbench.compress.config import PRUNE_UNITS
from dpbench.demo import demo_plan
from dpbench.errors import DpbenchError
from dpbench.plan.graph import expand, students
from dpbench.plan.spec import plan_from_dict

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def assets(compress_assets: dict[str, Path]) -> dict[str, Path]:
    return compress_assets


def test_a_sweep_makes_one_named_run_per_sparsity_and_resumes(assets, tmp_path):
    out = tmp_path / "sweep"
    args = [
        "--data",
        str(assets["wavs"]),
        "--out",
        str(out),
        "--teacher",
        str(assets["teacher"]),
        "--stage1-steps",
        "2",
        "--stage2-steps",
        "1",
        "--max-batch-seconds",
        "2",
        "--max-item-seconds",
        "1",
        "--target-sparsity",
        "0.3,0.5",
        "--accelerator",
        "cpu",
    ]
    result = CliRunner().invoke(compress_command, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["sp0.3", "sp0.5"]
    summaries = {p.name: json.loads((p / "summary.json").read_text()) for p in out.iterdir()}
    assert {k: (s["name"], s["target"]["sparsity"]) for k, s in summaries.items()} == {
        "sp0.3": ("sweep-sp0.3", 0.3),
        "sp0.5": ("sweep-sp0.5", 0.5),
    }
    assert summaries["sp0.5"]["params"] < summaries["sp0.3"]["params"]
    stamps = {p.name: (p / "student.pt").stat().st_mtime_ns for p in out.iterdir()}
    again = CliRunner().invoke(compress_command, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    assert {p.name: (p / "student.pt").stat().st_mtime_ns for p in out.iterdir()} == stamps  # nothing redone
    refused = CliRunner().invoke(compress_command, args)  # without --resume the finished runs are not overwritten
    assert refused.exit_code != 0 and "--resume" in refused.output


@pytest.mark.parametrize("value", ["0.5,0.5", "0.5,x", ","])
def test_a_bad_sweep_is_refused(assets, tmp_path, value):
    result = CliRunner().invoke(
        compress_command, ["--data", str(assets["wavs"]), "--out", str(tmp_path / "r"), "--target-sparsity", value]
    )
    assert result.exit_code != 0 and "--target-sparsity" in result.output
    assert not (tmp_path / "r").exists()


def test_ablation_presets_set_the_papers_options_and_are_recorded():
    expected = {
        "no-conv-pruning": {"prune_units": ["head", "interm"]},
        "no-final-distill": {"stage2_steps": 0},
        "predlayer": {"distill_mode": "predlayer", "distill_layers": "4.8.12"},
        "layer-gates": {"prune_units": list(PRUNE_UNITS)},
    }
    assert ABLATIONS == expected
    full = make_config("cpu", "dphubert", "/data", {})
    assert full.ablation is None and full.prune_units == ["conv", "head", "interm"] and full.stage2_steps > 0
    for name, options in expected.items():
        config = make_config("cpu", "dphubert", "/data", {"ablation": name})
        assert config.ablation == name and config.to_dict()["ablation"] == name
        assert {key: getattr(config, key) for key in options} == options
        changed = {k for k, v in config.to_dict().items() if v != full.to_dict()[k]}
        assert changed == {"ablation", *options}  # nothing else moves
    # an explicit option may repeat the preset, not contradict it
    repeated = make_config("cpu", "dphubert", "/data", {"ablation": "no-final-distill", "stage2_steps": 0})
    assert repeated.stage2_steps == 0
    with pytest.raises(DpbenchError, match="--stage2-steps"):
        make_config("cpu", "dphubert", "/data", {"ablation": "no-final-distill", "stage2_steps": 5})
    with pytest.raises(DpbenchError, match="dphubert"):
        make_config("cpu", "distilhubert", "/data", {"ablation": "no-conv-pruning"})


def test_the_cli_ablation_reaches_the_run(assets, tmp_path):
    out = tmp_path / "abl"
    result = CliRunner().invoke(
        compress_command,
        [
            "--data",
            str(assets["wavs"]),
            "--out",
            str(out),
            "--teacher",
            str(assets["teacher"]),
            "--stage1-steps",
            "2",
            "--max-batch-seconds",
            "2",
            "--max-item-seconds",
            "1",
            "--target-sparsity",
            "0.3",
            "--accelerator",
            "cpu",
            "--ablation",
            "no-final-distill",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["options"]["ablation"] == "no-final-distill" and summary["steps"]["final"] == 0


def plan(tmp_path, **extra):
    raw = {
        "out": str(tmp_path / "study"),
        "data": str(tmp_path),
        "teachers": ["tiny-hubert"],
        "methods": ["dphubert", "distilhubert"],
        "tasks": ["KS"],
        "sparsities": [0.6],
        **extra,
    }
    return plan_from_dict(raw, tmp_path, "plan.yaml")


def test_plan_sweep_and_ablations_add_dphubert_students_only(tmp_path):
    found = {s.id: s for s in students(plan(tmp_path, sweep=[0.5, 0.8], ablations=["no-conv-pruning", "predlayer"]))}
    assert set(found) == {
        "dphubert-sp0.6",
        "dphubert-sp0.5",
        "dphubert-sp0.8",
        "distilhubert",
        "dphubert-sp0.6-no-conv-pruning",
        "dphubert-sp0.6-predlayer",
    }
    jobs = {job.label: job for job in expand(plan(tmp_path, sweep=[0.5, 0.8], ablations=["predlayer"]))}
    ablation = jobs["compress dphubert-sp0.6-predlayer"]
    assert ablation.args[ablation.args.index("--ablation") + 1] == "predlayer"
    assert "--ablation" not in jobs["compress dphubert-sp0.6"].args
    swept = jobs["compress dphubert-sp0.8"]
    assert swept.args[swept.args.index("--target-sparsity") + 1] == "0.8"
    steps = {job.label: job.args for job in expand(plan(tmp_path, ablations=["no-final-distill"], stage2_steps=7))}
    assert "--stage2-steps" not in steps["compress dphubert-no-final-distill"]  # the preset's 0 final steps stand
    assert steps["compress dphubert"][steps["compress dphubert"].index("--stage2-steps") + 1] == "7"
    names = {s.name for s in students(plan(tmp_path, ablations=["layer-gates"]))}
    assert names == {"DPHuBERT", "DPHuBERT-layer-gates", "DistilHuBERT"}  # one sparsity: not in the names


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"ablations": ["no-such"]}, "ablations"),
        ({"sweep": [80]}, "sweep"),
        ({"ablations": ["predlayer"], "methods": ["distilhubert"]}, "dphubert"),
        ({"sweep": [0.5], "methods": ["distilhubert"]}, "dphubert"),
    ],
)
def test_bad_sweep_or_ablations_in_a_plan_are_refused(tmp_path, extra, message):
    with pytest.raises(DpbenchError, match=message):
        plan(tmp_path, **extra)


def test_the_demo_sweep_adds_dphubert_students(tmp_path):
    demo = demo_plan(tmp_path, ["dphubert", "distilhubert"], ["KS"], 0.65, (None, None), "cpu", [0.5, 0.8])
    labels = [job.label for job in expand(demo) if job.kind == "compress"]
    assert labels == [
        "compress dphubert-sp0.65",
        "compress dphubert-sp0.5",
        "compress dphubert-sp0.8",
        "compress distilhubert",
    ]
    assert sum(job.kind == "superb" for job in expand(demo)) == 5  # the teacher and four students, one task
