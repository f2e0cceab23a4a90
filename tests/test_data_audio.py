"""Audio loading: formats, resampling, down-mixing, and errors that name the bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from dpbench.data.audio import AudioError, load_audio, probe_audio
from dpbench.data.manifest import scan_audio
from dpbench.errors import DpbenchError


def tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_formats_and_rates_load_as_16k_mono_float32(tmp_path: Path, suffix: str, rate: int) -> None:
    path = tmp_path / f"a{suffix}"
    sf.write(path, tone(0.5, rate), rate)
    wav = load_audio(path)
    assert wav.dtype == torch.float32 and wav.dim() == 1
    assert abs(wav.numel() - 8000) <= 2
    assert probe_audio(path) == pytest.approx(8000, abs=2)
    assert 0.3 < wav.abs().max() < 0.7  # a tone of amplitude 0.5 survives resampling


def test_stereo_is_mixed_to_mono(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    left_only = np.stack([np.full(1600, 0.5, np.float32), np.zeros(1600, np.float32)], axis=1)
    sf.write(path, left_only, 16000, subtype="FLOAT")
    wav = load_audio(path)
    assert wav.shape == (1600,)
    assert torch.allclose(wav, torch.full((1600,), 0.25))


def write_bad_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in ("empty.wav", "corrupt.flac", "zero.wav")}
    paths["empty.wav"].write_bytes(b"")
    paths["corrupt.flac"].write_bytes(b"this is not audio at all" * 10)
    sf.write(paths["zero.wav"], np.zeros(0, np.float32), 16000)
    return paths


@pytest.mark.parametrize(
    "name, problem", [("empty.wav", "empty file"), ("corrupt.flac", "corrupt"), ("zero.wav", "zero-length")]
)
def test_bad_files_raise_audio_error_naming_the_path(tmp_path: Path, name: str, problem: str) -> None:
    path = write_bad_files(tmp_path)[name]
    for reader in (load_audio, probe_audio):
        with pytest.raises(AudioError) as caught:
            reader(path)
        assert isinstance(caught.value, DpbenchError)
        assert str(path) in caught.value.message and problem in caught.value.message
        assert "sox" in caught.value.message  # says how to fix it


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="does not exist"):
        load_audio(tmp_path / "nope.wav")
    (tmp_path / "dir.wav").mkdir()
    with pytest.raises(AudioError, match="not a regular file"):
        load_audio(tmp_path / "dir.wav")


def test_scan_lists_bad_files_and_keeps_the_good_ones(tmp_path: Path) -> None:
    bad = write_bad_files(tmp_path / "corpus" / "broken")
    sf.write(tmp_path / "corpus" / "good1.wav", tone(1.0, 16000), 16000)
    (tmp_path / "corpus" / "sub").mkdir()
    sf.write(tmp_path / "corpus" / "sub" / "good2.flac", tone(0.25, 8000), 8000)
    (tmp_path / "corpus" / "notes.txt").write_text("not audio")
    good, skipped = scan_audio(tmp_path / "corpus")
    assert [(p.name, n) for p, n in good] == [("good1.wav", 16000), ("good2.flac", 4000)]
    assert sorted(p for p, _ in skipped) == sorted(bad.values())
    assert all(reason for _, reason in skipped)
