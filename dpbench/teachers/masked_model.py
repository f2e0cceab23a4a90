"""HuBERT's masked-prediction model around a dpbench Encoder: masked frames of the projected conv
features are replaced by a learned embedding before the position conv, and the last hidden state
predicts the frame's cluster id (cosine similarity to per-cluster embeddings). Only the Encoder is
kept after pretraining."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dpbench.models import Encoder

PROJECTION_DIM = 64
TEMPERATURE = 0.1


def span_mask(batch: int, frames: int, prob: float, span: int, generator: torch.Generator) -> Tensor:
    """(batch, frames) boolean mask: about `prob * frames / span` random starts per row, each
    masking `span` frames (spans may overlap); at least one frame per row."""
    starts = max(1, round(prob * frames / span))
    mask = torch.zeros(batch, frames, dtype=torch.bool)
    for row in range(batch):
        first = torch.randperm(max(1, frames - span + 1), generator=generator)[:starts]
        for start in first.tolist():
            mask[row, start : start + span] = True
    return mask


class MaskedPrediction(nn.Module):
    """Wraps `encoder` for pretraining; `head(n_clusters)` starts a new target set (iteration)."""

    def __init__(self, encoder: Encoder, n_clusters: int) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.mask_embedding = nn.Parameter(torch.empty(hidden).uniform_())
        self.final_projection = nn.Linear(hidden, PROJECTION_DIM)
        self.cluster_embeddings = nn.Parameter(torch.randn(n_clusters, PROJECTION_DIM))
        self._frame_mask: Tensor | None = None
        self._hook = encoder.feature_projection.register_forward_hook(self._mask_features)

    def new_targets(self, n_clusters: int) -> None:
        """Fresh prediction head for a new set of `n_clusters` targets (the next iteration)."""
        hidden = self.encoder.config.hidden_size
        device = self.mask_embedding.device
        self.final_projection = nn.Linear(hidden, PROJECTION_DIM).to(device)
        self.cluster_embeddings = nn.Parameter(torch.randn(n_clusters, PROJECTION_DIM, device=device))

    def _mask_features(self, module: nn.Module, inputs: tuple, output: Tensor) -> Tensor | None:
        if self._frame_mask is None:
            return None
        return torch.where(self._frame_mask[..., None], self.mask_embedding.to(output.dtype), output)

    def logits(self, wavs: Tensor, frame_mask: Tensor) -> Tensor:
        """(B, frames, n_clusters) scores from the encoder run on `wavs` with `frame_mask` applied."""
        self._frame_mask = frame_mask
        try:
            hidden, _ = self.encoder(wavs)
        finally:
            self._frame_mask = None
        projected = F.normalize(self.final_projection(hidden[-1]), dim=-1)
        return projected @ F.normalize(self.cluster_embeddings, dim=-1).T / TEMPERATURE

    def forward(
        self, wavs: Tensor, labels: Tensor, frame_mask: Tensor, unmasked_weight: float = 0.0
    ) -> tuple[Tensor, Tensor]:
        """Cross-entropy over masked frames, plus `unmasked_weight` times that over the other frames
        (HuBERT's alpha = 1 / (1 + unmasked_weight)); and the accuracy on masked frames (no grad)."""
        logits = self.logits(wavs, frame_mask)
        masked_logits, targets = logits[frame_mask], labels[frame_mask]
        loss = F.cross_entropy(masked_logits, targets)
        if unmasked_weight and not frame_mask.all():
            loss = loss + unmasked_weight * F.cross_entropy(logits[~frame_mask], labels[~frame_mask])
        accuracy = (masked_logits.detach().argmax(-1) == targets).float().mean()
        return loss, accuracy

    def release(self) -> Encoder:
        """Detach from the encoder (removing the masking hook) and return it."""
        self._hook.remove()
        return self.encoder
