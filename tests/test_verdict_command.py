"""``digitscope verdict``: trains a model's verdict on data the test writes and saves it in its metadata."""

from __future__ import annotations

import json
import shutil

import pytest
from digitscope.model.cli import main
from digitscope.model.examples import example_drawings
from digitscope.model.modelfile import metadata_path
from digitscope.model.preprocess import drawing_to_tensor
from helpers import letter_h, letter_x, seven


@pytest.fixture
def pen_files(tmp_path):
    digits, letters = tmp_path / "digits.jsonl", tmp_path / "letters.jsonl"
    with digits.open("w") as fh:
        for site in ("s1", "s2"):
            for digit, drawing in example_drawings().items():
                fh.write(json.dumps({**drawing.to_json(), "label": digit, "site": site}) + "\n")
    with letters.open("w") as fh:
        for site in ("s1", "s2"):
            for label, drawing in (("H", letter_h()), ("x", letter_x()), ("O", letter_x())):  # O: may be a 0
                fh.write(json.dumps({**drawing.to_json(), "label": label, "site": site}) + "\n")
    return digits, letters


@pytest.fixture
def model_copy(tmp_path, bundled_predictor):
    target = tmp_path / "mine.keras"
    shutil.copy(bundled_predictor.path, target)
    shutil.copy(metadata_path(bundled_predictor.path), metadata_path(target))
    return target


def test_verdict_command_writes_a_verdict_the_model_then_reads_with(tiny_mnist, pen_files, model_copy, capsys):
    from digitscope.model.inference import load_predictor

    before = json.loads(metadata_path(model_copy).read_text())
    argv = ["verdict", "--model", str(model_copy), "--mnist", str(tiny_mnist), "--pen-data", str(pen_files[0]),
            "--letters", str(pen_files[1]), "--leave-out-site", "s2", "--epochs", "1", "--scribbles", "40", "--digit-like", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["flagged"]) == {"mnist test", "mnist", "pen digits", "left-out digits", "left-out letters"}
    meta = json.loads(metadata_path(model_copy).read_text())
    assert {k: v for k, v in meta.items() if k != "verdict"} == {k: v for k, v in before.items() if k != "verdict"}
    v = meta["verdict"]
    assert v["kind"] == "network" and v["threshold"] == doc["threshold"] and v["info"]["left_out"] == "s2"
    assert v["info"]["trained_on"]["letters"] == 2 * 2  # s1's H and x, twice each (as drawn, varied)
    assert v["info"]["trained_on"]["digit-like letters"] == 2  # s1's O, on the digit side
    assert "verdict --model" in v["info"]["command"]
    p = load_predictor(model_copy)
    assert p.verdict_note == "its own" and p.verdict.threshold == doc["threshold"]
    assert p.predict(drawing_to_tensor(seven())).is_digit in (True, False)


def test_verdict_command_refuses_metadata_of_another_model(tiny_mnist, pen_files, model_copy, capsys):
    meta = json.loads(metadata_path(model_copy).read_text())
    metadata_path(model_copy).write_text(json.dumps({**meta, "model_sha256": "0" * 64}))
    argv = ["verdict", "--model", str(model_copy), "--mnist", str(tiny_mnist), "--pen-data", str(pen_files[0]),
            "--letters", str(pen_files[1]), "--epochs", "1", "--scribbles", "10"]
    assert main(argv) == 2
    assert "belongs to another model file" in capsys.readouterr().err
    assert json.loads(metadata_path(model_copy).read_text())["model_sha256"] == "0" * 64  # untouched
