"""Building blocks of the wav2vec2-family encoder, each able to carry Hard Concrete gates.

Where a gate prunes channels that feed a LayerNorm, the norm's statistics are taken over the
gate's support only (`masked_layer_norm`), so that the physically pruned model computes exactly
what the gated model computes (the default conv gate norm, "masked"; see CONV_GATE_NORMS). Dropouts
(EncoderConfig) act in train mode only, where torchaudio's wav2vec2 components apply them."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dpbench.models.evalcache import cached, cached_without_autograd
from dpbench.models.hardconcrete import HardConcrete
from dpbench.models.typed_modules import TypedModuleList

# Initial keep probabilities of the gates (docs/METHOD.md section 2).
KEEP_PROB_STRUCTURE = 0.99  # conv channels, heads, whole blocks
KEEP_PROB_FFN_UNITS = 0.5
# How conv gates meet LayerNorms: "masked" takes norm statistics over the kept channels and applies the
# last layer's gate after the projection's LayerNorm (pruning is exact); "authors" multiplies every
# layer's output by its gate and normalises over all channels (the DPHuBERT authors' code: physical
# pruning then keeps the last gate's soft values as the per-channel scale `output_scale`).
CONV_GATE_NORMS = ("masked", "authors")


def masked_layer_norm(x: Tensor, norm: nn.LayerNorm, support: Tensor | None) -> Tensor:
    """LayerNorm over the last dim, with statistics over the channels where `support` is True. Without
    autograd, a support with every channel takes the fused LayerNorm (a host sync); with autograd (a
    training forward) there is no data-dependent branch, so the forward compiles into one graph."""
    if support is None or (not torch.is_grad_enabled() and bool(support.all())):
        return norm(x)
    weight = support.to(x.dtype)
    count = weight.sum().clamp_min(1.0)
    mean = (x * weight).sum(-1, keepdim=True) / count
    var = ((x - mean).pow(2) * weight).sum(-1, keepdim=True) / count
    return (x - mean) * torch.rsqrt(var + norm.eps) * norm.weight + norm.bias


def _scale_and_bias(
    linear: nn.Linear, unit_mask: Tensor | None, block_mask: Tensor | None, expand: int
) -> tuple[Tensor, Tensor | None]:
    """Factors per input unit (each unit mask value repeated `expand` times) and the output bias
    of `linear(x * unit_mask) * block_mask`."""
    scale = unit_mask.repeat_interleave(expand) if unit_mask is not None else None
    bias: Tensor | None = linear.bias
    if block_mask is not None:
        scale = block_mask if scale is None else scale * block_mask
        bias = bias * block_mask if bias is not None else None
    if scale is None:
        raise ValueError("no mask to fold into the linear: call it directly")
    return scale, bias


def gated_linear(
    owner: nn.Module,
    x: Tensor,
    linear: nn.Linear,
    unit_mask: Tensor | None,
    block_mask: Tensor | None,
    expand: int = 1,
) -> Tensor:
    """`linear(x * unit_mask) * block_mask` in one pass over the activations. Without autograd the
    masks are folded into the weights instead, cached on `owner` while the masks and weights stay
    the same tensors (eval-mode gates return cached masks)."""
    if unit_mask is None and block_mask is None:
        return linear(x)
    if not torch.is_grad_enabled():

        def fold() -> tuple[Tensor, Tensor | None]:
            scale, bias = _scale_and_bias(linear, unit_mask, block_mask, expand)
            return linear.weight * scale[None, :], bias

        weight, bias = cached(owner, "folded", [linear.weight, linear.bias, unit_mask, block_mask], fold)
        return F.linear(x, weight, bias)
    scale, bias = _scale_and_bias(linear, unit_mask, block_mask, expand)
    return F.linear(x * scale, linear.weight, bias)


def normalize_waveforms(wavs: Tensor, lengths: Tensor | None, eps: float = 1e-5) -> Tensor:
    """Zero mean and unit variance per utterance over its valid samples, as fairseq and s3prl do
    (`F.layer_norm(wav, wav.shape)` on the unpadded waveform); padding stays zero."""
    if lengths is None:
        return F.layer_norm(wavs, wavs.shape[-1:], eps=eps)
    valid = (torch.arange(wavs.shape[-1], device=wavs.device)[None, :] < lengths[:, None]).to(wavs.dtype)
    count = valid.sum(-1, keepdim=True).clamp_min(1.0)
    mean = (wavs * valid).sum(-1, keepdim=True) / count
    var = ((wavs - mean).pow(2) * valid).sum(-1, keepdim=True) / count
    return (wavs - mean) * torch.rsqrt(var + eps) * valid


def valid_frames_any_sample(lengths: Tensor, samples: int, frames: int) -> Tensor:
    """Frames holding at least one valid sample when a batch padded to `samples` samples gives
    `frames` frames, each frame read as `samples // frames` consecutive samples: the rule of
    fairseq's HuBERT and unilm's WavLM (`forward_padding_mask`), which s3prl's experts run."""
    per_frame = samples // frames
    return torch.div(lengths + per_frame - 1, per_frame, rounding_mode="floor").clamp(1, frames)


