"""What every frame source is: timestamped RGB frames, and something that can be closed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

Timestamped = tuple[float, np.ndarray]


class FrameSource(Protocol):
    """Anything that yields (timestamp in seconds, RGB uint8 HxWx3 frame) and can be closed."""

    def __iter__(self) -> Iterator[Timestamped]:
        """Yield timestamped RGB frames until the source ends."""
        ...

    def close(self) -> None:
        """Release the source."""
        ...
