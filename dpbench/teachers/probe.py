"""Linear probes of an encoder's hidden states: mean-pooled per layer, logistic regression, the
layer picked by cross-validation on the training split. Used to show a teacher learned something."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dpbench.data.audio import load_audio
from dpbench.errors import DpbenchError
from dpbench.models import Encoder

KS_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")


@dataclass
class ProbeResult:
    task: str
    layer: int
    accuracy: float  # on the held-out split, fraction
    layer_cv_accuracy: list[float]  # cross-validated training accuracy per layer


def ks_items(root: Path, per_class: int) -> list[tuple[Path, str]]:
    """Keyword clips of the ten command words from a Speech Commands layout (speech_commands/train/<word>/)."""
    base = root / "speech_commands" / "train"
    items = [(p, word) for word in KS_WORDS for p in sorted((base / word).glob("*.wav"))[:per_class]]
    if not items:
        raise DpbenchError(f"no keyword clips under {base}/<word>/; create a corpus with `dpbench data synth`")
    return items


def sid_items(root: Path, per_class: int, speakers: int) -> list[tuple[Path, str]]:
    """Utterances of the first `speakers` speakers of a VoxCeleb1 layout (voxceleb1/{dev,test}/wav/<id>/<yt>/)."""
    folders = sorted(p for split in ("dev", "test") for p in (root / "voxceleb1" / split / "wav").glob("id*"))
    items = [(p, f.name) for f in folders[:speakers] for p in sorted(f.rglob("*.wav"))[:per_class]]
    if not items:
        raise DpbenchError(
            f"no speaker folders under {root}/voxceleb1/*/wav/; create a corpus with `dpbench data synth`"
        )
    return items


@torch.no_grad()
def pooled_states(encoder: Encoder, paths: list[Path]) -> np.ndarray:
    """(files, layers + 1, hidden) time-averaged hidden states, one file at a time."""
    encoder.eval()
    pooled = []
    for path in paths:
        hidden, _ = encoder(load_audio(path)[None])
        pooled.append(torch.stack([h[0].mean(0) for h in hidden]).numpy())
    return np.stack(pooled)


def probe(features: np.ndarray, labels: list[str], task: str, seed: int = 0) -> ProbeResult:
    """Pick the layer with the best 3-fold CV accuracy on a stratified 70% split, report the rest."""
    indices = np.arange(len(labels))
    train, test = train_test_split(indices, test_size=0.3, stratify=labels, random_state=seed)
    y = np.asarray(labels)

    def classifier():
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5))

    cv = [
        float(cross_val_score(classifier(), features[train, layer], y[train], cv=3).mean())
        for layer in range(features.shape[1])
    ]
    layer = int(np.argmax(cv))
    fitted = classifier().fit(features[train, layer], y[train])
    return ProbeResult(task, layer, float(fitted.score(features[test, layer], y[test])), cv)
