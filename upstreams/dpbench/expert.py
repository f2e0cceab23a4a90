"""Re-export of the packaged upstream expert (`dpbench.superb.backend.upstream.expert`)."""

from dpbench.superb.backend.upstream.expert import UpstreamExpert

__all__ = ["UpstreamExpert"]
