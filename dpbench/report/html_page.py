"""One self-contained HTML page: the table and every figure, images embedded as base64 PNG."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1240px;
       color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; }
.inputs, .notes, figcaption, caption { color: #555; font-size: 0.88rem; }
table { border-collapse: collapse; font-size: 0.78rem; margin: 1rem 0; width: 100%; }
caption { caption-side: bottom; text-align: left; padding-top: 0.6rem; }
th, td { padding: 0.3rem 0.35rem; border-bottom: 1px solid #e3e3e3; text-align: right; white-space: nowrap; }
th, td:first-child { white-space: normal; } th { vertical-align: bottom; }
td .ci { color: #777; font-size: 0.85em; white-space: normal; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #444; }
tr.paper td { color: #777; font-style: italic; background: #fafafa; }
.scroll { overflow-x: auto; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
"""


@dataclass(frozen=True)
class FigureEntry:
    """A figure for the page: heading, PNG file to embed and what it shows."""

    heading: str
    png: Path
    caption: str


def render_page(
    title: str,
    inputs: list[str],
    table_html: str | None,
    downloads: list[Path],
    figures: list[FigureEntry],
    notes: list[str],
    efficiency_html: str | None = None,
    tables: tuple[tuple[str, str], ...] = (),
) -> str:
    """The page as one HTML string; nothing is loaded from outside it. `tables`: more (heading, HTML
    table) sections after the SUPERB results."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        '<p class="inputs">Inputs: ' + "; ".join(html.escape(item) for item in inputs) + "</p>",
    ]
    if table_html is not None:
        links = " · ".join(f'<a href="{html.escape(p.name)}">{html.escape(p.name)}</a>' for p in downloads)
        parts += ["<h2>SUPERB results</h2>", f'<div class="scroll">{table_html}</div>', f"<p>Also as {links}.</p>"]
    for heading, fragment in tables:
        parts += [f"<h2>{html.escape(heading)}</h2>", f'<div class="scroll">{fragment}</div>']
    if efficiency_html is not None:
        parts += ["<h2>Efficiency</h2>", f'<div class="scroll">{efficiency_html}</div>']
    for entry in figures:
        data = base64.b64encode(entry.png.read_bytes()).decode("ascii")
        parts += [
            f"<h2>{html.escape(entry.heading)}</h2>",
            f'<figure><img alt="{html.escape(entry.heading)}" src="data:image/png;base64,{data}">',
            f"<figcaption>{html.escape(entry.caption)}</figcaption></figure>",
        ]
    if notes:
        items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
        parts.append(f'<h2>Notes</h2><ul class="notes">{items}</ul>')
    parts.append("</body></html>\n")
    return "\n".join(parts)
