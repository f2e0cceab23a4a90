"""Physical pruning after stage 1, with an optional size calibration.

The eval mask keeps round(n - L0) units per gate, so the pruned size tracks the expected size; after a
short stage 1 the expected sparsity may still sit a little off target. When the pruned size misses the
target size by more than `tol` (relative), the gates' log_alpha are shifted by one common offset c,
found by bisection (then, if a head's jump is still too coarse, a second offset on the FFN-unit and
conv-channel gates only, and as a last resort all gates), so that the pruned size lands on the target:
kept units change only at the margin (the least confident ones), and the model's function changes only
through those units and the slightly shifted soft mask values folded into the weights. Whole-block gates
(one unit: an attention or FFN block) are shifted only in the last pass: their all-or-nothing jumps make
the size coarse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from dpbench.compress.sparsity import config_size
from dpbench.models import Encoder, HardConcrete, prune_encoder


@dataclass
class Calibration:
    """What calibration did: size before/after (parameters or MACs), the offset and whether it was applied."""

    applied: bool
    offset: float
    size_before: float
    size_after: float
    target_size: float

    def to_dict(self) -> dict:
        return asdict(self)


def pruned_size(model: Encoder, kind: str) -> float:
    """Size of the dense model `model` prunes to (0 when a conv layer would lose every channel)."""
    try:
        return config_size(prune_encoder(model).config, kind)
    except ValueError:
        return 0.0


GateSelector = Callable[[str, HardConcrete], bool]  # (gate name, gate) -> is it shifted


def _unit_gates(name: str, gate: HardConcrete) -> bool:
    """Every multi-unit gate: conv channels, heads, FFN units."""
    return gate.n > 1


def _conv_and_ffn_unit_gates(name: str, gate: HardConcrete) -> bool:
    """Gates of the cheapest units (FFN units, conv channels), for the last few hundred parameters."""
    return gate.n > 1 and ".attention." not in f".{name}."


def _all_gates(name: str, gate: HardConcrete) -> bool:
    """All gates, whole blocks included: the last resort when units alone cannot reach the target."""
    return True


@torch.no_grad()
def _shift_gates(model: Encoder, offset: float, select: GateSelector) -> None:
    for name, gate in model.named_gates():
        if select(name, gate):
            gate.log_alpha.add_(offset)


@torch.no_grad()
def _bisect(
    model: Encoder, target_size: float, kind: str, tol: float, select: GateSelector, iterations: int
) -> tuple[float, float]:
    """Apply (in place) the offset of the selected gates whose pruned size is closest to `target_size`.
    The size grows monotonically with the offset, so bisection over [-20, 20] finds the crossing."""
    size0 = pruned_size(model, kind)
    best = (abs(size0 - target_size), 0.0, size0)
    lo, hi = -20.0, 20.0
    for _ in range(iterations):
        mid = (lo + hi) / 2
        _shift_gates(model, mid, select)
        size = pruned_size(model, kind)
        _shift_gates(model, -mid, select)
        if abs(size - target_size) < best[0]:
            best = (abs(size - target_size), mid, size)
        if size > target_size:
            hi = mid
        else:
            lo = mid
        if best[0] <= tol * target_size / 4:
            break
    _shift_gates(model, best[1], select)
    return best[1], best[2]


@torch.no_grad()
def calibrate(model: Encoder, target_size: float, kind: str, tol: float, iterations: int = 30) -> Calibration:
    """Shift the gates of `model` (in place) so that its pruned size is within `tol` of `target_size`, if
    it is not already: first all multi-unit gates together, then (if a head's jump is still too coarse)
    only the FFN-unit and conv-channel gates, then (if those cannot move far enough, e.g. every FFN block
    is gone) all gates, block gates included."""
    before = pruned_size(model, kind)
    if abs(before - target_size) <= tol * target_size:
        return Calibration(False, 0.0, before, before, target_size)
    offset, size = 0.0, before
    for select in (_unit_gates, _conv_and_ffn_unit_gates, _all_gates):
        step, size = _bisect(model, target_size, kind, tol, select, iterations)
        offset += step
        if abs(size - target_size) <= tol * target_size:
            break
    return Calibration(True, offset, before, size, target_size)


def kept_units(model: Encoder) -> dict[str, list[int]]:
    """Per-layer kept units of a dense (pruned) encoder, for the summary."""
    c = model.config
    return {"conv_channels": list(c.conv_channels), "num_heads": list(c.num_heads), "ffn_dims": list(c.ffn_dims)}
