"""fairseq / unilm checkpoints (wav2vec 2.0, HuBERT, WavLM; pretrained or CTC fine-tuned) -> Encoder.

A checkpoint is a dict with `model` (the state dict) and the config under `cfg['model']`,
`cfg` itself (unilm's WavLM) or `args` (older fairseq). Waveform normalisation is the task's
`normalize` (`cfg['task']`, unilm's `cfg`, or `args`). No fairseq install is needed."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from torch import Tensor

from dpbench.errors import DpbenchError
from dpbench.models.encoder import Encoder
from dpbench.models.importers.keys import WEIGHT_NORM_G, WEIGHT_NORM_V, rename_keys, strip_prefix
from dpbench.models.importers.shapes import infer_config, load_state

LAYOUT = "fairseq"
FINETUNED_PREFIXES = ("w2v_encoder.w2v_model.",)
LAYERS = r"encoder\.layers\.(\d+)"
RULES = [
    (r"feature_extractor\.conv_layers\.(\d+)\.0\.(weight|bias)", r"feature_extractor.layers.\1.conv.\2"),
    (r"feature_extractor\.conv_layers\.(\d+)\.2\.(weight|bias)", r"feature_extractor.layers.\1.norm.\2"),
    (r"feature_extractor\.conv_layers\.(\d+)\.2\.1\.(weight|bias)", r"feature_extractor.layers.\1.norm.\2"),
    (r"layer_norm\.(weight|bias)", r"feature_projection.layer_norm.\1"),
    (r"post_extract_proj\.(weight|bias)", r"feature_projection.projection.\1"),
    (rf"encoder\.pos_conv\.0\.{WEIGHT_NORM_G}", "pos_conv.weight_g"),
    (rf"encoder\.pos_conv\.0\.{WEIGHT_NORM_V}", "pos_conv.weight_v"),
    (r"encoder\.pos_conv\.0\.bias", "pos_conv.bias"),
    (r"encoder\.layer_norm\.(weight|bias)", r"layer_norm.\1"),
    (r"encoder\.layers\.0\.self_attn\.relative_attention_bias\.weight", "relative_position.rel_attn_embed.weight"),
    (rf"{LAYERS}\.self_attn\.((?:q|k|v|out)_proj\.(?:weight|bias))", r"layers.\1.attention.\2"),
    (rf"{LAYERS}\.self_attn\.grep_linear\.(weight|bias)", r"layers.\1.attention.gru_rel_pos_linear.\2"),
    (rf"{LAYERS}\.self_attn\.grep_a", r"layers.\1.attention.gru_rel_pos_const"),
    (rf"{LAYERS}\.self_attn_layer_norm\.(weight|bias)", r"layers.\1.layer_norm.\2"),
    (rf"{LAYERS}\.fc1\.(weight|bias)", r"layers.\1.feed_forward.intermediate_dense.\2"),
    (rf"{LAYERS}\.fc2\.(weight|bias)", r"layers.\1.feed_forward.output_dense.\2"),
    (rf"{LAYERS}\.final_layer_norm\.(weight|bias)", r"layers.\1.final_layer_norm.\2"),
]
# pretraining heads and masking embeddings: not part of the encoder
IGNORE = [
    r"mask_emb",
    r"quantizer\..*",
    r"project_q\..*",
    r"final_proj\..*",
    r"label_embs_concat",
    r"target_glu\..*",
]


def literal_conv_layers(spec: str, source: str) -> list[tuple[int, int, int]]:
    """Evaluate fairseq's `conv_feature_layers` string, e.g. "[(512, 10, 5)] + [(512, 3, 2)] * 4",
    allowing only lists, tuples, integers, + and *."""

    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [value(n) for n in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            left, right = value(node.left), value(node.right)
            return left + right if isinstance(node.op, ast.Add) else left * right
        raise ValueError(ast.dump(node))

    try:
        layers = value(ast.parse(spec, mode="eval").body)
        return [(int(c), int(k), int(s)) for c, k, s in layers]
    except (SyntaxError, ValueError, TypeError) as error:
        raise DpbenchError(f"{source}: cannot read conv_feature_layers {spec!r} ({error})") from error


def _as_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    return dict(vars(obj))  # argparse.Namespace


def model_config(ckpt: Mapping[str, Any]) -> dict[str, Any]:
    """The encoder's config fields, whichever of fairseq's layouts the checkpoint uses."""
    cfg = _as_dict(ckpt.get("cfg"))
    model = _as_dict(cfg.get("model")) if "model" in cfg else cfg or _as_dict(ckpt.get("args"))
    nested = model.get("w2v_args")  # CTC fine-tuning: the pretrained encoder's config
    if nested:
        nested = _as_dict(nested)
        model = _as_dict(nested.get("model")) if "model" in nested else nested
    return model


def task_normalize(ckpt: Mapping[str, Any]) -> bool | None:
    """The task config's `normalize` (zero mean, unit variance waveforms), None when it has none."""
    cfg = _as_dict(ckpt.get("cfg"))
    for task in (_as_dict(cfg.get("task")), cfg, _as_dict(ckpt.get("args"))):
        if "normalize" in task:
            return bool(task["normalize"])
    return None


