"""Loading audio files as 16 kHz mono float32 tensors, with errors that name the bad file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from dpbench.errors import DpbenchError

SAMPLE_RATE = 16000
# The receptive field of the wav2vec 2.0 / HuBERT conv feature extractor (kernels 10,3,3,3,3,2,2, strides
# 5,2,2,2,2,2,2): a shorter input yields no frame.
MIN_SAMPLES = 400
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
FIX_HINT = (
    "re-export it as 16 kHz mono WAV/FLAC (e.g. `sox IN -r 16000 -c 1 OUT.wav`), "
    "or delete it and rebuild the manifest (`dpbench data manifest ROOT`)"
)


class AudioError(DpbenchError):
    """An audio file that cannot be used: missing, empty, corrupt or unreadable."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}; {FIX_HINT}")


def to_mono_16k(samples: np.ndarray, sample_rate: int) -> torch.Tensor:
    """(frames, channels) or (frames,) float array at any rate -> 1-D float32 tensor at 16 kHz."""
    wav = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    if wav.dim() == 2:
        wav = wav.mean(dim=1)
    if sample_rate != SAMPLE_RATE:
        wav = AF.resample(wav, sample_rate, SAMPLE_RATE)
    return wav.contiguous()


def probe_audio(path: str | os.PathLike[str]) -> int:
    """Number of samples the file will have once loaded at 16 kHz, from its header only.

    Raises AudioError when the file is missing, empty, has no frames or is not decodable."""
    path = Path(path)
    _check_file(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(path, f"corrupt or not a wav/flac/ogg file ({err})") from err
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioError(path, "zero-length audio (the header says 0 samples)")
    return int(round(info.frames * SAMPLE_RATE / info.samplerate))


def check_audio(path: str | os.PathLike[str], quick: bool = False) -> int:
    """Like `probe_audio`, but decodes every sample (unless `quick`: the header only) and also refuses
    NaN/Inf samples and files shorter than MIN_SAMPLES at 16 kHz. Returns the sample count at 16 kHz."""
    n_samples = probe_audio(path)
    if not quick:
        _decode(path)
    if n_samples < MIN_SAMPLES:
        raise AudioError(
            path, f"too short ({n_samples} samples at 16 kHz; the conv feature extractor needs at least {MIN_SAMPLES})"
        )
    return n_samples


def load_audio(path: str | os.PathLike[str]) -> torch.Tensor:
    """Read a wav/flac/ogg file as a 1-D float32 tensor at 16 kHz, mixing channels to mono."""
    path = Path(path)
    _check_file(path)
    return to_mono_16k(*_decode(path))


def _decode(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Every sample, (frames, channels) float32, and the sample rate; corrupt, empty or non-finite audio is
    refused with an AudioError naming the file."""
    try:
        samples, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(path, f"corrupt or not a wav/flac/ogg file: decoding failed ({err})") from err
    if samples.shape[0] == 0:
        raise AudioError(path, "zero-length audio (0 samples decoded)")
    if not np.isfinite(samples).all():
        raise AudioError(path, f"{int((~np.isfinite(samples)).sum())} NaN or infinite samples")
    return samples, sample_rate


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError(path, "file does not exist")
    if not path.is_file():
        raise AudioError(path, "not a regular file")
    if not os.access(path, os.R_OK):
        raise AudioError(path, "unreadable (permission denied)")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
