"""The scales every command runs at, by name: `cpu` (the embedded default: the built-in tiny teacher and
synthetic corpora, minutes on a laptop's cores) and `paper` (the published recipe and SUPERB protocol).
What each scale means for a command lives with it: `dpbench.compress.config.SCALE_DEFAULTS` for
compression, the config folders under `downstream_configs/<scale>/` for SUPERB."""

SCALES = ("cpu", "paper")
