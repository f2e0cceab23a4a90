"""Students of each method and how their sizes are chosen.

- dphubert: a copy of the teacher (or `--student-init`) with Hard Concrete gates on the groups of
  `--prune-units` (the recipe: conv channels, heads, FFN units); its size is set by the Lagrangian.
- distilhubert: the teacher's conv extractor + its first k transformer layers (DistilHuBERT: k = 2 for
  Base); k is the depth whose size is closest to the budget (1 - target) * teacher size.
- fithubert: FitHuBERT as published (Lee et al., Interspeech 2022), a fixed shape like `half`: the
  teacher's depth and head count, width 5/8 of the teacher's with FFN size = width (480/480 for Base),
  the thin conv front end with pointwise convs (dpbench.models.time_reduction: 128-256-512 channels
  for a 512-channel teacher) and the time-reduction layer (Conv1d, kernel = stride = 2): its layers run
  at 40 ms. All random (the authors initialise nothing from the teacher). HuBERT Base teacher:
  21,200,096 parameters; the published 22.49M (22,492,064) is the authors' s3prl upstream, which also
  holds the last layer's distillation head (a transposed conv and a 480 -> 768 linear, 830,688) and an
  unused second upsampler (461,280) (tests/test_compress_baseline_sizes.py).
- fithubert-thin: dpbench's earlier FitHuBERT-style student: same depth as the teacher, hidden size h
  with FFN size h, the teacher's head count, head_dim = h / heads; h (a multiple of the head count) is
  the one whose size is closest to the budget; the teacher's conv extractor (copied), no time reduction.
- half: same depth, half the hidden size, heads and FFN (the paper's "12-layer half", 26.9M for Base:
  a fixed shape, not fitted to the budget). Conv extractor copied from the teacher, the rest random.
Size is parameters or MACs, whichever the target is given in. Every student reads the waveform as the
teacher does: its config is copied from the teacher's (`normalize_waveform` included), and a
`--student-init` must normalise as the teacher does. Every student trains with the teacher's dropouts
unless overridden (the released recipe builds its student from the teacher's config).

Distillation heads: dphubert follows --distill-layers / --distill-mode (one linear per layer group, or
Linear + GELU prediction heads); the baselines keep their papers' heads: distilhubert one linear per
teacher layer on its last layer, fithubert-thin and half one linear per layer, layer to layer; fithubert
a hint on every layer (FitHuBERT): each student layer i predicts teacher layer i through its own head,
a transposed conv back to the teacher's frame rate and a linear (the authors' `LayerWiseProjHead`),
with MSE weighted 0.1 on layers 1..L-1 and 1 on the last, summed (`--distill-layers` does not apply).
Where dpbench's FitHuBERT still differs from the authors' run: it trains with the teacher's dropouts and
dpbench's learning rates and schedule (theirs: AdamW at 1e-3, 5% warm-up, weight decay 1e-6) and
PyTorch's default initialisation (theirs: BERT-style); their released config also carries
`distil_random_layer: 2` (an option of their code that draws two hint layers per epoch)."""

from __future__ import annotations

import copy
from collections.abc import Mapping

from torch import nn

from dpbench.compress.distill import Pair, layer_to_layer_pairs, prediction_head_pairs, scale_groups
from dpbench.compress.sparsity import config_size
from dpbench.errors import DpbenchError
from dpbench.models import Encoder, EncoderConfig, build_encoder
from dpbench.models.time_reduction import FITHUBERT_TIME_REDUCTION, thin_conv_layers
from dpbench.teachers import load_model

# FitHuBERT: width (and FFN size) 480 of HuBERT Base's 768; hint weight of layers 1..L-1 and of the last
FITHUBERT_WIDTH_RATIO = 480 / 768
FITHUBERT_HINT_WEIGHT = 0.1
FITHUBERT_LAST_WEIGHT = 1.0
# methods whose per-layer losses are summed with their pairs' weights (the others average them)
SUMMED_LAYER_LOSSES = ("fithubert",)

# --prune-units names -> Encoder.set_gates groups
GATE_GROUP_OF_UNIT = {
    "conv": "conv",
    "head": "heads",
    "interm": "ffn_units",
    "attlayer": "attention",
    "ffnlayer": "ffn",
}


