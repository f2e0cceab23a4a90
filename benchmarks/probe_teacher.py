"""Linear probes (keyword spotting, speaker identification) on a teacher's hidden states and on a
randomly initialised encoder of the same shape.

    python benchmarks/probe_teacher.py CORPUS [--teacher tiny-hubert] [--per-class 40] [--speakers 20]

CORPUS is a synthetic corpus from `dpbench data synth`. Prints, per task and model, the layer picked
by cross-validation and the held-out accuracy."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from dpbench.models import build_encoder
from dpbench.teachers import load_model
from dpbench.teachers.probe import ks_items, pooled_states, probe, sid_items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--teacher", default="tiny-hubert")
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--speakers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    teacher = load_model(args.teacher)
    torch.manual_seed(args.seed)
    models = {args.teacher: teacher, "random init": build_encoder(teacher.config)}
    tasks = {"KS": ks_items(args.corpus, args.per_class), "SID": sid_items(args.corpus, args.per_class, args.speakers)}
    print(f"{'task':<5} {'model':<24} {'items':>6} {'classes':>7} {'layer':>5} {'accuracy':>9}")
    for task, items in tasks.items():
        paths, labels = [p for p, _ in items], [label for _, label in items]
        for name, model in models.items():
            result = probe(pooled_states(model, paths), labels, task, args.seed)
            row = f"{task:<5} {name:<24} {len(items):>6} {len(set(labels)):>7} {result.layer:>5}"
            print(f"{row} {100 * result.accuracy:>8.1f}%")


if __name__ == "__main__":
    main()
