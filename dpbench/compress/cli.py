"""`dpbench compress`: distill + prune a teacher into a student run folder (all stages, resumable)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dpbench.ablations import ABLATIONS
from dpbench.compress.config import METHODS, PRUNE_UNITS, SCALE_DEFAULTS, make_config
from dpbench.compress.distill import COS_TYPES, DISTILL_MODES, RECIPE_LAYERS, format_layer_groups, parse_layer_groups
from dpbench.compress.sparsity import TARGET_KINDS
from dpbench.errors import DpbenchError
from dpbench.models.components import CONV_GATE_NORMS
from dpbench.records.compress_summary import CompressionSummary
from dpbench.safe_load import trust_option
from dpbench.scales import SCALES


def _layers(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Layer groups in their canonical spelling (`0 . 4, 8,12` -> `0.4,8,12`)."""
    if value is None:
        return None
    try:
        return format_layer_groups(parse_layer_groups(value))
    except ValueError:
        raise DpbenchError(
            f"--distill-layers {value!r}: give integers, commas within a group that shares one "
            f"linear and periods between groups, e.g. {RECIPE_LAYERS}"
        ) from None


def _units(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    """Pruned unit kinds, in PRUNE_UNITS order."""
    if value is None:
        return None
    given = {v.strip() for v in value.split(",") if v.strip()}
    if not given or given - set(PRUNE_UNITS):
        raise DpbenchError(f"--prune-units {value!r}: give a comma-separated subset of {','.join(PRUNE_UNITS)}")
    return [unit for unit in PRUNE_UNITS if unit in given]


def _sparsities(ctx: click.Context, param: click.Parameter, value: str | None) -> list[float] | None:
    """One target sparsity, or several (a sweep: one run each), comma-separated."""
    if value is None:
        return None
    try:
        values = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or len(set(values)) != len(values):
        raise DpbenchError(
            f"--target-sparsity {value!r}: give a fraction, or distinct fractions separated by "
            "commas for a sweep, e.g. 0.5,0.6,0.7,0.8"
        )
    return values


def sweep_folder(out: Path, sparsity: float) -> Path:
    """The run folder of one sparsity of a sweep: OUT/sp<sparsity>, e.g. OUT/sp0.6."""
    return out / f"sp{sparsity:g}"


def _ablation_help() -> str:
    """`name: --option value ...` for each preset."""

    def spelled(value: object) -> str:
        return ",".join(value) if isinstance(value, list) else str(value)

    return "; ".join(
        f"{name}: " + " ".join(f"--{key.replace('_', '-')} {spelled(value)}" for key, value in preset.items())
        for name, preset in ABLATIONS.items()
    )


def _by_scale(name: str) -> str:
    """The default of a scale-dependent option at each scale, for its help: `[cpu: 0.1, paper: 0.02]`."""

    def spelled(value: object) -> str:
        return f"{value:g}" if isinstance(value, float) else str(value)

    return "[" + ", ".join(f"{scale}: {spelled(getattr(SCALE_DEFAULTS[scale], name))}" for scale in SCALES) + "]"


def _devices(value: str) -> int | str:
    return int(value) if value.isdigit() else value


@click.command("compress", context_settings={"show_default": True})
@click.option(
    "--data", required=True, help="Folder with train.tsv (a manifest) or an audio root (manifest made in RUN)."
)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--teacher", default=None, help=f"Teacher checkpoint or name {_by_scale('teacher')}.")
@click.option("--method", type=click.Choice(METHODS), default="dphubert", help="DPHuBERT or a baseline.")
@click.option("--scale", type=click.Choice(SCALES), default="cpu", help="Default steps, batch and rates.")
@click.option(
    "--target-sparsity",
    "target_sparsities",
    callback=_sparsities,
    default=None,
    help="Target sparsity [default: 0.75]; several, comma-separated, make a sweep: one run per "
    "sparsity in OUT/sp<sparsity>, named NAME-sp<sparsity>, one after the other.",
)
@click.option(
    "--target-kind",
    type=click.Choice(TARGET_KINDS),
    default=None,
    help="Sparsity of parameters, or of MACs per second of audio [default: params].",
)
@click.option(
    "--ablation",
    type=click.Choice(list(ABLATIONS)),
    default=None,
    help=f"A preset of the paper's ablation study (dphubert only): {_ablation_help()}. Recorded in "
    "compress_config.json and summary.json (options.ablation).",
)
@click.option("--stage1-steps", type=int, default=None, help=f"Distill + prune steps {_by_scale('stage1_steps')}.")
@click.option("--stage2-steps", type=int, default=None, help=f"Final distillation steps {_by_scale('stage2_steps')}.")
@click.option("--lr", type=float, default=None, help=f"Model and head learning rate {_by_scale('lr')}.")
@click.option("--gate-lr", type=float, default=None, help=f"log_alpha learning rate {_by_scale('gate_lr')}.")
@click.option(
    "--lambda-lr", type=float, default=None, help=f"Lagrange multiplier (ascent) rate {_by_scale('lambda_lr')}."
)
@click.option("--stage2-lr", type=float, default=None, help=f"Stage-2 learning rate {_by_scale('stage2_lr')}.")
@click.option(
    "--schedule-gates/--no-schedule-gates",
    default=None,
    help=f"Apply the lr warm-up/decay to gates and lambdas too, else constant {_by_scale('schedule_gates')}.",
)
@click.option(
    "--prune-units",
    callback=_units,
    default=None,
    help=f"Gated structures, any of {','.join(PRUNE_UNITS)} (conv channels, heads, FFN units, whole "
    "attention blocks, whole FFN blocks) [default: conv,head,interm, the recipe's].",
)
@click.option(
    "--conv-gate-norm",
    type=click.Choice(CONV_GATE_NORMS),
    default=None,
    help="masked: conv LayerNorm statistics over kept channels, last gate after the projection's "
    "LayerNorm (pruning exact); authors: gate, then a full LayerNorm (pruning keeps the last gate "
    "as a per-channel scale) [default: authors, by the A/B in README.md].",
)
@click.option(
    "--distill-layers",
    callback=_layers,
    default=None,
    help="Teacher layers for a 12-layer model (scaled to the teacher); a period separates groups, the "
    f"layers of a group share one linear [default: {RECIPE_LAYERS}; baselines: one linear each].",
)
@click.option(
    "--distill-mode",
    type=click.Choice(DISTILL_MODES),
    default=None,
    help="layer2layer: student layer i predicts teacher layer i; predlayer: a Linear + GELU head per "
    "teacher layer (but 0) on the student's last layer (dphubert only) [default: layer2layer].",
)
@click.option("--l1-weight", type=float, default=None, help="Weight of the L1 term [default: 1; fithubert: 0].")
@click.option("--cos-weight", type=float, default=None, help="Weight of the cosine term [default: 1; fithubert: 0].")
@click.option("--l2-weight", type=float, default=None, help="Weight of the L2 (MSE) term [default: 0; fithubert: 1].")
@click.option(
    "--cos-type",
    type=click.Choice(COS_TYPES),
    default=None,
    help="Cosine term: -cos (raw) or -log sigmoid(cos) [default: log_sig for distilhubert, else raw].",
)
@click.option(
    "--projection-dropout",
    type=float,
    default=None,
    help="Student dropout after the feature projection [default: the teacher's].",
)
@click.option(
    "--attention-dropout",
    type=float,
    default=None,
    help="Student dropout on attention probabilities [default: the teacher's].",
)
@click.option(
    "--ffn-interm-dropout",
    type=float,
    default=None,
    help="Student dropout after the FFN activation [default: the teacher's].",
)
@click.option(
    "--residual-dropout",
    type=float,
    default=None,
    help="Student dropout on the transformer input and each block's output [default: the teacher's].",
)
@click.option(
    "--max-batch-seconds",
    type=float,
    default=None,
    help=f"Audio per device per micro-batch {_by_scale('max_batch_seconds')}.",
)
@click.option(
    "--max-item-seconds", type=float, default=None, help=f"Crop longer utterances {_by_scale('max_item_seconds')}."
)
@click.option("--accumulate", type=int, default=None, help="Gradient accumulation micro-batches [default: 1].")
@click.option("--grad-clip", type=float, default=None, help="Gradient norm clip [default: 10].")
@click.option(
    "--checkpoint-every",
    type=int,
    default=None,
    help=f"Steps between resumable checkpoints {_by_scale('checkpoint_every')}.",
)
@click.option(
    "--calibrate-tol",
    type=float,
    default=None,
    help="Relative size error after stage 1 above which gates are calibrated [default: 0.005].",
)
@click.option(
    "--align",
    default=None,
    help="Hardware-aligned pruning: kept conv channels / FFN units in multiples of N, e.g. conv=32,ffn=8 "
    "(faster oneDNN/GPU kernels) [default: off, the authors' recipe].",
)
@click.option(
    "--student-init",
    default=None,
    help="Start the DPHuBERT student from this checkpoint (any format inspect reads) or teacher name, not the teacher.",
)
@click.option("--seed", type=int, default=None, help="Random seed [default: 0].")
@click.option("--num-workers", type=int, default=None, help=f"Data loader workers {_by_scale('num_workers')}.")
@click.option("--accelerator", default="auto", help="cpu, gpu, ... (Lightning).")
@click.option("--devices", default="1", help="Devices per node: a count, 'auto' or a list (Lightning).")
@click.option("--num-nodes", type=int, default=1, help="Machines (DDP).")
@click.option("--precision", default="32-true", help="32-true, bf16-mixed, 16-mixed (Lightning).")
@click.option(
    "--compile",
    "compile_",
    is_flag=True,
    help="torch.compile the student's forward and distillation loss (one graph; first steps compile).",
)
@click.option("--name", default=None, help="Run name in the summary [default: the --out folder's name].")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out (same options).")
@trust_option
def compress_command(
    data: str,
    out: str,
    scale: str,
    method: str,
    accelerator: str,
    devices: str,
    num_nodes: int,
    precision: str,
    compile_: bool,
    name: str | None,
    resume: bool,
    target_sparsities: list[float] | None,
    **options: Any,
) -> None:
    """Compress a speech SSL teacher by joint distillation and structured pruning (DPHuBERT), or train a
    baseline student, through stage 1 (distill + prune), physical pruning, stage 2 (final distill) and
    the final save. Writes RUN/student.pt, RUN/summary.json and RUN/train_log.csv."""
    from dpbench.compress.runner import Hardware, env_rank_zero, run_compress

    for key in ("teacher", "student_init"):  # paths made absolute, so a resumed run matches from anywhere
        if options[key] and Path(options[key]).exists():
            options[key] = str(Path(options[key]).resolve())
    hardware = Hardware(
        accelerator=accelerator, devices=_devices(devices), num_nodes=num_nodes, precision=precision, compile=compile_
    )
    if target_sparsities is None or len(target_sparsities) == 1:
        options["target_sparsity"] = target_sparsities[0] if target_sparsities else None
        runs = [(make_config(scale, method, str(Path(data).resolve()), options), Path(out), name)]
    else:  # a sweep: every config is checked before the first run starts
        base = name or Path(out).name
        runs = [
            (
                make_config(scale, method, str(Path(data).resolve()), {**options, "target_sparsity": sparsity}),
                sweep_folder(Path(out), sparsity),
                f"{base}-sp{sparsity:g}",
            )
            for sparsity in target_sparsities
        ]
    for config, run_out, run_name in runs:
        summary = run_compress(config, run_out, hardware, resume=resume, name=run_name)
        if env_rank_zero():
            _echo_summary(summary)


def _echo_summary(summary: CompressionSummary) -> None:
    click.echo(
        f"{summary.method}: {summary.params / 1e6:.3f}M params ({summary.sparsity:.1%} sparsity, target "
        f"{summary.target['sparsity']:.0%} of {summary.target['kind']}), {summary.macs / 1e9:.2f} GMACs/s, "
        f"{summary.wall_time_s:.0f} s -> {summary.student_path}"
    )
