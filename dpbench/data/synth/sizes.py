"""How much each synthetic corpus holds at each `--size`.

Hours of audio, all eight corpora together, seed 0 (`corpus.json` records the exact figures):
  tiny    0.38 h,    577 files; ~7 s wall on 2 cores (what the tests use)
  small   6.1 h,   7,627 files; the demo's six tasks use 3.7 h, 4,907 files, ~50 s wall on 2 cores
  medium  not rendered or timed; about 4-6 times small per corpus, so use several workers
"""

from __future__ import annotations

from dataclasses import dataclass

from dpbench.errors import DpbenchError


@dataclass(frozen=True)
class SizeSpec:
    """Counts per corpus. Triples are (train, dev/valid, test)."""

    libri_speakers: tuple[int, int, int]
    libri_chapters: int  # per speaker
    libri_utterances: int  # per chapter
    ks_speakers: tuple[int, int, int]  # train / dev (by filename hash) / test root
    ks_unknown_words: int  # auxiliary words that become `_unknown_`
    ks_noise_seconds: float  # per background-noise file
    ks_test_silence: int
    fsc_speakers: tuple[int, int, int]
    fsc_eval_intents: int  # intents each valid/test speaker says (train speakers say all 31)
    vox_speakers: int
    vox_videos: tuple[int, int, int]  # per speaker, videos used for train / valid / test
    vox_utterances: int  # per video
    vox_verification_speakers: int  # extra test/ speakers only the ASV trial list uses (not in iden_split)
    vox_verification_videos: int  # per such speaker
    iemocap_dialogs: int  # per session; both session speakers speak in every dialog
    iemocap_utterances: int  # per dialog, speaker and emotion
    mix_speakers: tuple[int, int, int]  # librimix: speakers of train / dev / test
    mix_recordings: tuple[int, int, int]  # librimix: 2-speaker mixtures of train / dev / test
    snips_speakers: tuple[int, int, int]  # at most SUPERB's 8 / 4 / 4 named speakers
    snips_utterances: tuple[int, int, int]  # per speaker
    qbe_keywords: tuple[int, int]  # quesst14: keywords (one spoken query each) of the dev / eval query sets
    qbe_occurrences: int  # quesst14: documents that say each keyword
    qbe_distractors: int  # quesst14: documents that say no keyword
    qbe_speakers: int  # quesst14: document readers (each query has its own voice besides)


SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec(
        libri_speakers=(6, 2, 2),
        libri_chapters=1,
        libri_utterances=4,
        ks_speakers=(10, 2, 2),
        ks_unknown_words=4,
        ks_noise_seconds=10.0,
        ks_test_silence=6,
        fsc_speakers=(2, 1, 1),
        fsc_eval_intents=16,
        vox_speakers=6,
        vox_videos=(2, 1, 1),
        vox_utterances=2,
        vox_verification_speakers=2,
        vox_verification_videos=2,
        iemocap_dialogs=1,
        iemocap_utterances=2,
        mix_speakers=(4, 2, 2),
        mix_recordings=(8, 2, 2),
        snips_speakers=(2, 1, 1),
        snips_utterances=(16, 8, 8),
        qbe_keywords=(3, 3),
        qbe_occurrences=2,
        qbe_distractors=4,
        qbe_speakers=4,
    ),
    "small": SizeSpec(
        libri_speakers=(40, 8, 8),
        libri_chapters=2,
        libri_utterances=10,
        ks_speakers=(60, 10, 10),
        ks_unknown_words=10,
        ks_noise_seconds=60.0,
        ks_test_silence=40,
        fsc_speakers=(16, 4, 4),
        fsc_eval_intents=31,
        vox_speakers=40,
        vox_videos=(4, 1, 1),
        vox_utterances=4,
        vox_verification_speakers=6,
        vox_verification_videos=2,
        iemocap_dialogs=3,
        iemocap_utterances=4,
        mix_speakers=(40, 8, 8),
        mix_recordings=(320, 50, 50),
        snips_speakers=(8, 2, 2),
        snips_utterances=(120, 60, 60),
        qbe_keywords=(20, 20),
        qbe_occurrences=4,
        qbe_distractors=60,
        qbe_speakers=12,
    ),
    "medium": SizeSpec(
        libri_speakers=(120, 20, 20),
        libri_chapters=3,
        libri_utterances=20,
        ks_speakers=(250, 40, 40),
        ks_unknown_words=10,
        ks_noise_seconds=60.0,
        ks_test_silence=150,
        fsc_speakers=(60, 10, 10),
        fsc_eval_intents=31,
        vox_speakers=150,
        vox_videos=(5, 1, 1),
        vox_utterances=5,
        vox_verification_speakers=25,
        vox_verification_videos=3,
        iemocap_dialogs=6,
        iemocap_utterances=6,
        mix_speakers=(120, 20, 20),
        mix_recordings=(2000, 300, 300),
        snips_speakers=(8, 4, 4),
        snips_utterances=(500, 150, 150),
        qbe_keywords=(20, 20),
        qbe_occurrences=6,
        qbe_distractors=400,
        qbe_speakers=30,
    ),
}


def get_size(name: str) -> SizeSpec:
    if name not in SIZES:
        raise DpbenchError(f"--size {name}: unknown size; choose one of {', '.join(SIZES)}")
    return SIZES[name]
