"""Helpers shared by the corpus builders: per-file seeds, random identifiers, recording channels.

A corpus builder is a module listed in `corpus.CORPORA` with `FOLDER` (its folder under OUT),
`plan(spec, seed) -> list[Job]` (the files to render) and `finalize(root, rendered)` (writes the metadata;
returns audio files it made from the rendered ones, path -> samples, or None)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from dpbench.data.synth.render import Channel, NoiseJob, SpeechJob

Job = SpeechJob | NoiseJob


def file_seed(seed: int, relpath: str) -> int:
    """A seed for one file that depends only on the corpus seed and the file's path."""
    digest = hashlib.sha256(f"{seed}:{relpath}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def random_id(rng: np.random.Generator, length: int, alphabet: str) -> str:
    return "".join(alphabet[i] for i in rng.integers(0, len(alphabet), length))


def light_channel(rng: np.random.Generator) -> Channel:
    """A clean-ish recording: noise 25-45 dB below the speech, +-6 dB level change."""
    return Channel(
        snr_db=float(rng.uniform(25, 45)),
        noise_color=str(rng.choice(["white", "pink", "brown"])),
        gain_db=float(rng.uniform(-6, 6)),
    )


def varied_channel(rng: np.random.Generator) -> Channel:
    """A less controlled recording (crowd-sourced or web audio): noise 10-35 dB below the speech,
    often band-limited, -10..+4 dB level change."""
    return Channel(
        snr_db=float(rng.uniform(10, 35)),
        noise_color=str(rng.choice(["white", "pink", "brown"])),
        lowpass_hz=float(rng.uniform(3000, 7500)) if rng.random() < 0.5 else None,
        gain_db=float(rng.uniform(-10, 4)),
    )


@dataclass
class Rendered:
    """A job together with the number of 16 kHz samples its file holds."""

    job: Job
    n_samples: int
