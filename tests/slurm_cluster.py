"""A real one-node Slurm cluster on localhost for tests: munged, slurmctld and slurmd from Debian's
`munge` and `slurm-wlm` packages (setup.sh installs them), every file under one temporary folder,
ports picked free, daemons stopped (and waited for) on `stop()`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo")


def missing_binaries() -> list[str]:
    """Daemons and clients this cluster needs that are not on PATH (nor in /usr/sbin)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [name for name in BINARIES if shutil.which(name, path=path) is None]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _slurm_conf(root: Path, host: str, munge_socket: Path, cpus: int, memory_mb: int) -> str:
    return "\n".join(
        [
            "ClusterName=dpbenchtest",
            f"SlurmctldHost={host}(127.0.0.1)",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"AuthInfo=socket={munge_socket}",
            f"StateSaveLocation={root / 'state'}",
            f"SlurmdSpoolDir={root / 'spool'}",
            f"SlurmctldPidFile={root / 'slurmctld.pid'}",
            f"SlurmdPidFile={root / 'slurmd.pid'}",
            f"SlurmctldLogFile={root / 'slurmctld.log'}",
            f"SlurmdLogFile={root / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=1",
            "MinJobAge=600",
            "KillWait=2",
            f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
            "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4",
            "",
        ]
    )


@dataclass
class SlurmCluster:
    """The running daemons and the environment a client needs (SLURM_CONF) to reach them."""

    root: Path
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)

    def stop(self) -> None:
        """Cancel what is still queued, then stop slurmd, slurmctld and munged (newest first)."""
        subprocess.run(
            ["scancel", "--full", "--user", os.environ.get("USER", "root")],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of each daemon's log, for a failure message."""
        parts = []
        for name in ("munged.log", "slurmctld.log", "slurmd.log"):
            path = self.root / name
            if path.is_file():
                parts.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(parts)


def start_cluster(root: Path, cpus: int = 2, memory_mb: int = 2048, timeout_s: float = 60.0) -> SlurmCluster:
    """Start munged, slurmctld and slurmd under `root`; return once the node accepts jobs."""
    sbin = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    root.mkdir(parents=True, exist_ok=True)
    for folder in ("state", "spool", "munge"):
        (root / folder).mkdir(exist_ok=True)
    os.chmod(root / "munge", 0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    os.chmod(key, 0o400)
    munge_socket = root / "munge" / "munge.socket"
    host = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(_slurm_conf(root, host, munge_socket, cpus, memory_mb))
    env = dict(os.environ, SLURM_CONF=str(conf), PATH=sbin)
    cluster = SlurmCluster(root, env)
    logs = open(root / "daemons.out", "ab")
    try:
        cluster.processes.append(
            subprocess.Popen(
                [
                    "munged",
                    "--foreground",
                    "--force",
                    f"--key-file={key}",
                    f"--socket={munge_socket}",
                    f"--pid-file={root / 'munge' / 'munged.pid'}",
                    f"--log-file={root / 'munged.log'}",
                    f"--seed-file={root / 'munge' / 'munged.seed'}",
                ],
                env=env,
                stdout=logs,
                stderr=logs,
            )
        )
        _wait(lambda: munge_socket.exists(), timeout_s, "munged did not open its socket", cluster)
        cluster.processes.append(subprocess.Popen(["slurmctld", "-D", "-i"], env=env, stdout=logs, stderr=logs))
        _wait(lambda: _ok(["scontrol", "ping"], env, "UP"), timeout_s, "slurmctld did not answer", cluster)
        cluster.processes.append(subprocess.Popen(["slurmd", "-D", "-N", host], env=env, stdout=logs, stderr=logs))
        _wait(lambda: _ok(["sinfo", "-h", "-o", "%t"], env, "idle"), timeout_s, "the node did not come up", cluster)
    except BaseException:
        cluster.stop()
        raise
    finally:
        logs.close()
    return cluster


def _ok(command: list[str], env: dict[str, str], expected: str) -> bool:
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30, check=False)
    return result.returncode == 0 and expected in result.stdout


def _wait(ready, timeout_s: float, what: str, cluster: SlurmCluster) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if any(process.poll() is not None for process in cluster.processes):
            raise RuntimeError(f"{what}: a daemon exited\n{cluster.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {timeout_s:.0f} s\n{cluster.log_tail()}")
        time.sleep(0.3)
