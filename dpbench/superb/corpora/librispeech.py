"""LibriSpeech for ASR and PR: `<split>/<spk>/<chap>/<spk>-<chap>-<utt>.flac` + `.trans.txt`, and for PR a
lexicon. Writes a view that s3prl's `LibriSpeech` corpus class can parse (it needs `SPEAKERS.TXT`)."""

from __future__ import annotations

import os
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text
from dpbench.superb.checks import require

SPEAKERS_HEADER = ";ID  |SEX| SUBSET           |MINUTES| NAME\n"
LEXICON = "lexicon.txt"


def lexicon_file(source: Path) -> Path:
    """The corpus's phoneme lexicon (`WORD<TAB>PH PH ...`), which PR phonemizes transcripts with."""
    lexicon = source / LEXICON
    require(
        lexicon.is_file(),
        (
            f"PR needs {lexicon} (WORD<TAB>PHONES, ARPAbet with stress). Synthetic corpora include it; for real "
            "LibriSpeech, concatenate s3prl's librispeech-lexicon-200k-g2p.txt and "
            "librispeech-lexicon-allothers-g2p.txt (huggingface.co/datasets/s3prl/g2p) into that file"
        ),
    )
    return lexicon


def count_utterances(split_dir: Path) -> int:
    return sum(1 for _ in split_dir.rglob("*.flac"))


def librispeech_view(source: Path, target: Path, splits: list[str]) -> Path:
    """Link `splits` of `source` into `target` and add `SPEAKERS.TXT` if the corpus has none."""
    target.mkdir(parents=True, exist_ok=True)
    speakers: set[str] = set()
    for split in splits:
        split_dir = source / split
        if count_utterances(split_dir) == 0:
            raise DpbenchError(
                f"{split_dir} has no .flac utterances: LibriSpeech layout expected "
                "(<split>/<spk>/<chap>/<spk>-<chap>-<utt>.flac + .trans.txt)"
            )
        link = target / split
        if not link.exists():
            os.symlink(split_dir.resolve(), link, target_is_directory=True)
        speakers.update(p.name for p in split_dir.iterdir() if p.is_dir())
    speakers_file = source / "SPEAKERS.TXT"
    if speakers_file.is_file():
        if not (target / "SPEAKERS.TXT").exists():
            os.symlink(speakers_file.resolve(), target / "SPEAKERS.TXT")
    else:
        lines = [f"{spk} | U | {','.join(splits)} | 0.00 | dpbench\n" for spk in sorted(speakers, key=int)]
        atomic_write_text(target / "SPEAKERS.TXT", SPEAKERS_HEADER + "".join(lines))
    return target


def recipe_view(source: Path, run_dir: Path, prepare_data: dict) -> Path:
    """`librispeech_view` of every split an `s3prl.problem` LibriSpeech recipe's `prepare_data` names,
    under `run_dir/data/LibriSpeech`."""
    splits = [*prepare_data["train_sets"], *prepare_data["valid_sets"], *prepare_data["test_sets"]]
    return librispeech_view(source, run_dir / "data" / "LibriSpeech", splits)
