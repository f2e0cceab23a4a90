"""The prunable wav2vec2-family encoder (HuBERT, wav2vec 2.0, WavLM) and its tools."""

from dpbench.models.checkpoint import load_encoder, save_encoder
from dpbench.models.complexity import count_macs, count_params, expected_macs, expected_params
from dpbench.models.config import (
    EncoderConfig,
    base_config,
    hubert_base_config,
    hubert_large_config,
    large_config,
    tiny_config,
    wav2vec2_base_config,
    wav2vec2_large_config,
    wavlm_base_config,
    wavlm_large_config,
)
from dpbench.models.encoder import Encoder, HiddenStates, build_encoder
from dpbench.models.hardconcrete import HardConcrete
from dpbench.models.pruning import prune_encoder

__all__ = [
    "Encoder",
    "EncoderConfig",
    "HardConcrete",
    "HiddenStates",
    "base_config",
    "build_encoder",
    "count_macs",
    "count_params",
    "expected_macs",
    "expected_params",
    "hubert_base_config",
    "hubert_large_config",
    "large_config",
    "load_encoder",
    "prune_encoder",
    "save_encoder",
    "tiny_config",
    "wav2vec2_base_config",
    "wav2vec2_large_config",
    "wavlm_base_config",
    "wavlm_large_config",
]
