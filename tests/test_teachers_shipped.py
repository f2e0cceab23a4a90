"""The built-in `tiny-hubert` teacher: it ships with the package, loads, and matches its record."""

from __future__ import annotations

import hashlib
import json
import re

import torch

from dpbench.models import count_params
from dpbench.teachers import DEFAULT_TEACHER, load_model
from dpbench.teachers.pretrain import read_curve
from dpbench.teachers.resolve import builtin_path
from dpbench.teachers.shapes import tiny_hubert_config

ASSETS = builtin_path().parent
RECORD = json.loads((ASSETS / "tiny-hubert.json").read_text())


def test_default_teacher_is_the_shipped_one() -> None:
    assert DEFAULT_TEACHER == "tiny-hubert"
    assert builtin_path().is_file()
    assert builtin_path().stat().st_size < 5_000_000


def test_shipped_checkpoint_matches_its_record() -> None:
    model = load_model("tiny-hubert")
    assert not model.training
    assert model.config.to_dict() == RECORD["config"] == tiny_hubert_config().to_dict()
    assert count_params(model.config) == RECORD["params"] == sum(p.numel() for p in model.parameters())
    assert count_params(model.config) < 2_500_000
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in model.parameters())
    assert hashlib.sha256(builtin_path().read_bytes()).hexdigest() == RECORD["sha256"]


def test_shipped_checkpoint_runs_at_50_frames_per_second() -> None:
    model = load_model("tiny-hubert")
    with torch.no_grad():
        hidden, lengths = model(torch.randn(2, 16000) * 0.1, torch.tensor([16000, 8000]))
    assert len(hidden) == model.config.num_layers + 1
    assert hidden[-1].shape == (2, 49, model.config.hidden_size)
    assert lengths.tolist() == [49, 24]


def test_record_has_command_seed_corpus_and_a_falling_curve() -> None:
    assert re.match(r"(python -m )?dpbench pretrain /\S+ --out ", RECORD["command"])
    assert f"--steps {RECORD['settings']['steps']} " in RECORD["command"]
    assert f"--seed {RECORD['seed']}" in RECORD["command"]
    assert RECORD["corpus"]["files"] > 0 and RECORD["corpus"]["hours"] > 0
    curve = read_curve(ASSETS / RECORD["curve"])
    assert curve[-1]["step"] == RECORD["settings"]["steps"] * RECORD["settings"]["iterations"]
    first_iteration = [row["loss"] for row in curve if row["iteration"] == 1]
    assert first_iteration[-1] < first_iteration[0]
    assert (ASSETS / "tiny-hubert-curve.png").read_bytes()[:4] == b"\x89PNG"
