"""A prosody-style emotion proxy in IEMOCAP layout. The four classes are NOT real emotions: they are
neutral / "happy" / "angry" / "sad" renderings of emotion-free sentences through pitch, pitch
range, speaking rate and loudness (with per-utterance jitter, so classes overlap). Layout:
`Session{1..5}/sentences/wav/<dialog>/<utt>.wav` and `Session{k}/dialog/EmoEvaluation/<dialog>.txt`
with lines `[start - end]\\t<utt>\\t<emo>\\t[v, a, d]`. Each session has its own two speakers
(F and M), as in the real corpus, so each test fold's speakers are held out."""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from dpbench.data.synth.common import Job, Rendered, file_seed, light_channel
from dpbench.data.synth.render import SpeechJob
from dpbench.data.synth.sizes import SizeSpec
from dpbench.data.synth.text import sentence
from dpbench.data.synth.voices import Voice, sample_voice
from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_json, atomic_write_text

FOLDER = "iemocap"
SESSIONS = (1, 2, 3, 4, 5)
EMOTIONS = ("neu", "hap", "ang", "sad")
S3PRL_LABELS = {"neu": 0, "hap": 1, "ang": 2, "sad": 3}
# emotion -> (pitch offset, pitch-range change %, rate factor, amplitude factor, valence/arousal/dominance)
PROSODY = {
    "neu": (0, 0, 1.00, 1.00, (2.5, 2.5, 2.5)),
    "hap": (10, 60, 1.12, 1.15, (4.0, 3.5, 3.0)),
    "ang": (4, 40, 1.20, 1.60, (1.5, 4.0, 4.0)),
    "sad": (-10, -60, 0.80, 0.65, (1.5, 2.0, 2.0)),
}
LABEL_LINE = re.compile(r"^\[(\S+) - (\S+)\]\t(\S+)\t(\S+)\t\[")
# The order of the label files in s3prl's shipped emotion metadata (see the file's "source"): s3prl's
# dev split is a seeded random 20% of the train entries, so the entry order decides which are dev.
S3PRL_DIALOG_ORDER = ("assets", "iemocap", "s3prl_dialog_order.json")


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
                        meta={"split": f"Session{session}", "speaker": f"Ses{session:02d}{gender}",
                              "dialog": dialog, "utt": utt, "emotion": emotion},
                    )
                )  # fmt: skip
    return jobs


def finalize(root: Path, rendered: Sequence[Rendered]) -> None:
    dialogs: dict[tuple[str, str], list[str]] = defaultdict(list)
    clock: dict[str, float] = defaultdict(float)
    for item in rendered:
        meta = item.job.meta
        start = clock[meta["dialog"]] + 0.5
        end = start + item.n_samples / 16000
        clock[meta["dialog"]] = end
        vad = ", ".join(f"{v:.4f}" for v in PROSODY[meta["emotion"]][4])
        line = f"[{start:.4f} - {end:.4f}]\t{meta['utt']}\t{meta['emotion']}\t[{vad}]\n"
        dialogs[(meta["split"], meta["dialog"])].append(line)
    header = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
    for (session, dialog), lines in dialogs.items():
        atomic_write_text(root / session / "dialog" / "EmoEvaluation" / f"{dialog}.txt", header + "\n".join(lines))


def read_labels(root: Path, session: int) -> list[dict]:
    """Utterances of one session that have a wav and one of the four SUPERB labels
    (`exc` counts as `hap`, as in SUPERB), as s3prl metadata entries."""
    session_dir = root / f"Session{session}"
    label_dir = session_dir / "dialog" / "EmoEvaluation"
    if not label_dir.is_dir():
        raise DpbenchError(f"{label_dir}: missing; pass the IEMOCAP root that holds Session1..Session5")
    wavs = {p.stem: p for p in (session_dir / "sentences" / "wav").rglob("*.wav") if not p.name.startswith(".")}
    entries = []
    for label_file in sorted(label_dir.glob("*.txt"), key=s3prl_dialog_key):
        for line in label_file.read_text().splitlines():
            match = LABEL_LINE.match(line)
            if not match:
                continue
            utt, emotion = match.group(3), match.group(4).replace("exc", "hap")
            if emotion in S3PRL_LABELS and utt in wavs:
                entries.append(
                    {"path": wavs[utt].relative_to(root).as_posix(), "label": emotion, "speaker": utt.split("_")[0]}
                )
    return entries


@cache
def s3prl_dialog_rank() -> dict[str, int]:
    """Each IEMOCAP dialog's position within its session in s3prl's shipped emotion metadata."""
    data = json.loads(files("dpbench").joinpath(*S3PRL_DIALOG_ORDER).read_text(encoding="utf-8"))
    return {dialog: rank for dialogs in data["sessions"].values() for rank, dialog in enumerate(dialogs)}


def s3prl_dialog_key(label_file: Path) -> tuple[bool, int, str]:
    """Sort key for label files: s3prl's order; dialogs it does not list (synthetic corpora) after, by name."""
    rank = s3prl_dialog_rank()
    return (label_file.stem not in rank, rank.get(label_file.stem, 0), label_file.stem)


def write_s3prl_metadata(root: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write s3prl's emotion metadata, `out_dir/Session{k}/{train,test}_meta_data.json` for the five
    folds (fold k tests on Session k, trains on the other four), for a real or synthetic IEMOCAP
    root. Paths in the JSON are relative to `root` (s3prl's `datarc.root`). Returns the files."""
    root, out_dir = Path(root), Path(out_dir)
    per_session = {session: read_labels(root, session) for session in SESSIONS}
    written = []
    for test_session in SESSIONS:
        train = [entry for s in SESSIONS if s != test_session for entry in per_session[s]]
        for split, entries in (("train", train), ("test", per_session[test_session])):
            path = out_dir / f"Session{test_session}" / f"{split}_meta_data.json"
            atomic_write_json(path, {"labels": S3PRL_LABELS, "meta_data": entries})
            written.append(path)
    return written
