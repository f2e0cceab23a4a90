"""The stage runner: stage 1 (distill + prune), physical prune, stage 2 (final distill), final save.

Run folder (RUN):
  compress_config.json  the options that decide the result (a resumed run must match them)
  state.json            which stages finished, their wall times, the calibration record
  manifest/train.tsv    written when --data is an audio root
  stage1/last.ckpt      stage-1 training state (every --checkpoint-every steps and at the end)
  pruned.pt, heads.pt   the physically pruned student and the distillation heads, input of stage 2
  stage2/last.ckpt      stage-2 training state
  student.pt            the final student (dpbench.models.save_encoder format)
  teacher.json          the teacher reference: spec, config, size
  summary.json          the run summary (dpbench.records.compress_summary)
  train_log.csv, tb/    per-step logs (CSV: dpbench.records.train_log; TensorBoard)
A finished stage is never run again; an interrupted one restarts from its last checkpoint."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from filelock import FileLock, Timeout
from lightning.pytorch.loggers import TensorBoardLogger

from dpbench.compress.callbacks import (
    AtomicCheckpointIO,
    PeriodicCheckpoint,
    ProgressBar,
    StepCSVLogger,
    check_finite_weights,
)
from dpbench.compress.config import CompressConfig
from dpbench.compress.data import resolve_manifest, skipped_files
from dpbench.compress.distill import DistillHeads, DistillLoss, LossWeights, head_index
from dpbench.compress.layout import CONFIG_FILE
from dpbench.compress.module import CompressModule, LoaderSpec, StageSpec
from dpbench.compress.prune import calibrate, kept_units
from dpbench.compress.sparsity import Lagrangian, check_target, config_size
from dpbench.compress.students import (
    SUMMED_LAYER_LOSSES,
    build_student,
    check_compatible,
    distill_pairs,
    uses_activation_heads,
)
from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_torch_save, atomic_write_json, make_dirs
from dpbench.models import Encoder, count_macs, count_params, load_encoder, prune_encoder, save_encoder
from dpbench.models.pruning import Alignment, align_gates
from dpbench.records.compress_summary import CompressionSummary, read_summary, write_summary
from dpbench.records.train_log import TRAIN_LOG_FILE, read_log
from dpbench.safe_load import allowed_globals, load_torch
from dpbench.teachers import load_model

LOCK_NAME = ".lock"
SKIP_LOG = "skipped_audio.tsv"  # training files skipped as unusable: path<TAB>reason


@dataclass
class Hardware:
    """Where and how to train; may change between a run and its resume."""

    accelerator: str = "auto"
    devices: int | str = 1
    num_nodes: int = 1
    precision: str = "32-true"
    compile: bool = False  # torch.compile the student's forward + distillation loss


def env_rank_zero() -> bool:
    """True in the process that owns the run folder (before Lightning has set up any process group)."""
    return all(int(os.environ.get(k, "0") or 0) == 0 for k in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"))


class RunState:
    """RUN/state.json: finished stages with their wall time and notes. Only rank 0 writes it."""

    def __init__(self, path: Path, writer: bool) -> None:
        self.path, self.writer = path, writer
        self.data: dict[str, Any] = {"stages": {}}
        if path.is_file():
            self.data = json.loads(path.read_text())

    def done(self, stage: str) -> bool:
        return stage in self.data["stages"]

    def mark(self, stage: str, wall_time_s: float, **notes: Any) -> None:
        self.data["stages"][stage] = {"wall_time_s": wall_time_s, **notes}
        if self.writer:
            atomic_write_json(self.path, self.data)

    def wall_time(self) -> float:
        return sum(s["wall_time_s"] for s in self.data["stages"].values())


def check_run_dir(out: Path, config: CompressConfig, resume: bool) -> None:
    """A new run needs an empty --out; --resume needs the run's original options."""
    saved = out / CONFIG_FILE
    if saved.is_file():
        if not resume:
            raise DpbenchError(
                f"{out} already holds a compression run; pass --resume to continue it or choose another --out"
            )
        previous = json.loads(saved.read_text())
        diff = sorted(k for k in set(previous) | set(config.to_dict()) if previous.get(k) != config.to_dict().get(k))
        if diff:
            details = ", ".join(f"{k}: {previous.get(k)!r} -> {config.to_dict().get(k)!r}" for k in diff)
            raise DpbenchError(
                f"--resume: {saved} was made with other options ({details}); repeat the original "
                "command with --resume, or use a new --out"
            )
    elif out.exists() and any(p.name not in ("manifest", LOCK_NAME) for p in out.iterdir()):
        raise DpbenchError(f"--out {out}: folder exists and is not empty; choose a new folder")


