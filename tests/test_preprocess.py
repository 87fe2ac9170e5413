"""Drawing and image preprocessing: the MNIST recipe's properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from digitscope.model.drawing import Drawing, DrawingError
from digitscope.model.preprocess import (
    EmptyInputError,
    centre_of_mass,
    drawing_to_tensor,
    CENTRE,
    image_to_tensor,
    ink_is_dark,
)
from helpers import loop, seven, transformed, vertical_stroke
from hypothesis import example, given, settings
from hypothesis import strategies as st


def ink_box(t: np.ndarray, threshold: float = 0.05) -> tuple[int, int]:
    rows = np.flatnonzero((t > threshold).any(axis=1))
    cols = np.flatnonzero((t > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_shape_dtype_range():
    t = drawing_to_tensor(seven())
    assert t.shape == (28, 28) and t.dtype == np.float32
    assert t.min() >= 0.0 and t.max() <= 1.0
    assert t.max() > 0.9, "stroke cores are full ink"
    ring = drawing_to_tensor(loop())
    assert ring[:3].sum() == ring[-3:].sum() == ring[:, :3].sum() == ring[:, -3:].sum() == 0, "a 20×20 box has a 4-px margin"


@pytest.mark.parametrize("drawing", [seven(), loop(), vertical_stroke(), loop(rx=90, ry=30)])
def test_centre_of_mass_at_centre(drawing):
    cy, cx = centre_of_mass(drawing_to_tensor(drawing))
    assert math.hypot(cy - CENTRE, cx - CENTRE) <= 0.5


@pytest.mark.parametrize("drawing", [seven(), loop(), vertical_stroke(), loop(rx=90, ry=30)])
def test_ink_box_long_side_is_20(drawing):
    h, w = ink_box(drawing_to_tensor(drawing))
    assert 19 <= max(h, w) <= 21


def test_aspect_is_kept():
    h, w = ink_box(drawing_to_tensor(vertical_stroke()))
    assert h >= 19 and w <= 4, "a vertical stroke stays thin, not stretched to a square"


@pytest.mark.parametrize(
    "scale,dx,dy,canvas", [(0.5, 0, 0, 140), (2.0, 30, -40, 800), (0.25, 300, 120, 1000), (3.3, 0, 0, 1200)]
)
def test_translation_and_scale_invariance(scale, dx, dy, canvas):
    base = drawing_to_tensor(seven())
    moved = drawing_to_tensor(transformed(seven(), scale, dx, dy, canvas))
    assert np.abs(base - moved).max() < 0.2
    assert np.abs(base - moved).mean() < 0.01


def test_thicker_pen_gives_more_ink():
    thin = drawing_to_tensor(seven(pen=10))
    thick = drawing_to_tensor(seven(pen=30))
    assert thick.sum() > 1.3 * thin.sum()


@pytest.mark.parametrize(
    "drawing",
    [
        Drawing(280, 280, 18, []),
        Drawing(280, 280, 18, [[]]),
        Drawing(280, 280, 18, [[], []]),
        Drawing(280, 280, 18, [[(100.0, 100.0)]]),
        Drawing(280, 280, 18, [[(100.0, 100.0), (100.0, 100.0)], [(101.0, 100.0)]]),
    ],
)
def test_empty_and_degenerate_drawings_are_reported(drawing):
    with pytest.raises(EmptyInputError):
        drawing_to_tensor(drawing)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 1e12])
def test_non_finite_or_absurd_coordinates_raise(bad):
    with pytest.raises(DrawingError, match="coordinate"):
        Drawing(280, 280, 18, [[(10.0, 10.0), (bad, 20.0)]])


def test_bad_pen_width_raises():
    with pytest.raises(DrawingError, match="pen_width"):
        Drawing(280, 280, 0, [[(1.0, 1.0), (50.0, 50.0)]])


points = st.lists(
    st.tuples(st.floats(-5e5, 5e5, allow_nan=False), st.floats(-5e5, 5e5, allow_nan=False)), min_size=1, max_size=30
)


def lopsided() -> Drawing:
    """A short heavy stroke and a lone far dot with a hair-thin pen (found by fuzzing)."""
    return Drawing(1000, 1000, 0.5, [[(0, 0), (0, 1)], [(0, 27)]])


def test_centring_never_pushes_ink_out_of_the_frame():
    t = drawing_to_tensor(lopsided())
    h, _ = ink_box(t, threshold=0.0)
    assert h >= 20, "both ends of the drawing are in the tensor"
    assert t[27].sum() > 0.05, "the far dot keeps its ink"
    cy, _ = centre_of_mass(t)
    assert abs(cy - CENTRE) < 1


@settings(max_examples=150, deadline=None)
@given(strokes=st.lists(points, min_size=0, max_size=4), pen=st.floats(0.1, 500.0))
@example(strokes=lopsided().strokes, pen=0.5)
def test_fuzz_drawings_give_a_valid_tensor_or_empty(strokes, pen):
    d = Drawing(1000, 1000, pen, strokes)
    try:
        t = drawing_to_tensor(d)
    except EmptyInputError:
        return
    assert t.shape == (28, 28) and t.dtype == np.float32
    assert np.all(np.isfinite(t)) and t.min() >= 0 and t.max() <= 1
    assert t.sum() > 0
    cy, cx = centre_of_mass(t)
    # The mass is central, unless centring it would push ink out of the frame:
    # then the ink touches the frame's edge on the side it would have left by.
    rows, cols = np.flatnonzero(t.any(axis=1)), np.flatnonzero(t.any(axis=0))
    assert abs(cy - CENTRE) < 3 or rows[-1 if cy < CENTRE else 0] == (27 if cy < CENTRE else 0)
    assert abs(cx - CENTRE) < 3 or cols[-1 if cx < CENTRE else 0] == (27 if cx < CENTRE else 0)
    # ...and that is rare: the ink box is 20 of the frame's 28 pixels.
    assert abs(cy - CENTRE) < 7 and abs(cx - CENTRE) < 7


# ----------------------------------------------------------------------------- images


def mnist_like_image() -> np.ndarray:
    """A light-on-dark 7 rendered from a drawing, placed off-centre on a large image."""
    t = drawing_to_tensor(seven())
    big = np.kron(t, np.ones((5, 5), np.float32))  # 140×140
    img = np.zeros((300, 220), np.float32)
    img[20:160, 60:200] = big
    return img


def test_image_light_on_dark_matches_drawing():
    t = image_to_tensor(mnist_like_image())
    ref = drawing_to_tensor(seven())
    assert np.abs(t - ref).mean() < 0.03
    cy, cx = centre_of_mass(t)
    assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5, "moved by whole pixels, as MNIST was"
    assert 19 <= max(ink_box(t, 0.2)) <= 21


def test_polarity_detected_and_inverted():
    light_on_dark = mnist_like_image()
    dark_on_light = 1.0 - light_on_dark
    assert not ink_is_dark(light_on_dark)
    assert ink_is_dark(dark_on_light)
    a, b = image_to_tensor(light_on_dark), image_to_tensor(dark_on_light)
    assert np.abs(a - b).max() < 1e-5


def test_grey_paper_and_grey_ink_normalised():
    img = 0.8 - 0.5 * mnist_like_image()  # grey ink (0.3) on grey paper (0.8)
    t = image_to_tensor(img)
    assert t.max() > 0.95 and t.min() == 0.0


@pytest.mark.parametrize("img", [np.zeros((40, 40)), np.ones((40, 40)), np.full((30, 50), 0.5)])
def test_blank_images_are_empty(img):
    with pytest.raises(EmptyInputError):
        image_to_tensor(img)


def test_tiny_image_is_upscaled():
    img = np.zeros((9, 9), np.float32)
    img[2:7, 4] = 1.0
    t = image_to_tensor(img)
    assert max(ink_box(t, 0.2)) >= 19


def test_image_files_of_every_mode(tmp_path):
    from digitscope.model.preprocess import load_image_tensor
    from PIL import Image

    ink = (mnist_like_image() * 255).astype(np.uint8)
    ref = image_to_tensor(mnist_like_image())
    rgba_dark = np.zeros(ink.shape + (4,), np.uint8)  # black ink on a transparent background
    rgba_dark[..., 3] = ink
    rgba_light = rgba_dark.copy()  # white ink on a transparent background
    rgba_light[..., :3] = 255
    files = {
        "grey.png": Image.fromarray(ink, "L"),
        "inverted.jpg": Image.fromarray(255 - ink, "L").convert("RGB"),
        "rgb.png": Image.fromarray(np.repeat(255 - ink[..., None], 3, axis=2), "RGB"),
        "dark.png": Image.fromarray(rgba_dark, "RGBA"),
        "light.png": Image.fromarray(rgba_light, "RGBA"),
    }
    for name, im in files.items():
        im.save(tmp_path / name, quality=95) if name.endswith(".jpg") else im.save(tmp_path / name)
        t = load_image_tensor(tmp_path / name)
        assert np.abs(t - ref).mean() < 0.03, name


def test_unreadable_image_file_says_so(tmp_path):
    from digitscope.model.preprocess import load_image_tensor

    bad = tmp_path / "x.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read the image"):
        load_image_tensor(bad)


def test_image_centring_keeps_a_faint_far_tail():
    img = np.zeros((100, 100), np.float32)
    img[0:20, 40:60] = 1.0  # a heavy blob at the top
    img[95:100, 50] = 1.0  # and a thin tail at the far bottom
    t = image_to_tensor(img)
    assert t[20:].sum() > 0.1, "the tail is still in the tensor"


def test_placement_maps_the_tensor_back_onto_the_canvas():
    from digitscope.model.preprocess import render_drawing

    d = seven()
    t, placement = render_drawing(d)
    np.testing.assert_array_equal(t, drawing_to_tensor(d))
    # every stroke point lands on inked tensor pixels when mapped canvas → tensor
    for x, y in (p for s in d.strokes for p in s):
        c = int((x - placement.x0) / placement.unit)
        r = int((y - placement.y0) / placement.unit)
        assert t[r, c] > 0.3, (x, y, r, c)
    x, y, w, h = placement.canvas_rect()
    assert w == h == 28 * placement.unit
