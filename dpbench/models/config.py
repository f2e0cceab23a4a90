"""Encoder configuration: one dataclass describes every HuBERT / wav2vec 2.0 / WavLM shape,
including pruned ones (per-layer heads, FFN sizes and conv channels)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

ARCHES = ("hubert", "wav2vec2", "wavlm")
BASE_CONV_KERNELS = [10, 3, 3, 3, 3, 2, 2]
BASE_CONV_STRIDES = [5, 2, 2, 2, 2, 2, 2]


@dataclass
class EncoderConfig:
    """Shape of a wav2vec2-family encoder. Lists are per conv layer / per transformer layer."""

    arch: str = "hubert"
    conv_channels: list[int] = field(default_factory=lambda: [512] * 7)
    conv_kernels: list[int] = field(default_factory=lambda: list(BASE_CONV_KERNELS))
    conv_strides: list[int] = field(default_factory=lambda: list(BASE_CONV_STRIDES))
    conv_norm: str = "group"  # "group": GroupNorm in the first conv layer; "layer": LayerNorm in every conv layer
    conv_bias: bool = False
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: list[int] = field(default_factory=lambda: [12] * 12)  # 0 = attention block removed
    head_dim: int = 64
    ffn_dims: list[int] = field(default_factory=lambda: [3072] * 12)  # 0 = FFN block removed
    layer_norm_first: bool = False  # pre-LN (Large) or post-LN (Base)
    layer_norm_eps: float = 1e-5
    pos_conv_kernel: int = 128
    pos_conv_groups: int = 16
    # WavLM's gated relative position bias
    num_buckets: int = 320
    max_distance: int = 800
    # False: a WavLM without any position bias (the authors' students whose layer 0 attention was removed,
    # which held the bias table); dpbench's own pruning keeps the bias, so gated and pruned models agree
    relative_position_bias: bool = True
    # original head count per layer; WavLM's position bias and gating are defined per original head.
    # Empty (or None) when constructed: num_heads, as a model that was never pruned has
    original_num_heads: list[int] = field(default_factory=list)
    # zero mean / unit variance per utterance before the conv stack (fairseq task `normalize`; the Large models)
    normalize_waveform: bool = False
    # a learned per-channel scale on the last conv layer's output, before the projection's LayerNorm
    # (the authors' pruned files keep the last conv gate's soft values there: `dummy_weight`)
    conv_output_scale: bool = False
    # dropouts as torchaudio's builder names them: encoder_projection_dropout, encoder_attention_dropout,
    # encoder_ff_interm_dropout, encoder_dropout (residual); active in train mode only
    projection_dropout: float = 0.0
    attention_dropout: float = 0.0
    ffn_interm_dropout: float = 0.0
    dropout: float = 0.0
    # frames merged into one after the position conv, before the first transformer layer (FitHuBERT's
    # time-reduction layer, dpbench.models.time_reduction); 1 = none
    time_reduction: int = 1

    def __post_init__(self) -> None:
        if self.arch not in ARCHES:
            raise ValueError(f"arch must be one of {ARCHES}, got {self.arch!r}")
        if self.conv_norm not in ("group", "layer"):
            raise ValueError(f"conv_norm must be 'group' or 'layer', got {self.conv_norm!r}")
        if not (len(self.conv_channels) == len(self.conv_kernels) == len(self.conv_strides)):
            raise ValueError("conv_channels, conv_kernels and conv_strides must have the same length")
        if len(self.num_heads) != self.num_layers or len(self.ffn_dims) != self.num_layers:
            raise ValueError(
                f"num_heads ({len(self.num_heads)}) and ffn_dims ({len(self.ffn_dims)}) "
                f"need one entry per layer ({self.num_layers})"
            )
        if self.time_reduction < 1:
            raise ValueError(f"time_reduction must be at least 1, got {self.time_reduction}")
        if not self.original_num_heads:
            self.original_num_heads = list(self.num_heads)
        if self.arch == "wavlm" and any(h and self.hidden_size % h for h in self.original_num_heads):
            raise ValueError("WavLM needs hidden_size divisible by the original head count")

    @property
    def downsample_rate(self) -> int:
        """Waveform samples per frame of the transformer layers (the time reduction included)."""
        rate = self.time_reduction
        for stride in self.conv_strides:
            rate *= stride
        return rate

    @property
    def min_samples(self) -> int:
        """The shortest waveform that gives one frame to the transformer layers: the conv stack's receptive
        field for `time_reduction` consecutive frames (400 samples for the wav2vec 2.0 stack)."""
        receptive = 1
        for kernel, stride in zip(reversed(self.conv_kernels), reversed(self.conv_strides)):
            receptive = (receptive - 1) * stride + kernel
        conv_stride = self.downsample_rate // self.time_reduction
        return receptive + (self.time_reduction - 1) * conv_stride

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncoderConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown encoder config keys: {sorted(unknown)}")
        return cls(**data)


def _uniform(arch: str, hidden: int, layers: int, heads: int, ffn: int, **kw: Any) -> EncoderConfig:
    return EncoderConfig(
        arch=arch,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=[heads] * layers,
        head_dim=hidden // heads,
        ffn_dims=[ffn] * layers,
        **kw,
    )


def base_config(arch: str = "hubert") -> EncoderConfig:
    """HuBERT Base / wav2vec 2.0 Base / WavLM Base(+): 12 post-LN layers of width 768."""
    return _uniform(arch, 768, 12, 12, 3072)


# conv bias of the Large models per family: only wav2vec 2.0 Large (LV-60k) has one (torchaudio's
# `wav2vec2_large_lv60k` vs `hubert_large` / `wavlm_large`; fairseq's `conv_bias`)
LARGE_CONV_BIAS = {"hubert": False, "wav2vec2": True, "wavlm": False}


def large_config(arch: str = "hubert") -> EncoderConfig:
    """HuBERT Large / wav2vec 2.0 Large (LV-60k) / WavLM Large: 24 pre-LN layers of width 1024, LayerNorm in
    every conv layer, normalised waveforms; torchaudio's `hubert_large`, `wav2vec2_large_lv60k`, `wavlm_large`."""
    return _uniform(
        arch,
        1024,
        24,
        16,
        4096,
        conv_norm="layer",
        conv_bias=LARGE_CONV_BIAS[arch],
        layer_norm_first=True,
        normalize_waveform=True,
    )


def hubert_base_config() -> EncoderConfig:
    return base_config("hubert")


def hubert_large_config() -> EncoderConfig:
    return large_config("hubert")


def wav2vec2_base_config() -> EncoderConfig:
    return base_config("wav2vec2")


def wav2vec2_large_config() -> EncoderConfig:
    return large_config("wav2vec2")


def wavlm_base_config() -> EncoderConfig:
    return base_config("wavlm")


def wavlm_large_config() -> EncoderConfig:
    return large_config("wavlm")


def tiny_config(arch: str = "hubert", layer_norm_first: bool = False) -> EncoderConfig:
    """A few-hundred-thousand-parameter shape with every feature of the real ones, for tests."""
    return EncoderConfig(
        arch=arch,
        conv_channels=[32] * 7,
        conv_norm="layer" if layer_norm_first else "group",
        conv_bias=layer_norm_first,
        hidden_size=64,
        num_layers=4,
        num_heads=[4] * 4,
        head_dim=16,
        ffn_dims=[128] * 4,
        layer_norm_first=layer_norm_first,
        pos_conv_kernel=16,
        pos_conv_groups=4,
        num_buckets=32,
        max_distance=64,
    )
