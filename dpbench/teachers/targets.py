"""Frame targets for HuBERT-style pretraining: k-means cluster ids of MFCC features (iteration 1)
or of a trained model's hidden states (iteration 2), one id per 20 ms encoder frame."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torchaudio
from sklearn.cluster import MiniBatchKMeans
from torch import Tensor

from dpbench.data.audio import SAMPLE_RATE
from dpbench.models import Encoder
from dpbench.teachers.corpus import SpeechCorpus

WINDOW = 400  # samples: the conv feature extractor's receptive field (25 ms)
HOP = 320  # samples: its stride (20 ms)

Featurizer = Callable[[Tensor], Tensor]  # 1-D wave -> (frames, dims)


class MfccFeaturizer:
    """13 MFCCs with deltas and delta-deltas (39 dims), framed exactly like the encoder's conv stack."""

    def __init__(self) -> None:
        self.mfcc = torchaudio.transforms.MFCC(
            sample_rate=SAMPLE_RATE,
            n_mfcc=13,
            melkwargs={"n_fft": WINDOW, "win_length": WINDOW, "hop_length": HOP, "n_mels": 40, "center": False},
        )

    @torch.no_grad()
    def __call__(self, wave: Tensor) -> Tensor:
        coeffs = self.mfcc(wave)  # (13, frames)
        deltas = torchaudio.functional.compute_deltas(coeffs)
        return torch.cat([coeffs, deltas, torchaudio.functional.compute_deltas(deltas)]).T


class LayerFeaturizer:
    """Hidden state `layer` of an encoder (eval mode), one utterance at a time."""

    def __init__(self, encoder: Encoder, layer: int) -> None:
        self.encoder, self.layer = encoder, layer

    @torch.no_grad()
    def __call__(self, wave: Tensor) -> Tensor:
        was_training = self.encoder.training
        hidden, _ = self.encoder.eval()(wave[None])
        self.encoder.train(was_training)
        return hidden[self.layer][0]


class Clusters:
    """Standardisation followed by MiniBatchKMeans, fitted on a sample of frames."""

    def __init__(self, n_clusters: int, seed: int) -> None:
        self.kmeans = MiniBatchKMeans(n_clusters=n_clusters, batch_size=4096, n_init=3, random_state=seed)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, frames: np.ndarray) -> Clusters:
        self.mean, self.std = frames.mean(0), frames.std(0) + 1e-5
        self.kmeans.fit((frames - self.mean) / self.std)
        return self

    def predict(self, frames: np.ndarray) -> np.ndarray:
        return self.kmeans.predict((frames - self.mean) / self.std)

    @property
    def inertia_per_frame(self) -> float:
        """Mean squared distance of the fitted frames to their centroid (in standardised units)."""
        return float(self.kmeans.inertia_) / max(1, len(self.kmeans.labels_))


def corpus_labels(
    corpus: SpeechCorpus, featurize: Featurizer, n_clusters: int, max_fit_frames: int, seed: int
) -> tuple[list[Tensor], Clusters]:
    """Cluster ids for every frame of every utterance (int64 tensors), and the fitted clusters.

    The clusters are fitted on at most `max_fit_frames` frames drawn at random from the corpus."""
    features = [featurize(corpus.wave(i)).numpy() for i in range(len(corpus))]
    stacked = np.concatenate(features)
    rng = np.random.default_rng(seed)
    sample = stacked[rng.permutation(len(stacked))[:max_fit_frames]]
    clusters = Clusters(n_clusters, seed).fit(sample)
    labels = [torch.from_numpy(clusters.predict(f).astype(np.int64)) for f in features]
    return labels, clusters


def crop_labels(labels: list[Tensor], origins: list[tuple[int, int]], frames: int) -> Tensor:
    """(B, frames) targets for crops that start at the given (utterance, frame) origins."""
    return torch.stack([labels[index][start : start + frames] for index, start in origins])
