"""s3prl's own metric functions, for the bootstrap (`dpbench.stats`) and the per-item readers
(`dpbench.superb.items`): dpbench recomputes SUPERB's numbers with s3prl's code, not its own."""

from s3prl.metric.common import compute_eer
from s3prl.metric.slot_filling import slot_type_f1

__all__ = ["compute_eer", "slot_type_f1"]
