"""Hostile and careless inputs (issue 14): no code runs from a checkpoint, no user string reaches an eval,
no NaN is saved, no record is lost, corrupt audio is skipped and reported, run folders survive kills and
concurrent commands, and every listed failure is a clear error that leaves nothing behind.
The guarantees these tests check are listed in docs/GUARANTEES.md."""

from __future__ import annotations

import argparse
import fractions
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from omegaconf import OmegaConf

from dpbench.errors import DpbenchError
from dpbench.models import build_encoder, save_encoder, tiny_config
from dpbench.safe_load import TRUST_ENV, load_torch

REPO = Path(__file__).resolve().parents[1]
HOSTILE_NAME = "we'ird = dïr ü"  # a quote, an equals sign, spaces and non-ASCII letters

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def untrusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts and ends without --trust-checkpoint (the flag sets an environment variable)."""
    monkeypatch.setenv(TRUST_ENV, "0")  # recorded, so whatever a test sets is undone afterwards
    monkeypatch.delenv(TRUST_ENV)


class Payload:
    """Pickles as a call of `exec`: unpickling it unrestricted creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def payload_checkpoint(path: Path, marker: Path) -> Path:
    """A fairseq-looking checkpoint whose config is a payload."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": {"w": torch.zeros(2)}, "cfg": Payload(marker)}, path)
    return path


@pytest.fixture
def tiny_ckpt(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    save_encoder(path, build_encoder(tiny_config("hubert")))
    return path


def fairseq_with_omegaconf(path: Path) -> None:
    """A fairseq-format checkpoint as fairseq writes it: the config an omegaconf DictConfig, an
    argparse.Namespace and numpy scalars beside the weights."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_models_importers import fairseq_checkpoint, torchaudio_tiny

    checkpoint = fairseq_checkpoint(torchaudio_tiny("wav2vec2", False), False, "hubert")
    checkpoint["cfg"] = OmegaConf.create({**checkpoint["cfg"], "task": {"labels": ["km"], "sample_rate": 16000}})
    checkpoint["args"] = None
    checkpoint["extra_state"] = {"best": np.float64(0.5), "epoch": np.int64(3), "namespace": argparse.Namespace(a=1)}
    torch.save(checkpoint, path)


# --- 1. loading untrusted files --------------------------------------------------------------------------


