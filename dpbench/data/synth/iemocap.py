"""A prosody-style emotion proxy in IEMOCAP layout. The four classes are NOT real emotions: they are
neutral / "happy" / "angry" / "sad" renderings of emotion-free sentences through pitch, pitch
range, speaking rate and loudness (with per-utterance jitter, so classes overlap). Layout:
`Session{1..5}/sentences/wav/<dialog>/<utt>.wav` and `Session{k}/dialog/EmoEvaluation/<dialog>.txt`
with lines `[start - end]\\t<utt>\\t<emo>\\t[v, a, d]`. Each session has its own two speakers
(F and M), as in the real corpus, so each test fold's speakers are held out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from dpbench.data.synth.common import Job, Rendered, file_seed, light_channel
from dpbench.data.synth.render import SpeechJob
from dpbench.data.synth.sizes import SizeSpec
from dpbench.data.synth.text import sentence
from dpbench.data.synth.voices import Voice, sample_voice
from dpbench.io_utils import atomic_write_text
from dpbench.superb.corpora.iemocap import LABEL_HEADER, S3PRL_LABELS, SESSIONS, label_file, label_line

FOLDER = "iemocap"
EMOTIONS = tuple(S3PRL_LABELS)
# emotion -> (pitch offset, pitch-range change %, rate factor, amplitude factor, valence/arousal/dominance)
PROSODY = {
    "neu": (0, 0, 1.00, 1.00, (2.5, 2.5, 2.5)),
    "hap": (10, 60, 1.12, 1.15, (4.0, 3.5, 3.0)),
    "ang": (4, 40, 1.20, 1.60, (1.5, 4.0, 4.0)),
    "sad": (-10, -60, 0.80, 0.65, (1.5, 2.0, 2.0)),
}


def emotional_voice(voice: Voice, emotion: str, rng: np.random.Generator) -> Voice:
    pitch, pitch_range, rate, amplitude, _ = PROSODY[emotion]
    styled = replace(
        voice,
        pitch=int(np.clip(voice.pitch + pitch, 0, 99)),
        pitch_range=pitch_range + int(rng.integers(-20, 21)),
        rate=int(voice.rate * rate),
        amplitude=int(np.clip(voice.amplitude * amplitude, 10, 200)),
    )
    return styled.jittered(rng, pitch=6, rate=0.08, amplitude=0.2)


def plan(spec: SizeSpec, seed: int) -> list[Job]:
    rng = np.random.default_rng([seed, 5])
    jobs: list[Job] = []
    for session in SESSIONS:
        voices = {gender: sample_voice(rng, gender=gender) for gender in "FM"}
        for dialog_index in range(1, spec.iemocap_dialogs + 1):
            lead = "FM"[dialog_index % 2]
            kind = "impro" if dialog_index % 2 else "script"
            dialog = f"Ses{session:02d}{lead}_{kind}{dialog_index:02d}"
            turns = [(g, e) for g in "FM" for e in EMOTIONS for _ in range(spec.iemocap_utterances)]
            counters = {"F": 0, "M": 0}
            for turn in rng.permutation(len(turns)):
                gender, emotion = turns[turn]
                utt = f"{dialog}_{gender}{counters[gender]:03d}"
                counters[gender] += 1
                relpath = f"Session{session}/sentences/wav/{dialog}/{utt}.wav"
                jobs.append(
                    SpeechJob(
                        relpath=relpath,
                        text=sentence(rng),
                        voice=emotional_voice(voices[gender], emotion, rng),
                        channel=light_channel(rng),
                        seed=file_seed(seed, relpath),
                        pad_seconds=(0.05, 0.3),
                        meta={
                            "split": f"Session{session}",
                            "speaker": f"Ses{session:02d}{gender}",
                            "dialog": dialog,
                            "utt": utt,
                            "emotion": emotion,
                        },
                    )
                )
    return jobs


def finalize(root: Path, rendered: Sequence[Rendered]) -> None:
    dialogs: dict[tuple[str, str], list[str]] = defaultdict(list)
    clock: dict[str, float] = defaultdict(float)
    for item in rendered:
        meta = item.job.meta
        start = clock[meta["dialog"]] + 0.5
        end = start + item.n_samples / 16000
        clock[meta["dialog"]] = end
        line = label_line(start, end, meta["utt"], meta["emotion"], PROSODY[meta["emotion"]][4])
        dialogs[(meta["split"], meta["dialog"])].append(line)
    for (session, dialog), lines in dialogs.items():
        atomic_write_text(label_file(root, session, dialog), LABEL_HEADER + "\n".join(lines))
