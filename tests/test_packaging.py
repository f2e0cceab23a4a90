"""dpbench as an installed wheel: the downstream configs and the s3prl upstream entry ship inside the
package, so `dpbench superb` works from a wheel install, outside the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_wheel_runs_superb_outside_the_source_tree(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "dpbench", source / "dpbench", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        tmp_path,
        env,
    )
    (wheel,) = (tmp_path / "dist").glob("dpbench-*.whl")

    # A fresh venv that reuses this interpreter's installed dependencies through a .pth file (a path in a
    # .pth is only appended to sys.path: the .pth files there, e.g. an editable dpbench, are not run).
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(run([str(python), "-c", purelib], tmp_path, env).strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)], tmp_path, env)

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = run([str(python), "-c", "import dpbench; print(dpbench.__file__)"], outside, env).strip()
    assert Path(where).is_relative_to(site), where  # the wheel's copy, not the checkout's
    assert "--task" in run([str(venv / "bin" / "dpbench"), "superb", "--help"], outside, env)
    loaded = run(
        [
            str(python),
            "-c",
            "from dpbench.superb.configs import CONFIG_DIR, load_config; "
            "from dpbench.superb.tasks import get_task; "
            "config, settings = load_config(get_task('KS').stem, 'paper'); "
            "print(CONFIG_DIR, config['runner']['total_steps'], settings['lr_sweep'][0])",
        ],
        outside,
        env,
    ).split()
    assert Path(loaded[0]).is_relative_to(site) and int(loaded[1]) > 0 and float(loaded[2]) > 0
    entry = run(
        [
            str(python),
            "-c",
            "from dpbench.superb.backend.upstream.hubconf import dpbench, ENTRY_NAME; "
            "print(ENTRY_NAME, callable(dpbench))",
        ],
        outside,
        env,
    )
    assert entry.split() == ["dpbench", "True"]
