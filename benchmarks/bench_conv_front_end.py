"""The parts of the encoder whose layout dpbench chooses (docs/ARCHITECTURE.md, "How the encoder runs"),
timed against torchaudio's modules with the same weights: the conv front end (torchaudio's
FeatureExtractor: nn.Conv1d, GroupNorm, GELU on (B, C, T)) against dpbench's (GEMMs on channels-last
activations, widths padded to multiples of 8, GroupNorm folded into the first GEMM), at the teacher's
widths and at a pruned student's odd and aligned widths; the position conv (torchaudio's
ConvolutionalPositionalEmbedding against dpbench's channels-last 2-D conv); and one GEMM of a student's
second conv layer with its odd output width against the same GEMM padded to a multiple of 8 (the reason
for `components.CHANNEL_MULTIPLE`).

Random weights, CPU. Eval: a forward under inference mode; train: forward + backward of a sum. Contenders
interleaved in one process, one warm-up each, medians; `--clock cpu` times the process's CPU time (use it
with `--threads 1` on a shared machine).
Usage: python benchmarks/bench_conv_front_end.py [--batch 8] [--seconds 2] [--repeats 7] [--threads 2]
       [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torchaudio.models.wav2vec2.components import ConvolutionalPositionalEmbedding, _get_feature_extractor

from dpbench.models.components import CHANNEL_MULTIPLE, ConvFeatureExtractor, PositionalConv, strided_frames
from dpbench.models.config import BASE_CONV_KERNELS, BASE_CONV_STRIDES

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
# the teacher's widths and those of bench_align.py's 75%-pruned student, unaligned and with conv=32
WIDTHS = {
    "teacher (512)": [512] * 7,
    "student, odd widths (409-427)": [422, 427, 415, 415, 412, 416, 409],
    "student, conv=32 (416)": [416] * 7,
}


def front_ends(channels: list[int]) -> tuple[ConvFeatureExtractor, torch.nn.Module]:
    """dpbench's conv front end with random weights, and torchaudio's with the same weights."""
    ours = ConvFeatureExtractor(channels, list(BASE_CONV_KERNELS), list(BASE_CONV_STRIDES), "group", False)
    shapes = list(zip(channels, BASE_CONV_KERNELS, BASE_CONV_STRIDES, strict=True))
    theirs = _get_feature_extractor("group_norm", shapes, False)
    state = {f"conv_layers.{i}.conv.weight": layer.conv.weight for i, layer in enumerate(ours.layers)}
    state["conv_layers.0.layer_norm.weight"] = ours.layers[0].norm.weight
    state["conv_layers.0.layer_norm.bias"] = ours.layers[0].norm.bias
    theirs.load_state_dict({k: v.detach().clone() for k, v in state.items()})
    return ours, theirs


def position_convs(hidden: int = 768, kernel: int = 128, groups: int = 16) -> tuple[PositionalConv, torch.nn.Module]:
    theirs = ConvolutionalPositionalEmbedding(hidden, kernel, groups)
    ours = PositionalConv(hidden, kernel, groups)
    with torch.no_grad():
        ours.weight_g.copy_(theirs.conv.parametrizations.weight.original0)
        ours.weight_v.copy_(theirs.conv.parametrizations.weight.original1)
        ours.bias.copy_(theirs.conv.bias)
    return ours, theirs


def timed(run: Callable[[], torch.Tensor], train: bool, clock: Callable[[], float]) -> float:
    start = clock()
    if train:
        run().sum().backward()
    else:
        with torch.inference_mode():
            run()
    return clock() - start


def measure(contenders: dict[str, Callable[[], torch.Tensor]], train: bool, repeats: int, clock) -> dict[str, float]:
    """Median seconds of each contender over `repeats` interleaved rounds, after one warm-up each."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for run in contenders.values():
        timed(run, train, clock)
    for _ in range(repeats):
        for name, run in contenders.items():
            times[name].append(timed(run, train, clock))
    return {name: statistics.median(t) for name, t in times.items()}


def front_end_table(wavs: torch.Tensor, repeats: int, clock) -> None:
    print("| widths | mode | torchaudio (s) | dpbench (s) | dpbench / torchaudio |")
    print("|---|---|---|---|---|")
    models = {label: front_ends(channels) for label, channels in WIDTHS.items()}
    for mode in ("eval", "train"):
        contenders = {}
        for label, (ours, theirs) in models.items():
            contenders[label, "torchaudio"] = lambda theirs=theirs: theirs(wavs, None)[0]
            contenders[label, "dpbench"] = lambda ours=ours: ours(wavs)[0]
        medians = measure(contenders, mode == "train", repeats, clock)
        for label in models:
            theirs_s, ours_s = medians[label, "torchaudio"], medians[label, "dpbench"]
            print(f"| {label} | {mode} | {theirs_s:.3f} | {ours_s:.3f} | {ours_s / theirs_s:.2f}x |")


def position_conv_table(batch: int, frames: int, repeats: int, clock) -> None:
    ours, theirs = position_convs()
    x = torch.randn(batch, frames, 768)
    print("| position conv | mode | torchaudio (s) | dpbench (s) | dpbench / torchaudio |")
    print("|---|---|---|---|---|")
    for mode in ("eval", "train"):
        medians = measure(
            {"torchaudio": lambda: theirs(x), "dpbench": lambda: ours(x)}, mode == "train", repeats, clock
        )
        theirs_s, ours_s = medians["torchaudio"], medians["dpbench"]
        print(f"| 768 x 128 taps, 16 groups | {mode} | {theirs_s:.4f} | {ours_s:.4f} | {ours_s / theirs_s:.2f}x |")


def padding_table(wavs: torch.Tensor, repeats: int, clock) -> None:
    """Layer 1 of the odd-width student as one GEMM: output width 427 against 427 padded to 432."""
    in_ch, out_ch = WIDTHS["student, odd widths (409-427)"][:2]
    padded = -(-out_ch // CHANNEL_MULTIPLE) * CHANNEL_MULTIPLE
    frames = (wavs.shape[1] - 10) // 5 + 1
    x = torch.randn(wavs.shape[0], frames, in_ch)
    weight = torch.randn(out_ch, 3 * in_ch) * 0.02
    weight_padded = F.pad(weight, (0, 0, 0, padded - out_ch))
    contenders = {
        str(out_ch): lambda: F.linear(strided_frames(x, 3, 2), weight),
        str(padded): lambda: F.linear(strided_frames(x, 3, 2), weight_padded),
    }
    medians = measure(contenders, False, repeats, clock)
    print("| GEMM of conv layer 1 (eval) | output width | seconds | per MAC, relative to padded |")
    print("|---|---|---|---|")
    for width, seconds in medians.items():
        per_mac = seconds / int(width) / (medians[str(padded)] / padded)
        print(f"| {in_ch} -> {out_ch} channels, kernel 3, stride 2 | {width} | {seconds:.3f} | {per_mac:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    clock = CLOCKS[args.clock]
    wavs = torch.randn(args.batch, int(args.seconds * 16000))
    print(
        f"CPU, {args.threads} thread(s), {args.clock} clock, batch {args.batch} x {args.seconds:g} s, "
        f"median of {args.repeats} interleaved runs"
    )
    front_end_table(wavs, args.repeats, clock)
    position_conv_table(args.batch, int(args.seconds * 50) - 1, args.repeats, clock)
    padding_table(wavs, args.repeats, clock)


if __name__ == "__main__":
    main()
