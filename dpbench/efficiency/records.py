"""Efficiency records in the results store: one per (model, device, batch size), kind "efficiency".

The fields are defined here once, for the writer (`dpbench efficiency`) and the report's readers.
SUPERB readers never see these records: `ResultsStore.records()` returns SUPERB records unless
asked for another kind."""

from __future__ import annotations

import platform
from dataclasses import dataclass

import numpy as np
import torch

from dpbench.efficiency.specs import ModelSpec

EFFICIENCY_KIND = "efficiency"
EFFICIENCY_FIELDS = (
    "kind",  # "efficiency"
    "upstream",  # display name, as `dpbench superb` records it
    "upstream_path",  # the model spec that was measured
    "params",  # parameters (a supernet: its sampled subnet)
    "macs",  # MACs per second of 16 kHz audio (dpbench.efficiency.macs convention)
    "device",  # "cpu" or "cuda"
    "batch",  # clips per forward
    "clip_seconds",  # length of each clip
    "threads",  # torch CPU threads
    "rounds",  # timed forwards (the spread is over these)
    "rtf",  # real-time factor: median forward seconds / (batch x clip seconds)
    "rtf_q1",  # first quartile of the real-time factor
    "rtf_q3",  # third quartile
    "peak_memory_mb",  # forward's peak memory over the loaded model (MiB), None if not measurable
    "host",  # CPU or GPU name
    "torch",  # torch version
)


@dataclass(frozen=True)
class Measurement:
    """One model on one device at one batch size: its counts and its timed forwards."""

    spec: ModelSpec
    params: int
    macs: float
    device: str
    batch: int
    clip_seconds: float
    threads: int
    forward_seconds: tuple[float, ...]
    peak_bytes: int | None

    def rtf_quartiles(self) -> tuple[float, float, float]:
        """(q1, median, q3) of the real-time factor over the timed forwards."""
        audio = self.batch * self.clip_seconds
        q1, median, q3 = np.percentile(np.asarray(self.forward_seconds) / audio, [25, 50, 75])
        return float(q1), float(median), float(q3)


def host_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else platform.processor() or platform.machine()


def to_record(measurement: Measurement) -> dict[str, object]:
    q1, median, q3 = measurement.rtf_quartiles()
    peak = measurement.peak_bytes
    return {
        "kind": EFFICIENCY_KIND,
        "upstream": measurement.spec.name,
        "upstream_path": measurement.spec.source,
        "params": measurement.params,
        "macs": measurement.macs,
        "device": measurement.device,
        "batch": measurement.batch,
        "clip_seconds": measurement.clip_seconds,
        "threads": measurement.threads,
        "rounds": len(measurement.forward_seconds),
        "rtf": median,
        "rtf_q1": q1,
        "rtf_q3": q3,
        "peak_memory_mb": None if peak is None else peak / 2**20,
        "host": host_name(measurement.device),
        "torch": torch.__version__,
    }
