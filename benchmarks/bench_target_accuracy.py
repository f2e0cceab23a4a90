"""How close the final DPHuBERT student lands to its size target (parameters or MACs).

Runs `dpbench compress` (stage 1 only: stage 2 does not change the size) on a random teacher and a
few random utterances for each target, and prints per run: the expected sparsity at the end of
stage 1, the physically pruned size before calibration, and the final size, each as a ratio to the
target size (1.000 = on target). Calibration is applied only when the ratio before it is off by more
than 0.5%.

    .venv/bin/python benchmarks/bench_target_accuracy.py                   # tiny teacher, 200 steps
    .venv/bin/python benchmarks/bench_target_accuracy.py --teacher tiny-hubert --steps 400
    .venv/bin/python benchmarks/bench_target_accuracy.py --prune-units conv,head,interm,attlayer,ffnlayer
"""

from __future__ import annotations

import argparse
import csv
import logging
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from dpbench.compress import make_config, run_compress
from dpbench.models import build_encoder, save_encoder, tiny_config


def write_wavs(folder: Path, count: int = 24) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        seconds = 1.5 + (i % 5) * 0.5
        sf.write(folder / f"u{i}.wav", (rng.standard_normal(int(16000 * seconds)) * 0.1).astype("float32"), 16000)


def last_expected_sparsity(run: Path) -> float:
    with (run / "train_log.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["stage"] == "prune"]
    return float(rows[-1]["expected_sparsity"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default=None, help="teacher spec (default: a random tiny_config teacher)")
    parser.add_argument("--steps", type=int, default=200, help="stage-1 steps per run")
    parser.add_argument("--targets", default="0.3,0.5,0.7", help="target sparsities")
    parser.add_argument("--kinds", default="params,macs", help="target kinds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--prune-units", default="conv,head,interm", help="gated unit kinds (dpbench compress)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_wavs(tmp / "wavs")
        teacher = args.teacher
        if teacher is None:
            torch.manual_seed(0)
            save_encoder(tmp / "teacher.pt", build_encoder(tiny_config()))
            teacher = str(tmp / "teacher.pt")
        print(f"teacher={teacher} stage-1 steps={args.steps}")
        print(f"{'kind':6} {'target':>6} {'E[s] end':>8} {'size/target before calib':>25} {'final size/target':>18}")
        for kind in args.kinds.split(","):
            for target in (float(t) for t in args.targets.split(",")):
                config = make_config(
                    "cpu",
                    "dphubert",
                    str(tmp / "wavs"),
                    dict(
                        teacher=teacher,
                        target_kind=kind,
                        target_sparsity=target,
                        stage1_steps=args.steps,
                        stage2_steps=0,
                        max_batch_seconds=4.0,
                        max_item_seconds=2.0,
                        checkpoint_every=args.steps,
                        prune_units=args.prune_units.split(","),
                    ),
                )
                run = tmp / f"{kind}-{target}"
                summary = run_compress(config, run)
                calibration = summary.calibration
                before = calibration["size_before"] / calibration["target_size"]
                print(
                    f"{kind:6} {target:6.2f} {last_expected_sparsity(run):8.3f} {before:25.3f} "
                    f"{summary.size_vs_target:18.3f}"
                )


if __name__ == "__main__":
    main()
