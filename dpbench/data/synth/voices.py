"""Synthetic speakers: an espeak-ng accent and voice variant plus the speaker's own pitch, speaking
rate and loudness. Utterances jitter around the speaker's settings."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# espeak-ng English accents; read speech (LibriSpeech) stays with the American ones so the ARPAbet
# lexicon (derived from en-us) matches what is spoken.
AMERICAN_ACCENTS = ("en-us", "en-us-nyc")
ALL_ACCENTS = AMERICAN_ACCENTS + ("en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-gb-x-gbclan")
VARIANTS = {
    "F": ("f1", "f2", "f3", "f4", "f5"),
    "M": ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"),
}


@dataclass(frozen=True)
class Voice:
    """How espeak-ng renders one speaker (or one utterance of that speaker)."""

    accent: str
    variant: str
    gender: str  # "F" or "M"
    pitch: int  # espeak -p, 0..99
    rate: int  # espeak -s, words per minute
    amplitude: int  # espeak -a, 0..200
    pitch_range: int = 0  # percent change of the intonation range (SSML prosody range)

    @property
    def espeak_name(self) -> str:
        return f"{self.accent}+{self.variant}"

    def jittered(self, rng: np.random.Generator, pitch: int = 4, rate: float = 0.06, amplitude: float = 0.1) -> Voice:
        """This speaker with small random changes, for one utterance."""
        return replace(
            self,
            pitch=int(np.clip(self.pitch + rng.integers(-pitch, pitch + 1), 0, 99)),
            rate=int(self.rate * (1 + rng.uniform(-rate, rate))),
            amplitude=int(np.clip(self.amplitude * (1 + rng.uniform(-amplitude, amplitude)), 10, 200)),
        )


def sample_voice(
    rng: np.random.Generator,
    gender: str | None = None,
    accents: tuple[str, ...] = ALL_ACCENTS,
    rate_range: tuple[int, int] = (140, 195),
) -> Voice:
    """Draw one speaker."""
    gender = gender or ("F" if rng.random() < 0.5 else "M")
    return Voice(
        accent=str(rng.choice(accents)),
        variant=str(rng.choice(VARIANTS[gender])),
        gender=gender,
        pitch=int(rng.integers(25, 76)),
        rate=int(rng.integers(*rate_range)),
        amplitude=int(rng.integers(70, 131)),
    )


def sample_voices(rng: np.random.Generator, count: int, **kwargs) -> list[Voice]:
    """Draw `count` speakers with distinct settings, alternating genders."""
    voices: list[Voice] = []
    seen: set[tuple] = set()
    while len(voices) < count:
        voice = sample_voice(rng, gender="FM"[len(voices) % 2], **kwargs)
        key = (voice.accent, voice.variant, voice.pitch // 5, voice.rate // 10)
        if key not in seen:
            seen.add(key)
            voices.append(voice)
    return voices
