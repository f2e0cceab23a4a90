"""The display label of each compression method (`dpbench compress --method`), as the paper names it:
report rows, legends and the demo's student names. A method without one is shown by its key."""

from __future__ import annotations

METHOD_LABELS = {
    "dphubert": "DPHuBERT",
    "distilhubert": "DistilHuBERT",
    "fithubert": "FitHuBERT",
    "fithubert-thin": "FitHuBERT-thin",  # FitHuBERT-style: the teacher's conv front end, no time reduction
    "half": "12-Layer Half",
}


def method_label(method: str) -> str:
    """A method's display label ("dphubert" -> "DPHuBERT"); other names are kept."""
    return METHOD_LABELS.get(method, method)
