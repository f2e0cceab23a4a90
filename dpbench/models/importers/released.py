"""The DPHuBERT authors' pruned students (e.g. `DPHuBERT-sp0.75.pth`, `DPWavLM-sp0.75.pth`) -> Encoder.

A file is `{"state_dict", "config", "distill_linear_projs"}`: torchaudio-style weights of their pruned
model and the keyword arguments of their `wav2vec2_model` builder (per-layer heads and FFN widths,
use-attention / use-FFN flags, WavLM's remaining-head indices). Facts: docs/RELEASED_FORMAT.md.

Where their model and dpbench's differ in form but not in function:
- `feature_extractor.dummy_weight` (the last conv gate's soft values) becomes the encoder's
  `conv_output_scale`; a scale of all ones is left out (it computes nothing);
- WavLM's `gru_rel_pos_const` is stored for all the teacher's heads; dpbench keeps the remaining heads'
  entries and records their original indices in each attention's `head_index`;
- a WavLM whose layer 0 attention was removed has no relative position bias anywhere in their model
  (layer 0 held the table): the config then says `relative_position_bias=False`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from dpbench.errors import DpbenchError
from dpbench.models.config import EncoderConfig
from dpbench.models.encoder import Encoder
from dpbench.models.importers.keys import WEIGHT_NORM_G, WEIGHT_NORM_V, rename_keys
from dpbench.models.importers.shapes import load_state

LAYOUT = "DPHuBERT authors'"
EXTRACTOR_MODES = {"group_norm": "group", "layer_norm": "layer"}
# their builder's default conv stack (`extractor_conv_layer_config=None`)
DEFAULT_CONV_LAYERS = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2
GATE_FLAGS = (
    "extractor_prune_conv_channels",
    "encoder_prune_attention_heads",
    "encoder_prune_attention_layer",
    "encoder_prune_feed_forward_intermediate",
    "encoder_prune_feed_forward_layer",
)
DROPOUTS = {  # their config key -> EncoderConfig field
    "encoder_projection_dropout": "projection_dropout",
    "encoder_attention_dropout": "attention_dropout",
    "encoder_ff_interm_dropout": "ffn_interm_dropout",
    "encoder_dropout": "dropout",
}
LAYERS = r"encoder\.transformer\.layers\.(\d+)"
RULES = [
    (r"feature_extractor\.conv_layers\.(\d+)\.conv\.(weight|bias)", r"feature_extractor.layers.\1.conv.\2"),
    (r"feature_extractor\.conv_layers\.(\d+)\.layer_norm\.(weight|bias)", r"feature_extractor.layers.\1.norm.\2"),
    (r"feature_extractor\.dummy_weight", "feature_extractor.output_scale"),
    (r"encoder\.feature_projection\.(layer_norm|projection)\.(weight|bias)", r"feature_projection.\1.\2"),
    (rf"encoder\.transformer\.pos_conv_embed\.conv\.{WEIGHT_NORM_G}", "pos_conv.weight_g"),
    (rf"encoder\.transformer\.pos_conv_embed\.conv\.{WEIGHT_NORM_V}", "pos_conv.weight_v"),
    (r"encoder\.transformer\.pos_conv_embed\.conv\.bias", "pos_conv.bias"),
    (r"encoder\.transformer\.layer_norm\.(weight|bias)", r"layer_norm.\1"),
    (rf"{LAYERS}\.attention\.rel_attn_embed\.weight", r"layers.\1.attention.rel_attn_embed.weight"),
    (
        rf"{LAYERS}\.attention\.((?:q|k|v|out)_proj\.(?:weight|bias)|gru_rel_pos_linear\.(?:weight|bias)"
        r"|gru_rel_pos_const)",
        r"layers.\1.attention.\2",
    ),
    (rf"{LAYERS}\.(layer_norm|final_layer_norm)\.(weight|bias)", r"layers.\1.\2.\3"),
    (rf"{LAYERS}\.feed_forward\.(intermediate_dense|output_dense)\.(weight|bias)", r"layers.\1.feed_forward.\2.\3"),
]
IGNORE = [r"aux\.(weight|bias)"]  # a CTC head (aux_num_out), not part of the encoder


def is_released_checkpoint(obj: Any) -> bool:
    """Whether `obj` is a loaded file of the authors' format (a state dict next to their builder's config)."""
    return (
        isinstance(obj, Mapping)
        and isinstance(obj.get("state_dict"), Mapping)
        and isinstance(obj.get("config"), Mapping)
        and "encoder_embed_dim" in obj["config"]
    )


def _require(cfg: Mapping[str, Any], key: str, source: str) -> Any:
    if key not in cfg:
        raise DpbenchError(f"{source}: the config has no {key!r}; not a file written by the DPHuBERT authors' scripts")
    return cfg[key]


def _per_layer(value: Any, layers: int, key: str, source: str) -> list[Any]:
    """Their builder takes an int (every layer) or one entry per layer."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * layers
    if len(values) != layers:
        raise DpbenchError(f"{source}: {key} has {len(values)} entries for {layers} layers")
    return values


