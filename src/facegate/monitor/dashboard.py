"""The dashboard: one self-contained HTML page (inline CSS and SVG, no script, nothing fetched)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from html import escape

from facegate.access_event import TimeLike, to_utc
from facegate.monitor.alarms import ALL_DOORS, Check, measure
from facegate.monitor.drift import DriftReport, FeatureDrift, drift_report
from facegate.monitor.events import EventLog
from facegate.monitor.policy_panel import policy_panel
from facegate.monitor.stats import DoorStats, Summary, door_stats
from facegate.monitor.svg import histogram_chart, line_chart
from facegate.monitor.table import load_table
from facegate.settings import Settings

# The page may load nothing: a CDN script or font would fail offline, and the browser says so.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1d1f}
header{background:#1d2733;color:#fff;padding:12px 20px}
header h1{font-size:20px;margin:0}
header p{margin:4px 0 0;color:#c9d1db}
main{padding:12px 20px}
section{background:#fff;border-radius:6px;padding:12px 16px;margin:0 0 14px;
box-shadow:0 1px 2px #0002}
h2{font-size:16px;margin:0 0 8px}
.cards{display:flex;flex-wrap:wrap;gap:8px}
.card{border:1px solid #dde1e6;border-radius:4px;padding:6px 10px;min-width:96px}
.card b{display:block;font-size:18px}
.card span{color:#5f6b7a;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}
figcaption{font-weight:600;margin:4px 0}
svg text{font-size:10px;fill:#5f6b7a}
svg .grid{stroke:#e6e8eb}
svg .line{fill:none;stroke-width:2}
svg .marker{stroke:#1d1d1f;stroke-dasharray:4 3}
svg .marker-2{stroke:#8e24aa;stroke-dasharray:1 3;stroke-width:2}
.legend{font-size:12px;color:#5f6b7a}
.key{margin-right:12px}
.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
table{border-collapse:collapse;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #e6e8eb;text-align:right}
th:first-child,td:first-child{text-align:left}
tr.bad td{background:#fdecea}
.flag{color:#c62828;font-weight:600}
.ok{color:#2e7d32}
.muted{color:#5f6b7a}
details summary{cursor:pointer;font-weight:600;margin:6px 0}
"""


def _pct(value: float | None) -> str:
    """Return a share as a percentage, '-' for none."""
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 0) -> str:
    """Return a number rounded for display, '-' for none."""
    return "-" if value is None else f"{value:,.{digits}f}"


def _per_hour(value: float) -> str:
    """Return a rate per hour with two significant digits below 10, so doors add up."""
    if value <= 0 or value >= 10:
        return _num(value)
    return f"{value:.{min(4, 1 - math.floor(math.log10(value)))}f}"


def _cards(summary: Summary) -> str:
    """Return the headline numbers of a summary as cards."""
    items = [
        ("decisions", _num(summary.events)),
        ("accepted", _pct(summary.accept_rate)),
        ("rejected", _pct(summary.reject_rate)),
        ("unknown", _pct(summary.unknown_rate)),
        ("asked to retry", _pct(summary.retry_rate)),
        ("re-authentications", _pct(summary.reauth_rate)),
        ("latency p50", f"{_num(summary.latency_p50_ms)} ms"),
        ("latency p95", f"{_num(summary.latency_p95_ms)} ms"),
        ("faces per hour", _per_hour(summary.faces_per_hour)),
    ]
    cards = "".join(f'<div class="card"><b>{v}</b><span>{k}</span></div>' for k, v in items)
    return f'<div class="cards">{cards}</div>'


def _charts(stats: DoorStats) -> str:
    """Return the charts over time and the distance histogram of one door's stats."""
    times = [b.start for b in stats.buckets]
    rows = [b.summary for b in stats.buckets]
    rates = line_chart(
        "Outcomes and re-authentication (share of decisions)",
        times,
        {
            "accepted": [r.accept_rate for r in rows],
            "rejected": [r.reject_rate for r in rows],
            "unknown": [r.unknown_rate for r in rows],
            "retry": [r.retry_rate for r in rows],
            "re-authentication": [r.reauth_rate for r in rows],
        },
        percent=True,
    )
    latency = line_chart(
        "Latency (ms)",
        times,
        {"p50": [r.latency_p50_ms for r in rows], "p95": [r.latency_p95_ms for r in rows]},
    )
    faces = line_chart("Faces per hour", times, {"faces/h": [r.faces_per_hour for r in rows]})
    hist = stats.distances
    distances = histogram_chart(
        "Distance: accepted vs not accepted",
        hist.edges,
        {"accepted": hist.accepted, "rejected / unknown / retry": hist.rejected},
        markers=[(f"{mode} threshold {t:.3f}", t) for mode, t in hist.thresholds.items()],
    )
    return f'<div class="charts">{rates}{latency}{faces}{distances}</div>'


