"""Per-task patches of s3prl's code, by name. A task asks for one in its stage's arguments
(`runner --patch NAME=VALUE ...`); the launcher applies exactly those, and refuses unknown names."""

from __future__ import annotations

from collections.abc import Callable

from dpbench.superb.launching import PATCH_OPTION


def voxceleb1_cache(folder: str) -> None:
    """SID: s3prl's voxceleb1 dataset caches its file lists in its package folder, whatever the corpus
    (a cache of another corpus would be reused); keep that cache in `folder` (the run folder's) instead."""
    import s3prl.downstream.voxceleb1.dataset as voxceleb1_dataset

    voxceleb1_dataset.CACHE_PATH = folder


PATCHES: dict[str, Callable[[str], None]] = {"voxceleb1_cache": voxceleb1_cache}


def apply_requested(argv: list[str]) -> list[str]:
    """Apply each leading `--patch NAME=VALUE` of `argv`; return the arguments after them."""
    while argv[:1] == [PATCH_OPTION]:
        if len(argv) < 2 or "=" not in argv[1]:
            raise SystemExit(f"{PATCH_OPTION} needs NAME=VALUE, got {argv[1:2]}")
        name, value = argv[1].split("=", 1)
        if name not in PATCHES:
            raise SystemExit(f"unknown s3prl patch {name!r}: choose from {', '.join(PATCHES)}")
        PATCHES[name](value)
        argv = argv[2:]
    return argv
