"""A study plan: which teachers, methods, sparsities, ablation variants and seeds to compress, which
SUPERB tasks and learning rates to run on every model, where the data and outputs are, and how the
jobs are dispatched. Read from YAML (see dpbench/plans/study.yaml) or built in code (`dpbench demo`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from dpbench.ablations import ABLATION_METHODS, ABLATIONS
from dpbench.errors import DpbenchError

LAUNCHERS = ("local", "slurm")
JOB_KINDS = ("compress", "superb", "efficiency", "report")


@dataclass
class Resources:
    """What one job of a kind asks the scheduler for (time in minutes; mem as Slurm writes it, e.g. 64G)."""

    nodes: int = 1
    gpus: int = 0  # per node
    tasks: int | None = None  # compression processes per node (Lightning DDP) [default: one per GPU, else 1]
    cpus: int = 1  # per process; also the command's OMP/MKL threads
    mem: str | None = None
    time: int = 60


@dataclass
class SlurmOptions:
    partition: str | None = None
    account: str | None = None
    array_parallelism: int = 64
    sbatch: list[str] = field(default_factory=list)  # extra flags, e.g. ["--qos=high", "--constraint=a100"]
    resources: dict[str, Resources] = field(default_factory=lambda: {kind: Resources() for kind in JOB_KINDS})


@dataclass
class Plan:
    """Everything `dpbench run` expands into jobs; paths are absolute."""

    out: Path
    data: Path  # SUPERB corpus root (layout in docs/ARCHITECTURE.md)
    compress_data: Path  # the folder `dpbench compress --data` reads (its parent is passed to compress_job)
    teachers: list[str]
    methods: list[str]
    tasks: list[str]
    sparsities: list[float] = field(default_factory=lambda: [0.75])
    variants: dict[str, list[str]] = field(default_factory=lambda: {"base": []})  # name -> extra compress args
    ablations: list[str] = field(default_factory=list)  # compress --ablation presets: one more DPHuBERT student each
    sweep: list[float] = field(default_factory=list)  # more sparsities for DPHuBERT only (a sparsity sweep)
    seeds: list[int] = field(default_factory=lambda: [0])
    lrs: list[float | None] = field(default_factory=lambda: [None])  # None: each task config's own rate
    scale: str = "cpu"
    device: str = "cpu"
    compress_args: list[str] = field(default_factory=list)  # given to every compression
    steps: tuple[int | None, int | None] = (None, None)  # stage-1 / stage-2 steps [compress's default]
    results: str = "results"  # relative to out: a record folder (no suffix), or a .jsonl file
    superb_teachers: bool = True  # run SUPERB on the teachers too
    efficiency: bool = True  # measure every teacher and student with `dpbench efficiency` (short, on `device`)
    title: str = "dpbench study"
    paper_rows: bool = True
    launcher: str = "local"
    slurm: SlurmOptions = field(default_factory=SlurmOptions)

    @property
    def store(self) -> Path:
        return self.out / self.results


_TOP_KEYS = {f.name for f in fields(Plan)} - {"steps"} | {"stage1_steps", "stage2_steps"}


def load_plan(path: Path) -> Plan:
    """Read and check a plan file; relative paths in it are taken from the file's folder."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise DpbenchError(f"{path}: cannot read the plan ({error})") from None
    if not isinstance(raw, dict):
        raise DpbenchError(f"{path}: a plan is a YAML mapping (see dpbench/plans/study.yaml)")
    return plan_from_dict(raw, path.resolve().parent, str(path))


def plan_from_dict(raw: dict[str, Any], base: Path, origin: str) -> Plan:
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise DpbenchError(f"{origin}: unknown keys {unknown}; a plan has {sorted(_TOP_KEYS)}")
    for key in ("out", "data", "teachers", "methods", "tasks"):
        if raw.get(key) in (None, [], ""):
            raise DpbenchError(f"{origin}: `{key}` is required")
    data = _path(base, raw["data"])
    values = {
        key: raw[key]
        for key in raw
        if key not in ("out", "data", "compress_data", "slurm", "stage1_steps", "stage2_steps")
    }
    plan = Plan(
        out=_path(base, raw["out"]),
        data=data,
        compress_data=_path(base, raw.get("compress_data", data / "LibriSpeech")),
        steps=(raw.get("stage1_steps"), raw.get("stage2_steps")),
        slurm=_slurm(raw.get("slurm") or {}, origin),
        **values,
    )
    check_plan(plan, origin)
    return plan


