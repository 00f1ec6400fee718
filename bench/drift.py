"""Drift demonstration: a reference week, then a week that drifts; the panel flags it, alarms fire.

Events are generated (facegate/monitor/simulate.py), not recorded: two doors, `front` and
`back`, a normal week each (2024-05-06 .. 05-13). In the second week the front door drifts a
little more every day, reaching on day 7: brightness -40 grey levels, sharpness and focus x0.4,
faces x0.65 as wide, distances +0.08 (a dimming lamp, a dirtying lens, a camera pushed back);
the back door stays normal. The drift reference is fixed to the first week. At the end of every
day of the second week the bench compares that day with the reference (PSI, KS per feature)
and runs the alarm check, whose webhook posts to a real local HTTP receiver; then it compares
the whole second week with the first and renders the drift panel (HTML, and a PNG when
Debian's chromium is installed).

    python bench/drift.py [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from rich.console import Console
from rich.table import Table

from facegate.actions import build_alarm_dispatcher
from facegate.monitor.alarms import AlarmState
from facegate.monitor.dashboard import drift_panel, html_page
from facegate.monitor.drift import DriftReport, drift_report
from facegate.monitor.events import EventLog
from facegate.monitor.simulate import Shift, simulate
from facegate.settings import DRIFT_FEATURES, Settings, load_settings
from facegate.watch import run_alarm_check

T0 = datetime(2024, 5, 6, tzinfo=UTC)
WEEK = timedelta(days=7)
FULL = Shift(brightness=-40, blur=0.4, face_scale=0.65, distance=0.08)


class Receiver(BaseHTTPRequestHandler):
    """Collects the alarm JSON bodies POSTed to it."""

    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        Receiver.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def ramp(day: int) -> Shift:
    """Return the front door's shift on day 0..6 of the second week (full on day 6)."""
    f = (day + 1) / 7
    return Shift(
        brightness=FULL.brightness * f,
        blur=1 + (FULL.blur - 1) * f,
        face_scale=1 + (FULL.face_scale - 1) * f,
        distance=FULL.distance * f,
    )


def bench_settings(webhook: str, recent_hours: float) -> Settings:
    """Return settings: reference = week one, recent = the last hours; bounds posting to webhook."""
    return load_settings(
        environ={},
        drift={
            "reference_since": T0.isoformat(),
            "reference_until": (T0 + WEEK).isoformat(),
            "recent_hours": recent_hours,
        },
        alarms={
            "max": {
                "psi_brightness": 0.25,
                "psi_sharpness": 0.25,
                "psi_face_px": 0.25,
                "psi_distance": 0.25,
                "reauth_rate": 0.08,
            },
            "window_minutes": 24 * 60,
            "webhooks": [webhook],
            "log": False,
        },
    )


def shoot(html: Path, png: Path) -> bool:
    """Screenshot a page with headless Chromium; return False when chromium is absent."""
    chromium = shutil.which("chromium")
    if chromium is None:
        return False
    with tempfile.TemporaryDirectory(prefix="facegate-chromium-") as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--window-size=1200,1500",
                f"--screenshot={png}",
                html.resolve().as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
    return png.exists()


def stats_row(report: DriftReport) -> dict[str, object]:
    """Return each feature's PSI, KS and flag."""
    return {
        f.feature: {"psi": f.psi, "ks": f.ks, "ks_p": f.ks_p, "flagged": f.flagged}
        for f in report.features
    }


