"""The `dpbench` command line. Each sub-command lives in the module of the part it drives and is
imported only when invoked, so `dpbench --help` stays fast."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import click
from click.utils import make_default_short_help

# command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "inspect": "dpbench.models.cli:inspect_command",
    "export": "dpbench.models.export.cli:export_command",
    "data": "dpbench.data.cli:data_group",
    "pretrain": "dpbench.teachers.cli:pretrain_command",
    "teachers": "dpbench.teachers.cli:teachers_command",
    "compress": "dpbench.compress.cli:compress_command",
    "superb": "dpbench.superb.cli:superb_command",
    "efficiency": "dpbench.efficiency.cli:efficiency_command",
    "report": "dpbench.report.cli:report_command",
    "demo": "dpbench.demo:demo_command",
    "run": "dpbench.plan.cli:run_command",
    "status": "dpbench.plan.cli:status_command",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `dpbench --help`, from each command's docstring read without importing its
        module (importing them all would load torch, Lightning and s3prl just to print the list)."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, make_default_short_help(command_docstring(COMMANDS[name]), limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def command_docstring(target: str) -> str:
    """The docstring of the function behind `module:attribute`, read from the module's source file."""
    module_name, attribute = target.split(":")
    source = Path(__file__).parent.joinpath(*module_name.split(".")[1:]).with_suffix(".py")
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name == attribute:
            return ast.get_docstring(node) or ""
    raise LookupError(f"{target}: no function {attribute} in {source}")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dpbench")
def main() -> None:
    """Compress speech SSL encoders (DPHuBERT) and benchmark them on SUPERB."""


if __name__ == "__main__":
    main()
