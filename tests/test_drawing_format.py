"""The drawing file format (a contract): round trips, extra keys, clear errors."""

from __future__ import annotations

import json

import pytest
from digitscope.model.drawing import Drawing, DrawingError, load_drawing, parse_drawing, save_drawing
from helpers import seven


def test_save_load_round_trip_is_exact(tmp_path):
    d = Drawing(300, 200, 12.5, [[(1.25, 2.5), (3.0, 4.0)], [(10.0, 10.0)]])
    path = tmp_path / "d.json"
    save_drawing(d, path, label=3)
    back = load_drawing(path)
    assert back == d
    doc = json.loads(path.read_text())
    assert doc["label"] == 3 and doc["width"] == 300 and doc["strokes"][0] == [[1.25, 2.5], [3.0, 4.0]]


def test_minimal_document_and_extra_keys_are_accepted():
    d = parse_drawing('{"width": 10, "height": 10, "pen_width": 1, "strokes": [[[1, 2], [3, 4]]], "label": 7, "site": "x"}')
    assert d.strokes == [[(1.0, 2.0), (3.0, 4.0)]]


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"width": 10, "height": 10, "strokes": []}', "missing key(s): pen_width"),
        ('{"width": "ten", "height": 10, "pen_width": 1, "strokes": []}', "width must be a number"),
        ('{"width": -3, "height": 10, "pen_width": 1, "strokes": []}', "width must be a positive"),
        ('{"width": 10, "height": 10, "pen_width": 1, "strokes": {"a": 1}}', "strokes must be a list"),
        ('{"width": 10, "height": 10, "pen_width": 1, "strokes": [[[1, 2, 3]]]}', "stroke 0, point 0"),
        ('{"width": 10, "height": 10, "pen_width": 1, "strokes": [[[1, 2]], [[1, "y"]]]}', "stroke 1, point 0"),
        ('{"width": 10, "height": 10, "pen_width": 1, "strokes": [[[1, NaN]]]}', "non-finite"),
        ('{"width": 10, "height": 10, "pen_width": 1, "strokes": [[[1, 1e300]]]}', "out of range"),
    ],
)
def test_malformed_documents_say_what_is_wrong(text, fragment):
    with pytest.raises(DrawingError) as info:
        parse_drawing(text)
    assert fragment in str(info.value)


def test_missing_file_is_a_drawing_error(tmp_path):
    with pytest.raises(DrawingError, match="cannot read"):
        load_drawing(tmp_path / "nope.json")


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "d.json"
    save_drawing(seven(), path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    import digitscope.model.files as files

    monkeypatch.setattr(files.os, "replace", boom)
    with pytest.raises(OSError):
        save_drawing(Drawing(5, 5, 1, [[(1.0, 1.0), (2.0, 2.0)]]), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"], "no temporary file is left behind"


def test_trusted_drawing_equals_checked_one():
    strokes = [[(1.0, 2.0), (3.0, 4.0)]]
    assert Drawing.trusted(10, 10, 2, strokes) == Drawing(10, 10, 2, strokes)
