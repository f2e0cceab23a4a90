"""Hardware-aligned pruning: CPU speed-up of a 75%-pruned HuBERT-Base-shaped student over its teacher, as a
fraction of its MACs ratio, unaligned (the authors' recipe) vs `--align conv=32,ffn=8` and `conv=64,ffn=32`.

Random weights. The student has the default --prune-units' gates (conv channels, heads, FFN units) with
random scores, conv gates mostly open (a DPHuBERT student keeps most conv channels: they hold few
parameters), calibrated (dpbench.compress.prune.calibrate, as after stage 1) to 25% of the teacher's
parameters, once without and once with each alignment, from the same gates. The models run interleaved in
one process (warm-up, then medians, and the fastest runs: on a loaded machine those are the closest to
unloaded speed); each round also times the conv front end alone, so the speed-up is split into the conv
front end and the rest (projection + transformer), with the "mix bound": the speed-up / MACs ratio
reached if each of the two parts ran at the teacher's own speed per MAC. `--clock cpu --threads 1` times
the process's CPU time instead of wall time: on a machine other jobs load, a single-threaded run's CPU
time is what an idle machine's wall time would be, less the cache and memory-bandwidth interference. Usage:
    python benchmarks/bench_align.py [--batch 8 [1 ...]] [--seconds 2] [--repeats 3] [--threads 1 [2 ...]]
        [--align conv=32,ffn=8 [conv=64,ffn=16 ...]] [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from dpbench.compress.config import RECIPE_PRUNE_UNITS
from dpbench.compress.prune import calibrate
from dpbench.compress.students import gate_groups
from dpbench.models import build_encoder, count_macs, count_params, hubert_base_config, prune_encoder
from dpbench.models.pruning import Alignment, align_gates

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def student(target_sparsity: float, alignment: Alignment, seed: int = 0):
    """A pruned Base-shaped student (random gates of `seed`) calibrated to the target under `alignment`,
    and its calibration record."""
    torch.manual_seed(seed)
    gated = build_encoder(hubert_base_config())
    gated.set_gates(**gate_groups(RECIPE_PRUNE_UNITS))  # the default --prune-units: conv, head, interm
    with torch.no_grad():
        for name, gate in gated.named_gates():
            conv = name.startswith("feature_extractor")
            gate.log_alpha.copy_(torch.randn(gate.n) * 1.5 + (3.0 if conv else -1.0))
    gated.eval()
    align_gates(gated, alignment)
    record = calibrate(gated, (1 - target_sparsity) * count_params(gated.config), "params", tol=0.005)
    return prune_encoder(gated).eval(), record


def conv_macs(config, seconds: float) -> float:
    """MACs per second of audio of the conv front end alone on a clip of `seconds` (the conv term of
    dpbench.models.count_macs)."""
    samples, in_ch, total = int(16000 * seconds), 1, 0
    for out_ch, kernel, stride in zip(config.conv_channels, config.conv_kernels, config.conv_strides, strict=True):
        samples = (samples - kernel) // stride + 1
        total += samples * in_ch * out_ch * kernel
        in_ch = out_ch
    return total / seconds


def measure(models: dict, batch: int, seconds: float, repeats: int, clock=time.perf_counter) -> tuple[dict, dict]:
    """Seconds per forward of each model, and of its conv front end alone, on one random batch: every
    interleaved run."""
    wavs = torch.randn(batch, int(seconds * 16000))
    times: dict[str, list[float]] = {name: [] for name in models}
    conv_times: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for model in models.values():
            model(wavs)  # warm-up
        for _ in range(repeats):
            for name, model in models.items():
                start = clock()
                model(wavs)
                times[name].append(clock() - start)
                start = clock()
                model.feature_extractor(wavs)
                conv_times[name].append(clock() - start)
    return times, conv_times


def report(models: dict, seconds: float, times: dict, conv_times: dict, rest_times: dict) -> None:
    """The speed-up table (whole model, then conv front end vs the rest), teacher first; MACs counted on a
    clip of the timed length (attention's share grows with length)."""
    print("| model | params (M) | sparsity | GMACs/s | MACs ratio | time (s) | speed-up | speed-up / MACs ratio |")
    print("|---|---|---|---|---|---|---|---|")
    teacher = models["teacher"]
    ref_time, ref_macs = times["teacher"], count_macs(teacher.config, seconds)
    for name, model in models.items():
        macs, params = count_macs(model.config, seconds), count_params(model.config)
        print(
            f"| {name} | {params / 1e6:.2f} | {1 - params / count_params(teacher.config):.1%} | {macs / 1e9:.2f} | "
            f"{ref_macs / macs:.2f} | {times[name]:.3f} | {ref_time / times[name]:.2f}x | "
            f"{ref_time / times[name] / (ref_macs / macs):.0%} |"
        )
    # mix bound: the speed-up / MACs ratio the model would reach if its conv front end and its rest each ran at
    # the teacher's own speed per MAC (below 100% when pruning shifts MACs to the part with the slower MACs)
    print(
        "| model | conv share of MACs | conv: MACs ratio | conv: speed-up | rest: MACs ratio | rest: speed-up | "
        "mix bound |"
    )
    print("|---|---|---|---|---|---|---|")
    ref_conv_time, ref_conv_macs = conv_times["teacher"], conv_macs(teacher.config, seconds)
    ref_rest_time, ref_rest_macs = rest_times["teacher"], ref_macs - ref_conv_macs
    for name, model in models.items():
        macs = count_macs(model.config, seconds)
        conv, rest_time = conv_macs(model.config, seconds), rest_times[name]
        bound_time = conv * ref_conv_time / ref_conv_macs + (macs - conv) * ref_rest_time / ref_rest_macs
        print(
            f"| {name} | {conv / macs:.0%} | {ref_conv_macs / conv:.2f} | "
            f"{ref_conv_time / conv_times[name]:.2f}x | {ref_rest_macs / (macs - conv):.2f} | "
            f"{ref_rest_time / rest_time:.2f}x | {ref_time / bound_time / (ref_macs / macs):.0%} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, nargs="+", default=[8], help="batch sizes (same students for all)")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="torch thread counts (same students)")
    parser.add_argument("--sparsity", type=float, default=0.75)
    parser.add_argument(
        "--clock",
        choices=list(CLOCKS),
        default="wall",
        help="cpu: this process's CPU time (with 1 thread, immune to other jobs taking the cores)",
    )
    parser.add_argument("--align", nargs="+", default=["conv=32,ffn=8", "conv=64,ffn=32"], help="alignments to compare")
    args = parser.parse_args()
    torch.set_num_threads(max(args.threads))
    started = time.perf_counter()
    models = {"teacher": build_encoder(hubert_base_config()).eval()}
    records = {}
    for text in ["", *args.align]:
        name = f"aligned {text}" if text else "unaligned"
        models[name], records[name] = student(args.sparsity, Alignment.parse(text))
    print(f"calibration + pruning of the students: {time.perf_counter() - started:.0f} s")
    for threads in args.threads:
        torch.set_num_threads(threads)
        for batch in args.batch:
            times, conv_times = measure(models, batch, args.seconds, args.repeats, CLOCKS[args.clock])
            rest_times = {n: [a - b for a, b in zip(t, conv_times[n], strict=True)] for n, t in times.items()}
            for label, pick in (("median", statistics.median), ("fastest", min)):
                print(
                    f"CPU, {threads} thread(s), {args.clock} clock, batch {batch} x {args.seconds:g} s, {label} of "
                    f"{args.repeats} interleaved runs (shared machine: ratios count)"
                )
                picked = [{n: pick(t) for n, t in d.items()} for d in (times, conv_times, rest_times)]
                report(models, args.seconds, *picked)
    for name, model in list(models.items())[1:]:
        c = model.config
        print(f"{name}: conv {c.conv_channels}, ffn {c.ffn_dims}, heads {c.num_heads}")
        print(f"{name} calibration: {records[name].to_dict()}")


if __name__ == "__main__":
    main()
