"""The error-analysis report as one self-contained HTML page (inline CSS, data-URI images)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

from PIL import Image

from facegate.evaluate.analyze import Analysis, WrongPair
from facegate.evaluate.multi import ImageFaces
from facegate.evaluate.slices import TAIL, YAW_BINS
from facegate.monitor.dashboard import html_page

THUMB_PX = 112
MARGIN = 0.35
EXTRA_CSS = (
    "<style>.pairs{display:flex;flex-wrap:wrap;gap:10px}"
    ".pair{border:1px solid #dde1e6;border-radius:4px;padding:6px;width:236px;font-size:12px}"
    ".pair img{width:112px;height:112px;object-fit:cover;margin-right:4px;background:#ddd}"
    ".pair p{margin:4px 0 0;overflow-wrap:anywhere}</style>"
)


def thumbnail(path: Path, face: ImageFaces | None) -> str:
    """Return a JPEG data URI of the face (with margin) or the whole image when none."""
    try:
        image = Image.open(path).convert("RGB")
    except OSError:
        image = Image.new("RGB", (THUMB_PX, THUMB_PX), (200, 200, 200))
    if face is not None and face.box is not None:
        box = face.box
        pad_x, pad_y = int(box.width * MARGIN), int(box.height * MARGIN)
        image = image.crop(
            (box.left - pad_x, box.top - pad_y, box.right + pad_x, box.bottom + pad_y)
        )
    image.thumbnail((THUMB_PX, THUMB_PX))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _pair_card(pair: WrongPair, images: Mapping[Path, ImageFaces]) -> str:
    """Return one wrong pair: two thumbnails, names, distance against threshold."""
    distance = f"{pair.distance:.3f}" if pair.distance != float("inf") else "no face"
    thumbs = "".join(
        f'<img alt="{escape(p.name)}" src="{thumbnail(p, images.get(p))}">'
        for p in (pair.left, pair.right)
    )
    return (
        f'<div class="pair">{thumbs}<p>{escape(pair.left.stem)}<br>{escape(pair.right.stem)}</p>'
        f"<p><b>distance {distance}</b> vs threshold {pair.threshold:.3f}</p></div>"
    )


def _grid(title: str, note: str, items: Sequence[WrongPair], images: Mapping) -> str:
    """Return a section with a grid of wrong pairs."""
    cards = "".join(_pair_card(p, images) for p in items) or '<p class="muted">none</p>'
    return f'<section><h2>{escape(title)}</h2><p class="muted">{note}</p>' + (
        f'<div class="pairs">{cards}</div></section>'
    )


def _slice_rows(analysis: Analysis) -> str:
    """Return the slice table's rows, the overall row first; slices at 2x the rate marked."""
    rate = analysis.error_rate
    rows = [
        f"<tr><td><b>all pairs</b></td><td>{analysis.report.pairs}</td><td>100.0 %</td>"
        f"<td>{analysis.errors}</td><td>{100 * rate:.2f} %</td><td>100.0 %</td>"
        "<td>0.0</td><td>0.00</td></tr>"
    ]
    for s in analysis.slices:
        bad = ' class="bad"' if s.errors >= 2 and s.error_rate >= 2 * rate else ""
        rows.append(
            f"<tr{bad}><td>{escape(s.tag)}</td><td>{s.pairs}</td>"
            f"<td>{100 * s.share_of_pairs:.1f} %</td><td>{s.errors}</td>"
            f"<td>{100 * s.error_rate:.2f} %</td><td>{100 * s.share_of_errors:.1f} %</td>"
            f"<td>{s.excess_errors:+.1f}</td><td>{100 * s.gain:+.2f}</td></tr>"
        )
    return "".join(rows)


def render_analysis(analysis: Analysis, images: Mapping[Path, ImageFaces], title: str) -> str:
    """Return the whole report page."""
    r = analysis.report
    summary = (
        f"<section>{EXTRA_CSS}<h2>Summary</h2><div class='cards'>"
        + "".join(
            f"<div class='card'><b>{escape(value)}</b><span>{escape(label)}</span></div>"
            for label, value in (
                ("embedder", analysis.embedder),
                ("pairs", str(r.pairs)),
                ("errors (k-fold thresholds)", str(analysis.errors)),
                ("error rate", f"{100 * analysis.error_rate:.2f} %"),
                ("false accepts", str(analysis.false_accept_count)),
                ("false rejects", str(analysis.false_reject_count)),
                ("EER", f"{100 * r.eer:.2f} %"),
                ("images without a face", str(r.no_face)),
                ("human-tagged images", str(analysis.human_tagged_images)),
            )
        )
        + "</div></section>"
    )
    diagnosis = (
        "<section><h2>Bias / variance</h2>"
        + "".join(f"<p>{escape(line)}</p>" for line in analysis.diagnosis.lines())
        + f"<p class='flag'>Next: {escape(analysis.diagnosis.focus)}</p></section>"
    )
    rule = (
        f"A pair is in a slice when either image has the tag. Blur (focus), brightness, face "
        f"size and detection score are binned into the lowest {TAIL:.0%}, the middle and the "
        f"highest {TAIL:.0%} of the evaluated images; yaw at {YAW_BINS[0]:g} and "
        f"{YAW_BINS[1]:g} degrees. Ranked by excess errors = errors - pairs x overall error "
        "rate (the errors removed by bringing the slice down to the overall rate); gain = "
        "excess as accuracy points over all pairs. Red rows: at least twice the overall rate."
    )
    table = (
        f"<section><h2>Error slices</h2><p class='muted'>{escape(rule)}</p><table>"
        "<tr><th>slice</th><th>pairs</th><th>share of pairs</th><th>errors</th>"
        "<th>error rate</th><th>share of errors</th><th>excess errors</th><th>gain (points)</th>"
        f"</tr>{_slice_rows(analysis)}</table></section>"
    )
    sections = [
        summary,
        diagnosis,
        table,
        _grid(
            "Worst false accepts",
            "Different people closest together (smallest distance first).",
            analysis.false_accepts,
            images,
        ),
        _grid(
            "Worst false rejects",
            "Same person furthest apart (missing faces first, then largest distance).",
            analysis.false_rejects,
            images,
        ),
    ]
    subtitle = escape(f"{r.protocol}, {r.pairs} pairs, {r.images} images")
    return html_page(title, subtitle, sections)
