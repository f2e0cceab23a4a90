"""The efficiency table: one row per model from the store's `dpbench efficiency` records (the latest
measurement of each model, device and batch size), and published parameter counts of paper rows."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from dpbench.efficiency.records import EFFICIENCY_KIND
from dpbench.results import open_store

CASE_COLUMNS = ("rtf", "rtf_q1", "rtf_q3", "peak_memory_mb")
CAPTION = (
    "Params: parameters (a supernet: its sampled subnet). MACs: multiply-accumulates per second of 16 kHz "
    "audio on a 10 s clip (matrix products, convolutions and attention), as the forward runs them (dpbench "
    "students: conv widths padded to multiples of 8, so a little above the Table 1 count). RTF: median "
    "forward seconds per second of audio at batch 1 and 8 (quartiles in brackets). Memory: the forward's "
    "peak over the loaded model. Paper rows show published parameter counts only."
)


def load_efficiency(path: Path) -> pd.DataFrame:
    """The efficiency records of the store at `path` (empty when it has none)."""
    return open_store(path).to_frame(EFFICIENCY_KIND)


def efficiency_rows(records: pd.DataFrame) -> pd.DataFrame:
    """One row per model: params, macs, and per (device, batch) the latest RTF quartiles and peak memory,
    in columns named like `rtf_cpu_b1`, `peak_memory_mb_cuda_b8`. Ordered by MACs, largest first."""
    latest = records.sort_values("timestamp").groupby(["upstream", "device", "batch"], sort=False).tail(1)
    rows = latest.groupby("upstream", sort=False).agg(params=("params", "last"), macs=("macs", "last"))
    for (device, batch), case in latest.groupby(["device", "batch"]):
        values = case.set_index("upstream")[list(CASE_COLUMNS)]
        rows = rows.join(values.rename(columns=lambda c: f"{c}_{device}_b{batch}"))
    return rows.sort_values("macs", ascending=False).rename_axis("model").reset_index()


def _cases(rows: pd.DataFrame) -> list[str]:
    return sorted(
        {c[len("rtf_") :] for c in rows.columns if c.startswith("rtf_") and not c.startswith("rtf_q")},
        key=lambda case: (case.split("_b")[0] != "cpu", int(case.split("_b")[1])),
    )


def display_table(rows: pd.DataFrame, paper: pd.DataFrame | None = None) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells; `paper` (model, params; names ending "(paper)") adds published rows."""
    cases = _cases(rows)
    headers = ["Model", "Params (M)", "MACs (G/s)"]
    headers += [f"RTF {case.replace('_', ' ')}" for case in cases]
    headers += [f"Memory {case.replace('_', ' ')} (MiB)" for case in cases]
    body = []
    for row in rows.to_dict("records"):
        cells = [row["model"], f"{row['params'] / 1e6:.2f}", f"{row['macs'] / 1e9:.3f}"]
        for case in cases:
            rtf = row.get(f"rtf_{case}")
            cells.append(
                "—" if pd.isna(rtf) else f"{rtf:.4f} [{row[f'rtf_q1_{case}']:.4f}, {row[f'rtf_q3_{case}']:.4f}]"
            )
        for case in cases:
            memory = row.get(f"peak_memory_mb_{case}")
            cells.append("—" if memory is None or pd.isna(memory) else f"{memory:.1f}")
        body.append(cells)
    if paper is not None:
        for row in paper[~paper["model"].isin(rows["model"])].to_dict("records"):
            body.append([row["model"], f"{row['params'] / 1e6:.2f}"] + ["—"] * (len(headers) - 2))
    return headers, body


def to_markdown(headers: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines) + f"\n\n{CAPTION}\n"


def to_csv(rows: pd.DataFrame) -> str:
    return rows.to_csv(index=False)


def to_html(headers: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    trs = "".join(
        f'<tr class="{"paper" if cells[0].endswith("(paper)") else "measured"}">'
        + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        + "</tr>"
        for cells in body
    )
    return f"<table><caption>{html.escape(CAPTION)}</caption><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>"
