"""Every baseline student at HuBERT Base size against its paper's published parameter count (DPHuBERT's
Table 1, which takes them from the baselines' papers), built on the meta device (no memory, no init).

FitHuBERT's published 22.49M is the model its authors load into s3prl (their `fithubert` upstream): the
student (21,200,096 here, exactly their backbone) plus the last layer's distillation head, which their
upstream keeps as `final_proj` (a transposed conv 480 -> 480, kernel 2, and a linear 480 -> 768) and an
unused model-level transposed conv of the same shape (`upsampler`): 22,492,064. dpbench keeps the heads
apart from the student, as for every method, so its FitHuBERT student has 21,200,096 parameters."""

from __future__ import annotations

import pytest
import torch

from dpbench.compress.distill import DistillHeads, FrameUpsampler
from dpbench.compress.sparsity import config_size
from dpbench.compress.students import build_student, distill_pairs
from dpbench.models import EncoderConfig, build_encoder, count_params, hubert_base_config

PUBLISHED_MILLIONS = {"distilhubert": 23.49, "fithubert": 22.49, "half": 26.87}
TARGET = 0.75  # the paper's students are a quarter of the teacher's size


def meta_student(method: str) -> torch.nn.Module:
    with torch.device("meta"):
        teacher = build_encoder(hubert_base_config())
        budget = (1.0 - TARGET) * config_size(teacher.config, "params")
        return build_student(method, teacher, budget, "params")


def numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def fithubert_upstream_extras(config: EncoderConfig) -> int:
    """Parameters FitHuBERT's s3prl upstream holds beyond the student: the last layer's head and a spare upsampler."""
    depth = config.num_layers
    with torch.device("meta"):
        heads = DistillHeads(
            distill_pairs("fithubert", [], depth, depth), config.hidden_size, 768, upsample=config.time_reduction
        )
        spare = FrameUpsampler(config.hidden_size, config.time_reduction)
    return numel(heads.heads[-1]) + numel(spare)


@pytest.mark.parametrize("method", sorted(PUBLISHED_MILLIONS))
def test_baseline_sizes_match_the_published_ones(method: str):
    student = meta_student(method)
    params = count_params(student.config)
    assert params == numel(student)
    if method == "fithubert":
        assert params == 21_200_096
        extras = fithubert_upstream_extras(student.config)
        assert extras == (480 * 480 * 2 + 480) * 2 + 480 * 768 + 768
        params += extras
        assert params == 22_492_064
    assert round(params / 1e6, 2) == PUBLISHED_MILLIONS[method]


def test_exact_counts_of_the_other_baselines():
    assert count_params(meta_student("distilhubert").config) == 23_492_224
    assert count_params(meta_student("half").config) == 26_872_960
    assert count_params(meta_student("fithubert-thin").config) == 22_938_880  # dpbench's earlier FitHuBERT-style
