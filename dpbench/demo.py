"""`dpbench demo`: the whole product on the embedded default, on a laptop CPU.

synthetic corpora -> compress the built-in tiny teacher into DPHuBERT and baseline students ->
SUPERB tasks at CPU scale for the teacher and every student -> report. Compression runs and
SUPERB runs are independent `dpbench` commands run side by side (one per core, one thread each);
each is resumable, so re-running the demo reuses whatever is finished."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import click
from tqdm import tqdm

from dpbench.errors import DpbenchError

TEACHER = "tiny-hubert"
STUDENT_NAMES = {"dphubert": "DPHuBERT", "distilhubert": "DistilHuBERT", "fithubert": "FitHuBERT", "half": "Half-width"}
DEFAULT_METHODS = "dphubert,distilhubert,fithubert"  # the paper's comparison; add `half` with --methods
DEFAULT_TASKS = "KS,IC,SID,ER,PR,ASR"


@dataclass
class Job:
    """One `dpbench` sub-command of the demo, with its own log file."""

    label: str
    args: list[str]
    log: Path


def _run_job(job: Job) -> tuple[Job, int]:
    job.log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(job.log, "w") as log:
        code = subprocess.run([sys.executable, "-m", "dpbench", *job.args], stdout=log, stderr=subprocess.STDOUT,
                              env=env).returncode
    return job, code


def run_jobs(jobs: list[Job], workers: int, what: str) -> list[Job]:
    """Run `jobs` on `workers` processes with a progress bar; return the ones that failed."""
    failed = []
    with ThreadPoolExecutor(max_workers=workers) as pool, tqdm(total=len(jobs), desc=what, unit="run") as bar:
        for future in as_completed([pool.submit(_run_job, job) for job in jobs]):
            job, code = future.result()
            bar.update(1)
            if code != 0:
                failed.append(job)
                tqdm.write(f"  failed: {job.label} (exit {code}; log: {job.log})")
            else:
                tqdm.write(f"  done: {job.label}")
    return failed


def _stage(number: int, total: int, text: str) -> None:
    click.secho(f"\n[{number}/{total}] {text}", bold=True)


def compress_jobs(corpus: Path, runs: Path, logs: Path, methods: list[str], sparsity: float, device: str,
                  steps: tuple[int | None, int | None]) -> list[Job]:
    jobs = []
    for method in methods:
        out = runs / method
        args = ["compress", "--data", str(corpus / "LibriSpeech"), "--out", str(out), "--method", method,
                "--teacher", TEACHER, "--target-sparsity", str(sparsity), "--name", STUDENT_NAMES[method],
                "--accelerator", "gpu" if device == "cuda" else "cpu"]
        for flag, value in zip(("--stage1-steps", "--stage2-steps"), steps):
            if value is not None:
                args += [flag, str(value)]
        if (out / "state.json").exists():
            args.append("--resume")
        jobs.append(Job(f"compress {method}", args, logs / f"compress-{method}.log"))
    return jobs


def superb_jobs(upstreams: list[str], corpus: Path, out: Path, logs: Path, store: Path, tasks: list[str],
                device: str) -> list[Job]:
    return [
        Job(f"SUPERB {task} on {Path(upstream).stem}",
            ["superb", "--task", task, "--upstream", upstream, "--data", str(corpus), "--out", str(out),
             "--results", str(store), "--device", device, "--quiet"],
            logs / f"superb-{Path(upstream).stem}-{task}.log")
        for task in tasks
        for upstream in upstreams
    ]


def student_checkpoints(runs: Path, models: Path, methods: list[str]) -> list[Path]:
    """Each finished student under the name of its method (SUPERB names an upstream after its file)."""
    models.mkdir(parents=True, exist_ok=True)
    paths = []
    for method in methods:
        source, target = runs / method / "student.pt", models / f"{STUDENT_NAMES[method]}.pt"
        if source.exists():
            if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
                shutil.copyfile(source, target)
            paths.append(target)
    return paths


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/demo"), show_default=True,
              help="Everything the demo makes goes here.")
@click.option("--size", type=click.Choice(["tiny", "small", "medium"]), default="small", show_default=True,
              help="Synthetic corpus size.")
@click.option("--methods", default=DEFAULT_METHODS, show_default=True,
              help=f"Students to compress, from {', '.join(STUDENT_NAMES)}.")
@click.option("--tasks", default=DEFAULT_TASKS, show_default=True, help="SUPERB tasks to run.")
@click.option("--sparsity", type=float, default=0.65, show_default=True,
              help="Target parameter sparsity (the tiny teacher's unprunable share is larger than Base's).")
@click.option("--stage1-steps", type=int, default=None, help="Distill + prune steps [compress's cpu default].")
@click.option("--stage2-steps", type=int, default=None, help="Final distillation steps [compress's cpu default].")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--jobs", type=int, default=None, help="Runs side by side [default: number of cores].")
def demo_command(out: Path, size: str, methods: str, tasks: str, sparsity: float, stage1_steps: int | None,
                 stage2_steps: int | None, device: str, jobs: int | None) -> None:
    """Run the whole pipeline on the embedded default (synthetic corpora, built-in tiny teacher)."""
    from dpbench.data.synth import synthesize
    from dpbench.report.build import build_report

    method_list = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in method_list if m not in STUDENT_NAMES]
    if unknown:
        raise DpbenchError(f"--methods: unknown {unknown}; choose from {', '.join(STUDENT_NAMES)}")
    task_list = [t.strip().upper() for t in tasks.split(",") if t.strip()]
    workers = jobs or os.cpu_count() or 1
    started = time.monotonic()
    out = out.resolve()
    corpus, store, report_dir = out / "corpus", out / "results.jsonl", out / "report"

    _stage(1, 4, f"synthetic corpora ({size})")
    info = synthesize(corpus, size=size, seed=0, workers=workers)
    click.echo(f"corpus at {corpus}: {info['hours']:.2f} h of audio")

    _stage(2, 4, f"compress {TEACHER} at {sparsity:.0%} parameter sparsity: {', '.join(method_list)}")
    failed = run_jobs(compress_jobs(corpus, out / "compress", out / "logs", method_list, sparsity, device,
                                    (stage1_steps, stage2_steps)), workers, "compress")
    students = student_checkpoints(out / "compress", out / "models", method_list)

    _stage(3, 4, f"SUPERB at CPU scale: {', '.join(task_list)} for {TEACHER} and {len(students)} students")
    upstreams = [TEACHER, *map(str, students)]
    failed += run_jobs(superb_jobs(upstreams, corpus, out / "superb", out / "logs", store, task_list, device),
                       workers, "SUPERB")

    _stage(4, 4, "report")
    report = build_report(store if store.exists() else None, [out / "compress"], report_dir, paper_rows=True,
                          title="dpbench demo: embedded default", teacher=TEACHER)
    if report.markdown:
        click.echo(report.markdown)
    click.secho(f"\nreport: {report_dir / 'index.html'}", bold=True)
    click.echo(f"demo finished in {(time.monotonic() - started) / 60:.1f} min")
    if failed:
        raise DpbenchError(f"{len(failed)} runs failed (the report shows the rest): "
                           + "; ".join(f"{job.label} -> {job.log}" for job in failed))
