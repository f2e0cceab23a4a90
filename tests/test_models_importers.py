"""Exactness of dpbench's encoder against transformers and torchaudio (random weights), and the
checkpoint importers: Hugging Face, torchaudio, fairseq, format detection, clear errors."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
import transformers
from torch import Tensor, nn
from torchaudio.models import (
    hubert_base,
    hubert_large,
    wav2vec2_large_lv60k,
    wav2vec2_model,
    wavlm_large,
    wavlm_model,
)
from torchaudio.models.wav2vec2.utils import import_fairseq

from dpbench.errors import DpbenchError
from dpbench.models import Encoder, count_params, large_config, save_encoder, tiny_config
from dpbench.models.importers import (
    from_fairseq,
    from_huggingface,
    from_torchaudio,
    import_checkpoint,
)
from dpbench.models.importers.torchaudio import dpbench_names

# transformers' WavLM passes a bool padding mask with a float bias to torch, which warns about it
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask:UserWarning")

ARCHES = ("hubert", "wav2vec2", "wavlm")
HF_CLASSES = {
    "hubert": (transformers.HubertConfig, transformers.HubertModel),
    "wav2vec2": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model),
    "wavlm": (transformers.WavLMConfig, transformers.WavLMModel),
}
TINY_SAMPLES = [8000, 5600]  # two utterances of different lengths, zero-padded into one batch
TOLERANCE = dict(atol=1e-4, rtol=1e-4)


# --- reference models ---------------------------------------------------------------------------
@torch.no_grad()
def perturb(model: nn.Module, seed: int = 0) -> nn.Module:
    """Move every parameter off its initial value (LayerNorm ones, zero biases) so that every
    weight matters in the comparison."""
    generator = torch.Generator().manual_seed(seed)
    for parameter in model.parameters():
        parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return model.eval()


def hf_model(arch: str, pre_ln: bool, base: bool = False) -> nn.Module:
    config_cls, model_cls = HF_CLASSES[arch]
    size = (
        {}
        if base
        else dict(
            hidden_size=64,
            num_hidden_layers=3,
            num_attention_heads=4,
            intermediate_size=128,
            conv_dim=[32] * 7,
            num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=4,
        )
    )
    if arch == "wavlm" and not base:
        size.update(num_buckets=32, max_bucket_distance=64)
    config = config_cls(
        **size,
        do_stable_layer_norm=pre_ln,
        feat_extract_norm="layer" if pre_ln else "group",
        conv_bias=pre_ln,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        feat_proj_dropout=0.0,
        layerdrop=0.0,
        mask_time_prob=0.0,
    )
    return perturb(model_cls(config))


def torchaudio_tiny(arch: str, pre_ln: bool) -> nn.Module:
    kwargs = dict(
        extractor_mode="layer_norm" if pre_ln else "group_norm",
        extractor_conv_layer_config=[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2,
        extractor_conv_bias=pre_ln,
        encoder_embed_dim=64,
        encoder_projection_dropout=0.0,
        encoder_pos_conv_kernel=16,
        encoder_pos_conv_groups=4,
        encoder_num_layers=3,
        encoder_num_heads=4,
        encoder_attention_dropout=0.0,
        encoder_ff_interm_features=128,
        encoder_ff_interm_dropout=0.0,
        encoder_dropout=0.0,
        encoder_layer_norm_first=pre_ln,
        encoder_layer_drop=0.0,
        aux_num_out=None,
    )
    if arch == "wavlm":
        return perturb(wavlm_model(encoder_num_buckets=32, encoder_max_distance=64, **kwargs))
    return perturb(wav2vec2_model(**kwargs))


def batch(samples: list[int], seed: int = 1) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    wavs = torch.zeros(len(samples), max(samples))
    for i, n in enumerate(samples):
        wavs[i, :n] = torch.randn(n, generator=generator) * 0.3
    return wavs, torch.tensor(samples)


# --- running them ---------------------------------------------------------------------------------
def capture_output(module: nn.Module, run: Callable[[], object]) -> tuple[Tensor, object]:
    """Run `run()` and return (`module`'s first output, run's result)."""
    seen: list[Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: seen.append(out[0] if isinstance(out, tuple) else out))
    try:
        result = run()
    finally:
        handle.remove()
    return seen[0], result


@torch.no_grad()
def hf_hidden_states(model: nn.Module, wavs: Tensor, lengths: Tensor) -> list[Tensor]:
    """transformers' hidden states in the authors' convention (HiddenStates.AUTHORS): index 0 is the
    feature projection's output (transformers' index 0 is taken after the position conv) and the last
    is the last layer's output (transformers' applies a pre-LN model's final LayerNorm to it)."""
    mask = (torch.arange(wavs.shape[1])[None, :] < lengths[:, None]).long()
    projected, (last, out) = capture_output(
        model.feature_projection,
        lambda: capture_output(
            model.encoder.layers[-1], lambda: model(wavs, attention_mask=mask, output_hidden_states=True)
        ),
    )
    return [projected, *out.hidden_states[1:-1], last]


