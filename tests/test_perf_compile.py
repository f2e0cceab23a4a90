"""The gated student's training forward + distillation loss has no data-dependent Python branch or host
sync: `torch.compile(fullgraph=True)` captures it whole (forward and backward), with the eager values."""

from __future__ import annotations

import pytest
import torch

from dpbench.compress.distill import DistillHeads, DistillLoss, LossWeights, layer_to_layer_pairs
from dpbench.compress.module import student_loss
from dpbench.models import build_encoder, tiny_config


@pytest.mark.slow  # ~40 s alone, 2 min on a loaded machine (dynamo + AOT autograd tracing)
def test_gated_training_forward_and_loss_compile_as_one_graph() -> None:
    torch.manual_seed(0)
    config = tiny_config("wavlm", layer_norm_first=True)  # conv LayerNorms (masked) and the position bias
    config.attention_dropout = config.ffn_interm_dropout = config.dropout = 0.1
    teacher = build_encoder(config).eval()
    student = build_encoder(config)
    student.set_gates()  # every gate kind, block gates included
    student.train()
    distill = DistillLoss(DistillHeads(layer_to_layer_pairs([[0, 2], [4]]), 64, 64), LossWeights())
    wavs, lengths = torch.randn(2, 12000), torch.tensor([12000, 9000])
    with torch.no_grad():
        teacher_states, _ = teacher(wavs, lengths)
    compiled = torch.compile(student_loss, fullgraph=True, backend="aot_eager")  # raises on any graph break
    results = []
    for run in (student_loss, compiled):
        torch.manual_seed(1)  # same gate samples and dropout masks (aot_eager draws from torch's generator)
        student.zero_grad()
        loss, terms = run(student, distill, wavs, lengths, teacher_states)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in student.named_parameters() if p.grad is not None}
        results.append((loss.detach(), grads))
    (eager_loss, eager_grads), (compiled_loss, compiled_grads) = results
    torch.testing.assert_close(compiled_loss, eager_loss)
    assert eager_grads.keys() == compiled_grads.keys() and any("log_alpha" in n for n in eager_grads)
    for name, grad in eager_grads.items():
        torch.testing.assert_close(compiled_grads[name], grad, rtol=1e-4, atol=1e-5)
