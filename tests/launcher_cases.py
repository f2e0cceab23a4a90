"""One scenario both launchers must pass (tests/test_plan_local.py, tests/test_slurm_plan.py): cheap
`dpbench` commands as jobs, with a three-job array, a job after one array task, a failing job whose
dependents are cancelled, a report that runs after all of them anyway, then a resubmission of only
what is missing, then one of nothing."""

from __future__ import annotations

from pathlib import Path

from dpbench.jobs import Job, is_done, marker_info
from dpbench.plan.launch import Launcher

OK = ["--version"]
FAILS = ["no-such-command"]


def scenario_jobs(root: Path, broken_args: list[str]) -> list[Job]:
    def job(label: str, kind: str, args: list[str], needs: tuple[str, ...] = (), after_failures: bool = False) -> Job:
        return Job(
            label,
            args,
            root / "logs" / f"{label}.log",
            1.0,
            needs,
            marker=root / "jobs" / f"{label}.json",
            kind=kind,
            after_failures=after_failures,
        )

    jobs = [job(f"a{index}", "superb", OK) for index in range(3)]
    jobs += [
        job("broken", "compress", broken_args),
        job("after-a1", "superb", OK, ("a1",)),
        job("after-broken-1", "superb", OK, ("broken",)),
        job("after-broken-2", "superb", OK, ("broken",)),
    ]
    jobs.append(job("report", "report", OK, tuple(j.label for j in jobs), after_failures=True))
    return jobs


def check_launcher(launcher: Launcher, root: Path) -> None:
    first = launcher.launch(scenario_jobs(root, FAILS), wait=True)
    jobs = {job.label: job for job in scenario_jobs(root, FAILS)}
    assert sorted(first.submitted) == sorted(jobs)
    assert sorted(first.failed) == ["after-broken-1", "after-broken-2", "broken"]
    assert {label for label, job in jobs.items() if is_done(job)} == {"a0", "a1", "a2", "after-a1", "report"}
    assert marker_info(jobs["broken"])["state"] == "failed"
    assert marker_info(jobs["after-broken-1"]) is None  # cancelled: it never started
    assert not jobs["after-broken-1"].log.exists()
    assert "No such command" in jobs["broken"].log.read_text()

    second = launcher.launch(scenario_jobs(root, OK), wait=True)  # the broken job fixed
    assert sorted(second.submitted) == ["after-broken-1", "after-broken-2", "broken", "report"]
    assert second.failed == []
    assert all(is_done(job) for job in scenario_jobs(root, OK))

    third = launcher.launch(scenario_jobs(root, OK), wait=True)
    assert third.submitted == [] and third.failed == []