def _conv_fields(cfg: Mapping[str, Any], source: str) -> dict[str, Any]:
    mode = _require(cfg, "extractor_mode", source)
    if mode not in EXTRACTOR_MODES:
        raise DpbenchError(f"{source}: extractor_mode {mode!r} is not one of {sorted(EXTRACTOR_MODES)}")
    layers = cfg.get("extractor_conv_layer_config") or DEFAULT_CONV_LAYERS
    try:
        channels, kernels, strides = (list(map(int, column)) for column in zip(*layers))
    except (TypeError, ValueError) as error:
        raise DpbenchError(
            f"{source}: extractor_conv_layer_config {layers!r} is not (channels, kernel, stride) triples"
        ) from error
    return {
        "conv_channels": channels,
        "conv_kernels": kernels,
        "conv_strides": strides,
        "conv_norm": EXTRACTOR_MODES[mode],
        "conv_bias": bool(cfg.get("extractor_conv_bias", False)),
    }


def _kept(use: list[bool], sizes: list[int], what: str, source: str) -> list[int]:
    """Per-layer sizes with 0 where the block was removed; a kept block must have units."""
    for i, (on, size) in enumerate(zip(use, sizes)):
        if on and size <= 0:
            raise DpbenchError(f"{source}: layer {i} keeps its {what} block with {size} units")
    return [int(size) if on else 0 for on, size in zip(use, sizes)]


def _head_fields(cfg: Mapping[str, Any], source: str, hidden: int, use: list[bool]) -> dict[str, Any]:
    layers = len(use)
    if "encoder_remaining_heads" not in cfg:  # HuBERT / wav2vec 2.0
        heads = _per_layer(_require(cfg, "encoder_num_heads", source), layers, "encoder_num_heads", source)
        return {"num_heads": _kept(use, heads, "attention", source), "head_dim": int(cfg.get("encoder_head_dim", 64))}
    total = [
        int(h)
        for h in _per_layer(_require(cfg, "encoder_total_num_heads", source), layers, "encoder_total_num_heads", source)
    ]
    remaining = _per_layer(cfg["encoder_remaining_heads"], layers, "encoder_remaining_heads", source)
    if len(set(total)) != 1 or hidden % total[0]:
        raise DpbenchError(f"{source}: encoder_total_num_heads {total} must be one head count dividing {hidden}")
    for i, (kept, count) in enumerate(zip(remaining, total)):
        if len(set(kept)) != len(kept) or any(not 0 <= int(h) < count for h in kept):
            raise DpbenchError(
                f"{source}: encoder_remaining_heads[{i}] = {kept} is not a set of head indices < {count}"
            )
    return {
        "num_heads": _kept(use, [len(kept) for kept in remaining], "attention", source),
        "head_dim": hidden // total[0],
        "original_num_heads": total,
        "num_buckets": int(_require(cfg, "encoder_num_buckets", source)),
        "max_distance": int(_require(cfg, "encoder_max_distance", source)),
        "relative_position_bias": use[0],
    }


