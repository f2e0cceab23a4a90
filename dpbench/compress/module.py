"""The LightningModule of one training stage: distillation from a frozen teacher, plus (stage 1 of
DPHuBERT) the Lagrangian sparsity penalty on the student's Hard Concrete gates."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities.types import OptimizerLRSchedulerConfig
from torch import Tensor
from torch.utils.data import DataLoader

from dpbench.compress.config import CompressConfig
from dpbench.compress.data import train_loader
from dpbench.compress.distill import DistillLoss
from dpbench.compress.sparsity import Lagrangian, config_size, expected_size, target_at, warmup_decay
from dpbench.errors import DpbenchError
from dpbench.models import Encoder, HiddenStates

PROGRESS_KEYS = ("loss", "expected_sparsity", "lambda1", "lambda2")


@dataclass(frozen=True)
class LoaderSpec:
    """Where a stage's batches come from and how they are cut (`dpbench.compress.data.train_loader`)."""

    manifest: Path
    max_batch_seconds: float
    max_item_seconds: float
    seed: int
    accumulate: int  # micro-batches per optimizer step: a resumed stage skips global_step * accumulate batches
    num_workers: int
    skip_log: Path | None = None  # where unusable training files are listed (RUN/skipped_audio.tsv)

    @classmethod
    def from_config(cls, config: CompressConfig, manifest: Path, skip_log: Path | None) -> LoaderSpec:
        return cls(
            manifest,
            config.max_batch_seconds,
            config.max_item_seconds,
            config.seed,
            config.accumulate,
            config.num_workers,
            skip_log,
        )


@dataclass(frozen=True)
class StageSpec:
    """What one stage trains and how: steps, learning rates and schedules, sparsity target, data.
    A run's stages are `StageSpec.prune(...)` and `StageSpec.final(...)`, built from its config."""

    name: str  # "prune" (stage 1) or "final" (stage 2)
    steps: int
    lr: float
    warmup_steps: int
    gate_lr: float = 0.0
    lambda_lr: float = 0.0
    schedule_gates: bool = True  # the lr schedule applies to the gate and lambda groups too
    target: float = 0.0
    target_warmup_steps: int = 0
    kind: str = "params"
    teacher_size: float = 1.0
    loader: LoaderSpec | None = None  # None: a spec for the optimizer alone (make_optimizer), not for training

    @classmethod
    def prune(cls, config: CompressConfig, teacher_size: float, loader: LoaderSpec) -> StageSpec:
        """Stage 1, distill + prune: lr and target sparsity warmed up over their fractions of its steps."""
        steps = config.stage1_steps
        return cls(
            "prune",
            steps,
            config.lr,
            int(config.warmup_fraction * steps),
            gate_lr=config.gate_lr,
            lambda_lr=config.lambda_lr,
            schedule_gates=config.schedule_gates,
            target=config.target_sparsity,
            target_warmup_steps=int(config.target_warmup_fraction * steps),
            kind=config.target_kind,
            teacher_size=teacher_size,
            loader=loader,
        )

    @classmethod
    def final(cls, config: CompressConfig, teacher_size: float, loader: LoaderSpec) -> StageSpec:
        """Stage 2, final distillation of the pruned student (no gates)."""
        steps = config.stage2_steps
        return cls(
            "final",
            steps,
            config.stage2_lr,
            int(config.stage2_warmup_fraction * steps),
            target=config.target_sparsity,
            kind=config.target_kind,
            teacher_size=teacher_size,
            loader=loader,
        )


def _constant(step: int) -> float:
    return 1.0


def make_optimizer(
    model_params: list, gate_params: list, lagrangian: Lagrangian | None, spec: StageSpec
) -> torch.optim.AdamW:
    """AdamW without weight decay, one group per learning rate: weights and heads, gates, and the
    Lagrange multipliers, whose group maximises the loss (gradient ascent)."""
    groups = [{"params": model_params, "lr": spec.lr}]
    if gate_params:
        groups.append({"params": gate_params, "lr": spec.gate_lr})
    if lagrangian is not None:
        groups.append({"params": list(lagrangian.parameters()), "lr": spec.lambda_lr, "maximize": True})
    return torch.optim.AdamW(groups, weight_decay=0.0)


def student_loss(
    student: Encoder, distill: DistillLoss, wavs: Tensor, lengths: Tensor, teacher_states: list[Tensor]
) -> tuple[Tensor, dict[str, Tensor]]:
    """Distillation loss of the student's (gated: sampled) hidden states; free of host syncs, so that
    `torch.compile(fullgraph=True)` takes it whole (tests/test_perf_compile.py)."""
    student_states, frames = student(wavs, lengths, HiddenStates.AUTHORS)
    return distill(student_states, teacher_states, frames)


