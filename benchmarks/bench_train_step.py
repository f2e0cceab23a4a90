"""Training-step cost with the recipe's dropouts on: dpbench's gated student (eager, and compiled with
torch.compile(fullgraph=True) as `dpbench compress --compile` does) against torchaudio's HuBERT
(`hubert_base()`, or `wav2vec2_model` at the tiny shape; eager, and its forward + loss compiled with
torch.compile, graph breaks allowed), on the same batch with the same dropouts
(projection 0.1, attention 0.1, FFN-intermediate 0.0, residual 0.1; no layer drop: dpbench has none).

A step: forward, the recipe's L1 + cosine distillation loss against fixed random targets through
the same heads (layers 4, 8, 12 of 12, scaled to the depth), backward, AdamW step. The dpbench student
carries the recipe's gates (conv channels, heads, FFN units: sampled every step). Timing: contenders
interleaved in one process, one warm-up step each (the compiled one's first step is the startup cost:
wall time, with whatever torch's on-disk compile cache holds), medians. Memory (--memory): each contender
in a fresh child process, VmHWM reset after model load and one warm-up step; the figure is VmHWM minus
VmRSS before the measured step.
Usage: python benchmarks/bench_train_step.py [--shape base|tiny] [--batch 2] [--seconds 4] [--repeats 3]
       [--threads 1] [--clock wall|cpu] [--memory]
       [--contenders torchaudio "torchaudio compiled" "dpbench eager" "dpbench compiled"]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
import torchaudio

from dpbench.compress.distill import DistillHeads, DistillLoss, LossWeights, layer_to_layer_pairs
from dpbench.compress.module import student_loss
from dpbench.efficiency.probe import reset_peak_rss, status_bytes
from dpbench.models import build_encoder, hubert_base_config, tiny_config

DROPOUTS = {"projection_dropout": 0.1, "attention_dropout": 0.1, "ffn_interm_dropout": 0.0, "dropout": 0.1}
CONTENDERS = ("torchaudio", "torchaudio compiled", "dpbench eager", "dpbench compiled")


def _config(shape: str):
    config = hubert_base_config() if shape == "base" else tiny_config()
    for name, value in DROPOUTS.items():
        setattr(config, name, value)
    return config


def _torchaudio_model(config) -> torch.nn.Module:
    return torchaudio.models.wav2vec2_model(
        "group_norm",
        list(zip(config.conv_channels, config.conv_kernels, config.conv_strides, strict=True)),
        False,
        config.hidden_size,
        DROPOUTS["projection_dropout"],
        config.pos_conv_kernel,
        config.pos_conv_groups,
        config.num_layers,
        config.num_heads[0],
        DROPOUTS["attention_dropout"],
        config.ffn_dims[0],
        DROPOUTS["ffn_interm_dropout"],
        DROPOUTS["dropout"],
        False,
        0.0,
        None,
    )


def make_step(name: str, shape: str, batch: int, seconds: float) -> Callable[[], float]:
    """One training step of contender `name`; returns its loss."""
    torch.manual_seed(0)
    config = _config(shape)
    depth = config.num_layers
    pairs = layer_to_layer_pairs([[depth // 3, 2 * depth // 3, depth]])
    distill = DistillLoss(DistillHeads(pairs, config.hidden_size, config.hidden_size), LossWeights())
    wavs = torch.randn(batch, int(seconds * 16000))
    lengths = torch.full((batch,), wavs.shape[1])
    student = build_encoder(config)
    frames = int(student.output_lengths(lengths)[0])
    targets = [torch.randn(batch, frames, config.hidden_size) for _ in range(depth + 1)]
    if name.startswith("torchaudio"):
        model = _torchaudio_model(config).train()

        def torchaudio_loss() -> torch.Tensor:
            states, out_lengths = model.extract_features(wavs, lengths)
            return distill([None, *states], targets, out_lengths)[0]

        loss_fn = torch.compile(torchaudio_loss) if name == "torchaudio compiled" else torchaudio_loss
    else:
        model = student
        student.set_gates(conv=True, heads=True, attention=False, ffn_units=True, ffn=False)  # the recipe's
        student.train()
        run = torch.compile(student_loss, fullgraph=True) if name == "dpbench compiled" else student_loss

        def loss_fn() -> torch.Tensor:
            return run(student, distill, wavs, lengths, targets)[0]

    optimizer = torch.optim.AdamW(list(model.parameters()) + list(distill.parameters()), lr=1e-4)

    def step() -> float:
        loss = loss_fn()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def child_peak(name: str, args) -> dict:
    """In this (fresh) process: peak memory of one step of `name` after model load and a warm-up step."""
    step = make_step(name, args.shape, args.batch, args.seconds)
    step()
    reset = reset_peak_rss()
    before = status_bytes("VmRSS")
    step()
    return {"name": name, "peak_MiB": (status_bytes("VmHWM") - before) / 2**20, "reset": reset}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=["base", "tiny"], default="base")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="cpu: the steps' process CPU time (with 1 thread, immune to other jobs taking the cores); "
        "the first step is wall time either way",
    )
    parser.add_argument("--memory", action="store_true", help="also the peak memory of each step (child processes)")
    parser.add_argument(
        "--contenders",
        nargs="+",
        choices=CONTENDERS,
        default=list(CONTENDERS),
        help="the ratios need torchaudio and/or torchaudio compiled among them",
    )
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(child_peak(args.child, args)))
        return
    steps, startup = {}, {}
    for name in args.contenders:
        steps[name] = make_step(name, args.shape, args.batch, args.seconds)
        started = time.perf_counter()
        steps[name]()  # warm-up (compiles the compiled one)
        startup[name] = time.perf_counter() - started
    times: dict[str, list[float]] = {name: [] for name in args.contenders}
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    for _ in range(args.repeats):
        for name, step in steps.items():
            started = clock()
            step()
            times[name].append(clock() - started)
    peaks = {}
    if args.memory:
        for name in args.contenders:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    name,
                    "--shape",
                    args.shape,
                    "--batch",
                    str(args.batch),
                    "--seconds",
                    str(args.seconds),
                    "--threads",
                    str(args.threads),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            peaks[name] = json.loads(out.stdout.strip().splitlines()[-1])["peak_MiB"]
    print(
        f"{args.shape} shape, CPU, {args.threads} thread(s), {args.clock} clock, batch {args.batch} x "
        f"{args.seconds:g} s, median of {args.repeats} interleaved steps (shared machine: ratios count)"
    )
    print(
        "| contender | step (s) | vs torchaudio eager | vs torchaudio compiled | first step (s) | "
        "step peak memory (MiB) |"
    )
    print("|---|---|---|---|---|---|")
    medians = {name: statistics.median(times[name]) for name in args.contenders}
    for name in args.contenders:
        ratios = [
            f"{medians[name] / medians[ref]:.2f}x" if ref in medians else "-"
            for ref in ("torchaudio", "torchaudio compiled")
        ]
        peak = f"{peaks[name]:.0f}" if name in peaks else "-"
        print(f"| {name} | {medians[name]:.3f} | {' | '.join(ratios)} | {startup[name]:.1f} | {peak} |")


if __name__ == "__main__":
    main()
