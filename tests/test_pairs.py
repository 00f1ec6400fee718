"""Reading pair lists: LFW View 1 / View 2 and CSV, and refusing other files."""

from __future__ import annotations

from pathlib import Path

import pytest

from facegate.evaluate.pairs import PairsFormatError, read_pairs


def test_lfw_view2_has_ten_balanced_folds(lfw: Path) -> None:
    pairs = read_pairs(lfw / "pairs.txt", lfw / "images")
    assert len(pairs) == 6000 and pairs.protocol == "lfw-10fold"
    assert sorted(set(pairs.folds)) == list(range(10))
    assert sum(pairs.same) == 3000
    assert pairs.left[0] == lfw / "images" / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg"
    assert all(p.exists() for p in pairs.images()[:50])


def test_lfw_view1_is_one_fold(lfw: Path) -> None:
    pairs = read_pairs(lfw / "pairsDevTrain.txt", lfw / "images")
    assert len(pairs) == 2200 and set(pairs.folds) == {0} and pairs.protocol == "lfw-view1"


def test_limit_keeps_folds_and_both_classes(lfw: Path) -> None:
    small = read_pairs(lfw / "pairs.txt", lfw / "images").head(60)
    assert len(small) == 60 and len(set(small.folds)) == 10
    assert 0 < sum(small.same) < 60


def test_csv_pairs(deepface: Path) -> None:
    pairs = read_pairs(deepface / "master.csv", deepface)
    assert len(pairs) == 300 and pairs.protocol == "csv"
    assert pairs.left[0] == deepface / "img20.jpg" and pairs.same[0] is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello world\n", "neither"),
        ("a,b,c\n1,2,3\n", "columns"),
        ("file_x,file_y,Decision\na.jpg,b.jpg,Maybe\n", "Yes or No"),
        ("2 1\nA 1 2\n", "header says"),
    ],
)
def test_bad_pairs_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text(text)
    with pytest.raises(PairsFormatError, match=message):
        read_pairs(path, tmp_path)
