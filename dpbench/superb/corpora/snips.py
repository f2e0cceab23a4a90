"""Audio SNIPS for SF: `<root>/{train,valid,test}/**/<Speaker>-snips-<split>-<n>.wav`, `all.iob.snips.txt`
and `slots.txt`. SuperbSF reads only the speakers its `prepare_data.<split>_speakers` lists name."""

from __future__ import annotations

from pathlib import Path

from dpbench.data.synth.snips import SPEAKERS, SPLITS, TRANSCRIPTS
from dpbench.superb.checks import require

MARKER = TRANSCRIPTS  # the file that tells an Audio SNIPS root


def speakers_in(folder: Path) -> set[str]:
    """Speaker names of the `<Speaker>-snips-<split>-<n>.wav` files under `folder`."""
    return {path.stem.split("-")[0] for path in folder.rglob("*.wav")} if folder.is_dir() else set()


def speaker_lists(source: Path, prepare_data: dict) -> dict[str, list[str]]:
    """`<split>_speakers` for SuperbSF: the speakers the config lists (default: SUPERB's lists) that have
    audio in `source/<split>`; a split with none is an error."""
    chosen_lists = {}
    for split in SPLITS:
        key = f"{split}_speakers"
        listed = prepare_data.get(key) or [name for name, _ in SPEAKERS[split]]
        present = speakers_in(source / split)
        chosen = [name for name in listed if name in present]
        require(
            bool(chosen),
            (
                f"SF: no {split} audio in {source / split} from the speakers of {key} ({', '.join(listed)}): "
                f"it holds {', '.join(sorted(present)) or 'no <Speaker>-snips-... .wav files'}; fix "
                f"prepare_data.{key} in the config or regenerate the corpus"
            ),
        )
        chosen_lists[key] = chosen
    return chosen_lists