def conv_output_length(length: Tensor, kernel: int, stride: int) -> Tensor:
    return torch.div(length - kernel, stride, rounding_mode="floor") + 1


# Conv activations carry their channel count rounded up to a multiple of this, with zero channels (a layer
# with a LayerNorm keeps its exact count): on CPU a GEMM whose output width is not a multiple of 8 is slower
# per MAC (1.12-1.13x for a pruned student's layer 1 in benchmarks/bench_conv_front_end.py), and pruned
# students have arbitrary widths.
CHANNEL_MULTIPLE = 8


def conv_layer_norm(conv_norm: str, index: int) -> str | None:
    """The norm of conv layer `index` in extractor mode `conv_norm` (EncoderConfig.conv_norm): "layer" in
    every layer, or "group" in the first layer only and none after it."""
    if conv_norm == "layer":
        return "layer"
    return "group" if index == 0 else None


def conv_width(channels: int, layer_norm: bool) -> int:
    """Channels a conv layer's output activations carry: its channels, then zero channels up to a multiple
    of CHANNEL_MULTIPLE (none after a LayerNorm, whose statistics need exactly the real channels)."""
    return channels if layer_norm else -(-channels // CHANNEL_MULTIPLE) * CHANNEL_MULTIPLE


def strided_frames(x: Tensor, kernel: int, stride: int) -> Tensor:
    """(B, T, C) -> (B, frames, kernel * C), a view: the `kernel` consecutive steps of each frame, frames
    `stride` steps apart, tap-major (feature j * C + c)."""
    return x.unfold(1, kernel, stride).transpose(2, 3).flatten(2)


class ConvLayer(nn.Module):
    """Conv1d -> (GroupNorm | LayerNorm | nothing) -> GELU on channels-last activations (B, T, C), the
    conv computed as one GEMM over strided frames (`strided_frames`). A GroupNorm (one group per
    channel) is folded into that GEMM (`_group_normed`), so it costs no pass over the activations.
    Under ONNX export the layer is written as Conv1d and GroupNorm ops (`_as_conv`), which ONNX runtimes
    run faster than strided slices and GEMMs (benchmarks/bench_onnx.py) and torch's exporter can trace
    over a dynamic length (unfold it cannot)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, bias: bool, norm: str | None) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv1d(in_ch, out_ch, kernel, stride=stride, bias=bias)
        if norm == "group":
            self.norm: nn.Module | None = nn.GroupNorm(out_ch, out_ch, affine=True)
        elif norm == "layer":
            self.norm = nn.LayerNorm(out_ch)
        else:
            self.norm = None

    @property
    def width(self) -> int:
        """Channels of this layer's output activations (`conv_width`)."""
        return conv_width(self.conv.out_channels, isinstance(self.norm, nn.LayerNorm))

    @property
    def padding(self) -> int:
        """Zero channels after this layer's own in its output activations."""
        return self.width - self.conv.out_channels

    def _padded_group_norm_affine(self, norm: nn.GroupNorm) -> tuple[Tensor, Tensor]:
        """The GroupNorm's gain and shift, zero on the padding channels (which therefore stay zero)."""
        return F.pad(norm.weight, (0, self.padding)), F.pad(norm.bias, (0, self.padding))

    def gemm_weights(self, in_width: int, in_scale: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """The conv as a linear map of strided frames: weight (width, kernel * in_width), bias (width,),
        zero for padding channels; `in_scale` (the previous layer's channel mask) scales the inputs."""
        weight = self.conv.weight
        if in_scale is not None:
            weight = weight * in_scale[None, :, None]
        weight = F.pad(weight, (0, 0, 0, in_width - weight.shape[1], 0, self.padding))
        bias = self.conv.bias
        return weight.transpose(1, 2).flatten(1), (F.pad(bias, (0, self.padding)) if bias is not None else None)

    def forward(self, x: Tensor, support: Tensor | None = None, in_scale: Tensor | None = None) -> Tensor:
        """(B, T, in_width) -> (B, frames, width). `support`: this layer's unpruned channels (for its
        LayerNorm); `in_scale`: the previous layer's channel mask, folded into this layer's weights
        (cached without autograd)."""
        sources = [self.conv.weight, self.conv.bias, in_scale]
        weight, bias = cached_without_autograd(self, "gemm", sources, lambda: self.gemm_weights(x.shape[-1], in_scale))
        if torch.onnx.is_in_onnx_export():
            return self._as_conv(x, weight, bias, support)
        frames = strided_frames(x, self.kernel, self.stride)
        if isinstance(self.norm, nn.GroupNorm):
            y = self._group_normed(frames, weight, bias, self.norm)
        else:
            y = F.linear(frames, weight, bias)
        if isinstance(self.norm, nn.LayerNorm):
            y = masked_layer_norm(y, self.norm, support)
        if torch.is_grad_enabled():
            return F.gelu(y)
        return torch.ops.aten.gelu_(y)  # in place: a second tensor this large costs more in page faults than GELU

    def _as_conv(self, x: Tensor, weight: Tensor, bias: Tensor | None, support: Tensor | None) -> Tensor:
        """The same layer as Conv1d (from the GEMM weights) and, if any, GroupNorm on (B, C, T)."""
        conv_weight = weight.unflatten(1, (self.kernel, -1)).transpose(1, 2)  # (width, in_width, kernel)
        y = F.conv1d(x.transpose(1, 2), conv_weight, bias, stride=self.stride)
        if isinstance(self.norm, nn.GroupNorm):
            y = F.group_norm(y, self.width, *self._padded_group_norm_affine(self.norm), self.norm.eps)
        y = y.transpose(1, 2)
        if isinstance(self.norm, nn.LayerNorm):
            y = masked_layer_norm(y, self.norm, support)
        return F.gelu(y)

    def _group_normed(self, frames: Tensor, weight: Tensor, bias: Tensor | None, norm: nn.GroupNorm) -> Tensor:
        """GroupNorm(conv(frames)) with one group per channel, in one batched GEMM: a channel's mean over
        time is its weights times the frames' mean, its variance the quadratic form of the frames'
        covariance (K x K for K = kernel * in_width features: small for the first layer), so each
        utterance gets weights and a bias that normalise as they convolve. The conv bias cancels; it is
        added and subtracted all the same, so it gets its (zero) gradient like any used parameter."""
        # statistics in float64 (a B x frames x K tensor, small): in float32 the covariance of a padded
        # utterance (signal, then zeros) loses up to 3e-4 on the normalised output, 100x torchaudio's error
        with torch.autocast(frames.device.type, enabled=False):
            stats_frames, stats_weight = frames.double(), weight.double()
            mean = stats_frames.mean(1)  # (B, K)
            centred = stats_frames - mean[:, None]
            covariance = centred.transpose(1, 2) @ centred / frames.shape[1]  # (B, K, K)
            # w_c' Cov w_c and w_c' mean, element-wise (small): the only products the statistics add
            # to the conv's own are the covariance's (complexity.count_macs, executed=True)
            outer = stats_weight[:, :, None] * stats_weight[:, None, :]  # (width, K, K)
            variance = (outer[None] * covariance[:, None]).sum((-2, -1))  # (B, width)
            channel_mean = (mean[:, None, :] * stats_weight[None]).sum(-1)  # (B, width)
        gain, shift = self._padded_group_norm_affine(norm)
        scale = gain * torch.rsqrt(variance + norm.eps).to(weight.dtype)  # (B, width)
        folded = weight.T[None] * scale[:, None, :]  # (B, K, width)
        offset = shift - channel_mean.to(weight.dtype) * scale
        if bias is not None:
            offset = offset + bias * scale - bias * scale
        # the offset as one more input feature (a constant 1): one GEMM writes the output, no bias pass
        with_offset = torch.cat([folded, offset[:, None, :]], dim=1).to(frames.dtype)  # (B, K + 1, width)
        return torch.bmm(F.pad(frames, (0, 1), value=1.0), with_offset)


class ConvFeatureExtractor(nn.Module):
    """Seven strided conv layers: 16 kHz waveform -> 50 Hz frames, channels last. Optional gates on
    output channels."""

    def __init__(
        self,
        channels: list[int],
        kernels: list[int],
        strides: list[int],
        norm: str,
        bias: bool,
        output_scale: bool = False,
    ) -> None:
        super().__init__()
        layers = []
        in_ch = 1
        for i, (out_ch, kernel, stride) in enumerate(zip(channels, kernels, strides)):
            layers.append(ConvLayer(in_ch, out_ch, kernel, stride, bias, conv_layer_norm(norm, i)))
            in_ch = out_ch
        self.layers: TypedModuleList[ConvLayer] = TypedModuleList(layers)
        # per-channel scale of the last layer's output (EncoderConfig.conv_output_scale)
        self.output_scale = nn.Parameter(torch.ones(in_ch)) if output_scale else None
        self.channel_gates: TypedModuleList[HardConcrete] | None = None
        self.gate_norm = "masked"

    def set_gates(self, enabled: bool, norm: str = "masked") -> None:
        """Fresh gates on every layer's output channels (or none); `norm`: one of CONV_GATE_NORMS."""
        if norm not in CONV_GATE_NORMS:
            raise ValueError(f"conv gate norm must be one of {CONV_GATE_NORMS}, got {norm!r}")
        self.gate_norm = norm
        self.channel_gates = (
            TypedModuleList(HardConcrete(layer.conv.out_channels, KEEP_PROB_STRUCTURE) for layer in self.layers)
            if enabled
            else None
        )

    def output_lengths(self, lengths: Tensor) -> Tensor:
        for layer in self.layers:
            lengths = conv_output_length(lengths, layer.kernel, layer.stride)
        return lengths

    def forward(self, wavs: Tensor) -> tuple[Tensor, Tensor | None]:
        """(B, samples) -> ((B, frames, C), mask of the last layer's channels or None).

        "masked" gate norm: the last layer's mask is returned, not applied: it is applied after the
        feature projection's LayerNorm, where its soft values fold into the projection. "authors":
        it is applied here and None is returned."""
        masks = [gate() for gate in self.channel_gates] if self.channel_gates is not None else None
        masked = self.gate_norm == "masked"
        x = wavs.unsqueeze(-1)
        for i, layer in enumerate(self.layers):
            if masks is None:
                x = layer(x)
            else:  # a layer's mask scales the next layer's weights rather than the activations
                x = layer(x, masks[i] > 0 if masked else None, masks[i - 1] if i > 0 else None)
        x = x[..., : self.layers[-1].conv.out_channels]  # without the zero padding channels
        if self.output_scale is not None:
            x = x * self.output_scale
        if masks is not None and not masked:
            return x * masks[-1], None
        return x, (masks[-1] if masks is not None else None)


class FeatureProjection(nn.Module):
    """LayerNorm over conv channels -> Linear to the model width."""

    def __init__(self, in_ch: int, hidden: int, eps: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.layer_norm = nn.LayerNorm(in_ch, eps=eps)
        self.projection = nn.Linear(in_ch, hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, channel_mask: Tensor | None = None) -> Tensor:
        return self.dropout(self._project(x, channel_mask))

    def _project(self, x: Tensor, channel_mask: Tensor | None) -> Tensor:
        if channel_mask is None:
            return self.projection(self.layer_norm(x))
        if not torch.is_grad_enabled():  # compute on the kept channels only, as the pruned model does
            norm, proj = self.layer_norm, self.projection
            sources = [channel_mask, norm.weight, norm.bias, proj.weight, proj.bias]
            keep, norm_weight, norm_bias, weight = cached(
                self, "kept", sources, lambda: self._kept_weights(channel_mask)
            )
            kept = F.layer_norm(x.index_select(-1, keep), (len(keep),), norm_weight, norm_bias, norm.eps)
            return F.linear(kept, weight, proj.bias)
        return self.projection(masked_layer_norm(x, self.layer_norm, channel_mask > 0) * channel_mask)

    def _kept_weights(self, mask: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Kept channel indices, their LayerNorm weight and bias, and projection weights scaled by the mask."""
        keep = torch.nonzero(mask > 0).flatten()
        weight = self.projection.weight[:, keep] * mask[keep][None, :]
        return keep, self.layer_norm.weight[keep], self.layer_norm.bias[keep], weight


class PositionalConv(nn.Module):
    """Grouped convolution over time with weight normalisation (over dim 2), then GELU. Run as a 2-D conv
    on channels-last activations: oneDNN's grouped conv takes 0.53-0.54x the time of torchaudio's (B, C, T)
    Conv1d in eval and 0.74-0.75x in training (CPU, Base shape, benchmarks/bench_conv_front_end.py), and the
    output comes back as (B, T, C) without a copy."""

    def __init__(self, hidden: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.kernel, self.groups = kernel, groups
        self.weight_g = nn.Parameter(torch.ones(1, 1, kernel))
        self.weight_v = nn.Parameter(torch.empty(hidden, hidden // groups, kernel))
        self.bias = nn.Parameter(torch.zeros(hidden))
        nn.init.normal_(self.weight_v, std=math.sqrt(4.0 / (kernel * hidden)))

    def weight(self) -> Tensor:
        return torch._weight_norm(self.weight_v, self.weight_g, 2)  # torch's fused weight_norm kernel

    def _conv_weight(self) -> Tensor:
        return self.weight().unsqueeze(2).contiguous(memory_format=torch.channels_last)

    def forward(self, x: Tensor) -> Tensor:
        """(B, T, C) -> (B, T, C); the weight is cached without autograd."""
        weight = cached_without_autograd(self, "weight", [self.weight_v, self.weight_g], self._conv_weight)
        y = F.conv2d(
            x.transpose(1, 2).unsqueeze(2), weight, self.bias, padding=(0, self.kernel // 2), groups=self.groups
        )
        y = y.squeeze(2).transpose(1, 2)
        if self.kernel % 2 == 0:
            y = y[:, :-1]
        return F.gelu(y)


class RelativePositionBias(nn.Module):
    """WavLM's bucketed relative position bias, one value per (original) head."""

    def __init__(self, num_buckets: int, max_distance: int, num_heads: int) -> None:
        super().__init__()
        self.num_buckets, self.max_distance = num_buckets, max_distance
        self.rel_attn_embed = nn.Embedding(num_buckets, num_heads)

    def buckets(self, relative: Tensor) -> Tensor:
        half = self.num_buckets // 2
        bucket = (relative > 0).long() * half
        distance = relative.abs()
        max_exact = half // 2
        log_ratio = torch.log(distance.float().clamp_min(1) / max_exact) / math.log(self.max_distance / max_exact)
        large = (max_exact + log_ratio * (half - max_exact)).long().clamp_max(half - 1)
        return bucket + torch.where(distance < max_exact, distance, large)

    def forward(self, length: int) -> Tensor:
        """(heads, length, length) bias for a sequence of `length` frames."""
        positions = torch.arange(length, device=self.rel_attn_embed.weight.device)
        relative = positions[None, :] - positions[:, None]
        return self.rel_attn_embed(self.buckets(relative)).permute(2, 0, 1)


class SelfAttention(nn.Module):
    """Multi-head self-attention with optional head gates, a block gate, and WavLM's gated bias."""

    head_index: Tensor  # a buffer: which of the original heads these are

    def __init__(
        self, hidden: int, num_heads: int, head_dim: int, original_num_heads: int, wavlm: bool, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.num_heads, self.head_dim = num_heads, head_dim
        self.dropout = dropout  # on the attention probabilities, in train mode
        inner = num_heads * head_dim
        self.q_proj = nn.Linear(hidden, inner)
        self.k_proj = nn.Linear(hidden, inner)
        self.v_proj = nn.Linear(hidden, inner)
        self.out_proj = nn.Linear(inner, hidden)
        # which of the original heads these are: WavLM's bias and gating are indexed by them
        self.register_buffer("head_index", torch.arange(num_heads), persistent=True)
        self.original_num_heads = original_num_heads
        if wavlm:
            self.gru_rel_pos_linear: nn.Linear | None = nn.Linear(hidden // original_num_heads, 8)
            self.gru_rel_pos_const = nn.Parameter(torch.ones(1, num_heads, 1, 1))
        else:
            self.gru_rel_pos_linear = None
        self.head_gate: HardConcrete | None = None
        self.block_gate: HardConcrete | None = None

    def set_gates(self, heads: bool, block: bool) -> None:
        self.head_gate = HardConcrete(self.num_heads, KEEP_PROB_STRUCTURE) if heads else None
        self.block_gate = HardConcrete(1, KEEP_PROB_STRUCTURE) if block else None

    def _gated_position_bias(self, x: Tensor, position_bias: Tensor, gru_rel_pos_linear: nn.Linear) -> Tensor:
        batch, length, hidden = x.shape
        chunks = x.view(batch, length, self.original_num_heads, hidden // self.original_num_heads)
        chunks = chunks[:, :, self.head_index].permute(0, 2, 1, 3)  # (B, H, T, D / H_orig)
        gates = gru_rel_pos_linear(chunks).view(batch, self.num_heads, length, 2, 4).sum(-1)
        gate_a, gate_b = torch.sigmoid(gates).chunk(2, dim=-1)
        scale = gate_a * (gate_b * self.gru_rel_pos_const - 1.0) + 2.0  # (B, H, T, 1)
        return scale * position_bias[self.head_index].unsqueeze(0)

    def forward(self, x: Tensor, padding_mask: Tensor | None, position_bias: Tensor | None) -> Tensor:
        batch, length, _ = x.shape

        def heads(t: Tensor) -> Tensor:
            return t.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        attn_mask: Tensor | None = None
        if position_bias is not None and self.gru_rel_pos_linear is not None:
            attn_mask = self._gated_position_bias(x, position_bias, self.gru_rel_pos_linear)
            if padding_mask is not None:
                attn_mask = attn_mask.masked_fill(padding_mask[:, None, None, :], float("-inf"))
        elif padding_mask is not None:
            attn_mask = ~padding_mask[:, None, None, :]
        dropout = self.dropout if self.training else 0.0
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout)  # (B, H, T, hd)
        context = context.transpose(1, 2).reshape(batch, length, -1)
        head_mask = self.head_gate() if self.head_gate is not None else None
        block_mask = self.block_gate() if self.block_gate is not None else None
        return gated_linear(self, context, self.out_proj, head_mask, block_mask, expand=self.head_dim)


class FeedForward(nn.Module):
    """Linear -> GELU -> Linear, with optional gates on the intermediate units and on the block."""

    def __init__(self, hidden: int, ffn_dim: int, interm_dropout: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.intermediate_dense = nn.Linear(hidden, ffn_dim)
        self.output_dense = nn.Linear(ffn_dim, hidden)
        self.interm_dropout = nn.Dropout(interm_dropout)
        self.output_dropout = nn.Dropout(dropout)
        self.unit_gate: HardConcrete | None = None
        self.block_gate: HardConcrete | None = None

    def set_gates(self, units: bool, block: bool) -> None:
        self.unit_gate = HardConcrete(self.intermediate_dense.out_features, KEEP_PROB_FFN_UNITS) if units else None
        self.block_gate = HardConcrete(1, KEEP_PROB_STRUCTURE) if block else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.interm_dropout(F.gelu(self.intermediate_dense(x)))
        unit_mask = self.unit_gate() if self.unit_gate is not None else None
        block_mask = self.block_gate() if self.block_gate is not None else None
        return self.output_dropout(gated_linear(self, h, self.output_dense, unit_mask, block_mask))


class TransformerLayer(nn.Module):
    """Post-LN (Base) or pre-LN (Large) transformer layer; attention or FFN may be absent (pruned)."""

    def __init__(
        self,
        hidden: int,
        num_heads: int,
        head_dim: int,
        ffn_dim: int,
        layer_norm_first: bool,
        eps: float,
        original_num_heads: int,
        wavlm: bool,
        attention_dropout: float = 0.0,
        ffn_interm_dropout: float = 0.0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.layer_norm_first = layer_norm_first
        self.attention = (
            SelfAttention(hidden, num_heads, head_dim, original_num_heads, wavlm, attention_dropout)
            if num_heads > 0
            else None
        )
        self.dropout = nn.Dropout(dropout)  # on the attention block's output, before the residual sum
        self.layer_norm = nn.LayerNorm(hidden, eps=eps)
        self.feed_forward = FeedForward(hidden, ffn_dim, ffn_interm_dropout, dropout) if ffn_dim > 0 else None
        self.final_layer_norm = nn.LayerNorm(hidden, eps=eps)

    def _attend(self, x: Tensor, padding_mask: Tensor | None, position_bias: Tensor | None) -> Tensor | float:
        return self.dropout(self.attention(x, padding_mask, position_bias)) if self.attention is not None else 0.0

    def _feed_forward(self, x: Tensor) -> Tensor | float:
        return self.feed_forward(x) if self.feed_forward is not None else 0.0

    def forward(self, x: Tensor, padding_mask: Tensor | None, position_bias: Tensor | None) -> Tensor:
        if self.layer_norm_first:
            x = x + self._attend(self.layer_norm(x), padding_mask, position_bias)
            return x + self._feed_forward(self.final_layer_norm(x))
        x = self.layer_norm(x + self._attend(x, padding_mask, position_bias))
        return self.final_layer_norm(x + self._feed_forward(x))
