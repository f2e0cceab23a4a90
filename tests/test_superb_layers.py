"""The superb package's layers: only the s3prl backend imports s3prl (and its shims are in place before
s3prl loads), each task's metric and direction are stated once (the task specs, which the report reads
too), and the s3prl-style `upstreams/` folder of a checkout is a pointer to the packaged entry."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dpbench.superb.configs import CONFIG_DIR, SCALES
from dpbench.superb.specs import SPECS

REPO = Path(__file__).resolve().parents[1]
BACKEND = REPO / "dpbench" / "superb" / "backend"
# Code outside the backend that may import s3prl, and why. tests/ is exempt as a whole: tests show
# correctness against s3prl's own classes (after importing the backend where s3prl needs the shims).
S3PRL_IMPORTERS_ALLOWED = {
    # builds s3prl's own hubert/wav2vec2/wavlm classes as the reference the importers are compared with
    "benchmarks/importer_parity.py",
}


def s3prl_imports(path: Path) -> list[int]:
    """Line numbers of every `import s3prl...` / `from s3prl... import` in a Python file."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name == "s3prl" or name.startswith("s3prl.") for name in names):
            lines.append(node.lineno)
    return lines


def test_only_the_backend_imports_s3prl() -> None:
    files = [path for folder in ("dpbench", "upstreams", "benchmarks") for path in (REPO / folder).rglob("*.py")]
    offenders = [
        f"{path.relative_to(REPO)}:{line}"
        for path in files
        if BACKEND not in path.parents and path.relative_to(REPO).as_posix() not in S3PRL_IMPORTERS_ALLOWED
        for line in s3prl_imports(path)
    ]
    assert not offenders, f"s3prl imported outside dpbench/superb/backend: {offenders}"
    assert any(s3prl_imports(path) for path in BACKEND.rglob("*.py"))  # the check sees real imports
    for allowed in S3PRL_IMPORTERS_ALLOWED:
        assert s3prl_imports(REPO / allowed), f"{allowed} no longer imports s3prl: drop it from the list"


def test_importing_any_backend_module_applies_the_shims_before_s3prl_loads() -> None:
    """In a fresh process, record at the moment `s3prl` is first imported whether the shims ran (the HEAR
    stubs and torch's allowlist); import each backend module that imports s3prl."""
    modules = sorted(
        "dpbench.superb.backend." + path.relative_to(BACKEND).with_suffix("").as_posix().replace("/", ".")
        for path in BACKEND.rglob("*.py")
        if s3prl_imports(path)
    )
    code = f"""
import importlib, importlib.util, sys
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "s3prl" and not seen:
            import argparse, torch
            seen.append(("sed_eval" in sys.modules or importlib.util.find_spec("sed_eval") is not None,
                         argparse.Namespace in torch.serialization.get_safe_globals()))
        return None
sys.meta_path.insert(0, Watch())
for module in {modules!r}:
    importlib.import_module(module)
print(seen)
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[(True, True)]"
    assert "dpbench.superb.backend.speech_commands" in modules  # KS's corpus check in the parent goes through it


def test_each_task_states_its_metric_once() -> None:
    from dpbench.report.tasks import TASK_BY_NAME, TASKS
    from dpbench.superb.tasks import TASKS as RUNNABLE
    from dpbench.superb.tasks import get_task

    assert TASKS is SPECS  # the report reads the superb specs themselves
    assert {name.upper() for name in TASK_BY_NAME} == set(RUNNABLE)
    for name in RUNNABLE:
        task = get_task(name)
        spec = TASK_BY_NAME[task.name]
        assert task.spec is spec
        assert (task.metric, task.higher_is_better, task.corpus, task.stem) == (
            spec.primary.name,
            spec.primary.higher_is_better,
            spec.corpus,
            spec.stem,
        )
        assert task.secondary_metrics == {m.name: m.higher_is_better for m in spec.metrics[1:]}
        for scale in SCALES:
            assert (CONFIG_DIR / f"{spec.stem}_{scale}.yaml").is_file()


def test_runner_patches_are_named_by_the_task_and_checked(tmp_path: Path) -> None:
    from dpbench.superb.launching import PATCH_OPTION
    from dpbench.superb.tasks import get_task
    from dpbench.superb.tasks.base import RunRequest
    from dpbench.superb.upstream_spec import parse_upstream

    request = RunRequest(parse_upstream("s3prl:fbank"), tmp_path, tmp_path / "run", "cpu")
    config = {"runner": {"total_steps": 10}}
    sid = get_task("SID").stages(request, config, {})
    assert all(
        stage.argv[:3] == ["runner", PATCH_OPTION, f"voxceleb1_cache={tmp_path / 'run' / 'voxceleb1_cache'}/"]
        for stage in sid
    )
    assert all(PATCH_OPTION not in stage.argv for stage in get_task("KS").stages(request, config, {}))
    assert all(not any(key.startswith("DPBENCH_VOXCELEB1") for key in stage.env) for stage in sid)

    from dpbench.superb.backend import patches

    with pytest.raises(SystemExit, match="unknown s3prl patch 'nope'"):
        patches.apply_requested([PATCH_OPTION, "nope=1", "-m", "train"])
    import s3prl.downstream.voxceleb1.dataset as voxceleb1_dataset

    before = voxceleb1_dataset.CACHE_PATH
    try:
        rest = patches.apply_requested([PATCH_OPTION, f"voxceleb1_cache={tmp_path}/", "-m", "train"])
        assert rest == ["-m", "train"] and voxceleb1_dataset.CACHE_PATH == f"{tmp_path}/"
    finally:
        voxceleb1_dataset.CACHE_PATH = before


def test_upstreams_folder_points_at_the_packaged_entry() -> None:
    code = (
        "import types, upstreams.dpbench, upstreams.dpbench.hubconf as hubconf; "
        "import upstreams.dpbench.expert as expert; "
        "from dpbench.superb.backend.upstream import expert as packaged_expert, hubconf as packaged; "
        "assert isinstance(upstreams.dpbench, types.ModuleType), upstreams.dpbench; "
        "assert hubconf.dpbench is packaged.dpbench and hubconf.register is packaged.register; "
        "assert expert.UpstreamExpert is packaged_expert.UpstreamExpert; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_the_s3prl_subprocess_runs_the_parents_dpbench(tmp_path, monkeypatch) -> None:
    """Whatever the caller's PYTHONPATH and folder, the subprocess imports the dpbench this process runs."""
    import dpbench
    from dpbench.superb import launching

    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    env = launching.child_env("cpu")
    assert env["PYTHONPATH"].split(os.pathsep) == [launching.PACKAGE_ROOT, str(tmp_path)]
    code = "import dpbench; print(dpbench.__file__)"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == dpbench.__file__