def test_payload_runs_nothing_through_inspect(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    evil = payload_checkpoint(tmp_path / "evil.pt", marker)
    result = CliRunner().invoke(_main(), ["inspect", str(evil)])
    assert result.exit_code != 0 and not marker.exists()
    assert str(evil) in result.output and "`exec`" in result.output and "--trust-checkpoint" in result.output


def test_payload_runs_nothing_through_compress_teacher(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    evil = payload_checkpoint(tmp_path / "evil.pt", marker)
    wavs = _wavs(tmp_path / "wavs", 4)
    out = tmp_path / "run"
    result = CliRunner().invoke(_main(), ["compress", "--data", str(wavs), "--out", str(out), "--teacher", str(evil)])
    assert result.exit_code != 0 and not marker.exists()
    assert "does not unpickle" in result.output
    assert not out.exists()  # failed before any work: nothing left behind


def test_payload_runs_nothing_through_a_hugging_face_folder(tmp_path: Path) -> None:
    from dpbench.models.importers import import_checkpoint

    marker = tmp_path / "ran"
    folder = tmp_path / "hf"
    payload_checkpoint(folder / "pytorch_model.bin", marker)
    (folder / "config.json").write_text(json.dumps({"model_type": "hubert"}))
    with pytest.raises(DpbenchError, match=r"pytorch_model\.bin holds `exec`"):
        import_checkpoint(folder)
    assert not marker.exists()


def test_payload_runs_nothing_in_the_s3prl_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The s3prl subprocess loads `--upstream` through the dpbench hub entry, with the environment
    `dpbench superb` gives it, even when the caller's environment forces unrestricted loads."""
    from dpbench.superb import launching

    marker = tmp_path / "ran"
    evil = payload_checkpoint(tmp_path / "evil.pt", marker)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    env = launching.child_env("cpu")
    assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in env
    env["PYTHONPATH"] = str(REPO)
    code = (
        "import sys; from dpbench.superb.backend import shims; shims.use_device('cpu'); "
        "from dpbench.superb.backend.upstream.hubconf import dpbench; dpbench(ckpt=sys.argv[1])"
    )
    done = subprocess.run([sys.executable, "-c", code, str(evil)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and not marker.exists()
    assert "does not unpickle" in done.stderr


@pytest.mark.slow
def test_payload_runs_nothing_through_superb_upstream(
    tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    evil = payload_checkpoint(tmp_path / "evil.pt", marker)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # as s3prl once needed: the child drops it
    result = CliRunner().invoke(
        _main(),
        [
            "superb",
            "--task",
            "KS",
            "--upstream",
            str(evil),
            "--data",
            str(tiny_corpus),
            "--out",
            str(tmp_path / "runs"),
            "--results",
            str(tmp_path / "r.jsonl"),
            "--quiet",
        ],
    )
    assert result.exit_code != 0 and "s3prl train failed" in result.output
    assert not marker.exists()
    log = next((tmp_path / "runs").rglob("train.log")).read_text()
    assert "does not unpickle" in log


def test_fairseq_checkpoint_with_omegaconf_config_loads_restricted(tmp_path: Path) -> None:
    from dpbench.models.importers import import_checkpoint

    path = tmp_path / "hubert_fairseq.pt"
    fairseq_with_omegaconf(path)
    # torch's restricted loader alone would refuse these; the allowlist admits them
    assert "omegaconf.dictconfig.DictConfig" in torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    model = import_checkpoint(path)
    assert model.config.arch == "hubert" and model.config.num_layers == 3


def test_numpy_values_pickled_by_numpy_1_load_restricted(tmp_path: Path) -> None:
    """Checkpoints of the fairseq era name numpy 1.x's `numpy.core.multiarray`, not `numpy._core`."""
    import zipfile

    written, renamed = tmp_path / "numpy2.pt", tmp_path / "numpy1.pt"
    torch.save({"best": np.float64(1.5), "counts": np.arange(3)}, written)
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(renamed, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith("data.pkl"):
                data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
            target.writestr(item, data)
    assert "numpy.core.multiarray.scalar" in torch.serialization.get_unsafe_globals_in_checkpoint(str(renamed))
    loaded = load_torch(renamed)
    assert loaded["best"] == 1.5 and loaded["counts"].tolist() == [0, 1, 2]


def test_trust_checkpoint_is_an_explicit_loud_opt_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "foreign.pt"
    torch.save({"weights": torch.ones(2), "ratio": fractions.Fraction(1, 3)}, path)
    with pytest.raises(DpbenchError, match=r"holds `fractions.Fraction`.*--trust-checkpoint"):
        load_torch(path)
    monkeypatch.setenv(TRUST_ENV, "1")
    assert load_torch(path)["ratio"] == fractions.Fraction(1, 3)
    assert "UNRESTRICTED" in capsys.readouterr().err


def test_trust_checkpoint_flag_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "foreign.pt"
    torch.save({"weights": torch.ones(2), "ratio": fractions.Fraction(1, 3)}, path)
    refused = CliRunner().invoke(_main(), ["inspect", str(path)])
    assert refused.exit_code != 0 and "`fractions.Fraction`" in refused.output
    trusted = CliRunner().invoke(_main(), ["inspect", "--trust-checkpoint", str(path)])
    assert trusted.exit_code != 0 and "WARNING: --trust-checkpoint" in trusted.output
    assert "not a recognised encoder checkpoint" in trusted.output  # it was read: just not an encoder


def test_s3prl_states_checkpoint_loads_restricted(tmp_path: Path) -> None:
    """What s3prl's runner saves (args as argparse.Namespace, config dict, optimizer state) needs no trust."""
    path = tmp_path / "states-10.ckpt"
    torch.save(
        {
            "Args": argparse.Namespace(expdir="x", seed=1),
            "Config": {"runner": {"total_steps": 10}},
            "Step": 10,
            "Optimizer": torch.optim.Adam([torch.nn.Parameter(torch.ones(1))]).state_dict(),
        },
        path,
    )
    assert load_torch(path)["Args"].seed == 1


# --- 2. no user string reaches an eval -------------------------------------------------------------------


def test_evaluation_folder_reaches_s3prl_without_its_override_parser(tmp_path: Path) -> None:
    from dpbench.superb.backend.launch import _expdir_from_env
    from dpbench.superb.launching import EXPDIR_ENV
    from dpbench.superb.tasks import get_task
    from dpbench.superb.tasks.base import RunRequest
    from dpbench.superb.upstream_spec import parse_upstream

    run_dir = tmp_path / HOSTILE_NAME
    request = RunRequest(parse_upstream("s3prl:fbank"), tmp_path, run_dir, "cpu")
    config = {"runner": {"total_steps": 10}}
    stages = get_task("KS").stages(request, config, {})
    evaluate = next(stage for stage in stages if stage.name == "evaluate")
    assert "-o" not in evaluate.argv and "--override" not in evaluate.argv
    assert evaluate.env[EXPDIR_ENV] == str(run_dir / "evaluate")

    fake = types.SimpleNamespace(get_downstream_args=lambda: (argparse.Namespace(expdir="train"), {}, []))
    os.environ[EXPDIR_ENV] = evaluate.env[EXPDIR_ENV]
    try:
        _expdir_from_env(fake)
        args, _, _ = fake.get_downstream_args()
    finally:
        del os.environ[EXPDIR_ENV]
    assert args.expdir == str(run_dir / "evaluate") and Path(args.expdir).is_dir()


def test_omegaconf_interpolation_in_a_path_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "${oc.env:HOME}"
    data.mkdir()
    result = CliRunner().invoke(
        _main(),
        ["superb", "--task", "KS", "--upstream", "tiny-hubert", "--data", str(data), "--out", str(tmp_path / "runs")],
    )
    assert result.exit_code != 0 and "'${'" in result.output and "--data" in result.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_superb_runs_with_quotes_equals_spaces_and_non_ascii_in_out_and_data(
    tiny_corpus: Path, tiny_ckpt: Path, tmp_path: Path
) -> None:
    import yaml

    from dpbench.results import ResultsStore
    from dpbench.superb.configs import CONFIG_DIR

    data = tmp_path / HOSTILE_NAME / "data"
    shutil.copytree(tiny_corpus / "speech_commands", data / "speech_commands")
    configs = tmp_path / "configs"
    configs.mkdir()
    config = yaml.safe_load((CONFIG_DIR / "ks_cpu.yaml").read_text())
    config["runner"].update(total_steps=4, eval_step=2, save_step=2, log_step=2)
    (configs / "ks_cpu.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / HOSTILE_NAME / "runs"
    store = tmp_path / "results.jsonl"
    result = CliRunner().invoke(
        _main(),
        [
            "superb",
            "--task",
            "KS",
            "--upstream",
            str(tiny_ckpt),
            "--data",
            str(data),
            "--out",
            str(out),
            "--results",
            str(store),
            "--config-dir",
            str(configs),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    (record,) = ResultsStore(store).records()
    run_dir = Path(record["run_dir"])
    assert run_dir.is_relative_to(out) and (run_dir / "evaluate" / "log.log").is_file()


# --- 3. finite everything --------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--stage2-lr", "--lr", "--target-sparsity", "--grad-clip"])
def test_non_finite_options_are_refused_before_any_work(option: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(_main(), ["compress", "--data", str(tmp_path), "--out", str(out), option, "nan"])
    assert result.exit_code != 0 and f"{option}: nan is not a finite number" in result.output
    assert not out.exists()


def test_nan_audio_is_named(tmp_path: Path) -> None:
    from dpbench.data.audio import AudioError, load_audio

    path = tmp_path / "nan.wav"
    samples = np.zeros(8000, np.float32)
    samples[100] = np.nan
    sf.write(path, samples, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: 1 NaN or infinite samples"):
        load_audio(path)


def test_training_skips_unusable_files_and_counts_them(tmp_path: Path, tiny_ckpt: Path) -> None:
    from dpbench.compress import run_compress

    data = _wavs(tmp_path / "data", 6)
    nan = np.full(12000, np.nan, np.float32)
    sf.write(data / "nan.wav", nan, 16000, subtype="FLOAT")
    sf.write(data / "short.wav", np.zeros(160, np.float32), 16000)  # 0.01 s: shorter than the conv stack
    (data / "gone.wav").write_bytes(b"RIFF....")
    items = sorted(data.glob("*.wav"))
    (data / "train.tsv").write_text(str(data) + "\n" + "".join(f"{p.name}\t12000\n" for p in items))
    out = tmp_path / "run"
    summary = run_compress(_config(tiny_ckpt, data, stage1_steps=3, stage2_steps=1, max_batch_seconds=8.0), out)
    skipped = (out / "skipped_audio.tsv").read_text()
    assert summary.skipped_files == 3
    assert json.loads((out / "summary.json").read_text())["skipped_files"] == 3
    assert "NaN" in skipped and "too short" in skipped and "gone.wav" in skipped


def poison_at(step: int):
    """A callback that writes NaN into one student weight before step `step` + 1 (a diverging run)."""
    import lightning as L

    class Poison(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if trainer.global_step == step:
                with torch.no_grad():
                    next(pl_module.student.parameters()).fill_(float("nan"))

    return Poison()


def test_non_finite_loss_stops_before_any_save_and_resume_continues(tmp_path: Path, tiny_ckpt: Path) -> None:
    from dpbench.compress import run_compress

    data = _wavs(tmp_path / "data", 6)
    out = tmp_path / "run"
    config = _config(tiny_ckpt, data, stage1_steps=8, stage2_steps=2, checkpoint_every=3)
    with pytest.raises(DpbenchError, match=r"stage prune: the loss is nan at step 5, on a batch of .*u\d\.wav"):
        run_compress(config, out, callbacks=[poison_at(4)])
    state = json.loads((out / "state.json").read_text()) if (out / "state.json").exists() else {"stages": {}}
    assert "prune" not in state["stages"]  # no stage marker
    saved = load_torch(out / "stage1" / "last.ckpt")
    assert saved["global_step"] == 3
    assert all(torch.isfinite(t).all() for t in saved["state_dict"].values() if t.is_floating_point())
    summary = run_compress(config, out, resume=True)
    assert summary.steps["prune"] == 8 and (out / "student.pt").is_file()


# --- 4. results store ------------------------------------------------------------------------------------


def test_torn_line_then_append_then_read(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from records_factory import report_fixture

    from dpbench.results import ResultsStore

    lines = (report_fixture() / "results.jsonl").read_text().splitlines()
    store_path = tmp_path / "results.jsonl"
    store_path.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # a writer killed mid-line
    store = ResultsStore(store_path)
    store.append(json.loads(lines[2]))
    records = store.records()
    assert [r["config_hash"] for r in records] == [json.loads(lines[i])["config_hash"] for i in (0, 2)]
    assert store.skipped == [2] and f"{store_path}:2" in capsys.readouterr().err

    result = CliRunner().invoke(_main(), ["report", "--results", str(store_path), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert f"skipped 1 unreadable line(s) of {store_path} (line 2)" in result.output


# --- 5. data ---------------------------------------------------------------------------------------------


def test_manifest_decodes_every_file_and_lists_the_bad_ones(tmp_path: Path) -> None:
    root = _wavs(tmp_path / "audio", 3)
    sf.write(root / "whole.flac", np.random.default_rng(0).standard_normal(32000).astype(np.float32) * 0.1, 16000)
    flac = (root / "whole.flac").read_bytes()
    (root / "truncated.flac").write_bytes(flac[: len(flac) // 2])  # the header still says 2 s
    (root / "empty.wav").write_bytes(b"")
    sf.write(root / "short.wav", np.zeros(160, np.float32), 16000)
    nan = np.zeros(8000, np.float32)
    nan[5] = np.inf
    sf.write(root / "inf.wav", nan, 16000, subtype="FLOAT")
    result = CliRunner().invoke(
        _main(), ["data", "manifest", str(root), "--out", str(tmp_path / "m"), "--valid-fraction", "0"]
    )
    assert result.exit_code == 0, result.output
    bad = dict(line.split("\t") for line in (tmp_path / "m" / "bad.tsv").read_text().splitlines())
    reasons = {Path(path).name: reason for path, reason in bad.items()}
    assert set(reasons) == {"truncated.flac", "empty.wav", "short.wav", "inf.wav"}
    assert "decoding failed" in reasons["truncated.flac"] and "empty" in reasons["empty.wav"]
    assert "too short" in reasons["short.wav"] and "NaN or infinite" in reasons["inf.wav"]
    listed = (tmp_path / "m" / "train.tsv").read_text()
    assert "whole.flac" in listed and "u0.wav" in listed

    quick = CliRunner().invoke(
        _main(), ["data", "manifest", str(root), "--out", str(tmp_path / "q"), "--valid-fraction", "0", "--quick"]
    )
    assert quick.exit_code == 0
    assert "truncated.flac" in (tmp_path / "q" / "train.tsv").read_text()  # headers only: not caught


# --- 6. run folders --------------------------------------------------------------------------------------


def test_a_second_compress_on_one_out_is_refused(tmp_path: Path, tiny_ckpt: Path) -> None:
    from filelock import FileLock

    from dpbench.compress import run_compress

    out = tmp_path / "run"
    out.mkdir()
    with FileLock(str(out / ".lock")):
        with pytest.raises(DpbenchError, match="another `dpbench compress` is running"):
            run_compress(_config(tiny_ckpt, _wavs(tmp_path / "data", 2)), out, resume=True)


def test_s3prl_checkpoint_rotation_keeps_the_old_file_until_the_new_one_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dpbench.superb.backend import checkpoints

    monkeypatch.setattr(torch, "save", torch.save)  # restored after the test
    runner = types.ModuleType("runner")
    runner.os = os
    checkpoints.install(runner)
    old, new = tmp_path / "states-10.ckpt", tmp_path / "states-20.ckpt"
    torch.save({"Step": 10}, old)
    runner.os.remove(str(old))  # what s3prl does before it saves the next one
    assert old.is_file()  # a kill here leaves the previous checkpoint
    torch.save({"Step": 20}, new)
    assert not old.exists() and load_torch(new)["Step"] == 20
    assert not list(tmp_path.glob(".*.tmp"))


def test_an_unreadable_last_s3prl_checkpoint_is_set_aside(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from dpbench.superb.backend.checkpoints import drop_unreadable_last

    torch.save({"Args": argparse.Namespace(seed=1), "Step": 10}, tmp_path / "states-10.ckpt")
    torch.save({"Step": 20}, tmp_path / "states-20.ckpt")
    data = (tmp_path / "states-20.ckpt").read_bytes()
    (tmp_path / "states-20.ckpt").write_bytes(data[: len(data) // 2])  # torn by a kill
    drop_unreadable_last(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["states-10.ckpt", "states-20.ckpt.unreadable"]
    assert "resuming from states-10.ckpt" in capsys.readouterr().err


# --- 7. clear errors, nothing left behind, no collisions -------------------------------------------------


def test_superb_bad_learning_rates_and_upstreams_are_clear_errors(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    base = ["superb", "--task", "KS", "--data", str(tmp_path), "--out", str(out)]
    for extra, expected in (
        (["--upstream", "tiny-hubert", "--lr", ","], "--lr ','"),
        (["--upstream", "tiny-hubert", "--lr", "nan"], "--lr 'nan'"),
        (["--upstream", "no_such_model.pt"], "--upstream no_such_model.pt"),
    ):
        result = CliRunner().invoke(_main(), base + extra)
        assert result.exit_code != 0 and expected in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
        assert not out.exists()


def test_superb_failing_before_any_stage_leaves_no_run_folder(tmp_path: Path, tiny_ckpt: Path) -> None:
    out = tmp_path / "runs"
    result = CliRunner().invoke(
        _main(),
        [
            "superb",
            "--task",
            "KS",
            "--upstream",
            str(tiny_ckpt),
            "--data",
            str(tmp_path),
            "--out",
            str(out),
            "--results",
            str(tmp_path / "r.jsonl"),
        ],
    )
    assert result.exit_code != 0 and "speech_commands" in result.output
    assert not out.exists()


def test_two_different_files_with_one_name_get_different_run_folders(tmp_path: Path) -> None:
    from dpbench.superb.upstream_spec import parse_upstream

    a, b = tmp_path / "a" / "student.pt", tmp_path / "b" / "student.pt"
    for path, seed in ((a, 0), (b, 1)):
        path.parent.mkdir()
        torch.manual_seed(seed)
        save_encoder(path, build_encoder(tiny_config("hubert")))
    spec_a, spec_b = parse_upstream(str(a)), parse_upstream(str(b))
    assert spec_a.name == spec_b.name == "student"  # the display name stays
    assert spec_a.run_folder != spec_b.run_folder
    assert spec_a.run_folder == parse_upstream(str(a)).run_folder  # and is stable


def test_compress_without_the_requested_accelerator_leaves_nothing(tmp_path: Path, tiny_ckpt: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("needs a machine without a GPU")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        _main(),
        [
            "compress",
            "--data",
            str(_wavs(tmp_path / "data", 2)),
            "--out",
            str(out),
            "--teacher",
            str(tiny_ckpt),
            "--accelerator",
            "gpu",
        ],
    )
    assert result.exit_code != 0 and "--accelerator gpu" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()  # so the corrected command is not refused


def test_synth_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = CliRunner().invoke(_main(), ["data", "synth", str(tmp_path / "file" / "corpus")])
    assert result.exit_code != 0 and "is a file, not a folder" in result.output


# --- helpers ---------------------------------------------------------------------------------------------


def _main():
    from dpbench.cli import main

    return main


def _wavs(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        sf.write(folder / f"u{i}.wav", (rng.standard_normal(12000 + 1000 * i) * 0.1).astype(np.float32), 16000)
    return folder


def _config(teacher: Path, data: Path, **overrides):
    from dpbench.compress import make_config

    options = dict(
        teacher=str(teacher),
        stage1_steps=4,
        stage2_steps=2,
        max_batch_seconds=2.0,
        max_item_seconds=0.7,
        checkpoint_every=2,
        target_sparsity=0.5,
    )
    options.update(overrides)
    return make_config("cpu", "dphubert", str(data), options)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_efficiency_refuses_a_non_finite_clip_length(tmp_path, value):
    from click.testing import CliRunner

    from dpbench.cli import main

    result = CliRunner().invoke(
        main, ["efficiency", "tiny-hubert", "--seconds", value, "--results", str(tmp_path / "r.jsonl")]
    )
    assert result.exit_code != 0 and "finite length" in result.output
    assert not (tmp_path / "r.jsonl").exists()
