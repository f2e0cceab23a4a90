"""IEMOCAP for ER: `Session{1..5}/sentences/wav/<dialog>/<utt>.wav` and per dialog a label file
`Session{k}/dialog/EmoEvaluation/<dialog>.txt` with lines `[start - end]\t<utt>\t<emo>\t[v, a, d]`.
Writes s3prl's emotion metadata (`Session{k}/{train,test}_meta_data.json`) for a real or synthetic
corpus; the synthetic generator (`dpbench.data.synth.iemocap`) writes its label files through
`label_file` / `label_line`, so both sides share one format."""

from __future__ import annotations

import json
import os
import re
from functools import cache
from importlib.resources import files
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_json

SESSIONS = (1, 2, 3, 4, 5)
S3PRL_LABELS = {"neu": 0, "hap": 1, "ang": 2, "sad": 3}
LABEL_LINE = re.compile(r"^\[(\S+) - (\S+)\]\t(\S+)\t(\S+)\t\[")
LABEL_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
# The order of the label files in s3prl's shipped emotion metadata (see the file's "source"): s3prl's
# dev split is a seeded random 20% of the train entries, so the entry order decides which are dev.
S3PRL_DIALOG_ORDER = ("assets", "iemocap", "s3prl_dialog_order.json")


def label_file(root: Path, session: str, dialog: str) -> Path:
    """Where a dialog's label file lives (`session` is the folder name, `Session1`..`Session5`)."""
    return root / session / "dialog" / "EmoEvaluation" / f"{dialog}.txt"


def label_line(start: float, end: float, utt: str, emotion: str, vad: tuple[float, ...]) -> str:
    """One utterance's line of a label file (what LABEL_LINE reads)."""
    values = ", ".join(f"{v:.4f}" for v in vad)
    return f"[{start:.4f} - {end:.4f}]\t{utt}\t{emotion}\t[{values}]\n"


def read_labels(root: Path, session: int) -> list[dict]:
    """Utterances of one session that have a wav and one of the four SUPERB labels
    (`exc` counts as `hap`, as in SUPERB), as s3prl metadata entries."""
    session_dir = root / f"Session{session}"
    label_dir = session_dir / "dialog" / "EmoEvaluation"
    if not label_dir.is_dir():
        raise DpbenchError(f"{label_dir}: missing; pass the IEMOCAP root that holds Session1..Session5")
    wavs = {p.stem: p for p in (session_dir / "sentences" / "wav").rglob("*.wav") if not p.name.startswith(".")}
    entries = []
    for labels in sorted(label_dir.glob("*.txt"), key=s3prl_dialog_key):
        for line in labels.read_text().splitlines():
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


def s3prl_dialog_key(path: Path) -> tuple[bool, int, str]:
    """Sort key for label files: s3prl's order; dialogs it does not list (synthetic corpora) after, by name."""
    rank = s3prl_dialog_rank()
    return (path.stem not in rank, rank.get(path.stem, 0), path.stem)


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
