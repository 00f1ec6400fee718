"""`facegate models`: make the model files facegate converts or unpacks, up front."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

models_app = typer.Typer(
    help="Model files facegate makes itself (the dlib ResNet as ONNX, ...).", no_args_is_help=True
)


@models_app.command("prepare")
def models_prepare(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="FACEGATE_CONFIG", help="Settings TOML file."),
    ] = None,
) -> None:
    """Convert / unpack every model into the cache now (also done lazily on first use)."""
    from facegate.cli import EXIT_OK, _emit, _run, _settings
    from facegate.vision.model_files import file_sha256, prepare_models

    def body() -> int:
        settings = _settings(config)
        files = prepare_models(settings.vision.model_cache_dir)
        for name, path in files.items():
            if as_json:
                _emit({"model": name, "path": str(path), "sha256": file_sha256(path)})
            else:
                typer.echo(f"{name}: {path}")
        return EXIT_OK

    _run(as_json, body)
