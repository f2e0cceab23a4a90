"""The scales every command runs at, by name: `cpu` (the embedded default: the built-in tiny teacher and
synthetic corpora, minutes on a laptop's cores) and `paper` (the published recipe and SUPERB protocol).
What a scale means for a command lives with that command: `dpbench.compress.config.SCALE_DEFAULTS` for
compression, the `<task>_<scale>.yaml` downstream configs (`dpbench.superb.configs`) for SUPERB."""

SCALES = ("cpu", "paper")
