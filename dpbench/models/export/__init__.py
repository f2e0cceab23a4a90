"""Students out: a Hugging Face `save_pretrained` folder, a file of the DPHuBERT authors' format, or ONNX."""

from dpbench.models.export.huggingface import SizeCost, export_huggingface, to_huggingface
from dpbench.models.export.onnx import export_onnx
from dpbench.models.export.released import export_released, to_released

__all__ = ["SizeCost", "export_huggingface", "export_onnx", "export_released", "to_huggingface", "to_released"]