def make_trainer(
    spec: StageSpec,
    stage_dir: Path,
    out: Path,
    hardware: Hardware,
    config: CompressConfig,
    callbacks: Sequence[L.Callback],
) -> L.Trainer:
    return L.Trainer(
        accelerator=hardware.accelerator,
        devices=hardware.devices,
        num_nodes=hardware.num_nodes,
        precision=hardware.precision,  # type: ignore[arg-type]  # any --precision: Lightning checks it (check_hardware)
        max_steps=spec.steps,
        accumulate_grad_batches=config.accumulate,
        gradient_clip_val=config.grad_clip,
        gradient_clip_algorithm="norm",
        callbacks=[
            StepCSVLogger(out / TRAIN_LOG_FILE, spec.name),
            PeriodicCheckpoint(stage_dir / "last.ckpt", config.checkpoint_every),
            ProgressBar(),
            *callbacks,
        ],
        plugins=[AtomicCheckpointIO()],
        logger=TensorBoardLogger(save_dir=str(out), name="tb", version=spec.name),
        enable_checkpointing=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        use_distributed_sampler=False,
        default_root_dir=str(out),
    )


def fit_stage(
    module: CompressModule,
    stage_dir: Path,
    out: Path,
    hardware: Hardware,
    config: CompressConfig,
    callbacks: Sequence[L.Callback],
) -> None:
    """Train one stage to its last step, resuming from stage_dir/last.ckpt when it exists."""
    last = stage_dir / "last.ckpt"
    trainer = make_trainer(module.spec, stage_dir, out, hardware, config, callbacks)
    with torch.serialization.safe_globals(allowed_globals()):  # restricted, like every file dpbench reads
        trainer.fit(module, ckpt_path=str(last) if last.is_file() else None, weights_only=True)
    check_finite_weights(module, trainer.global_step)
    trainer.save_checkpoint(last, weights_only=False)
    if trainer.global_step < module.spec.steps:  # Lightning ends `fit` quietly on SIGTERM (or should_stop)
        cause = "on SIGTERM" if trainer.received_sigterm else "early"
        raise DpbenchError(
            f"stage {module.spec.name} stopped {cause} at step {trainer.global_step} of "
            f"{module.spec.steps}; its checkpoint {last} is saved: rerun with --resume to continue"
        )


def load_stage_weights(module: CompressModule, stage_dir: Path) -> None:
    """Weights (and wall time) of a finished stage, for a run resumed after it."""
    checkpoint = load_torch(stage_dir / "last.ckpt", expected="a stage checkpoint written by dpbench compress")
    module.load_state_dict(checkpoint["state_dict"])
    module.on_load_checkpoint(checkpoint)