@torch.no_grad()
def torchaudio_hidden_states(model: nn.Module, wavs: Tensor, lengths: Tensor | None) -> list[Tensor]:
    """torchaudio's layer outputs (a pre-LN model's last without the final LayerNorm, as the authors'
    convention has it), with the projected features first."""
    projected, (layers, _) = capture_output(
        model.encoder.feature_projection, lambda: model.extract_features(wavs, lengths)
    )
    return [projected, *layers]


def library_input(model: Encoder, wavs: Tensor, lengths: Tensor | None) -> Tensor:
    """The waveforms the libraries' models get from their pipelines: each utterance normalised over its
    own samples, as fairseq and s3prl do, when the imported model normalises (the pre-LN ones)."""
    if not model.config.normalize_waveform:
        return wavs
    out = torch.zeros_like(wavs)
    for i, n in enumerate(lengths.tolist() if lengths is not None else [wavs.shape[1]] * len(wavs)):
        out[i, :n] = F.layer_norm(wavs[i, :n], (n,))
    return out


def assert_same_states(model: Encoder, reference: list[Tensor], wavs: Tensor, lengths: Tensor | None) -> None:
    with torch.no_grad():
        ours, frames = model(wavs, lengths)
    assert len(ours) == len(reference) == model.config.num_layers + 1
    for index, (mine, theirs) in enumerate(zip(ours, reference)):
        assert mine.shape == theirs.shape, f"hidden state {index}"
        for item, n in enumerate(frames.tolist()):  # valid frames only
            torch.testing.assert_close(mine[item, :n], theirs[item, :n], **TOLERANCE, msg=f"hidden state {index}")


# --- exactness: tiny configs ----------------------------------------------------------------------
@pytest.mark.parametrize("pre_ln", [False, True], ids=["post_ln", "pre_ln"])
@pytest.mark.parametrize("arch", ARCHES)
def test_matches_transformers(arch: str, pre_ln: bool) -> None:
    reference = hf_model(arch, pre_ln)
    model = from_huggingface(reference)
    assert model.config.arch == arch and model.config.layer_norm_first == pre_ln
    assert model.config.normalize_waveform == pre_ln  # no preprocessor config: the pre-LN models normalise
    wavs, lengths = batch(TINY_SAMPLES)
    assert_same_states(model, hf_hidden_states(reference, library_input(model, wavs, lengths), lengths), wavs, lengths)


@pytest.mark.parametrize("pre_ln", [False, True], ids=["post_ln", "pre_ln"])
@pytest.mark.parametrize("arch", ["wav2vec2", "wavlm"])
def test_matches_torchaudio(arch: str, pre_ln: bool) -> None:
    reference = torchaudio_tiny(arch, pre_ln)
    model = from_torchaudio(reference, heads=4, layer_norm_first=pre_ln, max_distance=64)
    assert model.config.arch == arch and model.config.num_heads == [4, 4, 4]
    wavs, lengths = batch(TINY_SAMPLES)
    if arch == "wavlm":  # torchaudio's WavLM rejects any padding mask (an assert in its attention)
        wavs, lengths = wavs[:1], None
    expected = torchaudio_hidden_states(reference, library_input(model, wavs, lengths), lengths)
    assert_same_states(model, expected, wavs, lengths)


def test_frame_lengths_match_transformers() -> None:
    reference = hf_model("hubert", False)
    lengths = torch.tensor([400, 401, 719, 720, 16000, 16001])
    ours = from_huggingface(reference).output_lengths(lengths)
    assert ours.tolist() == reference._get_feat_extract_output_lengths(lengths).tolist()


def test_wavlm_relative_buckets_match_transformers() -> None:
    reference = hf_model("wavlm", False)
    model = from_huggingface(reference)
    relative = torch.arange(-300, 301)[None, :]
    theirs = reference.encoder.layers[0].attention._relative_positions_bucket(relative.clone())
    assert torch.equal(model.relative_position.buckets(relative), theirs)


# --- exactness: Base size, once -------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHES)
def test_base_matches_transformers(arch: str) -> None:
    reference = hf_model(arch, pre_ln=False, base=True)
    model = from_huggingface(reference)
    wavs, lengths = batch([32000, 24000])
    assert_same_states(model, hf_hidden_states(reference, wavs, lengths), wavs, lengths)


