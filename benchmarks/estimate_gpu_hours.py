"""A100-hours per stage of the paper's study, from the paper's one reported cost and CPU timings.

How the scaling works (the script prints each factor):
1. The paper reports one cost: a DPHuBERT compression of HuBERT Base takes about 6 h on 4 A100s
   (50k + 25k steps of 640 s of audio each: 160 s per GPU), which prices one second of audio through
   a compression step in A100-seconds.
2. A SUPERB training step spends its time in a frozen forward of the upstream. This script times,
   interleaved in one process on one CPU thread (medians after a warm-up, so machine load cancels in
   the ratio), a compression step (benchmarks/bench_compress_step.py's, HuBERT Base, 2 x 4 s) and a
   frozen HuBERT Base forward of the same audio: their ratio is what a SUPERB audio-second costs
   relative to a compression audio-second, assumed to hold on a GPU as on the CPU.
3. Each task's paper-scale training reads steps x batch x accumulation x mean utterance length of
   audio (dpbench/superb/downstream_configs/<task>_paper.yaml; mean lengths are public corpus statistics, rounded).
   Not counted: dev/test passes, the downstream model and data loading, so SUPERB figures are lower
   bounds; a DPHuBERT student (about a quarter of Base's MACs) runs its SUPERB tasks cheaper than this
   teacher-size figure, which is what the table uses for every model.

    .venv/bin/python benchmarks/estimate_gpu_hours.py --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import yaml
from bench_compress_step import make_step

from dpbench.models import build_encoder, hubert_base_config
from dpbench.superb.configs import CONFIG_DIR

PAPER_COMPRESS_GPU_HOURS = 6.0 * 4  # about 6 h on 4 A100s (DPHuBERT, HuBERT Base)
PAPER_COMPRESS_STEPS = 50_000 + 25_000
PAPER_STEP_AUDIO_S = 4 * 160.0
BATCH, SECONDS = 2, 4.0  # the audio of each timed step and forward
# Mean training-utterance length (seconds) of each SUPERB corpus as the tasks read it (public corpus
# statistics, rounded; SID/ASV train on VoxCeleb1 utterances, SD on LibriMix mixtures).
MEAN_SECONDS = {
    "KS": 1.0,
    "IC": 2.3,
    "SID": 8.2,
    "ER": 4.5,
    "PR": 12.3,
    "ASR": 12.3,
    "SF": 3.0,
    "ASV": 8.2,
    "SD": 8.0,
    "QbE": 0.0,
}


def find(tree, key: str):
    """The first value of `key` anywhere in a nested config."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        for value in tree.values():
            found = find(value, key)
            if found is not None:
                return found
    return None


def train_audio_hours(task: str) -> tuple[int, int, int, float]:
    """(steps, batch, accumulation, hours of audio the training reads) of the task's paper config."""
    config = yaml.safe_load((CONFIG_DIR / f"{task.lower()}_paper.yaml").read_text())
    steps = int(find(config, "total_steps") or 0)
    batch = int(
        find(config, "train_batch_size")
        or find(config.get("train", {}), "batch_size")
        or find(config, "batch_size")
        or 1
    )
    accumulate = int(find(config, "gradient_accumulate_steps") or 1)
    return steps, batch, accumulate, steps * batch * accumulate * MEAN_SECONDS[task] / 3600


def time_once(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (after one warm-up round)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    step, _, _ = make_step("base", torch.device("cpu"), BATCH, SECONDS, "fp32")
    model = build_encoder(hubert_base_config()).eval().requires_grad_(False)
    wavs = torch.randn(BATCH, int(SECONDS * 16000))
    lengths = torch.full((BATCH,), wavs.shape[1])

    def forward() -> None:
        with torch.no_grad():
            model(wavs, lengths)

    step(), forward()  # warm-up
    steps, forwards = [], []
    for _ in range(args.repeats):
        steps.append(time_once(step))
        forwards.append(time_once(forward))
    step_s, forward_s = statistics.median(steps), statistics.median(forwards)
    ratio = forward_s / step_s
    gpu_per_audio = PAPER_COMPRESS_GPU_HOURS * 3600 / (PAPER_COMPRESS_STEPS * PAPER_STEP_AUDIO_S)
    print(
        f"one CPU thread, {BATCH} x {SECONDS:g} s: compression step {step_s:.2f} s, frozen forward {forward_s:.2f} s "
        f"(medians of {args.repeats}); forward / step = {ratio:.3f}"
    )
    print(
        f"paper: {gpu_per_audio * 1e3:.2f} A100-ms per audio-second of compression, so "
        f"{gpu_per_audio * ratio * 1e3:.3f} A100-ms per audio-second of a SUPERB step"
    )
    print("\n| stage | work (paper scale) | audio read (h) | A100-hours |\n|---|---|---|---|")
    print(
        f"| compression (each student) | {PAPER_COMPRESS_STEPS:,} steps x {PAPER_STEP_AUDIO_S:g} s | "
        f"{PAPER_COMPRESS_STEPS * PAPER_STEP_AUDIO_S / 3600:,.0f} | {PAPER_COMPRESS_GPU_HOURS:.0f} (paper) |"
    )
    total = 0.0
    for task in MEAN_SECONDS:
        task_steps, batch, accumulate, hours = train_audio_hours(task)
        gpu_hours = hours * gpu_per_audio * ratio
        total += gpu_hours
        work = f"{task_steps:,} steps x {batch} x {accumulate}" if task_steps else "no training (DTW)"
        print(f"| SUPERB {task} (each model and lr) | {work} | {hours:,.0f} | {gpu_hours:.1f} |")
    print(f"| SUPERB, ten tasks (each model and lr) | | | {total:.0f} |")


if __name__ == "__main__":
    main()
