"""A dpbench Encoder as a Hugging Face `save_pretrained` folder (HubertModel / Wav2Vec2Model / WavLMModel).

transformers' layers are uniform: every attention has hidden_size / head_dim heads and every FFN one
width. A pruned student is written exactly by zero padding: a missing head has zero q/k/v rows and
zero out_proj columns, a missing FFN unit zero rows and output columns, a removed block a zero output
layer (weights and bias). WavLM's heads stay at their original indices (`head_index`), so the gated
position bias of each head lines up; a WavLM without position bias gets a zero bias table.
The padding's size cost is reported. A non-trivial `conv_output_scale` has no exact counterpart (it
scales channels before a LayerNorm, which no neighbouring weight absorbs): such students are refused, as
are time-reduced ones (FitHuBERT), which transformers' models cannot represent."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from dpbench.errors import DpbenchError
from dpbench.models.complexity import count_params
from dpbench.models.config import EncoderConfig
from dpbench.models.encoder import Encoder

if TYPE_CHECKING:  # transformers is imported only when exporting
    from transformers import PretrainedConfig, PreTrainedModel, Wav2Vec2FeatureExtractor

SAMPLE_RATE = 16000
MODEL_CLASSES = {"hubert": "HubertModel", "wav2vec2": "Wav2Vec2Model", "wavlm": "WavLMModel"}
CONFIG_CLASSES = {"hubert": "HubertConfig", "wav2vec2": "Wav2Vec2Config", "wavlm": "WavLMConfig"}


@dataclass
class SizeCost:
    """Parameters of the exported model against the student's own."""

    student_params: int
    exported_params: int

    @property
    def overhead(self) -> float:
        return self.exported_params / self.student_params - 1.0

    def describe(self, what: str) -> str:
        return (
            f"{what}: {self.exported_params:,} parameters for the student's {self.student_params:,} "
            f"(+{self.exported_params - self.student_params:,}, {100 * self.overhead:+.1f}%)"
        )


def padded_heads(config: EncoderConfig) -> int:
    """transformers' head count: its attention is always hidden_size wide."""
    heads, rest = divmod(config.hidden_size, config.head_dim)
    if rest:
        raise DpbenchError(
            f"a head size of {config.head_dim} does not divide the width {config.hidden_size}; transformers' "
            "attention needs width = heads x head size (export --format released has no such limit)"
        )
    if config.arch == "wavlm" and any(h != heads for h in config.original_num_heads):
        raise DpbenchError(
            f"WavLM with {config.original_num_heads} original heads per layer, but transformers computes the "
            f"position-bias gate over {heads} heads of width {config.head_dim}"
        )
    return heads


def check_exportable(model: Encoder) -> None:
    """Refuse what the Hugging Face models cannot compute exactly."""
    if model.has_gates:
        raise DpbenchError("the student still has gates; export the pruned student (compress writes it as student.pt)")
    if model.config.time_reduction > 1:
        raise DpbenchError(
            f"the student merges every {model.config.time_reduction} frames before its transformer layers (a "
            "time-reduction layer, FitHuBERT); transformers' HuBERT / wav2vec 2.0 / WavLM models have no such "
            "layer, so a Hugging Face copy cannot compute it. Use --format onnx, or dpbench's own checkpoint"
        )
    scale = model.feature_extractor.output_scale
    if scale is not None and not bool(torch.all(scale == 1.0)):
        raise DpbenchError(
            "the student scales its last conv layer's channels before the projection LayerNorm "
            "(conv_output_scale, the authors' dummy_weight); transformers' models have no such scale and it "
            "does not fold into a neighbouring weight through the LayerNorm, so a Hugging Face copy would compute "
            "something else. Use --format released, which keeps it"
        )
    padded_heads(model.config)


