"""The Slurm launcher against a real one-node Slurm cluster on localhost (tests/slurm_cluster.py:
Debian's slurm-wlm and munge, which setup.sh installs), on the scenario the local launcher passes
too (tests/launcher_cases.py): an array, dependencies, a failed job's dependents cancelled by Slurm,
a resubmission of only what is missing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from launcher_cases import OK, check_launcher, scenario_jobs
from slurm_cluster import SlurmCluster, missing_binaries, start_cluster

from dpbench.jobs import Job, is_done
from dpbench.plan.slurm import SlurmLauncher
from dpbench.plan.spec import Resources, SlurmOptions


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """munged + slurmctld + slurmd under a temporary folder, stopped after the session."""
    missing = missing_binaries()
    if missing:
        pytest.skip(
            f"Slurm test cluster needs {', '.join(missing)}: install Debian's slurm-wlm and munge (setup.sh does)"
        )
    if os.geteuid() != 0:
        pytest.skip("the Slurm test cluster runs slurmd, which must run as root (CI and setup.sh machines are)")
    cluster = start_cluster(tmp_path_factory.mktemp("slurm"), cpus=os.cpu_count() or 2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLURM_CONF", cluster.env["SLURM_CONF"])
        patch.setenv("PATH", cluster.env["PATH"])
        try:
            yield cluster
        finally:
            cluster.stop()


@pytest.mark.timeout(300)
def test_slurm_launcher_runs_cancels_and_resubmits_only_what_is_missing(slurm_cluster, tmp_path):
    options = SlurmOptions(
        partition="debug",
        array_parallelism=2,
        sbatch=["--comment=dpbench-test"],
        resources={"superb": Resources(mem="100M", time=5), "compress": Resources(time=5), "report": Resources(time=5)},
    )
    launcher = SlurmLauncher(options, tmp_path, poll_s=1.0)
    try:
        check_launcher(launcher, tmp_path)
    except AssertionError:
        print(slurm_cluster.log_tail())
        raise
    # the first round's three independent SUPERB jobs went in as one array: ids ID_0, ID_1, ID_2
    ids = json.loads((tmp_path / "jobs" / "slurm.json").read_text())
    assert len({ids[f"a{index}"].split("_")[0] for index in range(3)}) == 1
    assert sorted(ids[f"a{index}"].split("_")[1] for index in range(3)) == ["0", "1", "2"]
    scripts = "\n".join(path.read_text() for path in (tmp_path / "slurm").glob("*submission_file*.sh"))
    assert "#SBATCH --dependency=afterok:" in scripts and "#SBATCH --dependency=afterany:" in scripts
    assert "#SBATCH --kill-on-invalid-dep=yes" in scripts and "#SBATCH --comment=dpbench-test" in scripts
    states = launcher.queue_states(scenario_jobs(tmp_path, OK))  # what `dpbench status` shows besides markers
    assert states and set(states.values()) == {"COMPLETED"}


@pytest.mark.timeout(120)
def test_a_compression_runs_one_process_per_task_and_task_zero_marks_it_done(slurm_cluster, tmp_path):
    # `compress --help` accepts the --num-nodes/--devices the launcher adds for Lightning, and exits 0
    job = Job(
        "ddp",
        ["compress", "--help"],
        tmp_path / "logs" / "ddp.log",
        marker=tmp_path / "jobs" / "ddp.json",
        kind="compress",
    )
    options = SlurmOptions(resources={"compress": Resources(tasks=2, time=5)})
    outcome = SlurmLauncher(options, tmp_path, poll_s=1.0).launch([job], wait=True)
    assert outcome.failed == [] and is_done(job)
    assert "Usage" in job.log.read_text() and "Usage" in (tmp_path / "logs" / "ddp.log.task1").read_text()
    script = next((tmp_path / "slurm").glob("*submission_file*.sh")).read_text()
    assert "#SBATCH --ntasks-per-node=2" in script


def test_slurm_parameters_carry_every_option():
    options = SlurmOptions(
        partition="gpu",
        account="speech",
        array_parallelism=8,
        sbatch=["--qos=high", "--exclusive"],
        resources={"compress": Resources(nodes=2, gpus=4, cpus=8, mem="200G", time=720)},
    )
    launcher = SlurmLauncher(options, Path("/tmp/unused"))
    params = launcher.parameters("compress", options.resources["compress"], ["12", "13_2"], after_failures=False)
    assert params["nodes"] == 2 and params["ntasks_per_node"] == 4 and params["gpus_per_node"] == 4
    assert params["cpus_per_task"] == 8 and params["mem"] == "200G" and params["time"] == 720
    assert params["partition"] == "gpu" and params["account"] == "speech" and params["array_parallelism"] == 8
    assert params["dependency"] == "afterok:12:13_2"
    assert params["additional_parameters"] == {"kill_on_invalid_dep": "yes", "qos": "high", "exclusive": True}
    report = launcher.parameters("report", Resources(), ["12"], after_failures=True)
    assert report["dependency"] == "afterany:12" and "gpus_per_node" not in report and report["ntasks_per_node"] == 1
