"""Expanding a plan into its job graph: one compression per student (teacher x method x sparsity x
variant x seed, plus DPHuBERT's sweep sparsities and ablation presets), then every SUPERB task at every
learning rate on each teacher and student (a student's after its compression), a short `dpbench
efficiency` of them all once every compression has ended, then the report after all of them. The jobs
are built by the demo's own `compress_job` and `superb_job`, so the demo and a study run the same commands."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from dpbench.ablations import ABLATION_METHODS, ABLATIONS
from dpbench.demo import compress_job, efficiency_job, superb_job
from dpbench.jobs import Job
from dpbench.method_labels import METHOD_LABELS
from dpbench.plan.spec import Plan


@dataclass(frozen=True)
class Student:
    """One compression of the plan: `id` names its run folder, `name` its model (and upstream)."""

    id: str
    name: str
    teacher: str
    method: str
    sparsity: float
    variant: str
    seed: int


def students(plan: Plan) -> list[Student]:
    """Every compression the plan asks for: teacher x method x sparsity x variant x seed, DPHuBERT also
    at the `sweep` sparsities and, at `sparsities`, once per ablation preset. A dimension with one value
    stays out of the names (sparsity: one value for that method)."""
    many = {key: len(getattr(plan, key)) > 1 for key in ("teachers", "seeds")}
    found = []
    for teacher, method in itertools.product(plan.teachers, plan.methods):
        varied = method in ABLATION_METHODS
        sparsities = list(dict.fromkeys([*plan.sparsities, *(plan.sweep if varied else [])]))
        variants = [*plan.variants, *(plan.ablations if varied else [])]
        for sparsity, variant, seed in itertools.product(sparsities, variants, plan.seeds):
            if variant in plan.ablations and sparsity not in plan.sparsities:
                continue  # ablations at the study's sparsities, not along the sweep
            named_variant = variant if variant in plan.ablations or len(plan.variants) > 1 else ""
            parts = [
                (many["teachers"], Path(teacher).stem),
                (len(sparsities) > 1, f"sp{sparsity:g}"),
                (bool(named_variant), named_variant),
                (many["seeds"], f"seed{seed}"),
            ]
            suffix = "".join(f"-{_slug(text)}" for wanted, text in parts if wanted and text)
            found.append(
                Student(method + suffix, METHOD_LABELS[method] + suffix, teacher, method, sparsity, variant, seed)
            )
    return found


def variant_args(plan: Plan, variant: str) -> list[str]:
    """The extra `dpbench compress` arguments of a variant or ablation preset."""
    return ["--ablation", variant] if variant in plan.ablations else list(plan.variants[variant])


def student_steps(plan: Plan, student: Student) -> tuple[int | None, int | None]:
    """The plan's stage-1/stage-2 steps, less those the student's ablation preset sets itself
    (`no-final-distill` keeps its 0 final steps)."""
    preset = ABLATIONS.get(student.variant, {}) if student.variant in plan.ablations else {}
    stage1, stage2 = plan.steps
    return (None if "stage1_steps" in preset else stage1, None if "stage2_steps" in preset else stage2)


def expand(plan: Plan) -> list[Job]:
    """The plan's jobs, each with its marker under OUT/jobs/ (the job is done when its marker exists)."""
    out, logs, models = plan.out, plan.out / "logs", plan.out / "models"
    superb_dir, runs = out / "superb", out / "compress"
    jobs: list[Job] = []
    upstreams: list[tuple[str, tuple[str, ...]]] = (
        [(teacher, ()) for teacher in plan.teachers] if plan.superb_teachers else []
    )
    for student in students(plan):
        extra = [
            "--seed",
            str(student.seed),
            *(["--scale", plan.scale] if plan.scale != "cpu" else []),
            *plan.compress_args,
            *variant_args(plan, student.variant),
        ]
        job = compress_job(
            plan.compress_data.parent,
            runs,
            logs,
            models,
            student.method,
            student.sparsity,
            plan.device,
            student_steps(plan, student),
            teacher=student.teacher,
            student=student.id,
            name=student.name,
            extra=extra,
        )
        jobs.append(job)
        upstreams.append((str(models / f"{student.name}.pt"), (job.label,)))
    for upstream, needs in upstreams:
        for task in plan.tasks:
            jobs += [
                superb_job(
                    upstream, task, plan.data, superb_dir, logs, plan.store, plan.device, needs, lr=lr, scale=plan.scale
                )
                for lr in plan.lrs
            ]
    if plan.efficiency:
        compressions = tuple(job.label for job in jobs if job.kind == "compress")
        models = [*plan.teachers, *(str(models / f"{student.name}.pt") for student in students(plan))]
        jobs.append(efficiency_job(models, plan.store, logs, plan.device, compressions))
    jobs.append(report_job(plan, [job.label for job in jobs]))
    for job in jobs:
        job.marker = out / "jobs" / f"{_slug(job.label)}.json"
    return jobs


def report_job(plan: Plan, needs: list[str]) -> Job:
    """`dpbench report` on the store and the compression runs; it runs after the others have ended,
    whether or not all succeeded (the report shows what finished)."""
    args = [
        "report",
        "--results",
        str(plan.store),
        "--runs",
        str(plan.out / "compress"),
        "--out",
        str(plan.out / "report"),
        "--title",
        plan.title,
        "--paper-rows" if plan.paper_rows else "--no-paper-rows",
    ]
    if len(plan.teachers) == 1:
        args += ["--teacher", Path(plan.teachers[0]).stem]
    return Job("report", args, plan.out / "logs" / "report.log", 30.0, tuple(needs), kind="report", after_failures=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", text).strip("_")
