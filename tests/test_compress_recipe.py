"""The released recipe's options (docs/METHOD.md section 6): pruned unit kinds, distillation layer groups
sharing one linear, predlayer heads, loss weights, student dropouts, and the conv gates' two
normalisation modes; each one recorded in the run's summary and checked on --resume."""

from __future__ import annotations

import copy
import json

import pytest
import torch
import transformers
from click.testing import CliRunner

from dpbench.compress import make_config, run_compress
from dpbench.compress.cli import compress_command
from dpbench.compress.distill import (
    DistillHeads,
    DistillLoss,
    LossWeights,
    head_index,
    layer_loss,
    layer_to_layer_pairs,
    parse_layer_groups,
    scale_groups,
)
from dpbench.compress.students import build_student, distill_pairs, gate_groups
from dpbench.errors import DpbenchError
from dpbench.models import build_encoder, prune_encoder, tiny_config
from dpbench.models.importers.fairseq import from_fairseq
from dpbench.models.importers.huggingface import from_huggingface

pytestmark = pytest.mark.usefixtures("one_thread")


# --- pruned units --------------------------------------------------------------------------------
def _gated_groups(model) -> set[str]:
    names = {name for name, _ in model.named_gates()}
    kinds = {
        "channel_gates": "conv",
        "head_gate": "heads",
        "attention.block_gate": "attention",
        "unit_gate": "ffn_units",
        "feed_forward.block_gate": "ffn",
    }
    return {kind for part, kind in kinds.items() for name in names if part in name}


def test_prune_units_choose_the_gated_groups():
    teacher = build_encoder(tiny_config()).eval()
    recipe = build_student("dphubert", teacher, 1.0, "params", prune_units=["conv", "head", "interm"])
    assert _gated_groups(recipe) == {"conv", "heads", "ffn_units"}
    heads_only = build_student("dphubert", teacher, 1.0, "params", prune_units=["head"])
    assert _gated_groups(heads_only) == {"heads"}
    every = build_student("dphubert", teacher, 1.0, "params", prune_units=["attlayer", "ffnlayer"])
    assert _gated_groups(every) == {"attention", "ffn"}
    with pytest.raises(DpbenchError, match="--prune-units"):
        gate_groups(["heads"])


# --- distillation layers, heads and loss -----------------------------------------------------------
def test_layer_groups_parse_and_scale():
    assert parse_layer_groups("0.4,8,12") == [[0], [4, 8, 12]]
    assert scale_groups([[0], [4, 8, 12]], 24) == [[0], [8, 16, 24]]
    assert scale_groups([[0], [4, 8, 12]], 5) == [[0], [2, 3, 5]]
    assert scale_groups([[0, 1], [1, 4]], 4) == [[0], [1]]  # 1 -> 0 joins group 0; 4 -> 1 stays in group 2
    for bad in ("0..4", "a", "0,-1"):
        with pytest.raises(ValueError):
            parse_layer_groups(bad)


def test_recipe_groups_share_one_linear_and_its_gradient_is_the_sum():
    """One step: the shared linear's gradient equals the sum of the per-layer linears' gradients."""
    torch.manual_seed(0)
    student = [torch.randn(2, 6, 8) for _ in range(5)]
    teacher = [torch.randn(2, 6, 8) for _ in range(5)]
    lengths = torch.tensor([6, 4])
    shared = DistillHeads(layer_to_layer_pairs([[0], [1, 2, 4]]), 8, 8)
    separate = DistillHeads(layer_to_layer_pairs([[0], [1], [2], [4]]), 8, 8)
    assert len(shared.heads) == 2 and len(separate.heads) == 4
    for heads in (shared, separate):
        with torch.no_grad():
            for head in heads.heads:
                head.weight.add_(0.1 * torch.ones_like(head.weight))
        DistillLoss(heads, LossWeights())(student, teacher, lengths)[0].backward()
    summed = sum(separate.heads[i].weight.grad for i in (1, 2, 3))
    assert torch.allclose(shared.heads[1].weight.grad, summed, atol=1e-6)
    assert torch.allclose(shared.heads[0].weight.grad, separate.heads[0].weight.grad, atol=1e-6)


