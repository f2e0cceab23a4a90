"""Importers of real checkpoints (Hugging Face, torchaudio, fairseq, s3prl's converted files, the DPHuBERT
authors' files) as dpbench Encoders."""

from dpbench.models.importers.detect import import_checkpoint
from dpbench.models.importers.fairseq import from_fairseq
from dpbench.models.importers.huggingface import from_huggingface, from_huggingface_state
from dpbench.models.importers.released import from_released
from dpbench.models.importers.s3prl_hub import from_s3prl
from dpbench.models.importers.torchaudio import from_torchaudio

__all__ = [
    "from_fairseq",
    "from_huggingface",
    "from_huggingface_state",
    "from_s3prl",
    "from_released",
    "from_torchaudio",
    "import_checkpoint",
]
