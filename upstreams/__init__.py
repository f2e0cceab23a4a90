"""s3prl upstream entries for dpbench checkpoints, registered without editing s3prl's files."""

from upstreams.dpbench.hubconf import ENTRY_NAME, dpbench, register

__all__ = ["ENTRY_NAME", "dpbench", "register"]