def test_distill_pairs_per_method_and_mode():
    groups = [[0], [4, 8, 12]]
    recipe = distill_pairs("dphubert", groups, 12, 12)
    assert [(p.student, p.teacher, p.head) for p in recipe] == [(0, 0, 0), (4, 4, 1), (8, 8, 1), (12, 12, 1)]
    pred = distill_pairs("dphubert", groups, 12, 12, "predlayer")
    assert [(p.student, p.teacher) for p in pred] == [(12, 4), (12, 8), (12, 12)]
    assert len({p.head for p in pred}) == 3
    fit = distill_pairs("fithubert-thin", groups, 12, 12)  # baselines keep one linear per layer
    assert len({p.head for p in fit}) == 4
    hints = distill_pairs("fithubert", groups, 12, 12)  # FitHuBERT: a hint on every layer, its own head each
    assert [(p.student, p.teacher, p.weight) for p in hints] == [(i, i, 0.1) for i in range(1, 12)] + [(12, 12, 1.0)]
    assert len(set(head_index(hints))) == 12
    heads = DistillHeads(pred, 8, 8, activation=True)
    out = heads([torch.full((1, 2, 8), -3.0)] * 13)
    assert all(isinstance(h, torch.nn.Sequential) for h in heads.heads)
    assert all(o.min() > -0.2 for o in out)  # GELU of an identity map of -3 is close to 0, not -3


def test_loss_weights():
    torch.manual_seed(0)
    pred, target = torch.randn(2, 5, 8), torch.randn(2, 5, 8)
    mask = torch.ones(2, 5)
    base, parts = layer_loss(pred, target, mask, LossWeights())
    assert base.item() == pytest.approx((parts["l1"] - parts["cos"]).item(), rel=1e-6)
    with_l2, _ = layer_loss(pred, target, mask, LossWeights(l2=0.5))
    assert (with_l2 - base).item() == pytest.approx(0.5 * (pred - target).pow(2).mean().item(), rel=1e-5)
    only_cos, _ = layer_loss(pred, target, mask, LossWeights(l1=0.0, cos=2.0))
    assert only_cos.item() == pytest.approx(-2 * parts["cos"].item(), rel=1e-6)
    with pytest.raises(ValueError):
        LossWeights(cos_type="logsig")


# --- dropouts ------------------------------------------------------------------------------------
def _states(model, wavs, seed):
    torch.manual_seed(seed)
    return model(wavs)[0]


@pytest.mark.parametrize(
    "field,first_changed",
    [("projection_dropout", 0), ("attention_dropout", 1), ("ffn_interm_dropout", 1), ("dropout", 1)],
)
def test_each_dropout_acts_in_train_mode_only_from_its_place(field, first_changed):
    torch.manual_seed(0)
    model = build_encoder(tiny_config())
    setattr(model.config, field, 0.5)
    dropped = build_encoder(model.config)
    dropped.load_state_dict(model.state_dict())
    wavs = torch.randn(2, 4000)
    clean = _states(model.train(), wavs, 1)
    noisy = _states(dropped.train(), wavs, 1)
    changed = [i for i, (a, b) in enumerate(zip(clean, noisy)) if not torch.allclose(a, b, atol=1e-6)]
    assert changed and changed[0] == first_changed and changed[-1] == len(clean) - 1
    assert all(torch.equal(a, b) for a, b in zip(_states(model.eval(), wavs, 1), _states(dropped.eval(), wavs, 2)))


def test_student_takes_the_teachers_dropouts_unless_overridden():
    config = tiny_config()
    config.projection_dropout, config.attention_dropout, config.ffn_interm_dropout, config.dropout = 0.1, 0.1, 0.0, 0.1
    teacher = build_encoder(config).eval()
    student = build_student("dphubert", teacher, 1.0, "params", prune_units=["head"])
    assert (student.config.attention_dropout, student.config.dropout) == (0.1, 0.1)
    assert student.layers[0].attention.dropout == 0.1 and student.feature_projection.dropout.p == 0.1
    off = build_student("fithubert", teacher, 0.5 * 1e5, "params", dropouts={"dropout": 0.0, "attention_dropout": 0.3})
    assert (off.config.dropout, off.config.attention_dropout, off.config.projection_dropout) == (0.0, 0.3, 0.1)
    assert prune_encoder(student).config.dropout == 0.1  # stage 2 trains with them too


def test_huggingface_import_reads_the_dropouts():
    hf_config = transformers.HubertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16),
        conv_kernel=(10, 3),
        conv_stride=(5, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        feat_proj_dropout=0.05,
        attention_dropout=0.15,
        activation_dropout=0.25,
        hidden_dropout=0.35,
    )
    model = from_huggingface(transformers.HubertModel(hf_config).eval())
    c = model.config
    assert (c.projection_dropout, c.attention_dropout, c.ffn_interm_dropout, c.dropout) == (0.05, 0.15, 0.25, 0.35)


