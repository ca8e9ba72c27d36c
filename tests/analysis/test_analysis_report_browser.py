"""report.html as a person sees it: rendered by headless Chromium at 1,400 and 800 px.

Fails on an image that does not load, a table wider than a 1,400 px page, or a page that scrolls
sideways. Skips (with the reason) when no Chromium is installed (Debian: ``apt-get install -y
chromium``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install -y chromium)")

PROBE = """<script>
window.addEventListener('load', () => {
  const w = document.documentElement.clientWidth;
  const bad = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt);
  const wide = [...document.querySelectorAll('table')]
    .filter(t => t.getBoundingClientRect().width > w)
    .map(t => (t.closest('div') && t.closest('div').previousElementSibling || {}).textContent || '?');
  const out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({bad, wide, images: document.images.length, width: w,
                                    scroll: document.documentElement.scrollWidth});
  document.body.appendChild(out);
});
</script>"""


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args],
        capture_output=True, text=True, timeout=120)


def render(page: Path, width: int, tmp: Path) -> dict:
    probed = tmp / f"probe-{width}.html"
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    done = chromium([f"--window-size={width},1000", "--dump-dom", probed.as_uri()], tmp / f"profile-{width}")
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"chromium printed no probe (rc {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.slow
@pytest.mark.parametrize("width", [1400, 800])
def test_report_renders_in_chromium(reported_study: Path, tmp_path: Path, width: int) -> None:
    seen = render(reported_study / "report.html", width, tmp_path)
    assert seen["images"] >= 5
    assert seen["bad"] == [], f"images that did not load: {seen['bad']}"
    assert seen["scroll"] <= seen["width"], f"the page scrolls sideways at {width} px: {seen}"
    if width >= 1400:
        assert seen["wide"] == [], f"tables wider than the {width} px page: {seen['wide']}"


def test_probe_catches_a_broken_image_and_a_wide_table(tmp_path: Path) -> None:
    """The check itself can fail: a missing image and a 3,000 px table are reported."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><img alt="gone" src="missing.png">'
                    '<div><table style="width:3000px"><tr><td>x</td></tr></table></div></body></html>')
    seen = render(page, 1400, tmp_path)
    assert seen["bad"] == ["gone"] and len(seen["wide"]) == 1 and seen["scroll"] > seen["width"]
