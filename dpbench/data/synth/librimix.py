"""Two-speaker mixtures for speaker diarization, LibriMix-like, with Kaldi data directories.

Layout under the corpus folder (`librimix/`):
  sources/<split>/<spk>/<spk>-<nnnn>.wav   single-speaker espeak-ng utterances (rendered as usual)
  wav/<split>/<reco>.wav                   the mixtures, <reco> = <spk>-<nnnn>_<spk>-<nnnn>
  data/<split>/{wav.scp,segments,utt2spk,spk2utt,reco2dur,rttm}   Kaldi-style, as s3prl's SD reads
Splits are train, dev and test, with distinct speakers. wav.scp paths are relative to the corpus
folder. Each mixture places its two utterances at random offsets (leading and trailing silence,
one speaker alone, then both overlapping, like sparse LibriMix), adds one background noise to the
whole recording, and labels speech from the clean sources' energy, so internal pauses of 0.3 s or
more are not speech. Times are multiples of 10 ms, so every boundary is exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from dpbench.data.audio import SAMPLE_RATE
from dpbench.data.synth.common import Job, Rendered, file_seed
from dpbench.data.synth.render import Channel, SpeechJob, colored_noise
from dpbench.data.synth.sizes import SizeSpec
from dpbench.data.synth.text import sentence
from dpbench.data.synth.voices import sample_voices
from dpbench.io_utils import atomic_write_text

FOLDER = "librimix"
SPLITS = ("train", "dev", "test")
FRAME = SAMPLE_RATE // 100  # 10 ms: the unit of every time in the corpus
SPEECH_DB = -40.0  # a 10 ms frame is speech when its RMS is within this of the loudest frame
MIN_PAUSE_S = 0.3  # shorter silences inside an utterance stay speech
CLEAN = Channel(snr_db=70.0)  # sources are near-clean so energy finds speech; noise is added per mixture


@dataclass(frozen=True)
class Source:
    """One utterance as placed in a mixture: its clean audio and speech segments (in frames)."""

    speaker: str
    audio: np.ndarray
    segments: list[tuple[int, int]]


@dataclass(frozen=True)
class Recording:
    """A mixture: its id, path (relative to the corpus folder), length and (speaker, start, end) turns in frames."""

    reco: str
    relpath: str
    frames: int
    turns: list[tuple[str, int, int]]


def plan(spec: SizeSpec, seed: int) -> list[Job]:
    """Two source utterances per mixture; speakers of a mixture are distinct and from its split."""
    rng = np.random.default_rng([seed, 21])
    voices = sample_voices(rng, sum(spec.mix_speakers))
    ids = [str(i) for i in rng.choice(np.arange(10, 9000), size=len(voices), replace=False)]
    jobs: list[Job] = []
    first = 0
    for split, n_speakers, n_mixtures in zip(SPLITS, spec.mix_speakers, spec.mix_recordings):
        speakers = list(range(first, first + n_speakers))
        first += n_speakers
        counts: dict[int, int] = defaultdict(int)
        for _ in range(n_mixtures):
            pair = [int(i) for i in rng.choice(speakers, size=2, replace=False)]
            names = [f"{ids[i]}-{counts[i]:04d}" for i in pair]
            for i in pair:
                counts[i] += 1
            reco = "_".join(names)
            for i, name in zip(pair, names):
                relpath = f"sources/{split}/{ids[i]}/{name}.wav"
                jobs.append(
                    SpeechJob(
                        relpath=relpath,
                        text=sentence(rng),
                        voice=voices[i].jittered(rng),
                        channel=CLEAN,
                        seed=file_seed(seed, relpath),
                        pad_seconds=(0.05, 0.2),
                        meta={
                            "split": split,
                            "speaker": ids[i],
                            "reco": reco,
                            "mix_seed": file_seed(seed, f"wav/{split}/{reco}.wav"),
                        },
                    )
                )
    return jobs


def speech_segments(audio: np.ndarray) -> list[tuple[int, int]]:
    """Speech as (start, end) 10 ms frames: frames within SPEECH_DB of the loudest, pauses under
    MIN_PAUSE_S filled in."""
    n_frames = len(audio) // FRAME
    rms = np.sqrt(np.mean(audio[: n_frames * FRAME].reshape(n_frames, FRAME) ** 2, axis=1))
    active = np.flatnonzero(rms > rms.max() * 10 ** (SPEECH_DB / 20))
    if len(active) == 0:
        raise ValueError("no speech found in a source utterance")
    segments: list[tuple[int, int]] = []
    start = previous = int(active[0])
    for frame in active[1:]:
        if frame - previous > MIN_PAUSE_S * 100:
            segments.append((start, previous + 1))
            start = int(frame)
        previous = int(frame)
    segments.append((start, previous + 1))
    return segments


def load_source(path: Path, speaker: str) -> Source:
    """A rendered utterance trimmed to its speech, with segments relative to the trimmed start."""
    audio, _ = sf.read(str(path), dtype="float32")
    segments = speech_segments(audio)
    first, last = segments[0][0], segments[-1][1]
    trimmed = audio[first * FRAME : last * FRAME]
    return Source(speaker, trimmed, [(s - first, e - first) for s, e in segments])


def mix(sources: Sequence[Source], rng: np.random.Generator) -> tuple[np.ndarray, list[list[tuple[int, int]]]]:
    """Place the sources (random order, level and offsets; the second starts while the first is
    still speaking), add noise; return the mixture and each source's segments in mixture frames."""
    order = rng.permutation(len(sources))
    lengths = [len(source.audio) // FRAME for source in sources]
    offsets = [0] * len(sources)
    offsets[order[0]] = int(rng.integers(20, 101))  # 0.2 to 1 s of leading silence
    offsets[order[1]] = offsets[order[0]] + int(lengths[order[0]] * rng.uniform(0.2, 0.9))
    total = max(o + n for o, n in zip(offsets, lengths)) + int(rng.integers(20, 101))
    mixture = np.zeros(total * FRAME, dtype=np.float32)
    for source, offset in zip(sources, offsets):
        speech = np.concatenate([source.audio[s * FRAME : e * FRAME] for s, e in source.segments])
        level = 0.05 * 10 ** (rng.uniform(-3.0, 3.0) / 20) / (np.sqrt(np.mean(speech**2)) + 1e-9)
        mixture[offset * FRAME : offset * FRAME + len(source.audio)] += source.audio * level
    mixture += colored_noise(rng, len(mixture), str(rng.choice(["white", "pink", "brown"]))) * (
        0.05 * 10 ** (-rng.uniform(15.0, 30.0) / 20)
    )
    peak = float(np.max(np.abs(mixture)))
    if peak > 0.99:
        mixture *= 0.99 / peak
    return mixture, [[(s + o, e + o) for s, e in source.segments] for source, o in zip(sources, offsets)]


def finalize(root: Path, rendered: Sequence[Rendered]) -> dict[str, int]:
    """Mix each recording's sources and write the Kaldi data directory of every split; returns the
    mixtures written (relative path -> samples)."""
    mixtures: dict[str, int] = {}
    groups: dict[str, list[Rendered]] = defaultdict(list)
    for item in rendered:
        groups[item.job.meta["reco"]].append(item)
    recordings: dict[str, list[Recording]] = {split: [] for split in SPLITS}
    for reco, items in groups.items():
        meta = items[0].job.meta
        relpath = f"wav/{meta['split']}/{reco}.wav"
        sources = [load_source(root / item.job.relpath, item.job.meta["speaker"]) for item in items]
        mixture, segments = mix(sources, np.random.default_rng(meta["mix_seed"]))
        _write_wav(root / relpath, mixture)
        mixtures[relpath] = len(mixture)
        turns = [(source.speaker, s, e) for source, segs in zip(sources, segments) for s, e in segs]
        recordings[meta["split"]].append(Recording(reco, relpath, len(mixture) // FRAME, turns))
    for split, items in recordings.items():
        for name, text in kaldi_files(items).items():
            atomic_write_text(root / "data" / split / name, text)
    return mixtures


def kaldi_files(recordings: Sequence[Recording]) -> dict[str, str]:
    """The Kaldi data directory of one split, file name -> content (lines sorted, times in seconds)."""
    lines: dict[str, list[str]] = defaultdict(list)
    spk2utt: dict[str, list[str]] = defaultdict(list)
    for rec in recordings:
        lines["wav.scp"].append(f"{rec.reco} {rec.relpath}")
        lines["reco2dur"].append(f"{rec.reco} {rec.frames / 100:.2f}")
        for speaker, start, end in rec.turns:
            utt = f"{speaker}-{rec.reco}-{start:06d}"
            spk2utt[speaker].append(utt)
            lines["segments"].append(f"{utt} {rec.reco} {start / 100:.2f} {end / 100:.2f}")
            lines["utt2spk"].append(f"{utt} {speaker}")
            lines["rttm"].append(
                f"SPEAKER {rec.reco} 1 {start / 100:.2f} {(end - start) / 100:.2f} <NA> <NA> {speaker} <NA> <NA>"
            )
    lines["spk2utt"] = [f"{spk} {' '.join(sorted(utts))}" for spk, utts in spk2utt.items()]
    return {name: "".join(f"{line}\n" for line in sorted(items)) for name, items in lines.items()}


def _write_wav(path: Path, audio: np.ndarray) -> None:
    """Write 16-bit audio atomically; an existing file is kept (it holds the same samples)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.wav")
    sf.write(str(tmp), audio, SAMPLE_RATE, subtype="PCM_16")
    tmp.replace(path)
