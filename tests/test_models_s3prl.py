"""s3prl's checkpoint formats and s3prl's upstreams. dpbench's upstream returns exactly the hidden
states of s3prl's own hubert / wav2vec2 / wavlm experts (HiddenStates.S3PRL): s3prl's model classes
with random weights, saved in the format its hub entries load, run through s3prl's UpstreamExpert and
through dpbench's, on one padded batch. Waveform normalisation is read from each format's task config."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from dpbench.models import HiddenStates, build_encoder, tiny_config
from dpbench.models.importers import from_fairseq, import_checkpoint
from dpbench.models.importers.shapes import default_normalize_waveform
from dpbench.superb.backend.upstream.hubconf import dpbench as dpbench_upstream

CONV_LAYERS = "[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2"
DICTIONARY = ["<s>", "<pad>", "</s>", "<unk>", "0", "1", "2"]
# one batch, padded to 16000 samples; 8000 and 6001 samples are lengths where HuBERT's and WavLM's rule
# for padded frames (any valid sample) keeps one more frame than the conv length formula
SAMPLES = [16000, 8000, 6001]
TOLERANCE = dict(atol=1e-4, rtol=1e-4)


def model_cfg(arch: str, pre_ln: bool) -> dict:
    """A small fairseq / unilm model config: 3 layers of width 64, every dropout off."""
    cfg = {
        "_name": arch,
        "extractor_mode": "layer_norm" if pre_ln else "default",
        "conv_feature_layers": CONV_LAYERS,
        "conv_bias": pre_ln,
        "encoder_layers": 3,
        "encoder_embed_dim": 64,
        "encoder_ffn_embed_dim": 128,
        "encoder_attention_heads": 4,
        "activation_fn": "gelu",
        "layer_norm_first": pre_ln,
        "conv_pos": 16,
        "conv_pos_groups": 4,
        "final_dim": 16,
        "dropout": 0.0,
        "attention_dropout": 0.0,
        "activation_dropout": 0.0,
        "encoder_layerdrop": 0.0,
        "dropout_input": 0.0,
        "dropout_features": 0.0,
    }
    if arch == "hubert":
        cfg["label_rate"] = 50.0
    if arch == "wav2vec2":
        cfg.update(latent_vars=8, latent_groups=2, latent_dim=16)
    if arch == "wavlm":
        cfg.update(relative_position_embedding=True, num_buckets=32, max_distance=64, gru_rel_pos=True)
    return cfg


@torch.no_grad()
def perturb(model: nn.Module) -> dict[str, Tensor]:
    """The model's state dict with every parameter moved off its initial value."""
    generator = torch.Generator().manual_seed(0)
    for parameter in model.parameters():
        parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return model.state_dict()


def s3prl_checkpoint(arch: str, pre_ln: bool, path: Path, normalize: bool | None = None) -> Path:
    """Write a random-weight model of s3prl's own classes as its hub entries store it: s3prl's converted
    dict for HuBERT and wav2vec 2.0, unilm's {cfg, model} for WavLM. `normalize` defaults to pre_ln, as
    the published models have it."""
    normalize = pre_ln if normalize is None else normalize
    from s3prl.upstream.utils import merge_with_parent

    cfg = model_cfg(arch, pre_ln)
    task = {"_name": "audio_pretraining", "normalize": normalize, "sample_rate": 16000}
    if arch == "hubert":
        from s3prl.upstream.hubert.hubert_model import HubertConfig, HubertModel, HubertPretrainingConfig

        task.update(_name="hubert_pretraining", label_rate=50.0, labels=["km"])
        model = HubertModel(
            merge_with_parent(HubertConfig, cfg), merge_with_parent(HubertPretrainingConfig, task), [DICTIONARY]
        )
        ckpt = {
            "task_cfg": task,
            "model_cfg": cfg,
            "model_weight": perturb(model),
            "dictionaries_symbols": [DICTIONARY],
        }
    elif arch == "wav2vec2":
        from s3prl.upstream.wav2vec2.wav2vec2_model import Wav2Vec2Config, Wav2Vec2Model

        model = Wav2Vec2Model(merge_with_parent(Wav2Vec2Config, cfg))
        ckpt = {"task_cfg": task, "model_cfg": cfg, "model_weight": perturb(model)}
    else:
        from s3prl.upstream.wavlm.WavLM import WavLM, WavLMConfig

        cfg["normalize"] = normalize  # unilm keeps the task's flag in the model config
        ckpt = {"cfg": cfg, "model": perturb(WavLM(WavLMConfig(cfg)))}
    torch.save(ckpt, path)
    return path


