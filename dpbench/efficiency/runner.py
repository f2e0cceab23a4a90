"""Measuring several models fairly: each in its own worker process, all loaded at once, their
timed forwards interleaved round by round (the order rotating each round), after warm-up."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from dpbench.efficiency.records import Measurement
from dpbench.efficiency.specs import ModelSpec
from dpbench.errors import DpbenchError


@dataclass(frozen=True)
class Settings:
    """What to measure and how often."""

    clip_seconds: float = 4.0
    batches: tuple[int, ...] = (1, 8)
    devices: tuple[str, ...] = ("cpu",)
    rounds: int = 7
    warmup: int = 2
    threads: int = 1


class Contender:
    """One worker process holding one model; requests are answered one at a time."""

    def __init__(self, spec: ModelSpec, threads: int, log: Path) -> None:
        self.spec, self.log = spec, log
        self._log_handle = open(log, "w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dpbench.efficiency.worker", spec.source, str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_handle,
            text=True,
            bufsize=1,
        )
        self._reply()  # {"ready": true} once the model is loaded

    def _reply(self) -> dict[str, Any]:
        line = self.process.stdout.readline()
        reply = json.loads(line) if line else {"error": f"the worker exited (code {self.process.wait()})"}
        if "error" in reply:
            self.close()
            tail = "".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines(True)[-15:])
            raise DpbenchError(f"measuring {self.spec.source!r} failed: {reply['error']}\n{tail}")
        return reply

    def ask(self, **request: Any) -> dict[str, Any]:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._reply()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.process.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_handle.close()


@contextmanager
def contenders(specs: list[ModelSpec], threads: int, progress: tqdm) -> Iterator[list[Contender]]:
    """Start one worker per model (loading one after another, so loads do not compete)."""
    with tempfile.TemporaryDirectory(prefix="dpbench-efficiency-") as logs, ExitStack() as stack:
        started = []
        for index, spec in enumerate(specs):
            progress.set_postfix_str(f"loading {spec.name}")
            contender = Contender(spec, threads, Path(logs) / f"{index}.log")
            stack.callback(contender.close)
            started.append(contender)
            progress.update()
        yield started


def measure(specs: list[ModelSpec], settings: Settings) -> list[Measurement]:
    """Counts, timed forwards and peak memory of every model on every device at every batch size."""
    cases = [(device, batch) for device in settings.devices for batch in settings.batches]
    steps = len(specs) * (2 + len(cases) * (settings.warmup + settings.rounds + 1))
    times: dict[tuple[int, str, int], list[float]] = {}
    with (
        tqdm(total=steps, desc="efficiency", unit="step", file=sys.stderr) as progress,
        contenders(specs, settings.threads, progress) as workers,
    ):
        counts = []
        for worker in workers:
            progress.set_postfix_str(f"counting {worker.spec.name}")
            counts.append(worker.ask(op="describe"))
            progress.update()
        for round_index in range(settings.warmup + settings.rounds):
            timed = round_index >= settings.warmup
            shift = round_index % len(workers)
            for index in [*range(shift, len(workers)), *range(shift)]:
                progress.set_postfix_str(f"{'round' if timed else 'warm-up'} {round_index + 1}: {specs[index].name}")
                for device, batch in cases:
                    reply = workers[index].ask(op="time", batch=batch, seconds=settings.clip_seconds, device=device)
                    if timed:
                        times.setdefault((index, device, batch), []).append(reply["seconds"])
                    progress.update()
        results = []
        for index, worker in enumerate(workers):
            progress.set_postfix_str(f"memory of {worker.spec.name}")
            for device, batch in cases:
                peak = worker.ask(op="memory", batch=batch, seconds=settings.clip_seconds, device=device)
                progress.update()
                results.append(
                    Measurement(
                        spec=worker.spec,
                        params=int(counts[index]["params"]),
                        macs=float(counts[index]["macs"]),
                        device=device,
                        batch=batch,
                        clip_seconds=settings.clip_seconds,
                        threads=settings.threads,
                        forward_seconds=tuple(times[(index, device, batch)]),
                        peak_bytes=peak["peak_bytes"],
                    )
                )
    return results
