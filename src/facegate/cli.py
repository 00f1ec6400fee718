"""The `facegate` command: a thin layer over the Python API.

Exit codes: 0 accepted / done, 1 rejected / unknown, 2 bad input or usage.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from facegate import api
from facegate.cli_audio import register as register_audio_commands
from facegate.cli_audio import start_wake
from facegate.cli_common import (
    EXIT_OK,
    EXIT_REJECTED,
    ConfigOpt,
    DbOpt,
    EmbedderOpt,
    JsonOpt,
    _emit,
    _existing,
    _run,
    _settings,
    console,
)
from facegate.cli_doors import doors_app, people_set
from facegate.cli_edge import KeyOpt, ServerOpt, edge_door
from facegate.cli_help import TidyGroup, register_version
from facegate.cli_models import models_app
from facegate.consent import NO_CONSENT_NOTE, consent_note
from facegate.db_url import is_postgres_url
from facegate.errors import UnknownDoorError
from facegate.settings import Settings
from facegate.stores import access_store_of, event_log_of, open_event_log, open_key_store
from facegate.wording import people_count

if TYPE_CHECKING:
    from collections.abc import Callable

    from facegate.actions.outputs import Dispatcher
    from facegate.monitor.events import EventLog
    from facegate.stream.loop import AccessLoop
    from facegate.watch import AlarmRun

app = typer.Typer(
    help="facegate: face-recognition access control (enroll, verify 1:1, identify 1:N).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=TidyGroup,
)
people_app = typer.Typer(
    help="List enrolled people, set their groups and dates, or remove them.", no_args_is_help=True
)
eval_app = typer.Typer(help="Evaluate recognition accuracy on labelled data.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list or revoke API keys of the service.", no_args_is_help=True)
alarms_app = typer.Typer(help="Check the alarm bounds on the event log.", no_args_is_help=True)
app.add_typer(people_app, name="people")
app.add_typer(eval_app, name="eval")
app.add_typer(alarms_app, name="alarms")
app.add_typer(keys_app, name="keys")
app.add_typer(models_app, name="models")
app.add_typer(doors_app, name="doors")
people_app.command("set")(people_set)
register_version(app)


@app.command()
def enroll(
    name: Annotated[str, typer.Argument(help="The person's name (unique).")],
    images: Annotated[list[Path], typer.Argument(help="One or more photos of the person.")],
    as_json: JsonOpt = False,
    consent: Annotated[
        str,
        typer.Option(
            help="Consent note stored with the enrollment (who agreed, to what); required for a "
            "new person unless --no-consent-note."
        ),
    ] = "",
    no_consent_note: Annotated[
        bool,
        typer.Option(
            "--no-consent-note",
            help=f"Record {NO_CONSENT_NOTE!r} instead of a note.",
        ),
    ] = False,
    add: Annotated[
        bool,
        typer.Option(
            "--add", help="Add images to an enrolled person (no note needed: the earlier stays)."
        ),
    ] = False,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", help="A group the person joins (repeatable; see `doors add`)."),
    ] = None,
    db: DbOpt = None,
    embedder: EmbedderOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Enroll a person from one or more photos: all are stored or none.

    A new person needs --consent TEXT or --no-consent-note; --add keeps the earlier note.
    """

    def body() -> int:
        settings = _settings(config, embedder)
        note = consent_note(consent, no_consent_note, add, ("--consent", "--no-consent-note"))
        with api.open_gallery(db, settings) as gallery, access_store_of(gallery, settings) as store:
            person = api.enroll(
                gallery, name, images, note, add, settings, groups=group or (), store=store
            )
        if as_json:
            _emit({"enrolled": person.as_dict(), "images": len(images)})
        else:
            console.print(
                f"enrolled [bold]{person.name}[/] from {len(images)} image(s); "
                f"{person.embeddings} embedding(s) stored"
            )
        return EXIT_OK

    _run(as_json, body)


