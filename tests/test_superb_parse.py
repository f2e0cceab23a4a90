"""Metric parsing on outputs s3prl really wrote (copied from runs of dpbench's KS and PR tasks)."""

from __future__ import annotations

import pytest

from dpbench.errors import DpbenchError
from dpbench.superb.parse import problem_best_valid, problem_result, runner_best_value, runner_split_value

# train/log.log and evaluate/log.log of `dpbench superb --task KS` (s3prl speech_commands expert).
KS_TRAIN_LOG = """train at step 50: 0.2575
train at step 100: 0.345
dev at step 100: 0.5625
New best on dev at step 100: 0.5625
train at step 150: 0.43875
train at step 200: 0.4875
dev at step 200: 0.5625
train at step 250: 0.62875
train at step 300: 0.67625
dev at step 300: 0.8125
New best on dev at step 300: 0.8125
"""
KS_EVAL_LOG = "test at step 0: 0.5555555555555556\n"
# exp/train/valid_best/training_stats.yaml of `dpbench superb --task PR` (s3prl.problem).
PR_STATS = """epoch: 4
global_step: 100
valid_best_metrics:
  loss: 4.747570037841797
  per: 0.8857142857142857
"""


def test_runner_logs(tmp_path):
    train, evaluate = tmp_path / "train.log", tmp_path / "eval.log"
    train.write_text(KS_TRAIN_LOG)
    evaluate.write_text(KS_EVAL_LOG)
    assert runner_split_value(evaluate, "test") == pytest.approx(0.5555555555555556)
    assert runner_split_value(train, "dev") == 0.8125
    assert runner_best_value(train, "dev") == 0.8125
    with pytest.raises(DpbenchError, match="no line matching"):
        runner_split_value(train, "test")


def test_best_is_the_highest_not_the_last_value(tmp_path):
    log = tmp_path / "log.log"
    log.write_text(KS_TRAIN_LOG + "dev at step 400: 0.5\n")
    assert runner_best_value(log, "dev") == 0.8125
    assert runner_split_value(log, "dev") == 0.5
    assert runner_best_value(log, "dev", higher_is_better=False) == 0.5


def test_problem_outputs(tmp_path):
    (tmp_path / "valid_best").mkdir()
    (tmp_path / "valid_best" / "training_stats.yaml").write_text(PR_STATS)
    assert problem_best_valid(tmp_path, "per") == pytest.approx(0.8857142857142857)
    result = tmp_path / "result.yaml"
    result.write_text("cer: 0.5\nloss: 3.2\nwer: 0.75\n")
    assert problem_result(result, "wer") == 0.75
    with pytest.raises(DpbenchError, match="has no 'per'"):
        problem_result(result, "per")


def test_missing_output_names_the_file(tmp_path):
    with pytest.raises(DpbenchError, match="result.yaml"):
        problem_result(tmp_path / "result.yaml", "per")
