"""Style variants: one added stroke, labels and other digits untouched."""

from __future__ import annotations

import numpy as np
from digitscope.model.preprocess import CENTRE, centre_of_mass
from digitscope.model.styles import add_style_variants, flag_one, slash_zero


def digits() -> tuple[np.ndarray, np.ndarray]:
    x = np.zeros((3, 28, 28), np.float32)
    yy, xx = np.mgrid[0:28, 0:28]
    ring = np.abs(np.hypot((yy - 13.5) / 10, (xx - 13.5) / 6) - 1.0) < 0.12
    x[0][ring] = 1.0  # a zero
    x[1, 4:24, 13:15] = 1.0  # a one
    x[2, 4:24, 10:12] = 1.0  # a seven-ish bar, label 7
    return x, np.array([0, 1, 7])


def test_zero_gets_a_slash_through_its_middle():
    x, _ = digits()
    out = slash_zero(x[0], np.random.default_rng(0))
    assert out[13, 13] > 0.5 and x[0, 13, 13] == 0, "the centre of the zero is now inked"
    assert (out >= x[0]).all(), "nothing is erased"


def test_one_gets_a_flag_to_the_left_of_its_top():
    x, _ = digits()
    out = flag_one(x[1], np.random.default_rng(0))
    rows, cols = np.nonzero(out - x[1] > 0.5)
    assert len(rows) > 3
    assert cols.mean() < 13 and rows.mean() < 12, "the flag hangs left of the top"


def test_changed_digits_are_normalised_again():
    x, y = digits()
    out = add_style_variants(x, y, seed=0, fraction=1.0)
    for img in out[:2]:
        cy, cx = centre_of_mass(img)
        assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5
        rows = np.flatnonzero((img > 0.2).any(axis=1))
        cols = np.flatnonzero((img > 0.2).any(axis=0))
        assert 19 <= max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 21


def test_other_digits_and_fraction_zero_are_untouched():
    x, y = digits()
    out = add_style_variants(x, y, seed=0, fraction=1.0)
    np.testing.assert_array_equal(out[2], x[2])
    np.testing.assert_array_equal(add_style_variants(x, y, seed=0, fraction=0.0), x)
    np.testing.assert_array_equal(x, digits()[0]), "the input is not modified in place"
