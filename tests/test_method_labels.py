"""One display label per compression method, shared by the report, the paper rows and the demo."""

from __future__ import annotations

from pathlib import Path

from dpbench.compress.config import METHODS
from dpbench.demo import student_path
from dpbench.method_labels import METHOD_LABELS, method_label
from dpbench.report.paper import PAPER_SUFFIX, paper_records
from dpbench.report.plotting import method_color


def test_every_method_has_one_label_and_nothing_else_does() -> None:
    assert set(METHOD_LABELS) == set(METHODS)
    assert len(set(METHOD_LABELS.values())) == len(METHOD_LABELS)
    assert method_label("half") == "12-Layer Half" and method_label("my-method") == "my-method"


def test_the_paper_rows_the_demo_and_the_figures_use_the_labels() -> None:
    paper_models = {record["upstream"].removesuffix(PAPER_SUFFIX) for record in paper_records()}
    assert set(METHOD_LABELS.values()) - {method_label("fithubert-thin")} <= paper_models  # the paper has no thin row
    assert student_path(Path("models"), "half") == Path("models") / "12-Layer Half.pt"
    assert all(method_color(method) == method_color(label) for method, label in METHOD_LABELS.items())
    assert len({method_color(method) for method in METHOD_LABELS}) == len(METHOD_LABELS)
