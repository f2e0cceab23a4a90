"""Rendering one audio file: espeak-ng speech (or pure noise), resampled to 16 kHz, with silence
padding, a recording channel (low-pass, noise at a given SNR) and a level change. Numpy only, so
pool workers stay light; every random choice comes from the job's own seed."""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import soundfile as sf

from dpbench.data.audio import SAMPLE_RATE
from dpbench.data.synth.voices import Voice
from dpbench.errors import DpbenchError

ESPEAK = "espeak-ng"


def espeak_env() -> dict[str, str]:
    """The environment espeak-ng runs in: PulseAudio pointed at a socket that does not exist.

    espeak-ng 1.51 opens an audio device even when it only writes a file (`--stdout`, `-w`), and its
    breath noise (variants f2, f3, f5) comes from the C library's shared `rand()`. When PulseAudio's
    client finds no runtime folder yet (a new HOME, machine or container: the first espeak-ng call
    there), it names a new one with `rand()`, so that one call's breath noise, and with it the trimmed
    length, changes (LibriSpeech 8415-12200-0000, the first file rendered, came out 38,627 vs 38,640
    samples). With PULSE_SERVER set the client connects (and fails) without touching that folder,
    and every call draws the same `rand()` sequence."""
    runtime = Path(tempfile.gettempdir()) / f"dpbench-espeak-{os.getuid()}"
    return {**os.environ, "PULSE_SERVER": f"unix:{runtime / 'no-pulseaudio'}", "PULSE_RUNTIME_PATH": str(runtime)}


@dataclass(frozen=True)
class Channel:
    """A recording condition: noise colour and SNR, optional low-pass, level change."""

    snr_db: float = 35.0
    noise_color: str = "white"  # white | pink | brown
    lowpass_hz: float | None = None
    gain_db: float = 0.0


@dataclass(frozen=True)
class SpeechJob:
    """One utterance to synthesise into `relpath` (relative to the output root; .wav or .flac)."""

    relpath: str
    text: str
    voice: Voice
    channel: Channel
    seed: int
    pad_seconds: tuple[float, float] = (0.1, 0.4)  # random leading/trailing silence range
    clip_seconds: float | None = None  # fixed output length (Speech Commands clips are 1 s)
    meta: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class NoiseJob:
    """A noise-only file (Speech Commands background noise and `_silence_` clips)."""

    relpath: str
    kind: str  # white | pink | brown | hum | tap
    seconds: float
    level_db: float
    seed: int
    meta: dict = field(default_factory=dict, compare=False, hash=False)


def check_espeak() -> None:
    if shutil.which(ESPEAK) is None:
        raise DpbenchError(
            "espeak-ng not found on PATH; install it (Debian/Ubuntu: `apt-get install espeak-ng`) "
            "to generate synthetic corpora"
        )


def espeak_command(text: str, voice: Voice) -> list[str]:
    """The espeak-ng call that speaks `text` in `voice` as a WAV on stdout (SSML for the pitch range)."""
    ssml = f'<speak><prosody range="{voice.pitch_range:+d}%">{escape(text)}</prosody></speak>'
    return [
        ESPEAK,
        "-m",
        "--stdout",
        "-v",
        voice.espeak_name,
        "-p",
        str(voice.pitch),
        "-s",
        str(voice.rate),
        "-a",
        str(voice.amplitude),
        ssml,
    ]


def espeak_wave(text: str, voice: Voice) -> np.ndarray:
    """Speech from espeak-ng as float32 at 16 kHz with its leading/trailing silence trimmed."""
    command = espeak_command(text, voice)
    result = subprocess.run(command, capture_output=True, check=False, env=espeak_env())
    if result.returncode != 0 or len(result.stdout) < 100:
        raise RuntimeError(f"espeak-ng failed for {text!r}: {result.stderr.decode(errors='replace')}")
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return trim_silence(resample(samples, rate, SAMPLE_RATE))


