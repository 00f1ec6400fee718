"""An edge door's own decision while the centre is unreachable, from its copy of the door.

The same `decide/policy.py: decide_access` the centre applies, on the same inputs as far as
the door has them: the template identified against the copy's vectors at the copy's threshold
(the centre's, for the FULL gallery), the person's groups and validity dates re-checked at the
moment of the decision in the site's time zone, liveness required as online (`camera_live`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from facegate.decide.match import identify_embedding
from facegate.decide.policy import Match, camera_live, decide_access
from facegate.decide.rules import DoorRules, PersonAccess
from facegate.door_copy import DoorCopy
from facegate.gallery.types import EmbeddingSet
from facegate.stream.ruling import Ruling, TrackEvidence


@dataclass(frozen=True)
class CopyDecider:
    """One door copy made ready to decide on: its rules, vectors and access records."""

    copy: DoorCopy
    rules: DoorRules
    enrolled: EmbeddingSet
    accesses: dict[str, PersonAccess]
    zone: ZoneInfo

    @classmethod
    def of(cls, copy: DoorCopy) -> CopyDecider:
        """Return the decider of a (checked) copy."""
        return cls(
            copy, copy.door_rules(), copy.embeddings(), copy.accesses(), ZoneInfo(copy.timezone)
        )

    def rule(
        self,
        template: np.ndarray,
        evidence: TrackEvidence,
        when: datetime | None = None,
        rate_limited: bool = False,
    ) -> Ruling:
        """Return the door's own ruling on a track's fused template at `when` (default now);
        rate_limited: the door's own failure limit is reached (deny, rate_limited)."""
        copy = self.copy
        found = identify_embedding(
            np.asarray(template, dtype=np.float32), self.enrolled, copy.threshold, copy.identify_k
        )
        access = self.accesses.get(found.person) if found.person is not None else None
        local = (when or datetime.now(UTC)).astimezone(self.zone)
        match = Match(found.person, found.distance, copy.threshold)
        verdict = decide_access(
            match,
            self.rules,
            access,
            local,
            camera_live(evidence.live, self.rules),
            copy.retry_margin,
            rate_limited=rate_limited,
            ask=evidence.ask,
        )
        return Ruling.of(verdict, match, self.rules.version, decided_offline=True)