class CompressModule(L.LightningModule):
    """Student + distillation heads (+ Lagrangian when pruning). The teacher is held outside the module's
    registry: it is neither trained, nor checkpointed, nor wrapped by DDP."""

    _teacher: Encoder  # set with object.__setattr__, past nn.Module's registry

    def __init__(
        self,
        student: Encoder,
        teacher: Encoder,
        distill: DistillLoss,
        spec: StageSpec,
        lagrangian: Lagrangian | None = None,
        compile: bool = False,
    ) -> None:
        super().__init__()
        # the student's forward and the distillation loss, as one torch.compile graph with `compile`; static
        # shapes: each new batch shape compiles anew (torch 2.8's inductor fails on this graph with symbolic
        # lengths), up to torch._dynamo's recompile limit, after which steps run eagerly
        self._student_loss = torch.compile(student_loss, fullgraph=True, dynamic=False) if compile else student_loss
        self.student = student
        self.distill = distill
        self.lagrangian = lagrangian
        self.spec = spec
        object.__setattr__(self, "_teacher", teacher.eval().requires_grad_(False))
        self.step_terms: dict[str, float] = {}
        self.elapsed_before = 0.0
        self._started = 0.0
        self._restored_rng: dict | None = None
        self._fixed_sparsity = 1.0 - config_size(student.config, spec.kind) / spec.teacher_size

    @property
    def teacher(self) -> Encoder:
        return self._teacher

    @property
    def pruning(self) -> bool:
        return self.lagrangian is not None

    def elapsed(self) -> float:
        """Training wall time of this stage so far, across resumes."""
        return self.elapsed_before + (time.monotonic() - self._started if self._started else 0.0)

    # --- data ------------------------------------------------------------------------------
    def train_dataloader(self) -> DataLoader:
        loader = self.spec.loader
        if loader is None:
            raise ValueError(f"stage {self.spec.name}: its StageSpec has no loader, so it cannot train")
        start = self.trainer.global_step * loader.accumulate  # restored before this hook runs on resume
        return train_loader(
            loader.manifest,
            loader.max_batch_seconds,
            loader.max_item_seconds,
            loader.seed,
            start,
            rank=self.global_rank,
            replicas=self.trainer.world_size,
            num_workers=loader.num_workers,
            skip_log=loader.skip_log,
        )

    # --- training --------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        dtype = next(self.student.parameters()).dtype
        self._teacher.to(device=self.device, dtype=dtype)

    def on_train_start(self) -> None:
        self._started = time.monotonic()
        if self._restored_rng is not None:  # as late as possible: nothing may draw from it before step 1
            torch.set_rng_state(self._restored_rng["cpu"])
            if torch.cuda.is_available() and self._restored_rng.get("cuda"):
                torch.cuda.set_rng_state_all(self._restored_rng["cuda"])
            self._restored_rng = None

    def sparsity(self) -> Tensor:
        """Expected sparsity of the gated student (1 - E[size] / teacher size), or the fixed one."""
        if not self.pruning:
            return torch.tensor(self._fixed_sparsity)
        return 1.0 - expected_size(self.student, self.spec.kind) / self.spec.teacher_size

    def training_step(self, batch: tuple[Tensor, Tensor, list[str]], batch_idx: int) -> Tensor:
        wavs, lengths, paths = batch
        shortfall = self.student.config.min_samples - wavs.shape[1]
        if shortfall > 0:  # a batch of clips too short to give a time-reduced student one frame: pad (masked)
            wavs = torch.nn.functional.pad(wavs, (0, shortfall))
        with torch.no_grad():
            teacher_states, _ = self.teacher(wavs, lengths, HiddenStates.AUTHORS)
        distill_loss, layer_terms = self._student_loss(self.student, self.distill, wavs, lengths, teacher_states)
        sparsity = self.sparsity()
        lagrangian = self.lagrangian
        if lagrangian is not None:  # pruning
            target = target_at(self.global_step, self.spec.target, self.spec.target_warmup_steps)
            reg_loss = lagrangian(sparsity.float(), target)
            lambdas = (lagrangian.lambda1.detach(), lagrangian.lambda2.detach())
        else:
            target = self.spec.target
            reg_loss = distill_loss.new_zeros(())
            lambdas = (reg_loss.detach(), reg_loss.detach())
        loss = distill_loss + reg_loss
        if not torch.isfinite(loss):  # raised before the optimizer step: no checkpoint or stage marker follows
            raise DpbenchError(
                f"stage {self.spec.name}: the loss is {float(loss.detach())} at step {self.global_step + 1}, "
                f"on a batch of {', '.join(paths)}; nothing of this step was saved. Fix the cause (a lower learning "
                "rate, a bad file) and rerun with --resume: it continues from the last checkpoint"
            )
        terms = {
            "loss": loss.detach(),
            "distill_loss": distill_loss.detach(),
            "reg_loss": reg_loss.detach(),
            "expected_sparsity": sparsity.detach(),
            "target_sparsity": torch.tensor(target),
            "lambda1": lambdas[0],
            "lambda2": lambdas[1],
            "lr": torch.tensor(self.trainer.optimizers[0].param_groups[0]["lr"]),
        }
        self.step_terms = {k: float(v) for k, v in terms.items()}
        self.log_dict(
            {f"{self.spec.name}/{k}": v for k, v in {**terms, **layer_terms}.items()},
            on_step=True,
            on_epoch=False,
            logger=True,
            batch_size=wavs.shape[0],
        )
        self.log_dict(
            {k: terms[k] for k in PROGRESS_KEYS},
            on_step=True,
            on_epoch=False,
            prog_bar=True,
            logger=False,
            batch_size=wavs.shape[0],
        )
        return loss

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        optimizer = make_optimizer(
            list(self.student.model_parameters()) + list(self.distill.parameters()),
            list(self.student.gate_parameters()) if self.pruning else [],
            self.lagrangian,
            self.spec,
        )
        spec = self.spec

        def scheduled(step: int) -> float:
            return warmup_decay(step, spec.warmup_steps, spec.steps)

        other_groups: Callable[[int], float] = scheduled if spec.schedule_gates else _constant  # gates, lambdas
        factors: list[Callable[[int], float]] = [scheduled, *[other_groups] * (len(optimizer.param_groups) - 1)]
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factors)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    # --- resumable state beyond weights and optimizer: RNG (gate samples) and wall time ------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["dpbench"] = {
            "rng": {
                "cpu": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            },
            "elapsed": self.elapsed(),
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("dpbench", {})
        self._restored_rng = state.get("rng")
        self.elapsed_before = float(state.get("elapsed", 0.0))
