"""JSON as the CLI prints it: floats rounded to what their quantity can mean."""

from __future__ import annotations

import json
import math
from typing import Any

MS_DECIMALS = 1  # milliseconds: a tenth is below any timer's noise here
SECONDS_DECIMALS = 3  # positions and durations in seconds: one millisecond
DEFAULT_DECIMALS = 4  # distances, thresholds, scores, rates
SMALL_DIGITS = 3  # significant digits kept for tiny values (false-accept rates such as 1e-6)


def round_float(key: str, value: float) -> float:
    """Return value rounded for the quantity its key names (ms, seconds, else 4 decimals)."""
    if not math.isfinite(value) or value == 0.0:
        return value
    if key.endswith("_ms") or key == "ms":
        return round(value, MS_DECIMALS)
    if key.endswith("_s") or key.endswith("seconds"):
        return round(value, SECONDS_DECIMALS)
    if abs(value) < 10 ** -(DEFAULT_DECIMALS - 1):
        return float(f"{value:.{SMALL_DIGITS}g}")
    return round(value, DEFAULT_DECIMALS)


def rounded(obj: Any, key: str = "") -> Any:
    """Return obj with every float in it rounded by round_float (dicts, lists, tuples walked)."""
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, float):
        return round_float(key, obj)
    if isinstance(obj, dict):
        return {k: rounded(v, str(k)) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [rounded(v, key) for v in obj]
    if type(obj).__module__ == "numpy" and hasattr(obj, "item"):
        return rounded(obj.item(), key)
    return obj


def dumps(obj: dict[str, Any]) -> str:
    """Return one JSON line of obj with its floats rounded (anything else as str)."""
    return json.dumps(rounded(obj), default=str)
