"""Physical pruning: turn a gated encoder into a dense, smaller Encoder with equal eval outputs.

Units whose deterministic gate value is zero are removed; the soft gate values of kept units are
folded into the weights that consume them (next conv's input channels, the projection's inputs,
out_proj's input columns, the FFN output layer), and block gates into the block's output layer.
With the authors' conv gate norm (a full LayerNorm after the last conv gate) the last gate's soft
values become the per-channel `output_scale`, and the pruned model's norms see only the kept
channels: as in the authors' code, it then differs slightly from the gated model.

Hardware-aligned pruning (`align_gates`) makes the conv-channel and FFN-unit gates keep a multiple of
N units (see HardConcrete.keep_multiple), so the pruned model still equals the gated model in eval mode."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dpbench.models.components import TransformerLayer
from dpbench.models.encoder import Encoder

ALIGN_KINDS = ("conv", "ffn")


@dataclass(frozen=True)
class Alignment:
    """Kept conv channels and FFN units are multiples of these (1: any count, the authors' recipe)."""

    conv: int = 1
    ffn: int = 1

    @classmethod
    def parse(cls, text: str) -> Alignment:
        """`conv=32,ffn=8` (either part may be left out; "" = no alignment). Raises ValueError."""
        values: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            kind, _, number = part.partition("=")
            if kind.strip() not in ALIGN_KINDS or not number.strip().isdigit() or int(number) < 1:
                raise ValueError(f"{part!r}: expected conv=N or ffn=N with N >= 1")
            values[kind.strip()] = int(number)
        return cls(**values)


def align_gates(model: Encoder, alignment: Alignment) -> None:
    """Make `model`'s conv-channel and FFN-unit gates (in place) keep multiples of `alignment`'s counts in
    their eval masks, hence in the model `prune_encoder` makes; Alignment() undoes it."""
    for gate in model.feature_extractor.channel_gates or []:
        gate.keep_multiple = alignment.conv
    for layer in model.layers:
        if layer.feed_forward is not None and layer.feed_forward.unit_gate is not None:
            layer.feed_forward.unit_gate.keep_multiple = alignment.ffn


def _ones(n: int, like: Tensor) -> Tensor:
    return torch.ones(n, dtype=like.dtype, device=like.device)


def _select_linear(linear: nn.Linear, rows: Tensor | None = None, cols: Tensor | None = None) -> None:
    """Keep `rows` (outputs) and/or `cols` (inputs) of a Linear, in place."""
    weight = linear.weight.data
    if rows is not None:
        weight = weight[rows]
        if linear.bias is not None:
            linear.bias = nn.Parameter(linear.bias.data[rows].clone())
        linear.out_features = len(rows)
    if cols is not None:
        weight = weight[:, cols]
        linear.in_features = len(cols)
    linear.weight = nn.Parameter(weight.clone())


@torch.no_grad()
def _prune_conv(model: Encoder) -> list[int]:
    extractor = model.feature_extractor
    channels = []
    gates = extractor.channel_gates
    for i, layer in enumerate(extractor.layers):
        if gates is None:
            channels.append(layer.conv.out_channels)
            continue
        mask = gates[i].eval_mask()
        keep = torch.nonzero(mask > 0).flatten()
        if len(keep) == 0:
            raise ValueError(f"conv layer {i} lost all its channels: the model cannot be pruned to a working encoder")
        conv = layer.conv
        conv.weight = nn.Parameter(conv.weight.data[keep].clone())
        if conv.bias is not None:
            conv.bias = nn.Parameter(conv.bias.data[keep].clone())
        conv.out_channels = len(keep)
        if isinstance(layer.norm, nn.GroupNorm):
            norm = nn.GroupNorm(len(keep), len(keep), eps=layer.norm.eps, affine=True)
            norm.weight.data.copy_(layer.norm.weight.data[keep])
            norm.bias.data.copy_(layer.norm.bias.data[keep])
            layer.norm = norm
        elif isinstance(layer.norm, nn.LayerNorm):
            _prune_layer_norm(layer.norm, keep)
        if i + 1 < len(extractor.layers):
            nxt = extractor.layers[i + 1].conv
            nxt.weight = nn.Parameter((nxt.weight.data[:, keep] * mask[keep][None, :, None]).clone())
            nxt.in_channels = len(keep)
        else:
            if extractor.output_scale is not None:
                extractor.output_scale = nn.Parameter(extractor.output_scale.data[keep].clone())
            projection = model.feature_projection
            _prune_layer_norm(projection.layer_norm, keep)
            _select_linear(projection.projection, cols=keep)
            if extractor.gate_norm == "authors":  # a LayerNorm follows the gate: its soft values stay a scale
                scale = extractor.output_scale.data if extractor.output_scale is not None else _ones(len(keep), mask)
                extractor.output_scale = nn.Parameter((scale * mask[keep]).clone())
            else:
                projection.projection.weight.data *= mask[keep][None, :]
        channels.append(len(keep))
    extractor.channel_gates = None
    return channels


def _prune_layer_norm(norm: nn.LayerNorm, keep: Tensor) -> None:
    norm.weight = nn.Parameter(norm.weight.data[keep].clone())
    norm.bias = nn.Parameter(norm.bias.data[keep].clone())
    norm.normalized_shape = (len(keep),)


@torch.no_grad()
def _prune_attention(layer: TransformerLayer) -> int:
    attn = layer.attention
    if attn is None:
        return 0
    head_mask = attn.head_gate.eval_mask() if attn.head_gate is not None else _ones(attn.num_heads, attn.q_proj.weight)
    block = attn.block_gate.eval_mask()[0] if attn.block_gate is not None else 1.0
    keep_heads = torch.nonzero(head_mask > 0).flatten()
    if len(keep_heads) == 0 or float(block) == 0.0:
        layer.attention = None
        return 0
    dim = attn.head_dim
    rows = (keep_heads[:, None] * dim + torch.arange(dim, device=keep_heads.device)[None, :]).flatten()
    for proj in (attn.q_proj, attn.k_proj, attn.v_proj):
        _select_linear(proj, rows=rows)
    _select_linear(attn.out_proj, cols=rows)
    attn.out_proj.weight.data *= head_mask[keep_heads].repeat_interleave(dim)[None, :] * block
    attn.out_proj.bias.data *= block
    attn.head_index = attn.head_index[keep_heads].clone()
    if attn.gru_rel_pos_linear is not None:
        attn.gru_rel_pos_const = nn.Parameter(attn.gru_rel_pos_const.data[:, keep_heads].clone())
    attn.num_heads = len(keep_heads)
    attn.head_gate = attn.block_gate = None
    return attn.num_heads


@torch.no_grad()
def _prune_ffn(layer: TransformerLayer) -> int:
    ffn = layer.feed_forward
    if ffn is None:
        return 0
    size = ffn.intermediate_dense.out_features
    unit_mask = ffn.unit_gate.eval_mask() if ffn.unit_gate is not None else _ones(size, ffn.output_dense.weight)
    block = ffn.block_gate.eval_mask()[0] if ffn.block_gate is not None else 1.0
    keep = torch.nonzero(unit_mask > 0).flatten()
    if len(keep) == 0 or float(block) == 0.0:
        layer.feed_forward = None
        return 0
    _select_linear(ffn.intermediate_dense, rows=keep)
    _select_linear(ffn.output_dense, cols=keep)
    ffn.output_dense.weight.data *= unit_mask[keep][None, :] * block
    ffn.output_dense.bias.data *= block
    ffn.unit_gate = ffn.block_gate = None
    return len(keep)


@torch.no_grad()
def prune_encoder(model: Encoder) -> Encoder:
    """A dense Encoder computing what `model` computes in eval mode, without its zero-gated units.

    `model` is left untouched. The result has no gates and an ordinary (per-layer) config."""
    pruned = copy.deepcopy(model).eval()
    channels = _prune_conv(pruned)
    heads = [_prune_attention(layer) for layer in pruned.layers]
    ffn_dims = [_prune_ffn(layer) for layer in pruned.layers]
    config = copy.deepcopy(model.config)
    config.conv_channels, config.num_heads, config.ffn_dims = channels, heads, ffn_dims
    config.conv_output_scale = pruned.feature_extractor.output_scale is not None
    result = Encoder(config)
    state = pruned.state_dict()
    result.load_state_dict(state, strict=True)
    return result.train(model.training)
