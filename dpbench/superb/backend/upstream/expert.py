"""s3prl upstream expert wrapping a dpbench `Encoder`: every hidden state as s3prl's own hubert /
wav2vec2 / wavlm experts return them (`HiddenStates.S3PRL`), so a teacher's SUPERB features are theirs."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from dpbench.models.encoder import HiddenStates


class UpstreamExpert(nn.Module):
    """Follows s3prl's upstream interface: `forward(list of 1-D 16 kHz wavs) -> {"hidden_states": [...]}`."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.model = encoder
        self.model.eval()

    def get_downsample_rates(self, key: str) -> int:
        """Samples per frame for every output key (the conv stack's total stride, times any time reduction)."""
        return int(self.model.downsample_rate)

    def forward(self, wavs: list[torch.Tensor]) -> dict[str, list[torch.Tensor]]:
        """Pad the batch, run the encoder and return its hidden states (B, T', D) in s3prl's convention."""
        lengths = torch.tensor([len(wav) for wav in wavs], device=wavs[0].device)
        padded = pad_sequence(wavs, batch_first=True)
        min_samples = self.model.config.min_samples  # shorter inputs would give the layers no frame
        if padded.size(1) < min_samples:
            padded = nn.functional.pad(padded, (0, min_samples - padded.size(1)))
            lengths = lengths.clamp(min=min_samples)
        hidden_states, _ = self.model(padded, lengths, HiddenStates.S3PRL)
        hidden_states = list(hidden_states)
        return {"hidden_states": hidden_states, "last_hidden_state": hidden_states[-1]}
