"""ONNX export: onnxruntime vs PyTorch real-time factor on CPU of a 75%-pruned HuBERT-Base-shaped student
(random weights; the unaligned student of bench_align.py), batch 1 and 8, interleaved in one process
(warm-up, then medians). Both get the same thread count and the same padded batch (wavs, lengths).
`--clock cpu` times the process's CPU time (with one thread: readable on a machine other jobs load).
Usage: python benchmarks/bench_onnx.py [--seconds 4] [--batches 1 8] [--repeats 3] [--threads 1] [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from bench_align import student

from dpbench.models.encoder import HiddenStates
from dpbench.models.export.onnx import export_onnx, onnx_session
from dpbench.models.pruning import Alignment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(args.threads)
    model, _ = student(0.75, Alignment())
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        path, error = export_onnx(model, Path(folder))
        print(f"export + check: {time.perf_counter() - started:.0f} s, max |onnxruntime - PyTorch| {error:.1e}")
        session = onnx_session(path, threads=args.threads)
        print(
            f"CPU, {args.threads} thread(s), {args.clock} clock, {args.seconds:g} s clips, median of "
            f"{args.repeats} interleaved runs (shared machine: ratios count)"
        )
        print("| batch | PyTorch RTF | onnxruntime RTF | onnxruntime speed-up |")
        print("|---|---|---|---|")
        for batch in args.batches:
            samples = int(args.seconds * 16000)
            wavs, lengths = torch.randn(batch, samples), torch.full((batch,), samples, dtype=torch.long)
            feeds = {"wavs": wavs.numpy(), "lengths": lengths.numpy()}
            runs = {"torch": lambda: model(wavs, lengths, HiddenStates.S3PRL), "ort": lambda: session.run(None, feeds)}
            times: dict[str, list[float]] = {name: [] for name in runs}
            with torch.inference_mode():
                for run in runs.values():
                    run()  # warm-up
                for _ in range(args.repeats):
                    for name, run in runs.items():
                        start = clock()
                        run()
                        times[name].append(clock() - start)
            torch_rtf = statistics.median(times["torch"]) / (batch * args.seconds)
            ort_rtf = statistics.median(times["ort"]) / (batch * args.seconds)
            print(f"| {batch} | {torch_rtf:.4f} | {ort_rtf:.4f} | {torch_rtf / ort_rtf:.2f}x |")


if __name__ == "__main__":
    main()
