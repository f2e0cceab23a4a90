"""A dpbench Encoder as a file of the DPHuBERT authors' format (docs/RELEASED_FORMAT.md):
`{"state_dict", "config", "distill_linear_projs"}`, loadable by their `wav2vec2_model(**config)` with
`load_state_dict(strict=True)` and by dpbench's released importer.

Two of dpbench's forms need a translation that keeps the function exact:
- a WavLM whose layer 0 attention was removed but which keeps its position bias (dpbench's pruning
  keeps the bias; the authors' model keeps its table in layer 0's attention): layer 0 gets a
  one-head attention whose weights are all zero, so it adds nothing and carries the table;
- a WavLM without position bias whose layer 0 has attention: the table is written as zeros.
dpbench has no layer drop: `encoder_layer_drop` is 0. A time-reduced student (FitHuBERT) is refused."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import Tensor

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_torch_save
from dpbench.models.config import EncoderConfig
from dpbench.models.encoder import Encoder

EXTRACTOR_MODES = {"group": "group_norm", "layer": "layer_norm"}


def _carrier_layer0(config: EncoderConfig, model: Encoder) -> bool:
    """Whether layer 0 needs a zero attention to carry WavLM's position-bias table."""
    return config.arch == "wavlm" and model.relative_position is not None and model.layers[0].attention is None


def released_config(model: Encoder) -> dict[str, Any]:
    """Keyword arguments of the authors' builder for `model` (their `wav2vec2_model` or `wavlm_model`)."""
    c = model.config
    carrier = _carrier_layer0(c, model)
    use_attention = [h > 0 or (i == 0 and carrier) for i, h in enumerate(c.num_heads)]
    config: dict[str, Any] = {
        "extractor_mode": EXTRACTOR_MODES[c.conv_norm],
        "extractor_conv_layer_config": list(zip(c.conv_channels, c.conv_kernels, c.conv_strides)),
        "extractor_conv_bias": c.conv_bias,
        "encoder_embed_dim": c.hidden_size,
        "encoder_projection_dropout": c.projection_dropout,
        "encoder_pos_conv_kernel": c.pos_conv_kernel,
        "encoder_pos_conv_groups": c.pos_conv_groups,
        "encoder_num_layers": c.num_layers,
        "encoder_use_attention": use_attention,
        "encoder_use_feed_forward": [f > 0 for f in c.ffn_dims],
        "encoder_attention_dropout": c.attention_dropout,
        "encoder_ff_interm_features": list(c.ffn_dims),
        "encoder_ff_interm_dropout": c.ffn_interm_dropout,
        "encoder_dropout": c.dropout,
        "encoder_layer_norm_first": c.layer_norm_first,
        "encoder_layer_drop": 0.0,
        "aux_num_out": None,
        "normalize_waveform": c.normalize_waveform,
        "extractor_prune_conv_channels": False,
        "encoder_prune_attention_heads": False,
        "encoder_prune_attention_layer": False,
        "encoder_prune_feed_forward_intermediate": False,
        "encoder_prune_feed_forward_layer": False,
    }
    if c.arch != "wavlm":
        config.update(encoder_num_heads=list(c.num_heads), encoder_head_dim=c.head_dim)
        return config
    totals = set(c.original_num_heads)
    if len(totals) != 1 or c.hidden_size != c.head_dim * c.original_num_heads[0]:
        raise DpbenchError(
            f"WavLM with original heads {c.original_num_heads} of size {c.head_dim} and width {c.hidden_size}: "
            "the authors' WavLM needs one original head count with width = heads x head size"
        )
    remaining = [layer.attention.head_index.tolist() if layer.attention is not None else [] for layer in model.layers]
    if carrier:
        remaining[0] = [0]
    config.update(
        encoder_total_num_heads=list(c.original_num_heads),
        encoder_remaining_heads=remaining,
        encoder_num_buckets=c.num_buckets,
        encoder_max_distance=c.max_distance,
    )
    return config


