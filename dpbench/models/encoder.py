"""The encoder: conv feature extractor -> projection -> position conv -> transformer layers."""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum

import torch
from torch import Tensor, nn

from dpbench.models.components import (
    ConvFeatureExtractor,
    FeatureProjection,
    PositionalConv,
    RelativePositionBias,
    TransformerLayer,
    normalize_waveforms,
    valid_frames_any_sample,
)
from dpbench.models.config import EncoderConfig
from dpbench.models.hardconcrete import HardConcrete
from dpbench.models.time_reduction import TimeReduction
from dpbench.models.typed_modules import TypedModuleList

GATE_GROUPS = ("conv", "heads", "attention", "ffn_units", "ffn")


class HiddenStates(Enum):
    """Which num_layers + 1 hidden states `Encoder.forward` returns, and how padded frames are found.

    AUTHORS: as the DPHuBERT authors' `extract_features` returns them (the distillation targets):
      index 0 the projected conv features (before the position conv), index i the output of layer i;
      pre-LN models' last state is taken before the encoder's final LayerNorm. Valid frames: the conv
      length formula (torchaudio, transformers).
    S3PRL: as s3prl's `hubert` / `wav2vec2` / `wavlm` upstream experts return them (SUPERB features):
      the input of every transformer layer, then the encoder's output. Index 0 is taken after the
      position conv (and, post-LN, after the encoder LayerNorm); the last is the encoder output (pre-LN:
      after the final LayerNorm). Valid frames as their fairseq / unilm models find them: HuBERT and
      WavLM keep every frame with at least one valid sample (`forward_padding_mask`), wav2vec 2.0 uses
      the conv length formula.
    A time-reduced model (EncoderConfig.time_reduction > 1, FitHuBERT) runs its layers at a lower frame
    rate; in both conventions its index 0 is then the time-reduction layer's output (the first layer's
    input), so that every state has the same frames, and its valid frames are those whose source frames
    are all valid."""

    AUTHORS = "authors"
    S3PRL = "s3prl"


