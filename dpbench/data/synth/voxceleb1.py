"""Speaker identification in VoxCeleb1 layout: `{dev,test}/wav/id1XXXX/<youtube id>/<nnnnn>.wav` and
`iden_split.txt` (`1|2|3 idXXXXX/<yt>/<nnnnn>.wav`). As in the real identification task the set of
speakers is closed: every speaker has train, valid and test utterances, taken from different
"videos", each video with its own recording channel (noise colour and level, bandwidth)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dpbench.data.synth.common import Job, Rendered, file_seed, random_id, varied_channel
from dpbench.data.synth.render import SpeechJob
from dpbench.data.synth.sizes import SizeSpec
from dpbench.data.synth.text import sentence
from dpbench.data.synth.voices import sample_voices
from dpbench.io_utils import atomic_write_text

FOLDER = "voxceleb1"
TEST_FOLDER_IDS = range(10270, 10310)  # the real corpus keeps these 40 speakers under test/
ALL_IDS = range(10001, 11252)
YOUTUBE_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


def speaker_ids(rng: np.random.Generator, count: int) -> list[int]:
    """`count` distinct ids in id10001..id11251, about one in ten from the test-folder range."""
    n_test = min(max(1, count // 10), len(TEST_FOLDER_IDS))
    dev_range = [i for i in ALL_IDS if i not in TEST_FOLDER_IDS]
    chosen = list(rng.choice(TEST_FOLDER_IDS, size=n_test, replace=False))
    chosen += list(rng.choice(dev_range, size=count - n_test, replace=False))
    return sorted(int(i) for i in chosen)


def plan(spec: SizeSpec, seed: int) -> list[Job]:
    rng = np.random.default_rng([seed, 4])
    ids = speaker_ids(rng, spec.vox_speakers)
    voices = sample_voices(rng, len(ids))
    split_codes = [code for code, n in zip((1, 2, 3), spec.vox_videos) for _ in range(n)]
    jobs: list[Job] = []
    for speaker_id, voice in zip(ids, voices):
        folder = "test" if speaker_id in TEST_FOLDER_IDS else "dev"
        for code in split_codes:
            video = random_id(rng, 11, YOUTUBE_ALPHABET)
            channel = varied_channel(rng)  # one recording condition per video
            for utt in range(1, spec.vox_utterances + 1):
                uid = f"id{speaker_id}/{video}/{utt:05d}.wav"
                relpath = f"{folder}/wav/{uid}"
                jobs.append(
                    SpeechJob(
                        relpath=relpath,
                        text=" and ".join(sentence(rng) for _ in range(2)),
                        voice=voice.jittered(rng),
                        channel=channel,
                        seed=file_seed(seed, relpath),
                        meta={"split": ("train", "valid", "test")[code - 1], "speaker": f"id{speaker_id}",
                              "code": code, "uid": uid},
                    )
                )  # fmt: skip
    return jobs


def finalize(root: Path, rendered: Sequence[Rendered]) -> None:
    lines = sorted(f"{item.job.meta['code']} {item.job.meta['uid']}" for item in rendered)
    atomic_write_text(root / "iden_split.txt", "\n".join(lines) + "\n")
