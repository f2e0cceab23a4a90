"""The local launcher (dpbench's pool) on the shared launcher scenario (tests/launcher_cases.py)."""

from __future__ import annotations

from launcher_cases import check_launcher

from dpbench.plan.launch import LocalLauncher


def test_local_launcher_runs_cancels_and_resubmits_only_what_is_missing(tmp_path):
    check_launcher(LocalLauncher(workers=2), tmp_path)
