"""Model figures quoted in the README: parameters and MACs of the Base configs, and CPU forward
time of the gated encoder, the plain encoder and torchaudio's hubert_base on one 4 s batch.

    .venv/bin/python benchmarks/bench_model.py [--batch 2] [--seconds 4] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import torch
from torchaudio.models import hubert_base, wav2vec2_base, wavlm_base

from dpbench.models import base_config, count_macs, count_params
from dpbench.models.importers import from_torchaudio

TORCHAUDIO_BASE = {"hubert": hubert_base, "wav2vec2": wav2vec2_base, "wavlm": wavlm_base}


def size_table() -> list[str]:
    lines = [f"{'Base config':<12}{'dpbench params':>16}{'torchaudio params':>19}{'GMACs/s audio':>15}"]
    for arch, factory in TORCHAUDIO_BASE.items():
        config = base_config(arch)
        reference = sum(p.numel() for p in factory().parameters())
        lines.append(f"{arch:<12}{count_params(config):>16,}{reference:>19,}{count_macs(config) / 1e9:>15.2f}")
    return lines


def median_seconds(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time per callable; runs are interleaved so that load from other processes
    affects every model alike. One untimed warm-up each."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    with torch.inference_mode():
        for run in runs.values():
            run()
        for _ in range(repeats):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def speed_table(batch: int, seconds: float, repeats: int) -> list[str]:
    torch.manual_seed(0)
    reference = hubert_base().eval()
    plain = from_torchaudio(reference, arch="hubert")
    gated = copy.deepcopy(plain)
    gated.set_gates()
    gated.eval()
    wavs = torch.randn(batch, int(seconds * 16000))
    lengths = torch.full((batch,), wavs.shape[1])
    times = median_seconds(
        {
            "dpbench gated (eval)": lambda: gated(wavs, lengths),
            "dpbench plain": lambda: plain(wavs, lengths),
            "torchaudio hubert_base": lambda: reference.extract_features(wavs, lengths),
        },
        repeats,
    )
    base = times["dpbench plain"]
    lines = [f"forward, batch {batch} x {seconds:g} s, {torch.get_num_threads()} threads, median of {repeats}:"]
    lines += [f"  {name:<24}{t * 1000:>9.0f} ms  {t / base:>5.2f}x plain" for name, t in times.items()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("\n".join(size_table()))
    print()
    print("\n".join(speed_table(args.batch, args.seconds, args.repeats)))


if __name__ == "__main__":
    main()
