"""Speaker identification and verification in VoxCeleb1 layout: `{dev,test}/wav/id1XXXX/<youtube id>/<nnnnn>.wav`,
`iden_split.txt` (`1|2|3 idXXXXX/<yt>/<nnnnn>.wav`) and the verification trial list
`voxceleb1_test_v2.txt` (`1|0 idXXXXX/<yt>/<n>.wav idXXXXX/<yt>/<n>.wav`).

As in the real identification task the set of speakers is closed: every speaker in `iden_split.txt`
has train, valid and test utterances, taken from different "videos", each video with its own
recording channel (noise colour and level, bandwidth). Speakers id10270..id10309 live under `test/`,
as in the real corpus; verification (SUPERB ASV) trains on the `dev/` speakers and scores trials
between `test/` utterances. Extra `test/` speakers that only the trial list uses (they are not in
`iden_split.txt`, so the identification data is the same with or without them) give verification
enough unseen speakers."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dpbench.data.synth.common import Job, Rendered, file_seed, random_id, varied_channel
from dpbench.data.synth.render import SpeechJob
from dpbench.data.synth.sizes import SizeSpec
from dpbench.data.synth.text import sentence
from dpbench.data.synth.voices import Voice, sample_voices
from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text

FOLDER = "voxceleb1"
SPLIT_FILE = "iden_split.txt"
TRIAL_FILE = "voxceleb1_test_v2.txt"  # the name of the real (cleaned) trial list s3prl downloads
TEST_FOLDER_IDS = range(10270, 10310)  # the real corpus keeps these 40 speakers under test/
ALL_IDS = range(10001, 11252)
YOUTUBE_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
VERIFICATION = "verification"  # the corpus.json split of the speakers only the trial list uses
TARGET_TRIALS_PER_UTTERANCE = 2  # the real list has about 4 (37,611 trials, half target, over 4,708 utterances)


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
    videos = [
        (split, code)
        for code, split, n in zip((1, 2, 3), ("train", "valid", "test"), spec.vox_videos)
        for _ in range(n)
    ]
    jobs: list[Job] = []
    for speaker_id, voice in zip(ids, voices):
        jobs += _speaker_jobs(rng, seed, speaker_id, voice, videos, spec.vox_utterances)
    # drawn after the identification speakers, so adding them changes none of those files
    free = [i for i in TEST_FOLDER_IDS if i not in ids]
    if spec.vox_verification_speakers > len(free):
        raise DpbenchError(
            f"SizeSpec asks for {spec.vox_verification_speakers} verification-only speakers, but only "
            f"{len(free)} of id10270..id10309 are free: lower vox_verification_speakers in sizes.py"
        )
    extra = sorted(int(i) for i in rng.choice(free, size=spec.vox_verification_speakers, replace=False))
    for speaker_id, voice in zip(extra, sample_voices(rng, len(extra))):
        jobs += _speaker_jobs(
            rng, seed, speaker_id, voice, [(VERIFICATION, None)] * spec.vox_verification_videos, spec.vox_utterances
        )
    return jobs


def _speaker_jobs(
    rng: np.random.Generator,
    seed: int,
    speaker_id: int,
    voice: Voice,
    videos: Sequence[tuple[str, int | None]],
    utterances: int,
) -> list[Job]:
    """One speaker's utterances: for each (split, iden_split code or None) one video of `utterances` files."""
    folder = "test" if speaker_id in TEST_FOLDER_IDS else "dev"
    jobs: list[Job] = []
    for split, code in videos:
        video = random_id(rng, 11, YOUTUBE_ALPHABET)
        channel = varied_channel(rng)  # one recording condition per video
        for utt in range(1, utterances + 1):
            uid = f"id{speaker_id}/{video}/{utt:05d}.wav"
            relpath = f"{folder}/wav/{uid}"
            jobs.append(
                SpeechJob(
                    relpath=relpath,
                    text=" and ".join(sentence(rng) for _ in range(2)),
                    voice=voice.jittered(rng),
                    channel=channel,
                    seed=file_seed(seed, relpath),
                    meta={"split": split, "speaker": f"id{speaker_id}", "code": code, "uid": uid},
                )
            )
    return jobs


def finalize(root: Path, rendered: Sequence[Rendered]) -> None:
    """Write `iden_split.txt` (identification speakers) and the trial list over every `test/` utterance."""
    metas = [item.job.meta for item in rendered]
    lines = sorted(f"{meta['code']} {meta['uid']}" for meta in metas if meta["code"] is not None)
    atomic_write_text(root / SPLIT_FILE, "\n".join(lines) + "\n")
    test_uids = [meta["uid"] for meta in metas if int(meta["speaker"][2:]) in TEST_FOLDER_IDS]
    trials = make_trials(test_uids)
    atomic_write_text(root / TRIAL_FILE, "".join(f"{label} {a} {b}\n" for label, a, b in trials))


def make_trials(uids: Sequence[str]) -> list[tuple[int, str, str]]:
    """Balanced verification trials over `uids` (`idXXXXX/<yt>/<n>.wav`): `(1, a, b)` pairs of one speaker
    from different videos (any two when the speaker has one video), as many `(0, a, b)` pairs of two
    speakers, up to TARGET_TRIALS_PER_UTTERANCE target trials per utterance. Seeded by the utterance
    list, so one corpus always gets the same trials; sorted like the real list."""
    uids = sorted(uids)
    speakers = [uid.split("/")[0] for uid in uids]
    videos = [uid.split("/")[1] for uid in uids]
    if len(set(speakers)) < 2:
        raise DpbenchError(
            f"a trial list needs at least 2 test speakers, got {sorted(set(speakers))}: "
            "raise vox_verification_speakers in sizes.py"
        )
    speaker_videos: dict[str, set[str]] = {}
    for speaker, video in zip(speakers, videos):
        speaker_videos.setdefault(speaker, set()).add(video)
    pairs = [(i, j) for i in range(len(uids)) for j in range(i + 1, len(uids))]
    target = [
        (i, j)
        for i, j in pairs
        if speakers[i] == speakers[j] and (videos[i] != videos[j] or len(speaker_videos[speakers[i]]) == 1)
    ]
    nontarget = [(i, j) for i, j in pairs if speakers[i] != speakers[j]]
    count = min(len(target), len(nontarget), TARGET_TRIALS_PER_UTTERANCE * len(uids))
    if count == 0:
        raise DpbenchError(
            f"no target trials fit the {len(uids)} test utterances: give every test speaker at "
            "least 2 utterances (vox_utterances in sizes.py)"
        )
    rng = np.random.default_rng(zlib.crc32("\n".join(uids).encode()))
    chosen = [(1, *target[k]) for k in rng.choice(len(target), size=count, replace=False)]
    chosen += [(0, *nontarget[k]) for k in rng.choice(len(nontarget), size=count, replace=False)]
    return [(label, uids[i], uids[j]) for label, i, j in sorted(chosen, key=lambda t: (t[1], t[2]))]
