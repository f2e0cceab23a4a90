"""Renaming foreign state dicts into dpbench's parameter names with ordered regex rules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from torch import Tensor

from dpbench.errors import DpbenchError

Rule = tuple[str, str]  # (regex matching the whole foreign key, replacement in dpbench naming)

# the position conv's weight norm, saved by the old weight_norm hook or by the parametrization API
WEIGHT_NORM_G = r"(?:weight_g|parametrizations\.weight\.original0)"
WEIGHT_NORM_V = r"(?:weight_v|parametrizations\.weight\.original1)"


def rename_keys(
    state: Mapping[str, Tensor], rules: Iterable[Rule], ignore: Iterable[str], source: str, layout: str
) -> dict[str, Tensor]:
    """Apply the first matching rule to every key; keys matching `ignore` are dropped.

    Any other key means the file is not in `layout`, and raises a DpbenchError naming it."""
    compiled = [(re.compile(pattern), target) for pattern, target in rules]
    skipped = [re.compile(pattern) for pattern in ignore]
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        if any(p.fullmatch(key) for p in skipped):
            continue
        for pattern, target in compiled:
            match = pattern.fullmatch(key)
            if match:
                out[match.expand(target)] = value
                break
        else:
            raise DpbenchError(f"{source}: unexpected key {key!r} for a {layout} checkpoint")
    return out


def strip_prefix(state: Mapping[str, Tensor], prefixes: Iterable[str]) -> dict[str, Tensor]:
    """Drop the first of `prefixes` that some key starts with (a wrapper model's attribute name);
    keys outside it (task heads) are dropped too."""
    for prefix in prefixes:
        if any(key.startswith(prefix) for key in state):
            return {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
    return dict(state)
