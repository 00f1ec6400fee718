"""Chip augmentations: shapes kept, the right parts covered, reproducible with a seed."""

from __future__ import annotations

import numpy as np
import pytest

from facegate.training.augment import AUGMENTS, EYE_COLUMNS, EYE_ROW, SCARF_TOP, augment


@pytest.fixture
def chip() -> np.ndarray:
    """Return a textured 150 px RGB chip."""
    return np.random.default_rng(0).integers(60, 200, (150, 150, 3)).astype(np.uint8)


@pytest.mark.parametrize("name", sorted(AUGMENTS))
def test_every_augmentation_keeps_shape_and_type_and_is_seeded(name: str, chip: np.ndarray) -> None:
    first = AUGMENTS[name](chip, np.random.default_rng(1))
    again = AUGMENTS[name](chip, np.random.default_rng(1))
    assert first.shape == chip.shape and first.dtype == np.uint8
    assert np.array_equal(first, again) and not np.array_equal(first, chip)


def test_scarf_covers_mouth_and_chin_only(chip: np.ndarray) -> None:
    out = AUGMENTS["scarf"](chip, np.random.default_rng(2))
    top = int(150 * (SCARF_TOP - 0.04))
    assert np.array_equal(out[:top], chip[:top])  # eyes and nose untouched
    assert not np.array_equal(out[-20:], chip[-20:])


def test_sunglasses_darken_both_eyes(chip: np.ndarray) -> None:
    out = AUGMENTS["sunglasses"](chip, np.random.default_rng(3))
    row = int(150 * EYE_ROW)
    for column in EYE_COLUMNS:
        assert out[row, int(150 * column)].max() < 40
    assert np.array_equal(out[-30:], chip[-30:])


def test_flip_twice_is_the_chip_and_chains_apply_in_order(chip: np.ndarray) -> None:
    rng = np.random.default_rng(4)
    assert np.array_equal(augment(chip, ["flip", "flip"], rng), chip)
    chained = augment(chip, ["scarf", "blur"], np.random.default_rng(5))
    assert chained.shape == chip.shape
