"""Doors and who may use them: door rules, people's groups and validity dates, in SQLite.

The tables live in the gallery's own file, so removing a person (ON DELETE CASCADE) removes
their groups and dates with them. Plain SQL both SQLite and PostgreSQL run; a PostgreSQL
backend implements the same `AccessStore` protocol.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from facegate.decide.rules import DoorRules, PersonAccess, Window
from facegate.errors import (
    DoorExistsError,
    GalleryUnavailableError,
    UnknownDoorError,
    UnknownPersonError,
)
from facegate.sqlite_db import SQLiteStore

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS access_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS doors (
    name TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    level TEXT NOT NULL,
    far REAL NOT NULL,
    allow TEXT NOT NULL,
    schedules TEXT NOT NULL,
    liveness TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS person_access (
    person_id INTEGER PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    valid_from TEXT,
    valid_until TEXT
);
CREATE TABLE IF NOT EXISTS person_groups (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    grp TEXT NOT NULL,
    PRIMARY KEY (person_id, grp)
);
"""

DOOR_COLUMNS = "name, mode, level, far, allow, schedules, liveness, version"


class AccessStore(Protocol):
    """Where door rules and people's access records are kept (SQLite now, PostgreSQL later)."""

    def add_door(self, rules: DoorRules) -> DoorRules:
        """Store a new door (version 1); refuse an existing name."""
        ...

    def update_door(self, rules: DoorRules) -> DoorRules:
        """Replace a door's rules, bumping its version; refuse an unknown name."""
        ...

    def remove_door(self, name: str) -> DoorRules:
        """Delete a door and return what it was."""
        ...

    def door(self, name: str) -> DoorRules | None:
        """Return a door's rules, or None when the door is not configured."""
        ...

    def doors(self) -> list[DoorRules]:
        """Return every configured door, by name."""
        ...

    def set_person_access(self, name: str, access: PersonAccess) -> PersonAccess:
        """Replace an enrolled person's groups and validity dates."""
        ...

    def person_access(self, name: str) -> PersonAccess:
        """Return an enrolled person's groups and dates (none stored: no groups, no limits)."""
        ...

    def accesses(self) -> dict[str, PersonAccess]:
        """Return every enrolled person's access record, by name."""
        ...

    def close(self) -> None:
        """Release the backend's resources."""
        ...


