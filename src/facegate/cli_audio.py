"""The wake-phrase commands, `facegate listen` and `facegate train-trigger`, added to the app."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from facegate.errors import FacegateError

if TYPE_CHECKING:
    from facegate.audio.wake import WakeListener
    from facegate.settings import Settings
    from facegate.stream.loop import AccessLoop

# The same options as cli.py's (annotations are read from this module's globals).
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object per result.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", envvar="FACEGATE_CONFIG", help="Settings TOML file."),
]


def wav_paths(items: list[Path] | None) -> tuple[Path, ...]:
    """Return the WAV files named, a folder standing for every *.wav in it (sorted)."""
    out: list[Path] = []
    for item in items or []:
        if item.is_dir():
            out += sorted(item.glob("*.wav"))
        elif item.is_file():
            out.append(item)
        else:
            raise FacegateError(f"no such audio file or folder: {item}")
    return tuple(out)


def register(app: typer.Typer) -> None:
    """Add `listen` and `train-trigger` to the facegate app."""
    from facegate.cli_common import EXIT_OK, _emit, _run, _settings, console

    @app.command()
    def listen(
        source: Annotated[
            str,
            typer.Option(
                help="MIC (the default microphone, PortAudio), a WAV file, or - for raw signed "
                "16-bit little-endian mono PCM on stdin at --rate."
            ),
        ] = "MIC",
        phrase: Annotated[
            str | None,
            typer.Option(
                help="Shipped phrase name (e.g. activate) or a trigger .onnx from "
                "`facegate train-trigger` (default: settings audio.model)."
            ),
        ] = None,
        rate: Annotated[
            int, typer.Option(min=1, help="Sample rate of raw PCM on stdin (Hz).")
        ] = 16000,
        as_json: JsonOpt = False,
        config: ConfigOpt = None,
    ) -> None:
        """Listen for the wake phrase: energy -> Silero VAD -> trigger model; one line per hit."""
        from facegate.audio.cascade import Listener
        from facegate.audio.sources import open_audio

        def body() -> int:
            settings = _settings(config).audio
            blocks = open_audio(source, settings, rate)
            listener = Listener(settings, phrase)
            try:
                for event in listener.run(blocks):
                    if as_json:
                        _emit(event.as_dict())
                    else:
                        console.print(
                            f"{event.time} heard [bold]{event.phrase}[/] at {event.offset_s:.2f} s"
                            f" (score {event.score:.2f}, {event.latency_ms:.1f} ms)"
                        )
            except KeyboardInterrupt:
                pass
            stats = listener.stats
            seconds = stats.blocks * settings.block_samples / settings.sample_rate
            typer.echo(
                f"facegate: {seconds:.1f} s of audio, {stats.loud} blocks past the energy stage, "
                f"{stats.speech} speech, {stats.triggered} to the trigger model",
                err=True,
            )
            return EXIT_OK

        _run(as_json, body)

    @app.command("train-trigger")
    def train_trigger(
        phrase: Annotated[str, typer.Option(help="The wake phrase (espeak-ng speaks it).")],
        out: Annotated[
            Path | None,
            typer.Option(help="Model file to write (default: trigger-PHRASE.onnx here)."),
        ] = None,
        real_positive: Annotated[
            list[Path] | None,
            typer.Option(help="Real recordings of the phrase: WAV files or folders (repeatable)."),
        ] = None,
        real_negative: Annotated[
            list[Path] | None,
            typer.Option(help="Real recordings of other words or sounds (repeatable)."),
        ] = None,
        background: Annotated[
            list[Path] | None,
            typer.Option(help="Real background recordings the words are laid on (repeatable)."),
        ] = None,
        data_root: Annotated[
            Path | None,
            typer.Option(help="Manifest paths are written relative to this folder."),
        ] = None,
        clips: Annotated[
            int | None, typer.Option(min=1, help="Training clips (default: settings).")
        ] = None,
        epochs: Annotated[int | None, typer.Option(min=1, help="Default: settings.")] = None,
        seed: Annotated[int | None, typer.Option(help="Default: settings.")] = None,
        as_json: JsonOpt = False,
        config: ConfigOpt = None,
    ) -> None:
        """Train a trigger model on synthesised 10 s clips and export it to ONNX with its card."""

        def body() -> int:
            from facegate.training.trigger_train import TriggerSources, train_trigger

            settings = _settings(config)
            changes = {"train_clips": clips, "epochs": epochs, "seed": seed}
            train = settings.trigger_train.model_copy(
                update={k: v for k, v in changes.items() if v is not None}
            )
            if not phrase.strip():
                raise FacegateError("--phrase must not be empty")
            sources = TriggerSources(
                phrase.strip(),
                wav_paths(real_positive),
                wav_paths(real_negative),
                wav_paths(background),
                data_root,
            )
            target = out or Path(f"trigger-{'-'.join(phrase.split())}.onnx")
            progress = None if as_json else (lambda line: typer.echo(line, err=True))
            card = train_trigger(sources, target, train, settings.audio, progress)
            if as_json:
                _emit({"model": str(target), **card})
            else:
                held = card["held_out_synthetic"]
                console.print(
                    f"wrote {target} ({card['onnx_bytes']} bytes): threshold "
                    f"{card['threshold']}, held-out synthetic detection "
                    f"{held['detection_rate']:.1%}, {held['false_per_hour']:.1f} false/hour "
                    f"(threshold from {card['threshold_from']})"
                )
            return EXIT_OK

        _run(as_json, body)


def start_wake(
    loop: AccessLoop, phrase: str, source: str, settings: Settings, events: Path, as_json: bool
) -> WakeListener:
    """Close the loop's gate until the phrase is heard on source; log and print each wake."""
    from facegate.access_event import now_iso
    from facegate.audio.cascade import Listener, WakeEvent
    from facegate.audio.sources import open_audio
    from facegate.audio.wake import WakeGate, WakeListener, paced
    from facegate.cli_common import _emit, console
    from facegate.monitor.wake_log import WakeLog

    audio = settings.audio
    blocks = open_audio(source, audio)
    if source not in ("-",) and source.upper() != "MIC":
        blocks = paced(blocks, audio.block_samples / audio.sample_rate)
    listener = Listener(audio, phrase)
    gate = WakeGate(loop.gate, audio.wake_seconds)
    loop.gate = gate
    door = settings.loop.door

    def on_wake(event: WakeEvent) -> None:
        row = {
            **event.as_dict(),
            "time": now_iso(),
            "door": door,
            "open_seconds": audio.wake_seconds,
        }
        with WakeLog(events) as log:
            log.append(row)
        if as_json:
            _emit({"wake": row})
        else:
            console.print(
                f"{row['time']} door {door}: [bold]awake[/] ({event.phrase}, score "
                f"{event.score:.2f}) for {audio.wake_seconds:.0f} s"
            )

    return WakeListener(listener, blocks, gate, on_wake).start()
