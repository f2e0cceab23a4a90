"""s3prl's model classes of published compressed upstreams (DistilHuBERT, LightHuBERT), which the
efficiency probe builds with random weights (`dpbench.efficiency.published`)."""

from s3prl.upstream.distiller.model import DistillerConfig, DistillerModel
from s3prl.upstream.lighthubert.lighthubert import LightHuBERT, LightHuBERTConfig

__all__ = ["DistillerConfig", "DistillerModel", "LightHuBERT", "LightHuBERTConfig"]