def gate_groups(prune_units: list[str]) -> dict[str, bool]:
    """Encoder.set_gates flags for the given --prune-units."""
    unknown = set(prune_units) - set(GATE_GROUP_OF_UNIT)
    if unknown:
        raise DpbenchError(f"--prune-units: unknown unit(s) {sorted(unknown)}; use {', '.join(GATE_GROUP_OF_UNIT)}")
    return {group: unit in prune_units for unit, group in GATE_GROUP_OF_UNIT.items()}


def with_dropouts(
    config: EncoderConfig, teacher: EncoderConfig, overrides: Mapping[str, float | None]
) -> EncoderConfig:
    """A copy of `config` with the teacher's dropouts, each replaced by its override when not None."""
    config = copy.deepcopy(config)
    for name, value in overrides.items():
        setattr(config, name, getattr(teacher, name) if value is None else float(value))
    return config


def copy_matching(student: nn.Module, teacher: nn.Module) -> list[str]:
    """Copy every teacher tensor whose name and shape exist in the student; returns the copied names."""
    target = student.state_dict()
    copied = [k for k, v in teacher.state_dict().items() if k in target and target[k].shape == v.shape]
    student.load_state_dict({k: teacher.state_dict()[k] for k in copied}, strict=False)
    return copied


def distilhubert_config(teacher: EncoderConfig, budget: float, kind: str) -> EncoderConfig:
    """Teacher's first k layers, k in 1..depth-1 chosen closest to `budget`."""
    candidates = []
    for k in range(1, max(2, teacher.num_layers)):
        config = copy.deepcopy(teacher)
        config.num_layers = k
        config.num_heads = teacher.num_heads[:k]
        config.ffn_dims = teacher.ffn_dims[:k]
        config.original_num_heads = teacher.original_num_heads[:k]
        candidates.append(config)
    return min(candidates, key=lambda config: abs(config_size(config, kind) - budget))  # the first of equals


def thin_config(teacher: EncoderConfig, hidden: int) -> EncoderConfig:
    """Teacher depth and head count, hidden size `hidden`, FFN size `hidden`."""
    heads = teacher.num_heads[0]
    config = copy.deepcopy(teacher)
    config.hidden_size = hidden
    config.head_dim = hidden // heads
    config.num_heads = [heads] * teacher.num_layers
    config.original_num_heads = [heads] * teacher.num_layers
    config.ffn_dims = [hidden] * teacher.num_layers
    config.pos_conv_groups = _groups_for(hidden, teacher.pos_conv_groups)
    return config


def fithubert_thin_config(teacher: EncoderConfig, budget: float, kind: str) -> EncoderConfig:
    """Teacher depth, conv extractor and head count; width = FFN size fitted to the budget."""
    heads = teacher.num_heads[0]
    candidates = [thin_config(teacher, h) for h in range(heads, teacher.hidden_size + 1, heads)]
    return min(candidates, key=lambda c: abs(config_size(c, kind) - budget))


def fithubert_config(teacher: EncoderConfig) -> EncoderConfig:
    """FitHuBERT as published, scaled to `teacher` (exact for HuBERT Base): see the module docstring."""
    heads = teacher.num_heads[0]
    width = max(1, round(teacher.hidden_size * FITHUBERT_WIDTH_RATIO / heads)) * heads
    config = thin_config(teacher, width)
    layers = thin_conv_layers(teacher.conv_channels[-1])
    config.conv_channels = [c for c, _, _ in layers]
    config.conv_kernels = [k for _, k, _ in layers]
    config.conv_strides = [s for _, _, s in layers]
    config.conv_output_scale = False
    config.time_reduction = FITHUBERT_TIME_REDUCTION
    return config


