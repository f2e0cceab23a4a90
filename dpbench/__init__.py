"""dpbench: compress speech SSL encoders by joint distillation and structured pruning (DPHuBERT),
and evaluate them on SUPERB through s3prl."""

__version__ = "0.1.0"
