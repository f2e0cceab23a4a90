"""Unit tests of the compression engine's parts: layer mapping, losses, Lagrangian, schedules,
student shapes, calibration + physical pruning, and the resumable batch stream."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F
from gated_models import random_gated

from dpbench.compress.data import StreamBatches, train_loader
from dpbench.compress.distill import (
    DistillHeads,
    DistillLoss,
    LossWeights,
    Pair,
    layer_loss,
    prediction_head_pairs,
    scale_layers,
)
from dpbench.compress.module import StageSpec, make_optimizer
from dpbench.compress.prune import calibrate, pruned_size
from dpbench.compress.sparsity import Lagrangian, check_target, config_size, expected_size, target_at, warmup_decay
from dpbench.compress.students import (
    build_student,
    check_compatible,
    distilhubert_config,
    distill_pairs,
    fithubert_thin_config,
    half_config,
)
from dpbench.errors import DpbenchError
from dpbench.models import build_encoder, count_params, hubert_base_config, prune_encoder, tiny_config

pytestmark = pytest.mark.usefixtures("one_thread")


def test_scale_layers_to_teacher_depth():
    assert scale_layers([0, 4, 8, 12], 12) == [0, 4, 8, 12]
    assert scale_layers([0, 4, 8, 12], 24) == [0, 8, 16, 24]
    assert scale_layers([0, 4, 8, 12], 4) == [0, 1, 3, 4]
    assert scale_layers([0, 4, 8, 12], 5) == [0, 2, 3, 5]
    assert scale_layers([0, 4, 8, 12], 2) == [0, 1, 2]


def test_identity_heads_give_zero_l1_and_unit_cosine():
    states = [torch.randn(2, 7, 16) for _ in range(5)]
    lengths = torch.tensor([7, 5])
    heads = DistillHeads([Pair(i, i) for i in (0, 2, 4)], 16, 16)
    loss, terms = DistillLoss(heads, LossWeights())(states, states, lengths)
    assert loss.item() == pytest.approx(-1.0, abs=1e-5)
    assert terms["l1_2"].item() == pytest.approx(0.0, abs=1e-6)
    loss_ls, _ = DistillLoss(heads, LossWeights(cos_type="log_sig"))(states, states, lengths)
    assert loss_ls.item() == pytest.approx(-math.log(1 / (1 + math.exp(-1.0))), abs=1e-5)


def test_layer_loss_ignores_padded_frames_and_matches_formula():
    pred, target = torch.randn(2, 6, 8), torch.randn(2, 6, 8)
    mask = torch.tensor([[1.0] * 6, [1.0] * 4 + [0.0] * 2])
    loss, parts = layer_loss(pred, target, mask, LossWeights())
    l1, cos = parts["l1"], parts["cos"]
    valid = torch.cat([torch.arange(6), 6 + torch.arange(4)])
    p, t = pred.reshape(12, 8)[valid], target.reshape(12, 8)[valid]
    assert l1.item() == pytest.approx((p - t).abs().mean().item(), rel=1e-5)
    assert cos.item() == pytest.approx(F.cosine_similarity(p, t, dim=-1).mean().item(), rel=1e-5)
    pred2 = pred.clone()
    pred2[1, 4:] = 100.0
    assert layer_loss(pred2, target, mask, LossWeights())[0].item() == pytest.approx(loss.item(), rel=1e-6)


def test_prediction_heads_read_the_last_student_layer():
    pairs = distill_pairs("distilhubert", [[0], [4, 8, 12]], 12, 2)
    assert pairs == prediction_head_pairs([4, 8, 12], 2)
    assert all(p.student == 2 for p in pairs)
    assert [p.teacher for p in distill_pairs("dphubert", [[0], [4, 8, 12]], 4, 4)] == [0, 1, 3, 4]


def test_schedules():
    assert target_at(0, 0.75, 10) == 0.0
    assert target_at(5, 0.75, 10) == pytest.approx(0.375)
    assert target_at(50, 0.75, 10) == 0.75
    assert warmup_decay(0, 10, 100) == pytest.approx(0.1)
    assert warmup_decay(9, 10, 100) == pytest.approx(1.0)
    assert warmup_decay(55, 10, 100) == pytest.approx(0.5)
    assert warmup_decay(100, 10, 100) == 0.0


def test_lambdas_move_by_gradient_ascent():
    lagrangian = Lagrangian()
    spec = StageSpec("prune", 10, lr=1e-3, warmup_steps=0, gate_lr=0.1, lambda_lr=0.1)
    optimizer = make_optimizer([torch.nn.Parameter(torch.zeros(1))], [], lagrangian, spec)
    for _ in range(3):
        optimizer.zero_grad()
        lagrangian(torch.tensor(0.2), 0.5).backward()  # sparsity below target
        optimizer.step()
    assert lagrangian.lambda1.item() < -0.2  # ascent on lambda1 * (s - t) with s < t: lambda1 goes down
    assert lagrangian.lambda2.item() > 0.2


@pytest.mark.parametrize("kind", ["params", "macs"])
def test_lagrangian_drives_expected_sparsity_to_target(kind):
    torch.manual_seed(0)
    model = build_encoder(tiny_config())
    model.set_gates()
    teacher_size = config_size(model.config, kind)
    lagrangian = Lagrangian()
    steps, target = 400, 0.6
    spec = StageSpec("prune", steps, lr=2e-4, warmup_steps=0, gate_lr=0.1, lambda_lr=0.1, target=target)
    optimizer = make_optimizer([], list(model.gate_parameters()), lagrangian, spec)
    for step in range(steps):
        optimizer.zero_grad()
        sparsity = 1 - expected_size(model, kind) / teacher_size
        lagrangian(sparsity, target_at(step, target, steps // 10)).backward()
        optimizer.step()
    final = 1 - expected_size(model, kind).item() / teacher_size
    assert abs(final - target) < 0.01


def test_impossible_or_invalid_targets_raise():
    config = tiny_config()
    check_target(0.5, config, "params")
    for bad in (0.0, 1.0, 1.5, 0.999):
        with pytest.raises(DpbenchError, match="--target-sparsity"):
            check_target(bad, config, "params")


def test_baseline_shapes_follow_the_budget():
    base = hubert_base_config()
    budget = 0.25 * count_params(base)
    distil = distilhubert_config(base, budget, "params")
    assert distil.num_layers == 2  # DistilHuBERT's 2 layers, 23.5M
    fit = fithubert_thin_config(base, budget, "params")
    assert fit.num_layers == 12 and fit.ffn_dims[0] == fit.hidden_size
    assert abs(count_params(fit) - budget) < 0.03 * budget
    half = half_config(base)
    assert (half.hidden_size, half.num_heads[0], half.ffn_dims[0]) == (384, 6, 1536)
    assert 26e6 < count_params(half) < 28e6  # the paper's 26.87M


def test_students_start_from_the_teacher():
    torch.manual_seed(0)
    teacher = build_encoder(tiny_config()).eval()
    budget = 0.5 * count_params(teacher.config)
    student = build_student("dphubert", teacher, budget, "params")
    assert student.has_gates
    assert torch.equal(
        student.layers[2].feed_forward.output_dense.weight, teacher.layers[2].feed_forward.output_dense.weight
    )
    distil = build_student("distilhubert", teacher, budget, "params")
    assert distil.config.num_layers < teacher.config.num_layers
    assert torch.equal(distil.layers[0].attention.q_proj.weight, teacher.layers[0].attention.q_proj.weight)
    half = build_student("half", teacher, budget, "params")
    conv_s, conv_t = half.feature_extractor.layers[3].conv.weight, teacher.feature_extractor.layers[3].conv.weight
    assert torch.equal(conv_s, conv_t)


def test_students_read_the_waveform_as_the_teacher_does():
    config = tiny_config("wavlm", layer_norm_first=True)
    config.normalize_waveform = True
    teacher = build_encoder(config).eval()
    budget = 0.5 * count_params(config)
    for method in ("dphubert", "distilhubert", "fithubert", "half"):
        assert build_student(method, teacher, budget, "params").config.normalize_waveform, method
    raw = tiny_config("wavlm", layer_norm_first=True)
    with pytest.raises(DpbenchError, match="student.pt: normalize_waveform=False, but the teacher's is True"):
        check_compatible(config, raw, "student.pt", "dphubert")


def test_mismatched_student_is_rejected():
    teacher = tiny_config()
    other = tiny_config()
    other.conv_strides = [5, 2, 2, 2, 2, 2, 1]
    with pytest.raises(DpbenchError, match="student.pt.*strides"):
        check_compatible(teacher, other, "student.pt", "dphubert")
    shallow = half_config(teacher)
    with pytest.raises(DpbenchError, match="layers of width"):
        check_compatible(teacher, shallow, "student.pt", "dphubert")


def test_calibration_hits_the_target_and_pruned_equals_masked():
    model = random_gated(0)
    target = 0.4 * count_params(model.config)
    before = pruned_size(model, "params")
    record = calibrate(model, target, "params", tol=0.005)
    assert record.applied and abs(before - target) > 0.005 * target
    pruned = prune_encoder(model)
    assert abs(count_params(pruned.config) - target) <= 0.01 * target
    assert record.size_after == count_params(pruned.config)
    wavs = torch.randn(2, 8000)
    with torch.no_grad():
        masked_states, _ = model(wavs)
        pruned_states, _ = pruned.eval()(wavs)
    for a, b in zip(masked_states, pruned_states):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_calibration_leaves_a_model_on_target_alone():
    model = random_gated(1)
    size = pruned_size(model, "params")
    alphas = [p.clone() for p in model.gate_parameters()]
    record = calibrate(model, size, "params", tol=0.005)
    assert not record.applied
    assert all(torch.equal(a, b) for a, b in zip(alphas, model.gate_parameters()))


@pytest.fixture
def wav_manifest(tmp_path):
    from dpbench.data.manifest import write_manifest

    rng = np.random.default_rng(0)
    for i in range(9):
        sf.write(tmp_path / f"{i}.wav", (rng.standard_normal(8000 + 1000 * i) * 0.1).astype("float32"), 16000)
    write_manifest(tmp_path, tmp_path / "m", valid_fraction=0)
    return tmp_path / "m" / "train.tsv"


def test_batch_stream_resumes_at_any_batch(wav_manifest):
    lengths = [8000 + 1000 * i for i in range(9)]
    full = StreamBatches(lengths, 1.5, seed=3, start=0, rank=0, replicas=1)
    tail = StreamBatches(lengths, 1.5, seed=3, start=7, rank=0, replicas=1)
    first = [b for _, b in zip(range(20), full)]
    assert [b for _, b in zip(range(13), tail)] == first[7:]
    assert len({i for b in first for _, i in b}) == 9  # the stream crosses epochs, covering every item

    def batches(start):
        loader = train_loader(wav_manifest, 1.5, 0.6, seed=3, start=start)
        return [b for _, b in zip(range(6), loader)]

    full_batches, resumed = batches(0), batches(4)
    for (wa, la, _), (wb, lb, _) in zip(full_batches[4:], resumed):
        assert torch.equal(wa, wb) and torch.equal(la, lb)  # same items, same random crops
    assert all(w.shape[1] <= 0.6 * 16000 for w, *_ in full_batches)
