"""The `dpbench` entry point: `--help` lists every command with its own help, without importing any of them."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from dpbench.cli import COMMANDS, LazyGroup, main


def test_help_lists_every_command_as_click_would() -> None:
    result = CliRunner().invoke(main, ["--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:")[1]
    group = LazyGroup()
    names = sorted(COMMANDS)
    limit = 120 - 6 - max(len(name) for name in names)
    for name in names:  # the same short help as the imported command's own
        assert f"{name}  " in listed
        command = group.get_command(None, name)
        assert command.get_short_help_str(limit) in listed, name


def test_help_imports_no_command_module() -> None:
    script = (
        "import sys; from dpbench.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'lightning', 's3prl', 'dpbench.compress.runner') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out
