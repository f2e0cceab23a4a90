"""Hugging Face transformers HubertModel / Wav2Vec2Model / WavLMModel -> dpbench Encoder.

Waveform normalisation is the feature extractor's `do_normalize` (preprocessor_config.json); where a
model comes without that file, `shapes.default_normalize_waveform` decides (pre-LN models normalise)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from dpbench.errors import DpbenchError
from dpbench.models.encoder import Encoder
from dpbench.models.importers.keys import WEIGHT_NORM_G, WEIGHT_NORM_V, rename_keys, strip_prefix
from dpbench.models.importers.shapes import infer_config, load_state

LAYOUT = "Hugging Face transformers"
MODEL_TYPES = {"hubert": "hubert", "wav2vec2": "wav2vec2", "wavlm": "wavlm"}
# task models (ForCTC, ForSequenceClassification, ...) hold the encoder under these attributes
PREFIXES = ("hubert.", "wav2vec2.", "wavlm.")

RULES = [
    (r"feature_extractor\.conv_layers\.(\d+)\.conv\.(weight|bias)", r"feature_extractor.layers.\1.conv.\2"),
    (r"feature_extractor\.conv_layers\.(\d+)\.layer_norm\.(weight|bias)", r"feature_extractor.layers.\1.norm.\2"),
    (r"feature_projection\.(layer_norm|projection)\.(weight|bias)", r"feature_projection.\1.\2"),
    (rf"encoder\.pos_conv_embed\.conv\.{WEIGHT_NORM_G}", "pos_conv.weight_g"),
    (rf"encoder\.pos_conv_embed\.conv\.{WEIGHT_NORM_V}", "pos_conv.weight_v"),
    (r"encoder\.pos_conv_embed\.conv\.bias", "pos_conv.bias"),
    (r"encoder\.layer_norm\.(weight|bias)", r"layer_norm.\1"),
    (r"encoder\.layers\.0\.attention\.rel_attn_embed\.weight", "relative_position.rel_attn_embed.weight"),
    (
        r"encoder\.layers\.(\d+)\.attention\.((?:q|k|v|out)_proj\.(?:weight|bias)|gru_rel_pos_linear\.(?:weight|bias)"
        r"|gru_rel_pos_const)",
        r"layers.\1.attention.\2",
    ),
    (r"encoder\.layers\.(\d+)\.(layer_norm|final_layer_norm)\.(weight|bias)", r"layers.\1.\2.\3"),
    (
        r"encoder\.layers\.(\d+)\.feed_forward\.(intermediate_dense|output_dense)\.(weight|bias)",
        r"layers.\1.feed_forward.\2.\3",
    ),
]
IGNORE = [r"masked_spec_embed"]
PREPROCESSOR_CONFIG = "preprocessor_config.json"


def preprocessor_normalize(preprocessor: Mapping[str, Any] | None) -> bool | None:
    """preprocessor_config.json's `do_normalize`; None without the file (or the key)."""
    if preprocessor is None or "do_normalize" not in preprocessor:
        return None
    return bool(preprocessor["do_normalize"])


def _config_dict(hf_config: Any) -> dict[str, Any]:
    if isinstance(hf_config, Mapping):
        return dict(hf_config)
    if hasattr(hf_config, "to_dict"):
        return hf_config.to_dict()
    raise DpbenchError(f"expected a transformers config or a config.json dict, got {type(hf_config).__name__}")


def _check_supported(cfg: dict[str, Any], source: str) -> None:
    problems = []
    if cfg.get("hidden_act", "gelu") != "gelu" or cfg.get("feat_extract_activation", "gelu") != "gelu":
        problems.append("activations other than gelu")
    if cfg.get("add_adapter"):
        problems.append("an adapter (add_adapter=true)")
    if cfg.get("conv_pos_batch_norm"):
        problems.append("a batch-normed position conv")
    if cfg.get("feat_proj_layer_norm", True) is False:
        problems.append("no LayerNorm before the feature projection")
    if cfg.get("position_embeddings_type") not in (None, "conv"):
        problems.append(f"position_embeddings_type={cfg['position_embeddings_type']!r}")
    if problems:
        raise DpbenchError(f"{source}: unsupported {LAYOUT} model: it has {', '.join(problems)}")


def _known_fields(cfg: dict[str, Any]) -> dict[str, Any]:
    known = {
        "conv_strides": list(cfg.get("conv_stride", [])) or None,
        "heads": cfg.get("num_attention_heads"),
        "layer_norm_first": bool(cfg.get("do_stable_layer_norm", False)),
        "layer_norm_eps": float(cfg.get("layer_norm_eps", 1e-5)),
    }
    if "max_bucket_distance" in cfg:
        known["max_distance"] = int(cfg["max_bucket_distance"])
    return known


# EncoderConfig dropout -> transformers config key and its default (torchaudio's import_huggingface mapping)
DROPOUT_KEYS = {
    "projection_dropout": ("feat_proj_dropout", 0.0),
    "attention_dropout": ("attention_dropout", 0.1),
    "ffn_interm_dropout": ("activation_dropout", 0.1),
    "dropout": ("hidden_dropout", 0.1),
}


def from_huggingface(
    model_or_state_dict: nn.Module | Mapping[str, Tensor],
    hf_config: Any = None,
    source: str = "model",
    normalize_waveform: bool | None = None,
) -> Encoder:
    """Convert a transformers HubertModel / Wav2Vec2Model / WavLMModel (or a task model around one,
    or its state dict) to an Encoder in eval mode. `hf_config`: its config object or config.json
    dict (read from the module when omitted); `normalize_waveform`: the preprocessor's `do_normalize`
    (None: `default_normalize_waveform`)."""
    state: Mapping[str, Tensor]
    if isinstance(model_or_state_dict, nn.Module):
        hf_config = hf_config if hf_config is not None else getattr(model_or_state_dict, "config", None)
        state = model_or_state_dict.state_dict()
    else:
        state = model_or_state_dict
    if hf_config is None:
        raise DpbenchError(f"{source}: a Hugging Face state dict needs its config (config.json)")
    cfg = _config_dict(hf_config)
    model_type = cfg.get("model_type")
    if model_type not in MODEL_TYPES:
        raise DpbenchError(f"{source}: config model_type is {model_type!r}; expected one of {sorted(MODEL_TYPES)}")
    _check_supported(cfg, source)
    renamed = rename_keys(strip_prefix(state, PREFIXES), RULES, IGNORE, source, LAYOUT)
    known = {**_known_fields(cfg), "normalize_waveform": normalize_waveform}
    config = infer_config(renamed, source, MODEL_TYPES[model_type], **known)
    for name, (key, default) in DROPOUT_KEYS.items():
        setattr(config, name, float(cfg.get(key, default)))
    return load_state(config, renamed, source)


def huggingface_state_arch(state: Mapping[str, Tensor]) -> str | None:
    """The architecture named by a task model's prefix or by WavLM-only keys (None: cannot tell)."""
    if any("rel_attn_embed" in key or "gru_rel_pos" in key for key in state):
        return "wavlm"
    for prefix in PREFIXES:
        if any(key.startswith(prefix) for key in state):
            return prefix.rstrip(".")
    return None


def from_huggingface_state(state: Mapping[str, Tensor], source: str, arch: str, **known: Any) -> Encoder:
    """Convert a transformers state dict without its config: widths from shapes, the rest from
    the published models' conventions (`known` overrides them, see `infer_config`)."""
    renamed = rename_keys(strip_prefix(state, PREFIXES), RULES, IGNORE, source, LAYOUT)
    return load_state(infer_config(renamed, source, arch, **known), renamed, source)
