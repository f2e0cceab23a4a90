"""HuBERT-style pretraining of a small teacher: masked prediction of k-means cluster ids of MFCC
frames (iteration 1), optionally followed by a second iteration whose targets are clusters of the
iteration-1 model's own hidden states. Writes the Encoder, its record and its training curve."""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from dpbench.data.audio import SAMPLE_RATE
from dpbench.io_utils import atomic_write_json, atomic_write_text
from dpbench.models import Encoder, EncoderConfig, build_encoder, count_params, save_encoder
from dpbench.teachers.corpus import SpeechCorpus, sample_crops
from dpbench.teachers.curve import plot_curve
from dpbench.teachers.masked_model import MaskedPrediction, span_mask
from dpbench.teachers.targets import HOP, WINDOW, LayerFeaturizer, MfccFeaturizer, corpus_labels, crop_labels

CURVE_FIELDS = ("step", "iteration", "loss", "masked_accuracy", "lr", "elapsed_s")
MIN_UTTERANCE_SECONDS = 0.5


@dataclass
class PretrainSettings:
    """Optimisation and target settings; `clusters` has one entry per iteration."""

    steps: int = 1200  # per iteration
    batch_size: int = 8
    crop_seconds: float = 2.0
    lr: float = 1e-3
    warmup_fraction: float = 0.08
    weight_decay: float = 0.01
    grad_clip: float = 10.0
    clusters: list[int] = field(default_factory=lambda: [100, 200])
    iterations: int = 1
    feature_layer: int = -2  # hidden state clustered for iteration 2 (HuBERT Base: layer 6 of 12)
    # HuBERT Base masks with prob 0.8, span 10, and scores masked frames only (unmasked_weight 0);
    # at a thousand steps that objective stays at chance, while shorter spans and a loss on the
    # unmasked frames too (HuBERT's alpha = 0.5) learn within minutes on one CPU core.
    mask_prob: float = 0.65
    mask_span: int = 5
    unmasked_weight: float = 1.0
    max_fit_frames: int = 100_000
    log_every: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.iterations not in (1, 2):
            raise ValueError("iterations must be 1 or 2")
        if len(self.clusters) < self.iterations:
            raise ValueError(f"need one cluster count per iteration, got {self.clusters}")


@dataclass
class PretrainResult:
    encoder: Encoder
    curve: list[dict[str, float]]
    record: dict


