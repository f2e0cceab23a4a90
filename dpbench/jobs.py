"""Running `dpbench` sub-commands side by side: each after the jobs it needs, the longest remaining
chain of work first (so the last minutes are not spent waiting on one long run), with a progress bar.

A job with a `marker` is done when that file exists and names the same command: `execute` writes it
atomically when the command succeeds (and a `.failed` marker beside it when it fails), wherever the
job ran, so a re-run (local or on a cluster) can skip what is finished."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tqdm import tqdm

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_json


@dataclass
class Job:
    """One `dpbench` sub-command with its own log file."""

    label: str
    args: list[str]
    log: Path
    seconds: float = 60.0  # expected run time; only orders the jobs
    needs: tuple[str, ...] = ()  # labels of jobs that must succeed first
    on_success: Callable[[], None] | None = field(default=None, repr=False)  # runs where the job ran
    marker: Path | None = None  # written when the job succeeds; the job is done while it names `args`
    kind: str = "run"  # "compress", "superb", "report", ...: the launcher's resources for it
    after_failures: bool = False  # run once its needs have ended, even if some failed (the report)

    @property
    def failed_marker(self) -> Path | None:
        return None if self.marker is None else self.marker.with_suffix(".failed")


HOW_FLAGS = {"--num-nodes", "--devices"}  # where a command runs, not what it makes


def command_of(job: Job) -> list[str]:
    """The job's arguments as its marker records them: without `--resume` and the hardware flags the
    Slurm launcher adds (details of how the job runs, not of what it makes)."""
    kept, skip = [], False
    for arg in job.args:
        if skip or arg == "--resume":
            skip = False
            continue
        if arg in HOW_FLAGS:
            skip = True
            continue
        kept.append(arg)
    return kept


def is_done(job: Job) -> bool:
    """The job's marker exists and records this same command."""
    if job.marker is None or not job.marker.is_file():
        return False
    try:
        return json.loads(job.marker.read_text(encoding="utf-8")).get("args") == command_of(job)
    except json.JSONDecodeError:
        return False


def marker_info(job: Job) -> dict | None:
    """What the job's done marker (or else its failed marker) holds, with `state`; None if neither exists."""
    for path, state in ((job.marker, "done"), (job.failed_marker, "failed")):
        if path is not None and path.is_file():
            try:
                return {"state": state, **json.loads(path.read_text(encoding="utf-8"))}
            except json.JSONDecodeError:
                continue
    return None


def execute(job: Job, threads: int | None = 1) -> int:
    """Run the job's `dpbench` command into its log; on success run `on_success` and write the marker,
    on failure the failed marker. `threads`: OMP/MKL threads of the command (None: leave as is). Under
    Slurm with several tasks (a multi-node compression), every task runs the command and only task 0
    publishes and writes markers, with the other tasks logging to LOG.taskN."""
    rank = int(os.environ.get("SLURM_PROCID", "0")) if int(os.environ.get("SLURM_NTASKS", "1")) > 1 else 0
    log_path = job.log if rank == 0 else job.log.with_name(f"{job.log.name}.task{rank}")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if rank == 0 and job.failed_marker is not None:
        job.failed_marker.unlink(missing_ok=True)
    env = dict(os.environ)
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    started = time.time()
    with open(log_path, "w") as log:
        code = subprocess.run(
            [sys.executable, "-m", "dpbench", *job.args], stdout=log, stderr=subprocess.STDOUT, env=env
        ).returncode
    if rank == 0:
        if code == 0 and job.on_success:
            job.on_success()
        if job.marker is not None:
            info = {
                "label": job.label,
                "args": command_of(job),
                "exit_code": code,
                "log": str(job.log),
                "started": started,
                "seconds": round(time.time() - started, 1),
                "result": _last_line(log_path),
            }
            atomic_write_json(job.marker if code == 0 else job.failed_marker, info)
    return code


def _last_line(path: Path) -> str:
    """The log's last non-empty line: the result line `dpbench superb` and `dpbench compress` print last."""
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines()[-50:] if line.strip()]
    return lines[-1][:300] if lines else ""


def _run_job(job: Job) -> int:
    return execute(job, threads=1)


def critical_paths(jobs: list[Job]) -> dict[str, float]:
    """Seconds from each job's start to the end of the longest chain of jobs that need it."""
    dependents: dict[str, list[Job]] = {job.label: [] for job in jobs}
    for job in jobs:
        for need in job.needs:
            if need not in dependents:
                raise DpbenchError(f"job {job.label!r} needs {need!r}, which is not a job")
            dependents[need].append(job)

    @cache
    def path(label: str) -> float:
        return by_label[label].seconds + max((path(d.label) for d in dependents[label]), default=0.0)

    by_label = {job.label: job for job in jobs}
    return {job.label: path(job.label) for job in jobs}


def run_jobs(jobs: list[Job], workers: int, what: str) -> list[Job]:
    """Run `jobs` on `workers` processes; return those that failed or were skipped because a job they
    need failed (a job with `after_failures` runs once its needs have ended, whatever they did)."""
    priority = critical_paths(jobs)
    pending, running, done, failed = list(jobs), dict[Future, Job](), set[str](), list[Job]()
    with ThreadPoolExecutor(max_workers=workers) as pool, tqdm(total=len(jobs), desc=what, unit="run") as bar:
        while pending or running:
            failed_labels = {job.label for job in failed}
            ended = done | failed_labels
            for job in [j for j in pending if failed_labels.intersection(j.needs) and not j.after_failures]:
                pending.remove(job)
                failed.append(job)
                bar.update(1)
                tqdm.write(f"  skipped: {job.label} (a job it needs failed)")
            ready = sorted(
                (j for j in pending if set(j.needs) <= (ended if j.after_failures else done)),
                key=lambda j: -priority[j.label],
            )
            for job in ready[: max(0, workers - len(running))]:
                pending.remove(job)
                running[pool.submit(_run_job, job)] = job
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                job, code = running.pop(future), future.result()
                bar.update(1)
                if code == 0:
                    done.add(job.label)
                    tqdm.write(f"  done: {job.label}")
                else:
                    failed.append(job)
                    tqdm.write(f"  failed: {job.label} (exit {code}; log: {job.log})")
    return failed
