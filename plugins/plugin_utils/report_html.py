# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The patch_with_rollback report as one HTML page an operator can look at.

``render(report)`` takes the report the role writes as JSON (run_id, dry_run,
generated_at, statuses, hosts) and returns a self-contained page: inline CSS
and SVG, no script, nothing loaded from anywhere. It shows the count per
status, a timeline per host (grouped by wave; the phases preflight, snapshot,
patch, verify, rollback and cleanup from the host's ``durations``), a table
with each host's status in colour, the manual steps, and the messages.

Hosts that carry ``started_at`` (epoch seconds) are placed on one time axis
shared by the run; a host without it starts at 0. A phase whose duration is
missing or None did not take place and is not drawn. Any field may be missing
or of an unexpected kind; the page shows what it can and never fails on it.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from ansible_collections.vpsorg.cloud.plugins.plugin_utils.statuses import PHASES
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.statuses import STATUSES as STATUS_TABLE

PHASE_COLOURS = {
    "preflight": "#8da0cb",
    "snapshot": "#66a5ad",
    "patch": "#4f81bd",
    "verify": "#9bbb59",
    "rollback": "#e8923a",
    "cleanup": "#b3b3b3",
}
# Time the host's total has beyond its phases (waiting for its wave's end, the report).
OTHER_COLOUR = "#e6e6e6"

# Status: (colour, what it means), from the one table of statuses.
STATUSES = {name: (status.colour, status.applies) for name, status in STATUS_TABLE.items()}
UNKNOWN_STATUS_COLOUR = "#455a64"

# Timeline geometry, in SVG user units (the picture scales to the page's width).
WIDTH = 960
LABEL_WIDTH = 170
RIGHT_MARGIN = 70
ROW_HEIGHT = 24
BAR_HEIGHT = 14
WAVE_HEADER = 20
AXIS_HEIGHT = 28

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #212121; background: #fff; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #616161; margin-top: 0; }
.dry { background: #fff8e1; border: 1px solid #ffe082; padding: 0.5em 0.8em; border-radius: 4px; }
.counts { display: flex; flex-wrap: wrap; gap: 0.5em; padding: 0; list-style: none; }
.status { display: inline-block; color: #fff; border-radius: 3px; padding: 0.1em 0.5em; font-weight: 600;
          font-size: 0.9em; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; font-size: 0.93em; }
th, td { text-align: left; padding: 0.35em 0.6em; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #fafafa; }
td.num, td.host { white-space: nowrap; }
td.num { text-align: right; }
svg { width: 100%; height: auto; font-size: 12px; }
svg text { fill: #212121; }
.legend { display: flex; flex-wrap: wrap; gap: 1em; font-size: 0.9em; padding: 0; list-style: none; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; border-radius: 2px; vertical-align: -0.1em;
          margin-right: 0.3em; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.9em;
       background: #f5f5f5; padding: 0.4em 0.6em; display: block; white-space: pre-wrap; overflow-wrap: anywhere; }
.host-message { margin: 0.8em 0; }
.host-message p { margin: 0.3em 0; }
.none { color: #757575; }
"""


def render(report: dict) -> str:
    """The whole page for one report (the dict the role writes as JSON)."""
    report = report if isinstance(report, dict) else {}
    hosts = _hosts(report)
    run_id = _text(report.get("run_id")) or "(no run id)"
    title = "%spatch_with_rollback run %s" % ("Undo of " if report.get("undo") else "", run_id)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title>" % escape(title),
        "<style>%s</style>" % CSS,
        "</head>",
        "<body>",
        "<h1>%s</h1>" % escape(title),
        '<p class="meta">%s</p>' % escape(_meta_line(report, hosts)),
    ]
    if report.get("dry_run"):
        parts.append('<p class="dry">Dry run (check mode): nothing was snapshotted, patched or deleted; '
                     "the statuses say what would happen.</p>")
    parts.append(_counts(hosts))
    parts.append("<h2>Timeline</h2>")
    parts.append(_timeline(hosts))
    parts.append(_phase_legend())
    parts.append("<h2>Hosts</h2>")
    parts.append(_host_table(hosts))
    parts.append("<h2>Manual steps</h2>")
    parts.append(_manual_steps(hosts))
    parts.append("<h2>Messages</h2>")
    parts.append(_messages(hosts))
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"


def _hosts(report: dict) -> list[dict]:
    """The hosts as dicts with a name, in order of wave, start and name."""
    raw = report.get("hosts")
    entries = []
    if isinstance(raw, dict):
        for name, entry in raw.items():
            entry = dict(entry) if isinstance(entry, dict) else {}
            entry["name"] = _text(entry.get("host")) or _text(name)
            entries.append(entry)
    return sorted(entries, key=lambda e: (_wave_key(e), _number(e.get("started_at")) or 0.0, e["name"]))


def _wave(host: dict) -> int | None:
    """The host's wave as a number (1, or "1" as text), or None."""
    try:
        return int(_text(host.get("wave")).strip())
    except ValueError:
        return None


def _wave_key(host: dict) -> tuple:
    return (0, _wave(host)) if _wave(host) is not None else (1, 0)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any) -> float | None:
    """A finite float, or None for anything else (None, text, NaN, a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _seconds(value: Any) -> str:
    value = _number(value)
    if value is None:
        return ""
    if value < 90:
        return "%.1f s" % value
    minutes, rest = divmod(int(round(value)), 60)
    return "%d min %02d s" % (minutes, rest)


def _status_colour(status: str) -> str:
    return STATUSES.get(status, (UNKNOWN_STATUS_COLOUR, ""))[0]


def _status_badge(status: Any) -> str:
    status = _text(status) or "unknown"
    meaning = STATUSES.get(status, ("", ""))[1]
    return '<span class="status" style="background:%s" title="%s">%s</span>' % (
        _status_colour(status), escape(meaning), escape(status))


def _meta_line(report: dict, hosts: list[dict]) -> str:
    bits = ["%d host%s" % (len(hosts), "" if len(hosts) == 1 else "s")]
    waves = {_wave(h) for h in hosts} - {None}
    if waves:
        bits.append("%d wave%s" % (len(waves), "" if len(waves) == 1 else "s"))
    if report.get("generated_at"):
        bits.append("report written %s" % _text(report.get("generated_at")))
    return ", ".join(bits)


def _counts(hosts: list[dict]) -> str:
    counts = {}
    for host in hosts:
        status = _text(host.get("status")) or "unknown"
        counts[status] = counts.get(status, 0) + 1
    order = [s for s in STATUSES if s in counts] + sorted(s for s in counts if s not in STATUSES)
    items = ["<li>%s %d</li>" % (_status_badge(status), counts[status]) for status in order]
    return '<ul class="counts">%s</ul>' % "".join(items)


def _segments(host: dict) -> list[tuple]:
    """(phase, start, seconds) of the host's phases in order; 'other' for its total beyond them."""
    start = 0.0
    segments = []
    durations = host.get("durations") if isinstance(host.get("durations"), dict) else {}
    for phase in PHASES:
        seconds = _number(durations.get(phase))
        if seconds is None or seconds < 0:
            continue
        segments.append((phase, start, seconds))
        start += seconds
    total = _number(durations.get("total"))
    if total is not None and total - start > 0.05:
        segments.append(("other", start, total - start))
    return segments


def _offsets(hosts: list[dict]) -> list[float]:
    """Each host's start on the shared axis: started_at from the earliest one, else 0."""
    starts = [_number(h.get("started_at")) for h in hosts]
    known = [s for s in starts if s is not None]
    origin = min(known) if known else 0.0
    return [s - origin if s is not None else 0.0 for s in starts]


def _tick_step(span: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if span / step <= 8:
            return step
    return 3600 * math.ceil(span / 8 / 3600)


def _tick_label(value: float) -> str:
    if value < 60:
        return "%d s" % value
    if value % 60 == 0:
        return "%d min" % (value // 60)
    return "%d min %d s" % divmod(value, 60)


def _timeline(hosts: list[dict]) -> str:
    if not hosts:
        return '<p class="none">No hosts in this report.</p>'
    offsets = _offsets(hosts)
    rows = [(host, offset, _segments(host)) for host, offset in zip(hosts, offsets)]
    end = max([offset + (seg[-1][1] + seg[-1][2] if seg else 0.0) for _h, offset, seg in rows] + [1.0])
    step = _tick_step(end)
    span = step * math.ceil(end / step)
    plot = WIDTH - LABEL_WIDTH - RIGHT_MARGIN

    def x_of(seconds: float) -> float:
        return LABEL_WIDTH + plot * seconds / span

    body = []
    y = 0
    waves = any(_wave(host) is not None for host in hosts)
    current_wave = object()
    for host, offset, segments in rows:
        if waves and _wave(host) != current_wave:
            current_wave = _wave(host)
            label = "wave %d" % current_wave if current_wave is not None else "no wave"
            body.append('<text x="4" y="%d" font-weight="600">%s</text>' % (y + 14, label))
            body.append('<line x1="0" x2="%d" y1="%d" y2="%d" stroke="#ddd"/>' % (WIDTH, y + 18, y + 18))
            y += WAVE_HEADER
        status = _text(host.get("status")) or "unknown"
        colour = _status_colour(status)
        bar_y = y + (ROW_HEIGHT - BAR_HEIGHT) // 2
        body.append('<g><title>%s: %s</title>' % (escape(host["name"]), escape(status)))
        body.append('<rect x="4" y="%d" width="6" height="%d" fill="%s"/>' % (bar_y, BAR_HEIGHT, colour))
        body.append('<text x="16" y="%d">%s</text></g>' % (bar_y + BAR_HEIGHT - 3, escape(_clip(host["name"], 22))))
        for phase, start, seconds in segments:
            x0, x1 = x_of(offset + start), x_of(offset + start + seconds)
            body.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s: %s</title></rect>' % (
                x0, bar_y, max(x1 - x0, 1.0), BAR_HEIGHT, PHASE_COLOURS.get(phase, OTHER_COLOUR),
                escape(host["name"]), phase, _seconds(seconds)))
        if segments:
            finish = offset + segments[-1][1] + segments[-1][2]
            body.append('<text x="%.1f" y="%d" fill="%s">%s</text>' % (
                x_of(finish) + 4, bar_y + BAR_HEIGHT - 3, colour, escape(_seconds(finish - offset))))
        else:
            body.append('<text x="%d" y="%d" class="none" font-style="italic">no phase ran</text>' % (
                LABEL_WIDTH + 4, bar_y + BAR_HEIGHT - 3))
        y += ROW_HEIGHT
    axis = ['<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#9e9e9e"/>' % (LABEL_WIDTH, LABEL_WIDTH + plot, y + 2, y + 2)]
    tick = 0
    while tick <= span:
        x = x_of(tick)
        axis.append('<line x1="%.1f" x2="%.1f" y1="0" y2="%d" stroke="#f0f0f0"/>' % (x, x, y + 2))
        axis.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#616161">%s</text>' % (x, y + 18, _tick_label(tick)))
        tick += step
    height = y + AXIS_HEIGHT
    described = "Timeline of %d hosts over %s" % (len(hosts), _tick_label(span))
    # The grid goes first so the bars are drawn over it.
    return '<svg viewBox="0 0 %d %d" role="img" aria-label="%s">%s%s</svg>' % (
        WIDTH, height, escape(described), "".join(axis), "".join(body))


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + "\u2026"


def _phase_legend() -> str:
    items = ['<li><span class="swatch" style="background:%s"></span>%s</li>' % (PHASE_COLOURS[p], p) for p in PHASES]
    items.append('<li><span class="swatch" style="background:%s"></span>other (waiting, reporting)</li>' % OTHER_COLOUR)
    return '<ul class="legend">%s</ul>' % "".join(items)


def _snapshot_cell(host: dict) -> str:
    name, snapshot_id = _text(host.get("snapshot_name")), host.get("snapshot_id")
    if not name and snapshot_id is None:
        return '<span class="none">none</span>'
    text = escape(name or "snapshot")
    if snapshot_id is not None:
        text += " (id %s)" % escape(_text(snapshot_id))
    if host.get("snapshot_kept"):
        text += ", kept"
    return text


def _host_table(hosts: list[dict]) -> str:
    if not hosts:
        return '<p class="none">No hosts in this report.</p>'
    rows = ["<tr><th>host</th><th>wave</th><th>status</th><th>snapshot</th><th>time</th><th>what failed</th></tr>"]
    for host in hosts:
        durations = host.get("durations") if isinstance(host.get("durations"), dict) else {}
        failed = _text(host.get("cause"))
        if host.get("failed_phase"):
            failed = "%s: %s" % (_text(host.get("failed_phase")), failed) if failed else _text(host.get("failed_phase"))
        rows.append("<tr><td class=\"host\">%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"num\">%s</td><td>%s</td></tr>" % (
            escape(host["name"]), _text(_wave(host)) if _wave(host) is not None else "", _status_badge(host.get("status")),
            _snapshot_cell(host), escape(_seconds(durations.get("total"))), escape(failed)))
    return "<table>%s</table>" % "".join(rows)


def _manual_steps(hosts: list[dict]) -> str:
    steps = [(h["name"], _text(h.get("manual_step"))) for h in hosts if _text(h.get("manual_step")).strip()]
    if not steps:
        return '<p class="none">None: no host needs a step by hand.</p>'
    items = ["<li><strong>%s</strong><code>%s</code></li>" % (escape(name), escape(step)) for name, step in steps]
    return "<ol>%s</ol>" % "".join(items)


def _messages(hosts: list[dict]) -> str:
    out = []
    for host in hosts:
        lines = []
        if _text(host.get("message")):
            lines.append("<p>%s</p>" % escape(_text(host.get("message"))))
        preflight = host.get("preflight") if isinstance(host.get("preflight"), dict) else {}
        problems = preflight.get("problems") if isinstance(preflight.get("problems"), list) else []
        for problem in problems:
            lines.append("<p>Preflight: %s</p>" % escape(_text(problem)))
        if not lines:
            lines.append('<p class="none">No message.</p>')
        out.append('<div class="host-message"><strong>%s</strong> %s%s</div>' % (
            escape(host["name"]), _status_badge(host.get("status")), "".join(lines)))
    return "".join(out) or '<p class="none">No hosts in this report.</p>'
