"""Teacher resolution: names, paths, caches, and clear errors when a checkpoint is missing."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from dpbench.errors import DpbenchError
from dpbench.models import build_encoder, save_encoder, tiny_config
from dpbench.teachers import TEACHERS, load_model, locations, resolve
from dpbench.teachers.cli import teachers_command


def test_missing_teacher_error_says_which_file_goes_where(empty_caches: Path) -> None:
    with pytest.raises(DpbenchError) as error:
        resolve("hubert_base")
    message = error.value.message
    assert "nothing is downloaded" in message
    assert f"hubert_fairseq_base_ls960.pth in {empty_caches / 'torch' / 'hub' / 'checkpoints'}" in message
    assert str(empty_caches / "hf" / "hub" / "models--facebook--hubert-base-ls960") in message
    assert f"hubert_base_ls960.pt in {empty_caches / 'ckpts'}" in message
    assert "DPBENCH_HUBERT_BASE" in message


def test_unknown_name_lists_known_names(empty_caches: Path) -> None:
    with pytest.raises(DpbenchError, match="unknown teacher 'hubert_tiny'.*tiny-hubert.*wavlm_base_plus"):
        resolve("hubert_tiny")


def test_missing_path_is_reported_as_a_path(empty_caches: Path) -> None:
    with pytest.raises(DpbenchError, match=r"does not exist"):
        resolve(str(empty_caches / "nowhere" / "model.pt"))


def test_env_var_pointing_nowhere_names_the_variable(empty_caches: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DPBENCH_WAVLM_BASE", str(empty_caches / "missing.pt"))
    with pytest.raises(DpbenchError, match="DPBENCH_WAVLM_BASE=.*missing.pt.*unset DPBENCH_WAVLM_BASE"):
        resolve("wavlm_base")


def test_torchaudio_cache_is_found(empty_caches: Path) -> None:
    target = empty_caches / "torch" / "hub" / "checkpoints" / "wavlm_base_plus.pth"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"weights")
    assert resolve("wavlm_base_plus") == target
    assert resolve("wavlm-base-plus") == target  # dashes and underscores are interchangeable


def test_hf_snapshot_follows_refs_main(empty_caches: Path) -> None:
    repo = empty_caches / "hf" / "hub" / "models--facebook--hubert-large-ll60k"
    for revision in ("aaa", "bbb"):
        (repo / "snapshots" / revision).mkdir(parents=True)
        (repo / "snapshots" / revision / "config.json").write_text("{}")
        (repo / "snapshots" / revision / "model.safetensors").write_bytes(b"w")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("aaa\n")
    assert resolve("hubert_large") == repo / "snapshots" / "aaa"


def test_incomplete_hf_snapshot_is_not_found(empty_caches: Path) -> None:
    snapshot = empty_caches / "hf" / "hub" / "models--facebook--hubert-large-ll60k" / "snapshots" / "aaa"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")  # no weights file
    with pytest.raises(DpbenchError, match="not on this machine"):
        resolve("hubert_large")


def test_env_var_wins_over_caches(empty_caches: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = empty_caches / "ckpts" / "hubert_base_ls960.pt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"fairseq")
    assert resolve("hubert_base") == cached
    chosen = empty_caches / "mine.pt"
    chosen.write_bytes(b"mine")
    monkeypatch.setenv("DPBENCH_HUBERT_BASE", str(chosen))
    assert resolve("hubert_base") == chosen
    found = [place.source for place in locations(TEACHERS["hubert_base"]) if place.found]
    assert found == ["$DPBENCH_HUBERT_BASE", "DPBENCH_CHECKPOINTS"]


def test_load_model_reads_dpbench_checkpoints(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_encoder(tiny_config()).eval()
    save_encoder(tmp_path / "student.pt", model)
    loaded = load_model(str(tmp_path / "student.pt"))
    assert not loaded.training
    wav = torch.randn(1, 4000)
    with torch.no_grad():
        assert torch.equal(loaded(wav)[0][-1], model(wav)[0][-1])


def test_load_model_sends_foreign_checkpoints_to_the_importer(
    empty_caches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = empty_caches / "torch" / "hub" / "checkpoints" / "hubert_fairseq_base_ls960.pth"
    foreign.parent.mkdir(parents=True)
    torch.save({"feature_extractor.conv_layers.0.conv.weight": torch.zeros(1)}, foreign)
    seen: list[Path] = []
    model = build_encoder(tiny_config())

    def import_checkpoint(path: Path):
        seen.append(Path(path))
        return model

    fake_importers = types.SimpleNamespace(import_checkpoint=import_checkpoint)
    monkeypatch.setitem(sys.modules, "dpbench.models.importers", fake_importers)
    assert load_model("hubert_base") is model
    assert seen == [foreign]
    assert not model.training


def test_teachers_command_lists_found_and_missing(empty_caches: Path) -> None:
    target = empty_caches / "torch" / "hub" / "checkpoints" / "wav2vec2_fairseq_base_ls960.pth"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"w")
    result = CliRunner().invoke(teachers_command, [])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("tiny-hubert: found")
    assert f"wav2vec2_base: found (torchaudio cache) {target}" in lines
    assert "hubert_base: not found (place one of these, or set DPBENCH_HUBERT_BASE=PATH)" in lines


def test_s3prl_cache_names_are_s3prls_own() -> None:
    """The folder and file names s3prl's downloader gives each teacher's URLs (asked of s3prl itself)."""
    from s3prl.util import download

    from dpbench.teachers.resolve import s3prl_download_dir

    assert download._download_dir == s3prl_download_dir()
    for teacher in TEACHERS.values():
        for url, name in zip(teacher.s3prl_urls, teacher.s3prl_cache_files):
            assert Path(download._urls_to_filepaths(url, download=False)).name == name


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_s3prl_cache_teacher_is_found_listed_and_loaded(empty_caches: Path) -> None:
    from test_models_s3prl import s3prl_checkpoint

    from dpbench.models.importers import import_checkpoint

    teacher = TEACHERS["hubert_large"]
    cached = empty_caches / "home" / ".cache" / "s3prl" / "download" / teacher.s3prl_cache_files[0]
    cached.parent.mkdir(parents=True)
    s3prl_checkpoint("hubert", True, cached)
    assert resolve("hubert_large") == cached
    assert load_model("hubert_large").config == import_checkpoint(cached).config
    assert load_model("hubert_large").config.normalize_waveform  # the converted file's task config
    result = CliRunner().invoke(teachers_command, [])
    assert f"hubert_large: found (s3prl cache) {cached}" in result.output.splitlines()
    missing = TEACHERS["hubert_base"]
    with pytest.raises(DpbenchError, match=f"s3prl: {missing.s3prl_cache_files[0]} in {cached.parent}/"):
        resolve("hubert_base")