def hf_config(config: EncoderConfig) -> PretrainedConfig:
    """The transformers config of the padded model."""
    import transformers

    fields = dict(
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=padded_heads(config),
        intermediate_size=max(max(config.ffn_dims), 1),
        hidden_act="gelu",
        conv_dim=list(config.conv_channels),
        conv_kernel=list(config.conv_kernels),
        conv_stride=list(config.conv_strides),
        num_feat_extract_layers=len(config.conv_channels),
        conv_bias=config.conv_bias,
        feat_extract_norm=config.conv_norm,
        feat_extract_activation="gelu",
        num_conv_pos_embeddings=config.pos_conv_kernel,
        num_conv_pos_embedding_groups=config.pos_conv_groups,
        do_stable_layer_norm=config.layer_norm_first,
        layer_norm_eps=config.layer_norm_eps,
        feat_proj_dropout=config.projection_dropout,
        attention_dropout=config.attention_dropout,
        activation_dropout=config.ffn_interm_dropout,
        hidden_dropout=config.dropout,
        layerdrop=0.0,
        mask_time_prob=0.0,  # no SpecAugment embedding: the encoder only
        mask_feature_prob=0.0,
        architectures=[MODEL_CLASSES[config.arch]],
    )
    if config.arch == "hubert":
        fields["feat_proj_layer_norm"] = True
    if config.arch == "wavlm":
        fields.update(num_buckets=config.num_buckets, max_bucket_distance=config.max_distance)
    return getattr(transformers, CONFIG_CLASSES[config.arch])(**fields)


def _rows(index: Tensor, size: int) -> Tensor:
    """Positions of the `size`-wide blocks `index` in a padded dimension."""
    return (index[:, None] * size + torch.arange(size)[None, :]).flatten()


