"""FitHuBERT's time-reduction layer and the thin conv front end it pairs with.

Facts from FitHuBERT (Lee et al., Interspeech 2022; the authors' released config `fithubert.yaml`):
- the conv front end keeps the 7 strided layers of wav2vec 2.0 / HuBERT (kernels 10, 3, 3, 3, 3, 2, 2;
  strides 5, 2, 2, 2, 2, 2, 2) but thins them to 128, 256, 256, 256, 256, 512, 512 channels, with a
  pointwise (kernel 1, stride 1) conv wherever the width grows: 128 -> 256 after the first layer and
  256 -> 512 before the last two. Nine conv layers, GroupNorm in the first, no bias; same frames (20 ms).
- the time-reduction layer is a Conv1d of kernel and stride 2 over the hidden states (width kept, with
  bias), between the position conv (+ the encoder's LayerNorm) and the first transformer layer: every
  transformer layer then runs at 40 ms frames. A trailing odd frame is dropped; a reduced frame is
  padding when any of its source frames is.
dpbench's Encoder builds these from EncoderConfig fields (`conv_channels` / `conv_kernels` /
`conv_strides` for the front end, `time_reduction` for the factor)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

# (channels, kernel, stride) of FitHuBERT's conv front end for a 512-channel teacher front end
FITHUBERT_CONV_LAYERS = (
    (128, 10, 5),
    (256, 1, 1),
    (256, 3, 2),
    (256, 3, 2),
    (256, 3, 2),
    (256, 3, 2),
    (512, 1, 1),
    (512, 2, 2),
    (512, 2, 2),
)
FITHUBERT_TIME_REDUCTION = 2


def thin_conv_layers(teacher_channels: int) -> list[tuple[int, int, int]]:
    """FitHuBERT's front end scaled to a teacher whose last conv layer has `teacher_channels` channels
    (512 for every Base and Large model: exactly the published widths); at least one channel per layer."""
    return [(max(1, c * teacher_channels // 512), k, s) for c, k, s in FITHUBERT_CONV_LAYERS]


class TimeReduction(nn.Module):
    """(B, T, D) -> (B, T // factor, D): a Conv1d of kernel and stride `factor` merges each `factor`
    consecutive frames into one (FitHuBERT's `conv1d` time-reduction layer)."""

    def __init__(self, hidden: int, factor: int) -> None:
        super().__init__()
        self.factor = factor
        self.conv = nn.Conv1d(hidden, hidden, factor, stride=factor)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] < self.factor:
            raise ValueError(
                f"time reduction by {self.factor} needs at least {self.factor} frames, got {x.shape[1]}: "
                "the input is too short"
            )
        return self.conv(x.transpose(1, 2)).transpose(1, 2)

    def reduce_lengths(self, lengths: Tensor, frames: int) -> Tensor:
        """Valid reduced frames: those whose source frames are all valid (at least 1, at most `frames`)."""
        return torch.div(lengths, self.factor, rounding_mode="floor").clamp(1, frames)
