"""The Slurm launcher: every job of the plan a Slurm job submitted through submitit, jobs of one kind
that need the same jobs grouped into one array, dependencies handed to Slurm (`afterok`; the report
`afterany`), and `--kill-on-invalid-dep=yes` so the dependents of a failed job are cancelled rather
than left pending. A compression asks for `nodes` x `tasks` processes (default one per GPU), which
Lightning's SLURM support joins into one DDP run. The label -> Slurm job id map is kept in
OUT/jobs/slurm.json (written by the submitting process only) so a re-run can tell what is queued."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_json
from dpbench.jobs import Job, execute, is_done
from dpbench.plan.launch import Outcome, to_run
from dpbench.plan.spec import Resources, SlurmOptions

ACTIVE_STATES = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED"}


class SlurmLauncher:
    name = "slurm"

    def __init__(self, options: SlurmOptions, out: Path, poll_s: float = 5.0) -> None:
        self.options, self.poll_s = options, poll_s
        self.folder = out / "slurm"  # submitit's pickles and the Slurm stdout/stderr of each job
        self.record = out / "jobs" / "slurm.json"

    def launch(self, jobs: list[Job], wait: bool = False) -> Outcome:
        import submitit

        recorded = self._recorded()
        states = squeue_states(list(recorded.values()))
        active = {label for label, job_id in recorded.items() if states.get(job_id) in ACTIVE_STATES}
        chosen = to_run(jobs, active)
        ids = {label: recorded[label] for label in active}
        remaining = list(chosen)  # in topological order (to_run keeps the plan's order: needs come first)
        submitted: list[str] = []
        while remaining:
            first = next(job for job in remaining if all(need in ids or _done_need(need, jobs) for need in job.needs))
            group = [
                job
                for job in remaining
                if _group_key(job) == _group_key(first)
                and all(need in ids or _done_need(need, jobs) for need in job.needs)
            ]
            handles = self._submit(submitit, group, [ids[need] for need in first.needs if need in ids])
            for job, handle in zip(group, handles):
                ids[job.label] = handle.job_id
                remaining.remove(job)
                submitted.append(job.label)
            atomic_write_json(self.record, {**recorded, **ids})
        if not wait:
            return Outcome(submitted, [], waited=False)
        self.wait([ids[label] for label in submitted])
        by_label = {job.label: job for job in jobs}
        return Outcome(submitted, [label for label in submitted if not is_done(by_label[label])], waited=True)

    def _submit(self, submitit, group: list[Job], after: list[str]) -> list:
        kind = group[0].kind
        resources = self.options.resources.get(kind, Resources())
        executor = submitit.SlurmExecutor(folder=self.folder, max_num_timeout=0)
        executor.update_parameters(**self.parameters(kind, resources, after, group[0].after_failures))
        commands = [self._with_hardware(job, resources) for job in group]
        if len(commands) == 1:
            return [executor.submit(run_job, commands[0], resources.cpus)]
        with executor.batch():
            handles = [executor.submit(run_job, job, resources.cpus) for job in commands]
        return handles

    def parameters(self, kind: str, resources: Resources, after: list[str], after_failures: bool) -> dict:
        """submitit's SlurmExecutor parameters for a job of `kind` that waits for the Slurm jobs `after`."""
        extra: dict[str, str | bool] = {"kill_on_invalid_dep": "yes"}
        for flag in self.options.sbatch:
            key, _, value = flag.removeprefix("--").partition("=")
            extra[key.replace("-", "_")] = value or True
        params: dict = {
            "job_name": f"dpbench-{kind}",
            "time": resources.time,
            "nodes": resources.nodes,
            "ntasks_per_node": _tasks_per_node(resources) if kind == "compress" else 1,
            "cpus_per_task": resources.cpus,
            "array_parallelism": self.options.array_parallelism,
            "additional_parameters": extra,
        }
        optional = {
            "gpus_per_node": resources.gpus or None,
            "mem": resources.mem,
            "partition": self.options.partition,
            "account": self.options.account,
            "dependency": f"{'afterany' if after_failures else 'afterok'}:{':'.join(after)}" if after else None,
        }
        params.update({key: value for key, value in optional.items() if value is not None})
        return params

    @staticmethod
    def _with_hardware(job: Job, resources: Resources) -> Job:
        """A compression over several GPUs or nodes tells Lightning how many (it reads the rest from Slurm)."""
        if job.kind != "compress" or (resources.nodes == 1 and _tasks_per_node(resources) == 1):
            return job
        return replace(
            job, args=[*job.args, "--num-nodes", str(resources.nodes), "--devices", str(_tasks_per_node(resources))]
        )

    def wait(self, job_ids: list[str]) -> None:
        """Return once none of `job_ids` is queued or running."""
        while any(state in ACTIVE_STATES for state in squeue_states(job_ids).values()):
            time.sleep(self.poll_s)

    def queue_states(self, jobs: list[Job]) -> dict[str, str]:
        """label -> Slurm state of each job this plan submitted that Slurm still lists."""
        recorded = self._recorded()
        states = squeue_states(list(recorded.values()))
        return {label: states[job_id] for label, job_id in recorded.items() if job_id in states}

    def _recorded(self) -> dict[str, str]:
        if not self.record.is_file():
            return {}
        return json.loads(self.record.read_text(encoding="utf-8"))


def run_job(job: Job, threads: int) -> None:
    """What a Slurm job runs: the job's command; a failure fails the Slurm job (so `afterok` holds)."""
    code = execute(job, threads)
    if code != 0:
        raise DpbenchError(f"{job.label} failed (exit code {code}); see {job.log}")


def _tasks_per_node(resources: Resources) -> int:
    return resources.tasks or max(resources.gpus, 1)


def _group_key(job: Job) -> tuple:
    return job.kind, job.needs, job.after_failures


def _done_need(label: str, jobs: list[Job]) -> bool:
    return any(job.label == label and is_done(job) for job in jobs)


def squeue_states(job_ids: list[str]) -> dict[str, str]:
    """Slurm's state of each of `job_ids` (array tasks as ID_TASK) that the controller still lists."""
    if not job_ids:
        return {}
    bases = sorted({job_id.split("_")[0] for job_id in job_ids})
    try:
        result = subprocess.run(
            ["squeue", "--array", "--states=all", "--noheader", "--format=%i %T", f"--jobs={','.join(bases)}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except FileNotFoundError:
        raise DpbenchError("squeue not found: run on a Slurm login node, or pass --launcher local") from None
    if result.returncode != 0:
        if "Invalid job id" in result.stderr:  # every id is gone from the controller's memory
            return {}
        raise DpbenchError(f"squeue failed: {result.stderr.strip()}")
    listed = dict(line.split()[:2] for line in result.stdout.splitlines() if len(line.split()) >= 2)
    return {job_id: listed[job_id] for job_id in job_ids if job_id in listed}
