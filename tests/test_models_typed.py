"""The typing-only parts of the model code change nothing at run time, and the gate switches are named."""

from __future__ import annotations

import pytest
from torch import nn

from dpbench.models import build_encoder, tiny_config
from dpbench.models.typed_modules import TypedModuleList


def test_typed_module_list_is_torchs_own_class():
    assert TypedModuleList is nn.ModuleList
    model = build_encoder(tiny_config())
    assert type(model.layers) is nn.ModuleList and type(model.feature_extractor.layers) is nn.ModuleList
    model.set_gates()
    assert type(model.feature_extractor.channel_gates) is nn.ModuleList


def test_set_gates_takes_named_groups_only():
    model = build_encoder(tiny_config())
    with pytest.raises(TypeError):
        model.set_gates(True, False)  # which group is which would be a guess
    model.set_gates(conv=False, heads=True, attention=False, ffn_units=False, ffn=False)
    assert model.gate_flags == {"conv": False, "heads": True, "attention": False, "ffn_units": False, "ffn": False}
    model.remove_gates()
    assert not model.has_gates and not list(model.gate_parameters())
