"""Teacher names resolve to real-format checkpoints (torchaudio, Hugging Face) and convert exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchaudio
import transformers

from dpbench.teachers import load_model


def _tiny_torchaudio() -> torch.nn.Module:
    """torchaudio state dicts do not store the head count: importers assume the standard 64 per head."""
    return torchaudio.models.wav2vec2_model(
        extractor_mode="group_norm",
        extractor_conv_layer_config=[(16, 10, 5)] + [(16, 3, 2)] * 4 + [(16, 2, 2)] * 2,
        extractor_conv_bias=False,
        encoder_embed_dim=128,
        encoder_projection_dropout=0.0,
        encoder_pos_conv_kernel=8,
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
    ).eval()


def test_env_var_teacher_in_torchaudio_format_matches_torchaudio(
    empty_caches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    reference = _tiny_torchaudio()
    path = empty_caches / "hubert_fairseq_base_ls960.pth"
    torch.save(reference.state_dict(), path)
    monkeypatch.setenv("DPBENCH_HUBERT_BASE", str(path))
    model = load_model("hubert_base")
    wavs = torch.randn(1, 8000)
    with torch.no_grad():
        ours, _ = model(wavs)
        theirs, _ = reference.extract_features(wavs)
    assert len(ours) == len(theirs) + 1
    for layer, (a, b) in enumerate(zip(ours[1:], theirs), start=1):
        assert torch.allclose(a, b, atol=1e-4), f"layer {layer}"


def test_hf_cache_teacher_matches_transformers(empty_caches: Path) -> None:
    torch.manual_seed(0)
    config = transformers.HubertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,
        num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=4,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        feat_proj_dropout=0.0,
        layerdrop=0.0,
    )
    reference = transformers.HubertModel(config).eval()
    snapshot = empty_caches / "hf" / "hub" / "models--facebook--hubert-base-ls960" / "snapshots" / "abc123"
    reference.save_pretrained(snapshot)
    model = load_model("hubert_base")
    wavs = torch.randn(1, 8000)
    with torch.no_grad():
        ours, _ = model(wavs)
        theirs = reference(wavs, output_hidden_states=True).hidden_states
    for layer in range(1, len(ours)):
        assert torch.allclose(ours[layer], theirs[layer], atol=1e-4), f"layer {layer}"