@people_app.command("list")
def people_list(as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """List enrolled people."""

    def body() -> int:
        settings = _settings(config)
        with api.open_gallery(_existing(db, settings), settings) as gallery:
            people, where = gallery.people(), gallery.path
        if as_json:
            for person in people:
                _emit(person.as_dict())
            return EXIT_OK
        table = Table("id", "name", "embeddings", "enrolled", "consent")
        for p in people:
            table.add_row(str(p.id), p.name, str(p.embeddings), p.created_at, p.consent or "")
        console.print(f"gallery {where}: {people_count(len(people))}", highlight=False)
        console.print(table if people else "no one is enrolled")
        return EXIT_OK

    _run(as_json, body)


@people_app.command("remove")
def people_remove(
    name: Annotated[str, typer.Argument(help="The person to remove.")],
    as_json: JsonOpt = False,
    events: Annotated[
        Path | None,
        typer.Option(help="Event log whose mentions become a tombstone (default: the gallery's)."),
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Remove a person and every trace (embeddings, consent, groups, name in events, crops)."""

    def body() -> int:
        settings = _settings(config)
        with (
            api.open_gallery(_existing(db, settings), settings) as gallery,
            open_event_log(_existing(events, settings, "event log"), settings)
            if events
            else event_log_of(gallery, settings) as log,
        ):
            person = api.remove_person(gallery, name, log)
        if as_json:
            _emit({"removed": person.as_dict()})
        else:
            console.print(f"removed [bold]{person.name}[/] and {person.embeddings} embedding(s)")
        return EXIT_OK

    _run(as_json, body)


DoorOpt = Annotated[
    str | None,
    typer.Option(
        "--door",
        help="Decide as this door would (its groups, schedule, level; unlock/retry/deny + reason); "
        "exit 0 only on unlock. Not logged.",
    ),
]


def _door_check(
    as_json: bool, settings: Settings, db: str | None, door: str, image: Path, claim: str | None
) -> int:
    """Run one door check (verify when a claim is given, else identify) and print it."""
    with (
        api.open_gallery(_existing(db, settings), settings) as gallery,
        access_store_of(gallery, settings) as store,
    ):
        if claim is None:
            check = api.check_identify(gallery, store, door, image, settings)
        else:
            check = api.check_verify(gallery, store, door, claim, image, settings)
    if as_json:
        _emit(check.as_dict())
    else:
        colour = {"unlock": "green", "retry": "yellow"}.get(check.decision, "red")
        distance = "-" if not math.isfinite(check.distance) else f"{check.distance:.3f}"
        console.print(
            f"[{colour}]{check.decision.upper()}[/] at door {door} ({check.reason}): "
            f"{check.person or 'nobody'}, distance {distance} (threshold {check.threshold:.3f})"
        )
    return EXIT_OK if check.decision == "unlock" else EXIT_REJECTED


@app.command()
def verify(
    name: Annotated[str, typer.Argument(help="The claimed person (the key card's owner).")],
    image: Annotated[Path, typer.Argument(help="The live photo.")],
    as_json: JsonOpt = False,
    door: DoorOpt = None,
    db: DbOpt = None,
    embedder: EmbedderOpt = None,
    config: ConfigOpt = None,
) -> None:
    """1:1 check: is the person in the photo the claimed one? Exit 0 accepted, 1 rejected."""

    def body() -> int:
        settings = _settings(config, embedder)
        if door is not None:
            return _door_check(as_json, settings, db, door, image, name)
        with api.open_gallery(_existing(db, settings), settings) as gallery:
            result = api.verify(gallery, name, image, settings)
        if as_json:
            _emit(result.as_dict())
        else:
            verdict = "[green]ACCEPTED[/]" if result.accepted else "[red]REJECTED[/]"
            console.print(
                f"{verdict} {name}: distance {result.distance:.3f} "
                f"(threshold {result.threshold:.3f}), {result.latency_ms:.0f} ms"
            )
        return EXIT_OK if result.accepted else EXIT_REJECTED

    _run(as_json, body)


@app.command()
def identify(
    image: Annotated[Path, typer.Argument(help="The photo to identify.")],
    as_json: JsonOpt = False,
    all_faces: Annotated[
        bool, typer.Option("--all-faces", help="Identify every face, not only the largest.")
    ] = False,
    door: DoorOpt = None,
    db: DbOpt = None,
    embedder: EmbedderOpt = None,
    config: ConfigOpt = None,
) -> None:
    """1:N check: who is this? Exit 0 when every face is known, 1 when any is unknown."""

    def body() -> int:
        settings = _settings(config, embedder)
        if door is not None:
            if all_faces:
                raise ValueError("--door checks the largest face; leave out --all-faces")
            return _door_check(as_json, settings, db, door, image, None)
        with api.open_gallery(_existing(db, settings), settings) as gallery:
            results = api.identify(gallery, image, settings, "all" if all_faces else None)
        for result in results:
            if as_json:
                _emit(result.as_dict())
            elif result.person:
                console.print(
                    f"[green]{result.person}[/] at {result.face.box.as_list()}: distance "
                    f"{result.distance:.3f} (threshold {result.threshold:.3f})"
                )
            else:
                near = (
                    f", nearest {result.nearest} at {result.distance:.3f}" if result.nearest else ""
                )
                console.print(f"[red]unknown[/] at {result.face.box.as_list()}{near}")
        return EXIT_OK if all(r.person for r in results) else EXIT_REJECTED

    _run(as_json, body)


@eval_app.command("pairs")
def eval_pairs(
    pairs_file: Annotated[
        Path, typer.Argument(help="LFW pairs.txt format, or CSV file_x,file_y,Decision.")
    ],
    root: Annotated[Path, typer.Option("--root", help="Folder the image paths are relative to.")],
    as_json: JsonOpt = False,
    limit: Annotated[
        int | None, typer.Option(help="Use at most N pairs (spread over folds).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Processes embedding images in parallel.")] = 1,
    embedders: Annotated[
        list[str] | None,
        typer.Option(
            "--embedder",
            help="Embedder to evaluate; repeat to compare several side by side. "
            "default (as the settings say), dlib, dlib-nomirror, dlib-jitter10 (native-dlib... "
            "on dlib's own code), onnx:PATH, onnx-arcface:PATH.",
        ),
    ] = None,
    roc: Annotated[Path | None, typer.Option("--roc", help="Write a ROC plot PNG here.")] = None,
    det: Annotated[Path | None, typer.Option("--det", help="Write a DET plot PNG here.")] = None,
    faces: Annotated[
        str,
        typer.Option(
            help="Face used per image: center (datasets cropped on the subject) or largest."
        ),
    ] = "center",
    config: ConfigOpt = None,
) -> None:
    """Verification accuracy on labelled pairs (LFW: 10 folds, threshold chosen on nine)."""
    from facegate.evaluate import read_pairs
    from facegate.evaluate.multi import embed_ms, embed_with, score_embedders
    from facegate.evaluate.plot import save_det_plot, save_roc_plot

    def body() -> int:
        settings = _settings(config)
        specs = list(dict.fromkeys(embedders or ["default"]))
        pairs = read_pairs(pairs_file, root)
        if limit is not None:
            pairs = pairs.head(limit)
        if faces not in ("center", "largest"):
            raise ValueError(f"--faces must be center or largest, not {faces!r}")
        images = embed_with(pairs.images(), settings, specs, workers, faces)  # type: ignore[arg-type]
        reports = score_embedders(pairs, images, specs, settings.decide.threshold)
        curves = {spec: report.roc for spec, report in reports.items()}
        if roc is not None:
            save_roc_plot(curves, roc, f"ROC on {pairs_file.name}")
        if det is not None:
            save_det_plot(curves, det, f"DET on {pairs_file.name}")
        if as_json:
            for spec, report in reports.items():
                _emit(
                    {
                        "embedder": spec,
                        **report.as_dict(),
                        "embed_ms": round(embed_ms(images, spec), 1),
                    }
                )
            return EXIT_OK
        first = next(iter(reports.values()))
        table = Table(
            "embedder",
            "acc k-fold %",
            f"acc@{first.threshold} %",
            "TAR@1e-2",
            "TAR@1e-3",
            "EER %",
            "AUC",
            "ms/img (embed)",
            title=f"{pairs_file.name}: {first.pairs} pairs, {first.images} images, "
            f"{first.no_face} without a face",
        )
        for spec, report in reports.items():
            table.add_row(
                spec,
                f"{100 * report.accuracy:.2f}±{100 * report.accuracy_std:.2f}",
                f"{100 * report.accuracy_at_threshold:.2f}",
                f"{report.tar_at_far_1e2:.4f}",
                f"{report.tar_at_far_1e3:.4f}",
                f"{100 * report.eer:.2f}",
                f"{report.auc:.5f}",
                f"{report.ms_per_image:.1f} ({embed_ms(images, spec):.1f})",
            )
        console.print(table)
        return EXIT_OK

    _run(as_json, body)


@app.command()
def analyze(
    pairs_file: Annotated[
        Path, typer.Argument(help="LFW pairs.txt format, or CSV file_x,file_y,Decision.")
    ],
    root: Annotated[Path, typer.Option("--root", help="Folder the image paths are relative to.")],
    html: Annotated[Path, typer.Option("--html", help="Write the HTML report here.")] = Path(
        "analyze.html"
    ),
    embedder: Annotated[
        str, typer.Option("--embedder", help="Embedder analysed (as in `facegate eval pairs`).")
    ] = "default",
    tags: Annotated[
        Path | None,
        typer.Option("--tags", help="CSV of human tags: image,tag rows (image relative to root)."),
    ] = None,
    train_error: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Training error (0..1), e.g. from a training run."),
    ] = None,
    train_pairs: Annotated[
        Path | None,
        typer.Option(help="Training pairs file: its error at its own best threshold."),
    ] = None,
    train_limit: Annotated[int | None, typer.Option(help="Use at most N training pairs.")] = None,
    limit: Annotated[
        int | None, typer.Option(help="Use at most N pairs (spread over folds).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Processes embedding images in parallel.")] = 1,
    worst: Annotated[int, typer.Option(help="Wrong pairs shown per grid.")] = 12,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Error analysis: error rate per slice (auto and human tags), worst pairs, bias/variance."""
    from facegate.evaluate import read_pairs
    from facegate.evaluate.analyze import analyze_pairs
    from facegate.evaluate.analyze import train_error as error_on_train
    from facegate.evaluate.html import render_analysis
    from facegate.evaluate.multi import embed_with
    from facegate.evaluate.slices import read_human_tags

    def body() -> int:
        settings = _settings(config)
        if train_error is not None and train_pairs is not None:
            raise ValueError("give --train-error or --train-pairs, not both")
        pairs = read_pairs(pairs_file, root)
        if limit is not None:
            pairs = pairs.head(limit)
        human = read_human_tags(tags, root) if tags is not None else None
        train = read_pairs(train_pairs, root) if train_pairs is not None else None
        if train is not None and train_limit is not None:
            train = train.head(train_limit)
        paths = set(pairs.images()) | set(train.images() if train else [])
        seen = embed_with(sorted(paths), settings, [embedder], workers)
        training = train_error
        if train is not None:
            training = error_on_train(train, {p: seen[p] for p in train.images()}, embedder)
        images = {p: seen[p] for p in pairs.images()}
        analysis = analyze_pairs(
            pairs, images, embedder, settings.decide.threshold, human, training, worst
        )
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_analysis(analysis, images, f"facegate analyze: {pairs_file.name}"))
        if as_json:
            _emit({**analysis.as_dict(), "report": str(html)})
            return EXIT_OK
        table = Table(
            "slice",
            "pairs",
            "errors",
            "error rate",
            "share of errors",
            "excess",
            title=f"{pairs_file.name}: {analysis.errors} errors in {analysis.report.pairs} pairs "
            f"({100 * analysis.error_rate:.2f} %); top slices by excess errors",
        )
        for item in analysis.slices[:10]:
            table.add_row(
                item.tag,
                str(item.pairs),
                str(item.errors),
                f"{100 * item.error_rate:.1f} %",
                f"{100 * item.share_of_errors:.0f} %",
                f"{item.excess_errors:+.1f}",
            )
        console.print(table)
        for line in analysis.diagnosis.lines():
            console.print(line)
        console.print(f"report: {html}")
        return EXIT_OK

    _run(as_json, body)


@app.command()
def demo(
    as_json: JsonOpt = False,
    db: Annotated[
        Path | None, typer.Option("--db", help="Gallery for the demo (default: a temporary one).")
    ] = None,
) -> None:
    """Enroll people from shipped public-domain photos and show verify / identify decisions."""
    from facegate.demo import run_demo

    def body() -> int:
        for line in run_demo(db):
            if as_json:
                _emit(line)
            else:
                console.print(line["text"])
        return EXIT_OK

    _run(as_json, body)


@app.command()
def run(
    source: Annotated[
        str | None,
        typer.Option(
            help="Webcam index, video file or RTSP/HTTP URL (default: the demo scene, on a "
            "temporary gallery and event log whatever --db says)."
        ),
    ] = None,
    door: Annotated[
        str | None, typer.Option(help="Door name (default: settings loop.door).")
    ] = None,
    as_json: JsonOpt = False,
    events: Annotated[
        Path | None, typer.Option(help="Event log SQLite file (default: the gallery's file).")
    ] = None,
    webhook: Annotated[
        list[str] | None,
        typer.Option(
            help="POST each decision as JSON here (repeatable; added to settings actions.webhooks)."
        ),
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option(
            help="Publish each decision to this MQTT broker, mqtt://user:pass@host:port/prefix "
            "(only the host is needed; topics <prefix>/<door>/decision and .../state; "
            "overrides settings actions.mqtt)."
        ),
    ] = None,
    command: Annotated[
        str | None,
        typer.Option(
            help="Run this command per decision (event JSON on stdin; overrides settings "
            "actions.command)."
        ),
    ] = None,
    max_seconds: Annotated[
        float | None, typer.Option(help="Stop after this many seconds of video.")
    ] = None,
    realtime: Annotated[
        bool, typer.Option(help="Pace files and the demo scene to their fps.")
    ] = False,
    wake_on: Annotated[
        str | None,
        typer.Option(
            help="Keep the camera loop asleep until this phrase is heard (a shipped name such as "
            "activate, or a trigger .onnx), then awake for settings audio.wake_seconds."
        ),
    ] = None,
    wake_source: Annotated[
        str, typer.Option(help="Audio for --wake-on: MIC, a WAV file (played in real time) or -.")
    ] = "MIC",
    server: ServerOpt = None,
    key: KeyOpt = None,
    site: Annotated[
        Path | None,
        typer.Option(
            help="Run every camera of this site file (TOML: one cameras table per door, with "
            "its source) in one process, sharing the face models; exit 1 if a camera failed."
        ),
    ] = None,
    db: DbOpt = None,
    embedder: EmbedderOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Watch a door: gate -> faces -> best frames -> decision, one per approaching person.

    Says what it watches, keeps a status line on a terminal, ends with elapsed time and fps.
    """
    from facegate.access_event import AccessEvent
    from facegate.cli_site import SINGLE_DOOR_OPTIONS, refuse_single_door_options, run_site_file
    from facegate.door import run_door
    from facegate.run_status import RunStatus

    on_terminal = not as_json and sys.stdout.isatty() and sys.stderr.isatty()
    status = RunStatus(source, Console(stderr=True), live_line=on_terminal)

    def show(event: AccessEvent) -> None:
        status.count(event)
        if as_json:
            _emit(event.as_dict())
            return
        replay = event.liveness is not None and event.liveness.get("live") is False
        reason = (event.liveness or {}).get("reason") or "replay"
        who = f"not live ({reason})" if replay else event.person or "unknown"
        distance = "-" if event.distance is None else f"{event.distance:.3f}"
        prompt = f' - asks "{event.prompt}"' if event.prompt else ""
        at = "" if event.video_s is None else f" (video {event.video_s:.2f} s)"
        (status.console if on_terminal else console).print(  # above the status line
            f"{event.time}{at} door {event.door} track {event.track}: [bold]{event.decision}[/] "
            f"({event.reason}) {who} (distance {distance}, {event.frames_used} frames, "
            f"{event.latency_ms:.0f} ms){prompt}"
        )

    def body() -> int:
        settings = _settings(config, embedder)
        if site is not None:
            flags = (source, door, events, webhook, mqtt, command, max_seconds, realtime, wake_on)
            flags += (server, key)
            refuse_single_door_options(dict(zip(SINGLE_DOOR_OPTIONS, flags, strict=True)))
            return run_site_file(site, settings, db, show)
        if door is not None:
            settings = settings.model_copy(
                update={"loop": settings.loop.model_copy(update={"door": door})}
            )
        outputs = (webhook or (), mqtt, command)
        phrase = wake_on

        def attach(loop: AccessLoop, log: EventLog) -> Callable[[], None]:
            """Say what the door watches, start the status line and the wake phrase listener."""
            stops = [status.start(loop)]
            if phrase is not None:
                wake = start_wake(loop, phrase, wake_source, settings, log.path, as_json)
                stops.append(wake.stop)

            def stop() -> None:
                for each in reversed(stops):
                    each()

            return stop

        if server is not None:
            local = (db, events, phrase)
            stats = edge_door(
                settings, source, server, key, local, outputs, show, max_seconds, realtime
            )
        else:
            stats = run_door(
                settings, source, db, events, outputs, show, max_seconds, realtime, attach
            )
        status.console.print(status.summary(stats), highlight=False, soft_wrap=True)
        return EXIT_OK

    _run(as_json, body)


EventsOpt = Annotated[
    Path | None, typer.Option(help="Event log SQLite file (default: the gallery's file).")
]


def _events_path(events: Path | None, db: str | None, settings: Settings) -> str | Path:
    """Return the event log file: --events, else the gallery's file; refuse a missing one."""
    return _existing(events or db, settings, "event log")


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "dashboard.html"
    ),
    door: Annotated[
        str | None,
        typer.Option(
            help="One door (default: all, then each); a door with no events that is not "
            "configured is refused (exit 2)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Start of the range, ISO 8601 (default: dashboard.range_hours ago)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End of the range, ISO 8601 (default: now).")
    ] = None,
    as_json: JsonOpt = False,
    events: EventsOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write the dashboard (rates, latency, distances, drift, alarms) as one static HTML file."""
    from datetime import UTC, datetime

    from facegate.access_event import to_utc
    from facegate.monitor.dashboard import render_dashboard

    def body() -> int:
        settings = _settings(config)
        end = to_utc(until) if until else datetime.now(UTC)
        if since is not None:
            hours = (end - to_utc(since)).total_seconds() / 3600
            if hours <= 0:
                raise ValueError("--since must be before --until")
            view = settings.dashboard.model_copy(update={"range_hours": hours})
            settings = settings.model_copy(update={"dashboard": view})
        path = _events_path(events, db, settings)
        with open_event_log(path, settings) as log:
            policies = _door_policies(db, settings)
            known = sorted({*log.doors(), *(str(p["name"]) for p in policies)})
            if door is not None and door not in known:
                raise UnknownDoorError(
                    f"door {door!r} has no events in {path} and is not configured "
                    f"(known doors: {', '.join(known) or 'none'})"
                )
            page = render_dashboard(log, settings, now=end, door=door, policies=policies)
        out.write_text(page, encoding="utf-8")
        if as_json:
            _emit({"report": str(out), "events": str(path), "bytes": len(page.encode())})
        else:
            console.print(f"wrote {out} ({len(page.encode()) // 1024} KiB) from {path}")
        return EXIT_OK

    _run(as_json, body)


def _door_policies(db: str | None, settings: Settings) -> list[dict[str, object]]:
    """Return each configured door's rules and operating point (none without a gallery)."""
    gallery_path = db or settings.db or api.default_db_path()
    if not is_postgres_url(gallery_path) and not Path(gallery_path).is_file():
        return []
    with (
        api.open_gallery(gallery_path, settings) as gallery,
        access_store_of(gallery, settings) as store,
    ):
        return [api.describe_door(gallery, store, r, settings) for r in store.doors()]


NO_BOUNDS = (
    "no alarm bounds are configured, so nothing was checked: set [alarms.max] / [alarms.min] "
    "in the settings file (e.g. unknown_rate = 0.2) or FACEGATE_ALARMS__MAX__UNKNOWN_RATE=0.2"
)


def _alarm_dispatcher(settings: Settings) -> Dispatcher:
    """Return the alarm outputs for a command that prints each notice itself (so no log line)."""
    from facegate.actions import build_alarm_dispatcher

    return build_alarm_dispatcher(
        settings.alarms.model_copy(update={"log": False}), settings.actions
    )


def _print_alarm_run(run: AlarmRun, as_json: bool, show_checks: bool) -> None:
    """Print what one alarm check sent (and, with show_checks, every bound's value)."""
    if as_json:
        for notice, results in run.sent:
            _emit({**notice.as_dict(), "outputs": [r.__dict__ for r in results]})
        if show_checks:
            checks = [c.as_dict() for c in run.checks]
            _emit(
                {
                    "time": run.time.isoformat(),
                    "checks": checks,
                    **({} if checks else {"note": NO_BOUNDS}),
                }
            )
        return
    for notice, results in run.sent:
        failed = [r.name for r in results if not r.ok]
        note = f" [red](not delivered to {', '.join(failed)})[/]" if failed else ""
        console.print(f"{notice.message}{note}", markup=True, highlight=False)
    if show_checks:
        table = Table("metric", "scope", "bound", "now", "status")
        for c in run.checks:
            value = "-" if c.value is None else f"{c.value:.4g}"
            status = "BREACHED" if c.breached else ("no data" if c.value is None else "ok")
            table.add_row(c.metric, c.scope, f"{c.bound} {c.limit:g}", value, status)
        console.print(table if run.checks else NO_BOUNDS, markup=False, highlight=False)


@alarms_app.command("check")
def alarms_check(
    as_json: JsonOpt = False,
    at: Annotated[
        str | None, typer.Option(help="Check as of this ISO 8601 time (default: now).")
    ] = None,
    events: EventsOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Check every alarm bound once: print and send what fires or recovers, then each bound."""
    from facegate.access_event import to_utc
    from facegate.monitor.alarms import open_alarm_state
    from facegate.watch import run_alarm_check

    def body() -> int:
        settings = _settings(config)
        dispatcher = _alarm_dispatcher(settings)
        path = _events_path(events, db, settings)
        with open_event_log(path, settings) as log, open_alarm_state(path, settings) as state:
            run = run_alarm_check(log, state, settings, dispatcher, to_utc(at) if at else None)
        _print_alarm_run(run, as_json, show_checks=True)
        return EXIT_OK

    _run(as_json, body)


@alarms_app.command("watch")
def alarms_watch(
    as_json: JsonOpt = False,
    events: EventsOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Check the alarm bounds every alarms.interval_seconds until Ctrl-C; print what fires.

    Without any bound configured it refuses (exit 2): there would be nothing to watch.
    """
    import threading

    from facegate.monitor.alarms import open_alarm_state
    from facegate.watch import watch_alarms

    def body() -> int:
        settings = _settings(config)
        path = _events_path(events, db, settings)
        if not settings.alarms.max and not settings.alarms.min:
            raise ValueError(NO_BOUNDS.replace("nothing was checked", "there is nothing to watch"))
        dispatcher = _alarm_dispatcher(settings)
        stop = threading.Event()
        with open_event_log(path, settings) as log, open_alarm_state(path, settings) as state:
            try:
                watch_alarms(
                    log,
                    state,
                    settings,
                    dispatcher,
                    stop,
                    lambda run: _print_alarm_run(run, as_json, show_checks=False),
                )
            except KeyboardInterrupt:
                stop.set()
        return EXIT_OK

    _run(as_json, body)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: settings service.host).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default: settings service.port).")
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes (default: settings scale.workers); use with"
            " a postgresql:// --db to scale out.",
        ),
    ] = None,
) -> None:
    """Run the HTTP API (FastAPI under uvicorn): admin web UI at /ui/, offline docs at /docs.

    At start it prints the gallery (created when missing), its people and its API keys.
    """
    import os

    import uvicorn

    from facegate.service import create_app
    from facegate.service.factory import FACTORY, warm

    def body() -> int:
        from facegate.serve_banner import serve_banner

        settings = _settings(config)
        count = workers or settings.scale.workers
        for line in serve_banner(settings, db):  # opens (creates) the gallery: fails here, once
            Console(stderr=True).print(line, markup=False, highlight=False, soft_wrap=True)
        where = {
            "host": host or settings.service.host,
            "port": settings.service.port if port is None else port,
            "log_level": "info",
            "timeout_graceful_shutdown": settings.scale.shutdown_grace_s,
        }
        if count == 1:
            service = create_app(settings, db)
            warm(settings)
            uvicorn.run(service, **where)
            return EXIT_OK
        os.environ.update({"FACEGATE_DB": str(db or settings.db or api.default_db_path())})
        if config is not None:
            os.environ["FACEGATE_CONFIG"] = str(config)
        uvicorn.run(FACTORY, factory=True, workers=count, **where)
        return EXIT_OK

    _run(False, body)