def _now() -> str:
    """Return the current UTC time as ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _door_row(rules: DoorRules, version: int) -> tuple[object, ...]:
    """Return the column values of a door, in DOOR_COLUMNS order plus updated_at."""
    schedules = {g: [str(w) for w in ws] for g, ws in sorted(rules.schedules.items())}
    return (
        rules.name,
        rules.mode,
        rules.level,
        float(rules.far),
        json.dumps(list(rules.allow)),
        json.dumps(schedules),
        rules.liveness,
        version,
        _now(),
    )


def _row_door(row: Sequence[object]) -> DoorRules:
    """Return the door stored in one row (DOOR_COLUMNS order)."""
    name, mode, level, far, allow, schedules, liveness, version = row
    windows = {
        g: tuple(Window.parse(w) for w in ws) for g, ws in json.loads(str(schedules)).items()
    }
    return DoorRules(
        name=str(name),
        mode=mode,  # type: ignore[arg-type]
        level=level,  # type: ignore[arg-type]
        far=float(far),  # type: ignore[arg-type]
        allow=tuple(json.loads(str(allow))),
        schedules=windows,
        liveness=liveness,  # type: ignore[arg-type]
        version=int(version),  # type: ignore[call-overload]
    )


def _day(value: object) -> date | None:
    """Return a stored ISO date, or None."""
    return None if value is None else date.fromisoformat(str(value))


class SQLiteAccessStore(SQLiteStore):
    """Door rules and people's access records in the gallery's SQLite file."""

    SCHEMA = SCHEMA
    META_TABLE = "access_meta"
    SCHEMA_VERSION = SCHEMA_VERSION
    WHAT = "access store"
    ERROR = GalleryUnavailableError

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._conn.execute("PRAGMA foreign_keys=ON")

    def add_door(self, rules: DoorRules) -> DoorRules:
        """Store a new door (version 1); refuse an existing name."""
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM doors WHERE name = ?", (rules.name,)).fetchone():
                raise DoorExistsError(f"door {rules.name!r} exists (use `doors set`)")
            conn.execute(
                f"INSERT INTO doors({DOOR_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _door_row(rules, 1),
            )
        return self._door_or_raise(rules.name)

    def update_door(self, rules: DoorRules) -> DoorRules:
        """Replace a door's rules, bumping its version; refuse an unknown name."""
        with self._write() as conn:
            row = conn.execute("SELECT version FROM doors WHERE name = ?", (rules.name,)).fetchone()
            if row is None:
                raise UnknownDoorError(f"door {rules.name!r} is not configured")
            values = _door_row(rules, int(row[0]) + 1)
            conn.execute(
                "UPDATE doors SET mode = ?, level = ?, far = ?, allow = ?, schedules = ?,"
                " liveness = ?, version = ?, updated_at = ? WHERE name = ?",
                (*values[1:], rules.name),
            )
        return self._door_or_raise(rules.name)

    def remove_door(self, name: str) -> DoorRules:
        """Delete a door and return what it was."""
        rules = self._door_or_raise(name)
        with self._write() as conn:
            conn.execute("DELETE FROM doors WHERE name = ?", (name,))
        return rules

    def door(self, name: str) -> DoorRules | None:
        """Return a door's rules, or None when the door is not configured."""
        rows = self._read(f"SELECT {DOOR_COLUMNS} FROM doors WHERE name = ?", (name,))
        return _row_door(rows[0]) if rows else None

    def _door_or_raise(self, name: str) -> DoorRules:
        """Return a door's rules or raise UnknownDoorError."""
        rules = self.door(name)
        if rules is None:
            raise UnknownDoorError(f"door {name!r} is not configured")
        return rules

    def doors(self) -> list[DoorRules]:
        """Return every configured door, by name."""
        return [_row_door(r) for r in self._read(f"SELECT {DOOR_COLUMNS} FROM doors ORDER BY name")]

    def _person_id(self, name: str) -> int:
        """Return an enrolled person's id or raise UnknownPersonError."""
        rows = self._read("SELECT id FROM people WHERE name = ?", (name,))
        if not rows:
            raise UnknownPersonError(f"{name!r} is not enrolled")
        return int(rows[0][0])

    def set_person_access(self, name: str, access: PersonAccess) -> PersonAccess:
        """Replace an enrolled person's groups and validity dates."""
        if access.valid_from and access.valid_until and access.valid_until < access.valid_from:
            raise ValueError("--valid-until is before --valid-from")
        person_id = self._person_id(name)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO person_access(person_id, valid_from, valid_until) VALUES (?, ?, ?)"
                " ON CONFLICT(person_id) DO UPDATE SET valid_from = excluded.valid_from,"
                " valid_until = excluded.valid_until",
                (
                    person_id,
                    access.valid_from and access.valid_from.isoformat(),
                    access.valid_until and access.valid_until.isoformat(),
                ),
            )
            conn.execute("DELETE FROM person_groups WHERE person_id = ?", (person_id,))
            conn.executemany(
                "INSERT INTO person_groups(person_id, grp) VALUES (?, ?)",
                [(person_id, g) for g in sorted(access.groups)],
            )
        return self.person_access(name)

    def person_access(self, name: str) -> PersonAccess:
        """Return an enrolled person's groups and dates (none stored: no groups, no limits)."""
        person_id = self._person_id(name)
        return self._accesses(" WHERE p.id = ?", (person_id,)).get(name, PersonAccess())

    def accesses(self) -> dict[str, PersonAccess]:
        """Return every enrolled person's access record, by name."""
        return self._accesses("", ())

    def _accesses(self, where: str, params: Sequence[object]) -> dict[str, PersonAccess]:
        """Return the access records of the people the WHERE clause selects."""
        dates = self._read(
            "SELECT p.name, a.valid_from, a.valid_until FROM people p"
            " LEFT JOIN person_access a ON a.person_id = p.id" + where,
            params,
        )
        groups: dict[str, set[str]] = {}
        for name, grp in self._read(
            "SELECT p.name, g.grp FROM people p JOIN person_groups g ON g.person_id = p.id" + where,
            params,
        ):
            groups.setdefault(name, set()).add(grp)
        return {
            name: PersonAccess(frozenset(groups.get(name, ())), _day(start), _day(end))
            for name, start, end in dates
        }
