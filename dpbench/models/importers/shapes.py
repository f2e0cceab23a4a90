"""Reading an EncoderConfig off a state dict already in dpbench's naming, and loading it.

Shapes give every width; what they cannot give (strides, head count of non-WavLM models, pre- or
post-LN, WavLM's max distance, waveform normalisation) comes from the source's own config when it has
one, else from the published models' conventions, which the caller may override."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from dpbench.errors import DpbenchError
from dpbench.models.config import BASE_CONV_KERNELS, BASE_CONV_STRIDES, EncoderConfig
from dpbench.models.encoder import Encoder

STANDARD_HEAD_DIM = 64  # every published HuBERT / wav2vec 2.0 / WavLM model
STANDARD_MAX_DISTANCE = 800  # WavLM Base(+) and Large


def default_normalize_waveform(layer_norm_first: bool) -> bool:
    """Whether a checkpoint without that metadata normalises its waveforms: the pre-LN (Large) models
    do, the post-LN ones do not. Every torchaudio wav2vec 2.0 / HuBERT / WavLM bundle follows this rule
    (`_normalize_waveform` equals `encoder_layer_norm_first`, e.g. HUBERT_LARGE, WAV2VEC2_LARGE_LV60K,
    WAVLM_LARGE on; WAV2VEC2_LARGE, the post-LN Large trained on LibriSpeech, off), as does fairseq's
    `extractor_mode` documentation ("layer_norm ... meant to use with normalize=True")."""
    return layer_norm_first


def _count(state: Mapping[str, Tensor], template: str) -> int:
    n = 0
    while template.format(n) in state:
        n += 1
    return n


def _require(state: Mapping[str, Tensor], key: str, source: str) -> Tensor:
    if key not in state:
        raise DpbenchError(f"{source}: missing {key!r}; expected a HuBERT / wav2vec 2.0 / WavLM encoder")
    return state[key]


def _conv_fields(state: Mapping[str, Tensor], source: str, strides: list[int] | None) -> dict[str, Any]:
    n = _count(state, "feature_extractor.layers.{}.conv.weight")
    if n == 0:
        raise DpbenchError(f"{source}: no conv feature extractor weights; expected a wav2vec2-family encoder")
    weights = [state[f"feature_extractor.layers.{i}.conv.weight"] for i in range(n)]
    kernels = [int(w.shape[2]) for w in weights]
    if strides is None:
        if kernels != BASE_CONV_KERNELS:
            raise DpbenchError(
                f"{source}: conv kernels {kernels} are not the standard {BASE_CONV_KERNELS}; "
                "the strides cannot be read from weights, pass conv_strides"
            )
        strides = list(BASE_CONV_STRIDES)
    if "feature_extractor.layers.1.norm.weight" in state:
        norm = "layer"
    elif "feature_extractor.layers.0.norm.weight" in state:
        norm = "group"
    else:
        raise DpbenchError(f"{source}: the conv feature extractor has no normalisation; not a supported encoder")
    return {
        "conv_channels": [int(w.shape[0]) for w in weights],
        "conv_kernels": kernels,
        "conv_strides": list(strides),
        "conv_norm": norm,
        "conv_bias": "feature_extractor.layers.0.conv.bias" in state,
    }


def _layer_fields(state: Mapping[str, Tensor], source: str, hidden: int, known: dict[str, Any]) -> dict[str, Any]:
    num_layers = _count(state, "layers.{}.layer_norm.weight")
    if num_layers == 0:
        raise DpbenchError(f"{source}: no transformer layers found")
    wavlm = "layers.0.attention.gru_rel_pos_const" in state
    ffn_dims, inner = [], []
    for i in range(num_layers):
        ffn = state.get(f"layers.{i}.feed_forward.intermediate_dense.weight")
        ffn_dims.append(int(ffn.shape[0]) if ffn is not None else 0)
        q = state.get(f"layers.{i}.attention.q_proj.weight")
        inner.append(int(q.shape[0]) if q is not None else 0)
    if wavlm:
        head_dim = hidden // int(state["layers.0.attention.gru_rel_pos_const"].shape[1])
    else:
        heads = known.get("heads")
        head_dim = hidden // heads if heads else STANDARD_HEAD_DIM
    num_heads = [n // head_dim for n in inner]
    if any(n % head_dim for n in inner):
        raise DpbenchError(f"{source}: attention width {inner} is not a multiple of the head size {head_dim}")
    return {
        "num_layers": num_layers,
        "num_heads": num_heads,
        "head_dim": head_dim,
        "ffn_dims": ffn_dims,
    }


def infer_config(state: Mapping[str, Tensor], source: str, arch: str, **known: Any) -> EncoderConfig:
    """The EncoderConfig of a dpbench-named state dict. `known` may give: conv_strides, heads
    (original head count), layer_norm_first, layer_norm_eps, max_distance, normalize_waveform (None or
    absent: `default_normalize_waveform`)."""
    fields = _conv_fields(state, source, known.get("conv_strides"))
    hidden = int(_require(state, "feature_projection.projection.weight", source).shape[0])
    fields.update(_layer_fields(state, source, hidden, known))
    pos = _require(state, "pos_conv.weight_v", source)
    fields.update(
        arch=arch,
        hidden_size=hidden,
        pos_conv_kernel=int(pos.shape[2]),
        pos_conv_groups=hidden // int(pos.shape[1]),
        layer_norm_first=known.get("layer_norm_first", fields["conv_norm"] == "layer"),
        layer_norm_eps=known.get("layer_norm_eps", 1e-5),
    )
    normalize = known.get("normalize_waveform")
    fields["normalize_waveform"] = (
        default_normalize_waveform(fields["layer_norm_first"]) if normalize is None else bool(normalize)
    )
    if arch == "wavlm":
        fields["num_buckets"] = int(_require(state, "relative_position.rel_attn_embed.weight", source).shape[0])
        fields["max_distance"] = known.get("max_distance", STANDARD_MAX_DISTANCE)
    try:
        return EncoderConfig(**fields)
    except ValueError as error:
        raise DpbenchError(f"{source}: inconsistent encoder shape ({error})") from error


def load_state(config: EncoderConfig, state: Mapping[str, Tensor], source: str) -> Encoder:
    """Build an Encoder of `config` holding `state` (in dpbench naming); eval mode."""
    model = Encoder(config)
    own = model.state_dict()
    state = dict(state)
    for key, value in own.items():  # buffers the foreign formats have no counterpart of
        if key.endswith("head_index") and key not in state:
            state[key] = value
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        raise DpbenchError(
            f"{source}: weights do not fit the {config.arch} encoder read from it "
            f"(missing {missing[:4]}, unexpected {unexpected[:4]}, wrong shape {wrong[:4]})"
        )
    with torch.no_grad():
        model.load_state_dict({k: v.detach().to(own[k].dtype) for k, v in state.items()})
    return model.eval()