class Encoder(nn.Module):
    """A HuBERT / wav2vec 2.0 / WavLM encoder whose every prunable group can carry Hard Concrete gates.

    `forward(wavs, lengths, convention)` returns all hidden states in one of the two conventions
    of `HiddenStates` (the authors' by default)."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.feature_extractor = ConvFeatureExtractor(
            c.conv_channels, c.conv_kernels, c.conv_strides, c.conv_norm, c.conv_bias, c.conv_output_scale
        )
        self.feature_projection = FeatureProjection(
            c.conv_channels[-1], c.hidden_size, c.layer_norm_eps, c.projection_dropout
        )
        self.pos_conv = PositionalConv(c.hidden_size, c.pos_conv_kernel, c.pos_conv_groups)
        self.layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.dropout)  # on the transformer's input, as torchaudio applies encoder_dropout
        self.time_reduction = TimeReduction(c.hidden_size, c.time_reduction) if c.time_reduction > 1 else None
        wavlm = c.arch == "wavlm"
        self.layers: TypedModuleList[TransformerLayer] = TypedModuleList(
            TransformerLayer(
                c.hidden_size,
                heads,
                c.head_dim,
                ffn,
                c.layer_norm_first,
                c.layer_norm_eps,
                original,
                wavlm,
                c.attention_dropout,
                c.ffn_interm_dropout,
                c.dropout,
            )
            for heads, ffn, original in zip(c.num_heads, c.ffn_dims, c.original_num_heads)
        )
        self.relative_position = (
            RelativePositionBias(c.num_buckets, c.max_distance, c.original_num_heads[0])
            if wavlm and c.relative_position_bias
            else None
        )
        self.gate_flags: dict[str, bool] = dict.fromkeys(GATE_GROUPS, False)

    @property
    def downsample_rate(self) -> int:
        return self.config.downsample_rate

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Number of frames produced for inputs of `lengths` samples (after any time reduction)."""
        frames = self.feature_extractor.output_lengths(lengths)
        return (
            frames
            if self.time_reduction is None
            else torch.div(frames, self.time_reduction.factor, rounding_mode="floor")
        )

    def frame_lengths(self, lengths: Tensor, samples: int, frames: int, convention: HiddenStates) -> Tensor:
        """Valid frames of each utterance of a batch padded to `samples` samples (`frames` frames)."""
        if convention is HiddenStates.S3PRL and self.config.arch in ("hubert", "wavlm"):
            return valid_frames_any_sample(lengths, samples, frames)
        return self.feature_extractor.output_lengths(lengths).clamp(1, frames)

    def forward(
        self, wavs: Tensor, lengths: Tensor | None = None, convention: HiddenStates = HiddenStates.AUTHORS
    ) -> tuple[list[Tensor], Tensor]:
        """wavs (B, samples), zero-padded; lengths (B,) in samples (None: all full length).

        Returns (hidden_states: num_layers + 1 tensors of shape (B, frames, D) in `convention`,
        valid frames per utterance (B,))."""
        if wavs.dim() != 2:
            raise ValueError(f"expected wavs of shape (batch, samples), got {tuple(wavs.shape)}")
        if self.config.normalize_waveform:
            wavs = normalize_waveforms(wavs, None if lengths is None else lengths.to(wavs.device))
        features, last_channel_mask = self.feature_extractor(wavs)
        x = self.feature_projection(features, last_channel_mask)
        batch, frames, _ = x.shape
        if lengths is None:
            frame_lengths = torch.full((batch,), frames, dtype=torch.long, device=x.device)
            padding_mask = None
        else:
            frame_lengths = self.frame_lengths(lengths.to(x.device), wavs.shape[-1], frames, convention)
            padding_mask = self._padding_mask(frame_lengths, frames)
        reduced = self.time_reduction is not None
        hidden_states = [x] if convention is HiddenStates.AUTHORS and not reduced else []
        if padding_mask is not None:
            x = x.masked_fill(padding_mask[..., None], 0.0)
        x = x + self.pos_conv(x)
        if not self.config.layer_norm_first:
            x = self.layer_norm(x)
        x = self.dropout(x)
        if self.time_reduction is not None:
            x = self.time_reduction(x)
            frames = x.shape[1]
            frame_lengths = self.time_reduction.reduce_lengths(frame_lengths, frames)
            if padding_mask is not None:
                padding_mask = self._padding_mask(frame_lengths, frames)
        if convention is HiddenStates.S3PRL or reduced:
            hidden_states.append(x)
        position_bias = self.relative_position(frames) if self.relative_position is not None else None
        for layer in self.layers:
            x = layer(x, padding_mask, position_bias)
            hidden_states.append(x)
        if convention is HiddenStates.S3PRL and self.config.layer_norm_first:  # the encoder's output
            hidden_states[-1] = self.layer_norm(x)
        return hidden_states, frame_lengths

    def _padding_mask(self, frame_lengths: Tensor, frames: int) -> Tensor | None:
        """(B, frames) True on padded frames; None in eval mode when nothing is padded (a train forward
        keeps it: no host sync)."""
        padding_mask = torch.arange(frames, device=frame_lengths.device)[None, :] >= frame_lengths[:, None]
        return None if not self.training and not padding_mask.any() else padding_mask

    # --- gates -----------------------------------------------------------------------------
    def set_gates(
        self,
        *,
        conv: bool = True,
        heads: bool = True,
        attention: bool = True,
        ffn_units: bool = True,
        ffn: bool = True,
        conv_gate_norm: str = "masked",
    ) -> None:
        """Attach fresh Hard Concrete gates to the chosen groups (and remove the others); `conv_gate_norm`
        is how conv gates meet LayerNorms (components.CONV_GATE_NORMS)."""
        self.feature_extractor.set_gates(conv, conv_gate_norm)
        for layer in self.layers:
            if layer.attention is not None:
                layer.attention.set_gates(heads, attention)
            if layer.feed_forward is not None:
                layer.feed_forward.set_gates(ffn_units, ffn)
        self.gate_flags = {"conv": conv, "heads": heads, "attention": attention, "ffn_units": ffn_units, "ffn": ffn}

    def remove_gates(self) -> None:
        self.set_gates(conv=False, heads=False, attention=False, ffn_units=False, ffn=False)

    @property
    def conv_gate_norm(self) -> str:
        return self.feature_extractor.gate_norm

    @property
    def has_gates(self) -> bool:
        return any(self.gate_flags.values())

    def named_gates(self) -> Iterator[tuple[str, HardConcrete]]:
        for name, module in self.named_modules():
            if isinstance(module, HardConcrete):
                yield name, module

    def gate_parameters(self) -> Iterator[nn.Parameter]:
        for _, gate in self.named_gates():
            yield gate.log_alpha

    def model_parameters(self) -> Iterator[nn.Parameter]:
        """All parameters except the gates' log_alpha."""
        gate_ids = {id(p) for p in self.gate_parameters()}
        return (p for p in self.parameters() if id(p) not in gate_ids)


def build_encoder(config: EncoderConfig) -> Encoder:
    return Encoder(config)
