"""Shared fixtures: one tiny synthetic corpus per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dpbench data synth OUT --size tiny --seed 0`, run once per session; returns OUT."""
    from dpbench.data.synth import synthesize

    out = tmp_path_factory.mktemp("synth") / "tiny"
    synthesize(out, size="tiny", seed=0)
    return out
