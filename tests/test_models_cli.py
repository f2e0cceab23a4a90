"""`dpbench inspect`: the report of plain, gated and foreign checkpoints, and its errors."""

from __future__ import annotations

import re

import torch
from click.testing import CliRunner

from dpbench.cli import main
from dpbench.models import build_encoder, count_params, save_encoder, tiny_config


def run(*args: str):
    return CliRunner().invoke(main, ["inspect", *args])


def test_inspect_plain_checkpoint(tmp_path) -> None:
    config = tiny_config("hubert")
    save_encoder(tmp_path / "tiny.pt", build_encoder(config))
    result = run(str(tmp_path / "tiny.pt"))
    assert result.exit_code == 0, result.output
    assert "architecture: hubert (post-LN, group-norm conv features), 4 layers, width 64" in result.output
    assert f"parameters: {count_params(config):,}" in result.output
    assert re.search(r"MACs per second of audio: \d+\.\d M", result.output)
    rows = re.findall(r"^\s+(\d)\s+4\s+128$", result.output, flags=re.M)
    assert rows == ["1", "2", "3", "4"]
    assert re.search(r"^\s+0\s+32\s+10\s+5$", result.output, flags=re.M)


def test_inspect_gated_checkpoint_shows_kept_units(tmp_path) -> None:
    model = build_encoder(tiny_config("wavlm"))
    model.set_gates()
    with torch.no_grad():
        model.layers[0].feed_forward.unit_gate.log_alpha.fill_(-10.0)
        model.layers[0].feed_forward.unit_gate.log_alpha[:5] = 10.0
    save_encoder(tmp_path / "gated.pt", model)
    result = run(str(tmp_path / "gated.pt"))
    assert result.exit_code == 0, result.output
    assert "gates: conv, heads, attention, ffn_units, ffn" in result.output
    assert re.search(r"^\s+1\s+4\s+128 -> 5$", result.output, flags=re.M)
    assert "after pruning:" in result.output


def test_inspect_torchaudio_state_dict_with_arch_label(tmp_path) -> None:
    from torchaudio.models import wav2vec2_model

    reference = wav2vec2_model(
        extractor_mode="group_norm",
        extractor_conv_layer_config=None,
        extractor_conv_bias=False,
        encoder_embed_dim=128,
        encoder_projection_dropout=0.0,
        encoder_pos_conv_kernel=16,
        encoder_pos_conv_groups=4,
        encoder_num_layers=2,
        encoder_num_heads=2,
        encoder_attention_dropout=0.0,
        encoder_ff_interm_features=256,
        encoder_ff_interm_dropout=0.0,
        encoder_dropout=0.0,
        encoder_layer_norm_first=False,
        encoder_layer_drop=0.0,
        aux_num_out=None,
    )
    torch.save(reference.state_dict(), tmp_path / "model.pth")
    result = run(str(tmp_path / "model.pth"), "--arch", "hubert")
    assert result.exit_code == 0, result.output
    assert "architecture: hubert (post-LN" in result.output
    assert f"parameters: {sum(p.numel() for p in reference.parameters()):,}" in result.output
    assert re.search(r"^\s+1\s+2\s+256$", result.output, flags=re.M)  # 128 wide / 64 per head


def test_inspect_errors_name_the_file(tmp_path) -> None:
    result = run(str(tmp_path / "missing.pt"))
    assert result.exit_code != 0
    assert "does not exist" in result.output and "missing.pt" in result.output
    assert "Traceback" not in result.output
    result = run("hubert_tiny")
    assert result.exit_code != 0 and "unknown teacher 'hubert_tiny'" in result.output


def test_inspect_takes_a_teacher_name_and_shows_normalisation(tmp_path) -> None:
    result = run("tiny-hubert")  # the built-in teacher, by name
    assert result.exit_code == 0, result.output
    assert "architecture: hubert (post-LN" in result.output
    assert "input: raw waveform (not normalised)" in result.output
    config = tiny_config("wavlm", layer_norm_first=True)
    config.normalize_waveform = True
    save_encoder(tmp_path / "large_like.pt", build_encoder(config))
    result = run(str(tmp_path / "large_like.pt"))
    assert "input: waveform normalised per utterance (zero mean, unit variance)" in result.output
