"""Miniature A/B of compression options: one DPHuBERT student per arm (same seed, same corpus, the
built-in tiny teacher, `dpbench compress` at cpu scale), each evaluated on the demo's SUPERB tasks at
CPU scale; prints a markdown table (size, final distillation loss, one column per task).

    python -m dpbench data synth OUT/corpus --size small
    python benchmarks/ab_recipe_options.py OUT --jobs 2 \
        --arm masked= --arm authors=--conv-gate-norm,authors

An arm is NAME=ARGS, ARGS the extra `dpbench compress` arguments separated by commas. Jobs run one
thread each (dpbench.jobs); re-running reuses finished runs (compress --resume, SUPERB run folders)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from dpbench.demo import DEFAULT_TASKS, TASK_SECONDS, TEACHER
from dpbench.jobs import Job, run_jobs
from dpbench.results import ResultsStore
from dpbench.superb.upstream_spec import parse_upstream


def arm_jobs(name: str, extra: list[str], out: Path, corpus: Path, tasks: list[str], sparsity: float) -> list[Job]:
    run, model = out / "compress" / name, out / "models" / f"{name}.pt"
    args = [
        "compress",
        "--data",
        str(corpus / "LibriSpeech"),
        "--out",
        str(run),
        "--method",
        "dphubert",
        "--teacher",
        TEACHER,
        "--target-sparsity",
        str(sparsity),
        "--name",
        name,
        "--accelerator",
        "cpu",
        *extra,
    ]
    if (run / "compress_config.json").exists():  # started before: continue it
        args.append("--resume")

    def publish() -> None:
        model.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run / "student.pt", model)

    label = f"compress {name}"
    jobs = [Job(label, args, out / "logs" / f"compress-{name}.log", 110.0, on_success=publish)]
    for task in tasks:
        jobs.append(
            Job(
                f"SUPERB {task} on {name}",
                [
                    "superb",
                    "--task",
                    task,
                    "--upstream",
                    str(model),
                    "--data",
                    str(corpus),
                    "--out",
                    str(out / "superb"),
                    "--results",
                    str(out / "results.jsonl"),
                    "--device",
                    "cpu",
                    "--quiet",
                ],
                out / "logs" / f"superb-{name}-{task}.log",
                TASK_SECONDS.get(task, 120.0),
                (label,),
            )
        )
    return jobs


def table(out: Path, arms: list[str], tasks: list[str]) -> str:
    """Markdown table: one row per arm (last record per task wins)."""
    results: dict[tuple[str, str], dict] = {}
    for record in ResultsStore(out / "results.jsonl"):
        results[(record["upstream"], record["task"])] = record
    names = {arm: parse_upstream(str(out / "models" / f"{arm}.pt")).name for arm in arms}  # SUPERB's upstream name
    results.update(
        {(arm, task): results[(name, task)] for arm, name in names.items() for task in tasks if (name, task) in results}
    )
    header = ["arm", "params", "stage-2 distill loss"]
    units = {}
    for task in tasks:
        record = next((results[(a, task)] for a in arms if (a, task) in results), None)
        units[task] = f"{task} {record['metric']} {'↑' if record['higher_is_better'] else '↓'}" if record else task
    lines = ["| " + " | ".join(header + [units[t] for t in tasks]) + " |", "|" + "---|" * (len(header) + len(tasks))]
    for arm in arms:
        summary_path = out / "compress" / arm / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
        loss = summary.get("losses", {}).get("final_distill_loss")
        cells = [arm, f"{summary['params'] / 1e6:.3f}M" if summary else "-", f"{loss:.4f}" if loss is not None else "-"]
        cells += [f"{results[(arm, t)]['value']:.2f}" if (arm, t) in results else "-" for t in tasks]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--corpus", type=Path, default=None, help="Synthetic corpus root [default: OUT/corpus].")
    parser.add_argument("--arm", action="append", required=True, help="NAME=comma-separated compress arguments.")
    parser.add_argument("--tasks", default=DEFAULT_TASKS)
    parser.add_argument("--sparsity", type=float, default=0.65, help="Target parameter sparsity (the demo's).")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    out = args.out.resolve()
    corpus = (args.corpus or out / "corpus").resolve()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    arms = [arm.split("=", 1) for arm in args.arm]
    jobs = [
        job
        for name, extra in arms
        for job in arm_jobs(name, [a for a in extra.split(",") if a], out, corpus, tasks, args.sparsity)
    ]
    failed = run_jobs(jobs, args.jobs, "A/B runs")
    print(table(out, [name for name, _ in arms], tasks))
    if failed:
        raise SystemExit(f"{len(failed)} runs failed: " + "; ".join(f"{j.label} -> {j.log}" for j in failed))


if __name__ == "__main__":
    main()