def s3prl_expert(arch: str, path: Path) -> nn.Module:
    if arch == "hubert":
        from s3prl.upstream.hubert.hubconf import hubert_local as entry
    elif arch == "wav2vec2":
        from s3prl.upstream.wav2vec2.hubconf import wav2vec2_local as entry
    else:
        from s3prl.upstream.wavlm.hubconf import wavlm_local as entry
    return entry(ckpt=str(path)).eval()


def wavs() -> list[Tensor]:
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(n, generator=generator) * 0.3 + 0.05 for n in SAMPLES]


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")
@pytest.mark.parametrize("pre_ln", [False, True], ids=["post_ln", "pre_ln"])
@pytest.mark.parametrize("arch", ["hubert", "wav2vec2", "wavlm"])
def test_upstream_matches_s3prl_expert(arch: str, pre_ln: bool, tmp_path: Path) -> None:
    torch.manual_seed(0)
    path = s3prl_checkpoint(arch, pre_ln, tmp_path / f"{arch}.pt")
    theirs_expert = s3prl_expert(arch, path)
    ours_expert = dpbench_upstream(ckpt=str(path))
    assert ours_expert.model.config.arch == arch
    assert ours_expert.model.config.normalize_waveform == pre_ln  # read from the task config
    batch = wavs()
    with torch.no_grad():
        theirs = theirs_expert(batch)["hidden_states"]
        ours = ours_expert(batch)["hidden_states"]
    assert len(ours) == len(theirs) == 4
    for index, (mine, reference) in enumerate(zip(ours, theirs)):
        assert mine.shape == reference.shape, f"hidden state {index}"
        torch.testing.assert_close(mine, reference, **TOLERANCE, msg=f"hidden state {index}")


# --- normalisation read from the checkpoint ------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("arch", ["hubert", "wav2vec2", "wavlm"])
def test_normalisation_comes_from_the_task_config_not_the_shape(arch: str, tmp_path: Path) -> None:
    """A post-LN model whose task normalises, and a pre-LN one whose task does not: the flag wins."""
    for pre_ln in (False, True):
        path = s3prl_checkpoint(arch, pre_ln, tmp_path / f"{arch}{pre_ln}.pt", normalize=not pre_ln)
        assert import_checkpoint(path).config.normalize_waveform is (not pre_ln)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_fairseq_layouts_carry_normalize(tmp_path: Path) -> None:
    converted = torch.load(s3prl_checkpoint("hubert", False, tmp_path / "h.pt"), weights_only=True)
    cfg, weights = converted["model_cfg"], converted["model_weight"]
    hydra = {"cfg": {"model": cfg, "task": {"normalize": True}}, "model": weights}
    assert from_fairseq(hydra).config.normalize_waveform
    namespace = {"args": argparse.Namespace(**cfg, normalize=True), "model": weights}
    assert from_fairseq(namespace).config.normalize_waveform
    no_task = {"cfg": {"model": cfg}, "model": weights}  # no task config: the shape's rule (post-LN: off)
    assert not from_fairseq(no_task).config.normalize_waveform


def test_default_rule_is_every_torchaudio_bundle_s() -> None:
    """Checkpoints without the flag (torchaudio state dicts, HF folders without preprocessor_config.json)
    follow torchaudio's bundles: each normalises exactly when it is pre-LN."""
    import torchaudio.pipelines as pipelines
    from torchaudio.pipelines._wav2vec2.impl import Wav2Vec2Bundle

    bundles = [b for b in vars(pipelines).values() if isinstance(b, Wav2Vec2Bundle)]
    assert len(bundles) > 20
    for bundle in bundles:
        pre_ln = bundle._params["encoder_layer_norm_first"]
        assert default_normalize_waveform(pre_ln) == bundle._normalize_waveform, bundle._path


def test_padded_frame_rule_equals_fairseq_forward_padding_mask() -> None:
    """HiddenStates.S3PRL's valid frames of HuBERT / WavLM equal their models' own rule, for many
    lengths and padded sizes (the conv formula disagrees on some)."""
    from s3prl.upstream.hubert.hubert_model import HubertModel

    model = build_encoder(tiny_config("hubert"))
    generator = torch.Generator().manual_seed(0)
    disagreements = 0
    for samples in (16000, 23456, 48000):
        lengths = torch.randint(400, samples + 1, (64,), generator=generator)
        frames = int(model.output_lengths(torch.tensor(samples)))
        sample_padding = torch.arange(samples)[None, :] >= lengths[:, None]
        theirs = (~HubertModel.forward_padding_mask(None, torch.zeros(64, frames, 1), sample_padding)).sum(-1)
        ours = model.frame_lengths(lengths, samples, frames, HiddenStates.S3PRL)
        assert ours.tolist() == theirs.tolist()
        disagreements += int((model.frame_lengths(lengths, samples, frames, HiddenStates.AUTHORS) != ours).sum())
    assert disagreements > 0
