"""The published DPHuBERT Table 1 rows (Peng et al., Interspeech 2023), as result records.

Students trained on LibriSpeech 960 h; numbers as quoted in docs/METHOD.md section 5. The paper's table
gives no MACs, so those cells stay missing."""

from __future__ import annotations

from typing import Any

from dpbench.method_labels import METHOD_LABELS
from dpbench.report.tasks import TASKS

PAPER_SOURCE = "paper"
PAPER_SUFFIX = " (paper)"
PAPER_TEACHER = "HuBERT Base" + PAPER_SUFFIX

# model (a method's display label where it is one), params (M), KS, IC, PR, ASR, ER, QbE, SF F1, SF CER, SID, ASV, SD
_PAPER_TABLE1 = (
    ("HuBERT Base", 94.68, 96.30, 98.34, 5.41, 6.42, 64.92, 0.0736, 88.53, 25.20, 81.42, 5.11, 5.88),
    (METHOD_LABELS["distilhubert"], 23.49, 95.98, 94.99, 16.27, 13.37, 63.02, 0.0511, 82.57, 35.59, 73.54, 8.55, 6.19),
    (METHOD_LABELS["fithubert"], 22.49, 96.27, 91.25, 13.32, 12.09, 59.82, 0.0489, 84.06, 32.46, 55.71, 8.00, 6.84),
    (METHOD_LABELS["half"], 26.87, 97.24, 96.97, 10.67, 10.96, 63.24, 0.0604, 86.11, 30.93, 69.52, 6.13, 6.81),
    (METHOD_LABELS["dphubert"], 23.59, 96.36, 97.92, 9.67, 10.47, 63.16, 0.0693, 86.86, 28.26, 76.83, 5.84, 5.92),
    ("DPWavLM", 23.59, 96.27, 98.58, 8.22, 10.19, 65.24, 0.0874, 87.68, 26.11, 82.11, 5.98, 5.53),
)


def paper_records() -> list[dict[str, Any]]:
    """The paper's rows as records in the results store's schema, `scale` = "paper"."""
    metrics = [(task.name, metric) for task in TASKS for metric in task.metrics if metric.in_paper]
    records = []
    for name, params_m, *values in _PAPER_TABLE1:
        for (task, metric), value in zip(metrics, values, strict=True):
            records.append(
                {
                    "task": task,
                    "metric": metric.name,
                    "value": value,
                    "higher_is_better": metric.higher_is_better,
                    "upstream": name + PAPER_SUFFIX,
                    "params": round(params_m * 1e6),
                    "macs": None,
                    "scale": "paper",
                    "source": PAPER_SOURCE,
                }
            )
    return records
