"""Teachers: resolving names and paths to encoders (`load_model`, `resolve`), and HuBERT-style
pretraining of the built-in `tiny-hubert` teacher (`dpbench pretrain`)."""

from dpbench.teachers.registry import BUILTIN, TEACHERS, known_names
from dpbench.teachers.resolve import Location, load_model, locations, resolve

DEFAULT_TEACHER = BUILTIN

__all__ = ["BUILTIN", "DEFAULT_TEACHER", "TEACHERS", "Location", "known_names", "load_model", "locations", "resolve"]
