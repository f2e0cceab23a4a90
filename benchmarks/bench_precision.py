"""`--precision bf16-mixed` on CPU: step time of one distill + prune step (bench_compress_step.py's step, fp32
and bf16 autocast interleaved in one process, medians) and the final losses of a short tiny compress run
(`dpbench compress` with the built-in teacher on random-noise audio, once per precision, same seed).
Usage: python benchmarks/bench_precision.py [--config tiny|base] [--repeats 5] [--threads 1]
       [--stage1-steps 60] [--stage2-steps 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from bench_compress_step import make_step

PRECISIONS = {"fp32": "32-true", "bf16": "bf16-mixed"}


def step_times(config: str, repeats: int) -> dict[str, float]:
    steps = {name: make_step(config, torch.device("cpu"), 2, 4.0, name)[0] for name in PRECISIONS}
    for step in steps.values():
        step()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def final_losses(folder: Path, stage1: int, stage2: int, threads: int) -> dict[str, dict]:
    wavs = folder / "wavs"
    wavs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(16):
        sf.write(wavs / f"u{i}.wav", (rng.standard_normal(16000 + 2000 * i) * 0.1).astype("float32"), 16000)
    results = {}
    for name, precision in PRECISIONS.items():
        out = folder / name
        subprocess.run(
            [
                sys.executable,
                "-m",
                "dpbench",
                "compress",
                "--data",
                str(wavs),
                "--out",
                str(out),
                "--stage1-steps",
                str(stage1),
                "--stage2-steps",
                str(stage2),
                "--precision",
                precision,
                "--accelerator",
                "cpu",
                "--checkpoint-every",
                str(stage1 + stage2),
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": str(threads)},
        )
        summary = json.loads((out / "summary.json").read_text())
        results[name] = {"losses": summary["losses"], "params": summary["params"], "wall_s": summary["wall_time_s"]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=["tiny", "base"], default="tiny")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--stage1-steps", type=int, default=60)
    parser.add_argument("--stage2-steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    times = step_times(args.config, args.repeats)
    print(
        f"{args.config} step (2 x 4 s, CPU, {args.threads} thread(s), median of {args.repeats} interleaved; shared "
        f"machine: ratios count): fp32 {times['fp32']:.3f} s, bf16-mixed {times['bf16']:.3f} s "
        f"({times['fp32'] / times['bf16']:.2f}x)"
    )
    with tempfile.TemporaryDirectory() as folder:
        runs = final_losses(Path(folder), args.stage1_steps, args.stage2_steps, args.threads)
    print(f"tiny compress run ({args.stage1_steps} + {args.stage2_steps} steps, built-in teacher, noise audio):")
    print("| precision | stage-1 distill loss | stage-2 distill loss | student params | wall (s) |")
    print("|---|---|---|---|---|")
    for name, run in runs.items():
        losses = run["losses"]
        print(
            f"| {PRECISIONS[name]} | {losses['prune_distill_loss']:.4f} | {losses.get('final_distill_loss', 0):.4f} "
            f"| {run['params']:,} | {run['wall_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