def _key_store_path(db: str | None, config: Path | None) -> str | Path:
    """Return the key store file: settings service.keys, else the gallery's file."""
    from facegate.service.app import service_paths

    return service_paths(_settings(config), db).keys


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or what the key is for.")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", help="admin, enroll, door or read (repeatable)."),
    ],
    door: Annotated[
        list[str] | None,
        typer.Option(
            "--door",
            help="Bind a door-scope key to this door (repeatable): checks at other doors get "
            "403 and an alarm. Without --door the key may check any door.",
        ),
    ] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create an API key and print its token (shown only this once; only its hash is stored)."""

    def body() -> int:
        with open_key_store(_key_store_path(db, config), _settings(config)) as store:
            key, token = store.create(name, scope, door or ())
        if as_json:
            _emit({"key": key.as_dict(), "token": token})
        else:
            bound = f", doors {' '.join(key.doors)}" if key.doors else ""
            console.print(f"key {key.id} ({key.name}, scopes {' '.join(key.scopes)}{bound}):")
            sys.stdout.write(token + "\n")
        return EXIT_OK

    _run(as_json, body)


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """List API keys (never their tokens)."""

    def body() -> int:
        settings = _settings(config)
        target = _existing(_key_store_path(db, config), settings, "key store")
        with open_key_store(target, settings) as store:
            keys = store.keys()
        if as_json:
            for key in keys:
                _emit(key.as_dict())
            return EXIT_OK
        table = Table("id", "name", "scopes", "doors", "created", "revoked")
        for k in keys:
            doors = " ".join(k.doors) or "any"
            table.add_row(
                str(k.id), k.name, " ".join(k.scopes), doors, k.created_at, k.revoked_at or ""
            )
        console.print(table if keys else "no API keys")
        return EXIT_OK

    _run(as_json, body)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (see `keys list`).")],
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Revoke an API key: it stops working at once."""

    def body() -> int:
        settings = _settings(config)
        target = _existing(_key_store_path(db, config), settings, "key store")
        with open_key_store(target, settings) as store:
            key = store.revoke(key_id)
        if as_json:
            _emit({"revoked": key.as_dict()})
        else:
            console.print(f"revoked key {key.id} ({key.name})")
        return EXIT_OK

    _run(as_json, body)