def half_config(teacher: EncoderConfig) -> EncoderConfig:
    config = copy.deepcopy(teacher)
    config.hidden_size = teacher.hidden_size // 2
    config.num_heads = [max(1, h // 2) for h in teacher.num_heads]
    config.original_num_heads = list(config.num_heads)
    config.ffn_dims = [f // 2 for f in teacher.ffn_dims]
    config.pos_conv_groups = _groups_for(config.hidden_size, teacher.pos_conv_groups)
    return config


def _groups_for(hidden: int, groups: int) -> int:
    """The largest group count <= `groups` that divides `hidden` (the position conv is grouped)."""
    return next(g for g in range(groups, 0, -1) if hidden % g == 0)


def framing_layers(config: EncoderConfig) -> list[tuple[int, int]]:
    """(kernel, stride) of the conv layers that set the frames: pointwise layers (kernel 1, stride 1) do not."""
    return [(k, s) for k, s in zip(config.conv_kernels, config.conv_strides) if (k, s) != (1, 1)]


def check_compatible(teacher: EncoderConfig, student: EncoderConfig, source: str, method: str) -> None:
    """A starting student must produce the teacher's frames, and (layer-to-layer) have its depth and width."""
    if framing_layers(student) != framing_layers(teacher):
        raise DpbenchError(
            f"{source}: its conv kernels/strides {student.conv_kernels}/{student.conv_strides} differ from the "
            f"teacher's {teacher.conv_kernels}/{teacher.conv_strides}, so frames would not line up; "
            "start from a student of the same family as the teacher"
        )
    if student.normalize_waveform != teacher.normalize_waveform:
        raise DpbenchError(
            f"{source}: normalize_waveform={student.normalize_waveform}, but the teacher's is "
            f"{teacher.normalize_waveform}; both must read the waveform the same way (start from a student of the "
            "teacher's family, e.g. one compressed from the same teacher)"
        )
    if method == "dphubert" and (student.num_layers, student.hidden_size) != (teacher.num_layers, teacher.hidden_size):
        raise DpbenchError(
            f"{source}: {student.num_layers} layers of width {student.hidden_size}, but layer-to-layer distillation "
            f"with identity heads needs the teacher's {teacher.num_layers} layers of width {teacher.hidden_size}; "
            "pass a student with the teacher's shape (or drop --student-init to start from the teacher)"
        )


def build_student(
    method: str,
    teacher: Encoder,
    budget: float,
    kind: str,
    student_init: str | None = None,
    prune_units: list[str] | None = None,
    conv_gate_norm: str = "masked",
    dropouts: Mapping[str, float | None] | None = None,
) -> Encoder:
    """The stage-1 student of `method`, initialised as that method prescribes (see module docstring).
    `prune_units` (dphubert): the gated groups (default: all five); `dropouts`: overrides of the teacher's
    dropouts by EncoderConfig field name."""
    tc = teacher.config
    dropouts = dropouts or {}
    if method == "dphubert":
        source = teacher if student_init is None else load_model(student_init)
        if student_init is not None:
            check_compatible(tc, source.config, student_init, method)
        student = build_encoder(with_dropouts(source.config, tc, dropouts))
        student.load_state_dict(source.state_dict(), strict=False)
        units = list(GATE_GROUP_OF_UNIT) if prune_units is None else prune_units
        student.set_gates(**gate_groups(units), conv_gate_norm=conv_gate_norm)
        return student
    if method == "distilhubert":
        config = distilhubert_config(tc, budget, kind)
    elif method == "fithubert":
        return build_encoder(with_dropouts(fithubert_config(tc), tc, dropouts))  # random, as FitHuBERT starts
    elif method == "fithubert-thin":
        config = fithubert_thin_config(tc, budget, kind)
    elif method == "half":
        config = half_config(tc)
    else:
        raise DpbenchError(f"--method {method!r}: unknown method")
    student = build_encoder(with_dropouts(config, tc, dropouts))
    copy_matching(student, teacher)
    return student


def distill_pairs(
    method: str, groups: list[list[int]], teacher_depth: int, student_depth: int, mode: str = "layer2layer"
) -> list[Pair]:
    """Which student hidden state predicts which teacher hidden state, through which head (see the
    module docstring). `groups`: layer groups for a 12-layer model."""
    scaled = scale_groups(groups, teacher_depth)
    layers = sorted(i for group in scaled for i in group)
    if method == "distilhubert" or (method == "dphubert" and mode == "predlayer"):
        return prediction_head_pairs([i for i in layers if i > 0] or [teacher_depth], student_depth)
    if method == "dphubert":
        return layer_to_layer_pairs(scaled)
    if method == "fithubert":
        return [
            Pair(i, i, weight=FITHUBERT_LAST_WEIGHT if i == student_depth else FITHUBERT_HINT_WEIGHT)
            for i in range(1, student_depth + 1)
        ]
    return layer_to_layer_pairs([[i] for i in layers])


def uses_activation_heads(method: str, mode: str) -> bool:
    """Linear + GELU heads: dphubert's predlayer mode only (the baselines keep plain linears)."""
    return method == "dphubert" and mode == "predlayer"
