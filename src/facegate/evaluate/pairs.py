"""Reading labelled pair lists: LFW's pairs.txt format and CSV (file_x,file_y,Decision)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from facegate.errors import FacegateError


class PairsFormatError(FacegateError):
    """A pairs file is not in a format we read."""

    code = "bad_pairs_file"


@dataclass(frozen=True)
class PairSet:
    """Labelled image pairs: paths, same-person flags and the fold of each pair."""

    left: list[Path]
    right: list[Path]
    same: list[bool]
    folds: list[int]
    protocol: str

    def __len__(self) -> int:
        return len(self.same)

    def images(self) -> list[Path]:
        """Return every distinct image path, sorted."""
        return sorted(set(self.left) | set(self.right))

    def head(self, limit: int) -> PairSet:
        """Return a balanced subset of at most limit pairs, keeping every fold represented."""
        if limit >= len(self):
            return self
        order = sorted(range(len(self)), key=lambda i: (i % max(1, len(self) // limit), i))
        keep = sorted(order[:limit])
        return PairSet(
            [self.left[i] for i in keep],
            [self.right[i] for i in keep],
            [self.same[i] for i in keep],
            [self.folds[i] for i in keep],
            self.protocol,
        )


def _lfw_path(root: Path, name: str, number: str) -> Path:
    """Return the LFW image path of a person's numbered image."""
    return root / name / f"{name}_{int(number):04d}.jpg"


def read_lfw_pairs(path: Path, root: Path) -> PairSet:
    """Return the pairs of an LFW pairs file (View 1 or View 2), with their folds."""
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    header = [int(x) for x in lines[0]]
    folds_count, per_half = (header[0], header[1]) if len(header) == 2 else (1, header[0])
    body = lines[1:]
    if len(body) != folds_count * per_half * 2:
        raise PairsFormatError(
            f"{path}: header says {folds_count} folds x {2 * per_half} pairs,"
            f" found {len(body)} lines"
        )
    left, right, same, folds = [], [], [], []
    for index, fields in enumerate(body):
        if len(fields) == 3:
            left.append(_lfw_path(root, fields[0], fields[1]))
            right.append(_lfw_path(root, fields[0], fields[2]))
            same.append(True)
        elif len(fields) == 4:
            left.append(_lfw_path(root, fields[0], fields[1]))
            right.append(_lfw_path(root, fields[2], fields[3]))
            same.append(False)
        else:
            raise PairsFormatError(f"{path}:{index + 2}: expected 3 or 4 fields")
        folds.append(index // (2 * per_half))
    return PairSet(left, right, same, folds, "lfw-10fold" if folds_count > 1 else "lfw-view1")


def read_csv_pairs(path: Path, root: Path) -> PairSet:
    """Return the pairs of a CSV with columns file_x, file_y, Decision (Yes/No); one fold."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"file_x", "file_y", "Decision"} <= set(rows[0]):
        raise PairsFormatError(f"{path}: expected CSV columns file_x, file_y, Decision")
    decisions = {"yes": True, "no": False}
    try:
        same = [decisions[row["Decision"].strip().lower()] for row in rows]
    except KeyError as exc:
        raise PairsFormatError(f"{path}: Decision must be Yes or No, got {exc}") from exc
    return PairSet(
        [root / row["file_x"] for row in rows],
        [root / row["file_y"] for row in rows],
        same,
        [0] * len(rows),
        "csv",
    )


def read_pairs(path: Path, root: Path) -> PairSet:
    """Return pairs from an LFW-format or CSV pairs file, chosen by its content."""
    try:
        first = path.read_text().split("\n", 1)[0]
    except OSError as exc:
        raise PairsFormatError(f"cannot read {path}: {exc.strerror}") from exc
    if "," in first:
        return read_csv_pairs(path, root)
    if first.split() and all(x.isdigit() for x in first.split()):
        return read_lfw_pairs(path, root)
    raise PairsFormatError(f"{path}: neither LFW pairs format nor CSV")
