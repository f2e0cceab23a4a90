"""The HTML report as a browser shows it: Debian's chromium, headless, in a 1280-px window.

A copy of the page gets a script that measures the laid-out page and writes the result into the
DOM, which `chromium --dump-dom` prints."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from records_factory import report_fixture

from dpbench.report.cli import report_command

FIXTURE = report_fixture()
CHROMIUM = shutil.which("chromium")
WIDTH = 1280
_MEASURE = """
<script>
window.addEventListener("load", () => {
  const scroller = document.querySelector(".scroll");
  const table = scroller.querySelector("table");
  const caption = table.querySelector("caption").getBoundingClientRect();
  const box = scroller.getBoundingClientRect();
  const images = [...document.images].map(img => ({complete: img.complete, width: img.naturalWidth}));
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({
    window: window.innerWidth, page: document.documentElement.scrollWidth,
    scrollWidth: scroller.scrollWidth, clientWidth: scroller.clientWidth,
    caption: [caption.left, caption.right], box: [box.left, box.right], images: images,
  });
  document.body.appendChild(out);
});
</script>
"""

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (setup.sh installs it)")


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[Path, str]:
    """The fixture report, every measured record given an interval so the table is as wide as it gets."""
    out = tmp_path_factory.mktemp("browser")
    store = out / "results.jsonl"
    lines = []
    for line in (FIXTURE / "results.jsonl").read_text().splitlines():
        record = json.loads(line)
        record.update(ci_low=record["value"] - 1.234, ci_high=record["value"] + 2.345)
        lines.append(json.dumps(record))
    store.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(
        report_command, ["--results", str(store), "--runs", str(FIXTURE / "runs"), "--out", str(out / "report")]
    )
    assert result.exit_code == 0, result.output
    return out / "report" / "index.html", str(out)


def _chromium(*arguments: str) -> str:
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={WIDTH},1000",
        "--virtual-time-budget=10000",
        *arguments,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_table_fits_the_window_and_every_image_loads(page, tmp_path: Path) -> None:
    index, _ = page
    measured_page = index.with_name("measured.html")
    measured_page.write_text(index.read_text().replace("</body>", _MEASURE + "</body>"))
    dom = _chromium("--dump-dom", measured_page.as_uri())
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom)
    assert found, dom[-2000:]
    measured = json.loads(found.group(1).replace("&quot;", '"'))
    assert measured["window"] == WIDTH
    assert measured["page"] <= WIDTH, "the page scrolls sideways"
    assert measured["scrollWidth"] <= measured["clientWidth"], "the table is wider than its box: clipped"
    left, right = measured["caption"]
    assert measured["box"][0] <= left and right <= measured["box"][1], "the caption runs out of view"
    assert len(measured["images"]) == 3
    assert all(image["complete"] and image["width"] > 0 for image in measured["images"])
    _chromium(f"--screenshot={tmp_path / 'report.png'}", index.as_uri())
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_path_of_the_machine_appears(page) -> None:
    index, made_in = page
    text = index.read_text()
    assert made_in not in text and str(FIXTURE) not in text
    assert not re.search(r"(?<![\w.])/(home|work|tmp|root|Users|var)/", text)


def test_counts_are_spelled_with_the_right_plural(page) -> None:
    text = re.sub(r"<[^>]+>", " ", page[0].read_text().split("<h2>")[1])  # the table section's words
    assert not re.search(r"\b1 (layers|tasks|seeds|runs|heads)\b", text)
