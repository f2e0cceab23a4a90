"""Options of a compression run and their defaults at two scales (`SCALE_DEFAULTS`).

`paper`: the DPHuBERT recipe (50k + 25k steps, HuBERT Base teacher, LibriSpeech, 640 s of audio per
step over 4 GPUs = 160 s per device); the lr warm-up/decay applies to every parameter group, gates and
lambdas included, as in the reference implementation.
`cpu`: the embedded default (built-in tiny teacher, synthetic corpus, a few minutes on 2 cores): same
method, 300 + 100 steps, the gate rate raised to 0.1 so gates can close within a few hundred steps
(log_alpha starts near 4.6 and must cross -1.6), gate and lambda rates kept constant, and the target
warmed up over half of stage 1 instead of 10%. With the paper's 10% (30 steps) the gates, moving at a
fixed Adam speed, lag the target for ~60 steps while the multipliers grow, then overshoot it (to ~0.94
sparsity for a 0.75 target in a gates-only simulation); a shared lr decay would then leave them no time
to come back. With a 50% warm-up the same simulation ends on target (0.750).

The recipe's choices (docs/METHOD.md section 6) are the defaults at both scales, and the only defaults
`CompressConfig` itself states: gates on conv channels, heads and FFN units; distillation layers
`0.4,8,12` (layer 0 has its own linear, 4, 8 and 12 share one) layer to layer; L1 + raw cosine (the
baselines' own losses: `DEFAULT_COS_TYPE`, `DEFAULT_LOSS_WEIGHTS`, set by `make_config`); the student
trains with the teacher's dropouts (the built-in tiny teacher has none); conv gates as the authors
normalise them (gate, then a full LayerNorm)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from dpbench.ablations import ABLATION_METHODS, ABLATIONS
from dpbench.compress.distill import COS_TYPES, DISTILL_MODES, RECIPE_LAYERS, parse_layer_groups
from dpbench.compress.sparsity import TARGET_KINDS
from dpbench.errors import DpbenchError
from dpbench.models.components import CONV_GATE_NORMS
from dpbench.models.pruning import Alignment
from dpbench.scales import SCALES

METHODS = ("dphubert", "distilhubert", "fithubert", "fithubert-thin", "half")
DEFAULT_COS_TYPE = {"distilhubert": "log_sig"}  # else raw
DEFAULT_LOSS_WEIGHTS = {"fithubert": dict(l1_weight=0.0, cos_weight=0.0, l2_weight=1.0)}  # FitHuBERT: MSE only
# --prune-units: Hard Concrete gates on conv channels, attention heads, FFN units, whole attention blocks,
# whole FFN blocks; the recipe gates the first three
PRUNE_UNITS = ("conv", "head", "interm", "attlayer", "ffnlayer")
RECIPE_PRUNE_UNITS = ["conv", "head", "interm"]
DROPOUTS = ("projection_dropout", "attention_dropout", "ffn_interm_dropout", "residual_dropout")


@dataclass(frozen=True)
class ScaleDefaults:
    """The options whose default depends on the scale: the teacher, each stage's length, learning rates and
    their schedules, the batch, checkpoint and loader settings. One instance per scale (`SCALE_DEFAULTS`);
    every other option's default is the recipe's, the same at both scales (`CompressConfig`)."""

    teacher: str
    stage1_steps: int
    stage2_steps: int
    lr: float  # model and distillation heads, both stages' peak
    gate_lr: float
    lambda_lr: float
    stage2_lr: float
    warmup_fraction: float  # stage 1 lr warm-up, a fraction of stage1_steps
    target_warmup_fraction: float  # target sparsity warm-up, a fraction of stage1_steps
    stage2_warmup_fraction: float  # stage 2 lr warm-up, a fraction of stage2_steps
    schedule_gates: bool  # warm-up/decay also the gate and lambda rates (as the reference does), else constant
    max_batch_seconds: float  # audio per device per micro-batch
    max_item_seconds: float  # longer utterances are randomly cropped to this
    checkpoint_every: int
    num_workers: int


SCALE_DEFAULTS: dict[str, ScaleDefaults] = {
    "paper": ScaleDefaults(
        teacher="hubert_base",
        stage1_steps=50_000,
        stage2_steps=25_000,
        lr=2e-4,
        gate_lr=0.02,
        lambda_lr=0.02,
        stage2_lr=1e-4,
        warmup_fraction=0.3,  # 15k of 50k
        target_warmup_fraction=0.1,  # 5k of 50k
        stage2_warmup_fraction=0.2,  # 5k of 25k
        schedule_gates=True,
        max_batch_seconds=160.0,  # 640 s per step over 4 GPUs
        max_item_seconds=16.0,
        checkpoint_every=1000,
        num_workers=4,
    ),
    "cpu": ScaleDefaults(
        teacher="tiny-hubert",
        stage1_steps=300,
        stage2_steps=100,
        lr=2e-4,
        gate_lr=0.1,  # gates must close within a few hundred steps (see the module docstring)
        lambda_lr=0.02,
        stage2_lr=1e-4,
        warmup_fraction=0.3,
        target_warmup_fraction=0.5,  # the paper's 10% overshoots at this length (see the module docstring)
        stage2_warmup_fraction=0.2,
        schedule_gates=False,
        max_batch_seconds=8.0,
        max_item_seconds=4.0,
        checkpoint_every=50,
        num_workers=0,
    ),
}


@dataclass(kw_only=True)
class CompressConfig:
    """Everything that decides what a run computes. Saved as RUN/compress_config.json; `--resume`
    refuses to continue a run under different values. Hardware options (devices, precision) live apart.
    Fields without a default are the run's inputs and the `ScaleDefaults` fields: `make_config` fills them
    from the scale."""

    teacher: str
    data: str
    method: str
    scale: str
    target_sparsity: float = 0.75
    target_kind: str = "params"
    distill_layers: str = RECIPE_LAYERS  # groups for 12 layers (scaled to the teacher); a group shares one linear
    distill_mode: str = "layer2layer"
    l1_weight: float = 1.0
    cos_weight: float = 1.0
    l2_weight: float = 0.0
    cos_type: str = "raw"
    prune_units: list[str] = field(default_factory=lambda: list(RECIPE_PRUNE_UNITS))
    conv_gate_norm: str = "authors"  # chosen by the miniature A/B in README.md
    # student dropouts; None = the teacher's (EncoderConfig: projection_dropout, attention_dropout,
    # ffn_interm_dropout, dropout)
    projection_dropout: float | None = None
    attention_dropout: float | None = None
    ffn_interm_dropout: float | None = None
    residual_dropout: float | None = None
    stage1_steps: int
    stage2_steps: int
    lr: float
    gate_lr: float
    lambda_lr: float
    stage2_lr: float
    warmup_fraction: float
    target_warmup_fraction: float
    stage2_warmup_fraction: float
    schedule_gates: bool
    max_batch_seconds: float
    max_item_seconds: float
    accumulate: int = 1
    grad_clip: float = 10.0
    seed: int = 0
    checkpoint_every: int
    calibrate_tol: float = 0.005  # relative size error above which the gates are calibrated after stage 1
    align: str | None = None  # hardware-aligned pruning, e.g. conv=32,ffn=8 (None: off, the authors' recipe)
    num_workers: int
    student_init: str | None = None
    ablation: str | None = None  # the ABLATIONS preset the run was made with (its options are set above)

    def validate(self) -> None:
        """Raise a DpbenchError naming the option for any value out of range."""
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise DpbenchError(f"--{item.name.replace('_', '-')}: {value} is not a finite number")
        checks = [
            (self.method in METHODS, "--method", f"one of {', '.join(METHODS)}"),
            (self.ablation is None or self.ablation in ABLATIONS, "--ablation", f"one of {', '.join(ABLATIONS)}"),
            (
                self.ablation is None or self.method in ABLATION_METHODS,
                "--ablation",
                f"used with --method {' or '.join(ABLATION_METHODS)} (the ablations vary its recipe)",
            ),
            (self.scale in SCALES, "--scale", f"one of {', '.join(SCALES)}"),
            (self.target_kind in TARGET_KINDS, "--target-kind", f"one of {', '.join(TARGET_KINDS)}"),
            (self.cos_type in COS_TYPES, "--cos-type", f"one of {', '.join(COS_TYPES)}"),
            (self.distill_mode in DISTILL_MODES, "--distill-mode", f"one of {', '.join(DISTILL_MODES)}"),
            (
                self.method == "dphubert" or self.distill_mode == "layer2layer",
                "--distill-mode",
                "layer2layer with a baseline (baselines keep their papers' heads)",
            ),
            (
                min(self.l1_weight, self.cos_weight, self.l2_weight) >= 0
                and self.l1_weight + self.cos_weight + self.l2_weight > 0,
                "--l1-weight/--cos-weight/--l2-weight",
                "non-negative, not all zero",
            ),
            (
                bool(self.prune_units) and set(self.prune_units) <= set(PRUNE_UNITS),
                "--prune-units",
                f"a comma-separated subset of {','.join(PRUNE_UNITS)}",
            ),
            (self.conv_gate_norm in CONV_GATE_NORMS, "--conv-gate-norm", f"one of {', '.join(CONV_GATE_NORMS)}"),
            (
                all(getattr(self, name) is None or 0.0 <= getattr(self, name) < 1.0 for name in DROPOUTS),
                "--projection-dropout/--attention-dropout/--ffn-interm-dropout/--residual-dropout",
                "in [0, 1)",
            ),
            (self.stage1_steps >= 1, "--stage1-steps", "at least 1"),
            (self.stage2_steps >= 0, "--stage2-steps", "0 or more"),
            (
                min(self.lr, self.gate_lr, self.lambda_lr, self.stage2_lr) > 0,
                "--lr/--gate-lr/--lambda-lr/--stage2-lr",
                "positive",
            ),
            (self.max_batch_seconds > 0, "--max-batch-seconds", "positive"),
            (self.max_item_seconds > 0, "--max-item-seconds", "positive"),
            (self.accumulate >= 1, "--accumulate", "at least 1"),
            (self.grad_clip > 0, "--grad-clip", "positive"),
            (self.checkpoint_every >= 1, "--checkpoint-every", "at least 1"),
            (_alignment_ok(self.align), "--align", "conv=N and/or ffn=N, comma-separated, N >= 1 (e.g. conv=32,ffn=8)"),
            (
                _layer_groups_ok(self.distill_layers),
                "--distill-layers",
                "indices in 0..12 (for a 12-layer model; scaled to the teacher's depth), commas within a group "
                "sharing one linear, periods between groups, e.g. 0.4,8,12",
            ),
        ]
        for ok, option, expected in checks:
            if not ok:
                raise DpbenchError(f"{option}: invalid value, expected {expected}")
        for name in ("warmup_fraction", "target_warmup_fraction", "stage2_warmup_fraction"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise DpbenchError(f"--{name.replace('_', '-')}: must be in [0, 1)")

    def layer_groups(self) -> list[list[int]]:
        return parse_layer_groups(self.distill_layers)

    def student_dropouts(self) -> dict[str, float | None]:
        """Dropout overrides by EncoderConfig field name (None: the teacher's value)."""
        return {
            "projection_dropout": self.projection_dropout,
            "attention_dropout": self.attention_dropout,
            "ffn_interm_dropout": self.ffn_interm_dropout,
            "dropout": self.residual_dropout,
        }

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompressConfig:
        return cls(**data)


def _alignment_ok(text: str | None) -> bool:
    try:
        Alignment.parse(text or "")
    except ValueError:
        return False
    return True


def _layer_groups_ok(text: str) -> bool:
    try:
        groups = parse_layer_groups(text)
    except ValueError:
        return False
    return all(0 <= i <= 12 for group in groups for i in group)


def make_config(scale: str, method: str, data: str, overrides: dict[str, Any]) -> CompressConfig:
    """Scale defaults, then the method's default cosine type, then the options of the `ablation` override
    (if any), then explicit `overrides` (None = not given), which may not contradict the ablation."""
    if scale not in SCALES:
        raise DpbenchError(f"--scale {scale!r}: use one of {', '.join(SCALES)}")
    values: dict[str, Any] = dict(dataclasses.asdict(SCALE_DEFAULTS[scale]), scale=scale, method=method, data=data)
    values["cos_type"] = DEFAULT_COS_TYPE.get(method, "raw")
    values.update(DEFAULT_LOSS_WEIGHTS.get(method, {}))
    given = {k: v for k, v in overrides.items() if v is not None}
    ablation = given.get("ablation")
    if ablation is not None:
        if ablation not in ABLATIONS:
            raise DpbenchError(f"--ablation {ablation!r}: use one of {', '.join(ABLATIONS)}")
        preset = ABLATIONS[ablation]
        clash = [key for key in preset if key in given and given[key] != preset[key]]
        if clash:
            options = ", ".join(f"--{key.replace('_', '-')} (it sets {preset[key]!r})" for key in clash)
            raise DpbenchError(f"--ablation {ablation} contradicts {options}; drop the option or the ablation")
        values.update({key: list(v) if isinstance(v, list) else v for key, v in preset.items()})
    values.update(given)
    config = CompressConfig(**values)
    config.validate()
    return config
