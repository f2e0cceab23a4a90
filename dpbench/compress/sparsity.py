"""Sparsity control (docs/METHOD.md section 2): the size measure (parameters or MACs), the Lagrangian
penalty whose multipliers are trained by gradient ascent, and the schedules of stage 1."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from dpbench.errors import DpbenchError
from dpbench.models import Encoder, EncoderConfig, count_macs, count_params, expected_macs, expected_params

TARGET_KINDS = ("params", "macs")


def config_size(config: EncoderConfig, kind: str) -> float:
    """Exact size of an ungated encoder: parameters or MACs per second of audio."""
    return float(count_params(config)) if kind == "params" else count_macs(config)


def expected_size(model: Encoder, kind: str) -> Tensor:
    """Expected size of a gated encoder, differentiable in its gates."""
    return expected_params(model) if kind == "params" else expected_macs(model)


def smallest_config(config: EncoderConfig) -> EncoderConfig:
    """The smallest encoder the gates can reach: one channel per conv layer, no attention, no FFN."""
    small = copy.deepcopy(config)
    small.conv_channels = [1] * len(config.conv_channels)
    small.num_heads = [0] * config.num_layers
    small.ffn_dims = [0] * config.num_layers
    return small


def max_sparsity(config: EncoderConfig, kind: str) -> float:
    """Highest sparsity pruning can reach: the position conv, LayerNorms and projection always stay."""
    return 1.0 - config_size(smallest_config(config), kind) / config_size(config, kind)


def check_target(target: float, config: EncoderConfig, kind: str, option: str = "--target-sparsity") -> None:
    """Raise a DpbenchError for a target sparsity the teacher cannot reach."""
    if kind not in TARGET_KINDS:
        raise DpbenchError(f"--target-kind {kind!r}: use one of {', '.join(TARGET_KINDS)}")
    if not 0.0 < target < 1.0:
        raise DpbenchError(f"{option} {target}: a sparsity must lie strictly between 0 and 1 (e.g. 0.75)")
    ceiling = max_sparsity(config, kind)
    if target > ceiling - 0.01:
        raise DpbenchError(
            f"{option} {target} ({kind}) is impossible for this teacher: even with every attention and FFN block "
            f"removed the {kind} sparsity is at most {ceiling:.3f} (position conv, projection and LayerNorms stay); "
            f"choose a target below {ceiling - 0.01:.3f}"
        )


class Lagrangian(nn.Module):
    """lambda1 * (s - t) + lambda2 * (s - t)^2. The multipliers are minimised-against: their optimizer
    group maximises (gradient ascent), so a gap between expected sparsity s and target t grows them."""

    def __init__(self) -> None:
        super().__init__()
        self.lambda1 = nn.Parameter(torch.zeros(()))
        self.lambda2 = nn.Parameter(torch.zeros(()))

    def forward(self, expected_sparsity: Tensor, target: float) -> Tensor:
        gap = expected_sparsity - target
        return self.lambda1 * gap + self.lambda2 * gap * gap


def target_at(step: int, final: float, warmup_steps: int) -> float:
    """Target sparsity at optimizer step `step`: linear from 0 to `final` over `warmup_steps`."""
    if warmup_steps <= 0:
        return final
    return final * min(1.0, step / warmup_steps)


def warmup_decay(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate factor: linear warm-up to 1 over `warmup_steps`, then linear decay to 0 at `total_steps`."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))
