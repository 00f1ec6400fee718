"""Words the CLI prints about counts."""

from __future__ import annotations


def people_count(n: int) -> str:
    """Return '1 person' or 'N people'."""
    return f"{n} person" if n == 1 else f"{n} people"
