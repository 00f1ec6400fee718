"""Error analysis: slices, the bias / variance diagnosis, and `facegate analyze` end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from test_cli import facegate, lines
from test_dashboard import assert_not_blank, chromium_load, needs_chromium

from facegate.evaluate.diagnose import diagnose
from facegate.evaluate.pairs import PairSet, read_lfw_pairs
from facegate.evaluate.slices import slice_table

FLIPPED = (0, 1, 15, 16)  # label noise injected: two same pairs, two different pairs


def test_slice_table_counts_a_pair_when_either_image_has_the_tag() -> None:
    a, b, c, d = (Path(x) for x in "abcd")
    pairs = PairSet([a, a, c, c], [b, c, d, b], [True, False, True, False], [0] * 4, "csv")
    wrong = np.array([True, False, False, True])
    tags = {a: {"hat"}, b: {"dark"}, c: {"hat"}, d: set()}
    by_tag = {s.tag: s for s in slice_table(pairs, wrong, tags)}
    assert (by_tag["hat"].pairs, by_tag["hat"].errors) == (4, 2)
    assert (by_tag["dark"].pairs, by_tag["dark"].errors) == (2, 2)
    assert by_tag["dark"].error_rate == 1.0 and by_tag["dark"].share_of_errors == 1.0
    assert by_tag["dark"].share_of_pairs == 0.5
    # the overall rate (0.5) predicts 1 error in 'dark' and 2 in 'hat': excess 1 and 0
    assert by_tag["dark"].excess_errors == 1.0 and by_tag["dark"].gain == 0.25
    assert by_tag["hat"].excess_errors == 0.0
    assert [s.tag for s in slice_table(pairs, wrong, tags)] == ["dark", "hat"]


def test_diagnosis_names_the_larger_gap() -> None:
    bias = diagnose(dev_error=0.12, train_error=0.10, human_error=0.02)
    assert bias.focus == "avoidable bias" and bias.avoidable_bias == pytest.approx(0.08)
    variance = diagnose(dev_error=0.12, train_error=0.03, human_error=0.02)
    assert variance.focus == "variance" and variance.variance == pytest.approx(0.09)
    assert diagnose(dev_error=0.08).focus == "unsplit gap"
    below = diagnose(dev_error=0.01, train_error=0.005)
    assert below.focus == "below human level" and below.human_error == pytest.approx(0.0247)
    assert "avoidable bias (train - human) -1.97 points" in below.lines()[1]


@pytest.fixture(scope="module")
def analyzed(lfw: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, Path]:
    """Run `facegate analyze` on 30 LFW pairs with injected label noise and human tags."""
    folder = tmp_path_factory.mktemp("analyze")
    root = lfw / "images"
    lfw_pairs = read_lfw_pairs(lfw / "pairs.txt", root)
    chosen = list(range(15)) + list(range(300, 315))
    pairs_csv, tags_csv = folder / "pairs.csv", folder / "tags.csv"
    with pairs_csv.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file_x", "file_y", "Decision"])
        for n, i in enumerate(chosen):
            same = lfw_pairs.same[i] != (n in FLIPPED)
            left, right = (p.relative_to(root) for p in (lfw_pairs.left[i], lfw_pairs.right[i]))
            writer.writerow([left, right, "Yes" if same else "No"])
    tagged = [lfw_pairs.left[0], lfw_pairs.right[300], root / "Nobody" / "Nobody_0001.jpg"]
    tags_csv.write_text("image,tag\n" + "".join(f"{p.relative_to(root)},glasses\n" for p in tagged))
    html = folder / "report" / "analyze.html"
    result = facegate(
        "analyze",
        "--json",
        pairs_csv,
        "--root",
        root,
        "--tags",
        tags_csv,
        "--html",
        html,
        "--workers",
        "2",
        "--train-pairs",
        pairs_csv,
    )
    assert result.returncode == 0, result.stderr
    return lines(result)[0], html, folder


def test_analyze_finds_the_injected_errors_and_slices_them(analyzed: tuple) -> None:
    report, html, _ = analyzed
    # the threshold is fitted on the noisy labels (one fold), so it may trade one flip away
    assert report["pairs"] == 30 and report["errors"] >= len(FLIPPED) - 1
    assert report["false_accepts"] >= 1 and report["false_rejects"] >= 1
    assert report["false_accepts"] + report["false_rejects"] == report["errors"]
    assert report["human_tagged_images"] == 2 and report["report"] == str(html)
    slices = {s["tag"]: s for s in report["slices"]}
    assert slices["human: glasses"]["pairs"] >= 2
    errors, pairs = report["errors"], report["pairs"]
    for s in report["slices"]:  # --json prints shares to 4 decimals
        assert s["share_of_errors"] == pytest.approx(s["errors"] / errors, abs=5e-5)
        assert s["share_of_pairs"] == pytest.approx(s["pairs"] / pairs, abs=5e-5)
        expected = s["errors"] - s["pairs"] * errors / pairs
        assert s["excess_errors"] == pytest.approx(expected, abs=0.01)
    # every image has exactly one blur bin, and a pair has two images: each pair (and each
    # error) is counted once or twice over the family's slices
    blur = [s for s in report["slices"] if s["tag"].startswith("blur (focus): ")]
    assert len(blur) == 3
    assert 1.0 <= sum(s["share_of_pairs"] for s in blur) <= 2.0
    assert 1.0 <= sum(s["share_of_errors"] for s in blur) <= 2.0
    excess = [s["excess_errors"] for s in report["slices"]]
    assert excess == sorted(excess, reverse=True)
    # training on the dev pairs themselves (one fold: the same fitted threshold): no variance,
    # and the injected noise puts the error well above human level, so avoidable bias
    diagnosis = report["diagnosis"]
    assert diagnosis["train_error"] == diagnosis["dev_error"] == report["error_rate"]
    assert diagnosis["variance"] == 0 and diagnosis["focus"] == "avoidable bias"


def test_analyze_report_is_self_contained(analyzed: tuple) -> None:
    report, html, _ = analyzed
    page = html.read_text()
    assert "default-src 'none'" in page and "<script" not in page
    assert "http://" not in page and "https://" not in page
    assert page.count('src="data:image/jpeg;base64,') == 2 * report["errors"]
    for text in ("Error slices", "Worst false accepts", "Worst false rejects", "Bias / variance"):
        assert text in page


@needs_chromium
def test_analyze_report_renders_in_headless_chromium(analyzed: tuple) -> None:
    _, html, folder = analyzed
    shot, console = chromium_load(html.as_uri(), folder)
    assert console == []
    assert_not_blank(shot)


def test_analyze_rejects_a_bad_tags_file(lfw: Path, tmp_path: Path) -> None:
    bad = tmp_path / "tags.csv"
    bad.write_text("file,label\nx.jpg,hat\n")
    result = facegate("analyze", lfw / "pairs.txt", "--root", lfw / "images", "--tags", bad)
    assert result.returncode == 2
    assert "expected CSV columns image, tag" in result.stderr
