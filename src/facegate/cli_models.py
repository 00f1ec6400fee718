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


@models_app.command("fit-table")
def models_fit_table(
    embedder: Annotated[
        str, typer.Option("--embedder", help="onnx-arcface:PATH or onnx:PATH: the model to fit.")
    ],
    root: Annotated[
        Path, typer.Option("--root", help="Folder per identity (e.g. LFW images); one image each.")
    ],
    people: Annotated[int, typer.Option(help="Identities used (sorted by name).")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="FACEGATE_CONFIG", help="Settings TOML file."),
    ] = None,
) -> None:
    """Fit a model's 1:N impostor table (MODEL.impostor.json beside it) on distinct people."""
    from facegate.cli import EXIT_OK, _emit, _run, _settings
    from facegate.decide.threshold import fit_impostor_tail, tail_path
    from facegate.evaluate.impostors import first_image_vectors

    def body() -> int:
        settings = _settings(config, embedder)
        vectors, model, name = first_image_vectors(root, people, settings.vision)
        source = f"the first image of each of {len(vectors)} identities in {root}"
        table = fit_impostor_tail(vectors, source, name)
        table.save(tail_path(model))
        if as_json:
            _emit({"embedder": name, "table": str(tail_path(model)), "pairs": table.pairs})
        else:
            typer.echo(f"{name}: {table.pairs} impostor pairs -> {tail_path(model)}")
        return EXIT_OK

    _run(as_json, body)