def lr_factor(step: int, steps: int, warmup: int) -> float:
    """Linear warmup to 1 over `warmup` steps, then linear decay to 0 at `steps`."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (steps - step) / max(1, steps - warmup))


def train_iteration(
    model: MaskedPrediction,
    corpus: SpeechCorpus,
    labels: list[torch.Tensor],
    settings: PretrainSettings,
    iteration: int,
    generator: torch.Generator,
    progress: bool,
) -> list[dict[str, float]]:
    """`settings.steps` optimiser steps on the current targets; returns the logged curve rows."""
    s = settings
    optimizer = torch.optim.AdamW(model.parameters(), lr=s.lr, betas=(0.9, 0.98), weight_decay=s.weight_decay)
    warmup = max(1, int(s.warmup_fraction * s.steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, s.steps, warmup))
    crop = int(s.crop_seconds * SAMPLE_RATE)
    rows, losses, accuracies = [], [], []
    start = time.monotonic()
    model.train()
    for step in tqdm(range(s.steps), desc=f"iteration {iteration}", disable=not progress):
        wavs, origins = sample_crops(corpus, s.batch_size, crop, HOP, generator)
        frames = (wavs.shape[1] - WINDOW) // HOP + 1
        mask = span_mask(len(wavs), frames, s.mask_prob, s.mask_span, generator)
        loss, accuracy = model(wavs, crop_labels(labels, origins, frames), mask, s.unmasked_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        accuracies.append(accuracy.item())
        if (step + 1) % s.log_every == 0 or step + 1 == s.steps:
            rows.append(
                {
                    "step": (iteration - 1) * s.steps + step + 1,
                    "iteration": iteration,
                    "loss": sum(losses) / len(losses),
                    "masked_accuracy": sum(accuracies) / len(accuracies),
                    "lr": optimizer.param_groups[0]["lr"],
                    "elapsed_s": time.monotonic() - start,
                }
            )
            losses, accuracies = [], []
    return rows


def pretrain(
    corpus_root: Path, config: EncoderConfig, settings: PretrainSettings, progress: bool = True
) -> PretrainResult:
    """Pretrain a fresh encoder of shape `config` on the speech under `corpus_root`."""
    s = settings
    torch.manual_seed(s.seed)
    generator = torch.Generator().manual_seed(s.seed)
    corpus = SpeechCorpus.load(corpus_root, int(MIN_UTTERANCE_SECONDS * SAMPLE_RATE))
    encoder = build_encoder(config)
    model: MaskedPrediction | None = None
    curve: list[dict[str, float]] = []
    iterations = []
    started = time.monotonic()
    for iteration in range(1, s.iterations + 1):
        n_clusters = s.clusters[iteration - 1]
        featurize = MfccFeaturizer() if iteration == 1 else LayerFeaturizer(encoder, s.feature_layer)
        labels, clusters = corpus_labels(corpus, featurize, n_clusters, s.max_fit_frames, s.seed)
        if model is None:
            model = MaskedPrediction(encoder, n_clusters)
        else:
            model.new_targets(n_clusters)
        rows = train_iteration(model, corpus, labels, s, iteration, generator, progress)
        curve += rows
        iterations.append(
            {
                "iteration": iteration,
                "targets": "mfcc" if iteration == 1 else f"hidden state {s.feature_layer} of iteration {iteration - 1}",
                "clusters": n_clusters,
                "kmeans_inertia_per_frame": clusters.inertia_per_frame,
                "final_loss": rows[-1]["loss"],
                "final_masked_accuracy": rows[-1]["masked_accuracy"],
            }
        )
    encoder = model.release().eval()
    record = {
        "config": config.to_dict(),
        "params": count_params(config),
        "seed": s.seed,
        "settings": asdict(s),
        "corpus": corpus_summary(corpus_root, corpus),
        "iterations": iterations,
        "train_seconds": round(time.monotonic() - started, 1),
        "torch_version": torch.__version__,
    }
    return PretrainResult(encoder, curve, record)


def corpus_summary(root: Path, corpus: SpeechCorpus) -> dict:
    """What the teacher was trained on: folder, file count, hours, and the synthetic corpus's
    own description (corpus.json: size, seed) when there is one."""
    summary = {"root": str(root), "files": len(corpus), "hours": round(corpus.hours, 3)}
    description = root / "corpus.json"
    if description.is_file():
        summary["corpus.json"] = json.loads(description.read_text())
    return summary


def write_outputs(result: PretrainResult, out_dir: Path, name: str, command: str, half: bool) -> Path:
    """Write NAME.pt (the Encoder; fp16 weights if `half`, loaded back as fp32), NAME.json (config,
    command, seed, corpus, results), NAME-curve.csv and NAME-curve.png. Returns the checkpoint path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = out_dir / f"{name}.pt"
    stored = copy.deepcopy(result.encoder).half() if half else result.encoder
    save_encoder(checkpoint, stored, extra={"teacher": name, "command": command, "seed": result.record["seed"]})
    rows = [CURVE_FIELDS] + [[row[key] for key in CURVE_FIELDS] for row in result.curve]
    atomic_write_text(out_dir / f"{name}-curve.csv", "".join(",".join(map(str, r)) + "\n" for r in rows))
    plot_curve(result.curve, out_dir / f"{name}-curve.png", title=name)
    record = {
        "name": name,
        "checkpoint": checkpoint.name,
        "sha256": hashlib.sha256(checkpoint.read_bytes()).hexdigest(),
        "dtype": "float16" if half else "float32",
        "command": command,
        "curve": f"{name}-curve.csv",
        **result.record,
    }
    atomic_write_json(out_dir / f"{name}.json", record)
    return checkpoint


def read_curve(path: Path) -> list[dict[str, float]]:
    """Rows of a NAME-curve.csv as floats."""
    with path.open() as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]
