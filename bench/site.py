"""Several cameras: two doors in one `run --site` process against two `run` processes.

Each case plays `video/crowd_walking.mp4` (1920x1080, 105 frames, people walking to the camera)
once per door, as fast as the machine decodes and decides (no --realtime), against the demo
gallery (`facegate demo`), and measures the wall time from start to exit (model loading
included), the frames all doors looked at per second of wall time, and the peak resident memory
(per process, and summed over the processes of the case). Cases: one door in one process (the
baseline), two doors in one process (`run --site`, the face models loaded once), two doors in
two processes at once.

    python bench/site.py [--out bench/results] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
CROWD = DATA / "video" / "crowd_walking.mp4"
FRAMES = re.compile(r"(\d+) frames")


def start(args: list[str]) -> subprocess.Popen[str]:
    """Start `facegate run --json` with args, without FACEGATE_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = [sys.executable, "-m", "facegate", "run", "--json", *args]
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, float]:
    """Wait for the process; return (frames it reported, its peak RSS in MiB)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    stderr = process.stderr.read()
    if process.returncode != 0:
        raise RuntimeError(f"facegate run failed ({process.returncode}): {stderr[-2000:]}")
    frames = sum(int(n) for n in FRAMES.findall(stderr))
    return frames, usage.ru_maxrss / 1024


def site_file(folder: Path, doors: int) -> Path:
    """Write a site file of `doors` cameras on the crowd video over a fresh gallery."""
    path = folder / f"site{doors}.toml"
    text = f'db = "{folder / "g.db"}"\n'
    for index in range(doors):
        text += f'[[cameras]]\ndoor = "door{index}"\nsource = "{CROWD}"\n'
    path.write_text(text)
    return path


def run_case(name: str, folder: Path) -> dict[str, object]:
    """Run one case once; return its figures."""
    began = time.perf_counter()
    if name == "2 doors, 2 processes":
        db = str(folder / "g.db")
        processes = [
            start(["--source", str(CROWD), "--door", f"door{i}", "--db", db]) for i in range(2)
        ]
    else:
        processes = [start(["--site", str(site_file(folder, 1 if name.startswith("1") else 2))])]
    results = [finish(process) for process in processes]
    wall = time.perf_counter() - began
    frames = sum(frames for frames, _ in results)
    return {
        "case": name,
        "wall_s": round(wall, 2),
        "frames": frames,
        "frames_per_s": round(frames / wall, 1),
        "peak_rss_mib_max": round(max(rss for _, rss in results), 1),
        "peak_rss_mib_sum": round(sum(rss for _, rss in results), 1),
    }


def main() -> None:
    """Run every case, print the table, write bench/results/site.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not CROWD.exists():
        raise SystemExit(f"{CROWD} is missing (set FACEGATE_DATA)")
    cases = ("1 door, 1 process", "2 doors, 1 process (--site)", "2 doors, 2 processes")
    rows = []
    with tempfile.TemporaryDirectory(prefix="facegate-bench-site-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
        demo = [sys.executable, "-m", "facegate", "demo", "--db", str(Path(tmp) / "g.db")]
        subprocess.run(demo, check=True, capture_output=True, env=env)
        for repeat in range(args.repeats):
            for case in cases:
                rows.append({**run_case(case, Path(tmp)), "repeat": repeat})
    table = Table(title=f"Several cameras (crowd video per door; load {os.getloadavg()[0]:.1f})")
    for column in ("case", "repeat", "wall s", "frames", "frames/s", "RSS max MiB", "RSS sum MiB"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                str(row[key])
                for key in (
                    "case",
                    "repeat",
                    "wall_s",
                    "frames",
                    "frames_per_s",
                    "peak_rss_mib_max",
                    "peak_rss_mib_sum",
                )
            )
        )
    Console().print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "video": str(CROWD.name),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "rows": rows,
    }
    (args.out / "site.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
