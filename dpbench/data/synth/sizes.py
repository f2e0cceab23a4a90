"""How much each synthetic corpus holds at each `--size`.

Hours of audio, all five corpora together, seed 0 (`corpus.json` records the exact figures):
  tiny    0.28 h,    463 files; ~10 s of CPU, under a minute on one core (what the tests use)
  small   3.7 h,   4,859 files; ~1.5 min of CPU, ~4.5 min wall on one busy core (the CPU-scale demo)
  medium  ~20 h, ~25,000 files (estimated, not timed); ~8 min of CPU, so use several workers
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
    iemocap_dialogs: int  # per session; both session speakers speak in every dialog
    iemocap_utterances: int  # per dialog, speaker and emotion


SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec(
        libri_speakers=(6, 2, 2), libri_chapters=1, libri_utterances=4,
        ks_speakers=(10, 2, 2), ks_unknown_words=4, ks_noise_seconds=10.0, ks_test_silence=6,
        fsc_speakers=(2, 1, 1), fsc_eval_intents=16,
        vox_speakers=6, vox_videos=(2, 1, 1), vox_utterances=2,
        iemocap_dialogs=1, iemocap_utterances=2,
    ),
    "small": SizeSpec(
        libri_speakers=(40, 8, 8), libri_chapters=2, libri_utterances=10,
        ks_speakers=(60, 10, 10), ks_unknown_words=10, ks_noise_seconds=60.0, ks_test_silence=40,
        fsc_speakers=(16, 4, 4), fsc_eval_intents=31,
        vox_speakers=40, vox_videos=(4, 1, 1), vox_utterances=4,
        iemocap_dialogs=3, iemocap_utterances=4,
    ),
    "medium": SizeSpec(
        libri_speakers=(120, 20, 20), libri_chapters=3, libri_utterances=20,
        ks_speakers=(250, 40, 40), ks_unknown_words=10, ks_noise_seconds=60.0, ks_test_silence=150,
        fsc_speakers=(60, 10, 10), fsc_eval_intents=31,
        vox_speakers=150, vox_videos=(5, 1, 1), vox_utterances=5,
        iemocap_dialogs=6, iemocap_utterances=6,
    ),
}  # fmt: skip


def get_size(name: str) -> SizeSpec:
    if name not in SIZES:
        raise DpbenchError(f"--size {name}: unknown size; choose one of {', '.join(SIZES)}")
    return SIZES[name]
