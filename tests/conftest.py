"""Shared fixtures: one tiny synthetic corpus per test session, empty checkpoint caches, one thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dpbench data synth OUT --size tiny --seed 0`, run once per session; returns OUT."""
    from dpbench.data.synth import synthesize

    out = tmp_path_factory.mktemp("synth") / "tiny"
    synthesize(out, size="tiny", seed=0)
    return out


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every teacher checkpoint location points into an empty temporary folder."""
    from dpbench.teachers import TEACHERS

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("DPBENCH_CHECKPOINTS", str(tmp_path / "ckpts"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # s3prl's download cache is ~/.cache/s3prl/download
    for teacher in TEACHERS.values():
        monkeypatch.delenv(teacher.env_var, raising=False)
    return tmp_path


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run a test on one torch thread (small models are faster so, and tests share 2 cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def compress_assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Ten short noise utterances (0.75-1.9 s) and a random tiny HuBERT teacher, for compression tests."""
    import numpy as np
    import soundfile as sf
    import torch

    from dpbench.models import build_encoder, save_encoder, tiny_config

    root = tmp_path_factory.mktemp("compress")
    wavs = root / "wavs"
    wavs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):
        sf.write(wavs / f"u{i}.wav", (rng.standard_normal(12000 + 2000 * i) * 0.1).astype("float32"), 16000)
    torch.manual_seed(0)
    save_encoder(root / "teacher.pt", build_encoder(tiny_config()))
    return {"root": root, "wavs": wavs, "teacher": root / "teacher.pt"}
