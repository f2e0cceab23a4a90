"""Reuse of values derived from weights (gate masks, gate-folded weights) across forwards without
autograd.

A value is rebuilt as soon as any of its source tensors changes: another tensor (a replaced
parameter, a new gate sample) or another version (an in-place update: an optimizer step,
load_state_dict). Writes through `.data` bypass version counting and are not seen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
from torch import Tensor, nn

T = TypeVar("T")


def _version(t: Tensor | None) -> int | None:
    # inference-mode tensors have no version counter; they are never updated in place here
    return None if t is None or t.is_inference() else t._version


def cached(owner: nn.Module, name: str, sources: Sequence[Tensor | None], build: Callable[[], T]) -> T:
    """`build()`, stored on `owner` under `name` and reused while `sources` are the same tensors
    at the same versions (the cache holds them, so a freed tensor's identity is never reused)."""
    versions = tuple(_version(t) for t in sources)
    store = owner.__dict__.setdefault("_eval_cache", {})
    hit = store.get(name)
    if hit is None or hit[1] != versions or any(a is not b for a, b in zip(hit[0], sources)):
        hit = (tuple(sources), versions, build())
        store[name] = hit
    return hit[2]


def cached_without_autograd(owner: nn.Module, name: str, sources: Sequence[Tensor | None], build: Callable[[], T]) -> T:
    """`build()` afresh when autograd is on (the value belongs to this forward's graph), else `cached`."""
    if torch.is_grad_enabled():
        return build()
    return cached(owner, name, sources, build)
