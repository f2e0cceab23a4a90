"""Published compressed upstreams measured without their weights: s3prl's own DistilHuBERT and
LightHuBERT classes with random weights, saved the way their checkpoints are stored, measured through
`dpbench efficiency s3prl:<entry>_local=PATH`, parameter counts checked against the papers."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from dpbench.cli import main
from dpbench.efficiency.published import (
    DISTILHUBERT_CONFIG,
    DISTILHUBERT_PARAMS,
    LIGHTHUBERT_SMALL_PARAMS,
    write_distilhubert,
    write_lighthubert_small,
)
from dpbench.models import base_config, count_macs
from dpbench.superb.backend import shims


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("published")
    heads = write_distilhubert(folder / "distilhubert.ckpt")
    write_lighthubert_small(folder / "lighthubert_small.pt")
    shims.use_device("cpu")
    from s3prl.upstream.distiller.model import DistillerConfig, DistillerModel

    distiller = DistillerModel(DistillerConfig(DISTILHUBERT_CONFIG))
    biases = sum(p.numel() for name, p in distiller.output_layer.named_parameters() if name.endswith("bias"))
    return {"folder": folder, "distilhubert_heads": heads, "distilhubert_head_biases": biases}


@pytest.mark.slow
def test_published_upstreams_through_the_command(checkpoints: dict) -> None:
    folder = checkpoints["folder"]
    store = folder / "results.jsonl"
    result = CliRunner().invoke(
        main,
        [
            "efficiency",
            f"s3prl:distiller_local={folder / 'distilhubert.ckpt'}",
            f"s3prl:lighthubert_local={folder / 'lighthubert_small.pt'}",
            "--results",
            str(store),
            "--seconds",
            "1",
            "--rounds",
            "2",
            "--warmup",
            "1",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in store.read_text().splitlines()]
    by_model = {(r["upstream"], r["batch"]): r for r in records}
    assert set(by_model) == {
        ("distilhubert", 1),
        ("distilhubert", 8),
        ("lighthubert_small", 1),
        ("lighthubert_small", 8),
    }
    distil, light = by_model["distilhubert", 1], by_model["lighthubert_small", 1]
    # s3prl's distiller upstream runs its prediction heads (their outputs are hidden states SUPERB reads);
    # the published count leaves them out
    assert round((distil["params"] - checkpoints["distilhubert_heads"]) / 1e4) == DISTILHUBERT_PARAMS / 1e4
    assert abs(light["params"] - LIGHTHUBERT_SMALL_PARAMS) < 0.5e6
    assert light["params"] < 30e6  # the subnet, not the 95M supernet the checkpoint stores
    for record in records:
        assert record["kind"] == "efficiency" and record["macs"] > 1e9 and record["rtf"] > 0
        assert record["rtf_q1"] <= record["rtf"] <= record["rtf_q3"]
    # DistilHuBERT is HuBERT Base cut to 2 layers plus its heads (one matrix product per frame): the
    # counter on s3prl's classes equals dpbench's formula for that shape plus the heads' weights per frame
    two_layers = base_config("hubert")
    two_layers = dataclasses.replace(
        two_layers, num_layers=2, num_heads=[12, 12], ffn_dims=[3072, 3072], original_num_heads=None
    )
    frames_per_second = 499 / 10  # frames of the formula's 10-second clip
    head_weights = checkpoints["distilhubert_heads"] - checkpoints["distilhubert_head_biases"]
    assert distil["macs"] == pytest.approx(count_macs(two_layers) + head_weights * frames_per_second, rel=1e-9)