@pytest.mark.slow
def test_base_matches_torchaudio_hubert_base() -> None:
    reference = perturb(hubert_base())
    model = from_torchaudio(reference, arch="hubert")
    assert count_params(model.config) == sum(p.numel() for p in reference.parameters()) == 94_370_944
    wavs, lengths = batch([32000, 24000])
    assert_same_states(model, torchaudio_hidden_states(reference, wavs, lengths), wavs, lengths)


@pytest.mark.parametrize(
    "arch,builder", [("hubert", hubert_large), ("wav2vec2", wav2vec2_large_lv60k), ("wavlm", wavlm_large)]
)
def test_large_presets_equal_torchaudio_builders(arch: str, builder: Callable[[], nn.Module]) -> None:
    """Same parameter count and the same tensors, name for name (through the torchaudio importer's
    key mapping), as torchaudio's Large factory; built on the meta device (no memory, no init)."""
    with torch.device("meta"):
        theirs = builder()
        ours = Encoder(large_config(arch))
    assert count_params(ours.config) == sum(p.numel() for p in theirs.parameters())
    assert count_params(ours.config) == sum(p.numel() for p in ours.parameters())
    their_shapes = {k: tuple(v.shape) for k, v in dpbench_names(theirs.state_dict()).items()}
    our_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items() if not k.endswith("head_index")}
    assert our_shapes == their_shapes
    assert ours.config.normalize_waveform  # torchaudio's Large bundles normalise (`_normalize_waveform`)


# --- fairseq ----------------------------------------------------------------------------------------
TA_LAYERS = r"encoder\.transformer\.layers\.(\d+)"
FAIRSEQ_NAMES = [  # torchaudio name -> fairseq name, from fairseq's documented module names
    (r"feature_extractor\.conv_layers\.(\d+)\.conv\.(weight|bias)", r"feature_extractor.conv_layers.\1.0.\2"),
    (r"encoder\.feature_projection\.projection\.(weight|bias)", r"post_extract_proj.\1"),
    (r"encoder\.feature_projection\.layer_norm\.(weight|bias)", r"layer_norm.\1"),
    (r"encoder\.transformer\.pos_conv_embed\.conv\.parametrizations\.weight\.original0", "encoder.pos_conv.0.weight_g"),
    (r"encoder\.transformer\.pos_conv_embed\.conv\.parametrizations\.weight\.original1", "encoder.pos_conv.0.weight_v"),
    (r"encoder\.transformer\.pos_conv_embed\.conv\.bias", "encoder.pos_conv.0.bias"),
    (r"encoder\.transformer\.layer_norm\.(weight|bias)", r"encoder.layer_norm.\1"),
    (rf"{TA_LAYERS}\.attention\.(\w+_proj)\.(weight|bias)", r"encoder.layers.\1.self_attn.\2.\3"),
    (rf"{TA_LAYERS}\.layer_norm\.(weight|bias)", r"encoder.layers.\1.self_attn_layer_norm.\2"),
    (rf"{TA_LAYERS}\.feed_forward\.intermediate_dense\.(weight|bias)", r"encoder.layers.\1.fc1.\2"),
    (rf"{TA_LAYERS}\.feed_forward\.output_dense\.(weight|bias)", r"encoder.layers.\1.fc2.\2"),
    (rf"{TA_LAYERS}\.final_layer_norm\.(weight|bias)", r"encoder.layers.\1.final_layer_norm.\2"),
]


def fairseq_name(key: str, layer_norm_extractor: bool) -> str:
    match = re.fullmatch(r"feature_extractor\.conv_layers\.(\d+)\.layer_norm\.(weight|bias)", key)
    if match:
        inner = "2.1" if layer_norm_extractor else "2"
        return f"feature_extractor.conv_layers.{match[1]}.{inner}.{match[2]}"
    for pattern, target in FAIRSEQ_NAMES:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, target, key)
    raise KeyError(key)


def fairseq_checkpoint(reference: nn.Module, pre_ln: bool, arch: str) -> dict:
    """A fairseq-format checkpoint holding a torchaudio model's weights; each name is checked
    against torchaudio's own fairseq importer."""
    model = {}
    for key, value in reference.state_dict().items():
        name = fairseq_name(key, pre_ln)
        expected = key.replace("parametrizations.weight.original0", "weight_g").replace(
            "parametrizations.weight.original1", "weight_v"
        )
        assert import_fairseq._map_key(name) == expected
        model[name] = value.clone()
    model["mask_emb"] = torch.zeros(64)
    cfg = {
        "_name": arch,
        "extractor_mode": "layer_norm" if pre_ln else "default",
        "conv_feature_layers": "[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2",
        "conv_bias": pre_ln,
        "encoder_layers": 3,
        "encoder_embed_dim": 64,
        "encoder_ffn_embed_dim": 128,
        "encoder_attention_heads": 4,
        "activation_fn": "gelu",
        "layer_norm_first": pre_ln,
        "conv_pos": 16,
        "conv_pos_groups": 4,
    }
    return {"cfg": {"model": cfg}, "model": model}


