"""What every `facegate` command shares: exit codes, common options, printing, error handling."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from facegate.errors import FacegateError
from facegate.json_out import dumps
from facegate.settings import Settings, load_settings

EXIT_OK, EXIT_REJECTED, EXIT_BAD_INPUT = 0, 1, 2

console = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object per result.")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="FACEGATE_DB",
        help="Gallery database: a SQLite file or a postgresql:// URL (default: user data dir).",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", envvar="FACEGATE_CONFIG", help="Settings TOML file."),
]
EmbedderOpt = Annotated[
    str | None,
    typer.Option(
        "--embedder",
        help="'dlib', 'onnx:PATH' (a head or CNN from `facegate train`) or 'onnx-arcface:PATH' "
        "(your ArcFace-style 112 px model); default: settings.",
    ),
]


def _emit(obj: dict[str, object]) -> None:
    """Print one JSON object on its own line, floats rounded (facegate.json_out)."""
    sys.stdout.write(dumps(obj) + "\n")
    sys.stdout.flush()


def _run(as_json: bool, body: Callable[[], int]) -> None:
    """Run a command body, turning facegate errors into exit code 2 with a one-line reason."""
    try:
        code = body()
    except (FacegateError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if as_json:
            _emit({"error": getattr(exc, "code", "bad_input"), "message": reason})
        sys.stderr.write(f"facegate: error: {reason}\n")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    raise typer.Exit(code)


def _existing(target: str | Path | None, settings: Settings, what: str = "gallery") -> str | Path:
    """Return the database a read command uses (given, settings.db, default); refuse if missing."""
    from facegate.api import default_db_path
    from facegate.db_exists import require_database

    return require_database(target or settings.db or default_db_path(), settings, what)


def _settings(config: Path | None, embedder: str | None = None) -> Settings:
    """Return settings from the config file (if any) and the environment, with --embedder."""
    settings = load_settings(config)
    if embedder is None:
        return settings
    vision = settings.vision.model_validate({**settings.vision.model_dump(), "embedder": embedder})
    return settings.model_copy(update={"vision": vision})
