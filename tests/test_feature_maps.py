"""The mosaic layout the feature-map view relies on."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from digitscope.app.mosaic import GAP_INDEX, LEVELS, Palette, index_mosaic
from digitscope.app.views.feature_maps import GAP, nice_ceiling


def rgba_of(index: np.ndarray, palette: Palette) -> np.ndarray:
    """An index mosaic's (H, W, 4) uint8 RGBA pixels: what its indices stand for."""
    return palette.indexed.take(index).view(np.uint8).reshape(*index.shape, 4)


@pytest.mark.parametrize("channels,cols", [(32, 8), (64, 8), (10, 4)])
def test_mosaic_places_each_channel_in_its_tile(channels, cols):
    acts = np.random.default_rng(0).random((5, 6, channels)).astype(np.float32)
    m, level = index_mosaic(acts, cols)
    rows = -(-channels // cols)
    assert m.shape == (rows * (5 + GAP) - GAP, cols * (6 + GAP) - GAP)
    for k in range(channels):
        r, c = divmod(k, cols)
        tile = (acts[:, :, k] * np.float32((LEVELS - 1) / level)).astype(np.uint8)
        np.testing.assert_array_equal(m[r * 6 : r * 6 + 5, c * 7 : c * 7 + 6], tile)
    assert (m[5::6, :] == GAP_INDEX).all() and (m[:, 6::7] == GAP_INDEX).all(), "the gaps"


def test_view_maps_positions_to_channels(qtbot):
    from digitscope.app.views.feature_maps import FeatureMapView

    view = FeatureMapView("conv2", (24, 24, 64), cols=8)
    qtbot.addWidget(view)
    assert view.channel_at(QPointF(0.5, 0.5)) == 0
    assert view.channel_at(QPointF(25 * 7 + 3, 25 * 2 + 3)) == 2 * 8 + 7
    assert view.channel_at(QPointF(24.5, 3)) is None


@pytest.mark.parametrize("value,expected", [(0.0, 1.0), (0.42, 0.5), (1.0, 1.0), (1.2, 1.5), (2.6, 3.0), (7.5, 10.0), (13.0, 15.0)])
def test_colour_bar_top_is_a_round_number_at_or_above(value, expected):
    assert nice_ceiling(value) == pytest.approx(expected)


def test_colour_scale_rises_at_once_and_falls_only_far():
    from digitscope.app.views.feature_maps import ColourScale

    scale = ColourScale()
    assert scale.update(0.6) == 1.0, "0.6 is not far below 1.0"
    assert scale.update(1.2) == 1.5
    assert scale.update(1.0) == 1.5
    assert scale.update(0.3) == 0.3


def test_gaps_and_empty_tiles_are_background_not_zero_activation():
    from digitscope.app.views.feature_maps import map_palette
    from digitscope.app.views.pixel_image import BACKGROUND

    index, level = index_mosaic(np.zeros((4, 4, 6), np.float32), cols=4)
    rgba = rgba_of(index, map_palette())
    assert rgba.shape == (2 * 5 - 1, 4 * 5 - 1, 4)
    bg = [BACKGROUND.red(), BACKGROUND.green(), BACKGROUND.blue(), 255]
    assert rgba[0, 4].tolist() == bg, "the gap between tiles"
    assert rgba[6, 12].tolist() == bg, "the empty tile after the last channel"
    assert rgba[0, 0].tolist() != bg, "a map's zero is the colour map's bottom, not background"


def test_pixel_image_maps_positions_both_ways(qtbot):
    from digitscope.app.views.pixel_image import PixelImage

    view = PixelImage(np.zeros((10, 20), np.uint8))
    qtbot.addWidget(view)
    view.resize(200, 200)
    t = view.target()
    assert (t.width(), t.height()) == (200, 100), "aspect kept, as large as fits"
    assert t.y() == 50, "centred"
    p = view.widget_pos(QPointF(5.5, 2.5))
    back = view.image_pos(p)
    assert (back.x(), back.y()) == pytest.approx((5.5, 2.5))


@pytest.mark.parametrize("channels,cols", [(32, 8), (64, 8), (10, 4), (1, 1)])
def test_coloured_mosaic_is_each_value_looked_up_on_the_shared_scale(channels, cols):
    rng = np.random.default_rng(channels)
    acts = (np.maximum(rng.normal(0, 1, (7, 5, channels)), 0) * 3).astype(np.float32)
    palette = Palette(rng.integers(0, 2**32, 256, dtype=np.uint64).astype(np.uint32), 0x0BADF00D)
    assert palette.indexed[0] == palette.lut[0] and palette.indexed[LEVELS - 1] == palette.lut[255]
    assert palette.indexed[GAP_INDEX] == 0x0BADF00D
    index, level = index_mosaic(acts, cols)
    assert level == nice_ceiling(float(acts.max()))
    expected = np.full(index.shape, GAP_INDEX, np.uint8)  # gaps and empty tiles
    for k in range(channels):
        r, c = divmod(k, cols)
        tile = np.clip(acts[:, :, k] * np.float32((LEVELS - 1) / level), 0, LEVELS - 1).astype(np.uint8)
        expected[r * (7 + GAP) : r * (7 + GAP) + 7, c * (5 + GAP) : c * (5 + GAP) + 5] = tile
    np.testing.assert_array_equal(index, expected)
    assert index.flags.c_contiguous, "handed to QImage as it is"
    np.testing.assert_array_equal(rgba_of(index, palette).view(np.uint32)[:, :, 0], palette.indexed[expected])


def test_index_mosaics_reach_the_screen_in_the_same_colours_as_rgba(qtbot):
    from digitscope.app.views.feature_maps import map_colours, map_palette
    from digitscope.app.views.pixel_image import to_qimage

    acts = (np.maximum(np.random.default_rng(5).normal(0, 1, (24, 24, 64)), 0)).astype(np.float32)
    index, _ = index_mosaic(acts, 8)
    for pixels in (index, index[:-3, :-2]):  # a width that is not a multiple of 4, too
        indexed = to_qimage(pixels, map_colours())
        direct = to_qimage(rgba_of(np.ascontiguousarray(pixels), map_palette()))
        assert indexed.format() == direct.format() and indexed.size() == direct.size()
        assert indexed == direct, "pixel for pixel"
