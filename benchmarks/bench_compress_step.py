"""Step time and peak memory of one DPHuBERT distill + prune step (stage 1) for a Base-size teacher.

A step is what the trainer does per batch: teacher forward (no grad), gated student forward and
backward, distillation + Lagrangian loss, gradient clipping and the AdamW step over the three
parameter groups. Weights are random (the cost does not depend on them).

    .venv/bin/python benchmarks/bench_compress_step.py                       # Base, CPU, 2 x 4 s
    .venv/bin/python benchmarks/bench_compress_step.py --device cuda --batch 8 --seconds 10
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable

import torch

from dpbench.compress.config import RECIPE_PRUNE_UNITS
from dpbench.compress.distill import RECIPE_LAYERS, DistillHeads, DistillLoss, LossWeights, parse_layer_groups
from dpbench.compress.module import StageSpec, make_optimizer
from dpbench.compress.sparsity import Lagrangian, config_size, expected_size
from dpbench.compress.students import build_student, distill_pairs
from dpbench.models import build_encoder, hubert_base_config, tiny_config


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=["base", "tiny"], default="base")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=2, help="utterances per batch")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per utterance")
    parser.add_argument("--steps", type=int, default=3, help="timed steps (after one warm-up step)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: PyTorch's default)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="autocast dtype")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rss_start = peak_rss_mb()
    step, teacher_size, student_size = make_step(args.config, device, args.batch, args.seconds, args.precision)
    rss_models = peak_rss_mb()
    step()  # warm-up: allocator, optimizer state
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.steps):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)

    audio = args.batch * args.seconds
    print(
        f"config={args.config} device={device} threads={torch.get_num_threads()} precision={args.precision} "
        f"batch={args.batch}x{args.seconds:g}s ({audio:g} s of audio)"
    )
    print(f"teacher params: {teacher_size / 1e6:.2f}M; student (gated) params incl. gates: {student_size / 1e6:.2f}M")
    print(
        f"step time: mean {sum(times) / len(times):.3f} s, min {min(times):.3f} s over {len(times)} steps "
        f"({audio / min(times):.1f} s of audio per s)"
    )
    if device.type == "cuda":
        print(f"peak GPU memory (allocated): {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    print(
        f"peak RSS: {peak_rss_mb():.0f} MiB (start {rss_start:.0f}, after building models {rss_models:.0f}, "
        f"so the step itself adds {peak_rss_mb() - rss_models:.0f} MiB)"
    )


def make_step(
    config_name: str, device: torch.device, batch: int, seconds: float, precision: str
) -> tuple[Callable[[], None], float, int]:
    """One stage-1 training step on random audio; returns (step, teacher size, gated student parameters)."""
    torch.manual_seed(0)
    config = hubert_base_config() if config_name == "base" else tiny_config()
    teacher = build_encoder(config).eval().requires_grad_(False).to(device)
    teacher_size = config_size(config, "params")
    student = build_student("dphubert", teacher, 0.25 * teacher_size, "params", prune_units=RECIPE_PRUNE_UNITS)
    student = student.to(device).train()
    pairs = distill_pairs("dphubert", parse_layer_groups(RECIPE_LAYERS), config.num_layers, config.num_layers)
    distill = DistillLoss(DistillHeads(pairs, config.hidden_size, config.hidden_size), LossWeights()).to(device)
    lagrangian = Lagrangian().to(device)
    spec = StageSpec("prune", 50_000, lr=2e-4, warmup_steps=15_000, gate_lr=0.02, lambda_lr=0.02, target=0.75)
    optimizer = make_optimizer(
        list(student.model_parameters()) + list(distill.parameters()), list(student.gate_parameters()), lagrangian, spec
    )
    wavs = torch.randn(batch, int(seconds * 16000), device=device)
    lengths = torch.full((batch,), wavs.shape[1], device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    def step() -> None:
        with autocast:
            with torch.no_grad():
                targets, _ = teacher(wavs, lengths)
            states, frames = student(wavs, lengths)
            loss, _ = distill(states, targets, frames)
            sparsity = 1 - expected_size(student, "params") / teacher_size
            loss = loss + lagrangian(sparsity.float(), 0.75)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return step, teacher_size, sum(p.numel() for p in student.parameters())


if __name__ == "__main__":
    main()
