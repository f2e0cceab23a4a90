"""Synthesis is deterministic per seed whatever the worker count, and re-running it is a no-op."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dpbench.data.cli import data_group
from dpbench.data.synth import synthesize
from dpbench.data.synth.corpus import render_all
from dpbench.data.synth.render import Channel, SpeechJob, render
from dpbench.data.synth.speech_commands import hash_percentile
from dpbench.data.synth.voices import ALL_ACCENTS, VARIANTS, Voice
from dpbench.errors import DpbenchError


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_files_with_any_worker_count(tiny_corpus: Path, tmp_path: Path) -> None:
    synthesize(tmp_path / "again", size="tiny", seed=0, workers=2, corpora=["voxceleb1"])
    assert digests(tmp_path / "again" / "voxceleb1") == digests(tiny_corpus / "voxceleb1")


def test_other_seed_other_files(tiny_corpus: Path, tmp_path: Path) -> None:
    synthesize(tmp_path / "seed1", size="tiny", seed=1, workers=1, corpora=["iemocap"])
    ours, theirs = digests(tmp_path / "seed1" / "iemocap"), digests(tiny_corpus / "iemocap")
    assert len(ours) == len(theirs)
    assert not set(ours.values()) & set(theirs.values())


def test_rerun_into_a_complete_out_is_a_no_op(tiny_corpus: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in tiny_corpus.rglob("*") if p.is_file()}
    result = CliRunner().invoke(data_group, ["synth", str(tiny_corpus), "--size", "tiny", "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert "total" in result.output
    assert {p: p.stat().st_mtime_ns for p in tiny_corpus.rglob("*") if p.is_file()} == before
    with pytest.raises(DpbenchError, match="different corpus"):
        synthesize(tiny_corpus, size="tiny", seed=5)


def test_an_out_gains_missing_corpora_and_keeps_the_others(tiny_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "grown"
    synthesize(out, size="tiny", seed=0, workers=1, corpora=["iemocap"])
    before = {p: p.stat().st_mtime_ns for p in (out / "iemocap").rglob("*") if p.is_file()}
    summary = synthesize(out, size="tiny", seed=0, workers=1, corpora=["iemocap", "fluent_speech_commands"])
    assert set(summary["corpora"]) == {"iemocap", "fluent_speech_commands"}
    assert json.loads((out / "corpus.json").read_text()) == summary
    assert {p: p.stat().st_mtime_ns for p in (out / "iemocap").rglob("*") if p.is_file()} == before
    assert digests(out / "fluent_speech_commands") == digests(tiny_corpus / "fluent_speech_commands")
    assert synthesize(out, size="tiny", seed=0, corpora=["iemocap"]) == summary  # a subset: nothing to do


def test_unfinished_out_with_other_settings_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".synth_in_progress.json").write_text(
        json.dumps({"size": "small", "seed": 0, "corpora": ["iemocap"]})
    )
    with pytest.raises(DpbenchError, match="unfinished"):
        synthesize(tmp_path / "out", size="tiny", seed=0, corpora=["iemocap"])
    with pytest.raises(DpbenchError, match="--size huge"):
        synthesize(tmp_path / "other", size="huge")


def test_speech_commands_dev_speakers_hash_into_s3prl_dev_range(tiny_corpus: Path) -> None:
    words = (tiny_corpus / "speech_commands" / "train").glob("[!_]*/*_nohash_*.wav")
    percentiles = [hash_percentile(p.name.split("_nohash_")[0]) for p in words]
    assert any(p < 10 for p in percentiles) and any(p >= 20 for p in percentiles)
    assert not any(10 <= p < 20 for p in percentiles)  # nothing is thrown away by s3prl


def _variant_jobs() -> list[SpeechJob]:
    """One short utterance per espeak-ng voice variant dpbench draws (f2, f3 and f5 add breath noise
    from espeak's random generator), each accent used in turn."""
    variants = [(gender, variant) for gender, names in VARIANTS.items() for variant in names]
    return [
        SpeechJob(
            relpath=f"{variant}.flac",
            text="the old man walked across the bridge",
            voice=Voice(ALL_ACCENTS[i % len(ALL_ACCENTS)], variant, gender, pitch=50, rate=170, amplitude=100),
            channel=Channel(snr_db=30.0, noise_color="pink"),
            seed=i,
        )
        for i, (gender, variant) in enumerate(variants)
    ]


def _fresh_home(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """A HOME espeak-ng's audio library has never seen (a new machine or container), with nothing
    pointing it at an existing runtime folder."""
    path.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(path))
    for name in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH", "PULSE_SERVER"):
        monkeypatch.delenv(name, raising=False)


def test_every_voice_variant_renders_the_same_in_any_process_and_home(tmp_path: Path, monkeypatch) -> None:
    jobs = _variant_jobs()
    tasks = [("out", job) for job in jobs]
    _fresh_home(monkeypatch, tmp_path / "home-one")
    render_all(tmp_path / "one-worker", tasks, workers=1)
    _fresh_home(monkeypatch, tmp_path / "home-two")
    render_all(tmp_path / "two-workers", tasks, workers=2)
    for index, job in enumerate(jobs):  # worst case: every file is its process's first, in a new HOME
        _fresh_home(monkeypatch, tmp_path / f"home-{index}")
        render(job, tmp_path / "each-alone" / "out")
    reference = digests(tmp_path / "one-worker")
    assert len(reference) == len(jobs) == 13
    assert digests(tmp_path / "two-workers") == reference
    assert digests(tmp_path / "each-alone") == reference
