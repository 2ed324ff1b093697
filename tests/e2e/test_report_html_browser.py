"""The HTML report in a real browser: headless Chromium loads the page, and what it shows is checked.

The page comes from plugins/plugin_utils/report_html.py and a report with a
host of each kind (tests/unit/plugins/plugin_utils/report_sample.json).
Chromium's --dump-dom gives the document as the browser parsed it; its
--screenshot gives the picture, whose pixels must carry the status colours.
Chromium runs with a fresh profile, no network of its own (every host name
resolves to nothing), and the page must load all the same.
"""

import collections
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

import pytest

from conftest import ROOT, collections_path

SAMPLE = os.path.join(ROOT, "tests", "unit", "plugins", "plugin_utils", "report_sample.json")
# The screenshot takes the top of the page: the counts and the timeline. Its pixels are
# decoded here in pure Python, which costs a few seconds per million.
WINDOW = (1280, 560)


def render(report):
    sys.path.insert(0, collections_path() or os.path.dirname(os.path.dirname(os.path.dirname(ROOT))))
    from ansible_collections.vpsorg.cloud.plugins.plugin_utils.report_html import render as render_html

    return render_html(report)


def chromium(tmp_path, *args):
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is missing: the HTML report's browser test needs it, which scripts/test installs "
                    "(or: apt-get install chromium)")
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars",
               "--user-data-dir=%s" % (tmp_path / "profile"), "--window-size=%d,%d" % WINDOW] + list(args)
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA PNG, as Chromium writes them."""
    with open(path, "rb") as handle:
        data = handle.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, chunks = 8, {}
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        chunks.setdefault(kind, []).append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][0][:10])
    assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        row = unfilter(line[0], bytearray(line[1:]), previous, channels)
        rows.append([tuple(row[x:x + 3]) for x in range(0, stride, channels)])
        previous = row
    return width, height, rows


def unfilter(kind, row, previous, channels):
    for i, value in enumerate(row):
        left = row[i - channels] if i >= channels else 0
        up = previous[i]
        corner = previous[i - channels] if i >= channels else 0
        if kind == 1:
            value += left
        elif kind == 2:
            value += up
        elif kind == 3:
            value += (left + up) // 2
        elif kind == 4:
            guess = left + up - corner
            pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
            value += left if pa <= pb and pa <= pc else up if pb <= pc else corner
        row[i] = value & 0xFF
    return row


def pixels_near(counts, colour, tolerance=3):
    """How many pixels are of that colour, give or take a little (counts: a Counter of pixels)."""
    target = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(n for pixel, n in counts.items() if all(abs(a - b) <= tolerance for a, b in zip(pixel, target)))


@pytest.fixture(scope="module")
def sample():
    with open(SAMPLE, encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture
def page(tmp_path, sample):
    path = tmp_path / "patch_with_rollback-report.html"
    path.write_text(render(sample), encoding="utf-8")
    return path


def test_the_browser_shows_every_host_and_status(tmp_path, page, sample):
    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert "<title>patch_with_rollback run 20261201T202000Z</title>" in dom
    for name, entry in sample["hosts"].items():
        # In the timeline, the table and the messages, each with its status.
        assert dom.count(">%s<" % name) >= 3, name
        assert '<tr><td class="host">%s</td>' % name in dom
        assert ">%s</span>" % entry["status"] in dom
    # The browser kept the whole timeline: every bar and every host's status mark.
    sent = page.read_text(encoding="utf-8")
    assert dom[dom.index("<svg"):].count("<rect") == sent[sent.index("<svg"):].count("<rect") == 35


def test_the_browser_draws_the_page_with_its_colours(tmp_path, page):
    screenshot = tmp_path / "report.png"
    chromium(tmp_path, "--screenshot=%s" % screenshot, page.as_uri())
    width, height, rows = png_pixels(screenshot)
    assert (width, height) == WINDOW
    counts = collections.Counter(pixel for row in rows for pixel in row)
    # The status badges and marks (patched, rolled_back, rollback_failed, not_started)
    # and the phases' bars (snapshot, rollback), each in its colour.
    for colour in ("#2e7d32", "#ef6c00", "#c62828", "#757575", "#66a5ad", "#e8923a"):
        assert pixels_near(counts, colour) > 50, colour
