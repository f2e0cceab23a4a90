"""Importer parity: for each checkpoint format dpbench imports, the largest difference between the
imported model's hidden states and those of the format's own library, on random-weight models.

    python benchmarks/importer_parity.py [--threads 1]

Per format and architecture, over a post-LN and a pre-LN model (3 layers of width 64, every weight
moved off its initial value) and a batch of utterances of 1.0, 0.5 and 0.375 s (padded), it prints
max |dpbench - reference| over every hidden state and valid frame, and which convention was compared:
- Hugging Face folder (config.json, model.safetensors, preprocessor_config.json) vs transformers with
  its own feature extractor (`Wav2Vec2FeatureExtractor`, whose normalisation uses eps 1e-7 where fairseq
  uses 1e-5): HiddenStates.AUTHORS (layer outputs);
- torchaudio state dict (.pth) vs torchaudio's model behind its pipelines' wrapper (`_normalize_waveform`
  normalises the whole batch at once, so one utterance at a time): HiddenStates.AUTHORS;
- fairseq checkpoint ({cfg: {model, task}, model}; unilm's {cfg, model} for WavLM) vs fairseq's model
  classes as s3prl vendors them (fairseq itself does not install on this Python), hooked as s3prl's
  experts hook them: HiddenStates.S3PRL;
- s3prl converted checkpoint ({task_cfg, model_cfg, model_weight, dictionaries_symbols}) vs s3prl's own
  `hubert_local` / `wav2vec2_local` / `wavlm_local` experts, through dpbench's s3prl upstream: S3PRL;
- dpbench checkpoint (save_encoder) vs the model it was saved from (4 layers): both conventions."""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dpbench.models import Encoder, HiddenStates, save_encoder, tiny_config
from dpbench.models.importers import import_checkpoint
from dpbench.superb.backend.upstream.hubconf import dpbench as dpbench_upstream

ARCHES = ("hubert", "wav2vec2", "wavlm")
SAMPLES = [16000, 8000, 6001]
CONV = [(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2


@torch.no_grad()
def perturb(model: nn.Module) -> nn.Module:
    generator = torch.Generator().manual_seed(0)
    for parameter in model.parameters():
        parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return model.eval()


def utterances() -> list[Tensor]:
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(n, generator=generator) * 0.3 + 0.05 for n in SAMPLES]


def padded(wavs: list[Tensor]) -> tuple[Tensor, Tensor]:
    return nn.utils.rnn.pad_sequence(wavs, batch_first=True), torch.tensor([len(w) for w in wavs])


def capture(module: nn.Module, run: Callable[[], object]) -> tuple[Tensor, object]:
    seen: list[Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: seen.append(out[0] if isinstance(out, tuple) else out))
    try:
        result = run()
    finally:
        handle.remove()
    return seen[0], result


def max_diff(ours: list[Tensor], theirs: list[Tensor], frames: Tensor | None = None) -> float:
    """max |ours - theirs| over every hidden state and the valid `frames` of each utterance (None: all)."""
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    worst = 0.0
    for mine, reference in zip(ours, theirs):
        assert mine.shape == reference.shape, (mine.shape, reference.shape)
        valid = frames.tolist() if frames is not None else [mine.shape[1]] * len(mine)
        for item, n in enumerate(valid):
            worst = max(worst, float((mine[item, :n] - reference[item, :n]).abs().max()))
    return worst


# --- Hugging Face -------------------------------------------------------------------------------------
def huggingface(arch: str, pre_ln: bool, folder: Path) -> float:
    import transformers

    classes = {
        "hubert": (transformers.HubertConfig, transformers.HubertModel),
        "wav2vec2": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model),
        "wavlm": (transformers.WavLMConfig, transformers.WavLMModel),
    }
    config_cls, model_cls = classes[arch]
    extra = dict(num_buckets=32, max_bucket_distance=64) if arch == "wavlm" else {}
    config = config_cls(
        hidden_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=128,
        conv_dim=[32] * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        do_stable_layer_norm=pre_ln,
        feat_extract_norm="layer" if pre_ln else "group",
        conv_bias=pre_ln,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        feat_proj_dropout=0.0,
        layerdrop=0.0,
        **extra,
    )
    reference = perturb(model_cls(config))
    extractor = transformers.Wav2Vec2FeatureExtractor(do_normalize=pre_ln, return_attention_mask=True)
    reference.save_pretrained(folder)
    extractor.save_pretrained(folder)
    wavs = utterances()
    inputs = extractor([w.numpy() for w in wavs], sampling_rate=16000, padding=True, return_tensors="pt")
    with torch.no_grad():
        projected, (last, out) = capture(
            reference.feature_projection,
            lambda: capture(
                reference.encoder.layers[-1],
                lambda: reference(inputs.input_values, attention_mask=inputs.attention_mask, output_hidden_states=True),
            ),
        )
        ours, frames = import_checkpoint(folder)(*padded(wavs), HiddenStates.AUTHORS)
    return max_diff(ours, [projected, *out.hidden_states[1:-1], last], frames)


