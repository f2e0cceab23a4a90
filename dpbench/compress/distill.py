"""Distillation targets and losses: which student layer predicts which teacher layer, the heads that
map one onto the other, and the weighted L1 + cosine (+ L2) loss (docs/METHOD.md sections 3 and 6).

Layer groups (`0.4,8,12`): a period separates groups, commas separate the layers of a group, and the
layers of one group share one linear head (the released recipe: layer 0 has its own, 4, 8 and 12 share
one). Modes: `layer2layer` (student layer i predicts teacher layer i through its group's linear) and
`predlayer` (every teacher layer gets its own Linear + GELU head on the student's last layer).
A time-reduced student (FitHuBERT) has heads that first bring its states back to the teacher's frame
rate (`FrameUpsampler`); the teacher's states are cut to the upsampled length, as FitHuBERT's loss does."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

REFERENCE_DEPTH = 12
COS_TYPES = ("raw", "log_sig")
DISTILL_MODES = ("layer2layer", "predlayer")
RECIPE_LAYERS = "0.4,8,12"


def parse_layer_groups(text: str) -> list[list[int]]:
    """`0.4,8,12` -> [[0], [4, 8, 12]]. Raises ValueError for anything but non-negative integers."""
    groups = [[int(v) for v in group.split(",") if v.strip()] for group in text.split(".")]
    if not all(groups) or any(i < 0 for group in groups for i in group):
        raise ValueError(f"empty group or negative layer in {text!r}")
    return groups


def format_layer_groups(groups: list[list[int]]) -> str:
    return ".".join(",".join(str(i) for i in group) for group in groups)


def scale_layers(layers: tuple[int, ...] | list[int], depth: int) -> list[int]:
    """Map layer indices given for a 12-layer model onto a `depth`-layer one: i -> round(i * depth / 12)
    (half rounds up), duplicates dropped. {0, 4, 8, 12} -> {0, 8, 16, 24} for Large, {0, 1, 3, 4} for 4 layers."""
    scaled = sorted({int(i * depth / REFERENCE_DEPTH + 0.5) for i in layers})
    return [i for i in scaled if 0 <= i <= depth]


def scale_groups(groups: list[list[int]], depth: int) -> list[list[int]]:
    """`scale_layers` per group; a layer that two groups reach stays in the first; empty groups go."""
    seen: set[int] = set()
    scaled = []
    for group in groups:
        layers = [i for i in scale_layers(group, depth) if i not in seen]
        seen.update(layers)
        if layers:
            scaled.append(layers)
    return scaled


@dataclass(frozen=True)
class Pair:
    """One distillation term: student hidden state `student` predicts teacher hidden state `teacher`
    through head number `head` (pairs may share a head)."""

    student: int
    teacher: int
    head: int = -1  # -1: a head of its own (numbered by position)
    weight: float = 1.0  # of this pair's layer loss (FitHuBERT: 0.1 for hints, 1 for the last layer)


def layer_to_layer_pairs(groups: list[list[int]]) -> list[Pair]:
    """Student and teacher of the same depth: layer i predicts layer i; one head per group."""
    return [Pair(i, i, g) for g, group in enumerate(groups) for i in group]


def prediction_head_pairs(teacher_layers: list[int], student_depth: int) -> list[Pair]:
    """DistilHuBERT: every head reads the student's last layer and predicts one teacher layer."""
    return [Pair(student_depth, t, n) for n, t in enumerate(teacher_layers)]


def head_index(pairs: list[Pair]) -> list[int]:
    """The head each pair uses: its own `head`, or its position when -1."""
    return [p.head if p.head >= 0 else n for n, p in enumerate(pairs)]


class FrameUpsampler(nn.Module):
    """(B, T, D) -> (B, T * factor, D): a ConvTranspose1d of kernel and stride `factor` (FitHuBERT's heads
    on a time-reduced student)."""

    def __init__(self, dim: int, factor: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose1d(dim, dim, factor, stride=factor)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x.transpose(1, 2)).transpose(1, 2)


