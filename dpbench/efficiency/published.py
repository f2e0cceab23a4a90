"""Published compressed upstreams without their weights: s3prl's own model classes at the published
configurations, with random weights, saved the way their checkpoints are stored, so that
`dpbench efficiency s3prl:<entry>_local=PATH` measures the architecture (speed and size do not
depend on the weights)."""

from __future__ import annotations

from pathlib import Path

import torch

from dpbench.io_utils import atomic_torch_save

# DistilHuBERT (Chang et al., ICASSP 2022), s3prl pretrain/distiller/config_model.yaml: two layers of
# HuBERT Base width predicting teacher layers 4, 8 and 12.
DISTILHUBERT_CONFIG = {
    "extractor_mode": "default",
    "extractor_conv_feature_layers": "[(512,10,5)] + [(512,3,2)] * 4 + [(512,2,2)] * 2",
    "conv_pos": 128,
    "conv_pos_groups": 16,
    "encoder_layers": 2,
    "encoder_embed_dim": 768,
    "encoder_ffn_embed_dim": 3072,
    "encoder_attention_heads": 12,
    "activation_fn": "gelu",
    "layer_norm_first": False,
    "attention_type": "original",
    "final_dim": 768,
    "out_layer_type": "expand-last",
    "n_tasks": 3,
    "task_emb_type": "expand-last",
    "pred_layer_id": [4, 8, 12],
}
DISTILHUBERT_PARAMS = 23.49e6  # as published: without the three prediction heads
# LightHuBERT Small (Wang et al., Interspeech 2022): a `hubert_pruner` checkpoint of the small search
# space, whose fixed subnet s3prl's LightHuBERTSupernetConfig("small").subnet gives (12 layers of width
# 384), on the class's default supernet weights.
LIGHTHUBERT_SMALL_CONFIG = {"_name": "hubert_pruner", "pruner_supernet": "lighthubert_small.yaml"}
LIGHTHUBERT_SMALL_PARAMS = 27e6  # as published (to 1M)


def write_distilhubert(path: Path, seed: int = 0) -> int:
    """Save a random-weight DistilHuBERT as s3prl's distiller checkpoints are stored ("Config" and
    "Distiller"); returns the parameters of its prediction heads (which s3prl's upstream runs)."""
    from dpbench.superb.backend import shims

    shims.use_device("cpu")
    from dpbench.superb.backend.reference_models import DistillerConfig, DistillerModel

    torch.manual_seed(seed)
    model = DistillerModel(DistillerConfig(DISTILHUBERT_CONFIG))
    atomic_torch_save({"Config": {"distiller": DISTILHUBERT_CONFIG}, "Distiller": model.state_dict()}, path)
    return sum(p.numel() for p in model.output_layer.parameters())


def write_lighthubert_small(path: Path, seed: int = 0) -> None:
    """Save a random-weight LightHuBERT Small as its checkpoints are stored ("cfg" -> "model", "model")."""
    from dpbench.superb.backend import shims

    shims.use_device("cpu")
    from dpbench.superb.backend.reference_models import LightHuBERT, LightHuBERTConfig

    torch.manual_seed(seed)
    config = LightHuBERTConfig(LIGHTHUBERT_SMALL_CONFIG)
    config.supernet_type = "small"
    atomic_torch_save({"cfg": {"model": LIGHTHUBERT_SMALL_CONFIG}, "model": LightHuBERT(config).state_dict()}, path)