def fast_length(n: int) -> int:
    """The smallest 2^a * 3^b * 5^c >= n (lengths the FFT handles quickly)."""
    n = max(int(n), 1)
    best = 1 << (n - 1).bit_length()
    power5 = 1
    while power5 < best:
        odd = power5
        while odd < best:
            times = -(-n // odd)  # ceil(n / odd); the power of two >= it completes the candidate
            best = min(best, odd * (1 << (times - 1).bit_length()))
            odd *= 3
        power5 *= 5
    return best


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling through the FFT, zero-padding to a length that divides exactly."""
    if rate_in == rate_out:
        return x.astype(np.float32)
    step = math.gcd(rate_in, rate_out)
    block_in, block_out = rate_in // step, rate_out // step
    blocks = fast_length(-(-len(x) // block_in))
    padded = np.zeros(blocks * block_in)
    padded[: len(x)] = x
    spectrum = np.fft.rfft(padded)[: blocks * block_out // 2 + 1]
    out = np.fft.irfft(spectrum, n=blocks * block_out) * (block_out / block_in)
    return out[: int(round(len(x) * rate_out / rate_in))].astype(np.float32)


def trim_silence(x: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > threshold)
    return x[loud[0] : loud[-1] + 1] if len(loud) else x


def colored_noise(rng: np.random.Generator, n: int, color: str) -> np.ndarray:
    """Unit-RMS white, pink (1/f power) or brown (1/f^2 power) noise."""
    if color == "white":
        noise = rng.standard_normal(n)
    else:
        size = fast_length(n)
        spectrum = np.fft.rfft(rng.standard_normal(size))
        freqs = np.fft.rfftfreq(size, 1 / SAMPLE_RATE)
        freqs[0] = freqs[1] if size > 1 else 1.0
        exponent = {"pink": 0.5, "brown": 1.0}[color]
        noise = np.fft.irfft(spectrum / freqs**exponent, n=size)[:n]
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-12)).astype(np.float32)


def lowpass(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Low-pass with a smooth (raised-cosine, 500 Hz wide) spectral roll-off."""
    size = fast_length(len(x))
    spectrum = np.fft.rfft(x, n=size)
    freqs = np.fft.rfftfreq(size, 1 / SAMPLE_RATE)
    ramp = np.clip((freqs - cutoff_hz) / 500.0, 0.0, 1.0)
    return np.fft.irfft(spectrum * 0.5 * (1 + np.cos(np.pi * ramp)), n=size)[: len(x)].astype(np.float32)


def apply_channel(speech: np.ndarray, channel: Channel, rng: np.random.Generator) -> np.ndarray:
    rms = np.sqrt(np.mean(speech**2)) + 1e-9
    out = speech
    if channel.lowpass_hz:
        out = lowpass(out, channel.lowpass_hz)
    out = out + colored_noise(rng, len(out), channel.noise_color) * rms * 10 ** (-channel.snr_db / 20)
    return out * 10 ** (channel.gain_db / 20)


def render_speech(job: SpeechJob) -> np.ndarray:
    rng = np.random.default_rng(job.seed)
    speech = espeak_wave(job.text, job.voice)
    if job.clip_seconds is not None:
        size = int(job.clip_seconds * SAMPLE_RATE)
        speech = speech[:size]
        start = int(rng.integers(0, size - len(speech) + 1))
        placed = np.zeros(size, dtype=np.float32)
        placed[start : start + len(speech)] = speech
        speech = placed
    else:
        lead, trail = (int(rng.uniform(*job.pad_seconds) * SAMPLE_RATE) for _ in range(2))
        speech = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(trail, np.float32)])
    return apply_channel(speech, job.channel, rng)


def render_noise(job: NoiseJob) -> np.ndarray:
    rng = np.random.default_rng(job.seed)
    n = int(job.seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    if job.kind == "hum":
        base = float(rng.choice([50.0, 60.0]))
        x = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.3)) / k for k in (1, 2, 3, 5))
        x = x + 0.3 * colored_noise(rng, n, "pink")
    elif job.kind == "tap":  # running water: band-limited noise with a slow wobble
        x = lowpass(colored_noise(rng, n, "white"), 3000.0) * (1 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
    else:
        x = colored_noise(rng, n, job.kind)
    x = x / (np.sqrt(np.mean(x**2)) + 1e-12)
    return (x * 10 ** (job.level_db / 20)).astype(np.float32)


def render(job: SpeechJob | NoiseJob, root: Path) -> int:
    """Write the job's file under `root` (atomically; an existing file is kept) and return its
    number of samples."""
    path = root / job.relpath
    if path.exists():
        return sf.info(str(path)).frames
    audio = render_speech(job) if isinstance(job, SpeechJob) else render_noise(job)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak > 0.99:
        audio = audio * (0.99 / peak)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    sf.write(str(tmp), audio, SAMPLE_RATE, subtype="PCM_16", format=path.suffix[1:].upper())
    os.replace(tmp, path)
    return len(audio)