def _attention(model: Encoder, i: int, heads: int, width: int) -> dict[str, Tensor]:
    """One padded attention block in transformers' names (prefix-less)."""
    d, c = model.config.hidden_size, model.config
    attention = model.layers[i].attention
    out = {f"{p}_proj.weight": torch.zeros(width, d) for p in "qkv"}
    out.update({f"{p}_proj.bias": torch.zeros(width) for p in "qkv"})
    out.update({"out_proj.weight": torch.zeros(d, width), "out_proj.bias": torch.zeros(d)})
    if c.arch == "wavlm":
        out.update(
            {
                "gru_rel_pos_linear.weight": torch.zeros(8, d // heads),
                "gru_rel_pos_linear.bias": torch.zeros(8),
                "gru_rel_pos_const": torch.ones(1, heads, 1, 1),
            }
        )
    if attention is None:
        return out
    rows = _rows(attention.head_index.cpu(), c.head_dim)
    for p in "qkv":
        proj = getattr(attention, f"{p}_proj")
        out[f"{p}_proj.weight"][rows] = proj.weight.detach().cpu()
        out[f"{p}_proj.bias"][rows] = proj.bias.detach().cpu()
    out["out_proj.weight"][:, rows] = attention.out_proj.weight.detach().cpu()
    out["out_proj.bias"] = attention.out_proj.bias.detach().cpu().clone()
    if attention.gru_rel_pos_linear is not None:  # WavLM's gated position bias
        out["gru_rel_pos_linear.weight"] = attention.gru_rel_pos_linear.weight.detach().cpu().clone()
        out["gru_rel_pos_linear.bias"] = attention.gru_rel_pos_linear.bias.detach().cpu().clone()
        out["gru_rel_pos_const"][:, attention.head_index.cpu()] = attention.gru_rel_pos_const.detach().cpu()
    return out


def _feed_forward(model: Encoder, i: int, units: int) -> dict[str, Tensor]:
    d = model.config.hidden_size
    out = {
        "intermediate_dense.weight": torch.zeros(units, d),
        "intermediate_dense.bias": torch.zeros(units),
        "output_dense.weight": torch.zeros(d, units),
        "output_dense.bias": torch.zeros(d),
    }
    ffn = model.layers[i].feed_forward
    if ffn is not None:
        kept = ffn.intermediate_dense.out_features
        out["intermediate_dense.weight"][:kept] = ffn.intermediate_dense.weight.detach().cpu()
        out["intermediate_dense.bias"][:kept] = ffn.intermediate_dense.bias.detach().cpu()
        out["output_dense.weight"][:, :kept] = ffn.output_dense.weight.detach().cpu()
        out["output_dense.bias"] = ffn.output_dense.bias.detach().cpu().clone()
    return out


def hf_state(model: Encoder, heads: int, units: int) -> dict[str, Tensor]:
    """The padded model's weights in transformers' names (weight norm as `weight_g` / `weight_v`)."""
    c = model.config
    own = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    state: dict[str, Tensor] = {}
    for name, value in own.items():
        match = re.fullmatch(r"feature_extractor\.layers\.(\d+)\.(conv|norm)\.(weight|bias)", name)
        if match:
            module = "conv" if match[2] == "conv" else "layer_norm"
            state[f"feature_extractor.conv_layers.{match[1]}.{module}.{match[3]}"] = value
    for name in ("layer_norm.weight", "layer_norm.bias", "projection.weight", "projection.bias"):
        state[f"feature_projection.{name}"] = own[f"feature_projection.{name}"]
    state["encoder.pos_conv_embed.conv.weight_g"] = own["pos_conv.weight_g"]
    state["encoder.pos_conv_embed.conv.weight_v"] = own["pos_conv.weight_v"]
    state["encoder.pos_conv_embed.conv.bias"] = own["pos_conv.bias"]
    state["encoder.layer_norm.weight"] = own["layer_norm.weight"]
    state["encoder.layer_norm.bias"] = own["layer_norm.bias"]
    if c.arch == "wavlm":
        table = own.get("relative_position.rel_attn_embed.weight")
        state["encoder.layers.0.attention.rel_attn_embed.weight"] = (
            table if table is not None else torch.zeros(c.num_buckets, heads)  # no bias: a zero table
        )
    for i in range(c.num_layers):
        prefix = f"encoder.layers.{i}."
        for name, value in _attention(model, i, heads, heads * c.head_dim).items():
            state[f"{prefix}attention.{name}"] = value
        for name, value in _feed_forward(model, i, units).items():
            state[f"{prefix}feed_forward.{name}"] = value
        for norm in ("layer_norm", "final_layer_norm"):
            for name in ("weight", "bias"):
                state[f"{prefix}{norm}.{name}"] = own[f"layers.{i}.{norm}.{name}"]
    return state


def to_huggingface(model: Encoder) -> PreTrainedModel:
    """The transformers model computing what `model` computes (eval mode)."""
    import transformers

    check_exportable(model)
    config = hf_config(model.config)
    hf = getattr(transformers, MODEL_CLASSES[model.config.arch])(config)
    state = hf_state(model, config.num_attention_heads, config.intermediate_size)
    expected = hf.state_dict()
    for suffix, parametrized in (
        ("weight_g", "parametrizations.weight.original0"),
        ("weight_v", "parametrizations.weight.original1"),
    ):
        key = f"encoder.pos_conv_embed.conv.{suffix}"
        if key not in expected:  # transformers with torch's parametrized weight norm
            state[f"encoder.pos_conv_embed.conv.{parametrized}"] = state.pop(key)
    hf.load_state_dict(state, strict=True)
    return hf.eval()


def feature_extractor(config: EncoderConfig) -> Wav2Vec2FeatureExtractor:
    """The preprocessor transformers pairs with the model (normalisation as the encoder expects)."""
    from transformers import Wav2Vec2FeatureExtractor

    return Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLE_RATE,
        padding_value=0.0,
        do_normalize=config.normalize_waveform,
        return_attention_mask=True,
    )


def export_huggingface(model: Encoder, out: str | os.PathLike[str]) -> SizeCost:
    """Write `model` as a `save_pretrained` folder at `out` (created whole, or not at all)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DpbenchError(f"{out} exists and is not empty; choose a new --out folder")
    hf = to_huggingface(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        hf.save_pretrained(staging)
        feature_extractor(model.config).save_pretrained(staging)
        staging.chmod(0o755)  # mkdtemp (and safetensors) make owner-only files; outputs are for the whole team
        for written in staging.iterdir():
            written.chmod(0o644)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SizeCost(count_params(model.config), sum(p.numel() for p in hf.parameters()))
