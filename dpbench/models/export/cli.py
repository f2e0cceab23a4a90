"""`dpbench export STUDENT --format hf|released|onnx --out DIR`."""

from __future__ import annotations

from pathlib import Path

import click

from dpbench.models.complexity import count_params

# the file name tells the importer HuBERT from wav2vec 2.0 (the format cannot)
RELEASED_NAMES = {
    "hubert": "DPHuBERT-student.pth",
    "wav2vec2": "DPwav2vec2-student.pth",
    "wavlm": "DPWavLM-student.pth",
}


@click.command("export")
@click.argument("student", type=click.Path(path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["hf", "released", "onnx"]),
    required=True,
    help="hf: a transformers save_pretrained folder; released: the DPHuBERT authors' .pth format; "
    "onnx: model.onnx (inputs wavs, lengths; SUPERB-feature hidden states; checked with onnxruntime).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder to write (hf: the model folder itself; released: holds the .pth, named by the arch; "
    "onnx: holds model.onnx).",
)
def export_command(student: str, fmt: str, out: Path) -> None:
    """Write STUDENT (any checkpoint `dpbench inspect` reads) for use outside dpbench, with the same outputs."""
    from dpbench.models.export import export_huggingface, export_onnx, export_released
    from dpbench.models.export.huggingface import MODEL_CLASSES
    from dpbench.teachers import load_model

    model = load_model(student)
    if fmt == "hf":
        cost = export_huggingface(model, out)
        click.echo(f"wrote {out} (transformers {MODEL_CLASSES[model.config.arch]}, AutoModel.from_pretrained reads it)")
        click.echo(cost.describe("size cost of uniform layers (zero-padded heads and FFN units)"))
        return
    if fmt == "onnx":
        path, error = export_onnx(model, out)
        click.echo(
            f"wrote {path} (dynamic batch and length; onnxruntime vs PyTorch: max |diff| {error:.1e} over "
            "every hidden state)"
        )
        return
    path = out / RELEASED_NAMES[model.config.arch]
    written = export_released(model, path)
    click.echo(f"wrote {path}: {written:,} tensor elements for the student's {count_params(model.config):,} parameters")
