"""`dpbench demo`: the whole product on the embedded default, on a laptop CPU.

synthetic corpora -> compress the built-in tiny teacher into DPHuBERT and baseline students ->
SUPERB tasks at CPU scale for the teacher and every student, and a short `dpbench efficiency` of
them all -> report. Compression, SUPERB and efficiency runs are independent `dpbench` commands run
side by side (one per core, one thread each;
a student's SUPERB runs start as soon as its compression ends); each is resumable, so re-running
the demo reuses whatever is finished."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import click

from dpbench.errors import DpbenchError
from dpbench.jobs import Job, run_jobs
from dpbench.superb.tasks import SUITE, get_task

TEACHER = "tiny-hubert"
STUDENT_NAMES = {"dphubert": "DPHuBERT", "distilhubert": "DistilHuBERT", "fithubert": "FitHuBERT", "half": "Half-width"}
DEFAULT_METHODS = "dphubert,distilhubert,fithubert"  # the paper's comparison; add `half` with --methods
DEFAULT_TASKS = "KS,IC,SID,ER,PR,ASR"
# Typical run times on one core (the demo's own logs), used only to start the longest chains first.
COMPRESS_SECONDS = 110.0
EFFICIENCY_SECONDS = 60.0
TASK_SECONDS = {"ASR": 280.0, "SID": 125.0, "IC": 115.0, "PR": 95.0, "ER": 70.0, "KS": 55.0}


def _stage(number: int, total: int, text: str) -> None:
    click.secho(f"\n[{number}/{total}] {text}", bold=True)


def compress_job(corpus: Path, runs: Path, logs: Path, models: Path, method: str, sparsity: float, device: str,
                 steps: tuple[int | None, int | None]) -> Job:
    """Compress the teacher with `method`; on success the student is copied to `models/<Name>.pt`
    (SUPERB names an upstream after its file)."""
    out = runs / method
    args = ["compress", "--data", str(corpus / "LibriSpeech"), "--out", str(out), "--method", method,
            "--teacher", TEACHER, "--target-sparsity", str(sparsity), "--name", STUDENT_NAMES[method],
            "--accelerator", "gpu" if device == "cuda" else "cpu"]
    for flag, value in zip(("--stage1-steps", "--stage2-steps"), steps):
        if value is not None:
            args += [flag, str(value)]
    if (out / "state.json").exists():
        args.append("--resume")

    def publish() -> None:
        models.mkdir(parents=True, exist_ok=True)
        source, target = out / "student.pt", student_path(models, method)
        if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
            shutil.copyfile(source, target)

    return Job(f"compress {method}", args, logs / f"compress-{method}.log", COMPRESS_SECONDS, on_success=publish)


def student_path(models: Path, method: str) -> Path:
    return models / f"{STUDENT_NAMES[method]}.pt"


def superb_job(upstream: str, task: str, corpus: Path, out: Path, logs: Path, store: Path, device: str,
               needs: tuple[str, ...] = ()) -> Job:
    name = Path(upstream).stem
    return Job(f"SUPERB {task} on {name}",
               ["superb", "--task", task, "--upstream", upstream, "--data", str(corpus), "--out", str(out),
                "--results", str(store), "--device", device, "--quiet"],
               logs / f"superb-{name}-{task}.log", TASK_SECONDS.get(task, 120.0), needs)


def efficiency_job(models: list[str], store: Path, logs: Path, device: str, needs: tuple[str, ...]) -> Job:
    """A short `dpbench efficiency` of the teacher and the students (2 s clips, 5 rounds) once all exist."""
    return Job("efficiency", ["efficiency", *models, "--results", str(store), "--seconds", "2", "--rounds", "5",
                              "--warmup", "1", "--device", device],
               logs / "efficiency.log", EFFICIENCY_SECONDS, needs)


def _efficiency_measured(store: Path, names: list[str]) -> bool:
    """Whether the store already has efficiency records of every model in `names` (a re-run reuses them)."""
    from dpbench.efficiency.records import EFFICIENCY_KIND
    from dpbench.results import ResultsStore

    return set(names) <= {record["upstream"] for record in ResultsStore(store).records(EFFICIENCY_KIND)}


def corpora_for(tasks: list[str]) -> list[str]:
    """The synthetic corpora (names in `CORPORA`) the demo needs: LibriSpeech for compression, and
    whatever `tasks` read."""
    from dpbench.data.synth import CORPORA

    folders = {"LibriSpeech", *(get_task(name).corpus for name in tasks)}
    return [name for name, module in CORPORA.items() if module.FOLDER in folders]


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/demo"), show_default=True,
              help="Everything the demo makes goes here.")
@click.option("--size", type=click.Choice(["tiny", "small", "medium"]), default="small", show_default=True,
              help="Synthetic corpus size.")
@click.option("--methods", default=DEFAULT_METHODS, show_default=True,
              help=f"Students to compress, from {', '.join(STUDENT_NAMES)}.")
@click.option("--tasks", default=DEFAULT_TASKS, show_default=True,
              help="SUPERB tasks to run, comma-separated, or 'all' (every task `dpbench superb` runs).")
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
    task_list = list(SUITE) if tasks.strip().lower() == "all" else [t.strip() for t in tasks.split(",") if t.strip()]
    task_names = [get_task(name).name for name in task_list]  # checks the names before anything runs
    workers = jobs or os.cpu_count() or 1
    started = time.monotonic()
    out = out.resolve()
    corpus, store, report_dir = out / "corpus", out / "results.jsonl", out / "report"

    _stage(1, 3, f"synthetic corpora ({size})")
    info = synthesize(corpus, size=size, seed=0, workers=workers, corpora=corpora_for(task_list))
    click.echo(f"corpus at {corpus}: {info['hours']:.2f} h of audio")

    _stage(2, 3, f"compress {TEACHER} at {sparsity:.0%} parameter sparsity ({', '.join(method_list)}), run "
                 f"SUPERB at CPU scale ({', '.join(task_names)}) on the teacher and each student, and measure "
                 "their efficiency")
    superb_dir, logs, models = out / "superb", out / "logs", out / "models"
    runs = [superb_job(TEACHER, task, corpus, superb_dir, logs, store, device) for task in task_names]
    for method in method_list:
        compress = compress_job(corpus, out / "compress", logs, models, method, sparsity, device,
                                (stage1_steps, stage2_steps))
        student = str(student_path(models, method))
        runs += [compress, *(superb_job(student, task, corpus, superb_dir, logs, store, device, (compress.label,))
                             for task in task_names)]
    compressions = tuple(job.label for job in runs if job.label.startswith("compress "))
    students = [str(student_path(models, method)) for method in method_list]
    if not _efficiency_measured(store, [TEACHER, *(STUDENT_NAMES[method] for method in method_list)]):
        runs.append(efficiency_job([TEACHER, *students], store, logs, device, compressions))
    failed = run_jobs(runs, workers, "runs")

    _stage(3, 3, "report")
    report = build_report(store if store.exists() else None, [out / "compress"], report_dir, paper_rows=True,
                          title="dpbench demo: embedded default", teacher=TEACHER)
    if report.markdown:
        click.echo(report.markdown)
    click.secho(f"\nreport: {report_dir / 'index.html'}", bold=True)
    click.echo(f"demo finished in {(time.monotonic() - started) / 60:.1f} min")
    if failed:
        raise DpbenchError(f"{len(failed)} runs failed (the report shows the rest): "
                           + "; ".join(f"{job.label} -> {job.log}" for job in failed))
