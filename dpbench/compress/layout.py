"""File names of a compression run folder that code outside the trainer reads (no heavy imports)."""

CONFIG_FILE = "compress_config.json"  # written when a run starts: a folder with it is resumed, not restarted
