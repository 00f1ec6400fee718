"""Settings: defaults, TOML file, FACEGATE_* variables, and refusal of unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from facegate.errors import SettingsError
from facegate.settings import load_settings


def test_defaults_without_file_or_env() -> None:
    settings = load_settings(environ={})
    assert settings.vision.detector == "yunet" and settings.vision.tta_mirror
    assert 0.3 < settings.decide.threshold < 0.6 and settings.db is None


def test_toml_then_env_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "facegate.toml"
    path.write_text(
        'db = "/tmp/x.db"\n[decide]\nthreshold = 0.4\nidentify_k = 3\n[vision]\nupsample = 2\n'
    )
    env = {"FACEGATE_DECIDE__THRESHOLD": "0.35", "FACEGATE_DATA": "/ignored"}
    settings = load_settings(path, environ=env)
    assert settings.decide.threshold == 0.35 and settings.decide.identify_k == 3
    assert settings.vision.upsample == 2 and settings.db == "/tmp/x.db"
    assert load_settings(path, environ=env, decide={"threshold": 0.3}).decide.threshold == 0.3


def test_config_file_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[vision]\ntta_mirror = false\n")
    assert not load_settings(environ={"FACEGATE_CONFIG": str(path)}).vision.tta_mirror


def test_db_from_environment() -> None:
    assert load_settings(environ={"FACEGATE_DB": "/tmp/g.db"}).db == "/tmp/g.db"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[vision]\ndetektor = 'hog'\n", "detektor"),
        ("[decide]\nthreshold = -1\n", "threshold"),
        ("[vision]\ndetector = 'yolo'\n", "detector"),
        ("not toml at all [", "cannot read settings"),
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError, match=message):
        load_settings(path, environ={})
