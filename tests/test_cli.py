"""The `facegate` command as a user runs it: subprocesses, JSON lines and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facegate.media import encode_jpeg, load_image

NOTE = ("--consent", "test: LFW photo")


def facegate(*args: str | Path, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if db is not None:
        env["FACEGATE_DB"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "facegate", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def lines(result: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture
def enrolled(tmp_path: Path, faces: dict[str, list[Path]]) -> Path:
    db = tmp_path / "g.db"
    powell = facegate(
        "enroll", "--json", "--consent", "test", "Colin Powell", *faces["Colin Powell"][:3], db=db
    )
    assert powell.returncode == 0, powell.stderr
    assert lines(powell)[0]["enrolled"]["embeddings"] == 3
    serena = facegate(
        "enroll", "--no-consent-note", "Serena Williams", *faces["Serena Williams"][:2], db=db
    )
    assert serena.returncode == 0, serena.stderr
    return db


def test_people_list_and_remove(enrolled: Path) -> None:
    listed = lines(facegate("people", "list", "--json", db=enrolled))
    assert [p["name"] for p in listed] == ["Colin Powell", "Serena Williams"]
    assert listed[0]["consent"] == "test"
    removed = facegate("people", "remove", "--json", "Serena Williams", db=enrolled)
    assert removed.returncode == 0 and lines(removed)[0]["removed"]["name"] == "Serena Williams"
    again = facegate("people", "remove", "Serena Williams", db=enrolled)
    assert again.returncode == 2 and "not enrolled" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_verify_accepts_the_person_and_rejects_another(
    enrolled: Path, faces: dict[str, list[Path]]
) -> None:
    accepted = facegate("verify", "--json", "Colin Powell", faces["Colin Powell"][3], db=enrolled)
    assert accepted.returncode == 0, accepted.stderr
    result = lines(accepted)[0]
    assert result["accepted"] is True and result["distance"] < result["threshold"]
    rejected = facegate("verify", "--json", "Colin Powell", faces["George W Bush"][0], db=enrolled)
    assert rejected.returncode == 1 and lines(rejected)[0]["accepted"] is False


def test_identify_known_and_unknown(enrolled: Path, faces: dict[str, list[Path]]) -> None:
    known = facegate("identify", "--json", faces["Serena Williams"][2], db=enrolled)
    assert known.returncode == 0 and lines(known)[0]["person"] == "Serena Williams"
    unknown = facegate("identify", "--json", faces["George W Bush"][1], db=enrolled)
    assert unknown.returncode == 1
    result = lines(unknown)[0]
    assert result["person"] is None and result["distance"] > result["threshold"]


def test_identify_all_faces(enrolled: Path, faces: dict[str, list[Path]], tmp_path: Path) -> None:
    both = np.concatenate(
        [load_image(faces["Colin Powell"][3]), load_image(faces["George W Bush"][1])], axis=1
    )
    path = tmp_path / "two.jpg"
    path.write_bytes(encode_jpeg(both))
    result = facegate("identify", "--json", "--all-faces", path, db=enrolled)
    people = sorted(str(r["person"]) for r in lines(result))
    assert people == ["Colin Powell", "None"] and result.returncode == 1


def test_bad_inputs_exit_2_and_leave_gallery_unchanged(
    enrolled: Path, faces: dict[str, list[Path]], tmp_path: Path
) -> None:
    text = tmp_path / "note.jpg"
    text.write_text("not a picture")
    blank = tmp_path / "blank.jpg"
    blank.write_bytes(encode_jpeg(np.full((120, 120, 3), 90, np.uint8)))
    two = tmp_path / "two.jpg"
    two.write_bytes(
        encode_jpeg(
            np.concatenate(
                [load_image(faces["George W Bush"][0]), load_image(faces["George W Bush"][2])],
                axis=1,
            )
        )
    )
    cases = [
        (("enroll", "George W Bush", faces["George W Bush"][0], text, *NOTE), "not an image"),
        (("enroll", "George W Bush", faces["George W Bush"][0], blank, *NOTE), "no face"),
        (("enroll", "George W Bush", two, *NOTE), "2 faces"),
        (("enroll", "Colin Powell", faces["Colin Powell"][3], *NOTE), "already enrolled"),
        (("enroll", "George W Bush", faces["George W Bush"][0]), "consent note is required"),
        (("verify", "Nobody", faces["Colin Powell"][3]), "not enrolled"),
        (("identify", blank), "no face"),
        (("identify", tmp_path / "missing.jpg"), "cannot read"),
    ]
    for args, message in cases:
        result = facegate(*args, db=enrolled)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    people = lines(facegate("people", "list", "--json", db=enrolled))
    assert [(p["name"], p["embeddings"]) for p in people] == [
        ("Colin Powell", 3),
        ("Serena Williams", 2),
    ]


def test_json_error_object(enrolled: Path, tmp_path: Path) -> None:
    result = facegate("identify", "--json", tmp_path / "missing.jpg", db=enrolled)
    assert lines(result)[0]["error"] == "not_an_image"


def test_usage_error_exits_2() -> None:
    assert facegate("verify").returncode == 2
    assert facegate("no-such-command").returncode == 2


def test_run_refuses_a_bad_output_url_before_starting(tmp_path: Path) -> None:
    result = facegate("run", "--json", "--mqtt", "mqtt://broker:99999", db=tmp_path / "g.db")
    assert result.returncode == 2 and "bad port in MQTT URL" in result.stderr
    assert [line["error"] for line in lines(result)] == ["bad_output"]
    assert not (tmp_path / "g.db").exists()


def test_help_lists_commands() -> None:
    out = facegate("--help").stdout
    for command in ("enroll", "people", "verify", "identify", "eval", "demo"):
        assert command in out
    run_help = facegate("run", "--help")
    assert run_help.returncode == 0, run_help.stderr
    for option in ("--webhook", "--mqtt", "--command"):
        assert option in run_help.stdout


def test_eval_pairs_on_lfw_slice(lfw: Path, tmp_path: Path) -> None:
    roc = tmp_path / "roc.png"
    result = facegate(
        "eval",
        "pairs",
        "--json",
        lfw / "pairs.txt",
        "--root",
        lfw / "images",
        "--limit",
        "40",
        "--workers",
        "2",
        "--roc",
        roc,
    )
    assert result.returncode == 0, result.stderr
    report = lines(result)[0]
    assert report["pairs"] == 40 and report["protocol"] == "lfw-10fold"
    assert report["accuracy"] >= 0.9 and report["ms_per_image"] > 0
    for key in ("accuracy_std", "no_face", "auc", "eer", "tar_at_far_1e-3"):
        assert key in report
    assert roc.stat().st_size > 10_000


def test_eval_pairs_on_deepface_csv(deepface: Path) -> None:
    result = facegate(
        "eval", "pairs", "--json", deepface / "master.csv", "--root", deepface, "--limit", "30"
    )
    assert result.returncode == 0, result.stderr
    report = lines(result)[0]
    assert report["pairs"] == 30 and report["accuracy_at_threshold"] >= 0.9


def test_demo_runs_and_decides() -> None:
    result = facegate("demo", "--json")
    assert result.returncode == 0, result.stderr
    steps = lines(result)
    decisions = [
        (s["step"], s.get("accepted", s.get("person")))
        for s in steps
        if s["step"] in {"verify", "identify"}
    ]
    assert decisions == [
        ("verify", True),
        ("verify", False),
        ("identify", None),
        ("identify", "Grace Hopper"),
        ("identify", "Eileen Collins"),
    ]


def test_two_enroll_processes_at_once(tmp_path: Path, faces: dict[str, list[Path]]) -> None:
    db = tmp_path / "g.db"
    env = dict(os.environ, FACEGATE_DB=str(db))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "facegate", "enroll", name, *faces[name][:2], *NOTE],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("Colin Powell", "George W Bush")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    people = lines(facegate("people", "list", "--json", db=db))
    assert sorted((p["name"], p["embeddings"]) for p in people) == [
        ("Colin Powell", 2),
        ("George W Bush", 2),
    ]


def test_read_only_gallery_file(enrolled: Path, faces: dict[str, list[Path]]) -> None:
    enrolled.chmod(0o444)
    try:
        result = facegate("enroll", "George W Bush", faces["George W Bush"][0], *NOTE, db=enrolled)
        assert result.returncode == 2 and "read-only" in result.stderr
        assert facegate("identify", faces["Colin Powell"][3], db=enrolled).returncode == 0
    finally:
        enrolled.chmod(0o644)
