"""Hostile input at the command line: settings, image paths, names, erasure, door rules."""

from __future__ import annotations

import os
import sqlite3
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from test_cli import facegate, lines

from facegate.access_event import AccessEvent, now_iso
from facegate.gallery import EmbeddingRecord, SQLiteGallery
from facegate.media import encode_jpeg
from facegate.monitor.crops import CropStore
from facegate.monitor.events import EventLog


def empty_gallery(folder: Path) -> Path:
    """Create an empty gallery file (read commands refuse a missing one) and return it."""
    SQLiteGallery(folder / "g.db").close()
    return folder / "g.db"


def _record() -> EmbeddingRecord:
    """Return one stored-embedding record (a fixed unit vector)."""
    return EmbeddingRecord(np.ones(128, np.float32) / np.sqrt(128), "m", "a.jpg", 90, 50.0, 120.0)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FACEGATE_DECIDE__THRESHOLD", "inf"),
        ("FACEGATE_DECIDE__THRESHOLD", "5"),
        ("FACEGATE_DECIDE__THRESHOLD", "nan"),
        ("FACEGATE_DECIDE__IDENTIFY_THRESHOLD", "inf"),
        ("FACEGATE_LOOP__RETRY_MARGIN", "inf"),
    ],
)
def test_thresholds_must_be_finite_and_in_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """A threshold that would admit anyone is refused with exit 2, naming the key."""
    monkeypatch.setenv(variable, value)
    result = facegate("people", "list", db=empty_gallery(tmp_path))
    key = variable.removeprefix("FACEGATE_").lower().replace("__", ".")
    assert result.returncode == 2 and key in result.stderr, result.stderr


def test_unknown_settings_keys_and_sections_are_named(tmp_path: Path) -> None:
    """A typo in the TOML file is refused naming the key and the section."""
    config = tmp_path / "f.toml"
    config.write_text("[decide]\nthreshhold = 0.3\n[doorz]\nx = 1\n")
    result = facegate("people", "list", "--config", config, db=empty_gallery(tmp_path))
    assert result.returncode == 2
    assert "decide.threshhold: unknown key" in result.stderr and "doorz" in result.stderr


def test_images_must_be_regular_files(tmp_path: Path) -> None:
    """A directory, a FIFO or /dev/zero is refused at once (no traceback, hang or memory)."""
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    for path in (tmp_path, fifo, Path("/dev/zero")):
        result = facegate("identify", path, db=empty_gallery(tmp_path))
        assert result.returncode == 2, (path, result.stderr)
        assert "regular file" in result.stderr and "Traceback" not in result.stderr


def test_an_image_over_the_byte_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """media.max_bytes caps what is read from a path."""
    image = tmp_path / "big.jpg"
    image.write_bytes(encode_jpeg(np.zeros((64, 64, 3), np.uint8)) + b"\0" * 5000)
    monkeypatch.setenv("FACEGATE_MEDIA__MAX_BYTES", "2000")
    result = facegate("identify", image, db=empty_gallery(tmp_path))
    assert result.returncode == 2 and "limit is 2000" in result.stderr


@pytest.mark.parametrize(
    "name", ["Colin Powell\u200b", "Colin\u202ePowell", "Colin\tPowell", "x" * 201, "  "]
)
def test_names_with_invisible_characters_or_too_long_are_refused(tmp_path: Path, name: str) -> None:
    """The CLI refuses such names before any face work (exit 2), as the HTTP limits do."""
    image = tmp_path / "a.jpg"
    image.write_bytes(encode_jpeg(np.zeros((64, 64, 3), np.uint8)))
    result = facegate("enroll", name, image, "--consent", "t", db=empty_gallery(tmp_path))
    assert result.returncode == 2 and "name" in result.stderr, result.stderr


def test_names_are_stored_in_one_unicode_form(tmp_path: Path) -> None:
    """'José' typed decomposed (NFD) is the same person as composed (NFC)."""
    with SQLiteGallery(tmp_path / "g.db") as gallery:
        decomposed = unicodedata.normalize("NFD", "José")
        stored = gallery.add_person(decomposed, [_record()], consent="")
        assert stored.name == "José" and stored.name != decomposed
        assert gallery.get_person(decomposed).id == stored.id
        assert len(gallery.embeddings("m", decomposed)) == 1


def test_people_remove_leaves_no_name_in_any_database_file(tmp_path: Path) -> None:
    """Events keep a tombstone id, not the name; their crops go; no file (incl. -wal) holds them."""
    db = tmp_path / "g.db"
    name = "Quentin Zarathustra"
    crop = b"\xff\xd8" + b"CROP-OF-QUENTIN-" * 16
    with SQLiteGallery(db) as gallery, EventLog(db) as log, CropStore(db) as crops:
        person = gallery.add_person(name, [_record()], consent="")
        for who, claimed in ((name, None), (None, name)):
            event_id = log.append(
                AccessEvent(now_iso(), "main", "verify", None, claimed, "deny", who, 0.5, 0.4, 1)
            )
            crops.add(event_id, 1e12, crop)
        result = facegate("people", "remove", "--json", name, db=db)
        assert result.returncode == 0, result.stderr
        rows = sqlite3.connect(db).execute("SELECT person, claimed FROM access_events").fetchall()
        assert crops.count() == 0
    tomb = f"removed-person-{person.id}"
    assert sorted(rows, key=str) == sorted([(tomb, None), (None, tomb)], key=str)
    for path in tmp_path.iterdir():
        assert name.encode() not in path.read_bytes(), path
        assert crop[2:40] not in path.read_bytes(), path


def test_door_commands_refuse_bad_rules_with_exit_2(tmp_path: Path) -> None:
    """Bad schedules, levels, names, modes and dates are refused naming the problem."""
    db = tmp_path / "g.db"
    made = facegate(
        "doors", "add", "server", "--allow", "admins", "--level", "high", "--json", db=db
    )
    assert made.returncode == 0, made.stderr
    shown = lines(made)[0]
    assert shown["far"] == 0.0001 and shown["version"] == 1
    assert 0.0 < shown["expected_false_reject"] < 1.0  # from the shipped genuine table
    for args, message in [
        (("add", "server"), "exists"),
        (("add", "x", "--schedule", "admins=Mon 07:00-08:00"), "does not allow"),
        (("add", "x", "--allow", "a", "--schedule", "a=Funday 07:00-08:00"), "not a day"),
        (("add", "x", "--level", "ultra"), "level"),
        (("add", "x", "--level", "low", "--fpir", "0.1"), "not both"),
        (("add", "x", "--mode", "open"), "--mode"),
        (("add", "bad name"), "door name"),
        (("set", "nope", "--level", "low"), "not configured"),
        (("show", "nope"), "not configured"),
    ]:
        result = facegate("doors", *args, db=db)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    changed = facegate("doors", "set", "server", "--level", "low", "--json", db=db)
    assert lines(changed)[0]["version"] == 2 and lines(changed)[0]["allow"] == ["admins"]
    listed = lines(facegate("doors", "list", "--json", db=db))
    assert [d["name"] for d in listed] == ["server"]
    bad_date = facegate("people", "set", "nobody", "--valid-until", "tomorrow", db=db)
    assert bad_date.returncode == 2
    assert facegate("doors", "remove", "server", db=db).returncode == 0