@app.command()
def train(
    data: Annotated[Path, typer.Option("--data", help="Folder of per-person image folders.")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for checkpoint, head.onnx/cnn.onnx, curves.png.")
    ],
    family: Annotated[
        str,
        typer.Option(
            help="head: a head on the frozen shipped encoder (fast on a CPU); "
            "cnn: a small CNN trained end to end on the aligned chips."
        ),
    ] = "head",
    loss: Annotated[str, typer.Option(help="triplet (semi-hard, FaceNet) or arcface.")] = "triplet",
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training people.")] = 20,
    augment: Annotated[
        str,
        typer.Option(
            help="Comma-separated chip augmentations: flip, crop, colour, blur, scarf, "
            "sunglasses ('' for none). cnn: each applied with probability 0.5 in every batch; "
            "head: each applied to --augment-copies extra encoder vectors per image."
        ),
    ] = "flip,crop,colour",
    augment_copies: Annotated[
        int, typer.Option(min=0, help="head: augmented copies embedded per training image.")
    ] = 1,
    image_size: Annotated[
        int, typer.Option(min=16, help="cnn: input side in pixels (a multiple of 8).")
    ] = 64,
    width: Annotated[int, typer.Option(min=4, help="cnn: channels of the first stage.")] = 16,
    learning_rate: Annotated[
        float, typer.Option(min=0.0, help="Adam learning rate of the head or CNN.")
    ] = 1e-3,
    device: Annotated[
        str, typer.Option(help="auto (a CUDA GPU when torch finds one, else the CPU), cpu, cuda.")
    ] = "auto",
    overfit_batch: Annotated[
        bool, typer.Option("--overfit-batch", help="Only drive the loss on one batch to ~0.")
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from OUT's checkpoint.")
    ] = False,
    people_folds: Annotated[
        Path | None,
        typer.Option(help="LFW View 2 people.txt: train without the people of --test-fold."),
    ] = None,
    test_fold: Annotated[
        int | None,
        typer.Option(
            min=0, max=9, help="LFW View 2 fold (0-9) whose people --people-folds leaves out."
        ),
    ] = None,
    dev_fraction: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.5,
            help="Share of the people held out for dev curves; 30+ dev people also fit the "
            "model's own 1:N impostor table (MODEL.impostor.json).",
        ),
    ] = 0.1,
    seed: Annotated[
        int, typer.Option(help="Seed for the split, sampling and initial weights.")
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Train an embedder by metric learning (a head or a small CNN) and export it to ONNX."""

    def body() -> int:
        if loss not in ("triplet", "arcface"):
            raise ValueError(f"--loss must be triplet or arcface, not {loss!r}")
        if family not in ("head", "cnn"):
            raise ValueError(f"--family must be head or cnn, not {family!r}")
        from facegate.training.augment import AUGMENTS
        from facegate.training.metric import MetricConfig
        from facegate.training.run import run_training

        augments = tuple(name.strip() for name in augment.split(",") if name.strip())
        unknown = sorted(set(augments) - AUGMENTS.keys())
        if unknown:
            raise ValueError(f"unknown augmentation {unknown}; known: {', '.join(AUGMENTS)}")
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"--device must be auto, cpu or cuda, not {device!r}")
        if image_size % 8:
            raise ValueError(f"--image-size must be a multiple of 8, not {image_size}")
        config = MetricConfig(
            family=family,  # type: ignore[arg-type]
            loss=loss,  # type: ignore[arg-type]
            epochs=epochs,
            seed=seed,
            augment=augments,
            size=image_size,
            width=width,
            learning_rate=learning_rate,
        )
        result = run_training(
            data,
            out,
            config,
            people_folds=people_folds,
            test_fold=test_fold,
            dev_fraction=dev_fraction,
            augment_copies=augment_copies,
            overfit=overfit_batch,
            resume=resume,
            quiet=as_json,
            device=device,
        )
        if as_json:
            _emit(result)
        elif overfit_batch:
            figures = result["overfit_batch"]
            console.print(
                f"overfit one batch of {figures['batch']}: loss {figures['first_loss']:.4f} -> "
                f"{figures['final_loss']:.6f} in {figures['steps']} steps"
            )
        else:
            baseline = result["encoder_dev_accuracy"]
            console.print(
                f"trained the {result['family']} {result['epochs']} epochs on "
                f"{result['train_people']} people: train loss {result['train_loss']}, "
                f"dev pair accuracy {result['dev_accuracy']}"
                + ("" if baseline is None else f" (encoder alone {baseline})")
                + f"; model {result['model']}"
            )
        return EXIT_OK

    _run(as_json, body)


@app.command()
def collect(
    name: Annotated[str, typer.Argument(help="The consenting person's name (their folder).")],
    consent: Annotated[
        str, typer.Option("--consent", help="Who agreed, to what (recorded with the time).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Dataset folder (one folder per person).")],
    source: Annotated[
        str | None, typer.Option(help="Webcam index, video file or RTSP/HTTP URL to read.")
    ] = None,
    photos: Annotated[
        Path | None, typer.Option(help="Import this folder of photos instead.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Stop after keeping this many crops.")] = 50,
    every: Annotated[
        int, typer.Option(min=1, help="Look at every n-th frame of a camera or video.")
    ] = 3,
    dedup: Annotated[
        float,
        typer.Option(min=0.0, help="Skip a face within this embedding distance of a kept one."),
    ] = 0.12,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Collect quality-filtered, de-duplicated face crops of one person into a dataset folder."""
    from facegate.collect import Collector, collect_from_frames, import_photos
    from facegate.stream.loop import loop_pipeline
    from facegate.stream.sources import open_source

    def body() -> int:
        if (source is None) == (photos is None):
            raise ValueError("give exactly one of --source or --photos")
        settings = _settings(config)
        origin = str(photos) if photos is not None else f"source {source}"
        pipeline = loop_pipeline(settings) if source is not None else None
        collector = Collector(name, out, consent, origin, settings, dedup, pipeline)
        if photos is not None:
            report = import_photos(collector, photos, limit)
        else:
            frames = open_source(source, settings.source)
            try:
                report = collect_from_frames(collector, frames, every, limit)
            finally:
                frames.close()
        if as_json:
            _emit(report.as_dict())
        else:
            console.print(
                f"{report.person}: kept {report.kept} crops in {report.folder} "
                f"({report.frames} looked at: {report.no_face} without a face, "
                f"{report.poor_quality} too small / blurred / turned, {report.duplicates} "
                f"near-duplicates, {report.unreadable} unreadable)"
            )
        return EXIT_OK if report.kept else EXIT_REJECTED

    _run(as_json, body)


register_audio_commands(app)


def main() -> None:
    """Run the facegate command line."""
    app()


from facegate.db_cli import db_app  # noqa: E402 - it builds on this module's helpers

app.add_typer(db_app, name="db")
