"""Hardware-aligned pruning: CPU speed-up of a 75%-pruned HuBERT-Base-shaped student over its teacher, as a
fraction of its MACs ratio, unaligned (the authors' recipe) vs `--align conv=32,ffn=8`.

Random weights. The student's gates are random, conv gates mostly open (a DPHuBERT student keeps most conv
channels: they hold few parameters), then calibrated (dpbench.compress.prune.calibrate, as after stage 1)
to 25% of the teacher's parameters, once without and once with alignment, from the same gates. The three
models run interleaved in one process (warm-up, then medians). Usage:
    python benchmarks/bench_align.py [--batch 8] [--seconds 2] [--repeats 3] [--threads 1] [--align conv=32,ffn=8]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from dpbench.compress.prune import calibrate
from dpbench.models import build_encoder, count_macs, count_params, hubert_base_config, prune_encoder
from dpbench.models.pruning import Alignment, align_gates


def student(target_sparsity: float, alignment: Alignment, seed: int = 0):
    """A pruned Base-shaped student (random gates of `seed`) calibrated to the target under `alignment`,
    and its calibration record."""
    torch.manual_seed(seed)
    gated = build_encoder(hubert_base_config())
    gated.set_gates()
    with torch.no_grad():
        for name, gate in gated.named_gates():
            conv = name.startswith("feature_extractor")
            gate.log_alpha.copy_(torch.randn(gate.n) * 1.5 + (3.0 if conv else -1.0))
    gated.eval()
    align_gates(gated, alignment)
    record = calibrate(gated, (1 - target_sparsity) * count_params(gated.config), "params", tol=0.005)
    return prune_encoder(gated).eval(), record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sparsity", type=float, default=0.75)
    parser.add_argument("--align", default="conv=32,ffn=8")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    alignment = Alignment.parse(args.align)
    teacher = build_encoder(hubert_base_config()).eval()
    started = time.perf_counter()
    (plain, plain_cal), (aligned, aligned_cal) = (student(args.sparsity, a) for a in (Alignment(), alignment))
    print(f"calibration + pruning of both students: {time.perf_counter() - started:.0f} s")
    models = {"teacher": teacher, "unaligned": plain, f"aligned {args.align}": aligned}
    wavs = torch.randn(args.batch, int(args.seconds * 16000))
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for model in models.values():
            model(wavs)  # warm-up
        for _ in range(args.repeats):
            for name, model in models.items():
                start = time.perf_counter()
                model(wavs)
                times[name].append(time.perf_counter() - start)
    print(f"CPU, {args.threads} thread(s), batch {args.batch} x {args.seconds:g} s, median of {args.repeats} "
          f"interleaved runs (shared machine: ratios count)")
    print("| model | params (M) | sparsity | GMACs/s | MACs ratio | median (s) | speed-up | speed-up / MACs ratio |")
    print("|---|---|---|---|---|---|---|---|")
    ref_time, ref_macs = statistics.median(times["teacher"]), count_macs(teacher.config)
    for name, model in models.items():
        median, macs = statistics.median(times[name]), count_macs(model.config)
        params = count_params(model.config)
        print(f"| {name} | {params / 1e6:.2f} | {1 - params / count_params(teacher.config):.1%} | {macs / 1e9:.2f} | "
              f"{ref_macs / macs:.2f} | {median:.3f} | {ref_time / median:.2f}x | "
              f"{ref_time / median / (ref_macs / macs):.0%} |")
    for name, model in list(models.items())[1:]:
        c = model.config
        print(f"{name}: conv {c.conv_channels}, ffn {c.ffn_dims}, heads {c.num_heads}")
    for name, record in (("unaligned", plain_cal), ("aligned", aligned_cal)):
        print(f"{name} calibration: {record.to_dict()}")


if __name__ == "__main__":
    main()
