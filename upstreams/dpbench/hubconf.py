"""Re-export of the packaged `dpbench` hub entry (`dpbench.superb.backend.upstream.hubconf`)."""

from dpbench.superb.backend.upstream.hubconf import ENTRY_NAME, dpbench, load_spec, register

__all__ = ["ENTRY_NAME", "dpbench", "load_spec", "register"]
