"""Form values as the pages send them, turned into what the stores take (or a clear error)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from facegate.access_event import to_utc

T = TypeVar("T")


@dataclass(frozen=True)
class Paged:
    """One page of rows, its number (from 1) and how many pages there are."""

    rows: list
    page: int
    pages: int
    total: int


def words(text: str) -> list[str]:
    """Return the comma- or space-separated words of a field (e.g. groups)."""
    return [w for w in text.replace(",", " ").split() if w]


def lines(text: str) -> list[str]:
    """Return the non-empty lines of a text area (e.g. schedules)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def day(text: str, label: str) -> date | None:
    """Return the ISO date of a field, None when empty, or raise ValueError naming the field."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{label} {text!r}: expected a date YYYY-MM-DD") from None


def moment(text: str, label: str) -> datetime | None:
    """Return a field's time as UTC (no zone given: UTC), None when empty, else ValueError."""
    if not text.strip():
        return None
    try:
        return to_utc(datetime.fromisoformat(text.strip()))
    except (ValueError, OverflowError):
        raise ValueError(f"{label} {text!r}: expected a time YYYY-MM-DDTHH:MM (UTC)") from None


def number(text: str, label: str) -> float | None:
    """Return a field's number, None when empty, or raise ValueError naming the field."""
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{label} {text!r}: expected a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{label} must be a finite number")
    return value


def paged(rows: Sequence[T], page: int, size: int) -> Paged:
    """Return the page-th page (from 1, clamped to the last) of rows."""
    pages = max(1, math.ceil(len(rows) / size))
    page = min(max(page, 1), pages)
    return Paged(list(rows[(page - 1) * size : page * size]), page, pages, len(rows))
