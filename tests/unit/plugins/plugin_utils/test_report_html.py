"""The HTML report: what the page holds, where the timeline puts each phase, and that nothing in it is fetched or run."""

from __future__ import annotations

import copy
import json
import os
import re
from xml.etree import ElementTree

import pytest

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import report_html
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.report_html import LABEL_WIDTH, RIGHT_MARGIN, WIDTH, render

SAMPLE = os.path.join(os.path.dirname(__file__), "report_sample.json")
PLOT = WIDTH - LABEL_WIDTH - RIGHT_MARGIN


@pytest.fixture
def sample():
    with open(SAMPLE, encoding="utf-8") as handle:
        return json.load(handle)


def svg_of(page):
    """The timeline's SVG, parsed: it must be well-formed XML."""
    match = re.search(r"<svg .*?</svg>", page, re.S)
    assert match, "no timeline in the page"
    return ElementTree.fromstring(match.group(0))


def bars(page):
    """{(host, phase): (x, width)} from the timeline's bars (each has a title 'host phase: N s')."""
    found = {}
    for rect in svg_of(page).iter("rect"):
        title = rect.find("title")
        if title is not None:
            host, phase = title.text.split(":")[0].split(" ")
            found[(host, phase)] = (float(rect.get("x")), float(rect.get("width")))
    return found


def host(name, durations, **fields):
    return dict({"host": name, "status": "patched", "wave": 1, "durations": durations}, **fields)


def test_every_host_and_status_is_on_the_page(sample):
    page = render(sample)
    for name, entry in sample["hosts"].items():
        assert page.count(">%s<" % name) >= 3, name  # timeline, table, messages
        assert ">%s<" % entry["status"] in page
    assert "<title>patch_with_rollback run 20261201T202000Z</title>" in page


def test_statuses_in_their_colours(sample):
    page = render(sample)
    assert '<span class="status" style="background:#2e7d32" title="patched and verified">patched</span> 2' in page
    assert re.search(r'background:#ef6c00" title="[^"]*">rolled_back</span> 2', page)
    assert re.search(r'background:#c62828" title="[^"]*">rollback_failed</span> 1', page)
    assert re.search(r'background:#757575" title="[^"]*">not_started</span> 1', page)


def test_an_unknown_status_is_shown_in_a_neutral_colour():
    page = render({"hosts": {"a": host("a", {}, status="something_new")}})
    assert '<span class="status" style="background:#455a64" title="">something_new</span> 1' in page


def test_manual_steps_are_listed_for_the_hosts_that_need_one(sample):
    page = render(sample)
    steps = re.search(r"<h2>Manual steps</h2>\s*<ol>(.*?)</ol>", page, re.S).group(1)
    assert re.findall(r"<li><strong>([^<]+)</strong>", steps) == ["cache-01", "mq-01", "web-02"]
    assert "ansible-playbook -i inventory.json vpsorg.cloud.patch_with_rollback --limit web-02" in steps


def test_no_manual_step_says_so():
    page = render({"hosts": {"a": host("a", {"preflight": 1.0})}})
    assert "None: no host needs a step by hand." in page


def test_messages_come_below_with_preflight_problems():
    report = {"hosts": {"a": host("a", {}, status="not_patched", message="Preflight failed.",
                                  preflight={"problems": ["no room under the snapshot limit (5 of 5)"]})}}
    page = render(report)
    messages = page.split("<h2>Messages</h2>")[1]
    assert "<p>Preflight failed.</p><p>Preflight: no room under the snapshot limit (5 of 5)</p>" in messages


def test_phases_follow_each_other_and_skipped_ones_are_not_drawn():
    # 40 s in all: the axis ends at 40 s (ticks of 5 s), so 1 s is PLOT / 40 units.
    report = {"hosts": {"a": host("a", {"preflight": 10.0, "snapshot": 20.0, "patch": None, "verify": 10.0,
                                        "rollback": None, "cleanup": None, "total": 40.0})}}
    found = bars(render(report))
    unit = PLOT / 40
    assert found == {
        ("a", "preflight"): (pytest.approx(LABEL_WIDTH, abs=0.05), pytest.approx(10 * unit, abs=0.05)),
        ("a", "snapshot"): (pytest.approx(LABEL_WIDTH + 10 * unit, abs=0.05), pytest.approx(20 * unit, abs=0.05)),
        ("a", "verify"): (pytest.approx(LABEL_WIDTH + 30 * unit, abs=0.05), pytest.approx(10 * unit, abs=0.05)),
    }


