"""Measurements of one loaded model, made inside its own process: parameters,
MACs per second of audio, forward seconds, and the forward's peak memory."""

from __future__ import annotations

import ctypes
import time

import torch
from torch import nn

from dpbench.efficiency.macs import macs_per_second
from dpbench.efficiency.specs import Forward
from dpbench.models.complexity import MACS_CLIP_SECONDS, SAMPLE_RATE

_PROC_STATUS = "/proc/self/status"


def noise(batch: int, seconds: float, device: str = "cpu") -> torch.Tensor:
    """A fixed (batch, samples) clip of Gaussian noise."""
    wavs = torch.randn(batch, int(seconds * SAMPLE_RATE), generator=torch.Generator().manual_seed(batch))
    return wavs.to(device)


def parameter_count(module: nn.Module) -> int:
    """Parameters of `module`; a supernet that runs a sampled subnet on slices of its weights
    (LightHuBERT) counts that subnet by its own `calc_sampled_param_num`, as its authors publish."""
    total = sum(p.numel() for p in module.parameters())
    inside_supernet: set[int] = set()
    for part in module.modules():  # parents come before their children
        if id(part) in inside_supernet or not callable(getattr(part, "calc_sampled_param_num", None)):
            continue
        inside_supernet.update(id(child) for child in part.modules())
        total += int(part.calc_sampled_param_num()) - sum(p.numel() for p in part.parameters())
    return total


def describe(module: nn.Module, forward: Forward) -> dict[str, float]:
    """Parameters and MACs per second of audio, counted on a clip of the length
    dpbench's formulas use (attention's share grows with length)."""
    return {"params": parameter_count(module), "macs": macs_per_second(module, forward, MACS_CLIP_SECONDS)}


def time_forward(module: nn.Module, forward: Forward, wavs: torch.Tensor) -> float:
    """Wall seconds of one forward (CUDA work waited for)."""
    cuda = wavs.is_cuda
    with torch.inference_mode():
        if cuda:
            torch.cuda.synchronize(wavs.device)
        start = time.perf_counter()
        forward(module, wavs)
        if cuda:
            torch.cuda.synchronize(wavs.device)
        return time.perf_counter() - start


def status_bytes(field: str) -> int:
    """A size field of /proc/self/status (e.g. VmRSS, VmHWM) in bytes."""
    with open(_PROC_STATUS, encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{_PROC_STATUS} has no {field}")


def _release_free_heap() -> None:
    """Give the C heap's free pages back to the system (glibc), so RSS holds only live memory and the
    forward's peak is not hidden by pages an earlier forward left mapped."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the measured peak may be low by the heap's free pages
        pass


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); False where not allowed."""
    _release_free_heap()
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def forward_peak_bytes(module: nn.Module, forward: Forward, wavs: torch.Tensor) -> int | None:
    """Memory the forward adds at its peak over what the loaded model holds: CUDA's peak allocation,
    or on CPU this process's resident-set high-water mark (VmHWM) over its RSS before the forward.

    None on CPU when the high-water mark cannot be reset and the forward did not raise it."""
    with torch.inference_mode():
        if wavs.is_cuda:
            torch.cuda.synchronize(wavs.device)
            torch.cuda.reset_peak_memory_stats(wavs.device)
            before = torch.cuda.memory_allocated(wavs.device)
            forward(module, wavs)
            torch.cuda.synchronize(wavs.device)
            return torch.cuda.max_memory_allocated(wavs.device) - before
        reset = reset_peak_rss()
        before, peak_before = status_bytes("VmRSS"), status_bytes("VmHWM")
        forward(module, wavs)
        peak = status_bytes("VmHWM")
    if not reset and peak <= peak_before:
        return None
    return peak - before
