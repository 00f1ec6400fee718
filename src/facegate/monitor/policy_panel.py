"""The dashboard's door-policy panel: each door's level, threshold, operating point, refusals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape


def _rate(value: object) -> str:
    """Return a rate as a percentage, or n/a."""
    return "n/a" if not isinstance(value, int | float) else f"{100 * value:.3f} %"


def policy_panel(
    policies: Sequence[Mapping[str, object]], refusals: Mapping[tuple[str, str], int]
) -> str:
    """Return the panel: one row per door (rules + operating point), then refusals by reason.

    policies: what `api.describe_door` returns per configured door; refusals: (door, reason)
    -> count of deny / retry decisions in the dashboard's range (every door with events).
    """
    head = (
        "<tr><th>door</th><th>mode</th><th>level</th><th>target false-accept</th>"
        "<th>threshold</th><th>expected false accepts</th><th>expected false rejects</th>"
        "<th>admits</th><th>version</th></tr>"
    )
    rows = []
    for p in policies:
        admits = ", ".join(map(str, p["allow"])) or "everyone enrolled"  # type: ignore[call-overload]
        rows.append(
            f"<tr><td>{escape(str(p['name']))}</td><td>{escape(str(p['mode']))}</td>"
            f"<td>{escape(str(p['level']))}</td><td>{p['far']:g}</td>"
            f"<td>{float(p['threshold']):.4f}</td>"  # type: ignore[arg-type]
            f"<td>{_rate(p['expected_false_accept'])}</td>"
            f"<td>{_rate(p['expected_false_reject'])}</td>"
            f"<td>{escape(admits)}</td><td>{p['version']}</td></tr>"
        )
    doors = sorted({d for d, _ in refusals})
    reasons = sorted({r for _, r in refusals})
    refusal_head = "<tr><th>door</th>" + "".join(f"<th>{escape(r)}</th>" for r in reasons)
    refusal_rows = [
        f"<tr><td>{escape(d)}</td>"
        + "".join(f"<td>{refusals.get((d, r), 0)}</td>" for r in reasons)
        + "</tr>"
        for d in doors
    ]
    configured = (
        f"<table>{head}{''.join(rows)}</table>"
        if rows
        else '<p class="muted">No door is configured: every door admits everyone enrolled.</p>'
    )
    refused = (
        f"<h2>Refusals by reason</h2><table>{refusal_head}</tr>{''.join(refusal_rows)}</table>"
        if refusal_rows
        else '<p class="muted">No refusals in this range.</p>'
    )
    return f'<section id="policies"><h2>Door policies</h2>{configured}{refused}</section>'