def run_compress(
    config: CompressConfig,
    out: str | Path,
    hardware: Hardware | None = None,
    resume: bool = False,
    name: str | None = None,
    callbacks: Sequence[L.Callback] = (),
) -> CompressionSummary:
    """Run (or resume) every stage of a compression run in `out`; returns the summary.

    Rank 0 holds an exclusive lock on `out` (RUN/.lock) for the whole run; a run that fails before it wrote
    compress_config.json removes the folders it created."""
    config.validate()
    out = Path(out)
    hardware = hardware or Hardware()
    if not env_rank_zero():
        return _run_compress(config, out, hardware, resume, name, callbacks, writer=False)
    if out.exists() and not out.is_dir():
        raise DpbenchError(f"--out {out} is a file; pass a folder")
    created = make_dirs(out)
    lock = FileLock(str(out / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise DpbenchError(
            f"another `dpbench compress` is running in {out} (it holds {out / LOCK_NAME}); wait for "
            "it to finish, or pass another --out"
        ) from None
    try:
        return _run_compress(config, out, hardware, resume, name, callbacks, writer=True)
    except BaseException:
        if not (out / CONFIG_FILE).exists():
            for folder in created:
                shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        lock.release()


def check_hardware(hardware: Hardware) -> None:
    """Let Lightning check --accelerator/--devices/--num-nodes/--precision before anything is written."""
    try:
        L.Trainer(
            accelerator=hardware.accelerator,
            devices=hardware.devices,
            num_nodes=hardware.num_nodes,
            precision=hardware.precision,  # type: ignore[arg-type]  # any --precision: checked here
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
    except Exception as error:
        raise DpbenchError(
            f"--accelerator {hardware.accelerator} --devices {hardware.devices} --num-nodes "
            f"{hardware.num_nodes} --precision {hardware.precision}: {error}"
        ) from None


def _run_compress(
    config: CompressConfig,
    out: Path,
    hardware: Hardware,
    resume: bool,
    name: str | None,
    callbacks: Sequence[L.Callback],
    writer: bool,
) -> CompressionSummary:
    state = RunState(out / "state.json", writer)
    if writer:
        check_run_dir(out, config, resume)
    if state.done("save"):
        return read_summary(out)
    check_hardware(hardware)
    teacher = load_model(config.teacher)  # every input is checked before the run folder is written
    kind, target = config.target_kind, config.target_sparsity
    check_target(target, teacher.config, kind)
    manifest = resolve_manifest(config.data, out, config.seed)
    teacher_size = config_size(teacher.config, kind)
    budget = (1.0 - target) * teacher_size
    L.seed_everything(config.seed, workers=True, verbose=False)

    # stage 1: distill (+ prune)
    student = build_student(
        config.method,
        teacher,
        budget,
        kind,
        config.student_init,
        config.prune_units,
        config.conv_gate_norm,
        config.student_dropouts(),
    )
    pairs = distill_pairs(
        config.method, config.layer_groups(), teacher.config.num_layers, student.config.num_layers, config.distill_mode
    )
    activation = uses_activation_heads(config.method, config.distill_mode)
    weights = LossWeights(
        config.l1_weight,
        config.cos_weight,
        config.l2_weight,
        config.cos_type,
        sum_layers=config.method in SUMMED_LAYER_LOSSES,
    )
    heads = DistillHeads(
        pairs, student.config.hidden_size, teacher.config.hidden_size, activation, student.config.time_reduction
    )
    if writer:
        atomic_write_json(out / CONFIG_FILE, config.to_dict())
        atomic_write_json(out / "teacher.json", teacher_reference(config.teacher, teacher))
    loader = LoaderSpec.from_config(config, manifest, out / SKIP_LOG)
    spec1 = StageSpec.prune(config, teacher_size, loader)
    lagrangian = Lagrangian() if config.method == "dphubert" else None
    module1 = CompressModule(student, teacher, DistillLoss(heads, weights), spec1, lagrangian, hardware.compile)
    if not state.done("prune"):
        fit_stage(module1, out / "stage1", out, hardware, config, callbacks)
        state.mark("prune", module1.elapsed(), steps=config.stage1_steps)
    elif not state.done("physical_prune"):
        load_stage_weights(module1, out / "stage1")

    # physical prune (DPHuBERT) or a plain copy (baselines); every rank computes it (DDP ranks hold equal
    # weights), rank 0 saves it; a resumed run reads it back
    if not state.done("physical_prune"):
        started = time.monotonic()
        gated = module1.student.cpu().eval()
        align_gates(gated, Alignment.parse(config.align or ""))  # before calibration: it sizes the aligned model
        record = calibrate(gated, budget, kind, config.calibrate_tol).to_dict() if gated.has_gates else None
        pruned = prune_encoder(gated) if gated.has_gates else gated
        heads_state = module1.distill.state_dict()
        if writer:
            save_encoder(out / "pruned.pt", pruned)
            atomic_torch_save(heads_state, out / "heads.pt")
        state.mark("physical_prune", time.monotonic() - started, calibration=record)
    else:
        pruned = load_encoder(out / "pruned.pt")
        heads_state = torch.load(out / "heads.pt", map_location="cpu", weights_only=True)
    del module1

    # stage 2: final distillation of the dense student
    pruned.train()
    check_compatible(teacher.config, pruned.config, str(out / "pruned.pt"), "final")
    distill = DistillLoss(
        DistillHeads(
            pairs, pruned.config.hidden_size, teacher.config.hidden_size, activation, pruned.config.time_reduction
        ),
        weights,
    )
    distill.load_state_dict(heads_state)
    spec2 = StageSpec.final(config, teacher_size, loader)
    module2 = CompressModule(pruned, teacher, distill, spec2, compile=hardware.compile)
    if not state.done("final"):
        if config.stage2_steps > 0:
            fit_stage(module2, out / "stage2", out, hardware, config, callbacks)
        state.mark("final", module2.elapsed(), steps=config.stage2_steps)
    elif config.stage2_steps > 0:
        load_stage_weights(module2, out / "stage2")

    # final save
    started = time.monotonic()
    final = module2.student.cpu().eval()
    summary = summarize(config, out, name or out.name, teacher, final, state, pairs)
    if writer:
        save_encoder(
            out / "student.pt", final, extra={"method": config.method, "teacher": config.teacher, "run": summary.name}
        )
        state.mark("save", time.monotonic() - started)
        summary = dataclasses.replace(summary, wall_time_s=state.wall_time())
        write_summary(out, summary)
    return summary


def teacher_reference(spec: str, teacher: Encoder) -> dict[str, Any]:
    path = Path(spec)
    return {
        "spec": spec,
        "path": str(path.resolve()) if path.is_file() else None,
        "config": teacher.config.to_dict(),
        "params": count_params(teacher.config),
        "macs": count_macs(teacher.config),
    }


def final_losses(log_path: Path, last: int = 10) -> dict[str, float]:
    """Mean of each loss term over the last `last` logged steps of each stage."""
    if not log_path.is_file():
        return {}
    rows = read_log(log_path)
    losses: dict[str, float] = {}
    for stage in ("prune", "final"):
        tail = [r for r in rows if r.stage == stage][-last:]
        for key in ("loss", "distill_loss", "reg_loss", "expected_sparsity"):
            values = [getattr(r, key) for r in tail]
            if tail and None not in values:
                losses[f"{stage}_{key}"] = sum(values) / len(values)
    return losses


def summarize(
    config: CompressConfig, out: Path, name: str, teacher: Encoder, student: Encoder, state: RunState, pairs: list
) -> CompressionSummary:
    """The run summary (RUN/summary.json, read by the report)."""
    params, macs = count_params(student.config), count_macs(student.config)
    teacher_params, teacher_macs = count_params(teacher.config), count_macs(teacher.config)
    kind, target = config.target_kind, config.target_sparsity
    size = params if kind == "params" else macs
    budget = (1.0 - target) * (teacher_params if kind == "params" else teacher_macs)
    return CompressionSummary(
        method=config.method,
        name=name,
        teacher=config.teacher,
        params=params,
        macs=macs,
        teacher_params=teacher_params,
        teacher_macs=teacher_macs,
        target={"kind": kind, "sparsity": target},
        sparsity=1.0 - params / teacher_params,
        macs_sparsity=1.0 - macs / teacher_macs,
        size_vs_target=size / budget,
        config=student.config.to_dict(),
        teacher_config=teacher.config.to_dict(),
        kept_units=kept_units(student),
        distill_pairs=[[p.student, p.teacher] for p in pairs],
        distill_heads=head_index(pairs),  # the linear (or Linear + GELU) each pair uses
        student_dropouts={
            name: getattr(student.config, name)
            for name in ("projection_dropout", "attention_dropout", "ffn_interm_dropout", "dropout")
        },
        calibration=state.data["stages"].get("physical_prune", {}).get("calibration"),
        steps={"prune": config.stage1_steps, "final": config.stage2_steps},
        wall_time_s=state.wall_time(),
        student_path=str((out / "student.pt").resolve()),
        losses=final_losses(out / TRAIN_LOG_FILE),
        skipped_files=len(skipped_files(out / SKIP_LOG)),
        options=config.to_dict(),
    )