def check_plan(plan: Plan, origin: str) -> None:
    """Raise DpbenchError naming `origin` for a value the plan cannot run with."""
    from dpbench.method_labels import METHOD_LABELS
    from dpbench.superb.tasks import SUITE, get_task

    if plan.tasks == "all" or plan.tasks == ["all"]:
        plan.tasks = list(SUITE)
    for key in ("teachers", "methods", "tasks", "sparsities", "seeds", "lrs"):
        if not isinstance(getattr(plan, key), list) or not getattr(plan, key):
            raise DpbenchError(f"{origin}: `{key}` must be a non-empty list")
    if not all(isinstance(s, (int, float)) and 0 < s < 1 for s in plan.sparsities):
        raise DpbenchError(f"{origin}: `sparsities` are fractions between 0 and 1, e.g. [0.75]")
    if not isinstance(plan.sweep, list) or not all(isinstance(s, (int, float)) and 0 < s < 1 for s in plan.sweep):
        raise DpbenchError(f"{origin}: `sweep` is a list of fractions between 0 and 1 (DPHuBERT's extra sparsities)")
    if not isinstance(plan.ablations, list) or not set(plan.ablations) <= set(ABLATIONS):
        raise DpbenchError(f"{origin}: `ablations` is a list of presets from {', '.join(ABLATIONS)}")
    if (plan.ablations or plan.sweep) and not set(plan.methods) & set(ABLATION_METHODS):
        raise DpbenchError(
            f"{origin}: `ablations` and `sweep` add {', '.join(ABLATION_METHODS)} students; add it to `methods`"
        )
    clash = set(plan.ablations) & set(plan.variants)
    if clash:
        raise DpbenchError(f"{origin}: {sorted(clash)} named both as an ablation and a variant; rename the variant")
    if not all(isinstance(seed, int) for seed in plan.seeds):
        raise DpbenchError(f"{origin}: `seeds` are whole numbers")
    if not all(lr is None or (isinstance(lr, (int, float)) and lr > 0) for lr in plan.lrs):
        raise DpbenchError(
            f"{origin}: `lrs` are positive numbers (write 1.0e-4, not 1e-4, for YAML), or null "
            "for a task config's own rate"
        )
    bad = [m for m in plan.methods if m not in METHOD_LABELS]
    if bad:
        raise DpbenchError(f"{origin}: unknown methods {bad}; choose from {', '.join(METHOD_LABELS)}")
    try:
        plan.tasks = [get_task(name).name for name in plan.tasks]
    except (KeyError, ValueError, DpbenchError) as error:
        raise DpbenchError(f"{origin}: `tasks`: {error}") from None
    if not isinstance(plan.variants, dict) or not all(isinstance(v, list) for v in plan.variants.values()):
        raise DpbenchError(f"{origin}: `variants` maps a name to a list of extra `dpbench compress` arguments")
    if plan.launcher not in LAUNCHERS:
        raise DpbenchError(f"{origin}: launcher {plan.launcher!r}; choose from {', '.join(LAUNCHERS)}")
    if plan.device not in ("cpu", "cuda"):
        raise DpbenchError(f"{origin}: device {plan.device!r}; choose cpu or cuda")


def _path(base: Path, value: Any) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _slurm(raw: dict[str, Any], origin: str) -> SlurmOptions:
    options = SlurmOptions()
    for key, value in raw.items():
        if key in JOB_KINDS:
            options.resources[key] = _resources(value, f"{origin}: slurm.{key}")
        elif key in ("partition", "account", "array_parallelism", "sbatch"):
            setattr(options, key, value)
        else:
            raise DpbenchError(
                f"{origin}: unknown key slurm.{key}; slurm has partition, account, "
                f"array_parallelism, sbatch and {', '.join(JOB_KINDS)}"
            )
    return options


def _resources(raw: Any, where: str) -> Resources:
    names = {f.name for f in fields(Resources)}
    if not isinstance(raw, dict) or set(raw) - names:
        raise DpbenchError(f"{where}: give a mapping with keys from {sorted(names)}")
    return Resources(**raw)
