"""Efficiency of HuBERT Base against published compressed students, architectures only (random
weights): `dpbench efficiency` on a HuBERT Base-shaped dpbench encoder, s3prl's DistilHuBERT and
LightHuBERT Small (saved as their checkpoints are stored) and the built-in tiny-hubert. Each model
runs in its own process, timed forwards interleaved, medians and quartiles; the table is printed and
the records go to OUT/results.jsonl.

    .venv/bin/python benchmarks/bench_efficiency.py [--out runs/bench_efficiency] [--seconds 2] [--rounds 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from dpbench.efficiency.published import write_distilhubert, write_lighthubert_small
from dpbench.models import base_config, build_encoder, save_encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench_efficiency"))
    parser.add_argument("--seconds", default="2")
    parser.add_argument("--rounds", default="5")
    parser.add_argument("--threads", default="1")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    hubert_base = args.out / "HuBERT_Base.pt"
    save_encoder(hubert_base, build_encoder(base_config("hubert")).eval())
    write_distilhubert(args.out / "DistilHuBERT.ckpt")
    write_lighthubert_small(args.out / "LightHuBERT_Small.pt")
    store = args.out / "results.jsonl"
    store.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "dpbench",
        "efficiency",
        str(hubert_base),
        f"s3prl:distiller_local={args.out / 'DistilHuBERT.ckpt'}",
        f"s3prl:lighthubert_local={args.out / 'LightHuBERT_Small.pt'}",
        "tiny-hubert",
        "--results",
        str(store),
        "--seconds",
        args.seconds,
        "--rounds",
        args.rounds,
        "--warmup",
        "1",
        "--threads",
        args.threads,
        "--device",
        "cpu",
    ]
    subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