def test_fairseq_import_reads_the_dropouts():
    from test_models_importers import fairseq_checkpoint, torchaudio_tiny  # tests/ is on sys.path under pytest

    ckpt = fairseq_checkpoint(torchaudio_tiny("wav2vec2", False), False, "wav2vec2")
    c = from_fairseq(ckpt).config  # keys absent: fairseq's defaults
    assert (c.projection_dropout, c.attention_dropout, c.ffn_interm_dropout, c.dropout) == (0.0, 0.1, 0.0, 0.1)
    ckpt["cfg"]["model"].update(dropout_input=0.05, attention_dropout=0.15, activation_dropout=0.25, dropout=0.35)
    c = from_fairseq(ckpt).config
    assert (c.projection_dropout, c.attention_dropout, c.ffn_interm_dropout, c.dropout) == (0.05, 0.15, 0.25, 0.35)


# --- conv gate normalisation -----------------------------------------------------------------------
def _gated(layer_norm_first: bool, norm: str, zero_last: bool, zero_middle: bool = False):
    torch.manual_seed(0)
    model = build_encoder(tiny_config(layer_norm_first=layer_norm_first))
    model.set_gates(conv=True, heads=False, attention=False, ffn_units=False, ffn=False, conv_gate_norm=norm)
    model.eval()
    with torch.no_grad():
        for gate in model.feature_extractor.channel_gates:
            gate.log_alpha.copy_(torch.linspace(3.0, 6.0, gate.n))  # soft values below 1, none pruned
        if zero_last:
            model.feature_extractor.channel_gates[-1].log_alpha[:4] = -10.0
        if zero_middle:
            model.feature_extractor.channel_gates[3].log_alpha[:4] = -10.0
    return model


def test_authors_mode_gates_before_a_full_layer_norm_and_keeps_the_last_gate_as_a_scale():
    wavs = torch.randn(2, 4000)
    model = _gated(False, "authors", zero_last=False)
    mask = model.feature_extractor.channel_gates[-1]().detach()
    pruned = prune_encoder(model)
    assert pruned.config.conv_output_scale and torch.allclose(pruned.feature_extractor.output_scale, mask)
    with torch.no_grad():  # nothing pruned in the last layer: the pruned model computes the gated one
        for a, b in zip(model(wavs)[0], pruned(wavs)[0]):
            assert torch.allclose(a, b, atol=1e-4)
        features, passed_mask = model.feature_extractor(wavs)
        assert passed_mask is None  # the gate was applied before the LayerNorm
        ungated = copy.deepcopy(model)
        ungated.feature_extractor.channel_gates[-1].log_alpha.fill_(100.0)  # last mask = ones
        assert torch.allclose(features, ungated.feature_extractor(wavs)[0] * mask, atol=1e-6)
    masked_pruned = prune_encoder(_gated(False, "masked", zero_last=False))
    assert not masked_pruned.config.conv_output_scale


@pytest.mark.parametrize("layer_norm_first,zero_middle", [(False, False), (True, True)])
def test_pruning_is_exact_in_masked_mode_only(layer_norm_first, zero_middle):
    wavs = torch.randn(2, 4000)
    diffs = {}
    for norm in ("masked", "authors"):
        model = _gated(layer_norm_first, norm, zero_last=not zero_middle, zero_middle=zero_middle)
        with torch.no_grad():
            gated, pruned = model(wavs)[0][-1], prune_encoder(model)(wavs)[0][-1]
        diffs[norm] = (gated - pruned).abs().max().item()
    assert diffs["masked"] < 1e-4
    assert diffs["authors"] > 1e-3  # the zeros leave the LayerNorm's statistics when pruned


# --- the options end to end: recorded, acted on, checked on resume ------------------------------------
@pytest.fixture(scope="module")
def assets(compress_assets: dict) -> dict:
    return compress_assets


def _config(assets, **overrides):
    options = dict(
        teacher=str(assets["teacher"]),
        stage1_steps=30,
        stage2_steps=2,
        max_batch_seconds=3.0,
        max_item_seconds=1.5,
        checkpoint_every=50,
        target_sparsity=0.2,
    )
    options.update(overrides)
    return make_config("cpu", "dphubert", str(assets["wavs"]), options)