@pytest.mark.parametrize("pre_ln", [False, True], ids=["post_ln", "pre_ln"])
def test_fairseq_matches_torchaudio(pre_ln: bool) -> None:
    reference = torchaudio_tiny("wav2vec2", pre_ln)
    model = from_fairseq(fairseq_checkpoint(reference, pre_ln, "hubert"))
    assert model.config.arch == "hubert" and model.config.layer_norm_first == pre_ln
    wavs, lengths = batch(TINY_SAMPLES)
    expected = torchaudio_hidden_states(reference, library_input(model, wavs, lengths), lengths)
    assert_same_states(model, expected, wavs, lengths)


def test_fairseq_finetuned_with_args_namespace() -> None:
    import argparse

    reference = torchaudio_tiny("wav2vec2", False)
    ckpt = fairseq_checkpoint(reference, False, "wav2vec2")
    encoder_cfg = argparse.Namespace(**ckpt["cfg"]["model"])
    finetuned = {f"w2v_encoder.w2v_model.{k}": v for k, v in ckpt["model"].items()}
    finetuned["w2v_encoder.proj.weight"] = torch.zeros(10, 64)
    model = from_fairseq({"args": argparse.Namespace(w2v_args=encoder_cfg), "model": finetuned})
    wavs, lengths = batch(TINY_SAMPLES)
    assert_same_states(model, torchaudio_hidden_states(reference, wavs, lengths), wavs, lengths)


def wavlm_fairseq_checkpoint(reference: nn.Module) -> dict:
    """unilm's WavLM layout (cfg at the top level) built from a transformers WavLM's weights."""
    renames = [
        (r"feature_extractor\.conv_layers\.(\d+)\.conv\.", r"feature_extractor.conv_layers.\1.0."),
        (r"feature_extractor\.conv_layers\.(\d+)\.layer_norm\.", r"feature_extractor.conv_layers.\1.2."),
        (r"feature_projection\.projection\.", "post_extract_proj."),
        (r"feature_projection\.layer_norm\.", "layer_norm."),
        (r"encoder\.pos_conv_embed\.conv\.parametrizations\.weight\.original0", "encoder.pos_conv.0.weight_g"),
        (r"encoder\.pos_conv_embed\.conv\.parametrizations\.weight\.original1", "encoder.pos_conv.0.weight_v"),
        (r"encoder\.pos_conv_embed\.conv\.bias", "encoder.pos_conv.0.bias"),
        (r"attention\.rel_attn_embed\.", "self_attn.relative_attention_bias."),
        (r"attention\.gru_rel_pos_linear\.", "self_attn.grep_linear."),
        (r"attention\.gru_rel_pos_const", "self_attn.grep_a"),
        (r"attention\.(\w+_proj)\.", r"self_attn.\1."),
        (r"layers\.(\d+)\.layer_norm\.", r"layers.\1.self_attn_layer_norm."),
        (r"feed_forward\.intermediate_dense\.", "fc1."),
        (r"feed_forward\.output_dense\.", "fc2."),
    ]
    model = {}
    for key, value in reference.state_dict().items():
        if key == "masked_spec_embed":
            continue
        for pattern, target in renames:
            key = re.sub(pattern, target, key)
        model[key] = value.clone()
    cfg = {
        "extractor_mode": "default",
        "conv_feature_layers": "[(32,10,5)] + [(32,3,2)]*4 + [(32,2,2)]*2",
        "encoder_layers": 3,
        "encoder_embed_dim": 64,
        "encoder_attention_heads": 4,
        "layer_norm_first": False,
        "relative_position_embedding": True,
        "num_buckets": 32,
        "max_distance": 64,
        "gru_rel_pos": True,
    }
    return {"cfg": cfg, "model": model}


def test_fairseq_wavlm_matches_transformers() -> None:
    reference = hf_model("wavlm", False)
    model = from_fairseq(wavlm_fairseq_checkpoint(reference))
    assert model.config.arch == "wavlm" and model.config.max_distance == 64
    wavs, lengths = batch(TINY_SAMPLES)
    assert_same_states(model, hf_hidden_states(reference, wavs, lengths), wavs, lengths)


