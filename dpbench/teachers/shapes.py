"""Encoder shapes for pretraining small teachers."""

from __future__ import annotations

import json
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.models import EncoderConfig, tiny_config


def tiny_hubert_config() -> EncoderConfig:
    """The built-in teacher's shape (about 1.9M parameters, 3.7 MB in fp16).

    Keeps the Base conv strides (320x downsampling, as s3prl expects) with narrow early conv
    layers, whose cost grows with their 3.2 kHz / 1.6 kHz frame rates; 5 post-LN layers of width
    160 with 4 heads of 40 and a 4x FFN, so one CPU core trains it in minutes."""
    layers = 5
    return EncoderConfig(
        arch="hubert",
        conv_channels=[64, 96, 96, 128, 128, 128, 128],
        conv_norm="group",
        hidden_size=160,
        num_layers=layers,
        num_heads=[4] * layers,
        head_dim=40,
        ffn_dims=[640] * layers,
        layer_norm_first=False,
        pos_conv_kernel=32,
        pos_conv_groups=8,
    )


SHAPES = {"tiny-hubert": tiny_hubert_config, "tiny": tiny_config}


def shape_config(shape: str) -> EncoderConfig:
    """A named shape (tiny-hubert, tiny) or a JSON file holding an EncoderConfig dict."""
    if shape in SHAPES:
        return SHAPES[shape]()
    path = Path(shape)
    if not path.is_file():
        raise DpbenchError(
            f"unknown shape {shape!r}: use one of {', '.join(SHAPES)} or a JSON file of encoder config keys"
        )
    try:
        return EncoderConfig.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError) as error:
        raise DpbenchError(f"{path}: not a valid encoder config ({error}); see dpbench/models/config.py") from error
