"""Joint distillation and structured pruning (DPHuBERT) and its baselines, as a resumable trainer."""

from dpbench.compress.config import METHODS, CompressConfig, make_config
from dpbench.compress.runner import Hardware, run_compress

__all__ = ["METHODS", "CompressConfig", "Hardware", "make_config", "run_compress"]
