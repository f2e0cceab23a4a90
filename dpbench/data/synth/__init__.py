"""Deterministic synthetic corpora made with espeak-ng, in the on-disk layouts s3prl reads."""

from dpbench.data.synth.corpus import CORPORA, synthesize
from dpbench.data.synth.sizes import SIZES

__all__ = ["CORPORA", "SIZES", "synthesize"]
