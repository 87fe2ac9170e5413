"""Pen data: reading labelled drawings by site, their augmented renders, and a training run
that leaves one site out and scores the new model on it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from digitscope.model.pen_data import load_pen_digits, render_augmented, render_copies
from digitscope.model.preprocess import drawing_to_tensor
from helpers import loop, seven, vertical_stroke


def write_pen_file(path, per_site: int = 4, sites=("aaa", "bbb", "ccc")) -> None:
    makers = {0: loop, 1: vertical_stroke, 7: seven}
    with open(path, "w", encoding="utf-8") as fh:
        for site in sites:
            for i in range(per_site):
                label = list(makers)[i % 3]
                fh.write(json.dumps({"label": label, "site": site, **makers[label]().to_json()}) + "\n")


@pytest.fixture
def pen_file(tmp_path):
    path = tmp_path / "pen.jsonl"
    write_pen_file(path)
    return path


def test_load_and_select_by_site(pen_file):
    data = load_pen_digits(pen_file)
    assert len(data) == 12 and data.site_names() == ["aaa", "bbb", "ccc"]
    assert data.labels.tolist()[:3] == [0, 1, 7]
    left = data.select(exclude=["bbb"])
    assert len(left) == 8 and "bbb" not in left.site_names()
    only = data.select(["ccc"])
    assert only.site_names() == ["ccc"] and len(only) == 4
    with pytest.raises(ValueError, match="no site zzz"):
        data.select(exclude=["zzz"])


@pytest.mark.parametrize(
    "line,message",
    [
        ("{not json", "line 2"),
        ('{"label": 3, "site": "x", "width": 280, "height": 280, "pen_width": 10}', "line 2: missing key"),
        ('{"label": "A", "site": "x", "width": 280, "height": 280, "pen_width": 10, "strokes": []}', "label must be a digit"),
        ('{"label": 12, "site": "x", "width": 280, "height": 280, "pen_width": 10, "strokes": []}', "label must be a digit"),
        ("[" * 100_000, "line 2: .*nested too deeply"),
        ('{"label": ' + "9" * 5000 + "}", "line 2: a number has more than"),
        ("[1, 2]", "line 2"),
    ],
)
def test_a_malformed_line_is_named(tmp_path, line, message):
    """Every malformed line is a ValueError naming it (never a RecursionError or the like)."""
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"label": 1, "site": "x", **vertical_stroke().to_json()}) + "\n" + line + "\n")
    with pytest.raises(ValueError, match=message):
        load_pen_digits(path)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path, pen_file):
    with pytest.raises(ValueError, match="MB allowed"):
        load_pen_digits(pen_file, max_bytes=100)
    with pytest.raises(ValueError, match="cannot read"):
        load_pen_digits(tmp_path / "missing.jsonl")


def test_renders_are_the_drawing_then_its_variations(pen_file):
    data = load_pen_digits(pen_file).select(["aaa"])
    x, y = render_augmented(data, copies=5, seed=0)
    assert x.shape == (20, 28, 28) and y.tolist() == [label for label in data.labels.tolist() for _ in range(5)]
    np.testing.assert_array_equal(x[0], drawing_to_tensor(data.drawings[0]))
    assert all(np.abs(x[i] - x[0]).max() > 0.1 for i in range(1, 5)), "every other copy is varied"
    again, _ = render_augmented(data, copies=5, seed=0)
    np.testing.assert_array_equal(x, again)


def test_labelled_copies_get_regional_variants_unlabelled_ones_do_not():
    """The verdict's pen digits are varied as the CNN's: given labels, a zero gets a stroke
    through it; without labels (letters, scribbles) no stroke is ever added."""
    from digitscope.model.stroke_augment import StrokeAugmentConfig

    still = StrokeAugmentConfig(0, 0, 0, 0, 0, 0, 0, 1, 1)  # no variation: only the restyling shows
    zero = drawing_to_tensor(loop())
    plain, index = render_copies([loop()], copies=6, seed=3, augment=still)
    restyled, _ = render_copies([loop()], copies=6, seed=3, labels=[0], augment=still, restyle_share=1.0)
    assert index.tolist() == [0] * 6
    assert all(np.abs(p - zero).max() < 0.02 for p in plain)
    np.testing.assert_array_equal(restyled[0], zero)  # the as-drawn copy is never restyled
    assert all(np.abs(r - zero).max() > 0.3 for r in restyled[1:]), "each varied zero got a stroke through it"


def test_training_leaves_the_site_out_and_scores_it(tiny_mnist, pen_file, tmp_path, capsys):
    from digitscope.model.cli import main
    from digitscope.model.inference import load_predictor

    out = tmp_path / "fold.keras"
    code = main([
        "train", "--mnist", str(tiny_mnist), "--epochs", "1", "--batch-size", "32", "--validation-split", "0",
        "--pen-data", str(pen_file), "--leave-out-site", "bbb", "--pen-copies", "3", "--synth", "20",
        "--output", str(out), "--progress", "json",
    ])
    assert code == 0
    events = {e["event"]: e for e in map(json.loads, capsys.readouterr().out.splitlines())}
    assert events["pen_data"]["sites"] == ["aaa", "ccc"] and events["pen_data"]["images"] == 8 * 3
    assert events["synthesised"]["images"] == 20
    assert events["start"]["train_samples"] == 256 + 24 + 20
    held = events["held_out_site"]
    assert held["site"] == "bbb" and held["samples"] == 4
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["pen_data"]["left_out"] == "bbb" and meta["held_out_site"]["samples"] == 4
    assert "--leave-out-site bbb" in meta["command"]
    assert load_predictor(out).predict(drawing_to_tensor(seven())).probabilities.shape == (10,)


def test_site_choices_need_the_pen_data(tiny_mnist, tmp_path, capsys):
    from digitscope.model.cli import main

    code = main(["train", "--mnist", str(tiny_mnist), "--leave-out-site", "bbb", "--output", str(tmp_path / "x.keras")])
    assert code == 2
    assert "--pen-data" in capsys.readouterr().err



def test_a_line_not_utf8_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(json.dumps({"label": 1, "site": "x", **vertical_stroke().to_json()}).encode() + b"\n{\"label\": \xff}\n")
    with pytest.raises(ValueError, match="line 2: not UTF-8"):
        load_pen_digits(path)


def test_letters_are_read_and_chosen(tmp_path):
    from digitscope.model.pen_data import load_pen_letters

    lines = [{"label": c, "site": s, **vertical_stroke().to_json()} for c, s in (("H", "x"), ("O", "y"), ("a", "x"))]
    path = tmp_path / "letters.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in lines))
    drawings, labels, sites = load_pen_letters(path, "Ha")
    assert labels.tolist() == ["H", "a"] and sites.tolist() == ["x", "x"] and len(drawings) == 2
    assert load_pen_letters(path)[1].tolist() == ["H", "O", "a"]
    path.write_text(path.read_text() + json.dumps({"label": 3, "site": "x", **vertical_stroke().to_json()}) + "\n")
    with pytest.raises(ValueError, match="line 4: label must be a letter"):
        load_pen_letters(path)
