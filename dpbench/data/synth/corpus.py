"""`dpbench data synth`: plan every file of the selected corpora, render them (in a process pool
when cores are free), write each corpus's metadata, then `corpus.json`. Files depend only on the
seed and their path, never on the worker count; a finished OUT is left alone."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from tqdm import tqdm

from dpbench.data.synth import (
    fluent_commands,
    iemocap,
    librimix,
    librispeech,
    quesst,
    snips,
    speech_commands,
    voxceleb1,
)
from dpbench.data.synth.common import Job, Rendered
from dpbench.data.synth.render import check_espeak, render
from dpbench.data.synth.sizes import get_size
from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_json

logger = logging.getLogger(__name__)

CORPORA: dict[str, ModuleType] = {
    "librispeech": librispeech,
    "speech_commands": speech_commands,
    "fluent_speech_commands": fluent_commands,
    "voxceleb1": voxceleb1,
    "iemocap": iemocap,
    "librimix": librimix,
    "snips": snips,
    "quesst14": quesst,
}
MANIFEST = "corpus.json"
IN_PROGRESS = ".synth_in_progress.json"


def free_cores() -> int:
    """Cores not busy right now (1-minute load average), at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores - round(os.getloadavg()[0]))


def render_all(out: Path, tasks: list[tuple[str, Job]], workers: int) -> list[int]:
    """Render every (folder, job); returns sample counts in task order."""
    bar = tqdm(total=len(tasks), desc="synthesising", unit="file", mininterval=1.0)
    counts: list[int] = []
    if workers <= 1:
        for folder, job in tasks:
            counts.append(render(job, out / folder))
            bar.update()
    else:
        # forkserver: workers come from a fresh single-threaded server, so they inherit neither the caller's
        # locks nor its signal handlers (a forked worker of a process with threads, e.g. one that has run
        # Lightning or torch.compile, can deadlock and then ignore the pool's SIGTERM)
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else None
        context = multiprocessing.get_context(method)
        with context.Pool(workers) as pool:
            results = pool.imap(_render_task, [(out, folder, job) for folder, job in tasks], chunksize=8)
            for count in results:
                counts.append(count)
                bar.update()
    bar.close()
    return counts


def _render_task(task: tuple[Path, str, Job]) -> int:
    out, folder, job = task
    return render(job, out / folder)


def summarize(rendered: Sequence[Rendered], derived: dict[str, int] | None = None) -> dict:
    """Utterance and speaker counts and hours, overall and per split; `derived` (relative path ->
    samples) are audio files a corpus's `finalize` made from the rendered ones (LibriMix's mixtures):
    they count in `files` and `hours` only."""
    speech = [r for r in rendered if "speaker" in r.job.meta]
    splits: dict[str, dict] = {}
    for split in sorted({r.job.meta["split"] for r in speech}):
        items = [r for r in speech if r.job.meta["split"] == split]
        splits[split] = {
            "utterances": len(items),
            "speakers": len({r.job.meta["speaker"] for r in items}),
            "hours": round(sum(r.n_samples for r in items) / 16000 / 3600, 4),
        }
    return {
        "files": len(rendered) + len(derived or {}),
        "utterances": len(speech),
        "speakers": len({r.job.meta["speaker"] for r in speech}),
        "hours": round((sum(r.n_samples for r in rendered) + sum((derived or {}).values())) / 16000 / 3600, 4),
        "splits": splits,
    }


def synthesize(
    out: str | os.PathLike[str],
    size: str = "tiny",
    seed: int = 0,
    workers: int | None = None,
    corpora: Sequence[str] | None = None,
) -> dict:
    """Generate the corpora under `out` and return the content of `out/corpus.json`:
    `{"size", "seed", "hours", "corpora": {name: {"folder", "files", "utterances", "speakers",
    "hours", "splits": {split: {"utterances", "speakers", "hours"}}}}}`.

    An `out` made earlier with the same size and seed gains the corpora it lacks (the files
    are the same as if all had been made at once); the corpora it has are left alone."""
    out = Path(out)
    blocking = next((folder for folder in (out, *out.parents) if folder.exists() and not folder.is_dir()), None)
    if blocking is not None:
        raise DpbenchError(f"cannot write the corpora to {out}: {blocking} is a file, not a folder; choose another OUT")
    spec = get_size(size)
    names = list(corpora or CORPORA)
    unknown = [name for name in names if name not in CORPORA]
    if unknown:
        raise DpbenchError(f"--corpus {', '.join(unknown)}: unknown; choose from {', '.join(CORPORA)}")
    existing = _read_json(out / MANIFEST)
    summary: dict = {"size": size, "seed": seed, "corpora": {}}
    if existing is not None:
        found = {key: existing.get(key) for key in ("size", "seed")}
        if found != {"size": size, "seed": seed}:
            raise DpbenchError(
                f"{out / MANIFEST} describes a different corpus ({found}); choose another OUT or delete {out}"
            )
        summary = existing
        names = [name for name in names if name not in existing.get("corpora", {})]
        if not names:
            logger.info("%s is already complete (size %s, seed %d): nothing to do", out, size, seed)
            return existing
    wanted = {"size": size, "seed": seed, "corpora": sorted(names)}
    started = _read_json(out / IN_PROGRESS)
    if started is not None and started != wanted:
        raise DpbenchError(
            f"{out} holds an unfinished corpus with other settings ({started}); delete {out} or reuse them"
        )
    check_espeak()
    atomic_write_json(out / IN_PROGRESS, wanted)
    plans = {name: CORPORA[name].plan(spec, seed) for name in names}
    tasks = [(CORPORA[name].FOLDER, job) for name in names for job in plans[name]]
    counts = iter(render_all(out, tasks, workers if workers is not None else free_cores()))
    for name in names:
        rendered = [Rendered(job, next(counts)) for job in plans[name]]
        derived = CORPORA[name].finalize(out / CORPORA[name].FOLDER, rendered) or {}
        summary["corpora"][name] = {"folder": CORPORA[name].FOLDER, **summarize(rendered, derived)}
    summary["hours"] = round(sum(s["hours"] for s in summary["corpora"].values()), 4)
    atomic_write_json(out / MANIFEST, summary)
    (out / IN_PROGRESS).unlink()
    return summary


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DpbenchError(f"{path}: not valid JSON ({err}); delete it and re-run the synth") from err