def test_heads_only_run_never_removes_a_conv_channel_or_ffn_unit(assets, tmp_path):
    config = _config(
        assets,
        prune_units=["head"],
        conv_gate_norm="authors",
        distill_layers="0,3.12",
        attention_dropout=0.2,
        l2_weight=0.5,
    )
    summary = run_compress(config, tmp_path / "run")
    teacher = tiny_config()
    kept = summary.kept_units
    assert kept["conv_channels"] == teacher.conv_channels and kept["ffn_dims"] == teacher.ffn_dims
    assert sum(kept["num_heads"]) < sum(teacher.num_heads)
    assert not summary.config["conv_output_scale"]  # no conv gate, so no scale even in authors mode
    options = summary.options
    assert (options["prune_units"], options["conv_gate_norm"], options["distill_layers"]) == (
        ["head"],
        "authors",
        "0,3.12",
    )
    assert (options["l2_weight"], options["attention_dropout"]) == (0.5, 0.2)
    assert summary.student_dropouts["attention_dropout"] == 0.2
    assert summary.distill_pairs == [[0, 0], [1, 1], [4, 4]]
    assert summary.distill_heads == [0, 0, 1]
    saved = json.loads((tmp_path / "run" / "compress_config.json").read_text())
    assert saved["prune_units"] == ["head"]
    for option, value in (
        ("conv_gate_norm", "masked"),
        ("prune_units", ["conv", "head", "interm"]),
        ("distill_layers", "0.4,8,12"),
        ("distill_mode", "predlayer"),
        ("cos_type", "log_sig"),
        ("attention_dropout", None),
    ):
        with pytest.raises(DpbenchError, match=f"{option}: "):
            run_compress(_config(assets, **{**config.to_dict(), option: value}), tmp_path / "run", resume=True)


def test_recipe_defaults_and_cli_parsing(assets, tmp_path):
    config = _config(assets)
    assert (config.prune_units, config.distill_layers, config.distill_mode) == (
        ["conv", "head", "interm"],
        "0.4,8,12",
        "layer2layer",
    )
    assert (config.l1_weight, config.cos_weight, config.l2_weight, config.cos_type) == (1.0, 1.0, 0.0, "raw")
    assert config.conv_gate_norm == "authors"
    assert make_config("cpu", "distilhubert", "d", {"teacher": "t"}).cos_type == "log_sig"
    with pytest.raises(DpbenchError, match="--distill-mode"):
        make_config("cpu", "fithubert", "d", {"teacher": "t", "distill_mode": "predlayer"})
    runner = CliRunner()
    base = [
        "--data",
        str(assets["wavs"]),
        "--teacher",
        str(assets["teacher"]),
        "--stage1-steps",
        "2",
        "--stage2-steps",
        "0",
        "--max-batch-seconds",
        "2",
        "--max-item-seconds",
        "1",
        "--target-sparsity",
        "0.2",
        "--accelerator",
        "cpu",
    ]
    result = runner.invoke(
        compress_command,
        base
        + [
            "--out",
            str(tmp_path / "a"),
            "--prune-units",
            "interm, conv",
            "--distill-layers",
            "0 . 4,12",
            "--distill-mode",
            "predlayer",
        ],
    )
    assert result.exit_code == 0, result.output
    options = json.loads((tmp_path / "a" / "summary.json").read_text())["options"]
    assert (options["prune_units"], options["distill_layers"], options["distill_mode"]) == (
        ["conv", "interm"],
        "0.4,12",
        "predlayer",
    )
    for bad in (
        ["--prune-units", "heads"],
        ["--distill-layers", "0..4"],
        ["--l1-weight", "-1"],
        ["--residual-dropout", "1.5"],
    ):
        result = runner.invoke(compress_command, base + ["--out", str(tmp_path / "b")] + bad)
        assert result.exit_code != 0 and bad[0] in result.output


def test_fithubert_hints_are_upsampled_to_the_teachers_frames():
    """A time-reduced student's heads expand each frame into 2 (ConvTranspose1d, checked by an einsum), map
    it to the teacher's width, and meet the teacher's first 2T frames; MSE on valid frames, 0.1 on hints,
    1 on the last layer, summed."""
    torch.manual_seed(0)
    pairs = distill_pairs("fithubert", [], 3, 3)
    heads = DistillHeads(pairs, 6, 8, upsample=2)
    loss_fn = DistillLoss(heads, LossWeights(0.0, 0.0, 1.0, sum_layers=True))
    student = [torch.randn(2, 5, 6) for _ in range(4)]
    teacher = [torch.randn(2, 11, 8) for _ in range(4)]  # an odd conv frame count: the last frame has no pair
    lengths = torch.tensor([5, 3])
    loss, _ = loss_fn(student, teacher, lengths)
    expected = torch.zeros(())
    for pair, head in zip(pairs, heads.heads):
        up, linear = head[0].conv, head[1]
        frames = torch.einsum("btc,cok->btko", student[pair.student], up.weight).reshape(2, 10, 6) + up.bias
        diff = (linear(frames) - teacher[pair.teacher][:, :10]).pow(2).mean(-1)
        valid = torch.arange(10)[None, :] < 2 * lengths[:, None]
        expected = expected + pair.weight * diff[valid].mean()
    assert [p.weight for p in pairs] == [0.1, 0.1, 1.0]
    torch.testing.assert_close(loss, expected)
