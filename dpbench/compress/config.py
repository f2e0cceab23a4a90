"""Options of a compression run and their defaults at two scales.

`paper`: the DPHuBERT recipe (50k + 25k steps, HuBERT Base teacher, LibriSpeech, 640 s of audio per
step over 4 GPUs = 160 s per device); the lr warm-up/decay applies to every parameter group, gates and
lambdas included, as in the reference implementation.
`cpu`: the embedded default (built-in tiny teacher, synthetic corpus, a few minutes on 2 cores): same
method, 300 + 100 steps, the gate rate raised to 0.1 so gates can close within a few hundred steps
(log_alpha starts near 4.6 and must cross -1.6), gate and lambda rates kept constant, and the target
warmed up over half of stage 1 instead of 10%. With the paper's 10% (30 steps) the gates, moving at a
fixed Adam speed, lag the target for ~60 steps while the multipliers grow, then overshoot it (to ~0.94
sparsity for a 0.75 target in a gates-only simulation); a shared lr decay would then leave them no time
to come back. With a 50% warm-up the same simulation ends on target (0.750)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from dpbench.compress.distill import LOSS_FORMS
from dpbench.compress.sparsity import TARGET_KINDS
from dpbench.errors import DpbenchError

METHODS = ("dphubert", "distilhubert", "fithubert", "half")
SCALES = ("cpu", "paper")
DEFAULT_LOSS = {"dphubert": "cos", "distilhubert": "logsig", "fithubert": "cos", "half": "cos"}


@dataclass
class CompressConfig:
    """Everything that decides what a run computes. Saved as RUN/compress_config.json; `--resume`
    refuses to continue a run under different values. Hardware options (devices, precision) live apart."""

    teacher: str
    data: str
    method: str = "dphubert"
    scale: str = "cpu"
    target_sparsity: float = 0.75
    target_kind: str = "params"
    distill_layers: list[int] = field(default_factory=lambda: [0, 4, 8, 12])  # for 12 layers; scaled to the teacher
    loss: str = "cos"
    stage1_steps: int = 300
    stage2_steps: int = 100
    lr: float = 2e-4
    gate_lr: float = 0.02
    lambda_lr: float = 0.02
    stage2_lr: float = 1e-4
    warmup_fraction: float = 0.3  # stage 1 lr warm-up (15k of 50k)
    target_warmup_fraction: float = 0.1  # target sparsity warm-up (5k of 50k)
    stage2_warmup_fraction: float = 0.2  # stage 2 lr warm-up (5k of 25k)
    schedule_gates: bool = True  # warm-up/decay also the gate and lambda rates (as the reference does)
    max_batch_seconds: float = 8.0  # audio per device per micro-batch
    max_item_seconds: float = 16.0  # longer utterances are randomly cropped to this
    accumulate: int = 1
    grad_clip: float = 10.0
    seed: int = 0
    checkpoint_every: int = 50
    calibrate_tol: float = 0.005  # relative size error above which the gates are calibrated after stage 1
    num_workers: int = 0
    student_init: str | None = None

    def validate(self) -> None:
        """Raise a DpbenchError naming the option for any value out of range."""
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise DpbenchError(f"--{item.name.replace('_', '-')}: {value} is not a finite number")
        checks = [
            (self.method in METHODS, "--method", f"one of {', '.join(METHODS)}"),
            (self.scale in SCALES, "--scale", f"one of {', '.join(SCALES)}"),
            (self.target_kind in TARGET_KINDS, "--target-kind", f"one of {', '.join(TARGET_KINDS)}"),
            (self.loss in LOSS_FORMS, "--loss", f"one of {', '.join(LOSS_FORMS)}"),
            (self.stage1_steps >= 1, "--stage1-steps", "at least 1"),
            (self.stage2_steps >= 0, "--stage2-steps", "0 or more"),
            (min(self.lr, self.gate_lr, self.lambda_lr, self.stage2_lr) > 0, "--lr/--gate-lr/--lambda-lr/--stage2-lr",
             "positive"),
            (self.max_batch_seconds > 0, "--max-batch-seconds", "positive"),
            (self.max_item_seconds > 0, "--max-item-seconds", "positive"),
            (self.accumulate >= 1, "--accumulate", "at least 1"),
            (self.grad_clip > 0, "--grad-clip", "positive"),
            (self.checkpoint_every >= 1, "--checkpoint-every", "at least 1"),
            (all(0 <= i <= 12 for i in self.distill_layers) and self.distill_layers, "--distill-layers",
             "comma-separated indices in 0..12 (for a 12-layer model; scaled to the teacher's depth)"),
        ]
        for ok, option, expected in checks:
            if not ok:
                raise DpbenchError(f"{option}: invalid value, expected {expected}")
        for name in ("warmup_fraction", "target_warmup_fraction", "stage2_warmup_fraction"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise DpbenchError(f"--{name.replace('_', '-')}: must be in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CompressConfig":
        return cls(**data)


SCALE_DEFAULTS: dict[str, dict[str, Any]] = {
    "paper": dict(
        teacher="hubert_base",
        stage1_steps=50_000,
        stage2_steps=25_000,
        gate_lr=0.02,
        lambda_lr=0.02,
        max_batch_seconds=160.0,
        max_item_seconds=16.0,
        checkpoint_every=1000,
        num_workers=4,
    ),
    "cpu": dict(
        teacher="tiny-hubert",
        stage1_steps=300,
        stage2_steps=100,
        gate_lr=0.1,
        lambda_lr=0.02,
        schedule_gates=False,
        target_warmup_fraction=0.5,
        max_batch_seconds=8.0,
        max_item_seconds=4.0,
        checkpoint_every=50,
        num_workers=0,
    ),
}


def make_config(scale: str, method: str, data: str, overrides: dict[str, Any]) -> CompressConfig:
    """Scale defaults, then the method's default loss form, then explicit `overrides` (None = not given)."""
    if scale not in SCALES:
        raise DpbenchError(f"--scale {scale!r}: use one of {', '.join(SCALES)}")
    values: dict[str, Any] = dict(SCALE_DEFAULTS[scale], scale=scale, method=method, data=data)
    values["loss"] = DEFAULT_LOSS.get(method, "cos")
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = CompressConfig(**values)
    config.validate()
    return config
