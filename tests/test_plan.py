"""Study plans: reading PLAN.yaml, its job graph, the demo as a plan, `dpbench run --dry-run` and
`dpbench status`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_json
from dpbench.jobs import command_of
from dpbench.plan.cli import _override, run_command, status_command
from dpbench.plan.graph import expand, students
from dpbench.plan.spec import SlurmOptions, load_plan

PLAN = """
out: study
data: corpora
teachers: [tiny-hubert]
methods: [dphubert, distilhubert]
sparsities: [0.6, 0.7]
variants: {base: [], no-stage2: ["--stage2-steps", "0"]}
seeds: [0]
tasks: [KS, ic]
lrs: [1.0e-4, 1.0e-3]
launcher: slurm
slurm:
  partition: gpu
  compress: {nodes: 2, gpus: 4, time: 720}
"""


def write_plan(tmp_path: Path, text: str = PLAN) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


def test_a_plan_expands_to_compressions_then_superb_runs_then_the_report(tmp_path):
    plan = load_plan(write_plan(tmp_path))
    assert plan.out == tmp_path / "study" and plan.compress_data == tmp_path / "corpora" / "LibriSpeech"
    assert plan.tasks == ["KS", "IC"] and plan.slurm.resources["compress"].gpus == 4
    found = students(plan)
    assert len(found) == 2 * 2 * 2  # methods x sparsities x variants (one teacher, one seed: not in names)
    assert {s.name for s in found} >= {"DPHuBERT-sp0.6-base", "DistilHuBERT-sp0.7-no-stage2"}
    jobs = expand(plan)
    compress = [job for job in jobs if job.kind == "compress"]
    superb = [job for job in jobs if job.kind == "superb"]
    assert len(compress) == 8 and len(superb) == (1 + 8) * 2 * 2 and jobs[-1].label == "report"
    variant = next(job for job in compress if job.label == "compress dphubert-sp0.6-no-stage2")
    assert variant.args[-2:] == ["--stage2-steps", "0"] and "--target-sparsity" in variant.args
    student_runs = [job for job in superb if "DPHuBERT-sp0.6-no-stage2" in job.label]
    assert len(student_runs) == 4 and all(job.needs == (variant.label,) for job in student_runs)
    assert {job.args[job.args.index("--lr") + 1] for job in student_runs} == {"0.0001", "0.001"}
    assert set(jobs[-1].needs) == {job.label for job in jobs[:-1]} and jobs[-1].after_failures
    assert len({job.marker for job in jobs}) == len(jobs)  # every job its own marker
    assert all(job.args[job.args.index("--results") + 1] == str(tmp_path / "study" / "results") for job in superb)


def test_the_demo_is_a_plan_with_the_demos_own_commands(tmp_path):
    from dpbench.demo import demo_plan

    jobs = {job.label: job for job in expand(demo_plan(tmp_path, ["dphubert"], ["KS"], 0.65, (20, None), "cpu"))}
    assert sorted(jobs) == [
        "SUPERB KS on DPHuBERT",
        "SUPERB KS on tiny-hubert",
        "compress dphubert",
        "efficiency",
        "report",
    ]
    efficiency = jobs["efficiency"]
    assert efficiency.needs == ("compress dphubert",) and "efficiency" in jobs["report"].needs
    assert efficiency.args[1:3] == ["tiny-hubert", str(tmp_path / "models" / "DPHuBERT.pt")]
    compress = jobs["compress dphubert"]
    assert compress.args[compress.args.index("--name") + 1] == "DPHuBERT" and "--stage1-steps" in compress.args
    assert compress.log == tmp_path / "logs" / "compress-dphubert.log"
    student = jobs["SUPERB KS on DPHuBERT"]
    assert student.needs == ("compress dphubert",)
    assert student.args[student.args.index("--upstream") + 1] == str(tmp_path / "models" / "DPHuBERT.pt")
    assert student.args[student.args.index("--results") + 1] == str(tmp_path / "results.jsonl")


def test_a_started_compression_is_resumed_not_restarted(tmp_path):
    """A compression killed in stage 1 has its config but no state.json yet: the next run must resume it."""
    from dpbench.compress.layout import CONFIG_FILE
    from dpbench.demo import compress_job

    def args() -> list[str]:
        return compress_job(
            tmp_path, tmp_path / "runs", tmp_path / "logs", tmp_path / "models", "dphubert", 0.65, "cpu", (None, None)
        ).args

    assert "--resume" not in args()
    (tmp_path / "runs" / "dphubert").mkdir(parents=True)
    (tmp_path / "runs" / "dphubert" / CONFIG_FILE).write_text("{}")
    assert "--resume" in args()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("methods: [dphubert, magic]", "unknown methods"),
        ("tasks: [KS, XYZ]", "unknown task"),
        ("colour: blue", "unknown keys"),
        ("launcher: pbs", "launcher 'pbs'"),
        ("sparsities: [75]", "fractions"),
        ("lrs: [1e-4]", "positive numbers"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_file(tmp_path, edit, message):
    key = edit.split(":")[0]
    text = "\n".join(line for line in PLAN.splitlines() if not line.startswith(key + ":")) + "\n" + edit + "\n"
    with pytest.raises(DpbenchError, match=message) as error:
        load_plan(write_plan(tmp_path, text))
    assert "plan.yaml" in error.value.message


def test_command_line_options_override_the_plans_slurm_resources():
    options = _override(
        SlurmOptions(),
        "a100",
        None,
        4,
        ("--qos=high",),
        {"time": ("30", "compress=600"), "gpus": ("superb=1",), "mem": ("64G",)},
    )
    assert options.partition == "a100" and options.array_parallelism == 4 and options.sbatch == ["--qos=high"]
    assert options.resources["compress"].time == 600 and options.resources["superb"].time == 30
    assert options.resources["superb"].gpus == 1 and options.resources["compress"].gpus == 0
    assert options.resources["report"].mem == "64G"
    with pytest.raises(DpbenchError, match="unknown job kind"):
        _override(SlurmOptions(), None, None, None, (), {"time": ("train=5",)})


def test_dry_run_lists_what_is_missing_and_status_shows_state_log_and_result(tmp_path):
    path = write_plan(tmp_path, PLAN.replace("launcher: slurm", "launcher: local"))
    jobs = expand(load_plan(path))
    done, failed = jobs[0], jobs[1]
    atomic_write_json(done.marker, {"args": command_of(done), "result": "DPHuBERT: 1.2M params"})
    atomic_write_json(failed.marker.with_suffix(".failed"), {"args": command_of(failed), "exit_code": 1})

    listed = CliRunner().invoke(run_command, [str(path), "--dry-run"])
    assert listed.exit_code == 0, listed.output
    assert done.label + "\n" not in listed.output and failed.label + "\n" in listed.output
    status = CliRunner().invoke(status_command, [str(path)])
    assert status.exit_code == 0, status.output
    lines = {line.split("  ")[0]: line for line in status.output.splitlines()}
    assert "done" in lines[done.label] and "DPHuBERT: 1.2M params" in lines[done.label]
    assert "failed" in lines[failed.label] and str(failed.log) in lines[failed.label]
    assert status.output.splitlines()[-1] == f"1 done, 1 failed, {len(jobs) - 2} missing"


def test_the_shipped_study_plan_expands():
    plan = load_plan(Path(__import__("dpbench").__file__).parent / "plans" / "study.yaml")
    jobs = expand(plan)
    assert sum(job.kind == "compress" for job in jobs) == 2 * 3 * 2  # teachers x methods x variants
    assert sum(job.kind == "superb" for job in jobs) == (2 + 12) * 10 and plan.launcher == "slurm"


def test_running_a_finished_plan_runs_nothing(tmp_path):
    path = write_plan(tmp_path, PLAN.replace("launcher: slurm", "launcher: local"))
    jobs = expand(load_plan(path))
    for job in jobs:
        atomic_write_json(job.marker, {"args": command_of(job)})
    result = CliRunner().invoke(run_command, [str(path), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert f"0 jobs run, {len(jobs)} already done" in result.output
    assert not (tmp_path / "study" / "logs").exists()
