"""The unlabeled speech a teacher is pretrained on: every audio file of a folder, held in memory
as 16-bit samples, and random fixed-length crops of it aligned to the encoder's frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from dpbench.data.audio import AUDIO_EXTENSIONS, SAMPLE_RATE, load_audio
from dpbench.errors import DpbenchError

READ_SPEECH = Path("LibriSpeech") / "train-clean-100"
INT16_SCALE = 32767.0


def audio_files(root: Path) -> list[Path]:
    """The training audio under `root`: its LibriSpeech/train-clean-100 part when it is a synthetic
    corpus (or LibriSpeech itself), else every wav/flac/ogg file below it, sorted."""
    if not root.is_dir():
        raise DpbenchError(f"corpus folder {root} does not exist; create one with `dpbench data synth {root}`")
    base = root / READ_SPEECH if (root / READ_SPEECH).is_dir() else root
    found = sorted(p for p in base.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
    if not found:
        raise DpbenchError(f"no .wav/.flac/.ogg files under {base}; point to a folder of 16 kHz speech")
    return found


@dataclass
class SpeechCorpus:
    """Utterances as int16 tensors (to keep memory low) with their source files."""

    files: list[Path]
    waves: list[Tensor]

    @classmethod
    def load(cls, root: Path, min_samples: int) -> SpeechCorpus:
        """Read every file under `root` (see `audio_files`); utterances shorter than `min_samples` are skipped."""
        files, waves = [], []
        for path in audio_files(root):
            wav = load_audio(path)
            if len(wav) >= min_samples:
                files.append(path)
                waves.append((wav.clamp(-1, 1) * INT16_SCALE).round().to(torch.int16))
        if not waves:
            raise DpbenchError(f"every file under {root} is shorter than {min_samples / SAMPLE_RATE:.2f} s")
        return cls(files, waves)

    def __len__(self) -> int:
        return len(self.waves)

    def wave(self, index: int) -> Tensor:
        """Utterance `index` as float32 in [-1, 1]."""
        return self.waves[index].float() / INT16_SCALE

    @property
    def hours(self) -> float:
        return sum(len(w) for w in self.waves) / SAMPLE_RATE / 3600


def sample_crops(
    corpus: SpeechCorpus, batch_size: int, crop_samples: int, hop: int, generator: torch.Generator
) -> tuple[Tensor, list[tuple[int, int]]]:
    """A batch of random crops, all of the same length: `crop_samples`, or the shortest chosen
    utterance if shorter. Crops start on multiples of `hop` so frame labels stay aligned.

    Returns (wavs (B, samples), [(utterance index, first frame)])."""
    picks = torch.randint(len(corpus), (batch_size,), generator=generator).tolist()
    length = min(crop_samples, *(len(corpus.waves[i]) for i in picks))
    wavs, origins = [], []
    for index in picks:
        max_frame = (len(corpus.waves[index]) - length) // hop
        frame = int(torch.randint(max_frame + 1, (1,), generator=generator))
        wavs.append(corpus.wave(index)[frame * hop : frame * hop + length])
        origins.append((index, frame))
    return torch.stack(wavs), origins