# --- torchaudio ---------------------------------------------------------------------------------------
def torchaudio_state(arch: str, pre_ln: bool, folder: Path) -> float:
    from torchaudio.models import wav2vec2_model, wavlm_model
    from torchaudio.pipelines._wav2vec2.utils import _extend_model

    kwargs = dict(
        extractor_mode="layer_norm" if pre_ln else "group_norm",
        extractor_conv_layer_config=CONV,
        extractor_conv_bias=pre_ln,
        encoder_embed_dim=128,
        encoder_projection_dropout=0.0,
        encoder_pos_conv_kernel=16,
        encoder_pos_conv_groups=4,
        encoder_num_layers=3,
        encoder_num_heads=2,
        encoder_attention_dropout=0.0,
        encoder_ff_interm_features=256,
        encoder_ff_interm_dropout=0.0,
        encoder_dropout=0.0,
        encoder_layer_norm_first=pre_ln,
        encoder_layer_drop=0.0,
        aux_num_out=None,
    )  # 64 per head: torchaudio's state dicts do not store the head count
    if arch == "wavlm":
        model = perturb(wavlm_model(encoder_num_buckets=320, encoder_max_distance=800, **kwargs))
    else:
        model = perturb(wav2vec2_model(**kwargs))
    path = folder / f"{arch}_model.pth"
    torch.save(model.state_dict(), path)
    reference = _extend_model(model, normalize_waveform=pre_ln)  # what torchaudio's bundles return
    ours_model = import_checkpoint(path)
    worst = 0.0
    for wav in utterances():  # one at a time: the wrapper normalises the whole batch as one
        with torch.no_grad():
            projected, (layers, _) = capture(
                model.encoder.feature_projection, lambda: reference.extract_features(wav[None])
            )
            ours, _ = ours_model(wav[None], None, HiddenStates.AUTHORS)
        worst = max(worst, max_diff(ours, [projected, *layers]))
    return worst


# --- fairseq and s3prl ----------------------------------------------------------------------------------
def fairseq_model(arch: str, pre_ln: bool) -> tuple[nn.Module, dict, dict]:
    """fairseq's (vendored by s3prl) model of `arch` with random weights, its model and task configs."""
    from s3prl.upstream.utils import merge_with_parent

    cfg = {
        "_name": arch,
        "extractor_mode": "layer_norm" if pre_ln else "default",
        "conv_feature_layers": str(CONV),
        "conv_bias": pre_ln,
        "encoder_layers": 3,
        "encoder_embed_dim": 64,
        "encoder_ffn_embed_dim": 128,
        "encoder_attention_heads": 4,
        "activation_fn": "gelu",
        "layer_norm_first": pre_ln,
        "conv_pos": 16,
        "conv_pos_groups": 4,
        "final_dim": 16,
        "dropout": 0.0,
        "attention_dropout": 0.0,
        "activation_dropout": 0.0,
        "encoder_layerdrop": 0.0,
        "dropout_input": 0.0,
        "dropout_features": 0.0,
        "label_rate": 50.0,
    }
    task = {
        "_name": "hubert_pretraining" if arch == "hubert" else "audio_pretraining",
        "normalize": pre_ln,
        "sample_rate": 16000,
        "label_rate": 50.0,
        "labels": ["km"],
    }
    if arch == "hubert":
        from s3prl.upstream.hubert.hubert_model import HubertConfig, HubertModel, HubertPretrainingConfig

        model = HubertModel(
            merge_with_parent(HubertConfig, cfg),
            merge_with_parent(HubertPretrainingConfig, task),
            [["<s>", "<pad>", "</s>", "<unk>", "0", "1"]],
        )
    elif arch == "wav2vec2":
        from s3prl.upstream.wav2vec2.wav2vec2_model import Wav2Vec2Config, Wav2Vec2Model

        model = Wav2Vec2Model(merge_with_parent(Wav2Vec2Config, {**cfg, "latent_vars": 8, "latent_dim": 16}))
    else:
        from s3prl.upstream.wavlm.WavLM import WavLM, WavLMConfig

        cfg.update(
            relative_position_embedding=True, num_buckets=32, max_distance=64, gru_rel_pos=True, normalize=pre_ln
        )
        model = WavLM(WavLMConfig(cfg))
    return perturb(model), cfg, task


