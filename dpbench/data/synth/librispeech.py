"""Read speech in LibriSpeech layout: `<split>/<spk>/<chap>/<spk>-<chap>-<utt>.flac`, one
`<spk>-<chap>.trans.txt` per chapter (UPPER-CASE), SPEAKERS.TXT, and an ARPAbet `lexicon.txt`.
Speakers are disjoint across train-clean-100, dev-clean and test-clean."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dpbench.data.synth.common import Job, Rendered, file_seed, light_channel
from dpbench.data.synth.lexicon import build_lexicon, format_lexicon
from dpbench.data.synth.render import SpeechJob
from dpbench.data.synth.sizes import SizeSpec
from dpbench.data.synth.text import sentence, vocabulary
from dpbench.data.synth.voices import AMERICAN_ACCENTS, sample_voices
from dpbench.io_utils import atomic_write_text

FOLDER = "LibriSpeech"
SPLITS = ("train-clean-100", "dev-clean", "test-clean")


def plan(spec: SizeSpec, seed: int) -> list[Job]:
    rng = np.random.default_rng([seed, 1])
    n_speakers = sum(spec.libri_speakers)
    voices = sample_voices(rng, n_speakers, accents=AMERICAN_ACCENTS)
    speaker_ids = rng.choice(np.arange(10, 9000), size=n_speakers, replace=False)
    splits = [s for s, n in zip(SPLITS, spec.libri_speakers) for _ in range(n)]
    jobs: list[Job] = []
    for voice, speaker, split in zip(voices, speaker_ids, splits):
        chapters = rng.choice(np.arange(10, 300000), size=spec.libri_chapters, replace=False)
        for chapter in chapters:
            for utt in range(spec.libri_utterances):
                uid = f"{speaker}-{chapter}-{utt:04d}"
                relpath = f"{split}/{speaker}/{chapter}/{uid}.flac"
                jobs.append(
                    SpeechJob(
                        relpath=relpath,
                        text=sentence(rng),
                        voice=voice.jittered(rng),
                        channel=light_channel(rng),
                        seed=file_seed(seed, relpath),
                        meta={"split": split, "speaker": str(speaker), "gender": voice.gender},
                    )
                )
    return jobs


def finalize(root: Path, rendered: Sequence[Rendered]) -> None:
    chapters: dict[Path, list[str]] = defaultdict(list)
    speakers: dict[str, tuple[str, str, float]] = {}
    for item in rendered:
        relpath = Path(item.job.relpath)
        chapters[relpath.parent].append(f"{relpath.stem} {item.job.text.upper()}")
        meta = item.job.meta
        _, _, minutes = speakers.get(meta["speaker"], (meta["gender"], meta["split"], 0.0))
        speakers[meta["speaker"]] = (meta["gender"], meta["split"], minutes + item.n_samples / 16000 / 60)
    for folder, lines in chapters.items():
        speaker, chapter = folder.parts[-2:]
        atomic_write_text(root / folder / f"{speaker}-{chapter}.trans.txt", "\n".join(sorted(lines)) + "\n")
    header = ";ID  |SEX| SUBSET           |MINUTES| NAME\n"
    rows = [
        f"{spk:<5}| {sex} | {split:<17}| {minutes:5.2f} | synthetic speaker {spk}\n"
        for spk, (sex, split, minutes) in sorted(speakers.items(), key=lambda kv: int(kv[0]))
    ]
    atomic_write_text(root / "SPEAKERS.TXT", "; synthetic speakers (espeak-ng voices)\n" + header + "".join(rows))
    atomic_write_text(root / "lexicon.txt", format_lexicon(build_lexicon(vocabulary())))