# --- import_checkpoint: format detection ----------------------------------------------------------
def test_import_detects_every_format(tmp_path) -> None:
    wavs, lengths = batch(TINY_SAMPLES)

    def outputs(model: Encoder) -> Tensor:
        with torch.no_grad():
            return model(wavs, lengths)[0][-1]

    hf = hf_model("wavlm", False)
    hf.save_pretrained(tmp_path / "hf")
    expected = from_huggingface(hf)
    torch.testing.assert_close(outputs(import_checkpoint(tmp_path / "hf")), outputs(expected), **TOLERANCE)

    torch.save(hf.state_dict(), tmp_path / "wavlm_state.bin")
    bare = import_checkpoint(tmp_path / "wavlm_state.bin", max_distance=64)
    assert bare.config == expected.config

    audio = torchaudio_tiny("wav2vec2", False)
    torch.save(audio.state_dict(), tmp_path / "hubert_tiny.pth")
    from_file = import_checkpoint(tmp_path / "hubert_tiny.pth", heads=4)
    assert from_file.config.arch == "hubert"  # named by the file
    torch.testing.assert_close(outputs(from_file), outputs(from_torchaudio(audio, heads=4)), **TOLERANCE)

    torch.save(fairseq_checkpoint(audio, False, "wav2vec2"), tmp_path / "fairseq.pt")
    assert import_checkpoint(tmp_path / "fairseq.pt").config.arch == "wav2vec2"

    mine = Encoder(tiny_config("hubert")).eval()
    save_encoder(tmp_path / "mine.pt", mine)
    torch.testing.assert_close(outputs(import_checkpoint(tmp_path / "mine.pt")), outputs(mine), **TOLERANCE)


def test_normalisation_from_the_preprocessor_config_or_the_rule(tmp_path) -> None:
    """Hugging Face: preprocessor_config.json's do_normalize; without it, pre-LN models normalise."""
    import json

    for pre_ln in (False, True):
        folder = tmp_path / f"hf{pre_ln}"
        hf_model("hubert", pre_ln).save_pretrained(folder)
        assert import_checkpoint(folder).config.normalize_waveform == pre_ln  # no preprocessor_config.json
        (folder / "preprocessor_config.json").write_text(json.dumps({"do_normalize": not pre_ln}))
        imported = import_checkpoint(folder)
        assert imported.config.normalize_waveform == (not pre_ln)
        save_encoder(tmp_path / "mine.pt", imported)  # dpbench checkpoints carry it in their config
        assert import_checkpoint(tmp_path / "mine.pt").config.normalize_waveform == (not pre_ln)
    audio = torchaudio_tiny("wav2vec2", True)  # torchaudio state dicts: the rule
    assert from_torchaudio(audio, heads=4).config.normalize_waveform


def test_unknown_files_fail_clearly(tmp_path) -> None:
    with pytest.raises(DpbenchError, match="checkpoint not found"):
        import_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(DpbenchError, match=r"text\.pt.*expected a dpbench checkpoint"):
        import_checkpoint(tmp_path / "text.pt")
    torch.save({"linear.weight": torch.zeros(2, 2)}, tmp_path / "other.pt")
    with pytest.raises(DpbenchError, match=r"other\.pt is not a recognised encoder checkpoint"):
        import_checkpoint(tmp_path / "other.pt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(DpbenchError, match="expected config.json"):
        import_checkpoint(tmp_path / "folder")


def test_mismatched_files_fail_clearly(tmp_path) -> None:
    hf = hf_model("hubert", False)
    state = hf.state_dict()
    del state["encoder.layers.1.final_layer_norm.weight"]
    with pytest.raises(DpbenchError, match=r"sd\.bin.*missing \['layers\.1\.final_layer_norm\.weight'\]"):
        from_huggingface(state, hf.config, source="sd.bin")
    with pytest.raises(DpbenchError, match="unexpected key 'encoder.extra.weight'"):
        from_huggingface({**hf.state_dict(), "encoder.extra.weight": torch.zeros(1)}, hf.config)
    with pytest.raises(DpbenchError, match="model_type is 'bert'"):
        from_huggingface(hf.state_dict(), {"model_type": "bert"})
    ckpt = fairseq_checkpoint(torchaudio_tiny("wav2vec2", False), False, "wav2vec2")
    ckpt["cfg"]["model"]["activation_fn"] = "relu"
    with pytest.raises(DpbenchError, match="activation_fn 'relu'"):
        from_fairseq(ckpt)
    with pytest.raises(DpbenchError, match="'model' and 'cfg' or 'args'"):
        from_fairseq({"cfg": {}})
