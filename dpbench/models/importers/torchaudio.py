"""torchaudio `wav2vec2_model` / `hubert_*` / `wavlm_*` state dicts -> dpbench Encoder.

torchaudio's state dicts carry no config: widths come from shapes; see `shapes.infer_config`
for the rest. HuBERT and wav2vec 2.0 share one layout there, so `arch` labels which it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from dpbench.models.encoder import Encoder
from dpbench.models.importers.keys import WEIGHT_NORM_G, WEIGHT_NORM_V, rename_keys, strip_prefix
from dpbench.models.importers.shapes import infer_config, load_state

LAYOUT = "torchaudio"
PREFIXES = ("wav2vec2.",)  # HuBERTPretrainModel wraps the encoder under this name
LAYERS = r"encoder\.transformer\.layers\.(\d+)"
RULES = [
    (r"feature_extractor\.conv_layers\.(\d+)\.conv\.(weight|bias)", r"feature_extractor.layers.\1.conv.\2"),
    (r"feature_extractor\.conv_layers\.(\d+)\.layer_norm\.(weight|bias)", r"feature_extractor.layers.\1.norm.\2"),
    (r"encoder\.feature_projection\.(layer_norm|projection)\.(weight|bias)", r"feature_projection.\1.\2"),
    (rf"encoder\.transformer\.pos_conv_embed\.conv\.{WEIGHT_NORM_G}", "pos_conv.weight_g"),
    (rf"encoder\.transformer\.pos_conv_embed\.conv\.{WEIGHT_NORM_V}", "pos_conv.weight_v"),
    (r"encoder\.transformer\.pos_conv_embed\.conv\.bias", "pos_conv.bias"),
    (r"encoder\.transformer\.layer_norm\.(weight|bias)", r"layer_norm.\1"),
    (r"encoder\.transformer\.layers\.0\.attention\.rel_attn_embed\.weight", "relative_position.rel_attn_embed.weight"),
    (rf"{LAYERS}\.attention\.attention\.out_proj\.(weight|bias)", r"layers.\1.attention.out_proj.\2"),
    (rf"{LAYERS}\.attention\.attention\.(in_proj_weight|in_proj_bias)", r"layers.\1.attention.\2"),
    (
        rf"{LAYERS}\.attention\.((?:q|k|v|out)_proj\.(?:weight|bias)|gru_rel_pos_linear\.(?:weight|bias)"
        r"|gru_rel_pos_const)",
        r"layers.\1.attention.\2",
    ),
    (rf"{LAYERS}\.(layer_norm|final_layer_norm)\.(weight|bias)", r"layers.\1.\2.\3"),
    (rf"{LAYERS}\.feed_forward\.(intermediate_dense|output_dense)\.(weight|bias)", r"layers.\1.feed_forward.\2.\3"),
]
IGNORE = [r"aux\.(weight|bias)", r"mask_generator\..*", r"logit_generator\..*"]


def _split_in_proj(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """WavLM in torchaudio packs q, k, v into nn.MultiheadAttention's in_proj; unpack them."""
    out = {}
    for key, value in state.items():
        for packed, kind in (("attention.in_proj_weight", "weight"), ("attention.in_proj_bias", "bias")):
            if key.endswith(packed):
                stem = key[: -len(packed)]
                for name, part in zip(("q", "k", "v"), value.chunk(3, dim=0)):
                    out[f"{stem}attention.{name}_proj.{kind}"] = part
                break
        else:
            out[key] = value
    return out


def is_torchaudio_state(state: Mapping[str, Any]) -> bool:
    return any(key.startswith(("encoder.transformer.", "wav2vec2.encoder.transformer.")) for key in state)


def torchaudio_state_arch(state: Mapping[str, Tensor]) -> str | None:
    """'wavlm' when the state dict has WavLM's position bias, else None (HuBERT or wav2vec 2.0)."""
    return "wavlm" if any("gru_rel_pos" in key for key in state) else None


def dpbench_names(state: Mapping[str, Tensor], source: str = "model") -> dict[str, Tensor]:
    """A torchaudio state dict in dpbench's parameter names (q, k, v unpacked)."""
    return _split_in_proj(rename_keys(strip_prefix(state, PREFIXES), RULES, IGNORE, source, LAYOUT))


def from_torchaudio(
    model_or_state_dict: nn.Module | Mapping[str, Tensor], arch: str | None = None, source: str = "model", **known: Any
) -> Encoder:
    """Convert a torchaudio Wav2Vec2Model (or its state dict) to an Encoder in eval mode.

    `arch` defaults to 'wavlm' for WavLM weights and 'wav2vec2' otherwise (HuBERT computes the
    same); `known` overrides shape conventions (heads, layer_norm_first, max_distance, conv_strides)."""
    state = model_or_state_dict.state_dict() if isinstance(model_or_state_dict, nn.Module) else model_or_state_dict
    renamed = dpbench_names(state, source)
    arch = arch or torchaudio_state_arch(renamed) or "wav2vec2"
    return load_state(infer_config(renamed, source, arch, **known), renamed, source)