def _arch(cfg: dict[str, Any], state: Mapping[str, Tensor]) -> str:
    if any("grep_linear" in key or "relative_attention_bias" in key for key in state):
        return "wavlm"
    name = str(cfg.get("_name") or cfg.get("arch") or "")
    if "hubert" in name or "label_embs_concat" in state:
        return "hubert"
    return "wav2vec2"


def _known_fields(cfg: dict[str, Any], source: str) -> dict[str, Any]:
    if cfg.get("activation_fn", "gelu") != "gelu":
        raise DpbenchError(f"{source}: activation_fn {cfg['activation_fn']!r} is not supported (expected gelu)")
    if int(cfg.get("pos_conv_depth", 1)) != 1:
        raise DpbenchError(f"{source}: pos_conv_depth {cfg['pos_conv_depth']} is not supported (expected 1)")
    known: dict[str, Any] = {}
    if "conv_feature_layers" in cfg:
        known["conv_strides"] = [s for _, _, s in literal_conv_layers(str(cfg["conv_feature_layers"]), source)]
    if "encoder_attention_heads" in cfg:
        known["heads"] = int(cfg["encoder_attention_heads"])
    if "layer_norm_first" in cfg:
        known["layer_norm_first"] = bool(cfg["layer_norm_first"])
    if "max_distance" in cfg:
        known["max_distance"] = int(cfg["max_distance"])
    return known


# EncoderConfig dropout -> fairseq config key and its default (torchaudio's import_fairseq mapping)
DROPOUT_KEYS = {
    "projection_dropout": ("dropout_input", 0.0),
    "attention_dropout": ("attention_dropout", 0.1),
    "ffn_interm_dropout": ("activation_dropout", 0.0),
    "dropout": ("dropout", 0.1),
}


def from_fairseq(ckpt: Mapping[str, Any], source: str = "checkpoint") -> Encoder:
    """Convert a loaded fairseq checkpoint dict ({'model': state dict, 'cfg' or 'args': ...})."""
    if not isinstance(ckpt, Mapping) or "model" not in ckpt:
        raise DpbenchError(f"{source}: expected a fairseq checkpoint dict with 'model' and 'cfg' or 'args'")
    cfg = model_config(ckpt)
    if not cfg:
        raise DpbenchError(f"{source}: the fairseq checkpoint has no 'cfg' or 'args' describing the model")
    state = strip_prefix(ckpt["model"], FINETUNED_PREFIXES)
    renamed = rename_keys(state, RULES, IGNORE, source, LAYOUT)
    known = {**_known_fields(cfg, source), "normalize_waveform": task_normalize(ckpt)}
    config = infer_config(renamed, source, _arch(cfg, state), **known)
    for name, (key, default) in DROPOUT_KEYS.items():
        setattr(config, name, float(cfg.get(key, default)))
    return load_state(config, renamed, source)
