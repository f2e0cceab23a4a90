"""Distillation targets and losses: which student layer predicts which teacher layer, the linear
heads that map one onto the other, and the L1 + cosine loss (METHOD.md section 3)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

REFERENCE_DEPTH = 12
LOSS_FORMS = ("cos", "logsig")


def scale_layers(layers: tuple[int, ...] | list[int], depth: int) -> list[int]:
    """Map layer indices given for a 12-layer model onto a `depth`-layer one: i -> round(i * depth / 12)
    (half rounds up), duplicates dropped. {0, 4, 8, 12} -> {0, 8, 16, 24} for Large, {0, 1, 3, 4} for 4 layers."""
    scaled = sorted({int(i * depth / REFERENCE_DEPTH + 0.5) for i in layers})
    return [i for i in scaled if 0 <= i <= depth]


@dataclass(frozen=True)
class Pair:
    """One distillation term: student hidden state `student` predicts teacher hidden state `teacher`."""

    student: int
    teacher: int


def layer_to_layer_pairs(layers: list[int]) -> list[Pair]:
    """Student and teacher of the same depth: layer i predicts layer i."""
    return [Pair(i, i) for i in layers]


def prediction_head_pairs(teacher_layers: list[int], student_depth: int) -> list[Pair]:
    """DistilHuBERT: every head reads the student's last layer and predicts one teacher layer."""
    return [Pair(student_depth, t) for t in teacher_layers]


class DistillHeads(nn.Module):
    """One linear head per pair. Square heads start as the identity with zero bias (so a student copied
    from the teacher starts at zero L1 loss); heads that change the width keep PyTorch's default init."""

    def __init__(self, pairs: list[Pair], student_dim: int, teacher_dim: int) -> None:
        super().__init__()
        if not pairs:
            raise ValueError("distillation needs at least one (student layer, teacher layer) pair")
        self.pairs = list(pairs)
        self.heads = nn.ModuleList(nn.Linear(student_dim, teacher_dim) for _ in pairs)
        if student_dim == teacher_dim:
            for head in self.heads:
                nn.init.eye_(head.weight)
                nn.init.zeros_(head.bias)

    def forward(self, student_states: list[Tensor]) -> list[Tensor]:
        return [head(student_states[p.student]) for head, p in zip(self.heads, self.pairs)]


def frame_mask(lengths: Tensor, frames: int) -> Tensor:
    """(B, T) float mask of valid frames."""
    return (torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]).float()


def layer_loss(pred: Tensor, target: Tensor, mask: Tensor, form: str) -> tuple[Tensor, Tensor, Tensor]:
    """Loss of one layer, averaged over valid frames: L1 (mean over features) plus -cos or -log sigmoid(cos).
    Returns (loss, l1, cos) where cos is the mean cosine similarity."""
    pred, target = pred.float(), target.float()
    weight = mask / mask.sum().clamp_min(1.0)
    l1 = ((pred - target).abs().mean(-1) * weight).sum()
    cos_frames = F.cosine_similarity(pred, target, dim=-1)
    cos = (cos_frames * weight).sum()
    if form == "cos":
        sim_term = -cos
    elif form == "logsig":
        sim_term = (-F.logsigmoid(cos_frames) * weight).sum()
    else:
        raise ValueError(f"loss form must be one of {LOSS_FORMS}, got {form!r}")
    return l1 + sim_term, l1, cos


class DistillLoss(nn.Module):
    """Heads + per-layer loss, averaged over the pairs. Returns (loss, {term name: value})."""

    def __init__(self, heads: DistillHeads, form: str) -> None:
        super().__init__()
        if form not in LOSS_FORMS:
            raise ValueError(f"loss form must be one of {LOSS_FORMS}, got {form!r}")
        self.heads = heads
        self.form = form

    def forward(
        self, student_states: list[Tensor], teacher_states: list[Tensor], lengths: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        preds = self.heads(student_states)
        mask = frame_mask(lengths, preds[0].shape[1])
        total = preds[0].new_zeros((), dtype=torch.float32)
        terms: dict[str, Tensor] = {}
        for pred, pair in zip(preds, self.heads.pairs):
            loss, l1, cos = layer_loss(pred, teacher_states[pair.teacher], mask, self.form)
            total = total + loss
            terms[f"l1_{pair.teacher}"] = l1.detach()
            terms[f"cos_{pair.teacher}"] = cos.detach()
        return total / len(preds), terms