class DistillHeads(nn.Module):
    """The distinct heads of the pairs: a Linear, or Linear + GELU (`activation`, the predlayer heads),
    after a FrameUpsampler when the student's frames are `upsample` times longer than the teacher's.
    Square linears start as the identity with zero bias (so a student copied from the teacher starts at
    zero L1 loss); linears that change the width keep PyTorch's default init."""

    def __init__(
        self, pairs: list[Pair], student_dim: int, teacher_dim: int, activation: bool = False, upsample: int = 1
    ) -> None:
        super().__init__()
        if not pairs:
            raise ValueError("distillation needs at least one (student layer, teacher layer) pair")
        self.pairs = list(pairs)
        self.index = head_index(self.pairs)
        if sorted(set(self.index)) != list(range(max(self.index) + 1)):
            raise ValueError(f"head numbers must run 0..n-1 without gaps, got {self.index}")
        linears = [nn.Linear(student_dim, teacher_dim) for _ in range(max(self.index) + 1)]
        if student_dim == teacher_dim:
            for linear in linears:
                nn.init.eye_(linear.weight)
                nn.init.zeros_(linear.bias)
        self.upsample = upsample
        heads: list[nn.Module] = [nn.Sequential(linear, nn.GELU()) if activation else linear for linear in linears]
        if upsample > 1:
            heads = [nn.Sequential(FrameUpsampler(student_dim, upsample), head) for head in heads]
        self.heads = nn.ModuleList(heads)

    def forward(self, student_states: list[Tensor]) -> list[Tensor]:
        return [self.heads[h](student_states[p.student]) for h, p in zip(self.index, self.pairs)]


def frame_mask(lengths: Tensor, frames: int) -> Tensor:
    """(B, T) float mask of valid frames."""
    return (torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]).float()


@dataclass(frozen=True)
class LossWeights:
    """Weights of the L1, cosine and L2 terms and the cosine term's form: `raw` (-cos) or `log_sig`
    (-log sigmoid(cos), DistilHuBERT). The recipe: 1, 1, 0, raw. `sum_layers`: the layer losses, times
    their pairs' weights, are summed (FitHuBERT) rather than averaged over the pairs."""

    l1: float = 1.0
    cos: float = 1.0
    l2: float = 0.0
    cos_type: str = "raw"
    sum_layers: bool = False

    def __post_init__(self) -> None:
        if self.cos_type not in COS_TYPES:
            raise ValueError(f"cos type must be one of {COS_TYPES}, got {self.cos_type!r}")


def layer_loss(pred: Tensor, target: Tensor, mask: Tensor, weights: LossWeights) -> tuple[Tensor, dict[str, Tensor]]:
    """Loss of one layer, averaged over valid frames: l1 * L1 + cos * (-cos or -log sigmoid(cos)) + l2 * L2
    (L1, L2: means over features). Returns (loss, {"l1", "cos" (mean cosine similarity), "l2"})."""
    pred, target = pred.float(), target.float()
    weight = mask / mask.sum().clamp_min(1.0)
    diff = pred - target
    l1 = (diff.abs().mean(-1) * weight).sum()
    l2 = (diff.pow(2).mean(-1) * weight).sum()
    cos_frames = F.cosine_similarity(pred, target, dim=-1)
    cos = (cos_frames * weight).sum()
    sim_term = -cos if weights.cos_type == "raw" else (-F.logsigmoid(cos_frames) * weight).sum()
    loss = weights.l1 * l1 + weights.cos * sim_term + weights.l2 * l2
    return loss, {"l1": l1, "cos": cos, "l2": l2}


class DistillLoss(nn.Module):
    """Heads + per-layer loss, weighted by the pairs' weights and averaged over the pairs (or summed:
    LossWeights.sum_layers). `lengths`: the student's valid frames. Returns (loss, {term name: value})."""

    def __init__(self, heads: DistillHeads, weights: LossWeights) -> None:
        super().__init__()
        self.heads = heads
        self.weights = weights

    def forward(
        self, student_states: list[Tensor], teacher_states: list[Tensor], lengths: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        preds = self.heads(student_states)
        frames = preds[0].shape[1]
        mask = frame_mask(lengths * self.heads.upsample, frames)
        total = preds[0].new_zeros((), dtype=torch.float32)
        terms: dict[str, Tensor] = {}
        for pred, pair in zip(preds, self.heads.pairs):
            loss, parts = layer_loss(pred, teacher_states[pair.teacher][:, :frames], mask, self.weights)
            total = total + pair.weight * loss
            for name, value in parts.items():
                terms[f"{name}_{pair.teacher}"] = value.detach()
        return (total if self.weights.sum_layers else total / len(preds)), terms