def _door_table(stats: Sequence[DoorStats]) -> str:
    """Return one row of headline numbers per door, each linking to its section."""
    head = (
        "<tr><th>door</th><th>decisions</th><th>accepted</th><th>rejected</th><th>unknown</th>"
        "<th>retry</th><th>re-auth</th><th>p50 ms</th><th>p95 ms</th><th>faces/h</th></tr>"
    )
    rows = []
    for s in stats:
        m = s.summary
        rows.append(
            f'<tr><td><a href="#door-{escape(s.door or "")}">{escape(s.door or "")}</a></td>'
            f"<td>{m.events}</td><td>{_pct(m.accept_rate)}</td><td>{_pct(m.reject_rate)}</td>"
            f"<td>{_pct(m.unknown_rate)}</td><td>{_pct(m.retry_rate)}</td>"
            f"<td>{_pct(m.reauth_rate)}</td><td>{_num(m.latency_p50_ms)}</td>"
            f"<td>{_num(m.latency_p95_ms)}</td><td>{_per_hour(m.faces_per_hour)}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _stat(value: float | None, digits: int = 3) -> str:
    """Return a statistic with fixed digits, '-' for none."""
    return "-" if value is None else f"{value:.{digits}f}"


def _drift_row(f: FeatureDrift) -> str:
    """Return one feature's row of the drift table."""
    status = (
        f'<span class="flag">SHIFTED: {escape(f.reason)}</span>'
        if f.flagged
        else (
            f'<span class="ok">{escape(f.reason)}</span>'
            if f.psi is not None
            else f'<span class="muted">{escape(f.reason)}</span>'
        )
    )
    p_value = "-" if f.ks_p is None else f"{f.ks_p:.1e}"
    return (
        f'<tr class="{"bad" if f.flagged else ""}"><td>{escape(f.feature)}</td>'
        f"<td>{f.reference_n}</td><td>{_stat(f.reference_median)}</td><td>{f.recent_n}</td>"
        f"<td>{_stat(f.recent_median)}</td><td>{_stat(f.psi)}</td><td>{_stat(f.ks)}</td>"
        f"<td>{p_value}</td><td>{status}</td></tr>"
    )


def drift_panel(report: DriftReport, settings: Settings) -> str:
    """Return the drift section: the table of statistics and the per-feature histograms."""
    limits = settings.drift
    flagged = report.flagged
    untested = [f.feature for f in report.features if f.psi is None]
    if flagged:
        verdict = f'<p class="flag">Shifted: {escape(", ".join(flagged))}</p>'
    elif untested and len(untested) == len(report.features):
        verdict = (
            '<p class="muted">Not tested: too few values in the windows '
            f"(needs {limits.min_samples} in each), so no shift can be told.</p>"
        )
    elif untested:
        verdict = (
            '<p class="ok">No tested feature has shifted; too few values to test '
            f"{escape(', '.join(untested))}.</p>"
        )
    else:
        verdict = '<p class="ok">No feature has shifted.</p>'
    head = (
        "<tr><th>feature</th><th>reference n</th><th>reference median</th><th>recent n</th>"
        "<th>recent median</th><th>PSI</th><th>KS D</th><th>KS p</th><th>status</th></tr>"
    )
    charts = "".join(
        histogram_chart(
            f"{f.feature}{' (shifted)' if f.flagged else ''}",
            f.histogram["edges"],
            {"reference": f.histogram["reference"], "recent": f.histogram["recent"]},
        )
        for f in report.features
        if f.histogram is not None
    )
    return (
        '<section id="drift"><h2>Drift</h2>'
        f'<p class="muted">Recent {_span(report.recent_since, report.recent_until)} against '
        f"reference {_span(report.reference_since, report.reference_until)}. Flagged when PSI "
        f"&ge; {limits.psi_max} or KS D &ge; {limits.ks_max} with p &lt; {limits.ks_alpha}.</p>"
        f"{verdict}<table>{head}{''.join(_drift_row(f) for f in report.features)}</table>"
        f'<div class="charts">{charts}</div></section>'
    )


def _alarm_panel(checks: Sequence[Check]) -> str:
    """Return the alarm bounds and where each stands now."""
    if not checks:
        return (
            '<section id="alarms"><h2>Alarms</h2><p class="muted">No bounds are set '
            "(settings [alarms.max] / [alarms.min]).</p></section>"
        )
    rows = []
    for c in checks:
        where = "all doors" if c.scope == ALL_DOORS else c.scope
        state = (
            '<span class="flag">BREACHED</span>'
            if c.breached
            else ('<span class="muted">no data</span>' if c.value is None else "ok")
        )
        rows.append(
            f'<tr class="{"bad" if c.breached else ""}"><td>{escape(c.metric)}</td>'
            f"<td>{escape(where)}</td><td>{c.bound} {c.limit:g}</td>"
            f"<td>{'-' if c.value is None else f'{c.value:.4g}'}</td><td>{state}</td></tr>"
        )
    head = "<tr><th>metric</th><th>scope</th><th>bound</th><th>now</th><th>status</th></tr>"
    return f'<section id="alarms"><h2>Alarms</h2><table>{head}{"".join(rows)}</table></section>'


def _span(since: datetime, until: datetime) -> str:
    """Return a time range for display."""
    return f"{since:%Y-%m-%d %H:%M} &ndash; {until:%Y-%m-%d %H:%M} UTC"


def _door_section(stats: DoorStats, title: str, anchor: str) -> str:
    """Return the cards and charts of one door (or all doors)."""
    return (
        f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>'
        f"{_cards(stats.summary)}{_charts(stats)}</section>"
    )


def render_dashboard(
    log: EventLog,
    settings: Settings,
    now: TimeLike | None = None,
    door: str | None = None,
    policies: Sequence[Mapping[str, object]] = (),
) -> str:
    """Return the dashboard page of one door (None: all doors, then each) at time now.

    policies: the configured doors as `api.describe_door` gives them (level, threshold,
    operating point), shown with the refusals by reason.
    """
    until = to_utc(now) if now is not None else datetime.now(UTC)
    view = settings.dashboard
    since = until - timedelta(hours=view.range_hours)
    table = load_table(log, since, until)

    def stats(name: str | None) -> DoorStats:
        return door_stats(table, name, since, until, view.bucket_hours, view.distance_bins)

    overall = stats(door)
    title = f"door {door}" if door else "All doors"
    checks = measure(log, settings, until)
    per_door = [] if door else [stats(name) for name in log.doors()]
    if door:
        checks = [c for c in checks if c.scope in (door, ALL_DOORS)]
    sections = [_door_section(overall, title, f"door-{door}" if door else "overall")]
    if per_door:
        sections.append(f'<section id="doors"><h2>Doors</h2>{_door_table(per_door)}</section>')
    refusals = log.refusals_by_reason(since, until)
    if door:
        policies = [p for p in policies if p["name"] == door]
        refusals = {k: v for k, v in refusals.items() if k[0] == door}
    sections.append(policy_panel(policies, refusals))
    sections.append(drift_panel(drift_report(log, settings.drift, until, door), settings))
    sections.append(_alarm_panel(checks))
    sections += [
        f"<details><summary>door {escape(s.door or '')}</summary>"
        f"{_door_section(s, f'door {s.door}', f'door-{s.door}')}</details>"
        for s in per_door
    ]
    subtitle = f"{_span(since, until)}, {view.bucket_hours:g} h buckets"
    return html_page(f"facegate: {title}", subtitle, sections)


def html_page(title: str, subtitle: str, sections: Sequence[str]) -> str:
    """Return a complete page around the sections, with the dashboard's CSS and CSP."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{subtitle}</p></header>"
        f"<main>{''.join(sections)}</main></body></html>"
    )
