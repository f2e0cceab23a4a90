"""Paper-scale learning-rate grids (`dpbench superb --lr sweep --scale paper`): five log-spaced rates per
task around s3prl's own default learning rate for that task."""

from __future__ import annotations

import math

import pytest

from dpbench.superb.configs import get_key, load_config
from dpbench.superb.tasks import TASKS, get_task

TRAINED = [name for name in TASKS if get_task(name).trains]
# s3prl.problem's Superb<Task>.default_config()["build_optimizer"]["conf"]["lr"], checked against s3prl below
S3PRL_PROBLEM = {
    "KS": "SuperbKS",
    "IC": "SuperbIC",
    "SID": "SuperbSID",
    "ER": "SuperbER",
    "PR": "SuperbPR",
    "ASR": "SuperbASR",
    "SF": "SuperbSF",
    "ASV": "SuperbASV",
    "SD": "SuperbSD",
}


def paper_grid(name: str) -> tuple[list[float], float]:
    """(the paper config's sweep, the paper config's own learning rate)."""
    task = get_task(name)
    config, settings = load_config(task.stem, "paper")
    return [float(lr) for lr in settings["lr_sweep"]], float(get_key(config, task.lr_key))


@pytest.mark.parametrize("name", TRAINED)
def test_paper_grid_is_five_log_spaced_rates_around_the_default(name: str) -> None:
    grid, default = paper_grid(name)
    assert len(grid) == 5 and grid == sorted(grid)
    steps = [math.log10(high / low) for low, high in zip(grid, grid[1:])]
    assert all(step == pytest.approx(steps[0]) and step > 0 for step in steps)
    assert any(lr == pytest.approx(default) for lr in grid)
    assert grid[0] < default < grid[-1]  # rates on both sides of the default


def test_sid_reaches_1e_1_and_pr_covers_its_runfile_search() -> None:
    sid, _ = paper_grid("SID")
    assert max(sid) == pytest.approx(1e-1)
    assert min(sid) <= 1e-3  # 70.1% at 1e-3 vs 81.4% at 1e-1 (HuBERT Base): both ends are in the sweep
    pr, pr_default = paper_grid("PR")
    assert pr_default == pytest.approx(1e-2)
    assert [f"{lr:.0e}" for lr in pr] == ["1e-05", "1e-04", "1e-03", "1e-02", "1e-01"]  # s3prl's ctc/pr.sh


def test_paper_defaults_are_s3prls_own() -> None:
    from dpbench.superb.backend import shims

    shims.use_device("cpu")
    import s3prl.problem

    assert set(S3PRL_PROBLEM) == set(TRAINED)
    for name, problem in S3PRL_PROBLEM.items():
        s3prl_lr = getattr(s3prl.problem, problem)().default_config()["build_optimizer"]["conf"]["lr"]
        assert paper_grid(name)[1] == pytest.approx(s3prl_lr), name
