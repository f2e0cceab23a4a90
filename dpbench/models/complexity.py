"""Parameter and MAC counts of an encoder, exact for a config and expected (differentiable) for a
gated model. Both come from one set of formulas written over per-group unit counts, so the
expected count of a gated model equals the exact count of its pruned model when gates are 0/1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from dpbench.models.components import conv_layer_norm, conv_width
from dpbench.models.config import EncoderConfig
from dpbench.models.encoder import Encoder

Number = float | Tensor
SAMPLE_RATE = 16000
MACS_CLIP_SECONDS = 10.0  # MACs per second of audio are measured on a clip of this length


@dataclass
class UnitCounts:
    """Kept units per prunable group; entries may be tensors (expected counts) or numbers."""

    conv_channels: Sequence[Number]
    heads: Sequence[Number]
    attention_on: Sequence[Number]  # 1 or the block gate's keep probability
    ffn_units: Sequence[Number]
    ffn_on: Sequence[Number]


def _static_counts(config: EncoderConfig) -> UnitCounts:
    return UnitCounts(
        conv_channels=list(config.conv_channels),
        heads=list(config.num_heads),
        attention_on=[1.0 if h > 0 else 0.0 for h in config.num_heads],
        ffn_units=list(config.ffn_dims),
        ffn_on=[1.0 if f > 0 else 0.0 for f in config.ffn_dims],
    )


def _frames(config: EncoderConfig, samples: int) -> list[int]:
    """Frames after each conv layer for a clip of `samples` samples."""
    out = []
    for kernel, stride in zip(config.conv_kernels, config.conv_strides):
        samples = (samples - kernel) // stride + 1
        out.append(samples)
    return out


def _params(config: EncoderConfig, n: UnitCounts) -> Number:
    d = config.hidden_size
    total: Number = 0.0
    in_ch: Number = 1.0
    for i, (out_ch, kernel) in enumerate(zip(n.conv_channels, config.conv_kernels)):
        total = total + in_ch * out_ch * kernel
        if config.conv_bias:
            total = total + out_ch
        if conv_layer_norm(config.conv_norm, i) is not None:
            total = total + 2 * out_ch
        in_ch = out_ch
    if config.conv_output_scale:
        total = total + in_ch
    total = total + 2 * in_ch + (in_ch + 1) * d  # feature projection
    total = total + config.pos_conv_kernel * (1 + d * d // config.pos_conv_groups) + d  # position conv
    total = total + 2 * d  # encoder layer norm
    if config.time_reduction > 1:  # Conv1d(d, d, kernel = stride = factor) with bias
        total = total + d * d * config.time_reduction + d
    if config.arch == "wavlm" and config.relative_position_bias:
        total = total + config.num_buckets * config.original_num_heads[0]
    for i in range(config.num_layers):
        heads, inner = n.heads[i], n.heads[i] * config.head_dim
        attention = (d + 1) * inner * 3 + (inner + 1) * d
        if config.arch == "wavlm":
            chunk = d // config.original_num_heads[i]
            attention = attention + chunk * 8 + 8 + heads
        ffn = (d + 1) * n.ffn_units[i] + (n.ffn_units[i] + 1) * d
        total = total + attention * n.attention_on[i] + ffn * n.ffn_on[i] + 4 * d
    return total


def _macs(config: EncoderConfig, n: UnitCounts, seconds: float, executed: bool = False) -> Number:
    d = config.hidden_size
    frames = _frames(config, int(seconds * SAMPLE_RATE))
    t = frames[-1]
    total: Number = 0.0
    in_ch: Number = 1.0
    for i, (out_ch, kernel, t_i) in enumerate(zip(n.conv_channels, config.conv_kernels, frames)):
        if executed:  # zero channels up to the activations' width
            norm = conv_layer_norm(config.conv_norm, i)
            out_ch = conv_width(int(out_ch), norm == "layer")
            if norm == "group":  # GroupNorm folded in: frames' covariance, offset feature
                total = total + t_i * kernel * kernel + t_i * out_ch
        total = total + t_i * in_ch * out_ch * kernel
        in_ch = out_ch
    total = total + t * n.conv_channels[-1] * d  # projection
    kernel = config.pos_conv_kernel  # padded by kernel // 2 each side: an even kernel computes one frame more
    pos_frames = t + 2 * (kernel // 2) - kernel + 1  # (trimmed after the conv, but computed)
    total = total + pos_frames * d * (d // config.pos_conv_groups) * kernel
    if config.time_reduction > 1:  # the transformer layers run on the reduced frames
        t = t // config.time_reduction
        total = total + t * d * d * config.time_reduction
    for i in range(config.num_layers):
        inner = n.heads[i] * config.head_dim
        attention = 4 * t * d * inner + 2 * t * t * inner
        if config.arch == "wavlm":
            attention = attention + t * n.heads[i] * (d // config.original_num_heads[i]) * 8
        ffn = 2 * t * d * n.ffn_units[i]
        total = total + attention * n.attention_on[i] + ffn * n.ffn_on[i]
    return total / seconds


def count_params(config: EncoderConfig) -> int:
    """Exact parameter count of an ungated encoder of this shape."""
    return int(round(float(_params(config, _static_counts(config)))))


def count_macs(config: EncoderConfig, seconds: float = MACS_CLIP_SECONDS, executed: bool = False) -> float:
    """Multiply-accumulates per second of 16 kHz audio (on a clip of `seconds`): the model's own, or with
    `executed`, the products dpbench's implementation runs, which adds zero channels padding conv widths
    to multiples of 8 (`components.conv_width`) and the first layer's GroupNorm statistics (the
    covariance of its input frames, `components.ConvLayer`)."""
    return float(_macs(config, _static_counts(config), seconds, executed))


def expected_counts(model: Encoder) -> UnitCounts:
    """Expected kept units of a gated model (static counts where a group has no gate)."""
    static = _static_counts(model.config)
    extractor = model.feature_extractor
    conv = (
        [gate.l0_norm() for gate in extractor.channel_gates]
        if extractor.channel_gates is not None
        else static.conv_channels
    )
    heads, attention_on, ffn_units, ffn_on = [], [], [], []
    for i, layer in enumerate(model.layers):
        attn, ffn = layer.attention, layer.feed_forward
        heads.append(attn.head_gate.l0_norm() if attn is not None and attn.head_gate is not None else static.heads[i])
        attention_on.append(
            attn.block_gate.l0_norm() if attn is not None and attn.block_gate is not None else static.attention_on[i]
        )
        ffn_units.append(
            ffn.unit_gate.l0_norm() if ffn is not None and ffn.unit_gate is not None else static.ffn_units[i]
        )
        ffn_on.append(ffn.block_gate.l0_norm() if ffn is not None and ffn.block_gate is not None else static.ffn_on[i])
    return UnitCounts(conv, heads, attention_on, ffn_units, ffn_on)


def _as_tensor(value: Number, model: Encoder) -> Tensor:
    if isinstance(value, Tensor):
        return value
    return torch.tensor(float(value), device=next(model.parameters()).device)


def expected_params(model: Encoder) -> Tensor:
    """Expected parameter count of a gated model, differentiable in the gates' log_alpha."""
    return _as_tensor(_params(model.config, expected_counts(model)), model)


def expected_macs(model: Encoder, seconds: float = MACS_CLIP_SECONDS) -> Tensor:
    """Expected MACs per second of audio of a gated model, differentiable in the gates' log_alpha."""
    return _as_tensor(_macs(model.config, expected_counts(model), seconds), model)
