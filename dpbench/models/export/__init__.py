"""Students out: a Hugging Face `save_pretrained` folder or a file of the DPHuBERT authors' format."""

from dpbench.models.export.huggingface import SizeCost, export_huggingface, to_huggingface
from dpbench.models.export.released import export_released, to_released

__all__ = ["SizeCost", "export_huggingface", "export_released", "to_huggingface", "to_released"]