def test_started_at_places_hosts_on_one_axis():
    report = {"hosts": {
        "a": host("a", {"preflight": 10.0, "snapshot": 20.0}, started_at=1000.0),
        "b": host("b", {"preflight": 10.0}, wave=2, started_at=1030.0),
    }}
    found = bars(render(report))
    unit = PLOT / 40  # b ends at 40 s
    assert found[("b", "preflight")][0] == pytest.approx(LABEL_WIDTH + 30 * unit, abs=0.05)
    assert found[("a", "preflight")][0] == pytest.approx(LABEL_WIDTH, abs=0.05)


def test_without_started_at_every_host_starts_at_zero():
    report = {"hosts": {"a": host("a", {"preflight": 10.0}), "b": host("b", {"preflight": 5.0}, wave=2)}}
    found = bars(render(report))
    assert found[("a", "preflight")][0] == found[("b", "preflight")][0] == pytest.approx(LABEL_WIDTH, abs=0.05)


def test_time_beyond_the_phases_is_shown_as_other():
    report = {"hosts": {"a": host("a", {"preflight": 10.0, "total": 20.0})}}
    assert bars(render(report))[("a", "other")][1] == pytest.approx(PLOT / 20 * 10, abs=0.05)


def test_hosts_are_grouped_by_wave_in_order(sample):
    svg = svg_of(render(sample))
    labels = [t.text for t in svg.iter("text") if t.text and ("wave" in t.text or t.text in sample["hosts"])]
    assert labels == ["wave 1", "web-01", "wave 2", "cache-01", "db-01", "mq-01", "web-02", "no wave", "mail-01"]


def test_text_from_the_report_is_escaped():
    evil = '<img src=x onerror="alert(1)">'
    report = {"run_id": "<script>alert(1)</script>",
              "hosts": {evil: host(evil, {"preflight": 1.0}, message="</p><script>alert(2)</script>",
                                   manual_step="echo '<b>'", cause="a & b")}}
    page = render(report)
    assert "<script" not in page and "<img" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "&lt;/p&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "a &amp; b" in page
    svg_of(page)


def test_the_page_needs_nothing_from_anywhere(sample):
    page = render(sample)
    assert "<script" not in page.lower()
    assert not re.search(r"\b(src|href)\s*=", page, re.I)
    assert "@import" not in page and "url(" not in page
    # The only addresses on the page are the ones the report's messages carry.
    assert set(re.findall(r"https?://[^\s<\"']+", page)) == {"http://127.0.0.1:40411/_sim/servers/102/health"}


def test_a_dry_run_says_so(sample):
    sample["dry_run"] = True
    assert "Dry run (check mode)" in render(sample)
    sample["dry_run"] = False
    assert "Dry run" not in render(sample)


@pytest.mark.parametrize("report", [
    {},
    None,
    {"hosts": None},
    {"hosts": {"a": None}},
    {"hosts": {"a": {"durations": "soon", "wave": "first", "started_at": "now", "status": None}}},
    {"hosts": {"a": {"durations": {"preflight": "x", "snapshot": float("nan"), "patch": -3, "total": True}}}},
    {"hosts": {"a": {"preflight": {"problems": "not a list"}, "snapshot_id": 0, "snapshot_kept": True}}},
])
def test_odd_reports_still_make_a_page(report):
    page = render(copy.deepcopy(report))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    if isinstance(report, dict) and isinstance(report.get("hosts"), dict):
        svg_of(page)


def test_a_wave_given_as_text_counts_as_that_wave():
    report = {"hosts": {"a": host("a", {"preflight": 1.0}, wave="2"), "b": host("b", {"preflight": 1.0}, wave=1)}}
    labels = [t.text for t in svg_of(render(report)).iter("text") if t.text and t.text.startswith("wave")]
    assert labels == ["wave 1", "wave 2"]


def test_seconds_under_90_stay_in_seconds():
    assert report_html._seconds(75) == "75.0 s" and report_html._seconds(90) == "1 min 30 s"


def test_a_clipped_name_is_as_long_as_the_limit():
    clipped = report_html._clip("a" * 30, 22)
    assert clipped == "a" * 21 + "\u2026" and len(clipped) == 22


def test_a_negative_duration_is_not_drawn():
    assert report_html._segments({"durations": {"preflight": -1.0, "patch": 2.0}}) == [("patch", 0.0, 2.0)]


def test_a_bool_is_not_a_number():
    assert report_html._number(True) is None
    assert report_html._segments({"durations": {"preflight": True, "patch": 2.0}}) == [("patch", 0.0, 2.0)]