def _attention(model: Encoder, i: int, prefix: str) -> dict[str, Tensor]:
    c = model.config
    attention = model.layers[i].attention
    out: dict[str, Tensor] = {}
    if attention is None:  # the zero carrier of WavLM's table (see module docstring)
        d = c.hidden_size
        for p in "qkv":
            out[f"{prefix}{p}_proj.weight"] = torch.zeros(c.head_dim, d)
            out[f"{prefix}{p}_proj.bias"] = torch.zeros(c.head_dim)
        out[f"{prefix}out_proj.weight"] = torch.zeros(d, c.head_dim)
        out[f"{prefix}out_proj.bias"] = torch.zeros(d)
        out[f"{prefix}gru_rel_pos_linear.weight"] = torch.zeros(8, c.head_dim)
        out[f"{prefix}gru_rel_pos_linear.bias"] = torch.zeros(8)
        out[f"{prefix}gru_rel_pos_const"] = torch.ones(1, c.original_num_heads[0], 1, 1)
        return out
    for p in ("q", "k", "v", "out"):
        proj = getattr(attention, f"{p}_proj")
        out[f"{prefix}{p}_proj.weight"] = proj.weight.detach().cpu().clone()
        out[f"{prefix}{p}_proj.bias"] = proj.bias.detach().cpu().clone()
    if attention.gru_rel_pos_linear is not None:  # WavLM's gated position bias
        out[f"{prefix}gru_rel_pos_linear.weight"] = attention.gru_rel_pos_linear.weight.detach().cpu().clone()
        out[f"{prefix}gru_rel_pos_linear.bias"] = attention.gru_rel_pos_linear.bias.detach().cpu().clone()
        const = torch.ones(1, c.original_num_heads[i], 1, 1)  # all the teacher's heads; unkept ones unused
        const[:, attention.head_index.cpu()] = attention.gru_rel_pos_const.detach().cpu()
        out[f"{prefix}gru_rel_pos_const"] = const
    return out


def released_state(model: Encoder) -> dict[str, Tensor]:
    """`model`'s weights in the authors' names (see docs/RELEASED_FORMAT.md, 'state_dict keys')."""
    c = model.config
    own = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    state: dict[str, Tensor] = {}
    for i in range(len(c.conv_channels)):
        for name in ("weight", "bias"):
            for ours, theirs in (("conv", "conv"), ("norm", "layer_norm")):
                key = f"feature_extractor.layers.{i}.{ours}.{name}"
                if key in own:
                    state[f"feature_extractor.conv_layers.{i}.{theirs}.{name}"] = own[key]
    scale = own.get("feature_extractor.output_scale")
    state["feature_extractor.dummy_weight"] = scale if scale is not None else torch.ones(c.conv_channels[-1])
    for name in ("layer_norm.weight", "layer_norm.bias", "projection.weight", "projection.bias"):
        state[f"encoder.feature_projection.{name}"] = own[f"feature_projection.{name}"]
    transformer = "encoder.transformer."
    for name in ("weight_g", "weight_v", "bias"):
        state[f"{transformer}pos_conv_embed.conv.{name}"] = own[f"pos_conv.{name}"]
    state[f"{transformer}layer_norm.weight"], state[f"{transformer}layer_norm.bias"] = (
        own["layer_norm.weight"],
        own["layer_norm.bias"],
    )
    carrier = _carrier_layer0(c, model)
    for i, layer in enumerate(model.layers):
        prefix = f"{transformer}layers.{i}."
        if layer.attention is not None or (i == 0 and carrier):
            state.update(_attention(model, i, f"{prefix}attention."))
            if c.arch == "wavlm" and i == 0:
                table = own.get("relative_position.rel_attn_embed.weight")
                state[f"{prefix}attention.rel_attn_embed.weight"] = (
                    table if table is not None else torch.zeros(c.num_buckets, c.original_num_heads[0])
                )
        for norm in ("layer_norm", "final_layer_norm"):
            for name in ("weight", "bias"):
                state[f"{prefix}{norm}.{name}"] = own[f"layers.{i}.{norm}.{name}"]
        if layer.feed_forward is not None:
            for name in (
                "intermediate_dense.weight",
                "intermediate_dense.bias",
                "output_dense.weight",
                "output_dense.bias",
            ):
                state[f"{prefix}feed_forward.{name}"] = own[f"layers.{i}.feed_forward.{name}"]
    return state


def to_released(model: Encoder, distill_linear_projs: dict[str, Tensor] | None = None) -> dict[str, Any]:
    """The authors' file contents for `model`; `distill_linear_projs` their distillation linears, if any."""
    if model.has_gates:
        raise DpbenchError("the student still has gates; export the pruned student (compress writes it as student.pt)")
    if model.config.time_reduction > 1:
        raise DpbenchError(
            f"the student merges every {model.config.time_reduction} frames before its transformer layers (a "
            "time-reduction layer, FitHuBERT); the DPHuBERT authors' model has no such layer. Use --format onnx, "
            "or dpbench's own checkpoint"
        )
    return {
        "state_dict": released_state(model),
        "config": released_config(model),
        "distill_linear_projs": dict(distill_linear_projs or {}),
    }


def export_released(model: Encoder, path: str | os.PathLike[str]) -> int:
    """Write `model` in the authors' format to `path` (atomically); returns its parameter count
    (the authors count every tensor of the state dict)."""
    contents = to_released(model)
    atomic_torch_save(contents, path)
    return sum(v.numel() for v in contents["state_dict"].values())
