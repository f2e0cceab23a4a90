"""Keyword spotting in Speech Commands v0.01 layout: `train/<word>/<hash>_nohash_<n>.wav` (1 s clips;
the hash is the speaker, and s3prl sends a speaker to dev when its sha1 percentile is < 10),
`train/_background_noise_/*.wav`, and a separate test root `test/<class>/*.wav` with the 10
commands, `_unknown_` and `_silence_`. Test speakers are held out; dev speakers are chosen so their
hashes land in s3prl's dev range."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dpbench.data.synth.common import Job, Rendered, file_seed, random_id, varied_channel
from dpbench.data.synth.render import NoiseJob, SpeechJob
from dpbench.data.synth.sizes import SizeSpec
from dpbench.data.synth.voices import sample_voices

FOLDER = "speech_commands"
COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
AUXILIARY_WORDS = ("bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow")
NOISES = ("white_noise", "pink_noise", "brown_noise", "hum", "running_tap")
MAX_PER_CLASS = 2**27 - 1


def hash_percentile(speaker_hash: str) -> float:
    """Where s3prl's (and TensorFlow's) Speech Commands split puts a filename prefix, in [0, 100)."""
    value = int(hashlib.sha1(speaker_hash.encode()).hexdigest(), 16)
    return (value % (MAX_PER_CLASS + 1)) * (100.0 / MAX_PER_CLASS)


def speaker_hash(rng: np.random.Generator, dev: bool) -> str:
    """An 8-hex-digit speaker hash whose percentile lands in dev (< 10) or train (>= 20)."""
    while True:
        candidate = random_id(rng, 8, "0123456789abcdef")
        percentile = hash_percentile(candidate)
        if (percentile < 10) if dev else (percentile >= 20):
            return candidate


def plan(spec: SizeSpec, seed: int) -> list[Job]:
    rng = np.random.default_rng([seed, 2])
    n_train, n_dev, n_test = spec.ks_speakers
    voices = sample_voices(rng, n_train + n_dev + n_test, rate_range=(150, 200))
    roles = ["train"] * n_train + ["dev"] * n_dev + ["test"] * n_test
    auxiliary = AUXILIARY_WORDS[: spec.ks_unknown_words]
    jobs: list[Job] = []
    for voice, role in zip(voices, roles):
        hashed = speaker_hash(rng, dev=role == "dev")
        if role == "test":  # test speakers say every command once and one auxiliary word
            words = [(w, w) for w in COMMANDS] + [(str(rng.choice(auxiliary)), "_unknown_")]
            folder = "test"
        else:
            words = [(w, w) for w in COMMANDS + auxiliary]
            folder = "train"
        for word, label in words:
            relpath = f"{folder}/{label}/{hashed}_nohash_0.wav"
            jobs.append(
                SpeechJob(
                    relpath=relpath,
                    text=word,
                    voice=voice.jittered(rng),
                    channel=varied_channel(rng),
                    seed=file_seed(seed, relpath),
                    clip_seconds=1.0,
                    meta={"split": role, "speaker": hashed, "label": label},
                )
            )
    for name in NOISES:
        relpath = f"train/_background_noise_/{name}.wav"
        kind = {"white_noise": "white", "pink_noise": "pink", "brown_noise": "brown", "running_tap": "tap"}.get(
            name, name
        )
        jobs.append(NoiseJob(relpath, kind, spec.ks_noise_seconds, -20.0, file_seed(seed, relpath), {"split": "train"}))
    for index in range(spec.ks_test_silence):
        relpath = f"test/_silence_/{random_id(rng, 8, '0123456789abcdef')}_nohash_{index}.wav"
        kind = str(rng.choice(["white", "pink", "brown", "hum", "tap"]))
        level = float(rng.uniform(-50, -20))
        jobs.append(
            NoiseJob(relpath, kind, 1.0, level, file_seed(seed, relpath), {"split": "test", "label": "_silence_"})
        )
    return jobs


def finalize(root: Path, rendered: Sequence[Rendered]) -> None:
    """Speech Commands needs no metadata files: folders are the labels."""
