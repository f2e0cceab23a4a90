"""The demo's job runner: order by the longest chain of work, needs respected, failures propagate."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpbench import jobs as jobs_module
from dpbench.errors import DpbenchError
from dpbench.jobs import Job, critical_paths, run_jobs


def job(label: str, seconds: float, needs: tuple[str, ...] = (), log: Path = Path("/dev/null")) -> Job:
    return Job(label, [label], log, seconds, needs)


def test_critical_paths_add_the_longest_chain_of_dependents():
    plan = [job("compress", 100), job("asr", 360, ("compress",)), job("ks", 50, ("compress",)), job("teacher", 360)]
    assert critical_paths(plan) == {"compress": 460, "asr": 360, "ks": 50, "teacher": 360}
    with pytest.raises(DpbenchError, match="not a job"):
        critical_paths([job("ks", 50, ("missing",))])


def test_jobs_start_longest_chain_first_after_their_needs(monkeypatch, tmp_path):
    started: list[str] = []

    def fake_run(j: Job) -> int:
        started.append(j.label)
        return 1 if j.label == "broken" else 0

    monkeypatch.setattr(jobs_module, "_run_job", fake_run)
    plan = [
        job("teacher-ks", 50),
        job("teacher-asr", 360),
        job("compress", 100),
        job("broken", 100),
        job("student-asr", 400, ("compress",)),
        job("orphan", 50, ("broken",)),
    ]
    report = job("report", 10, ("orphan", "teacher-ks"))
    report.after_failures = True
    failed = run_jobs([*plan, report], workers=1, what="test")
    assert started == ["compress", "student-asr", "teacher-asr", "broken", "teacher-ks", "report"]
    assert sorted(j.label for j in failed) == ["broken", "orphan"]


def test_execute_publishes_and_marks_a_success_and_marks_a_failure(tmp_path):
    published: list[str] = []
    good = Job(
        "version",
        ["--version"],
        tmp_path / "logs" / "v.log",
        marker=tmp_path / "jobs" / "v.json",
        on_success=lambda: published.append("yes"),
    )
    assert not jobs_module.is_done(good)
    assert jobs_module.execute(good) == 0
    assert published == ["yes"] and jobs_module.is_done(good)
    assert "version" in jobs_module.marker_info(good)["result"]
    good.args = ["--version", "--help"]  # another command: the old marker no longer makes it done
    assert not jobs_module.is_done(good)

    bad = Job(
        "bad",
        ["no-such-command"],
        tmp_path / "logs" / "b.log",
        marker=tmp_path / "jobs" / "b.json",
        on_success=lambda: published.append("no"),
    )
    assert jobs_module.execute(bad) != 0
    assert published == ["yes"] and not jobs_module.is_done(bad)
    assert jobs_module.marker_info(bad)["state"] == "failed"
    assert "No such command" in bad.log.read_text()
