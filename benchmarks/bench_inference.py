"""Inference speed (real-time factor) and peak memory of encoders on CPU, next to their MACs.

Each (model, batch size) is measured in a fresh subprocess, so peak RSS belongs to that forward
pass alone. Usage:
    python benchmarks/bench_inference.py tiny-hubert runs/demo/compress/dphubert/student.pt ...
        [--seconds 4] [--batches 1 8] [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def measure(spec: str, batch: int, seconds: float, repeats: int, threads: int) -> dict:
    """Run in a child process: load `spec`, time `repeats` forwards, report RTF and peak memory."""
    import torch

    from dpbench.models import count_macs, count_params
    from dpbench.teachers import load_model

    torch.set_num_threads(threads)
    model = load_model(spec).eval()
    wavs = torch.randn(batch, int(seconds * 16000))
    with torch.inference_mode():
        model(wavs)  # warm-up
        base_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(wavs)
            times.append(time.perf_counter() - start)
    peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    median = statistics.median(times)
    return {
        "model": spec,
        "batch": batch,
        "params_M": count_params(model.config) / 1e6,
        "GMACs_per_s": count_macs(model.config) / 1e9,
        "median_s": median,
        "rtf": median / (batch * seconds),
        "peak_rss_MB": peak_rss_kb / 1024,
        "forward_extra_MB": max(peak_rss_kb - base_rss_kb, 0) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="teacher names or checkpoint paths; the first is the reference")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.models[0], args.batches[0], args.seconds, args.repeats, args.threads)))
        return
    rows = []
    for spec in args.models:
        for batch in args.batches:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    spec,
                    "--child",
                    "--batches",
                    str(batch),
                    "--seconds",
                    str(args.seconds),
                    "--repeats",
                    str(args.repeats),
                    "--threads",
                    str(args.threads),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    reference = {row["batch"]: row for row in rows if row["model"] == args.models[0]}
    print(f"CPU, {args.threads} threads, {args.seconds:g} s clips, median of {args.repeats} runs")
    header = (
        "| model | batch | params (M) | GMACs/s | MACs ratio | RTF | speed-up | peak RSS (MB) | forward extra (MB) |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for row in rows:
        ref = reference[row["batch"]]
        print(
            f"| {row['model']} | {row['batch']} | {row['params_M']:.2f} | {row['GMACs_per_s']:.2f} | "
            f"{row['GMACs_per_s'] / ref['GMACs_per_s']:.2f} | {row['rtf']:.4f} | {ref['rtf'] / row['rtf']:.2f}x | "
            f"{row['peak_rss_MB']:.0f} | {row['forward_extra_MB']:.0f} |"
        )


if __name__ == "__main__":
    main()
