"""Errors dpbench raises for bad user input; the CLI prints them without a traceback."""

from __future__ import annotations

import click


class DpbenchError(click.ClickException):
    """A user-facing error: says what is wrong (naming the file) and how to fix it."""