def s3prl_hooked(model: nn.Module, wavs: list[Tensor], normalize: bool) -> list[Tensor]:
    """fairseq's model run as s3prl's experts run it: normalised per utterance, padded, every layer's
    input and the encoder's output."""
    if normalize:
        wavs = [F.layer_norm(w, w.shape) for w in wavs]
    batch, lengths = padded(wavs)
    mask = torch.arange(batch.shape[1])[None, :] >= lengths[:, None]
    seen: list[Tensor] = []
    handles = [
        layer.register_forward_hook(lambda _m, inputs, _o: seen.append(inputs[0].transpose(0, 1)))
        for layer in model.encoder.layers
    ]
    handles.append(model.encoder.register_forward_hook(lambda _m, _i, out: seen.append(out[0])))
    try:
        with torch.no_grad():
            model.extract_features(batch, padding_mask=mask, mask=False)
    finally:
        for handle in handles:
            handle.remove()
    frames = min(s.shape[1] for s in seen)
    return [s[:, :frames] for s in seen]


def fairseq_file(arch: str, pre_ln: bool, folder: Path) -> float:
    model, cfg, task = fairseq_model(arch, pre_ln)
    ckpt = (
        {"cfg": cfg, "model": model.state_dict()}
        if arch == "wavlm"
        else {"cfg": {"model": cfg, "task": task}, "model": model.state_dict()}
    )
    torch.save(ckpt, folder / f"{arch}_fairseq.pt")
    wavs = utterances()
    with torch.no_grad():
        ours, _ = import_checkpoint(folder / f"{arch}_fairseq.pt")(*padded(wavs), HiddenStates.S3PRL)
    return max_diff(ours, s3prl_hooked(model, wavs, pre_ln))


def s3prl_file(arch: str, pre_ln: bool, folder: Path) -> float:
    from s3prl.upstream.hubert.hubconf import hubert_local
    from s3prl.upstream.wav2vec2.hubconf import wav2vec2_local
    from s3prl.upstream.wavlm.hubconf import wavlm_local

    model, cfg, task = fairseq_model(arch, pre_ln)
    path = folder / f"{arch}_s3prl.pt"
    if arch == "wavlm":  # s3prl's wavlm entries load unilm's own file
        torch.save({"cfg": cfg, "model": model.state_dict()}, path)
    else:
        torch.save(
            {
                "task_cfg": task,
                "model_cfg": cfg,
                "model_weight": model.state_dict(),
                "dictionaries_symbols": [["<s>", "<pad>", "</s>", "<unk>", "0", "1"]],
            },
            path,
        )
    entry = {"hubert": hubert_local, "wav2vec2": wav2vec2_local, "wavlm": wavlm_local}[arch]
    wavs = utterances()
    with torch.no_grad():
        theirs = entry(ckpt=str(path)).eval()(wavs)["hidden_states"]
        ours = dpbench_upstream(ckpt=str(path))(wavs)["hidden_states"]
    return max_diff(ours, theirs)


def dpbench_file(arch: str, pre_ln: bool, folder: Path) -> float:
    config = tiny_config(arch, layer_norm_first=pre_ln)
    config.normalize_waveform = pre_ln
    model = perturb(Encoder(config))
    save_encoder(folder / f"{arch}_dpbench.pt", model)
    loaded = import_checkpoint(folder / f"{arch}_dpbench.pt")
    worst = 0.0
    for convention in HiddenStates:
        with torch.no_grad():
            worst = max(
                worst,
                max_diff(loaded(*padded(utterances()), convention)[0], model(*padded(utterances()), convention)[0]),
            )
    return worst


ROWS = [
    ("Hugging Face folder", "transformers + its feature extractor", "AUTHORS", huggingface),
    ("torchaudio state dict", "torchaudio + its pipelines' normalisation", "AUTHORS", torchaudio_state),
    ("fairseq / unilm .pt", "fairseq's model code (as s3prl vendors it)", "S3PRL", fairseq_file),
    ("s3prl converted .pt", "s3prl's own *_local upstream experts", "S3PRL", s3prl_file),
    ("dpbench .pt", "the model it was saved from", "both", dpbench_file),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="Also write the table as JSON here.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, reference, convention, measure in ROWS:
            diffs = {}
            for arch in ARCHES:
                diffs[arch] = 0.0
                for pre_ln in (False, True):
                    folder = Path(tmp) / f"{name.split()[0]}-{arch}-{pre_ln}"
                    folder.mkdir()
                    diffs[arch] = max(diffs[arch], measure(arch, pre_ln, folder))
            table.append({"format": name, "reference": reference, "convention": convention, **diffs})
    print("| format | compared with | hidden states | " + " | ".join(ARCHES) + " |")
    print("|---|---|---|" + "---|" * len(ARCHES))
    for row in table:
        print(
            f"| {row['format']} | {row['reference']} | {row['convention']} | "
            + " | ".join(f"{row[a]:.1e}" for a in ARCHES)
            + " |"
        )
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
