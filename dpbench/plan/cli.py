"""`dpbench run PLAN.yaml` and `dpbench status PLAN.yaml`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from dpbench.errors import DpbenchError
from dpbench.jobs import Job, is_done, marker_info
from dpbench.plan.graph import expand
from dpbench.plan.launch import Launcher, LocalLauncher, Outcome, to_run
from dpbench.plan.spec import JOB_KINDS, LAUNCHERS, Plan, Resources, SlurmOptions, load_plan


def make_launcher(plan: Plan, workers: int | None = None, poll_s: float = 5.0) -> Launcher:
    if plan.launcher == "slurm":
        from dpbench.plan.slurm import SlurmLauncher

        return SlurmLauncher(plan.slurm, plan.out, poll_s)
    return LocalLauncher(workers)


def run_plan(plan: Plan, launcher: Launcher, wait: bool = True) -> tuple[list[Job], Outcome]:
    """Expand `plan` and launch what is missing or failed; return the jobs and what the launch did."""
    jobs = expand(plan)
    plan.out.mkdir(parents=True, exist_ok=True)
    return jobs, launcher.launch(jobs, wait)


def _resource_option(name: str, help_text: str):
    return click.option(
        f"--{name}",
        multiple=True,
        metavar="[KIND=]VALUE",
        help=f"{help_text}: for every job, or KIND=VALUE for one of {', '.join(JOB_KINDS)}; "
        "repeatable [default: the plan's]",
    )


@click.command("run")
@click.argument("plan_path", metavar="PLAN.yaml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--launcher", type=click.Choice(LAUNCHERS), default=None, help="[default: the plan's, else local]")
@click.option("--jobs", "workers", type=int, default=None, help="local: runs side by side [default: cores]")
@click.option(
    "--wait/--no-wait",
    default=None,
    help="slurm: wait until every submitted job has ended [default: submit and return]",
)
@click.option("--dry-run", is_flag=True, help="List the jobs that would be submitted, and stop.")
@click.option("--partition", default=None, help="slurm: partition.")
@click.option("--account", default=None, help="slurm: account to charge.")
@click.option("--array-parallelism", type=int, default=None, help="slurm: array tasks running at once.")
@click.option(
    "--sbatch",
    "sbatch_flags",
    multiple=True,
    metavar="FLAG",
    help="slurm: an extra sbatch flag, e.g. --sbatch=--qos=high; repeatable.",
)
@_resource_option("time", "slurm: minutes per job")
@_resource_option("nodes", "slurm: nodes per job (compression: DDP across them)")
@_resource_option("gpus", "slurm: GPUs per node")
@_resource_option("cpus", "slurm: CPUs per process")
@_resource_option("mem", "slurm: memory per node, e.g. 64G")
def run_command(
    plan_path: Path,
    launcher: str | None,
    workers: int | None,
    wait: bool | None,
    dry_run: bool,
    partition: str | None,
    account: str | None,
    array_parallelism: int | None,
    sbatch_flags: tuple[str, ...],
    **resources: tuple[str, ...],
) -> None:
    """Run a study plan: compressions, then each model's SUPERB tasks, then the report. Re-running
    submits only the jobs that are missing or failed (and those that need them)."""
    plan = load_plan(plan_path)
    plan.launcher = launcher or plan.launcher
    plan.slurm = _override(plan.slurm, partition, account, array_parallelism, sbatch_flags, resources)
    if dry_run:
        jobs = expand(plan)
        for job in to_run(jobs):
            needs = f"  (after: {', '.join(job.needs)})" if job.needs and job.kind != "report" else ""
            click.echo(f"{job.label}{needs}\n    dpbench {' '.join(job.args)}")
        return
    jobs, outcome = run_plan(plan, make_launcher(plan, workers), wait=bool(wait) or plan.launcher == "local")
    done = len(jobs) - len(outcome.submitted)
    click.echo(
        f"{len(outcome.submitted)} jobs {'run' if plan.launcher == 'local' else 'submitted'}, "
        f"{done} already done; `dpbench status {plan_path}` lists them"
    )
    if outcome.failed:
        raise DpbenchError(
            f"{len(outcome.failed)} jobs failed or were cancelled: {'; '.join(outcome.failed)}; "
            f"see `dpbench status {plan_path}` for their logs, fix the cause and run again"
        )


@click.command("status")
@click.argument("plan_path", metavar="PLAN.yaml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def status_command(plan_path: Path) -> None:
    """List the plan's jobs with their state, log and result."""
    plan = load_plan(plan_path)
    jobs = expand(plan)
    queued = make_launcher(plan).queue_states(jobs) if plan.launcher == "slurm" else {}
    rows = [(job.label, job_state(job, queued.get(job.label)), str(job.log), _result(job)) for job in jobs]
    width = max(len(row[0]) for row in rows)
    for label, state, log, result in rows:
        click.echo(f"{label:<{width}}  {state:<10}  {log}  {result}".rstrip())
    counts = {state: sum(1 for row in rows if row[1] == state) for state in sorted({row[1] for row in rows})}
    click.echo(", ".join(f"{count} {state}" for state, count in counts.items()))


def job_state(job: Job, queue_state: str | None = None) -> str:
    """done, failed, the scheduler's state (pending, running...) or 'missing'."""
    if is_done(job):
        return "done"
    if queue_state is not None and queue_state not in ("COMPLETED", "FAILED"):
        return queue_state.lower()
    info = marker_info(job)
    if info is not None and info["state"] == "failed":
        return "failed"
    return "cancelled" if queue_state in ("CANCELLED", "FAILED") else "missing"


def _result(job: Job) -> str:
    info = marker_info(job)
    return info.get("result", "") if info and is_done(job) else ""


def _override(
    options: SlurmOptions,
    partition: str | None,
    account: str | None,
    array_parallelism: int | None,
    sbatch_flags: tuple[str, ...],
    resources: dict[str, tuple[str, ...]],
) -> SlurmOptions:
    options = replace(options, resources=dict(options.resources), sbatch=[*options.sbatch, *sbatch_flags])
    for key, value in (("partition", partition), ("account", account), ("array_parallelism", array_parallelism)):
        if value is not None:
            setattr(options, key, value)
    for name, values in resources.items():
        for text in values:
            kind, _, value = text.rpartition("=") if "=" in text else ("", "", text)
            kinds = [kind] if kind else list(JOB_KINDS)
            if kind and kind not in JOB_KINDS:
                raise DpbenchError(f"--{name} {text}: unknown job kind {kind!r}; use one of {', '.join(JOB_KINDS)}")
            for each in kinds:
                current = options.resources.get(each, Resources())
                try:
                    converted = value if name == "mem" else int(value)
                except ValueError:
                    raise DpbenchError(f"--{name} {text}: give a whole number") from None
                options.resources[each] = replace(current, **{name: converted})
    return options
