"""`dpbench efficiency` on dpbench models: records in the store (kept apart from SUPERB records),
counts equal to the formulas, quartiles in order, peak memory measured, failures named."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from records_factory import superb_result
from torch import nn

from dpbench.cli import main
from dpbench.efficiency.probe import forward_peak_bytes
from dpbench.efficiency.records import EFFICIENCY_FIELDS, EFFICIENCY_KIND
from dpbench.efficiency.specs import parse_spec
from dpbench.errors import DpbenchError
from dpbench.models import (
    build_encoder,
    count_macs,
    count_params,
    load_encoder,
    prune_encoder,
    save_encoder,
    tiny_config,
)
from dpbench.report.selection import load_records
from dpbench.results import ResultsStore


def test_specs_name_models_as_superb_does(tmp_path: Path) -> None:
    checkpoint = tmp_path / "My Student.pt"
    checkpoint.write_bytes(b"")
    assert parse_spec(str(checkpoint)).name == "My_Student"
    assert parse_spec("tiny-hubert").name == "tiny-hubert"
    local = parse_spec(f"s3prl:distiller_local={checkpoint}")
    assert (local.s3prl_entry, local.s3prl_ckpt, local.name) == ("distiller_local", str(checkpoint), "My_Student")
    assert parse_spec("s3prl:fbank").name == "fbank"
    with pytest.raises(DpbenchError, match="does not exist"):
        parse_spec(f"s3prl:distiller_local={tmp_path / 'missing.ckpt'}")
    with pytest.raises(DpbenchError, match="name an s3prl hub entry"):
        parse_spec("s3prl:")


class Allocates(nn.Module):
    """A forward that holds `megabytes` of fresh memory at its peak."""

    def __init__(self, megabytes: int) -> None:
        super().__init__()
        self.elements = megabytes * 2**20 // 4

    def forward(self, wavs: torch.Tensor) -> torch.Tensor:
        block = torch.ones(self.elements)
        return block.sum() + wavs.sum()


def test_cpu_peak_memory_sees_the_forward_allocation() -> None:
    wavs = torch.zeros(1, 16000)
    peak = forward_peak_bytes(Allocates(96), lambda module, x: module(x), wavs)
    assert peak is not None and 90 * 2**20 < peak < 200 * 2**20
    small = forward_peak_bytes(Allocates(8), lambda module, x: module(x), wavs)
    assert small < peak


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = build_encoder(tiny_config("hubert"))
    model.set_gates()
    with torch.no_grad():
        for _, gate in model.named_gates():
            gate.log_alpha.copy_(torch.linspace(-3, 5, gate.n))
    path = tmp_path_factory.mktemp("models") / "student.pt"
    save_encoder(path, prune_encoder(model.eval()))
    return path


@pytest.mark.slow
def test_command_measures_and_stores(student: Path, tmp_path: Path) -> None:
    store = tmp_path / "results.jsonl"
    ResultsStore(store).append(superb_result("KS", 90.0, "student").to_json())
    result = CliRunner().invoke(
        main,
        [
            "efficiency",
            "tiny-hubert",
            str(student),
            "--results",
            str(store),
            "--seconds",
            "1",
            "--rounds",
            "3",
            "--warmup",
            "1",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    records = ResultsStore(store).records(EFFICIENCY_KIND)
    assert [(r["upstream"], r["batch"]) for r in records] == [
        ("tiny-hubert", 1),
        ("tiny-hubert", 8),
        ("student", 1),
        ("student", 8),
    ]
    config = load_encoder(student).config
    for record in records:
        assert set(record) == {*EFFICIENCY_FIELDS, "timestamp"}
        assert record["rounds"] == 3 and record["rtf_q1"] <= record["rtf"] <= record["rtf_q3"]
        assert record["peak_memory_mb"] is not None and record["peak_memory_mb"] >= 0
    student_b8 = next(r for r in records if r["upstream"] == "student" and r["batch"] == 8)
    assert student_b8["params"] == count_params(config)
    # MACs as the forward runs them: the student's conv widths padded to multiples of 8 included
    assert student_b8["macs"] == pytest.approx(count_macs(config, executed=True), rel=1e-12)
    assert student_b8["macs"] > count_macs(config)
    assert student_b8["peak_memory_mb"] > 0
    # SUPERB readers see only the SUPERB record
    assert [r["task"] for r in ResultsStore(store).records()] == ["KS"]
    assert list(load_records(store)["upstream"]) == ["student"]
    assert "appended 4 records" in result.output


def test_a_model_that_fails_to_load_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    result = CliRunner().invoke(
        main,
        [
            "efficiency",
            str(bad),
            "--results",
            str(tmp_path / "r.jsonl"),
            "--rounds",
            "1",
            "--warmup",
            "0",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code != 0
    assert "broken.pt" in result.output and "failed" in result.output
    assert not (tmp_path / "r.jsonl").exists()
