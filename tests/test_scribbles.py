"""The no-digit drawings generator: valid drawings, every kind, the same for a seed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from digitscope.model.drawing import Drawing
from digitscope.model.preprocess import drawing_to_tensor
from digitscope.model.scribbles import KINDS, scribble_drawing, scribble_drawings


def test_every_kind_in_equal_shares_and_valid_drawings() -> None:
    drawings, kinds = scribble_drawings(3 * len(KINDS), seed=0)
    assert sorted(set(kinds)) == sorted(KINDS)
    assert all(kinds.count(k) == 3 for k in KINDS)
    for d in drawings:
        # through the file format and back: the contract's checks run on every point
        again = Drawing.from_json(json.loads(json.dumps(d.to_json())))
        assert not again.is_empty
        x = drawing_to_tensor(again)
        assert x.shape == (28, 28) and x.max() > 0.5


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    a, _ = scribble_drawings(len(KINDS), seed=7)
    b, _ = scribble_drawings(len(KINDS), seed=7)
    c, _ = scribble_drawings(len(KINDS), seed=8)
    assert [d.strokes for d in a] == [d.strokes for d in b]
    assert [d.strokes for d in a] != [d.strokes for d in c]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_sized_as_the_synthesised_digits(kind: str) -> None:
    d = scribble_drawing(kind, np.random.default_rng(3), augment=None)
    pts = np.concatenate([np.asarray(s) for s in d.strokes])
    span = pts.max(0) - pts.min(0)
    assert (d.width, d.height) == (280.0, 280.0)
    assert span.max() == pytest.approx(196.0, abs=1e-6)  # the longer side 70 % of the canvas
    assert np.all(pts >= 0) and np.all(pts <= 280)
