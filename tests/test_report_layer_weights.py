"""Layer importance: the weights are read from checkpoints in the structure s3prl itself writes (its own
Featurizer classes, saved as its runner and its problem API save them) and equal the mixing coefficients
s3prl applies; the report draws them per model and task next to what each student kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from records_factory import compression_summary, superb_result, write_run, write_store
from s3prl.nn.upstream import Featurizer as ProblemFeaturizer
from s3prl.nn.upstream import UpstreamDownstreamModel
from s3prl.upstream.interfaces import Featurizer as RunnerFeaturizer
from s3prl.utility.helper import get_model_state
from torch import nn

from dpbench.report.build import build_report
from dpbench.report.layer_figure import layer_figure
from dpbench.report.layer_weights import PROBLEM_STATE, layer_weights, read_layer_weights
from dpbench.report.runs import load_runs, runs_by_model
from dpbench.report.selection import best_cells, load_records

LAYERS = 4  # hidden states: the transformer input and 3 layers


class FakeUpstream(nn.Module):
    """Just enough of an upstream for s3prl's featurizers to count its hidden states."""

    hidden_sizes = [LAYERS] * LAYERS
    downsample_rates = [320] * LAYERS
    num_layers = LAYERS

    def forward(self, wavs):
        return {"hidden_states": [torch.zeros(1, 5, LAYERS) for _ in range(LAYERS)]}

    def get_downsample_rates(self, key):
        return 320


def applied_coefficients(featurizer: nn.Module) -> np.ndarray:
    """What s3prl's weighted sum gives each layer: layer i is the one-hot vector e_i."""
    layers = [torch.eye(LAYERS)[i].view(1, 1, LAYERS) for i in range(LAYERS)]
    with torch.no_grad():
        if isinstance(featurizer, ProblemFeaturizer):
            mixed, _ = featurizer._weighted_sum(layers, [torch.tensor([1])] * LAYERS)
        else:
            mixed = featurizer._weighted_sum(layers)
    return mixed.view(-1).numpy()


def runner_checkpoint(path: Path, raw: list[float]) -> np.ndarray:
    """A legacy-runner checkpoint as `run_downstream.py` saves it; returns the coefficients s3prl applies."""
    featurizer = RunnerFeaturizer(FakeUpstream(), upstream_device="cpu")
    featurizer.weights.data = torch.tensor(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "Optimizer": {},
            "Step": 10,
            "Epoch": 0,
            "Featurizer": get_model_state(featurizer),
            "Downstream": {"linear.weight": torch.zeros(2, LAYERS)},
        },
        path,
    )
    return applied_coefficients(featurizer)


def problem_checkpoint(run_dir: Path, raw: list[float]) -> np.ndarray:
    """The valid_best model state dict as `s3prl.problem` saves it."""
    featurizer = ProblemFeaturizer(FakeUpstream())
    featurizer.weights.data = torch.tensor(raw)
    model = UpstreamDownstreamModel(nn.Linear(1, 1), featurizer, nn.Linear(LAYERS, 2))
    path = run_dir / PROBLEM_STATE
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return applied_coefficients(featurizer)


def test_runner_weights_are_the_coefficients_s3prl_applies(tmp_path):
    applied = runner_checkpoint(tmp_path / "KS" / "train" / "dev-best.ckpt", [0.5, -1.0, 2.0, 0.0])
    assert not np.allclose(applied, 1 / LAYERS)
    assert np.allclose(read_layer_weights(tmp_path / "KS"), applied, atol=1e-6)


def test_problem_weights_are_the_coefficients_s3prl_applies(tmp_path):
    applied = problem_checkpoint(tmp_path / "ASR", [1.0, 0.0, -0.5, 3.0])
    assert np.allclose(read_layer_weights(tmp_path / "ASR"), applied, atol=1e-6)


def test_er_folds_are_averaged_and_a_run_without_checkpoint_has_none(tmp_path):
    first = runner_checkpoint(tmp_path / "ER" / "fold1" / "train" / "dev-best.ckpt", [1.0, 0.0, 0.0, 0.0])
    second = runner_checkpoint(tmp_path / "ER" / "fold2" / "train" / "dev-best.ckpt", [0.0, 0.0, 0.0, 2.0])
    assert np.allclose(read_layer_weights(tmp_path / "ER"), (first + second) / 2, atol=1e-6)
    (tmp_path / "empty").mkdir()
    assert read_layer_weights(tmp_path / "empty") is None


def test_the_report_writes_weights_per_model_and_task_and_draws_them(tmp_path):
    runs_dir = tmp_path / "compress" / "dphubert"
    teacher_config = {"conv_channels": [8], "num_layers": 3, "num_heads": [4, 4, 4], "ffn_dims": [100, 100, 100]}
    student_config = {"conv_channels": [6], "num_layers": 3, "num_heads": [2, 0, 4], "ffn_dims": [50, 10, 100]}
    write_run(
        runs_dir,
        compression_summary(
            "DPHuBERT",
            "dphubert",
            0.5,
            config=student_config,
            teacher_config=teacher_config,
            student_path=str(tmp_path / "DPHuBERT.pt"),
        ),
    )
    records, expected = [], {}
    for model, params in (("tiny-hubert", 1000), ("DPHuBERT", 500)):
        for task, raw in (("KS", [0.0, 1.0, 2.0, 3.0]), ("ASR", [3.0, 2.0, 1.0, 0.0])):
            run_dir = tmp_path / "superb" / model / task
            expected[model, task] = (
                problem_checkpoint(run_dir, raw)
                if task == "ASR"
                else runner_checkpoint(run_dir / "train" / "dev-best.ckpt", raw)
            )
            value = 20.0 if task == "ASR" else 90.0
            records.append(superb_result(task, value, model, params=params, run_dir=str(run_dir)))
    store = write_store(tmp_path / "results.jsonl", records)
    report = build_report(store, [tmp_path / "compress"], tmp_path / "report", paper_rows=False)
    written = {path.name for path in report.written}
    assert {"layer_weights.csv", "layer_weights.png", "layer_weights.svg"} <= written
    table = pd.read_csv(tmp_path / "report" / "layer_weights.csv")
    assert list(dict.fromkeys(table["model"])) == ["tiny-hubert", "DPHuBERT"]  # the table's order
    for (model, task), applied in expected.items():
        got = table[(table["model"] == model) & (table["task"] == task)].sort_values("layer")["weight"]
        assert np.allclose(got, applied, atol=1e-5)
    assert "Which layers each task uses" in (tmp_path / "report" / "index.html").read_text()

    loaded = load_records(store)
    weights = layer_weights(loaded, best_cells(loaded))
    figure = layer_figure(weights, runs_by_model(loaded, load_runs([tmp_path / "compress"])))
    student_weights, student_kept = (
        figure.axes[0:2] if figure.axes[0].get_title(loc="left") == "DPHuBERT" else figure.axes[2:4]
    )
    lines = {line.get_label(): line for line in student_weights.get_lines() if line.get_label() in ("KS", "ASR")}
    assert np.allclose(lines["KS"].get_ydata(), expected["DPHuBERT", "KS"], atol=1e-5)
    heights = [patch.get_height() for patch in student_kept.patches]
    assert heights == pytest.approx([50.0, 0.0, 100.0, 50.0, 10.0, 100.0])  # heads then FFN, % of the teacher's