def released_config(cfg: Mapping[str, Any], source: str, arch: str | None = None) -> EncoderConfig:
    """The EncoderConfig of their builder's keyword arguments `cfg`. `arch` labels HuBERT vs wav2vec 2.0
    (the file cannot tell; default 'hubert'); WavLM is recognised by `encoder_remaining_heads`."""
    gated = [flag for flag in GATE_FLAGS if cfg.get(flag)]
    if gated:
        raise DpbenchError(
            f"{source}: a training checkpoint with gates ({', '.join(gated)}); prune it with the authors' prune.py "
            "first, or compress with dpbench"
        )
    wavlm = "encoder_remaining_heads" in cfg
    if arch == "wavlm" and not wavlm:
        raise DpbenchError(f"{source}: labelled WavLM, but its config has no encoder_remaining_heads")
    layers = int(_require(cfg, "encoder_num_layers", source))
    hidden = int(_require(cfg, "encoder_embed_dim", source))
    use_attention = [
        bool(u) for u in _per_layer(cfg.get("encoder_use_attention", True), layers, "encoder_use_attention", source)
    ]
    use_ffn = [
        bool(u)
        for u in _per_layer(cfg.get("encoder_use_feed_forward", True), layers, "encoder_use_feed_forward", source)
    ]
    ffn = _per_layer(_require(cfg, "encoder_ff_interm_features", source), layers, "encoder_ff_interm_features", source)
    fields = {
        "arch": "wavlm" if wavlm else (arch or "hubert"),
        **_conv_fields(cfg, source),
        "hidden_size": hidden,
        "num_layers": layers,
        **_head_fields(cfg, source, hidden, use_attention),
        "ffn_dims": _kept(use_ffn, [int(f) for f in ffn], "feed-forward", source),
        "layer_norm_first": bool(_require(cfg, "encoder_layer_norm_first", source)),
        "pos_conv_kernel": int(_require(cfg, "encoder_pos_conv_kernel", source)),
        "pos_conv_groups": int(_require(cfg, "encoder_pos_conv_groups", source)),
        "normalize_waveform": bool(cfg.get("normalize_waveform", False)),
        **{field: float(cfg.get(key, 0.0)) for key, field in DROPOUTS.items()},
    }
    try:
        return EncoderConfig(**fields)
    except ValueError as error:
        raise DpbenchError(f"{source}: inconsistent model config ({error})") from error


def _dpbench_state(
    state: Mapping[str, Tensor], config: EncoderConfig, cfg: Mapping[str, Any], source: str
) -> dict[str, Tensor]:
    """Their weights in dpbench's naming, with the WavLM head bookkeeping converted (see module docstring)."""
    out = rename_keys(state, RULES, IGNORE, source, LAYOUT)
    table = out.pop("layers.0.attention.rel_attn_embed.weight", None)
    if table is not None:
        out["relative_position.rel_attn_embed.weight"] = table
    stray = sorted(k for k in out if k.endswith("rel_attn_embed.weight") and not k.startswith("relative_position."))
    if stray:
        raise DpbenchError(f"{source}: relative position table outside layer 0 ({stray[0]})")
    scale = out.get("feature_extractor.output_scale")
    if scale is not None and bool(torch.all(scale == 1.0)):
        del out["feature_extractor.output_scale"]
    remaining = cfg.get("encoder_remaining_heads")
    for i, heads in enumerate(config.num_heads):
        if heads == 0:
            continue
        index = torch.tensor(remaining[i] if remaining is not None else range(heads), dtype=torch.long)
        out[f"layers.{i}.attention.head_index"] = index
        const = out.get(f"layers.{i}.attention.gru_rel_pos_const")
        if const is not None:
            out[f"layers.{i}.attention.gru_rel_pos_const"] = const[:, index].clone()
    return out


def from_released(ckpt: Mapping[str, Any], source: str = "checkpoint", arch: str | None = None) -> Encoder:
    """Convert a loaded file of the authors' format to an Encoder in eval mode (see module docstring)."""
    if not is_released_checkpoint(ckpt):
        raise DpbenchError(f"{source}: expected the DPHuBERT authors' format: a dict with 'state_dict' and 'config'")
    cfg, state = ckpt["config"], ckpt["state_dict"]
    config = released_config(cfg, source, arch)
    converted = _dpbench_state(state, config, cfg, source)
    config.conv_output_scale = "feature_extractor.output_scale" in converted
    return load_state(config, converted, source)
