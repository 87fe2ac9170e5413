"""The style synthesiser and the stroke augmentation: every variant renders as the drawing
pipeline promises, the same seed gives the same digits, and real drawings get their variant."""

from __future__ import annotations

import numpy as np
import pytest
from digitscope.model.drawing import Drawing
from digitscope.model.preprocess import BOX, CENTRE, centre_of_mass, drawing_to_tensor
from digitscope.model.stroke_augment import StrokeAugmentConfig, augment_drawing
from digitscope.model.style_synth import READING, VARIANTS, VERDICT, restyle, synth_drawing, synth_tensors
from helpers import loop, seven, vertical_stroke

ALL_VARIANTS = [(digit, name) for digit, variants in VARIANTS.items() for name in variants]


def ink_box(t: np.ndarray, threshold: float = 0.05) -> tuple[int, int]:
    rows = np.flatnonzero((t > threshold).any(axis=1))
    cols = np.flatnonzero((t > threshold).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def test_every_digit_has_variants_including_the_regional_ones():
    assert sorted(VARIANTS) == list(range(10))
    for digit, name in [(0, "crossed"), (1, "flagged"), (1, "footed"), (4, "open"), (4, "one stroke"), (5, "bar after"), (7, "crossed")]:
        assert name in VARIANTS[digit]


@pytest.mark.parametrize("digit,name", ALL_VARIANTS)
@pytest.mark.parametrize("augmented", [False, True])
def test_each_variant_renders_in_the_28x28_frame(digit, name, augmented):
    rng = np.random.default_rng(7)
    for _ in range(8):
        drawing = synth_drawing(digit, name, rng, StrokeAugmentConfig() if augmented else None)
        t = drawing_to_tensor(drawing)
        assert t.shape == (28, 28) and t.dtype == np.float32
        assert 0.0 <= t.min() and t.max() <= 1.0 and t.max() > 0.5
        height, width = ink_box(t)
        assert max(height, width) <= BOX + 2, "the ink box is scaled to 20×20 (anti-aliasing may add a pixel each side)"
        assert max(height, width) >= BOX - 2
        cy, cx = centre_of_mass(t)
        assert abs(cy - CENTRE) < 1.5 and abs(cx - CENTRE) < 1.5, "placed by its centre of mass"


@pytest.mark.parametrize("digit,name", ALL_VARIANTS)
def test_a_variant_is_deterministic_for_a_seed_and_varies_between_seeds(digit, name):
    a = drawing_to_tensor(synth_drawing(digit, name, np.random.default_rng(3)))
    b = drawing_to_tensor(synth_drawing(digit, name, np.random.default_rng(3)))
    c = drawing_to_tensor(synth_drawing(digit, name, np.random.default_rng(4)))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.2


def test_crossed_zero_and_seven_get_their_extra_stroke():
    rng = np.random.default_rng(0)
    for digit in (0, 7):
        plain = VARIANTS[digit]["plain"](rng)
        crossed = VARIANTS[digit]["crossed"](rng)
        assert len(crossed) == len(plain) + 1
    # the stroke through a zero comes in every direction
    angles = []
    for _ in range(200):
        bar = VARIANTS[0]["crossed"](rng)[1]
        dx, dy = bar[-1] - bar[0]
        angles.append(np.degrees(np.arctan2(dy, dx)) % 180)
    counts, _ = np.histogram(angles, bins=6, range=(0, 180))
    assert counts.min() > 15, f"slash directions are spread over 0-180°: {counts}"


def crossed_zero_shapes(reach) -> tuple[int, int]:
    """Of 300 crossed zeros: how many are round, and how many strokes run far past the loop."""
    rng = np.random.default_rng(1)
    round_, long_ = 0, 0
    for _ in range(300):
        loop_, bar = (np.asarray(s) for s in VARIANTS[0]["crossed"](rng, reach))
        width, height = np.ptp(loop_, axis=0)
        round_ += 0.9 < width / height < 1.1
        long_ += np.linalg.norm(bar[-1] - bar[0]) > 1.8 * max(width, height)
    return round_, long_


def test_the_verdicts_crossed_zeros_also_come_round_with_strokes_far_past_the_loop():
    """Some writers slash a small round zero with a stroke that runs far past it (ϕ): a digit
    to the verdict; the CNN learns the common forms only."""
    round_, long_ = crossed_zero_shapes(VERDICT)
    assert 60 < round_ < 180, f"about 40 % of the verdict's crossed zeros are round: {round_} of 300"
    assert long_ > 20, f"some strokes reach past the loop by far more than its size: {long_} of 300"
    round_, long_ = crossed_zero_shapes(READING)
    assert round_ < 15 and long_ == 0, (round_, long_)


def test_the_verdicts_ones_get_longer_steeper_flags():
    def steepest(reach) -> float:
        rng = np.random.default_rng(2)
        drops = []
        for _ in range(300):
            stroke = np.asarray(VARIANTS[1]["flagged"](rng, reach)[0])
            top = stroke[np.argmin(stroke[:, 1])]
            drops.append(stroke[0, 1] - top[1])  # how far below the top the flag starts
        return max(drops)

    assert steepest(VERDICT) > 0.85 > steepest(READING), "a Λ-like one: a flag nearly as tall as the stem"


def test_synth_tensors_gives_each_digit_an_equal_share():
    x, y = synth_tensors(60, seed=1)
    assert x.shape == (60, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y, minlength=10).tolist() == [6] * 10
    again, _ = synth_tensors(60, seed=1)
    np.testing.assert_array_equal(x, again)


def test_augmentation_keeps_the_canvas_and_changes_the_strokes():
    d = seven()
    rng = np.random.default_rng(0)
    out = augment_drawing(d, rng)
    assert (out.width, out.height) == (d.width, d.height)
    assert out.strokes and out.pen_width != d.pen_width
    t0, t1 = drawing_to_tensor(d), drawing_to_tensor(out)
    assert np.abs(t0 - t1).max() > 0.3
    again = augment_drawing(d, np.random.default_rng(0))
    assert again.strokes == out.strokes and again.pen_width == out.pen_width


def test_augmentation_with_every_range_at_zero_keeps_the_drawing():
    still = StrokeAugmentConfig(rotation_deg=0, shear=0, aspect=0, elastic=0, stroke_shift=0, trim=0, gap=0, pen_low=1, pen_high=1)
    d = loop()
    out = augment_drawing(d, np.random.default_rng(5), still)
    np.testing.assert_allclose(np.asarray(out.strokes[0]), np.asarray(d.strokes[0]), atol=1e-9)
    assert out.pen_width == pytest.approx(d.pen_width)


def test_gaps_split_a_long_stroke_in_two():
    always = StrokeAugmentConfig(gap=1.0, trim=0.0)
    out = augment_drawing(loop(), np.random.default_rng(1), always)
    assert len(out.strokes) == 2


def test_restyle_adds_the_regional_stroke_to_a_real_zero_one_and_seven():
    rng = np.random.default_rng(2)
    zero = restyle(loop(), 0, rng)
    assert len(zero.strokes) == 2
    t = drawing_to_tensor(zero)
    assert t[12:16, 12:16].max() > 0.5, "the stroke goes through the middle of the loop"
    one = restyle(vertical_stroke(), 1, rng)
    assert len(one.strokes) > 1 or len(one.strokes[0]) > len(vertical_stroke().strokes[0]), "a flag or a foot was added"
    crossed = restyle(seven(), 7, rng)
    assert len(crossed.strokes) == 2
    bar = np.asarray(crossed.strokes[1])
    assert np.ptp(bar[:, 1]) < 0.5 * np.ptp(bar[:, 0]), "the bar across a seven is near horizontal"
    plain_four = Drawing(280, 280, 18, [[(100.0, 50.0), (80.0, 160.0), (200.0, 160.0)], [(170.0, 100.0), (170.0, 240.0)]])
    assert restyle(plain_four, 4, rng) is plain_four
