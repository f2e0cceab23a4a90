"""The process that holds one model: `python -m dpbench.efficiency.worker SPEC THREADS`.

It loads the model once, then answers JSON requests, one per line on stdin, with one JSON line
each on its protocol stream (the original stdout; whatever the model's code prints goes to stderr):
  {"op": "describe"}                             -> {"params": N, "macs": M}
  {"op": "time", "batch": B, "seconds": S, "device": D}   -> {"seconds": T}
  {"op": "memory", "batch": B, "seconds": S, "device": D} -> {"peak_bytes": P or null}
Any failure is answered {"error": "..."} and ends the process."""

from __future__ import annotations

import copy
import json
import os
import sys
import traceback
from typing import Any, TextIO

import torch
from torch import nn

from dpbench.efficiency import probe
from dpbench.efficiency.specs import Forward, load, parse_spec


class Worker:
    """One loaded model, with a copy per device and the input clips cached per (batch, seconds, device)."""

    def __init__(self, module: nn.Module, forward: Forward) -> None:
        self.modules = {"cpu": module}
        self.forward = forward
        self.clips: dict[tuple[int, float, str], torch.Tensor] = {}

    def _on(self, device: str) -> nn.Module:
        if device not in self.modules:
            self.modules[device] = copy.deepcopy(self.modules["cpu"]).to(device)
        return self.modules[device]

    def _clip(self, batch: int, seconds: float, device: str) -> torch.Tensor:
        key = (batch, seconds, device)
        if key not in self.clips:
            self.clips[key] = probe.noise(batch, seconds, device)
        return self.clips[key]

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request["op"]
        if op == "describe":
            return probe.describe(self.modules["cpu"], self.forward)
        device = request["device"]
        module, wavs = self._on(device), self._clip(request["batch"], request["seconds"], device)
        if op == "time":
            return {"seconds": probe.time_forward(module, self.forward, wavs)}
        if op == "memory":
            return {"peak_bytes": probe.forward_peak_bytes(module, self.forward, wavs)}
        raise ValueError(f"unknown request {op!r}")


def _protocol_stream() -> TextIO:
    """The original stdout as the protocol stream; fd 1 then points at stderr for everything else."""
    stream = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream


def main(spec_text: str, threads: int) -> None:
    replies = _protocol_stream()
    torch.set_num_threads(threads)
    try:
        worker = Worker(*load(parse_spec(spec_text)))
        replies.write(json.dumps({"ready": True}) + "\n")
        for line in sys.stdin:
            request = json.loads(line)
            if request["op"] == "quit":
                return
            replies.write(json.dumps(worker.answer(request)) + "\n")
    except Exception as error:  # reported to the parent, which names the model and shows the log
        traceback.print_exc()
        replies.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
