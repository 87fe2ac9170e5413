"""The built-in example drawings (used by the packaged app's self-test)."""

from __future__ import annotations

import numpy as np
import pytest
from digitscope.model.drawing import load_drawing, save_drawing
from digitscope.model.examples import example_drawing, example_drawings
from digitscope.model.inference import load_predictor
from digitscope.model.modelfile import bundled_model_path
from digitscope.model.preprocess import drawing_to_tensor


def test_the_bundled_model_reads_every_example_as_its_digit():
    predictor = load_predictor(bundled_model_path())
    drawings = example_drawings()
    probs = predictor.probabilities(np.stack([drawing_to_tensor(d) for d in drawings.values()]))
    assert list(probs.argmax(axis=1)) == list(drawings)
    assert probs.max(axis=1).min() > 0.9


def test_examples_are_valid_drawing_files(tmp_path):
    for digit, drawing in example_drawings().items():
        path = tmp_path / f"{digit}.json"
        save_drawing(drawing, path)
        assert load_drawing(path).strokes == drawing.strokes


def test_no_example_for_other_values():
    with pytest.raises(ValueError, match="0-9"):
        example_drawing(10)
