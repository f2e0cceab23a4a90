"""The paper's ablation study (DPHuBERT, section 4.4) as named presets: each the `dpbench compress`
options it sets, by CompressConfig field. Kept apart from dpbench.compress (which loads Lightning) so
plans and the report can name them cheaply."""

from __future__ import annotations

from typing import Any

ABLATIONS: dict[str, dict[str, Any]] = {
    "no-conv-pruning": {"prune_units": ["head", "interm"]},
    "no-final-distill": {"stage2_steps": 0},
    "predlayer": {"distill_mode": "predlayer", "distill_layers": "4.8.12"},  # DistilHuBERT's prediction heads
    "layer-gates": {"prune_units": ["conv", "head", "interm", "attlayer", "ffnlayer"]},  # every gate kind
}
ABLATION_METHODS = ("dphubert",)  # the ablations vary the DPHuBERT recipe
