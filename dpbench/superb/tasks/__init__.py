"""The SUPERB tasks dpbench runs, by name."""

from __future__ import annotations

import importlib

from dpbench.errors import DpbenchError
from dpbench.superb.tasks.base import Task

# task name -> "module:class"; `--task all` runs SUITE in this order.
TASKS: dict[str, str] = {
    "KS": "dpbench.superb.tasks.ks:KS",
    "PR": "dpbench.superb.tasks.pr:PR",
    "IC": "dpbench.superb.tasks.ic:IC",
    "SID": "dpbench.superb.tasks.sid:SID",
    "ER": "dpbench.superb.tasks.er:ER",
    "ASR": "dpbench.superb.tasks.asr:ASR",
    "QBE": "dpbench.superb.tasks.qbe:QbE",
    "SF": "dpbench.superb.tasks.sf:SF",
    "ASV": "dpbench.superb.tasks.asv:ASV",
    "SD": "dpbench.superb.tasks.sd:SD",
}
SUITE = ("KS", "IC", "SID", "ER", "PR", "ASR", "QBE", "SF", "ASV", "SD")


def get_task(name: str) -> Task:
    """The task object for a (case-insensitive) SUPERB task name."""
    key = name.upper()
    if key not in TASKS:
        raise DpbenchError(f"unknown task {name!r}: choose from {', '.join(TASKS)} or 'all'")
    module_name, class_name = TASKS[key].split(":")
    return getattr(importlib.import_module(module_name), class_name)()