def main() -> None:
    """Run the demonstration, print the tables, write JSON, HTML and PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    console = Console(width=150)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook = f"http://127.0.0.1:{server.server_address[1]}/alarms"

    with tempfile.TemporaryDirectory(prefix="facegate-drift-") as tmp:
        path = Path(tmp) / "events.db"
        with EventLog(path) as log, AlarmState(path) as state:
            log.append_many(simulate("front", T0, 7, seed=1))
            log.append_many(simulate("back", T0, 14, seed=3))
            for day in range(7):
                start = T0 + WEEK + timedelta(days=day)
                log.append_many(simulate("front", start, 1, seed=10 + day, shift=ramp(day)))
            counts = {door: log.count(door=door) for door in log.doors()}

            daily = []
            settings = bench_settings(webhook, recent_hours=24)
            dispatcher = build_alarm_dispatcher(settings.alarms, settings.actions)
            for day in range(7):
                now = T0 + WEEK + timedelta(days=day + 1)
                report = drift_report(log, settings.drift, now, "front")
                back = drift_report(log, settings.drift, now, "back")
                run = run_alarm_check(log, state, settings, dispatcher, now)
                daily.append(
                    {
                        "day": day + 1,
                        "until": now.isoformat(),
                        "shift": ramp(day).__dict__,
                        "front": stats_row(report),
                        "front_flagged": report.flagged,
                        "back_flagged": back.flagged,
                        "alarms_fired": [f"{n.check.metric}@{n.check.scope}" for n, _ in run.sent],
                    }
                )
            week_settings = bench_settings(webhook, recent_hours=7 * 24)
            week = drift_report(log, week_settings.drift, T0 + 2 * WEEK, "front")
            week_back = drift_report(log, week_settings.drift, T0 + 2 * WEEK, "back")
    server.shutdown()

    table = Table(title="front door: each day of week 2 against week 1 (PSI / KS D; * = flagged)")
    table.add_column("day")
    for feature in DRIFT_FEATURES:
        table.add_column(feature, justify="right")
    table.add_column("alarms fired (webhook)")
    for row in daily:
        cells = []
        for feature in DRIFT_FEATURES:
            s = row["front"][feature]
            mark = "*" if s["flagged"] else ""
            cells.append(f"{s['psi']:.3f} / {s['ks']:.3f}{mark}")
        table.add_row(str(row["day"]), *cells, ", ".join(row["alarms_fired"]) or "-")
    console.print(table)

    summary = Table(title="whole week 2 against week 1 (back door: no shift)")
    for column in (
        "feature",
        "front PSI",
        "front KS D",
        "front flagged",
        "back PSI",
        "back KS D",
        "back flagged",
    ):
        summary.add_column(column, justify="right")
    for f, b in zip(week.features, week_back.features, strict=True):
        summary.add_row(
            f.feature,
            f"{f.psi:.3f}",
            f"{f.ks:.3f}",
            "yes" if f.flagged else "no",
            f"{b.psi:.3f}",
            f"{b.ks:.3f}",
            "yes" if b.flagged else "no",
        )
    console.print(summary)
    console.print(f"webhook received {len(Receiver.received)} alarm(s)")

    panel = html_page(
        "facegate: drift, front door",
        "week 2 (drifting) against week 1 (reference); generated events, bench/drift.py",
        [drift_panel(week, week_settings)],
    )
    html_path = args.out / "drift_panel.html"
    html_path.write_text(panel, encoding="utf-8")
    png_path = args.out / "drift_panel.png"
    has_png = shoot(html_path, png_path)
    result = {
        "events": counts,
        "full_shift_day_7": FULL.__dict__,
        "drift_settings": week_settings.drift.model_dump(mode="json"),
        "alarm_bounds": {"max": week_settings.alarms.max},
        "daily": daily,
        "week": {"front": week.as_dict(), "back": week_back.as_dict()},
        "webhook_received": Receiver.received,
        "panel_html": str(html_path),
        "panel_png": str(png_path) if has_png else None,
    }
    for side in result["week"].values():
        for feature in side["features"]:
            feature.pop("histogram", None)
    (args.out / "drift.json").write_text(json.dumps(result, indent=2))
    console.print(
        f"wrote {args.out / 'drift.json'}, {html_path}" + (f", {png_path}" if has_png else "")
    )


if __name__ == "__main__":
    main()
