"""Manifests: scanning a corpus into fairseq-style train/valid TSVs, bad files skipped and reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from dpbench.data.cli import data_group
from dpbench.data.manifest import read_manifest, split_items, write_manifest
from dpbench.data.synth.sizes import SIZES
from dpbench.errors import DpbenchError


def make_folder(root: Path, n_good: int = 20) -> None:
    for i in range(n_good):
        path = root / f"spk{i % 3}" / f"utt{i:02d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.zeros(1600 * (i + 1), np.float32), 16000)
    (root / "spk0" / "broken.wav").write_bytes(b"RIFF....garbage")


def test_write_and_read_manifest(tmp_path: Path) -> None:
    make_folder(tmp_path / "audio")
    summary = write_manifest(tmp_path / "audio", tmp_path / "man", valid_fraction=0.2, seed=3)
    assert (summary.train, summary.valid) == (16, 4)
    assert [p.name for p, _ in summary.bad] == ["broken.wav"]
    assert "broken.wav" in (tmp_path / "man" / "bad.tsv").read_text()
    root, train = read_manifest(tmp_path / "man" / "train.tsv")
    _, valid = read_manifest(tmp_path / "man" / "valid.tsv")
    assert root == (tmp_path / "audio").resolve()
    assert (tmp_path / "man" / "train.tsv").read_text().splitlines()[0] == str(root)
    assert not {p for p, _ in train} & {p for p, _ in valid}
    lengths = dict(train + valid)
    assert lengths["spk1/utt01.wav"] == 3200 and len(lengths) == 20
    again = write_manifest(tmp_path / "audio", tmp_path / "man2", valid_fraction=0.2, seed=3)
    assert (tmp_path / "man2" / "valid.tsv").read_text() == (tmp_path / "man" / "valid.tsv").read_text()
    assert again.valid == 4


def test_split_by_fraction_or_count() -> None:
    items = [(f"f{i}", i) for i in range(200)]
    assert len(split_items(items, 0.01, 0)[1]) == 2
    assert len(split_items(items[:5], 0.01, 0)[1]) == 1  # at least one valid item
    train, valid = split_items(items, 7, 0)
    assert len(valid) == 7 and len(train) == 193
    assert split_items(items, 7, 0) == split_items(items, 7, 0)
    assert split_items(items, 7, 0)[1] != split_items(items, 7, 1)[1]
    with pytest.raises(DpbenchError, match="no training data"):
        split_items(items[:3], 3, 0)


def test_bad_manifest_lines_are_reported(tmp_path: Path) -> None:
    tsv = tmp_path / "train.tsv"
    tsv.write_text("/data\nok.wav\t100\nbroken line\n")
    with pytest.raises(DpbenchError, match="line 3"):
        read_manifest(tsv)
    with pytest.raises(DpbenchError, match="not found"):
        read_manifest(tmp_path / "missing.tsv")


def test_cli_manifest_reports_skipped_files(tmp_path: Path) -> None:
    make_folder(tmp_path / "audio", n_good=5)
    result = CliRunner().invoke(
        data_group, ["manifest", str(tmp_path / "audio"), "--out", str(tmp_path / "m"), "--valid-fraction", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "train.tsv: 4 files" in result.output and "valid.tsv: 1 files" in result.output
    assert "skipped 1 bad file" in result.output and "broken.wav" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    failed = CliRunner().invoke(data_group, ["manifest", str(empty)])
    assert failed.exit_code != 0 and "no usable audio" in failed.output


def test_manifest_of_synthetic_librispeech(tiny_corpus: Path) -> None:
    summary = write_manifest(tiny_corpus / "LibriSpeech", tiny_corpus.parent / "libri_manifest", 0.1, 0)
    spec = SIZES["tiny"]
    expected = sum(spec.libri_speakers) * spec.libri_chapters * spec.libri_utterances
    assert summary.bad == [] and summary.train + summary.valid == expected
    root, items = read_manifest(tiny_corpus.parent / "libri_manifest" / "train.tsv")
    assert all(rel.endswith(".flac") and (root / rel).is_file() for rel, _ in items)
    assert all(sf.info(str(root / rel)).frames == n for rel, n in items)
